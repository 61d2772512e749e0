//! What re-importing a source changed: tags added, delisted and unchanged,
//! per chain, compared by identity.
//!
//! The identity of an OFAC tag is its address alone (a new list edition
//! either still names the address or it does not, whatever it calls the
//! party); the identity of any other tag is its address and label. Editions
//! are compared as multisets of identities, so that
//! `added − delisted = new count − old count` always holds, and re-importing
//! the same edition adds and delists nothing.

use crate::chain::Chain;
use crate::format::SourceFile;
use crate::tagset::{record_chain, Record, TagSet, KIND_OFAC};

/// One tag named in a report.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Listing {
    /// Its chain.
    pub chain: Chain,
    /// Its normalized address.
    pub address: String,
    /// Its label.
    pub label: String,
}

/// Counts for one chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainCounts {
    /// The chain.
    pub chain: Chain,
    /// Tags in the new edition.
    pub tags: u64,
    /// Added by the new edition.
    pub added: u64,
    /// In the old edition, not in the new.
    pub delisted: u64,
    /// In both.
    pub unchanged: u64,
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// The source name.
    pub source: String,
    /// The input format.
    pub kind: String,
    /// The new edition.
    pub edition: String,
    /// The edition it replaced, if any.
    pub previous_edition: Option<String>,
    /// Tags in the new edition.
    pub tags: u64,
    /// Tags in the replaced edition (0 if none).
    pub previous_tags: u64,
    /// Identities added.
    pub added: u64,
    /// Identities delisted.
    pub delisted: u64,
    /// Identities in both editions.
    pub unchanged: u64,
    /// The same counts per chain, in chain order, chains with no tags left out.
    pub by_chain: Vec<ChainCounts>,
    /// The first added tags (up to the import's list limit), in input order.
    pub added_listings: Vec<Listing>,
    /// The first delisted tags (up to the list limit), in old-edition order.
    pub delisted_listings: Vec<Listing>,
}

/// Either side of a diff, seen through the same accessors.
pub(crate) trait Side {
    fn count(&self) -> usize;
    fn record(&self, i: usize) -> Record;
    /// The label string id and provenance kind of template `t`.
    fn label_kind(&self, t: u32) -> (u32, u8);
    fn string(&self, id: u32) -> &[u8];
}

impl Side for TagSet {
    fn count(&self) -> usize {
        self.records.len()
    }
    fn record(&self, i: usize) -> Record {
        self.records[i]
    }
    fn label_kind(&self, t: u32) -> (u32, u8) {
        let t = &self.templates[t as usize];
        (t.label, t.kind)
    }
    fn string(&self, id: u32) -> &[u8] {
        self.strings.get(id).as_bytes()
    }
}

impl Side for SourceFile {
    fn count(&self) -> usize {
        self.len()
    }
    fn record(&self, i: usize) -> Record {
        SourceFile::record(self, i as u32)
    }
    fn label_kind(&self, t: u32) -> (u32, u8) {
        SourceFile::label_kind(self, t)
    }
    fn string(&self, id: u32) -> &[u8] {
        SourceFile::string_bytes(self, id)
    }
}

/// (address, identity label, display label, chain) of record `i`.
fn identity<S: Side>(s: &S, i: usize) -> (&[u8], &[u8], &[u8], Chain) {
    let r = s.record(i);
    let (label, kind) = s.label_kind(r.template);
    let label = s.string(label);
    let key_label: &[u8] = if kind == KIND_OFAC { b"" } else { label };
    (s.string(r.address), key_label, label, record_chain(&r))
}

/// Compares `old` (if any) with `new`; lists at most `limit` tags each way.
/// Hash of an identity (address, 0xff, identity label).
fn key_hash(a: &[u8], l: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = crate::tagset::Fnv::default();
    h.write(a);
    h.write(&[0xff]);
    h.write(l);
    h.finish()
}

/// (hash, record) of every record, sorted.
fn sorted_keys<S: Side>(s: &S) -> Vec<(u64, u32)> {
    let mut v: Vec<(u64, u32)> = (0..s.count())
        .map(|i| {
            let (a, l, _, _) = identity(s, i);
            (key_hash(a, l), i as u32)
        })
        .collect();
    v.sort_unstable();
    v
}

