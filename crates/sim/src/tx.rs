//! Transaction serialization (BIP144 for segwit) and txid/wtxid hashing,
//! straight into the block buffer: no intermediate `Transaction` values.

use bitcoin::hashes::{sha256d, Hash, HashEngine};

use crate::rng::{Keys, Rng};
use crate::script::{self, write_varint, ScriptKind};

/// An unspent output held by some wallet or queue. 48 bytes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Utxo {
    /// Funding txid (internal byte order).
    pub txid: [u8; 32],
    /// Value in satoshis.
    pub value: u64,
    /// Address number in the address book.
    pub addr: u32,
    /// Output index.
    pub vout: u16,
    /// Script type of the address.
    pub kind: ScriptKind,
}

/// A reference to an address: number, type and program.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct AddrRef {
    /// Address number in the address book.
    pub id: u32,
    /// Script type.
    pub kind: ScriptKind,
    /// Hash or key program (see [`script::program`]).
    pub prog: [u8; 32],
}

/// Where an output's value goes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Dest {
    /// A standard address.
    Addr(AddrRef),
    /// An `OP_RETURN` data carrier with this many data bytes (≤ 80).
    OpReturn(u8),
    /// A bare 1-of-2 multisig output built from data-carrier key number
    /// `k`, as old protocols encoded data; owned by nobody, never spent.
    Bare1of2(u32),
}

impl Dest {
    /// Weight of an output with this destination.
    pub(crate) fn output_weight(&self) -> u64 {
        match self {
            Dest::Addr(a) => a.kind.output_weight(),
            Dest::OpReturn(n) => 4 * (9 + 2 + u64::from(*n)),
            Dest::Bare1of2(_) => 4 * (9 + 71),
        }
    }
}

/// One output to write.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Out {
    /// Value in satoshis.
    pub value: u64,
    /// Destination.
    pub dest: Dest,
}

/// The wallet-software fingerprint fields of a transaction.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct TxMeta {
    /// nVersion.
    pub version: i32,
    /// nLockTime.
    pub lock_time: u32,
    /// nSequence of every input.
    pub sequence: u32,
}

impl TxMeta {
    /// Version 2, no lock time, final sequence numbers.
    pub(crate) const V2_FINAL: TxMeta = TxMeta {
        version: 2,
        lock_time: 0,
        sequence: 0xffff_ffff,
    };
}

/// What writing a transaction produced.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Written {
    /// Txid (internal byte order).
    pub txid: [u8; 32],
    /// Wtxid (equals the txid without witness data).
    pub wtxid: [u8; 32],
    /// BIP141 weight.
    pub weight: u64,
    /// Whether the BIP144 serialization was used.
    pub segwit: bool,
}

/// Appends the serialization of a transaction to `buf` and hashes it.
pub(crate) fn write_tx(
    buf: &mut Vec<u8>,
    ins: &[Utxo],
    outs: &[Out],
    meta: &TxMeta,
    keys: &Keys,
    rng: &mut Rng,
) -> Written {
    let start = buf.len();
    let segwit = ins.iter().any(|u| u.kind.is_segwit());
    buf.extend_from_slice(&meta.version.to_le_bytes());
    if segwit {
        buf.extend_from_slice(&[0x00, 0x01]);
    }
    let body = buf.len();
    write_varint(buf, ins.len() as u64);
    for u in ins {
        buf.extend_from_slice(&u.txid);
        buf.extend_from_slice(&u32::from(u.vout).to_le_bytes());
        script::write_script_sig(buf, keys, u.kind, u.addr, rng);
        buf.extend_from_slice(&meta.sequence.to_le_bytes());
    }
    write_varint(buf, outs.len() as u64);
    for o in outs {
        buf.extend_from_slice(&o.value.to_le_bytes());
        match o.dest {
            Dest::Addr(a) => script::write_spk(buf, keys, a.kind, a.id, &a.prog),
            Dest::OpReturn(n) => {
                buf.extend_from_slice(&[n + 2, 0x6a, n]);
                let at = buf.len();
                buf.resize(at + usize::from(n), 0);
                rng.fill(&mut buf[at..]);
            }
            Dest::Bare1of2(k) => {
                buf.extend_from_slice(&[71, 0x51, 33]);
                buf.extend_from_slice(&keys.pubkey(k, 9));
                buf.push(33);
                buf.extend_from_slice(&keys.pubkey(k, 10));
                buf.extend_from_slice(&[0x52, 0xae]);
            }
        }
    }
    let body_end = buf.len();
    if segwit {
        for u in ins {
            script::write_witness(buf, keys, u.kind, u.addr, rng);
        }
    }
    let wit_end = buf.len();
    buf.extend_from_slice(&meta.lock_time.to_le_bytes());
    let end = buf.len();

    let wtxid = sha256d::Hash::hash(&buf[start..end]).to_byte_array();
    let (txid, weight) = if segwit {
        let mut e = sha256d::Hash::engine();
        e.input(&buf[start..start + 4]);
        e.input(&buf[body..body_end]);
        e.input(&buf[wit_end..end]);
        let base = (end - start) - (wit_end - body_end) - 2;
        (
            sha256d::Hash::from_engine(e).to_byte_array(),
            (3 * base + (end - start)) as u64,
        )
    } else {
        (wtxid, 4 * (end - start) as u64)
    };
    Written {
        txid,
        wtxid,
        weight,
        segwit,
    }
}

