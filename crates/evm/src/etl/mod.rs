//! ethereum-etl (and BigQuery `crypto_ethereum`) CSV exports into
//! [`NewBlock`]s.
//!
//! A directory is read whole. Each `*.csv`, `*.csv.gz` or `*.csv.xz` file is
//! recognised by its header, not its name:
//!
//! * **transactions** (`export_blocks_and_transactions`): `hash`,
//!   `block_number`, `from_address`, `to_address`, `value`, optionally
//!   `block_hash`, `block_timestamp`, `transaction_index`, `nonce`, `gas`,
//!   `gas_price`, and the receipt columns BigQuery adds (`receipt_status`,
//!   `receipt_gas_used`, `receipt_contract_address`,
//!   `receipt_effective_gas_price`);
//! * **receipts** (`export_receipts_and_logs`): `transaction_hash`,
//!   `status`, optionally `gas_used`, `effective_gas_price`,
//!   `contract_address`;
//! * **token transfers** (`export_token_transfers`): `token_address`,
//!   `from_address`, `to_address`, `value`, `transaction_hash`,
//!   `block_number`, optionally `log_index`; or the variant with
//!   `contract_address`, `transaction_index` and `time_stamp` whose `value`
//!   has the token's decimals already applied (it is scaled back with the
//!   decimals from a tokens file or the built-in table of well-known
//!   tokens; a row of a token with unknown decimals is counted in
//!   [`EtlImport::skipped`], never dropped silently);
//! * **tokens** (`export_tokens`): `address`, `symbol`, `decimals`;
//! * **address labels** (an Etherscan label scrape: `address`, `name`,
//!   `family`): returned as [`EtlImport::labels`] for the attribution store.
//!
//! Without receipts a transaction's status is [`TxStatus::Unknown`] and its
//! value counts as moved; with them, a failed transaction moves nothing.
//! Rows need not be sorted; blocks come out in increasing number. A
//! truncated last line (an interrupted export) is counted and skipped; a bad
//! row anywhere else is an error naming the file, line and column.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{EvmError, Result};
use crate::types::{
    Address, AssetRef, NewBlock, NewTransfer, NewTx, TokenMeta, TransferKind, TxStatus, B256, U256,
};

/// Decimals of well-known Ethereum mainnet tokens, for exports that applied
/// them (USDT, USDC, DAI, WETH).
pub const KNOWN_DECIMALS: [(&str, &str, u8); 4] = [
    ("0xdac17f958d2ee523a2206206994597c13d831ec7", "USDT", 6),
    ("0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", "USDC", 6),
    ("0x6b175474e89094c44da98b954eedeac495271d0f", "DAI", 18),
    ("0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2", "WETH", 18),
];

/// What a CSV file holds, from its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EtlKind {
    /// Transactions.
    Transactions,
    /// Receipts.
    Receipts,
    /// Token transfers in base units.
    TokenTransfers,
    /// Token transfers with decimals applied.
    TokenTransfersScaled,
    /// Token metadata.
    Tokens,
    /// Etherscan-style address labels.
    Labels,
}

/// One label row (an Etherscan scrape).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelRow {
    /// Lower-case 0x address.
    pub address: String,
    /// The name (may be empty).
    pub name: String,
    /// The family (`exchange`, `tornado-cash`, `phish-hack`, …).
    pub family: String,
    /// 1-based line.
    pub line: u64,
}

/// Labels read from one file.
#[derive(Clone, Debug)]
pub struct LabelFile {
    /// The file.
    pub path: PathBuf,
    /// Its raw (decompressed) bytes' SHA-256 is the caller's business; the rows:
    pub rows: Vec<LabelRow>,
    /// The file's bytes as read (compressed), for provenance.
    pub raw: Vec<u8>,
}

