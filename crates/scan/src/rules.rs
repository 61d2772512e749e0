//! YARA rules: compiling rule files (each on its own, so that one bad file
//! is reported and the others still load) and scanning bytes with them.
//!
//! The engine is [boreal](https://github.com/vthib/boreal), a YARA
//! implementation in Rust (see `docs/cryptojacking.md` for why not yara-x).
//! Each rule file gets its own namespace (its file stem), so that two files
//! may define rules of the same name, as they do in real rule collections.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use boreal::scanner::ScanParams;
use boreal::{Compiler, Scanner};

use crate::error::{Result, ScanError};

/// The project's own rules, compiled into the binary.
pub const BUILTIN_RULES: &[(&str, &str)] = &[(
    "chainhound_miners.yar",
    include_str!("../rules/chainhound_miners.yar"),
)];

/// Where rules come from.
#[derive(Clone, Debug)]
pub enum RuleInput {
    /// The project's own rules ([`BUILTIN_RULES`]).
    Builtin,
    /// A rule file, or a directory searched recursively for `*.yar`/`*.yara`.
    Path(PathBuf),
}

/// What happened to one rule file.
#[derive(Clone, Debug)]
pub struct RuleFileStatus {
    /// The file (`builtin:<name>` for the project's own rules).
    pub file: String,
    /// The namespace its rules live in.
    pub namespace: String,
    /// Rules compiled from it (0 on error).
    pub rules: usize,
    /// Why it did not compile, if it did not (the file is then left out whole).
    pub error: Option<String>,
    /// Compiler warnings.
    pub warnings: Vec<String>,
}

/// Compiled rules, ready to scan; cheap to clone (one per thread).
#[derive(Clone, Debug)]
pub struct Rules {
    scanner: Scanner,
    files: Vec<RuleFileStatus>,
}

/// A string of a rule found in the scanned bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StringHit {
    /// The string's identifier (`$x1`).
    pub name: String,
    /// Byte offset in the input.
    pub offset: u64,
    /// Length of the match.
    pub length: usize,
    /// The matched bytes (at most [`MAX_MATCH_DATA`]).
    pub data: Vec<u8>,
}

/// At most this many bytes of each string match are kept.
pub const MAX_MATCH_DATA: usize = 128;
/// At most this many matches of one string are reported.
pub const MAX_MATCHES_PER_STRING: u32 = 64;

/// A rule that matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleMatch {
    /// The rule's namespace (its file's stem).
    pub namespace: String,
    /// The rule's name.
    pub rule: String,
    /// The rule's tags.
    pub tags: Vec<String>,
    /// The rule's `description` metadata, if any.
    pub description: Option<String>,
    /// String matches, in offset order per string.
    pub strings: Vec<StringHit>,
}

fn collect_rule_files(
    dir: &Path,
    out: &mut Vec<PathBuf>,
    seen: &mut HashSet<PathBuf>,
) -> Result<()> {
    let canon = dir.canonicalize().map_err(|e| ScanError::io(dir, e))?;
    if !seen.insert(canon) {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| ScanError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect_rule_files(&p, out, seen)?;
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yar" | "yara")) {
            out.push(p);
        }
    }
    Ok(())
}

fn namespace_for(name: &str, used: &mut HashSet<String>) -> String {
    let stem = Path::new(name)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("rules");
    let base: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut ns = base.clone();
    let mut i = 2;
    while !used.insert(ns.clone()) {
        ns = format!("{base}_{i}");
        i += 1;
    }
    ns
}

fn new_compiler() -> Compiler {
    // Default modules: pe, elf, macho, dotnet, dex, hash, math, time, string.
    Compiler::new()
}

