//! Writer/reader round trips, rollback and crash recovery.

use std::fs;

use proptest::prelude::*;

use super::format::{FILES, MANIFEST};
use super::{EvmStore, EvmWriter};
use crate::types::{
    Address, AssetRef, NewBlock, NewTransfer, NewTx, TokenMeta, TransferKind, TxStatus, B256, U256,
};
use crate::EvmError;

fn addr(i: u8) -> Address {
    Address::repeat_byte(i)
}

fn hash(number: u64, salt: u8, kind: u8) -> B256 {
    let mut h = [salt; 32];
    h[..8].copy_from_slice(&number.to_be_bytes());
    h[31] = kind;
    B256::from(h)
}

const TOKEN: u8 = 0xee;

/// Block `number` (fork `salt`) with one transaction `a` → `b` moving `v`
/// wei and `v` tokens.
fn block(number: u64, parent: B256, salt: u8, a: u8, b: u8, v: u64) -> NewBlock {
    NewBlock {
        number,
        hash: hash(number, salt, 0),
        parent,
        timestamp: number * 12,
        txs: vec![NewTx {
            hash: hash(number, salt, 1),
            from: addr(a),
            to: Some(addr(b)),
            created: None,
            value: U256::from(v),
            status: TxStatus::Success,
            gas: 21000,
            fee: 21000,
        }],
        transfers: vec![
            NewTransfer {
                tx: Some(0),
                asset: AssetRef::Native,
                from: addr(a),
                to: addr(b),
                amount: U256::from(v),
                kind: TransferKind::Call,
            },
            NewTransfer {
                tx: Some(0),
                asset: AssetRef::Token(addr(TOKEN)),
                from: addr(a),
                to: addr(b),
                amount: U256::from(v),
                kind: TransferKind::Erc20,
            },
        ],
        tokens: vec![(
            addr(TOKEN),
            TokenMeta {
                symbol: Some("TOK".into()),
                decimals: Some(6),
            },
        )],
    }
}

fn chain(n: u64, salt: u8, from: u64, parent: B256) -> Vec<NewBlock> {
    let mut out = Vec::new();
    let mut p = parent;
    for i in from..from + n {
        let b = block(
            i,
            p,
            salt,
            (i % 7) as u8 + 1,
            (i % 5) as u8 + 1 + salt,
            i + 1,
        );
        p = b.hash;
        out.push(b);
    }
    out
}

fn dump(dir: &std::path::Path) -> String {
    let s = EvmStore::open(dir).unwrap();
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{}",
        s.blocks(),
        s.txs(),
        s.transfers(),
        s.assets(),
        (0..s.account_count())
            .map(|i| s.address(crate::AccountId(i as u32)).to_string())
            .collect::<Vec<_>>()
            .join(",")
    )
}

#[test]
fn append_commit_reopen_and_idempotent_reimport() {
    let d = tempfile::tempdir().unwrap();
    let blocks = chain(5, 0, 100, B256::ZERO);
    let mut w = EvmWriter::open(d.path(), "eth").unwrap();
    for b in &blocks {
        assert_eq!(w.append(b).unwrap(), super::AppendOutcome::Appended);
    }
    w.commit().unwrap();
    drop(w);
    let first = dump(d.path());
    let mut w = EvmWriter::open(d.path(), "eth").unwrap();
    for b in &blocks {
        assert_eq!(w.append(b).unwrap(), super::AppendOutcome::AlreadyStored);
    }
    w.commit().unwrap();
    drop(w);
    assert_eq!(dump(d.path()), first);
    let s = EvmStore::open(d.path()).unwrap();
    assert_eq!(s.blocks().len(), 5);
    assert_eq!(s.transfers().len(), 10);
    assert_eq!(s.assets().len(), 2);
    assert_eq!(s.assets()[1].meta.symbol.as_deref(), Some("TOK"));
    let a1 = s.account(&addr(3)).unwrap();
    assert_eq!(s.outgoing(a1).count(), 2);
    assert!(
        EvmWriter::open(d.path(), "bsc").is_err(),
        "another chain's store"
    );
}

#[test]
fn refuses_failed_value_out_of_order_and_forks_without_rollback() {
    let d = tempfile::tempdir().unwrap();
    let mut w = EvmWriter::open(d.path(), "eth").unwrap();
    let mut bad = block(1, B256::ZERO, 0, 1, 2, 5);
    bad.txs[0].status = TxStatus::Failed;
    assert!(w
        .append(&bad)
        .unwrap_err()
        .to_string()
        .contains("failed transactions move no value"));
    let b1 = block(1, B256::ZERO, 0, 1, 2, 5);
    w.append(&b1).unwrap();
    let fork = block(2, hash(1, 9, 0), 9, 1, 2, 5);
    let e = w.append(&fork).unwrap_err();
    assert!(matches!(e, EvmError::Chain { number: 2, .. }), "{e}");
    assert!(w.append(&block(0, B256::ZERO, 0, 1, 2, 5)).is_err());
    let mut other = b1.clone();
    other.hash = hash(1, 7, 0);
    assert!(w
        .append(&other)
        .unwrap_err()
        .to_string()
        .contains("roll back first"));
}

