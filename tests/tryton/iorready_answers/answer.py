from trytond.model import ModelSQL, ModelView, fields


class Answer(ModelSQL, ModelView):
    "Importer-of-record questionnaire answer"
    __name__ = 'iorready.answer'
    party = fields.Many2One(
        'party.party', "Party", required=True, ondelete='CASCADE')
    country = fields.Char("Country", help="ISO 3166-1 alpha-2")
    covered = fields.Boolean("Covered")
    operating_model = fields.Selection([
            (None, ''),
            ('own_entity', "Own entity"),
            ('contracted_partner', "Contracted partner"),
            ('on_demand_partner', "Partner sourced on demand"),
            ('forwarding_only', "Forwarding only"),
            ('not_offered', "Not offered"),
            ], "Operating model")
    ior_role = fields.Selection([
            (None, ''),
            ('provider_is_ior', "Provider is IOR"),
            ('partner_is_ior', "Local partner is IOR"),
            ('client_is_ior', "Client is IOR"),
            ('forwarding_only', "Forwarding only"),
            ], "Importer of record")
    liability = fields.Selection([
            (None, ''),
            ('full', "Full"),
            ('capped', "Capped"),
            ('none', "None"),
            ], "Liability")
    entity_name = fields.Char("Local entity")
    shipments_24m = fields.Integer("IOR shipments in 24 months")
    last_shipment = fields.Date("Last IOR shipment")
    pathway = fields.Selection([
            (None, ''),
            ('defined_repeatable', "Defined and repeatable"),
            ('case_by_case', "Case by case"),
            ('undefined', "Undefined"),
            ('not_permitted', "Not permitted"),
            ], "Regulatory pathway")
    evidence = fields.Selection([
            (None, ''),
            ('claimed', "Self-declared"),
            ('documented', "Documented"),
            ('verified', "Verified"),
            ], "Evidence")
