//! Network indicators: mining-pool and browser-miner domains, and the URL
//! paths of browser-miner scripts.
//!
//! Sources: the project's own pool list (`rules/pools.txt`, built in), and
//! optionally the NoCoin filter list (`hosts.txt` and the Adblock-syntax
//! `nocoin.txt`: `||domain^` entries and script-path patterns) and Suricata
//! rules (`dns.query`/`tls.sni`/`http.host` contents of ET Open's
//! coin-miner rules). A domain entry matches the domain and its subdomains.

use std::collections::HashMap;
use std::path::Path;

use crate::error::{Result, ScanError};

/// What an indicator points at.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IndicatorKind {
    /// A mining pool.
    MiningPool,
    /// A browser (JavaScript/WebAssembly) miner or its proxy.
    BrowserMiner,
}

impl IndicatorKind {
    /// Short name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            IndicatorKind::MiningPool => "mining-pool",
            IndicatorKind::BrowserMiner => "browser-miner",
        }
    }
}

/// A list an indicator came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndicatorList {
    /// Its name (`builtin:pools.txt`, or the file path).
    pub name: String,
    /// Domains taken from it.
    pub domains: usize,
    /// Script-path patterns taken from it.
    pub paths: usize,
}

/// A match of a name or URL against the indicators.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndicatorHit {
    /// What it points at.
    pub kind: IndicatorKind,
    /// The list entry that matched (domain or path pattern).
    pub entry: String,
    /// The list (index into [`Indicators::lists`]).
    pub list: usize,
}

#[derive(Clone, Debug)]
struct PathPattern {
    /// The pattern's literal pieces, in order (`*` splits them).
    pieces: Vec<String>,
    text: String,
    list: usize,
}

/// The indicator lists, ready for lookups.
#[derive(Clone, Debug, Default)]
pub struct Indicators {
    domains: HashMap<String, (IndicatorKind, usize)>,
    paths: Vec<PathPattern>,
    lists: Vec<IndicatorList>,
}

const BUILTIN_POOLS: &str = include_str!("../rules/pools.txt");

fn clean_domain(s: &str) -> Option<String> {
    let d = s.trim().trim_matches('.').to_ascii_lowercase();
    let ok = d.len() >= 3
        && d.contains('.')
        && d.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'-' || c == b'_');
    ok.then_some(d)
}

/// Decodes Suricata content escapes (`|2e|` hex runs).
fn suricata_content(s: &str) -> String {
    let mut out = String::new();
    let mut parts = s.split('|');
    let mut hex = false;
    for part in parts.by_ref() {
        if hex {
            for h in part.split_whitespace() {
                if let Ok(b) = u8::from_str_radix(h, 16) {
                    out.push(char::from(b));
                }
            }
        } else {
            out.push_str(part);
        }
        hex = !hex;
    }
    out
}

impl Indicators {
    /// The built-in pool list only.
    pub fn builtin() -> Indicators {
        let mut ind = Indicators::default();
        ind.add_plain(
            "builtin:pools.txt",
            BUILTIN_POOLS,
            IndicatorKind::MiningPool,
        );
        ind
    }

    fn new_list(&mut self, name: &str) -> usize {
        self.lists.push(IndicatorList {
            name: name.to_string(),
            domains: 0,
            paths: 0,
        });
        self.lists.len() - 1
    }

    fn add_domain(&mut self, list: usize, d: &str, kind: IndicatorKind) {
        if let Some(d) = clean_domain(d) {
            // First list wins: the built-in pool list is loaded first.
            if let std::collections::hash_map::Entry::Vacant(e) = self.domains.entry(d) {
                e.insert((kind, list));
                self.lists[list].domains += 1;
            }
        }
    }

    fn add_plain(&mut self, name: &str, text: &str, kind: IndicatorKind) {
        let list = self.new_list(name);
        for line in text.lines() {
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            self.add_domain(list, l, kind);
        }
    }

