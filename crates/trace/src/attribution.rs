//! Entity attribution: what the imported tags say about each entity,
//! computed once when the engine opens.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chainhound_btc::{parse_address, Network};
use chainhound_entities::{Clusters, EntityId};
use chainhound_intel::TagStore;
use chainhound_store::Store;
use chainhound_types::AddrId;

use crate::bits::RankedBits;
use crate::types::EntityInfo;

/// Entity → categories, countries and name, from the tags of the entity's
/// member addresses. A tag on one address speaks for its whole entity (the
/// clusters carry the evidence for that step, `chainhound explain`).
#[derive(Debug, Default)]
pub struct Attribution {
    by_entity: HashMap<EntityId, EntityInfo>,
    /// The keys of `by_entity`, sorted: most entities a trace reaches are
    /// not attributed, and a search here says so without hashing.
    attributed: Vec<EntityId>,
    /// The addresses of attributed entities.
    members: RankedBits,
    /// The entity of each of `members`, in address order.
    member_entity: Vec<EntityId>,
    /// Category → entities.
    by_category: BTreeMap<String, Vec<EntityId>>,
    tags_used: u64,
    tags_skipped: u64,
}

#[derive(Default)]
struct Acc {
    categories: BTreeSet<String>,
    countries: BTreeSet<String>,
    names: BTreeMap<String, u32>,
    addrs: HashSet<AddrId>,
}

impl Attribution {
    /// Reads every tag of `tags` whose address parses for `net` and
    /// appears in `store`, and groups them by entity.
    pub fn build(store: &Store, clusters: &Clusters, tags: &TagStore, net: Network) -> Attribution {
        let mut acc: HashMap<EntityId, Acc> = HashMap::new();
        let (mut used, mut skipped) = (0u64, 0u64);
        for tag in tags.tags() {
            let Ok(key) = parse_address(&tag.address, net) else {
                skipped += 1;
                continue;
            };
            let Some(a) = store.addr_id(&key) else {
                skipped += 1;
                continue;
            };
            let e = clusters.entity_of(a).unwrap_or(EntityId(a.0));
            used += 1;
            let s = acc.entry(e).or_default();
            s.addrs.insert(a);
            if let Some(c) = &tag.category {
                let c = c.trim().to_ascii_lowercase();
                if !c.is_empty() {
                    s.categories.insert(c);
                }
            }
            if let Some(c) = &tag.country {
                if !c.trim().is_empty() {
                    s.countries.insert(c.trim().to_string());
                }
            }
            let name = tag
                .actor
                .as_deref()
                .filter(|a| !a.trim().is_empty())
                .unwrap_or(&tag.label);
            if !name.trim().is_empty() {
                *s.names.entry(name.trim().to_string()).or_default() += 1;
            }
        }
        let mut a = Attribution::from_parts(acc, used, skipped);
        let mut members: Vec<(u32, EntityId)> = Vec::new();
        for e in a.by_entity.keys() {
            members.extend(clusters.members(*e).map(|m| (m.0, *e)));
            // An address past the clusters' coverage is its own entity.
            members.push((e.0, *e));
        }
        a.index_members(store.counts().addrs, members);
        a
    }

    /// Builds the member index from every `(address, entity)` pair of the
    /// attributed entities (addresses at or past `n` are dropped).
    fn index_members(&mut self, n: u32, mut members: Vec<(u32, EntityId)>) {
        members.retain(|&(m, _)| m < n);
        members.sort_unstable_by_key(|&(m, _)| m);
        members.dedup_by_key(|&mut (m, _)| m);
        self.members =
            RankedBits::from_increasing(n as usize, members.iter().map(|&(m, _)| m as usize));
        self.member_entity = members.into_iter().map(|(_, e)| e).collect();
    }

    /// The attributed entity address `a` belongs to, if any: three
    /// independent reads, no walk of the cluster table.
    #[inline]
    pub fn attributed_entity(&self, a: AddrId) -> Option<EntityId> {
        let k = self.members.index_of(a.index())?;
        self.member_entity.get(k).copied()
    }

