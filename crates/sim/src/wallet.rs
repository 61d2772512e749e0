//! Who owns what: entities, the address book (with the streaming
//! `truth-addresses.csv` writer) and wallets of UTXOs.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use crate::error::SimError;
use crate::rng::{Keys, Rng};
use crate::script::{self, ScriptKind};
use crate::truth::EntityKind;
use crate::tx::{AddrRef, Utxo};

/// One entity of the ground truth.
pub(crate) struct Entity {
    pub name: String,
    pub kind: EntityKind,
    pub country: Option<&'static str>,
    pub addresses: u64,
}

/// Every address ever created, numbered densely, with its type, owner and
/// program (cached: re-deriving one costs a HASH160).
pub(crate) struct AddrBook {
    kinds: Vec<u8>,
    owners: Vec<u32>,
    progs: Vec<[u8; 32]>,
    pub entities: Vec<Entity>,
    keys: Keys,
    csv: BufWriter<File>,
    csv_path: PathBuf,
    line: String,
    err: Option<SimError>,
}

impl AddrBook {
    pub(crate) fn new(keys: Keys, csv_path: PathBuf) -> Result<AddrBook, SimError> {
        let file = File::create(&csv_path).map_err(|e| SimError::io(&csv_path, e))?;
        let mut csv = BufWriter::with_capacity(1 << 20, file);
        csv.write_all(b"address,entity_id\n")
            .map_err(|e| SimError::io(&csv_path, e))?;
        Ok(AddrBook {
            kinds: Vec::new(),
            owners: Vec::new(),
            progs: Vec::new(),
            entities: Vec::new(),
            keys,
            csv,
            csv_path,
            line: String::with_capacity(128),
            err: None,
        })
    }

    /// Registers an entity and returns its id.
    pub(crate) fn add_entity(
        &mut self,
        name: String,
        kind: EntityKind,
        country: Option<&'static str>,
    ) -> u32 {
        self.entities.push(Entity {
            name,
            kind,
            country,
            addresses: 0,
        });
        (self.entities.len() - 1) as u32
    }

    /// Creates a fresh address owned by `entity` and writes its truth row.
    pub(crate) fn create(&mut self, entity: u32, kind: ScriptKind) -> AddrRef {
        let id = self.kinds.len() as u32;
        self.kinds.push(kind as u8);
        self.owners.push(entity);
        self.entities[entity as usize].addresses += 1;
        let prog = script::program(&self.keys, kind, id);
        self.progs.push(prog);
        if self.err.is_none() {
            use std::fmt::Write as _;
            self.line.clear();
            let _ = writeln!(
                self.line,
                "{},{}",
                script::render_address(kind, &prog),
                entity
            );
            if let Err(e) = self.csv.write_all(self.line.as_bytes()) {
                self.err = Some(SimError::io(&self.csv_path, e));
            }
        }
        AddrRef { id, kind, prog }
    }

    /// The full reference of an existing address.
    pub(crate) fn get(&self, id: u32) -> AddrRef {
        let kind = ScriptKind::from_u8(self.kinds[id as usize]);
        AddrRef {
            id,
            kind,
            prog: self.progs[id as usize],
        }
    }

    /// The owning entity of an address.
    #[inline]
    pub(crate) fn owner(&self, id: u32) -> u32 {
        self.owners[id as usize]
    }

    /// Number of addresses created.
    pub(crate) fn len(&self) -> u64 {
        self.kinds.len() as u64
    }

    /// The rendered address string.
    pub(crate) fn render(&self, id: u32) -> String {
        let a = self.get(id);
        script::render_address(a.kind, &a.prog).to_string()
    }

    /// Flushes the CSV and reports the first write error, if any.
    pub(crate) fn finish(&mut self) -> Result<(), SimError> {
        if let Some(e) = self.err.take() {
            return Err(e);
        }
        self.csv
            .flush()
            .map_err(|e| SimError::io(&self.csv_path, e))
    }
}

/// Transaction-format habits of a wallet's software.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Profile {
    /// Core/Electrum-like: v2, anti-fee-sniping lock time, RBF sequence.
    Desktop,
    /// Mobile wallets: v2, lock time 0, final sequence.
    Mobile,
    /// Old software and exchanges: v1, lock time 0, final sequence.
    Legacy,
}