    /// Loads one list file; the format is told by its content: hosts file
    /// (`0.0.0.0 domain`), Adblock (`[Adblock Plus …]` or `||domain^`
    /// lines), Suricata rules (`alert …`), or one domain per line.
    pub fn load_file(&mut self, path: &Path) -> Result<()> {
        let bytes = std::fs::read(path).map_err(|e| ScanError::io(path, e))?;
        self.load_bytes(path, &bytes)
    }

    /// [`Indicators::load_file`] on bytes already read; `path` names them.
    pub(crate) fn load_bytes(&mut self, path: &Path, bytes: &[u8]) -> Result<()> {
        let text = String::from_utf8_lossy(bytes);
        let name = path.display().to_string();
        let adblock = text.starts_with("[Adblock") || text.lines().any(|l| l.starts_with("||"));
        let suricata = text
            .lines()
            .any(|l| l.starts_with("alert ") || l.starts_with("#alert "));
        let list = self.new_list(&name);
        for (i, line) in text.lines().enumerate() {
            let l = line.trim();
            if l.is_empty() || l.starts_with('!') || l.starts_with('[') {
                continue;
            }
            if suricata {
                if l.starts_with("alert ") {
                    self.add_suricata(list, l);
                }
                continue;
            }
            if l.starts_with('#') {
                continue;
            }
            if adblock {
                self.add_adblock(list, l);
                continue;
            }
            let mut f = l.split_whitespace();
            let first = f.next().unwrap_or("");
            let domain = match f.next() {
                Some(d) if first.parse::<std::net::IpAddr>().is_ok() => d,
                Some(_) => {
                    return Err(ScanError::BadIndicators {
                        path: path.to_path_buf(),
                        line: i + 1,
                        reason: format!("expected `ADDRESS DOMAIN` or `DOMAIN`, got {l:?}"),
                    })
                }
                None => first,
            };
            if matches!(domain, "localhost" | "0.0.0.0") {
                continue;
            }
            self.add_domain(list, domain, IndicatorKind::BrowserMiner);
        }
        Ok(())
    }

    fn add_adblock(&mut self, list: usize, l: &str) {
        if l.starts_with("@@") || l.contains("##") || l.contains("#@#") || l.contains("#+js") {
            return;
        }
        let core = l.split('$').next().unwrap_or("");
        if let Some(d) = core.strip_prefix("||") {
            let d = d.trim_end_matches('^');
            if !d.contains(['/', '*', '^']) {
                self.add_domain(list, d, IndicatorKind::BrowserMiner);
            }
            return;
        }
        // Script paths: `/coinhive.min.js`, `-coin-hive.js`, `/web_miner/*`.
        // Regular expressions (`/^…/`) are left out.
        if (core.starts_with('/') || core.starts_with('-')) && !core.starts_with("/^") {
            let pieces: Vec<String> = core
                .split('*')
                .map(|p| p.replace('^', ""))
                .filter(|p| !p.is_empty())
                .collect();
            if pieces.iter().map(String::len).sum::<usize>() >= 5 {
                self.paths.push(PathPattern {
                    pieces,
                    text: core.to_string(),
                    list,
                });
                self.lists[list].paths += 1;
            }
        }
    }

    fn add_suricata(&mut self, list: usize, l: &str) {
        let Some(open) = l.find('(') else { return };
        let mut buffer = "";
        for opt in l[open + 1..].split(';') {
            let opt = opt.trim();
            match opt {
                "dns.query" | "dns_query" | "tls.sni" | "tls_sni" | "http.host" | "http_host" => {
                    buffer = "name";
                    continue;
                }
                _ => {}
            }
            if let Some(v) = opt.strip_prefix("content:") {
                if buffer == "name" {
                    let v = v.trim().trim_start_matches('!').trim_matches('"');
                    self.add_domain(list, &suricata_content(v), IndicatorKind::MiningPool);
                }
            } else if opt.contains('.') && !opt.contains(':') && !opt.contains(' ') {
                buffer = ""; // another sticky buffer
            }
        }
    }