/// Marks matched records: for each identity, the first min(old, new)
/// occurrences (in record order) on each side. Sort-merge on identity
/// hashes, then exact comparison of the identities within equal hashes.
fn matches<S: Side>(old: &S, new: &TagSet) -> (Vec<bool>, Vec<bool>) {
    let (o, n) = (sorted_keys(old), sorted_keys(new));
    let mut old_hit = vec![false; old.count()];
    let mut new_hit = vec![false; new.count()];
    let (mut i, mut j) = (0, 0);
    while i < o.len() && j < n.len() {
        let h = o[i].0.min(n[j].0);
        let oi = i + o[i..].iter().take_while(|x| x.0 == h).count();
        let nj = j + n[j..].iter().take_while(|x| x.0 == h).count();
        if oi == i + 1 && nj == j + 1 {
            // the common case: one record each side
            let (ro, rn) = (o[i].1 as usize, n[j].1 as usize);
            let (a1, l1, _, _) = identity(old, ro);
            let (a2, l2, _, _) = identity(new, rn);
            if a1 == a2 && l1 == l2 {
                old_hit[ro] = true;
                new_hit[rn] = true;
            }
        } else if oi > i && nj > j {
            // exact identities within the hash run, each side in record order
            let key_o = |&(_, r): &(u64, u32)| {
                let (a, l, _, _) = identity(old, r as usize);
                (a, l, r)
            };
            let key_n = |&(_, r): &(u64, u32)| {
                let (a, l, _, _) = identity(new, r as usize);
                (a, l, r)
            };
            let mut ro: Vec<_> = o[i..oi].iter().map(key_o).collect();
            let mut rn: Vec<_> = n[j..nj].iter().map(key_n).collect();
            ro.sort_unstable();
            rn.sort_unstable();
            let (mut p, mut q) = (0, 0);
            while p < ro.len() && q < rn.len() {
                match (ro[p].0, ro[p].1).cmp(&(rn[q].0, rn[q].1)) {
                    std::cmp::Ordering::Less => p += 1,
                    std::cmp::Ordering::Greater => q += 1,
                    std::cmp::Ordering::Equal => {
                        old_hit[ro[p].2 as usize] = true;
                        new_hit[rn[q].2 as usize] = true;
                        p += 1;
                        q += 1;
                    }
                }
            }
        }
        i = oi;
        j = nj;
    }
    (old_hit, new_hit)
}

/// Compares `old` (if any) with `new`; lists at most `limit` tags each way.
pub(crate) fn diff<S: Side>(old: Option<&S>, new: &TagSet, limit: usize) -> ImportReport {
    let mut rep = ImportReport {
        tags: new.count() as u64,
        previous_tags: old.map_or(0, |o| o.count() as u64),
        ..ImportReport::default()
    };
    let mut chains: Vec<ChainCounts> = crate::chain::ALL_CHAINS
        .iter()
        .map(|&chain| ChainCounts {
            chain,
            tags: 0,
            added: 0,
            delisted: 0,
            unchanged: 0,
        })
        .collect();
    let listing = |a: &[u8], label: &[u8], chain| Listing {
        chain,
        address: String::from_utf8_lossy(a).into_owned(),
        label: String::from_utf8_lossy(label).into_owned(),
    };
    let (old_hit, new_hit) = match old {
        Some(o) => matches(o, new),
        None => (Vec::new(), vec![false; new.count()]),
    };
    for (i, &hit) in new_hit.iter().enumerate() {
        let r = new.record(i);
        let chain = record_chain(&r);
        let cc = &mut chains[usize::from(chain.code())];
        cc.tags += 1;
        if hit {
            rep.unchanged += 1;
            cc.unchanged += 1;
        } else {
            rep.added += 1;
            cc.added += 1;
            if rep.added_listings.len() < limit {
                let (a, _, label, _) = identity(new, i);
                rep.added_listings.push(listing(a, label, chain));
            }
        }
    }
    if let Some(old) = old {
        for (i, &hit) in old_hit.iter().enumerate() {
            if hit {
                continue;
            }
            let (a, _, label, chain) = identity(old, i);
            rep.delisted += 1;
            chains[usize::from(chain.code())].delisted += 1;
            if rep.delisted_listings.len() < limit {
                rep.delisted_listings.push(listing(a, label, chain));
            }
        }
    }
    rep.by_chain = chains
        .into_iter()
        .filter(|c| c.tags + c.delisted > 0)
        .collect();
    rep
}