/// Everything read from an export directory.
#[derive(Debug, Default)]
pub struct EtlImport {
    /// Blocks in increasing number.
    pub blocks: Vec<NewBlock>,
    /// Files read, with their kind and row count.
    pub files: Vec<(PathBuf, EtlKind, u64)>,
    /// Rows counted but not imported, with the reason.
    pub skipped: Vec<String>,
    /// Label files found.
    pub labels: Vec<LabelFile>,
}

fn read_maybe_compressed(path: &Path) -> Result<(Vec<u8>, Vec<u8>)> {
    let raw = fs::read(path).map_err(|e| EvmError::io(path, e))?;
    let name = path.to_string_lossy();
    let mut out = Vec::new();
    if name.ends_with(".gz") {
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| EvmError::input(name.to_string(), format!("bad gzip: {e}")))?;
    } else if name.ends_with(".xz") {
        lzma_rust2::XzReader::new(&raw[..], true)
            .read_to_end(&mut out)
            .map_err(|e| EvmError::input(name.to_string(), format!("bad xz: {e}")))?;
    } else {
        out = raw.clone();
    }
    Ok((raw, out))
}

/// Classifies a header (lower-case column names).
pub fn classify(cols: &[String]) -> Option<EtlKind> {
    let has = |c: &str| cols.iter().any(|x| x == c);
    if has("hash") && has("from_address") && has("block_number") && has("value") {
        Some(EtlKind::Transactions)
    } else if has("token_address") && has("from_address") && has("value") {
        Some(EtlKind::TokenTransfers)
    } else if has("contract_address")
        && has("from_address")
        && has("value")
        && has("transaction_index")
    {
        Some(EtlKind::TokenTransfersScaled)
    } else if has("transaction_hash") && has("status") {
        Some(EtlKind::Receipts)
    } else if has("address") && has("decimals") && has("symbol") {
        Some(EtlKind::Tokens)
    } else if has("address") && has("family") && has("name") {
        Some(EtlKind::Labels)
    } else {
        None
    }
}

/// A parsed CSV: header map plus records with their line numbers.
struct Table {
    file: String,
    cols: HashMap<String, usize>,
    rows: Vec<(u64, csv::StringRecord)>,
    truncated_tail: bool,
}

impl Table {
    fn parse(bytes: &[u8], file: &str) -> Result<(Table, Vec<String>)> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(bytes);
        let header: Vec<String> = rdr
            .headers()
            .map_err(|e| EvmError::input(format!("{file}: line 1"), format!("bad header: {e}")))?
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        let cols = header
            .iter()
            .enumerate()
            .map(|(i, h)| (h.clone(), i))
            .collect();
        let mut rows = Vec::new();
        for r in rdr.records() {
            let r = r.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                EvmError::input(
                    format!("{file}: line {line}"),
                    format!("malformed csv: {e}"),
                )
            })?;
            let line = r.position().map_or(0, |p| p.line());
            rows.push((line, r));
        }
        let n = header.len();
        let mut truncated_tail = false;
        if rows.last().is_some_and(|(_, r)| r.len() < n) {
            rows.pop();
            truncated_tail = true;
        }
        if let Some((line, r)) = rows.iter().find(|(_, r)| r.len() != n) {
            return Err(EvmError::input(
                format!("{file}: line {line}"),
                format!("row has {} fields, the header has {n}", r.len()),
            ));
        }
        Ok((
            Table {
                file: file.to_string(),
                cols,
                rows,
                truncated_tail,
            },
            header,
        ))
    }

    fn at(&self, line: u64, col: &str) -> String {
        format!("{}: line {line}, column {col}", self.file)
    }

    fn get<'r>(&self, r: &'r csv::StringRecord, col: &str) -> Option<&'r str> {
        self.cols
            .get(col)
            .and_then(|&i| r.get(i))
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    fn req<'r>(&self, line: u64, r: &'r csv::StringRecord, col: &str) -> Result<&'r str> {
        self.get(r, col)
            .ok_or_else(|| EvmError::input(self.at(line, col), "empty"))
    }
}