    /// Loads the lists of a `cryptojacking-indicators` directory:
    /// `nocoin/hosts.txt`, `nocoin/nocoin.txt`, `et-open-suricata/*.rules`.
    /// Returns how many files were read (0 if none was found).
    pub fn load_dir(&mut self, dir: &Path) -> Result<usize> {
        let mut n = 0;
        for rel in ["nocoin/hosts.txt", "nocoin/nocoin.txt"] {
            let p = dir.join(rel);
            if p.is_file() {
                self.load_file(&p)?;
                n += 1;
            }
        }
        let et = dir.join("et-open-suricata");
        if let Ok(rd) = std::fs::read_dir(&et) {
            let mut files: Vec<_> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "rules"))
                .collect();
            files.sort();
            for p in files {
                self.load_file(&p)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// The lists loaded, in load order.
    pub fn lists(&self) -> &[IndicatorList] {
        &self.lists
    }

    /// The list entry `name` (a host name) falls under, if any.
    pub fn domain(&self, name: &str) -> Option<IndicatorHit> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let mut rest = name.as_str();
        loop {
            if let Some(&(kind, list)) = self.domains.get(rest) {
                return Some(IndicatorHit {
                    kind,
                    entry: rest.to_string(),
                    list,
                });
            }
            match rest.split_once('.') {
                Some((_, r)) if r.contains('.') => rest = r,
                _ => return None,
            }
        }
    }

    /// The browser-miner script pattern a URL path (with query) matches.
    pub fn script_path(&self, path: &str) -> Option<IndicatorHit> {
        let lower = path.to_ascii_lowercase();
        self.paths.iter().find_map(|p| {
            let mut at = 0;
            for piece in &p.pieces {
                let piece = piece.to_ascii_lowercase();
                at = at + lower[at..].find(&piece)? + piece.len();
            }
            Some(IndicatorHit {
                kind: IndicatorKind::BrowserMiner,
                entry: p.text.clone(),
                list: p.list,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_pools_match_subdomains() {
        let ind = Indicators::builtin();
        let hit = ind.domain("pool.SupportXMR.com.").unwrap();
        assert_eq!(
            (hit.kind, hit.entry.as_str()),
            (IndicatorKind::MiningPool, "supportxmr.com")
        );
        assert!(ind.domain("notsupportxmr.com").is_none());
        assert!(ind.domain("com").is_none());
        assert!(ind.domain("barjuok.ryongnamsan.edu.kp").is_some());
    }

    #[test]
    fn adblock_and_suricata() {
        let mut ind = Indicators::default();
        let list = ind.new_list("t");
        ind.add_adblock(list, "||coinhive.com^$third-party");
        ind.add_adblock(list, "/coinhive.min.js");
        ind.add_adblock(list, "/web_miner/*");
        ind.add_adblock(list, "@@||quiknode.pro^$websocket");
        ind.add_adblock(list, "/^https?:\\/\\/x/$script");
        ind.add_suricata(list, r#"alert dns $HOME_NET any -> any any (msg:"x"; dns.query; content:".herominers.com"; endswith; classtype:coin-mining; sid:1;)"#);
        ind.add_suricata(list, r#"alert tls any any -> any any (msg:"x"; tls.sni; content:"coin|2d|hive.com"; sid:2;)"#);
        assert!(ind.domain("ws.coinhive.com").is_some());
        assert!(ind.domain("quiknode.pro").is_none());
        assert!(ind.domain("xmr.herominers.com").is_some());
        assert!(ind.domain("coin-hive.com").is_some());
        assert_eq!(
            ind.script_path("/lib/CoinHive.min.js?v=2").unwrap().entry,
            "/coinhive.min.js"
        );
        assert!(ind.script_path("/web_miner/x.js").is_some());
        assert!(ind.script_path("/index.html").is_none());
        assert_eq!(ind.lists()[0].paths, 2);
    }
}
