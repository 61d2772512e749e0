//! Derived queries: fees, address balances and histories.

use chainhound_types::{AddrId, InputId, OutputId, Sats, TxNum};

use crate::reader::{Funding, Store};

/// Totals for one address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddrSummary {
    /// Sum of all outputs paid to it.
    pub received: Sats,
    /// Sum of those outputs that are spent.
    pub sent: Sats,
    /// Received minus sent.
    pub balance: Sats,
    /// Outputs paid to it.
    pub outputs: u64,
    /// Of which unspent.
    pub unspent: u64,
    /// Distinct transactions touching it (receiving or spending).
    pub txs: u64,
    /// First transaction touching it.
    pub first_tx: Option<TxNum>,
    /// Last transaction touching it.
    pub last_tx: Option<TxNum>,
}

/// One transaction in an address's history, with the net effect on it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct AddrTx {
    /// The transaction.
    pub tx: TxNum,
    /// Satoshis paid to the address in it.
    pub received: Sats,
    /// Satoshis of the address's coins it spent.
    pub spent: Sats,
}

impl Store {
    /// Fee of transaction `num`: inputs minus outputs. `None` for a coinbase or
    /// when an input's funding output is not in the store.
    pub fn tx_fee(&self, num: TxNum) -> Option<Sats> {
        let tx = self.tx(num);
        let mut inputs = Sats::ZERO;
        for i in tx.inputs.clone() {
            match self.input(InputId(i)).funding {
                Funding::Output(o) => inputs = inputs + self.output_value(o),
                Funding::Coinbase | Funding::Unresolved { .. } => return None,
            }
        }
        let outputs: Sats = tx.outputs.map(|o| self.output_value(OutputId(o))).sum();
        inputs.checked_sub(outputs)
    }

    /// Sum of the outputs of transaction `num`.
    pub fn tx_output_total(&self, num: TxNum) -> Sats {
        self.tx(num)
            .outputs
            .map(|o| self.output_value(OutputId(o)))
            .sum()
    }

    /// Every transaction touching `addr`, newest first, with its effect.
    pub fn addr_history(&self, addr: AddrId) -> Vec<AddrTx> {
        let mut rows: Vec<AddrTx> = Vec::new();
        for o in self.addr_outputs(addr) {
            let info = self.output(o);
            rows.push(AddrTx {
                tx: info.tx,
                received: info.value,
                spent: Sats::ZERO,
            });
            if let Some(i) = info.spent_by {
                let tx = self.input(i).tx;
                rows.push(AddrTx {
                    tx,
                    received: Sats::ZERO,
                    spent: info.value,
                });
            }
        }
        rows.sort_unstable_by_key(|r| std::cmp::Reverse(r.tx));
        let mut merged: Vec<AddrTx> = Vec::with_capacity(rows.len());
        for r in rows {
            match merged.last_mut() {
                Some(last) if last.tx == r.tx => {
                    last.received = last.received + r.received;
                    last.spent = last.spent + r.spent;
                }
                _ => merged.push(r),
            }
        }
        merged
    }

    /// Totals for `addr`.
    pub fn addr_summary(&self, addr: AddrId) -> AddrSummary {
        let mut s = AddrSummary::default();
        for o in self.addr_outputs(addr) {
            let info = self.output(o);
            s.received = s.received + info.value;
            s.outputs += 1;
            match info.spent_by {
                Some(_) => s.sent = s.sent + info.value,
                None => s.unspent += 1,
            }
        }
        s.balance = s.received.checked_sub(s.sent).unwrap_or(Sats::ZERO);
        let history = self.addr_history(addr);
        s.txs = history.len() as u64;
        s.last_tx = history.first().map(|r| r.tx);
        s.first_tx = history.last().map(|r| r.tx);
        s
    }
}

/// Committed bytes per row, by the columns that hold each kind of row.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RowBytes {
    /// Input columns (`in_*`, `unres_*`) per input.
    pub per_input: f64,
    /// Output columns (`out_*`, `ext_*`) per output, address index included.
    pub per_output: f64,
    /// The output record without the address index (`out_prev_same_addr`):
    /// value, address and spender, the fields of BlockSci's record.
    pub per_output_record: f64,
    /// Input and output columns over inputs plus outputs.
    pub per_input_or_output: f64,
    /// Every column and index, per transaction.
    pub total_per_tx: f64,
    /// Every column and index.
    pub total: u64,
}

impl Store {
    /// Bytes per input, output and transaction of this store.
    pub fn row_bytes(&self) -> RowBytes {
        let c = self.counts();
        let sizes = self.sizes();
        let sum = |prefixes: &[&str]| -> u64 {
            sizes
                .iter()
                .filter(|(n, _)| prefixes.iter().any(|p| n.starts_with(p)))
                .map(|(_, b)| b)
                .sum()
        };
        let per = |b: u64, n: u64| b as f64 / n.max(1) as f64;
        let (i, o) = (u64::from(c.inputs), u64::from(c.outputs));
        let inputs = sum(&["in_", "unres_"]);
        let outputs = sum(&["out_", "ext_"]);
        let index = sum(&["out_prev_same_addr"]);
        let total: u64 = sizes.iter().map(|s| s.1).sum();
        RowBytes {
            per_input: per(inputs, i),
            per_output: per(outputs, o),
            per_output_record: per(outputs - index, o),
            per_input_or_output: per(inputs + outputs, i + o),
            total_per_tx: per(total, u64::from(c.txs)),
            total,
        }
    }
}