#[test]
fn rollback_then_other_branch_equals_building_the_branch_directly() {
    let d = tempfile::tempdir().unwrap();
    let base = chain(3, 0, 10, B256::ZERO);
    let old = chain(3, 0, 13, base[2].hash);
    let new = chain(4, 3, 13, base[2].hash);
    let mut w = EvmWriter::open(d.path(), "eth").unwrap();
    for b in base.iter().chain(&old) {
        w.append(b).unwrap();
    }
    w.commit().unwrap();
    assert_eq!(w.rollback_to(12).unwrap(), 3);
    for b in &new {
        w.append(b).unwrap();
    }
    w.commit().unwrap();
    drop(w);
    let d2 = tempfile::tempdir().unwrap();
    let mut w = EvmWriter::open(d2.path(), "eth").unwrap();
    for b in base.iter().chain(&new) {
        w.append(b).unwrap();
    }
    w.commit().unwrap();
    drop(w);
    assert_eq!(dump(d.path()), dump(d2.path()));
}

#[test]
fn uncommitted_rows_and_garbage_tails_are_invisible_and_truncated() {
    let d = tempfile::tempdir().unwrap();
    let blocks = chain(4, 0, 0, B256::ZERO);
    let mut w = EvmWriter::open(d.path(), "eth").unwrap();
    for b in &blocks[..2] {
        w.append(b).unwrap();
    }
    w.commit().unwrap();
    drop(w);
    let committed = dump(d.path());
    // A killed writer: rows written past the manifest's counts.
    for (name, _) in FILES {
        let mut b = fs::read(d.path().join(name)).unwrap();
        b.extend_from_slice(&[0xab; 77]);
        fs::write(d.path().join(name), b).unwrap();
    }
    assert_eq!(dump(d.path()), committed);
    let mut w = EvmWriter::open(d.path(), "eth").unwrap();
    for b in &blocks[2..] {
        w.append(b).unwrap();
    }
    w.commit().unwrap();
    drop(w);
    let d2 = tempfile::tempdir().unwrap();
    let mut w = EvmWriter::open(d2.path(), "eth").unwrap();
    for b in &blocks {
        w.append(b).unwrap();
    }
    w.commit().unwrap();
    drop(w);
    assert_eq!(dump(d.path()), dump(d2.path()));
    // A damaged manifest is an error, never a silent empty store.
    let m = d.path().join(MANIFEST);
    let mut b = fs::read(&m).unwrap();
    b[12] ^= 0xff;
    fs::write(&m, b).unwrap();
    assert!(EvmStore::open(d.path()).is_err());
    assert!(EvmWriter::open(d.path(), "eth").is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Any sequence of appends, commits and rollbacks converges to the store
    /// built directly from the surviving blocks.
    #[test]
    fn rollbacks_converge(ops in proptest::collection::vec((0u8..3, 1u64..4), 1..12)) {
        let d = tempfile::tempdir().unwrap();
        let mut w = EvmWriter::open(d.path(), "eth").unwrap();
        let mut kept: Vec<NewBlock> = Vec::new();
        let mut salt = 0u8;
        for (op, n) in ops {
            match op {
                0 | 1 => {
                    let from = kept.last().map_or(0, |b| b.number + 1);
                    let parent = kept.last().map_or(B256::ZERO, |b| b.hash);
                    for b in chain(n, salt, from, parent) {
                        w.append(&b).unwrap();
                        kept.push(b);
                    }
                    if op == 1 { w.commit().unwrap(); }
                }
                _ => {
                    let to = kept.len().saturating_sub(n as usize);
                    let number = if to == 0 { None } else { Some(kept[to - 1].number) };
                    match number {
                        Some(x) => { w.rollback_to(x).unwrap(); }
                        None => { w.rollback_to(0).unwrap(); if kept.first().is_some_and(|b| b.number == 0) { kept.truncate(1); } }
                    }
                    if number.is_some() { kept.truncate(to); }
                    salt = salt.wrapping_add(1);
                }
            }
        }
        w.commit().unwrap();
        drop(w);
        let d2 = tempfile::tempdir().unwrap();
        let mut w = EvmWriter::open(d2.path(), "eth").unwrap();
        for b in &kept { w.append(b).unwrap(); }
        w.commit().unwrap();
        drop(w);
        prop_assert_eq!(dump(d.path()), dump(d2.path()));
    }
}