/// A set of UTXOs under one owner's control.
pub(crate) struct Wallet {
    pub entity: u32,
    pub kind: ScriptKind,
    pub profile: Profile,
    pub utxos: Vec<Utxo>,
    /// Receive addresses handed out, some of which payers reuse.
    pub recv: Vec<u32>,
    pub balance: u64,
}

impl Wallet {
    pub(crate) fn new(entity: u32, kind: ScriptKind, profile: Profile) -> Wallet {
        Wallet {
            entity,
            kind,
            profile,
            utxos: Vec::new(),
            recv: Vec::new(),
            balance: 0,
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, u: Utxo) {
        self.balance += u.value;
        self.utxos.push(u);
    }

    #[inline]
    pub(crate) fn take(&mut self, i: usize) -> Utxo {
        let u = self.utxos.swap_remove(i);
        self.balance -= u.value;
        u
    }

    /// Remembers a receive address, keeping the last few.
    pub(crate) fn remember(&mut self, id: u32, rng: &mut Rng) {
        if self.recv.len() < 6 {
            self.recv.push(id);
        } else {
            let i = rng.index(self.recv.len());
            self.recv[i] = id;
        }
    }
}

/// The user wallets that hold enough to spend, for O(1) random picks.
pub(crate) struct FundedSet {
    first: u32,
    list: Vec<u32>,
    pos: Vec<u32>,
}

/// Below this a user is not worth picking as a payer.
pub(crate) const MIN_FUNDED: u64 = 20_000;

impl FundedSet {
    /// Tracks wallets `first..first+n`.
    pub(crate) fn new(first: u32, n: u32) -> FundedSet {
        FundedSet {
            first,
            list: Vec::new(),
            pos: vec![u32::MAX; n as usize],
        }
    }

    /// Updates membership of wallet `w` from its balance.
    #[inline]
    pub(crate) fn update(&mut self, w: u32, wallet: &Wallet) {
        let Some(slot) = w.checked_sub(self.first).map(|i| i as usize) else {
            return;
        };
        if slot >= self.pos.len() {
            return;
        }
        let funded = wallet.balance >= MIN_FUNDED;
        let p = self.pos[slot];
        if funded && p == u32::MAX {
            self.pos[slot] = self.list.len() as u32;
            self.list.push(w);
        } else if !funded && p != u32::MAX {
            let last = *self.list.last().expect("member present");
            self.list.swap_remove(p as usize);
            if last != w {
                self.pos[(last - self.first) as usize] = p;
            }
            self.pos[slot] = u32::MAX;
        }
    }

    /// A uniformly random funded wallet.
    pub(crate) fn pick(&self, rng: &mut Rng) -> Option<u32> {
        if self.list.is_empty() {
            None
        } else {
            Some(self.list[rng.index(self.list.len())])
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utxo(v: u64) -> Utxo {
        Utxo {
            txid: [0; 32],
            value: v,
            addr: 0,
            vout: 0,
            kind: ScriptKind::P2wpkh,
        }
    }

    #[test]
    fn funded_set_tracks_balances() {
        let mut ws: Vec<Wallet> = (0..5)
            .map(|_| Wallet::new(0, ScriptKind::P2wpkh, Profile::Mobile))
            .collect();
        let mut f = FundedSet::new(10, 5);
        let mut rng = Rng::new(1);
        assert_eq!(f.pick(&mut rng), None);
        for i in 0..5u32 {
            ws[i as usize].push(utxo(MIN_FUNDED * u64::from(i)));
            f.update(10 + i, &ws[i as usize]);
        }
        assert_eq!(f.len(), 4);
        ws[2].take(0);
        f.update(12, &ws[2]);
        ws[4].take(0);
        f.update(14, &ws[4]);
        assert_eq!(f.len(), 2);
        for _ in 0..50 {
            let w = f.pick(&mut rng).unwrap();
            assert!(w == 11 || w == 13);
        }
        f.update(3, &ws[0]); // outside the tracked range: ignored
    }
}
