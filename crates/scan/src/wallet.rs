//! Payout wallets: telling an address from an account name in a pool login
//! (by address format, through `chainhound-intel`'s inference), and turning
//! the wallets a scan found into an intel [`Edition`] of tags.

use chainhound_intel::{Chain, Edition, NewProvenance, NewTag, TagSet, Tlp};

use crate::net::stratum::split_login;

/// A wallet address with its chain, inferred from the format.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Wallet {
    /// The address in intel's normalized spelling.
    pub address: String,
    /// Its chain.
    pub chain: Chain,
    /// For a Bitcoin test-network address (`testnet`, `signet`, `regtest`),
    /// the network; `None` for main-network formats.
    pub test_network: Option<&'static str>,
}

/// The wallet in a pool login (`WALLET.worker`, `WALLET+diff`,
/// `COIN:WALLET`…), if the account part has a known address format.
/// Account names (`slush.miner1`) give `None`.
pub fn wallet_in_login(login: &str) -> Option<Wallet> {
    let parts = split_login(login);
    classify(&parts.account, parts.coin.as_deref())
}

/// The chain of `candidate` if it is an address of a known format.
pub fn classify(candidate: &str, coin_hint: Option<&str>) -> Option<Wallet> {
    if candidate.len() < 25 {
        return None; // no supported format is this short; spares lookups
    }
    let a = chainhound_intel::infer(candidate, coin_hint);
    if a.chain != Chain::Unknown {
        return Some(Wallet {
            address: a.normalized,
            chain: a.chain,
            test_network: None,
        });
    }
    use chainhound_btc::Network;
    [
        (Network::Testnet, "testnet"),
        (Network::Signet, "signet"),
        (Network::Regtest, "regtest"),
    ]
    .into_iter()
    .find(|(n, _)| chainhound_btc::parse_address(&a.normalized, *n).is_ok())
    .map(|(_, name)| Wallet {
        address: a.normalized.clone(),
        chain: Chain::Btc,
        test_network: Some(name),
    })
}

/// Wallets in a rule match: the strings named `$wallet…` (see
/// `rules/chainhound_miners.yar`), each read as its last run of letters and
/// digits (`-u 4…` and `"user": "4…` give `4…`).
pub fn wallets_in_match(m: &crate::rules::RuleMatch) -> Vec<Wallet> {
    let mut out = Vec::new();
    for s in m.strings.iter().filter(|s| s.name.starts_with("$wallet")) {
        let text = String::from_utf8_lossy(&s.data);
        if let Some(tok) = text
            .split(|c: char| !c.is_ascii_alphanumeric())
            .rfind(|t| !t.is_empty())
        {
            if let Some(w) = classify(tok, None) {
                if !out.contains(&w) {
                    out.push(w);
                }
            }
        }
    }
    out
}

/// One wallet to tag, with where it was seen.
#[derive(Clone, Debug)]
pub struct WalletEvidence {
    /// The wallet.
    pub wallet: Wallet,
    /// What the tag's label says (`payout wallet of a miner seen … `).
    pub label: String,
    /// The input it was seen in (capture, log or file).
    pub input: String,
    /// Frame number, log line or 0.
    pub line: u64,
    /// When it was seen (Unix seconds), if known.
    pub seen: Option<i64>,
}

/// Options of [`edition`].
#[derive(Clone, Debug)]
pub struct TagOptions {
    /// The intel source name (one edition per name; a new scan under the same
    /// name replaces the old one's tags).
    pub source: String,
    /// Category of the tags (GraphSense taxonomy: `miner`).
    pub category: String,
    /// Abuse type (`cryptojacking`).
    pub abuse: String,
    /// The actor, if the investigator knows it.
    pub actor: Option<String>,
    /// The case reference to cite.
    pub reference: Option<String>,
    /// TLP of the tags (default AMBER: case data).
    pub tlp: Tlp,
}

impl TagOptions {
    /// Defaults for `source`: category `miner`, abuse `cryptojacking`, TLP
    /// AMBER.
    pub fn new(source: impl Into<String>) -> TagOptions {
        TagOptions {
            source: source.into(),
            category: "miner".into(),
            abuse: "cryptojacking".into(),
            actor: None,
            reference: None,
            tlp: Tlp::Amber,
        }
    }
}

/// An intel edition with one tag per (wallet, input, line). `input_sha256`
/// is of the scanned input(s), as the caller computed it.
pub fn edition(
    ev: &[WalletEvidence],
    opts: &TagOptions,
    input: &str,
    input_sha256: &str,
) -> Edition {
    let mut tags = TagSet::new();
    let mut seen = std::collections::BTreeSet::new();
    for e in ev {
        if !seen.insert((&e.wallet.address, &e.input, e.line)) {
            continue;
        }
        tags.push(&NewTag {
            address: &e.wallet.address,
            currency: Some(e.wallet.chain.as_str()),
            label: &e.label,
            category: Some(&opts.category),
            abuse: Some(&opts.abuse),
            actor: opts.actor.as_deref(),
            country: None,
            confidence: Some("forensic_investigation"),
            tlp: opts.tlp,
            reference: opts.reference.as_deref(),
            source_time: e.seen,
            line: e.line,
            provenance: NewProvenance::Csv { file: &e.input },
        });
    }
    Edition {
        source: opts.source.clone(),
        kind: "scan".into(),
        edition: input_sha256.get(..16).unwrap_or(input_sha256).to_string(),
        input: input.to_string(),
        input_sha256: input_sha256.to_string(),
        tags,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wallets_and_accounts() {
        // The DPRK-linked miner's wallet from signature-base crime_nkminer.yar.
        let w = wallet_in_login("4JUdGzvrMFDWrUUwY3toJATSeNwjn54LkCnKBPRzDuhzi5vSepHfUckJNxRL2gjkNrSqtCoRUrEDAgRwsQvVCjZbRy5YeFCqgoUMnzumvS.x").unwrap();
        assert_eq!(w.chain, Chain::Xmr);
        let w = wallet_in_login("0x098B716B8Aaf21512996dC57EB0615e2383E2f96.rig/1").unwrap();
        assert_eq!(
            (w.chain, w.address.as_str()),
            (Chain::Eth, "0x098b716b8aaf21512996dc57eb0615e2383e2f96")
        );
        let w = wallet_in_login("bc1qa5wkgaew2dkv56kfvj49j0av5nml45x9ek9hz6+1024").unwrap();
        assert_eq!(w.chain, Chain::Btc);
        let w = wallet_in_login("bcrt1qmy4k686qkwvkqxwznlrmwqe42duw3eh7ctcena.w1").unwrap();
        assert_eq!((w.chain, w.test_network), (Chain::Btc, Some("regtest")));
        assert_eq!(
            wallet_in_login("bcrt1qmy4k686qkwvkqxwznlrmwqe42duw3eh7ctcenb"),
            None,
            "checksum"
        );
        let w = wallet_in_login("mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn.rig").unwrap();
        assert_eq!((w.chain, w.test_network), (Chain::Btc, Some("testnet")));
        assert_eq!(wallet_in_login("slush.miner1"), None);
        assert_eq!(wallet_in_login("x"), None);
    }
}
