//! The enumerated answers of the model, with the lower-case identifiers that
//! the mapping files, the scoring profile and the JSON result use.

use serde::Serialize;
use strum::{Display, EnumIter, EnumString, IntoStaticStr, VariantNames};

macro_rules! model_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize,
            Display, EnumString, IntoStaticStr, EnumIter, VariantNames,
        )]
        #[serde(rename_all = "snake_case")]
        #[strum(serialize_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            /// The identifier used in files (`own_entity`).
            pub fn id(self) -> &'static str {
                self.into()
            }
        }
    };
}

/// The words an analyst reads for a value identifier: the reference
/// questionnaire's dropdown answers (`partner_is_ior` -> "Local partner is
/// IOR"), so that explanations never show an internal identifier.
pub fn value_words(id: &str) -> &str {
    match id {
        "own_entity" => "Own entity",
        "contracted_partner" => "Contracted partner",
        "on_demand_partner" => "Partner sourced on demand",
        "forwarding_only" => "Forwarding only",
        "not_offered" => "Not offered",
        "provider_is_ior" => "Provider is IOR",
        "partner_is_ior" => "Local partner is IOR",
        "client_is_ior" => "Client is IOR",
        "full" => "Full",
        "capped" => "Capped",
        "none" => "None",
        "defined_repeatable" => "Defined and repeatable",
        "case_by_case" => "Case by case",
        "undefined" => "Undefined",
        "not_permitted" => "Not permitted",
        "provider_handles" => "Provider handles",
        "client_must_hold" => "Client must hold",
        "not_supported" => "Not supported",
        "not_applicable" => "Not applicable",
        "provider_prefunds" => "Provider prefunds",
        "client_prepays" => "Client prepays",
        "client_recovers" => "Client recovers",
        "rebilled" => "Rebilled by provider",
        "not_recoverable" => "Not recoverable",
        "claimed" => "Self-declared",
        "documented" => "Documented",
        "verified" => "Verified",
        other => other,
    }
}

model_enum!(
    /// How the provider operates in the country.
    OperatingModel {
        /// Its own registered entity in the country.
        OwnEntity,
        /// A standing contract with a local partner.
        ContractedPartner,
        /// A partner found when a project comes up (passive coverage).
        OnDemandPartner,
        /// Freight forwarding only, no importer-of-record service.
        ForwardingOnly,
        /// The country is not served.
        NotOffered,
    }
);

model_enum!(
    /// Who acts as importer of record.
    IorRole {
        /// The provider itself.
        ProviderIsIor,
        /// The provider's local partner.
        PartnerIsIor,
        /// The client must be the importer.
        ClientIsIor,
        /// Nobody: forwarding only.
        ForwardingOnly,
    }
);

model_enum!(
    /// The legal liability the provider takes as importer.
    Liability {
        /// Full liability.
        Full,
        /// Liability capped at an amount.
        Capped,
        /// No liability.
        None,
    }
);

model_enum!(
    /// How well-trodden the regulatory route is.
    RegulatoryPathway {
        /// Defined and repeatable.
        DefinedRepeatable,
        /// Decided case by case.
        CaseByCase,
        /// Not defined.
        Undefined,
        /// Importer-of-record imports are not permitted.
        NotPermitted,
    }
);

model_enum!(
    /// Who holds product certifications.
    ProductCompliance {
        /// The provider handles them.
        ProviderHandles,
        /// The client must hold them.
        ClientMustHold,
        /// Not supported.
        NotSupported,
        /// No certification is needed.
        NotApplicable,
    }
);

model_enum!(
    /// Who funds duties and taxes at import.
    DutiesFunding {
        /// The provider prefunds them.
        ProviderPrefunds,
        /// The client prepays them.
        ClientPrepays,
    }
);

model_enum!(
    /// What happens to import VAT.
    VatRecovery {
        /// The client recovers it.
        ClientRecovers,
        /// The provider rebills it.
        Rebilled,
        /// It cannot be recovered.
        NotRecoverable,
    }
);

model_enum!(
    /// How the answers are backed.
    Evidence {
        /// Self-declared.
        Claimed,
        /// Backed by documents.
        Documented,
        /// Verified by the buyer.
        Verified,
    }
);

impl Evidence {
    /// One level down (verified -> documented -> claimed), used for stale
    /// responses.
    pub fn dropped(self) -> Self {
        match self {
            Evidence::Verified => Evidence::Documented,
            _ => Evidence::Claimed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn identifiers_are_snake_case_and_parse_back() {
        assert_eq!(OperatingModel::OnDemandPartner.id(), "on_demand_partner");
        assert_eq!(
            RegulatoryPathway::from_str("defined_repeatable").ok(),
            Some(RegulatoryPathway::DefinedRepeatable)
        );
        assert_eq!(Liability::None.id(), "none");
    }

    #[test]
    fn evidence_drops_one_level_and_stops_at_claimed() {
        assert_eq!(Evidence::Verified.dropped(), Evidence::Documented);
        assert_eq!(Evidence::Documented.dropped(), Evidence::Claimed);
        assert_eq!(Evidence::Claimed.dropped(), Evidence::Claimed);
    }
}
