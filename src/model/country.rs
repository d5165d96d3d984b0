//! Countries, identified by ISO 3166-1 alpha-2, with data from `celes`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An ISO 3166-1 country.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Country {
    alpha2: &'static str,
    name: &'static str,
}

impl Country {
    /// The country with this ISO alpha-2 or alpha-3 code (any case), or
    /// this English name or common alias, compared without case, accents,
    /// spaces or punctuation.
    ///
    /// ```
    /// use iorready::model::Country;
    /// assert_eq!(Country::lookup("deu").map(Country::alpha2), Some("DE"));
    /// assert_eq!(Country::lookup("Curaçao").map(Country::alpha2), Some("CW"));
    /// assert_eq!(Country::lookup("Narnia"), None);
    /// ```
    pub fn lookup(text: &str) -> Option<Country> {
        if let Some(c) = Self::from_code(text.trim()) {
            return Some(c);
        }
        let compact: String = deunicode::deunicode(text)
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if compact.is_empty() {
            return None;
        }
        let found = celes::Country::from_alias(&compact)
            .or_else(|_| celes::Country::from_name(&compact))
            .ok()?;
        Some(Self::from_celes(found))
    }

    /// The country with this ISO alpha-2 or alpha-3 code, letters only.
    pub fn from_code(code: &str) -> Option<Country> {
        if !code.chars().all(|c| c.is_ascii_alphabetic()) {
            return None;
        }
        match code.len() {
            2 => celes::Country::from_alpha2(code).ok().map(Self::from_celes),
            3 => celes::Country::from_alpha3(code).ok().map(Self::from_celes),
            _ => None,
        }
    }

    /// The country with this alpha-2 code (any case).
    pub fn from_alpha2(code: &str) -> Option<Country> {
        celes::Country::from_alpha2(code).ok().map(Self::from_celes)
    }

    fn from_celes(c: celes::Country) -> Country {
        Country {
            alpha2: c.alpha2,
            name: short_name(c.alpha2).unwrap_or(c.long_name),
        }
    }

    /// Every ISO 3166-1 country.
    pub fn all() -> impl Iterator<Item = Country> {
        celes::Country::get_countries().into_iter().map(Self::from_celes)
    }

    /// ISO 3166-1 alpha-2 (`DE`).
    pub fn alpha2(self) -> &'static str {
        self.alpha2
    }

    /// The English name (`Germany`).
    pub fn name(self) -> &'static str {
        self.name
    }
}

/// Names people use where the ISO long name is a mouthful.
fn short_name(alpha2: &str) -> Option<&'static str> {
    Some(match alpha2 {
        "GB" => "United Kingdom",
        "US" => "United States",
        "KR" => "South Korea",
        "KP" => "North Korea",
        "RU" => "Russia",
        "VN" => "Vietnam",
        "IR" => "Iran",
        "SY" => "Syria",
        "TW" => "Taiwan",
        "TZ" => "Tanzania",
        "VE" => "Venezuela",
        "BO" => "Bolivia",
        "MD" => "Moldova",
        "LA" => "Laos",
        "CZ" => "Czechia",
        "NL" => "Netherlands",
        "AE" => "United Arab Emirates",
        "MK" => "North Macedonia",
        "CD" => "DR Congo",
        "FM" => "Micronesia",
        "PS" => "Palestine",
        "BN" => "Brunei",
        "TR" => "Türkiye",
        _ => return None,
    })
}

impl fmt::Debug for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Country({})", self.alpha2)
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.alpha2)
    }
}

impl Serialize for Country {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.alpha2)
    }
}

impl<'de> Deserialize<'de> for Country {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Country::from_alpha2(&code)
            .ok_or_else(|| serde::de::Error::custom(format!("'{code}' is not an ISO alpha-2 code")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_names_and_codes_in_any_case_are_countries() {
        for t in ["Germany", "germany", "DE", "de", "DEU", "deu", " Germany "] {
            assert_eq!(Country::lookup(t).map(Country::alpha2), Some("DE"), "{t}");
        }
        assert_eq!(Country::lookup("United Kingdom").map(Country::alpha2), Some("GB"));
        assert_eq!(Country::lookup("United States").map(Country::alpha2), Some("US"));
    }

    #[test]
    fn made_up_places_are_not_countries() {
        assert_eq!(Country::lookup("Atlantis"), None);
        assert_eq!(Country::lookup(""), None);
    }
}
