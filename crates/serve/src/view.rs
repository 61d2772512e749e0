//! [`ChainView`]: one consistent snapshot of the chain data a screening
//! reads — the store, its entity clusters and the public attribution tags —
//! with the tags resolved to address ids and entities once, when the view is
//! opened, so that a screening is a few hash lookups.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chainhound_btc::{parse_address, render, Network};
use chainhound_entities::{Clusters, EntityId};
use chainhound_intel::{Provenance, TagStore};
use chainhound_store::Store;
use chainhound_types::AddrId;

use crate::error::{Result, ServeError};

/// One public tag, as a screening reports it.
#[derive(Clone, Debug)]
pub struct TagInfo {
    /// The tagged address as the source spells it.
    pub address: String,
    /// Source (`ofac`, `graphsense`, a CSV name).
    pub source: String,
    /// Label.
    pub label: String,
    /// Category (`sanction`, `exchange`, …).
    pub category: Option<String>,
    /// Actor.
    pub actor: Option<String>,
    /// A sanctions listing (category `sanction` or an OFAC source).
    pub sanction: bool,
    /// The reference the source cites.
    pub reference: Option<String>,
}

impl TagInfo {
    /// The screening view of intel tag `t`, on `address` (its canonical
    /// spelling).
    pub fn from_tag(t: chainhound_intel::Tag, address: String) -> TagInfo {
        let sanction = t.category.as_deref() == Some("sanction")
            || matches!(t.provenance, Provenance::Ofac(_));
        TagInfo {
            address,
            source: t.source,
            label: t.label,
            category: t.category,
            actor: t.actor,
            sanction,
            reference: t.reference,
        }
    }
}

/// An address resolved against the view.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The address rendered in its canonical spelling.
    pub address: String,
    /// Its id when it appears on the stored chain.
    pub id: Option<AddrId>,
    /// Its entity when the clusters cover it.
    pub entity: Option<(EntityId, u32)>,
}

/// A snapshot of `<data>/btc`, `<data>/btc/entities` and `<data>/intel`.
pub struct ChainView {
    /// `<data>/btc`; absent on a server with EVM data only (Bitcoin
    /// addresses are then screened against the tags alone).
    store: Option<Store>,
    clusters: Option<Clusters>,
    net: Network,
    tags: Vec<TagInfo>,
    /// Canonical address → tag indices.
    by_addr: HashMap<String, Vec<u32>>,
    /// Entity id → tag indices of all its members.
    by_entity: HashMap<u32, Vec<u32>>,
    stamp: Stamp,
    engine: Option<chainhound_trace::Engine>,
    /// Each EVM chain: `<data>/evm/<dir>` when present and the EVM tags.
    evm: Vec<(crate::tenant::ChainName, crate::evm::EvmView)>,
}

/// What the view was built from, to notice changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// The store's generation.
    pub store_generation: u64,
    /// The intel manifest's modification time.
    pub intel: Option<SystemTime>,
    /// The clusters' metadata modification time.
    pub clusters: Option<SystemTime>,
    /// The EVM stores' manifest modification times, in
    /// [`crate::evm::EVM_CHAINS`] order.
    pub evm: Vec<Option<SystemTime>>,
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// The paths of the data directory.
#[derive(Clone, Debug)]
pub struct DataDir {
    /// `<data>`.
    pub root: PathBuf,
}

impl DataDir {
    /// `<data>/btc`.
    pub fn btc(&self) -> PathBuf {
        self.root.join("btc")
    }
    /// `<data>/evm/<dir>`: the account store of an EVM chain.
    pub fn evm(&self, dir: &str) -> PathBuf {
        self.root.join("evm").join(dir)
    }
    /// `<data>/intel`.
    pub fn intel(&self) -> PathBuf {
        self.root.join("intel")
    }
    /// What a view built now would be stamped with (cheap: a few stats).
    pub fn stamp(&self) -> Stamp {
        let btc = self.btc();
        Stamp {
            store_generation: Store::open(&btc).map(|s| s.generation()).unwrap_or(0),
            intel: mtime(&self.intel().join("MANIFEST")).or_else(|| mtime(&self.intel())),
            clusters: mtime(&btc.join("entities")),
            evm: crate::evm::EVM_CHAINS
                .iter()
                .filter_map(|&c| crate::evm::store_dir(c))
                .map(|d| mtime(&self.evm(d).join("MANIFEST")))
                .collect(),
        }
    }
}