/// Estimated weight of a transaction with these inputs and outputs.
pub(crate) fn estimate_weight<'a>(
    ins: impl Iterator<Item = ScriptKind>,
    outs: impl Iterator<Item = &'a Dest>,
) -> u64 {
    let i: u64 = ins.map(ScriptKind::input_weight).sum();
    let o: u64 = outs.map(Dest::output_weight).sum();
    script::TX_OVERHEAD_WEIGHT + i + o
}

/// Fee for `weight` at `rate` sat/vB.
#[inline]
pub(crate) fn fee_for(weight: u64, rate: f64) -> u64 {
    (weight.div_ceil(4) as f64 * rate).ceil() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::program;
    use bitcoin::consensus::deserialize;
    use bitcoin::Transaction;

    fn addr(keys: &Keys, kind: ScriptKind, id: u32) -> AddrRef {
        AddrRef {
            id,
            kind,
            prog: program(keys, kind, id),
        }
    }

    #[test]
    fn rust_bitcoin_agrees_on_bytes_ids_and_weight() {
        let keys = Keys::new(5);
        let mut rng = Rng::new(5);
        let kinds = ScriptKind::ALL;
        for (n, legacy_only) in [(0u32, false), (1, true)] {
            let ins: Vec<Utxo> = kinds
                .iter()
                .filter(|k| !legacy_only || !k.is_segwit())
                .enumerate()
                .map(|(i, k)| Utxo {
                    txid: [i as u8 + 1; 32],
                    value: 1000,
                    addr: i as u32 + n,
                    vout: i as u16,
                    kind: *k,
                })
                .collect();
            let mut outs: Vec<Out> = kinds
                .iter()
                .map(|k| Out {
                    value: 500,
                    dest: Dest::Addr(addr(&keys, *k, 100)),
                })
                .collect();
            outs.push(Out {
                value: 0,
                dest: Dest::OpReturn(40),
            });
            outs.push(Out {
                value: 1000,
                dest: Dest::Bare1of2(3),
            });
            let meta = TxMeta {
                version: 2,
                lock_time: 17,
                sequence: 0xffff_fffd,
            };
            let mut buf = vec![9u8; 3];
            let w = write_tx(&mut buf, &ins, &outs, &meta, &keys, &mut rng);
            let tx: Transaction = deserialize(&buf[3..]).unwrap();
            assert_eq!(tx.compute_txid().to_byte_array(), w.txid);
            assert_eq!(tx.compute_wtxid().to_byte_array(), w.wtxid);
            assert_eq!(tx.weight().to_wu(), w.weight);
            assert_eq!(w.segwit, !legacy_only);
            assert_eq!(tx.output.len(), outs.len());
            assert!(tx.output[kinds.len()].script_pubkey.is_op_return());
            assert!(tx.output[kinds.len() + 1].script_pubkey.is_multisig());
            let est = estimate_weight(ins.iter().map(|u| u.kind), outs.iter().map(|o| &o.dest));
            assert!(
                est >= w.weight && est <= w.weight + 8 * ins.len() as u64 + 2,
                "{est} vs {}",
                w.weight
            );
        }
    }
}
