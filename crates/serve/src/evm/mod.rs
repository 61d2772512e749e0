//! EVM chains in the screening service: [`EvmView`] holds the account store
//! of `<data>/evm/<dir>` (`chainhound-evm`), its labels (tags, detected
//! exchange deposit addresses) and, per screened role, the haircut taint of
//! every transfer, computed once when the view opens. A screening is then
//! hash lookups plus one bounded walk for its evidence path.
//!
//! Addresses are `0x` + 40 hex digits; a mixed-case one must pass its
//! EIP-55 checksum. The canonical spelling (answers, subjects, private tag
//! keys) is lower case, as the attribution store keeps EVM addresses, so
//! matching never depends on case.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chainhound_evm::model::{self, LabelSource, Labels, Role, Seed, TraceConfig};
use chainhound_evm::{address as evm_address, AccountId, Address, AssetId, EvmStore, TxId, B256};
use chainhound_evm::{TransferId, U256};
use chainhound_intel::TagStore;

use crate::error::Problem;
use crate::policy::Exposure;
use crate::screen::{public_view, EvidenceView, IndirectStatus, TagView};
use crate::view::TagInfo;

/// Longest evidence path followed, in transfers (deposits: backwards from
/// the screened transfer; withdrawals: forwards from the beneficiary).
pub const MAX_HOPS: u32 = 16;
/// Withdrawals: hops followed forwards from the beneficiary.
pub const MAX_FORWARD_HOPS: u32 = 6;
/// Transfers examined per screening while looking for evidence paths.
pub const MAX_VISITED: u64 = 20_000;

/// The roles whose exposure a transfer screening reports, with the policy
/// category each maps to.
pub const SCREENED_ROLES: [(Role, &str); 3] = [
    (Role::Sanctioned, "sanction"),
    (Role::Theft, "theft"),
    (Role::Mixer, "mixing_service"),
];

/// The store directory name under `<data>/evm/` of an API chain name.
pub fn store_dir(chain: crate::tenant::ChainName) -> Option<&'static str> {
    use crate::tenant::ChainName as C;
    match chain {
        C::Ethereum => Some("eth"),
        C::Bsc => Some("bsc"),
        C::Polygon => Some("polygon"),
        C::Arbitrum => Some("arbitrum"),
        C::Optimism => Some("optimism"),
        C::Base => Some("base"),
        C::Avalanche => Some("avalanche"),
        C::Bitcoin | C::Tron => None,
    }
}

/// The native coin's symbols of an EVM chain (the first is the name used in
/// answers).
pub fn native_symbols(chain: crate::tenant::ChainName) -> &'static [&'static str] {
    use crate::tenant::ChainName as C;
    match chain {
        C::Bsc => &["BNB"],
        C::Polygon => &["POL", "MATIC"],
        C::Avalanche => &["AVAX"],
        _ => &["ETH"],
    }
}

/// The EVM chains the service screens, each over `<data>/evm/<store_dir>`.
pub const EVM_CHAINS: [crate::tenant::ChainName; 7] = {
    use crate::tenant::ChainName as C;
    [
        C::Ethereum,
        C::Bsc,
        C::Polygon,
        C::Arbitrum,
        C::Optimism,
        C::Base,
        C::Avalanche,
    ]
};

/// One role's precomputed taint: the tainted part of every transfer that
/// carried any (haircut, seeded with every account having the role).
struct RoleTaint {
    role: Role,
    category: &'static str,
    tainted: HashMap<u64, U256>,
}

/// The store with its labels and precomputed taint.
struct Loaded {
    store: EvmStore,
    labels: Labels,
    taint: Vec<RoleTaint>,
}

/// The public tags on EVM addresses. An address is one key on every EVM
/// chain, so the chains' views share them.
#[derive(Default)]
pub struct EvmTags {
    tags: Vec<TagInfo>,
    by_addr: HashMap<Address, Vec<u32>>,
}

impl EvmTags {
    /// The tags of `tags` on EVM addresses.
    pub fn read(tags: &TagStore) -> EvmTags {
        let mut v = EvmTags::default();
        for t in tags.tags() {
            let Ok(a) = evm_address::parse(&t.address) else {
                continue;
            };
            let i = v.tags.len() as u32;
            v.tags.push(TagInfo::from_tag(t, canonical(&a)));
            v.by_addr.entry(a).or_default().push(i);
        }
        v
    }
}

