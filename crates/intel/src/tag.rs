//! A tag: one source's claim about one address, with its provenance.

use std::fmt;
use std::str::FromStr;

use crate::chain::Chain;

/// Traffic Light Protocol level (FIRST TLP 2.0) governing who may see a tag.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tlp {
    /// TLP:CLEAR (formerly WHITE): no limit on disclosure.
    Clear,
    /// TLP:GREEN: the community, not public channels.
    Green,
    /// TLP:AMBER: the recipient's organisation and its clients, need to know.
    Amber,
    /// TLP:AMBER+STRICT: the recipient's organisation only.
    AmberStrict,
    /// TLP:RED: the named recipients only.
    Red,
}

impl Tlp {
    /// `clear`, `green`, `amber`, `amber+strict`, `red`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tlp::Clear => "clear",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::AmberStrict => "amber+strict",
            Tlp::Red => "red",
        }
    }

    pub(crate) fn code(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_code(c: u8) -> Option<Tlp> {
        [
            Tlp::Clear,
            Tlp::Green,
            Tlp::Amber,
            Tlp::AmberStrict,
            Tlp::Red,
        ]
        .get(usize::from(c))
        .copied()
    }
}

impl fmt::Display for Tlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Tlp {
    type Err = String;

    /// Accepts the level with or without `TLP:`, any case; `white` is `clear`.
    fn from_str(s: &str) -> Result<Tlp, String> {
        let l = s.trim().to_ascii_lowercase();
        let l = l.strip_prefix("tlp:").unwrap_or(&l);
        Ok(match l {
            "clear" | "white" => Tlp::Clear,
            "green" => Tlp::Green,
            "amber" => Tlp::Amber,
            "amber+strict" | "amber-strict" | "amber_strict" => Tlp::AmberStrict,
            "red" => Tlp::Red,
            _ => {
                return Err(format!(
                    "unknown TLP level {s:?} (clear, green, amber, amber+strict, red)"
                ))
            }
        })
    }
}

/// GraphSense's confidence ids and their levels (0–100), from the TagPack
/// tool's `confidence.csv`.
pub const CONFIDENCE_LEVELS: [(&str, u8); 14] = [
    ("override", 100),
    ("ownership", 100),
    ("ledger_immanent", 100),
    ("manual_transaction", 90),
    ("service_api", 70),
    ("forensic_investigation", 70),
    ("authority_data", 60),
    ("trusted_provider", 50),
    ("service_data", 50),
    ("forensic", 50),
    ("untrusted_transaction", 40),
    ("web_crawl", 20),
    ("heuristic", 10),
    ("unknown", 5),
];

/// The 0–100 level of a confidence as a source gives it: a GraphSense id
/// (`authority_data`), or a number 0–100. `None` when it is neither.
pub fn confidence_score(confidence: &str) -> Option<u8> {
    let c = confidence.trim();
    if let Some((_, level)) = CONFIDENCE_LEVELS
        .iter()
        .find(|(id, _)| id.eq_ignore_ascii_case(c))
    {
        return Some(*level);
    }
    c.parse::<u8>().ok().filter(|&n| n <= 100)
}

/// Where a tag came from, beyond its source name: what an investigator needs
/// to find the claim again in the original publication.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Provenance {
    /// An OFAC SDN entry.
    Ofac(OfacInfo),
    /// A GraphSense TagPack.
    TagPack(TagPackInfo),
    /// A row of a CSV file.
    Csv(CsvInfo),
}

/// Provenance of an OFAC SDN tag.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct OfacInfo {
    /// The SDN profile id (`FixedRef`, e.g. 27307 for Lazarus Group); `None`
    /// for the third-party per-currency lists, which do not carry it.
    pub profile_id: Option<u64>,
    /// The profile's primary name.
    pub name: Option<String>,
    /// Sanctions programmes (e.g. `DPRK3`, `CYBER2`).
    pub programs: Vec<String>,
    /// The feature type as OFAC names it (`Digital Currency Address - ETH`).
    pub feature_type: String,
    /// When the party was designated (the sanctions entry's event date).
    pub designated: Option<i64>,
    /// 1-based line of the feature in the XML, or of the address in a
    /// per-currency list file.
    pub line: u64,
}

/// Provenance of a GraphSense TagPack tag.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TagPackInfo {
    /// The pack's title.
    pub title: String,
    /// The pack's creator.
    pub creator: Option<String>,
    /// The pack's or tag's `is_public` flag, when given.
    pub is_public: Option<bool>,
    /// The pack file (inside the archive, for a `.tar.xz`) and line of the tag.
    pub file: String,
    /// 1-based line of the tag in that file.
    pub line: u64,
    /// The actor's label from the ActorPack, when the actor id resolved.
    pub actor_label: Option<String>,
}

/// Provenance of a CSV tag.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CsvInfo {
    /// The file as named on import.
    pub file: String,
    /// 1-based line of the row.
    pub line: u64,
}

/// One source's claim about one address.
///
/// Tags are never merged or overwritten: two sources (or two entries of one
/// source) saying different things about an address are two tags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tag {
    /// The address, normalized ([`crate::normalize`]).
    pub address: String,
    /// The chain inferred from the address format (and the currency hint).
    pub chain: Chain,
    /// The asset or network as the source names it (`XBT`, `USDT`, `ETH`).
    pub currency: Option<String>,
    /// What the source says the address is.
    pub label: String,
    /// The source (import unit) the tag belongs to: `ofac`, `graphsense`, or
    /// the name given to a CSV import.
    pub source: String,
    /// Category, GraphSense/INTERPOL taxonomy (`exchange`, `mixing_service`,
    /// `sanction`, …); unknown categories are kept as given.
    pub category: Option<String>,
    /// Abuse type, GraphSense taxonomy (`ransomware`, `sextortion`, …).
    pub abuse: Option<String>,
    /// The actor (GraphSense actor id, OFAC party name, or as given).
    pub actor: Option<String>,
    /// Country or countries (ISO codes, comma-separated) of the actor.
    pub country: Option<String>,
    /// Confidence as the source gives it (an id such as `authority_data`, or
    /// a number).
    pub confidence: Option<String>,
    /// Confidence level 0–100 ([`confidence_score`]).
    pub confidence_score: Option<u8>,
    /// Who may see the tag.
    pub tlp: Tlp,
    /// The reference the source cites (URL, document).
    pub reference: Option<String>,
    /// When the source says the claim was made or last changed (Unix seconds).
    pub source_time: Option<i64>,
    /// When the source was imported (Unix seconds).
    pub imported_at: i64,
    /// Source-specific provenance.
    pub provenance: Provenance,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlp_names() {
        for t in [
            Tlp::Clear,
            Tlp::Green,
            Tlp::Amber,
            Tlp::AmberStrict,
            Tlp::Red,
        ] {
            assert_eq!(t.as_str().parse::<Tlp>(), Ok(t));
            assert_eq!(Tlp::from_code(t.code()), Some(t));
        }
        assert_eq!("TLP:WHITE".parse::<Tlp>(), Ok(Tlp::Clear));
        assert!("pink".parse::<Tlp>().is_err());
    }

    #[test]
    fn confidence() {
        assert_eq!(confidence_score("authority_data"), Some(60));
        assert_eq!(confidence_score("Web_Crawl"), Some(20));
        assert_eq!(confidence_score("75"), Some(75));
        assert_eq!(confidence_score("101"), None);
        assert_eq!(confidence_score("high"), None);
    }
}
