//! Re-derives a link of evidence from the store, independently of how the
//! clusters were stored: the check behind "every link's transaction really
//! shows what its heuristic claims".

use chainhound_store::{Columns, Store, UNRESOLVED};

use crate::change::{change_output, ChangeView};
use crate::clusters::Link;
use crate::coinjoin::{classify, OutFact, Scratch, TxClass, TxShape};
use crate::config::{Config, Heuristic};
use crate::engine::peel_link;

struct Facts {
    n_in: usize,
    first_in: u32,
    in_addrs: Vec<u32>,
    in_values: Vec<u64>,
    complete: bool,
    outs: Vec<OutFact>,
}

fn facts(c: &Columns<'_>, t: u32) -> Facts {
    let ins = c.tx_inputs(t);
    let mut f = Facts {
        n_in: (ins.end - ins.start) as usize,
        first_in: ins.start,
        in_addrs: Vec::new(),
        in_values: Vec::new(),
        complete: true,
        outs: Vec::new(),
    };
    for i in ins {
        let p = c.in_prevout[i as usize];
        if p >= UNRESOLVED {
            f.complete = false;
        } else {
            f.in_addrs.push(c.out_addr[p as usize]);
            f.in_values.push(c.value(p));
        }
    }
    for o in c.tx_outputs(t) {
        let a = c.out_addr[o as usize];
        f.outs.push(OutFact {
            value: c.value(o),
            kind: c.addr_kind[a as usize],
            addr: a,
        });
    }
    f
}

fn class_of(f: &Facts, c: &Columns<'_>, cfg: &Config) -> TxClass {
    let value = |k: usize| match c.in_prevout.get(f.first_in as usize + k) {
        Some(&p) if p < UNRESOLVED => c.value(p),
        _ => 0,
    };
    let shape = TxShape {
        n_inputs: f.n_in,
        in_addrs: &f.in_addrs,
        in_value: &value,
        outputs: &f.outs,
    };
    classify(&shape, &cfg.detect, &mut Scratch::default())
}

/// Checks `link` against the raw chain data in `store`: `Ok(())` if its
/// transaction shows what its heuristic claims, else why not.
pub fn verify_link(store: &Store, cfg: &Config, link: &Link) -> Result<(), String> {
    let c = store.columns();
    let t = link.tx.0;
    if t >= c.counts().txs {
        return Err(format!("transaction #{t} is not in the store"));
    }
    let f = facts(&c, t);
    let (x, y) = (link.from.0, link.to.0);
    let class = class_of(&f, &c, cfg);
    if !class.single_owner() {
        return Err(format!(
            "transaction #{t} is a CoinJoin ({}); its inputs have many owners",
            class.name()
        ));
    }
    match link.heuristic {
        Heuristic::MultiInput => {
            if f.in_addrs.contains(&x) && f.in_addrs.contains(&y) {
                Ok(())
            } else {
                Err(format!(
                    "addresses #{x} and #{y} are not both inputs of transaction #{t}"
                ))
            }
        }
        Heuristic::ChangePeel => {
            let found = c
                .tx_outputs(t)
                .filter_map(|o| store.spender(chainhound_types::OutputId(o)))
                .filter_map(|i| peel_link(store, &c, i.0))
                .any(|(a, b, tt)| tt == t && ((a, b) == (x, y) || (a, b) == (y, x)));
            if found {
                Ok(())
            } else {
                Err(format!(
                    "transaction #{t} is not a peel step between #{x} and #{y}"
                ))
            }
        }
        h => {
            let in_kinds: Vec<u8> = f
                .in_addrs
                .iter()
                .map(|&a| c.addr_kind[a as usize])
                .collect();
            let view = ChangeView {
                in_kinds: &in_kinds,
                in_values: &f.in_values,
                inputs_complete: f.complete,
                outputs: &f.outs,
                first_out: c.tx_first_out[t as usize],
                addr_first_out: c.addr_first_out,
            };
            let change = change_output(h, &view).map(|i| f.outs[i].addr);
            let ok = match change {
                Some(ch) => {
                    (f.in_addrs.contains(&x) && ch == y) || (f.in_addrs.contains(&y) && ch == x)
                }
                None => false,
            };
            if ok {
                Ok(())
            } else {
                Err(format!(
                    "{h} does not pick #{y} or #{x} as the change of transaction #{t}"
                ))
            }
        }
    }
}