/// EVM data for one chain: public tags on EVM addresses (always) and the
/// account store when it exists.
pub struct EvmView {
    chain: crate::tenant::ChainName,
    tags: Arc<EvmTags>,
    loaded: Option<Loaded>,
    /// Time spent opening the store, labelling and precomputing the taint.
    pub load_time: Duration,
}

/// A transfer request resolved against the store.
pub struct EvmTransfer {
    /// The transaction.
    pub tx: TxId,
    /// Its hash, `0x` + lower-case hex.
    pub txid: String,
    /// The asset screened.
    pub asset: AssetId,
    /// The asset's canonical name: `ETH` or the token contract (lower case).
    pub asset_name: String,
    /// The screened transfers.
    pub transfers: Vec<TransferId>,
    /// Their positions among the transaction's transfers.
    pub positions: Vec<u32>,
}

/// Indirect exposure of an EVM transfer.
pub struct EvmIndirect {
    /// Items (hops ≥ 1).
    pub items: Vec<Exposure>,
    /// Evidence paths.
    pub evidence: Vec<EvidenceView>,
    /// Status.
    pub status: IndirectStatus,
}

/// `part / total` in parts per million (at most 1,000,000).
pub(crate) fn ppm(part: U256, total: U256) -> u32 {
    if total.is_zero() {
        return 0;
    }
    let m = U256::from(1_000_000u64);
    let v = match part.checked_mul(m) {
        Some(p) => p / total,
        None => part / (total / m).max(U256::from(1u64)),
    };
    v.min(m).to::<u32>()
}

/// Parses an API address (EIP-55 checked when mixed case).
pub fn parse_address(s: &str) -> Result<Address, String> {
    if s.is_empty() || s.len() > 200 {
        return Err("address must be 1-200 characters".into());
    }
    evm_address::parse(s)
}

/// The canonical (lower-case) spelling.
pub fn canonical(a: &Address) -> String {
    evm_address::lower(a)
}

/// Parses a transaction hash: `0x` (optional) and 64 hex digits.
pub(crate) fn parse_txid(s: &str) -> Result<B256, Problem> {
    let t = s.trim();
    let hex = t.strip_prefix("0x").unwrap_or(t);
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Problem::invalid(format!(
            "txid must be a transaction hash: 0x and 64 hex digits, got {s:?}"
        )));
    }
    hex.parse()
        .map_err(|e| Problem::invalid(format!("txid {s:?}: {e}")))
}

/// Parses a decimal amount in base units.
pub fn parse_amount(s: &str) -> Result<U256, Problem> {
    if s.is_empty() || s.len() > 78 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Problem::invalid(format!(
            "amount must be a decimal integer in the asset's base units (wei, token units), got {s:?}"
        )));
    }
    U256::from_str_radix(s, 10)
        .map_err(|_| Problem::invalid(format!("amount {s:?} does not fit 256 bits")))
}

impl EvmView {
    /// The view over `shared` (the EVM tags of `tags`) and, when `dir` holds
    /// a store, that store: opened, its accounts labelled and the taint of
    /// each screened role precomputed.
    pub fn open(
        chain: crate::tenant::ChainName,
        dir: &Path,
        shared: Arc<EvmTags>,
        tags: &TagStore,
    ) -> Result<EvmView, String> {
        let t0 = Instant::now();
        let mut v = EvmView {
            chain,
            tags: shared,
            loaded: None,
            load_time: Duration::ZERO,
        };
        let store = match EvmStore::open(dir) {
            Ok(s) => Some(s),
            Err(chainhound_evm::EvmError::Missing(_)) => None,
            Err(e) => return Err(e.to_string()),
        };
        if let Some(store) = store {
            let mut labels = Labels::from_tags(&store, tags);
            let deposits = model::detect_deposits(&store, &mut labels, 1);
            let mut taint = Vec::new();
            for (role, category) in SCREENED_ROLES {
                let seeds: Vec<Seed> = labels
                    .with_role(role)
                    .into_iter()
                    .map(Seed::Account)
                    .collect();
                let mut tainted = HashMap::new();
                if !seeds.is_empty() {
                    let cfg = TraceConfig {
                        max_edges: usize::MAX,
                        ..Default::default()
                    };
                    let r = model::trace(&store, &labels, &seeds, &cfg);
                    tainted = r.edges.iter().map(|e| (e.transfer.0, e.tainted)).collect();
                }
                taint.push(RoleTaint {
                    role,
                    category,
                    tainted,
                });
            }
            tracing::info!(
                "evm view {}: {} transfers, {} labelled accounts, {} deposit addresses, tainted transfers {:?}",
                dir.display(),
                store.transfers().len(),
                labels.len(),
                deposits.len(),
                taint.iter().map(|t| (t.category, t.tainted.len())).collect::<Vec<_>>()
            );
            v.loaded = Some(Loaded {
                store,
                labels,
                taint,
            });
        }
        v.load_time = t0.elapsed();
        Ok(v)
    }