impl ChainView {
    /// Opens the data and resolves every public tag on this chain's network.
    pub fn open(data: &DataDir) -> Result<ChainView> {
        let stamp = data.stamp();
        // No Bitcoin store at all is a supported setup (EVM data only); one
        // that fails to open is an error, never silently skipped.
        let store = if data.btc().exists() {
            Some(Store::open(&data.btc()).map_err(|e| ServeError::Data {
                what: "the store",
                msg: e.to_string(),
            })?)
        } else {
            tracing::warn!(
                "no Bitcoin store in {}: Bitcoin addresses are screened against the tags alone, transfers cannot be",
                data.btc().display()
            );
            None
        };
        let net = match &store {
            Some(s) => Network::from_magic(s.network_magic()).ok_or_else(|| ServeError::Data {
                what: "the store",
                msg: "unknown network magic".into(),
            })?,
            None => Network::Main,
        };
        let clusters = match store.as_ref().map(Clusters::open) {
            Some(Ok(c)) => Some(c),
            Some(Err(e)) => {
                tracing::warn!("entity clusters unavailable, screening without them: {e}");
                None
            }
            None => None,
        };
        let tag_store = TagStore::open(data.intel()).map_err(|e| ServeError::Data {
            what: "the tags",
            msg: e.to_string(),
        })?;
        let shared = std::sync::Arc::new(crate::evm::EvmTags::read(&tag_store));
        let mut evm = Vec::new();
        for chain in crate::evm::EVM_CHAINS {
            let dir = crate::evm::store_dir(chain).expect("an EVM chain");
            let ev = crate::evm::EvmView::open(chain, &data.evm(dir), shared.clone(), &tag_store)
                .map_err(|msg| ServeError::Data {
                what: "an EVM store",
                msg: format!("{}: {msg}", data.evm(dir).display()),
            })?;
            evm.push((chain, ev));
        }
        let engine = match chainhound_trace::Engine::open(&data.root) {
            Ok(e) => Some(e),
            Err(_) if store.is_none() => None,
            Err(e) => {
                tracing::warn!(
                    "tracing engine unavailable (no indirect exposure, no trace jobs): {e}"
                );
                None
            }
        };
        let mut v = ChainView {
            evm,
            engine,
            store,
            clusters,
            net,
            tags: Vec::new(),
            by_addr: HashMap::new(),
            by_entity: HashMap::new(),
            stamp,
        };
        for t in tag_store.tags() {
            // TRON: matched by the address as normalized at import.
            if t.chain == chainhound_intel::Chain::Tron {
                let canonical = t.address.clone();
                let i = v.tags.len() as u32;
                v.tags.push(TagInfo::from_tag(t, canonical.clone()));
                v.by_addr.entry(canonical).or_default().push(i);
                continue;
            }
            // Only tags on addresses of this chain and network resolve.
            let Ok(key) = parse_address(&t.address, net) else {
                continue;
            };
            let canonical = render(&key, net);
            let i = v.tags.len() as u32;
            v.tags.push(TagInfo::from_tag(t, canonical.clone()));
            v.by_addr.entry(canonical).or_default().push(i);
            if let Some(id) = v.store.as_ref().and_then(|s| s.addr_id(&key)) {
                if let Some((e, _)) = v.entity_of(id) {
                    v.by_entity.entry(e.0).or_default().push(i);
                }
            }
        }
        let evm_stores: Vec<String> = v
            .evm
            .iter()
            .filter(|(_, e)| e.has_store())
            .map(|(c, e)| format!("{c:?} ({:.2}s)", e.load_time.as_secs_f64()))
            .collect();
        tracing::info!(
            "view: {} txs, {} resolvable tags on {} addresses, clusters {}; {} EVM tags, EVM stores {:?}",
            v.store.as_ref().map_or(0, |s| s.counts().txs),
            v.tags.len(),
            v.by_addr.len(),
            if v.clusters.is_some() {
                "loaded"
            } else {
                "absent"
            },
            v.evm.first().map_or(0, |(_, e)| e.tag_count()),
            evm_stores
        );
        Ok(v)
    }