    /// One bit per address of an attributed entity (in address order),
    /// set when that entity is in `set` (sorted): for
    /// [`Attribution::in_mask`]. As small as the attributed addresses.
    pub fn member_mask(&self, set: &[EntityId]) -> Vec<u64> {
        let mut mask = vec![0u64; self.member_entity.len().div_ceil(64)];
        for (k, e) in self.member_entity.iter().enumerate() {
            if set.binary_search(e).is_ok() {
                mask[k / 64] |= 1 << (k % 64);
            }
        }
        mask
    }

    /// Whether address `a`'s entity is in the set `mask` was made for
    /// ([`Attribution::member_mask`]): the same answer as
    /// [`Attribution::attributed_entity`] and a search of the set, without
    /// the search.
    #[inline]
    pub fn in_mask(&self, a: AddrId, mask: &[u64]) -> bool {
        self.members
            .index_of(a.index())
            .is_some_and(|k| mask.get(k / 64).is_some_and(|m| m & (1 << (k % 64)) != 0))
    }

    /// A hint that [`Attribution::in_mask`] of `a` is about to be asked.
    #[inline]
    pub fn prefetch(&self, a: AddrId) {
        self.members.prefetch(a.index());
    }

    fn from_parts(acc: HashMap<EntityId, Acc>, used: u64, skipped: u64) -> Attribution {
        let mut by_entity = HashMap::with_capacity(acc.len());
        let mut by_category: BTreeMap<String, Vec<EntityId>> = BTreeMap::new();
        for (e, s) in acc {
            // Most frequent name; ties to the alphabetically first.
            let name = s
                .names
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map(|(n, _)| n.clone());
            for c in &s.categories {
                by_category.entry(c.clone()).or_default().push(e);
            }
            by_entity.insert(
                e,
                EntityInfo {
                    entity: e,
                    name,
                    categories: s.categories.into_iter().collect(),
                    countries: s.countries.into_iter().collect(),
                    tagged_addresses: s.addrs.len() as u32,
                },
            );
        }
        for v in by_category.values_mut() {
            v.sort_unstable();
        }
        tracing::info!(
            entities = by_entity.len(),
            tags = used,
            skipped,
            "attribution built"
        );
        let mut attributed: Vec<EntityId> = by_entity.keys().copied().collect();
        attributed.sort_unstable();
        Attribution {
            by_entity,
            attributed,
            members: RankedBits::default(),
            member_entity: Vec::new(),
            by_category,
            tags_used: used,
            tags_skipped: skipped,
        }
    }

    /// The attribution of `e`, if any tag speaks for it.
    #[inline]
    pub fn get(&self, e: EntityId) -> Option<&EntityInfo> {
        if self.attributed.binary_search(&e).is_err() {
            return None;
        }
        self.by_entity.get(&e)
    }

    /// The attribution of `e`, or an empty one naming it.
    pub fn info(&self, e: EntityId) -> EntityInfo {
        self.get(e).cloned().unwrap_or(EntityInfo {
            entity: e,
            name: None,
            categories: Vec::new(),
            countries: Vec::new(),
            tagged_addresses: 0,
        })
    }

    /// Entities with `category` (lower-case), sorted.
    pub fn entities_in(&self, category: &str) -> &[EntityId] {
        self.by_category.get(category).map_or(&[], |v| v.as_slice())
    }

    /// Every category some entity has, sorted.
    pub fn categories(&self) -> impl Iterator<Item = &str> {
        self.by_category.keys().map(|s| s.as_str())
    }

    /// Attributed entities.
    pub fn len(&self) -> usize {
        self.by_entity.len()
    }

    /// Whether no entity is attributed.
    pub fn is_empty(&self) -> bool {
        self.by_entity.is_empty()
    }

    /// Tags that matched a stored address, and tags that did not (other
    /// chains, other networks, addresses never seen).
    pub fn tag_counts(&self) -> (u64, u64) {
        (self.tags_used, self.tags_skipped)
    }
}