    /// Whether the account store is loaded.
    pub fn has_store(&self) -> bool {
        self.loaded.is_some()
    }

    /// Number of public tags on EVM addresses.
    pub fn tag_count(&self) -> usize {
        self.tags.tags.len()
    }

    /// Whether the address appears in the store.
    pub fn on_chain(&self, a: &Address) -> bool {
        self.loaded
            .as_ref()
            .is_some_and(|l| l.store.account(a).is_some())
    }

    /// Public tags of `a` and the labels the model derived (deposit
    /// detection), as screening tags; private tags are added by the caller.
    pub fn tags_of(&self, a: &Address) -> Vec<TagView> {
        let mut out: Vec<TagView> = self
            .tags
            .by_addr
            .get(a)
            .into_iter()
            .flatten()
            .map(|&i| public_view(&self.tags.tags[i as usize], "address"))
            .collect();
        if let Some(l) = &self.loaded {
            if let Some(acc) = l.store.account(a) {
                for lab in l.labels.of(acc) {
                    if let LabelSource::Deposit(hot) = lab.source {
                        out.push(TagView {
                            address: canonical(a),
                            source: "deposit-detection".into(),
                            label: lab.text.clone(),
                            category: Some("exchange".into()),
                            actor: None,
                            sanction: false,
                            reference: Some(format!(
                                "forwards every outgoing transfer to {}",
                                canonical(&l.store.address(hot))
                            )),
                            via: "address".into(),
                        });
                    }
                }
            }
        }
        out
    }

    fn loaded(&self) -> Result<&Loaded, Problem> {
        self.loaded.as_ref().ok_or_else(|| {
            Problem::not_found(
                "no ethereum account store in this data directory (build it with `chainhound ingest evm`)",
            )
        })
    }

    /// Finds the transaction and the screened transfers: those of `asset`
    /// paying `address` when given, else every transfer of `asset` in it.
    pub fn resolve_transfer(
        &self,
        txid: &str,
        asset: &str,
        address: Option<&str>,
        amount: Option<&str>,
    ) -> Result<EvmTransfer, Problem> {
        let h = parse_txid(txid)?;
        let want = amount.map(parse_amount).transpose()?;
        let to = address
            .map(|a| parse_address(a).map_err(|e| Problem::invalid(format!("address: {e}"))))
            .transpose()?;
        let l = self.loaded()?;
        let s = &l.store;
        let asset_id = self.asset(asset)?;
        let tx = s
            .tx_by_hash(&h)
            .ok_or_else(|| Problem::not_found(format!("transaction {h:#x} is not in the store")))?;
        let to_acc = to.map(|a| s.account(&a));
        let mut transfers = Vec::new();
        let mut positions = Vec::new();
        for (pos, t) in s.tx_transfers(tx).enumerate() {
            let tr = s.transfer(t);
            let pays = match to_acc {
                Some(Some(acc)) => tr.to == acc.0,
                Some(None) => false,
                None => true,
            };
            if tr.asset == asset_id.0 && !tr.amount.is_zero() && pays {
                transfers.push(t);
                positions.push(pos as u32);
            }
        }
        let asset_name = self.asset_name(asset_id);
        if transfers.is_empty() {
            return Err(Problem::invalid(match to {
                Some(a) => format!(
                    "transaction {h:#x} has no {asset_name} transfer to {}",
                    canonical(&a)
                ),
                None => format!("transaction {h:#x} moves no {asset_name}"),
            }));
        }
        if let Some(want) = want {
            let got = transfers
                .iter()
                .fold(U256::ZERO, |a, &t| a.saturating_add(s.transfer(t).amount));
            if got != want {
                return Err(Problem::invalid(format!(
                    "amount {want} does not match the screened transfers' value {got}"
                )));
            }
        }
        Ok(EvmTransfer {
            tx,
            txid: format!("{h:#x}"),
            asset: asset_id,
            asset_name,
            transfers,
            positions,
        })
    }

