# A Tryton module keeping a supplier's importer-of-record questionnaire
# answers on the party, one record per country: the shape a Tryton
# integrator would give them, used by iorready's end-to-end tests.
from trytond.pool import Pool

from . import answer


def register():
    Pool.register(
        answer.Answer,
        module='iorready_answers', type_='model')