impl Rules {
    /// Compiles the rules of `inputs`. A file that does not compile is left
    /// out whole and listed with its error in [`Rules::files`]; it is an
    /// error only if no rule at all compiled, or a path cannot be read.
    pub fn compile(inputs: &[RuleInput]) -> Result<Rules> {
        let mut sources: Vec<(String, String)> = Vec::new();
        for input in inputs {
            match input {
                RuleInput::Builtin => {
                    for (name, text) in BUILTIN_RULES {
                        sources.push((format!("builtin:{name}"), (*text).to_string()));
                    }
                }
                RuleInput::Path(p) => {
                    let meta = std::fs::metadata(p).map_err(|e| ScanError::io(p, e))?;
                    let mut files = Vec::new();
                    if meta.is_dir() {
                        collect_rule_files(p, &mut files, &mut HashSet::new())?;
                    } else {
                        files.push(p.clone());
                    }
                    for f in files {
                        let bytes = std::fs::read(&f).map_err(|e| ScanError::io(&f, e))?;
                        let text = String::from_utf8_lossy(&bytes).into_owned();
                        sources.push((f.display().to_string(), text));
                    }
                }
            }
        }
        let mut compiler = new_compiler();
        let mut used = HashSet::new();
        let mut files = Vec::with_capacity(sources.len());
        for (name, text) in &sources {
            let namespace = namespace_for(name, &mut used);
            // Try the file alone first: a compiler keeps the rules of a file
            // added before the failing rule, and a file goes in whole or not.
            let mut trial = new_compiler();
            let added = trial
                .add_rules_str_in_namespace(text, &namespace)
                .and_then(|_| compiler.add_rules_str_in_namespace(text, &namespace));
            let (error, warnings) = match added {
                Err(e) => (Some(one_line(&e.to_string())), Vec::new()),
                Ok(st) => (
                    None,
                    st.warnings().map(|w| one_line(&w.to_string())).collect(),
                ),
            };
            let status = RuleFileStatus {
                file: name.clone(),
                namespace,
                rules: 0,
                error,
                warnings,
            };
            if let Some(err) = &status.error {
                tracing::debug!("rule file {} does not compile: {err}", status.file);
            }
            files.push(status);
        }
        let mut scanner = compiler.finalize();
        for rule in scanner.rules() {
            if let Some(f) = files.iter_mut().find(|f| f.namespace == rule.namespace) {
                f.rules += 1;
            }
        }
        let total: usize = files.iter().map(|f| f.rules).sum();
        if total == 0 {
            return Err(ScanError::NoRules {
                failed: files.iter().filter(|f| f.error.is_some()).count(),
            });
        }
        scanner.set_scan_params(
            ScanParams::default()
                .compute_full_matches(true)
                .match_max_length(MAX_MATCH_DATA)
                .string_max_nb_matches(MAX_MATCHES_PER_STRING)
                .timeout_duration(Some(Duration::from_secs(120))),
        );
        Ok(Rules { scanner, files })
    }

    /// Every rule file and what became of it, in input order.
    pub fn files(&self) -> &[RuleFileStatus] {
        &self.files
    }

    /// Number of compiled rules.
    pub fn rule_count(&self) -> usize {
        self.files.iter().map(|f| f.rules).sum()
    }

    /// Scans `bytes`. `Err` carries the engine's message (a timeout) and the
    /// rules that matched before it.
    pub fn scan(
        &self,
        bytes: &[u8],
    ) -> std::result::Result<Vec<RuleMatch>, (String, Vec<RuleMatch>)> {
        match self.scanner.scan_mem(bytes) {
            Ok(res) => Ok(convert(&self.scanner, &res)),
            Err((e, res)) => Err((e.to_string(), convert(&self.scanner, &res))),
        }
    }
}

fn one_line(s: &str) -> String {
    s.split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" | ")
}

fn convert(scanner: &Scanner, res: &boreal::scanner::ScanResult<'_>) -> Vec<RuleMatch> {
    res.rules
        .iter()
        .filter(|r| r.matched)
        .map(|r| {
            let description = r.metadatas.iter().find_map(|m| {
                if scanner.get_string_symbol(m.name) != "description" {
                    return None;
                }
                match m.value {
                    boreal::MetadataValue::Bytes(b) => {
                        Some(String::from_utf8_lossy(scanner.get_bytes_symbol(b)).into_owned())
                    }
                    _ => None,
                }
            });
            let mut strings = Vec::new();
            for s in &r.matches {
                for m in &s.matches {
                    strings.push(StringHit {
                        name: format!("${}", s.name),
                        offset: (m.base + m.offset) as u64,
                        length: m.length,
                        data: m.data.to_vec(),
                    });
                }
            }
            strings.sort_by(|a, b| a.offset.cmp(&b.offset).then(a.name.cmp(&b.name)));
            RuleMatch {
                namespace: r.namespace.to_string(),
                rule: r.name.to_string(),
                tags: r
                    .tags
                    .iter()
                    .map(|t| scanner.get_string_symbol(*t).to_string())
                    .collect(),
                description,
                strings,
            }
        })
        .collect()
}