fn parse_address(s: &str, at: impl Fn() -> String) -> Result<Address> {
    crate::address::parse(s).map_err(|e| EvmError::input(at(), e))
}

fn parse_u64(s: &str, at: impl Fn() -> String) -> Result<u64> {
    s.parse::<u64>()
        .map_err(|_| EvmError::input(at(), format!("not a non-negative integer: {s:?}")))
}

/// Parses a decimal integer (ethereum-etl writes wei as decimal strings;
/// a hex `0x` form is accepted too).
pub fn parse_u256(s: &str) -> std::result::Result<U256, String> {
    let r = match s.strip_prefix("0x") {
        Some(h) => U256::from_str_radix(h, 16),
        None => U256::from_str_radix(s, 10),
    };
    r.map_err(|_| format!("not an unsigned 256-bit integer: {s:?}"))
}

/// Scales a decimal string with decimals applied (`9942.313005`) back to
/// base units; refuses digits beyond `decimals`.
pub fn unscale(s: &str, decimals: u8) -> std::result::Result<U256, String> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let frac = frac.trim_end_matches('0');
    if frac.len() > decimals as usize {
        return Err(format!("{s:?} has more than {decimals} decimals"));
    }
    if int.is_empty() && frac.is_empty()
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return Err(format!("not a decimal amount: {s:?}"));
    }
    let digits = format!(
        "{}{}{}",
        int,
        frac,
        "0".repeat(decimals as usize - frac.len())
    );
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Ok(U256::ZERO);
    }
    U256::from_str_radix(digits, 10).map_err(|_| format!("amount out of range: {s:?}"))
}

/// Reads every recognised CSV file in `dir`.
pub fn read_dir(dir: &Path) -> Result<EtlImport> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| EvmError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.to_string_lossy();
            n.ends_with(".csv") || n.ends_with(".csv.gz") || n.ends_with(".csv.xz")
        })
        .collect();
    paths.sort();
    let mut files = Vec::with_capacity(paths.len());
    for p in paths {
        let (raw, bytes) = read_maybe_compressed(&p)?;
        files.push((p, raw, bytes));
    }
    from_files(files)
}

/// Reads files given as (path, bytes as stored, decompressed bytes); the
/// path only names the file in errors and provenance.
pub fn from_files(files: Vec<(PathBuf, Vec<u8>, Vec<u8>)>) -> Result<EtlImport> {
    let mut tables = Vec::new();
    let mut out = EtlImport::default();
    for (p, raw, bytes) in files {
        let name = p.display().to_string();
        let (t, header) = Table::parse(&bytes, &name)?;
        let Some(kind) = classify(&header) else {
            out.skipped.push(format!(
                "{name}: header not recognised ({}); file not read",
                header.join(",")
            ));
            continue;
        };
        if t.truncated_tail {
            out.skipped
                .push(format!("{name}: last line is truncated; skipped"));
        }
        out.files.push((p.clone(), kind, t.rows.len() as u64));
        if kind == EtlKind::Labels {
            let mut rows = Vec::with_capacity(t.rows.len());
            for (line, r) in &t.rows {
                let a = t.req(*line, r, "address")?;
                // A label file is a scrape: a bad row is reported, not fatal.
                let address = match parse_address(a, || t.at(*line, "address")) {
                    Ok(a) => a,
                    Err(e) => {
                        out.skipped.push(format!("{e}; label skipped"));
                        continue;
                    }
                };
                rows.push(LabelRow {
                    address: format!("{address:#x}"),
                    name: t.get(r, "name").unwrap_or("").to_string(),
                    family: t.get(r, "family").unwrap_or("").to_string(),
                    line: *line,
                });
            }
            out.labels.push(LabelFile { path: p, rows, raw });
        } else {
            tables.push((kind, t));
        }
    }
    build(tables, out)
}

mod build;

use build::build;

#[cfg(test)]
mod tests;