    /// Re-resolves a stored subject (`None` when it no longer resolves).
    pub fn resolve_stored(
        &self,
        txid: &str,
        asset: &str,
        positions: &[u32],
    ) -> Option<EvmTransfer> {
        let l = self.loaded.as_ref()?;
        let h = parse_txid(txid).ok()?;
        let tx = l.store.tx_by_hash(&h)?;
        let asset = self.asset(asset).ok()?;
        let all: Vec<TransferId> = l.store.tx_transfers(tx).collect();
        let transfers = positions
            .iter()
            .map(|&p| all.get(p as usize).copied())
            .collect::<Option<Vec<_>>>()?;
        Some(EvmTransfer {
            tx,
            txid: format!("{h:#x}"),
            asset,
            asset_name: self.asset_name(asset),
            transfers,
            positions: positions.to_vec(),
        })
    }

    /// The native coin (`ETH`; `BNB` on bsc, `POL` on polygon, `AVAX` on
    /// avalanche), a token contract address, or a token symbol that names
    /// exactly one stored token (case-insensitive).
    fn asset(&self, name: &str) -> Result<AssetId, Problem> {
        let s = &self.loaded()?.store;
        let n = name.trim();
        if native_symbols(self.chain)
            .iter()
            .any(|x| n.eq_ignore_ascii_case(x))
        {
            return Ok(AssetId::NATIVE);
        }
        if n.starts_with("0x") || n.starts_with("0X") {
            let a = parse_address(n).map_err(|e| Problem::invalid(format!("asset: {e}")))?;
            return s.asset_of(&a).filter(|id| id.0 != 0).ok_or_else(|| {
                Problem::invalid(format!("asset: no token {} in the store", canonical(&a)))
            });
        }
        let hits: Vec<usize> = s
            .assets()
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(_, a)| {
                a.meta
                    .symbol
                    .as_deref()
                    .is_some_and(|x| x.eq_ignore_ascii_case(n))
            })
            .map(|(i, _)| i)
            .collect();
        match hits.as_slice() {
            [i] => Ok(AssetId(*i as u32)),
            [] => Err(Problem::invalid(format!(
                "asset {name:?} is not an asset of chain {:?} in the store ({}, a token symbol or a token contract address)",
                self.chain,
                native_symbols(self.chain)[0]
            ))),
            many => Err(Problem::invalid(format!(
                "asset {name:?} names {} tokens; give the contract address ({})",
                many.len(),
                many.iter()
                    .map(|&i| canonical(&s.assets()[i].contract))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    fn asset_name(&self, id: AssetId) -> String {
        match &self.loaded {
            Some(l) if id.0 != 0 => canonical(&l.store.asset(id).contract),
            _ => native_symbols(self.chain)[0].into(),
        }
    }

    /// The transaction's block number and the screened value.
    pub fn summary(&self, r: &EvmTransfer) -> (u64, U256) {
        let Some(l) = &self.loaded else {
            return (0, U256::ZERO);
        };
        let s = &l.store;
        let value = r
            .transfers
            .iter()
            .fold(U256::ZERO, |a, &t| a.saturating_add(s.transfer(t).amount));
        (s.block_number(s.tx(r.tx).block), value)
    }

    /// The counterparties: senders (deposit) or recipients (withdrawal) of
    /// the screened transfers, with the value each moved, by address.
    pub fn counterparties(&self, r: &EvmTransfer, deposit: bool) -> Vec<(Address, U256)> {
        let Some(l) = &self.loaded else {
            return Vec::new();
        };
        let mut by: Vec<(u32, U256)> = Vec::new();
        for &t in &r.transfers {
            let tr = l.store.transfer(t);
            let a = if deposit { tr.from } else { tr.to };
            match by.iter_mut().find(|(x, _)| *x == a) {
                Some(e) => e.1 = e.1.saturating_add(tr.amount),
                None => by.push((a, tr.amount)),
            }
        }
        by.into_iter()
            .map(|(a, v)| (l.store.address(AccountId(a)), v))
            .collect()
    }
}

mod walk;

#[cfg(test)]
mod tests;