    /// The EVM view of `chain` (`None` for Bitcoin and TRON).
    pub fn evm(&self, chain: crate::tenant::ChainName) -> Option<&crate::evm::EvmView> {
        self.evm.iter().find(|(c, _)| *c == chain).map(|(_, v)| v)
    }

    /// The EVM chains whose account store is loaded.
    pub fn evm_stores(
        &self,
    ) -> impl Iterator<Item = (crate::tenant::ChainName, &crate::evm::EvmView)> {
        self.evm
            .iter()
            .filter(|(_, v)| v.has_store())
            .map(|(c, v)| (*c, v))
    }

    /// The Bitcoin store, when there is one.
    pub fn store(&self) -> Option<&Store> {
        self.store.as_ref()
    }
    /// The clusters, when built.
    pub fn clusters(&self) -> Option<&Clusters> {
        self.clusters.as_ref()
    }
    /// The tracing engine, when the clusters exist.
    pub fn engine(&self) -> Option<&chainhound_trace::Engine> {
        self.engine.as_ref()
    }
    /// The network.
    pub fn network(&self) -> Network {
        self.net
    }
    /// What the view was built from.
    pub fn stamp(&self) -> &Stamp {
        &self.stamp
    }
    /// Tag `i`.
    pub fn tag(&self, i: u32) -> &TagInfo {
        &self.tags[i as usize]
    }
    /// Number of resolvable public tags.
    pub fn tag_count(&self) -> usize {
        self.tags.len()
    }

    /// The entity of `a` and its size.
    pub fn entity_of(&self, a: AddrId) -> Option<(EntityId, u32)> {
        let c = self.clusters.as_ref()?;
        let e = c.entity_of(a).ok()?;
        Some((e, c.size(e).unwrap_or(1)))
    }

    /// Parses and resolves an address (checksums checked). The error is
    /// a sentence for a 422 answer.
    pub fn resolve(&self, address: &str) -> std::result::Result<Resolved, String> {
        if address.is_empty() || address.len() > 200 {
            return Err("address must be 1-200 characters".into());
        }
        let key = parse_address(address, self.net).map_err(|e| format!("{e}"))?;
        let id = self.store.as_ref().and_then(|s| s.addr_id(&key));
        Ok(Resolved {
            address: render(&key, self.net),
            id,
            entity: id.and_then(|i| self.entity_of(i)),
        })
    }

    /// [`ChainView::resolve`] for an address of `chain`: TRON addresses
    /// (base58check, version 0x41, `T…`) are checked and normalized but
    /// never on a stored chain; the others are Bitcoin's.
    pub fn resolve_on(
        &self,
        chain: crate::tenant::ChainName,
        address: &str,
    ) -> std::result::Result<Resolved, String> {
        if chain != crate::tenant::ChainName::Tron {
            return self.resolve(address);
        }
        if address.is_empty() || address.len() > 200 {
            return Err("address must be 1-200 characters".into());
        }
        let a = chainhound_intel::infer(address, Some("TRX"));
        if a.chain != chainhound_intel::Chain::Tron {
            return Err(format!(
                "{address:?} is not a TRON address (base58check of version 0x41, 34 characters starting with T, with a valid checksum)"
            ));
        }
        Ok(Resolved {
            address: a.normalized,
            id: None,
            entity: None,
        })
    }

    /// Renders address `id` (an id from the store; empty without one).
    pub fn render(&self, id: AddrId) -> String {
        self.store
            .as_ref()
            .map(|s| render(&s.addr_key(id), self.net))
            .unwrap_or_default()
    }

    /// Tags on exactly this canonical address.
    pub fn tags_of_address(&self, canonical: &str) -> &[u32] {
        self.by_addr
            .get(canonical)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Tags on any member of entity `e`.
    pub fn tags_of_entity(&self, e: EntityId) -> &[u32] {
        self.by_entity.get(&e.0).map(Vec::as_slice).unwrap_or(&[])
    }
}
