//! The per-request part of EVM transfer screening: indirect exposure from
//! the precomputed taint, and the bounded walks that find its evidence
//! paths (backwards for deposits, forwards for withdrawals).

use std::collections::{HashSet, VecDeque};

use chainhound_evm::model::{LabelSource, Role};
use chainhound_evm::{AccountId, TransferId, TxId, U256};

use super::{canonical, ppm, EvmIndirect, EvmTransfer, EvmView, Loaded, RoleTaint};
use super::{MAX_FORWARD_HOPS, MAX_HOPS, MAX_VISITED};
use crate::policy::Exposure;
use crate::screen::{EvidenceView, HopView, IndirectStatus};

impl EvmView {
    fn hop(&self, l: &Loaded, t: TransferId, amount: U256) -> HopView {
        let s = &l.store;
        let tr = s.transfer(t);
        let (txid, index) = if tr.tx == chainhound_evm::store::NONE64 {
            (String::new(), 0)
        } else {
            let tx = TxId(tr.tx);
            let pos = s.tx_transfers(tx).position(|x| x == t).unwrap_or(0) as u32;
            (format!("{:#x}", s.tx(tx).hash), pos)
        };
        HopView {
            txid,
            index,
            address: canonical(&s.address(AccountId(tr.to))),
            entity: tr.to,
            amount_sat: 0,
            amount: Some(amount.to_string()),
            time: u32::try_from(s.blocks()[tr.block as usize].timestamp).unwrap_or(u32::MAX),
        }
    }

    fn source_of(&self, l: &Loaded, a: AccountId, role: Role) -> String {
        l.labels
            .of(a)
            .iter()
            .find(|x| x.role == Some(role))
            .map(|x| match &x.source {
                LabelSource::Tag(s) => format!("{s}: {}", x.text),
                LabelSource::Deposit(_) => format!("deposit-detection: {}", x.text),
            })
            .unwrap_or_else(|| role.as_str().to_string())
    }

    /// Indirect exposure of a screened transfer. Deposits: the haircut
    /// taint the screened transfers carry from accounts of each role
    /// (precomputed), with one evidence path walked back from the most
    /// tainted screened transfer along the most tainted earlier incoming
    /// transfer. Withdrawals: accounts of each role the beneficiary's later
    /// outgoing transfers reach within [`MAX_FORWARD_HOPS`] (breadth first,
    /// services not crossed), with the path's bottleneck value.
    pub fn indirect(&self, r: &EvmTransfer, deposit: bool) -> EvmIndirect {
        let mut out = EvmIndirect {
            items: Vec::new(),
            evidence: Vec::new(),
            status: IndirectStatus {
                status: "computed".into(),
                hops: 0,
                txs_visited: 0,
            },
        };
        let Some(l) = &self.loaded else {
            out.status.status = "unavailable".into();
            return out;
        };
        let (_, total) = self.summary(r);
        let mut cut = false;
        if deposit {
            for rt in &l.taint {
                cut |= self.backward(l, rt, r, total, &mut out);
            }
        } else {
            cut = self.forward(l, r, total, &mut out);
        }
        if cut {
            out.status.status = "cut".into();
        }
        out
    }

    /// Deposit side; returns whether a bound was hit.
    fn backward(
        &self,
        l: &Loaded,
        rt: &RoleTaint,
        r: &EvmTransfer,
        total: U256,
        out: &mut EvmIndirect,
    ) -> bool {
        let s = &l.store;
        let has_role = |a: u32| l.labels.roles(AccountId(a)).any(|x| x == rt.role);
        let mut sum = U256::ZERO;
        let mut best: Option<(TransferId, U256)> = None;
        for &t in &r.transfers {
            let tr = s.transfer(t);
            if has_role(tr.from) {
                continue; // the counterparty itself: direct exposure
            }
            if let Some(&x) = rt.tainted.get(&t.0) {
                sum = sum.saturating_add(x);
                if best.is_none_or(|b| x > b.1) {
                    best = Some((t, x));
                }
            }
        }
        let Some((start, start_taint)) = best else {
            return false;
        };
        // Walk back: the sender's most tainted earlier incoming transfer.
        let mut path = vec![(start, start_taint)];
        let mut cut = false;
        let mut cur = start;
        loop {
            let from = s.transfer(cur).from;
            if has_role(from) {
                break;
            }
            if path.len() as u32 > MAX_HOPS || out.status.txs_visited >= MAX_VISITED {
                cut = true;
                break;
            }
            let mut next: Option<(TransferId, U256)> = None;
            for t in s.incoming(AccountId(from)) {
                if t.0 >= cur.0 {
                    break; // chain order: only what arrived before
                }
                out.status.txs_visited += 1;
                if let Some(&x) = rt.tainted.get(&t.0) {
                    if next.is_none_or(|n| x >= n.1) {
                        next = Some((t, x));
                    }
                }
            }
            match next {
                Some(n) => {
                    path.push(n);
                    cur = n.0;
                }
                None => {
                    cut = true; // taint from a swap: the path ends at the DEX
                    break;
                }
            }
        }
        path.reverse();
        let hops = (path.len() as u32).saturating_sub(1).max(1);
        out.status.hops = out.status.hops.max(hops);
        let origin = AccountId(s.transfer(path[0].0).from);
        let (address, source) = if cut {
            (
                String::new(),
                format!(
                    "chainhound-evm haircut trace from {} accounts (path cut)",
                    rt.role.as_str()
                ),
            )
        } else {
            (
                canonical(&s.address(origin)),
                self.source_of(l, origin, rt.role),
            )
        };
        out.items.push(Exposure {
            category: rt.category.to_string(),
            share_ppm: ppm(sum, total),
            hops,
            value_sat: None,
            amount: Some(sum.to_string()),
            address,
            source,
        });
        out.evidence.push(EvidenceView {
            category: rt.category.to_string(),
            flow: "incoming".into(),
            counterparty: origin.0,
            amount_sat: 0,
            amount: Some(sum.to_string()),
            hops: path.iter().map(|&(t, x)| self.hop(l, t, x)).collect(),
        });
        cut
    }

    /// Withdrawal side; returns whether a bound was hit.
    fn forward(&self, l: &Loaded, r: &EvmTransfer, total: U256, out: &mut EvmIndirect) -> bool {
        let s = &l.store;
        // account → (arrival transfer, parent account index in `nodes`, depth, bottleneck)
        struct Node {
            account: u32,
            via: Option<TransferId>,
            parent: usize,
            depth: u32,
            value: U256,
        }
        let mut nodes: Vec<Node> = Vec::new();
        let mut seen: HashSet<u32> = HashSet::new();
        let mut queue = VecDeque::new();
        for &t in &r.transfers {
            let tr = s.transfer(t);
            if seen.insert(tr.to) {
                nodes.push(Node {
                    account: tr.to,
                    via: Some(t),
                    parent: usize::MAX,
                    depth: 0,
                    value: tr.amount,
                });
                queue.push_back(nodes.len() - 1);
            }
        }
        let mut found: Vec<Option<usize>> = vec![None; l.taint.len()];
        let mut cut = false;
        while let Some(i) = queue.pop_front() {
            let (acc, depth, arrived, value) = {
                let n = &nodes[i];
                (n.account, n.depth, n.via.map_or(0, |t| t.0), n.value)
            };
            if depth > 0 {
                for (k, rt) in l.taint.iter().enumerate() {
                    if found[k].is_none() && l.labels.roles(AccountId(acc)).any(|x| x == rt.role) {
                        found[k] = Some(i);
                    }
                }
            }
            if depth > 0 && l.labels.service(AccountId(acc)).is_some() {
                continue; // services hold many people's funds: not followed
            }
            out.status.hops = out.status.hops.max(depth);
            if depth >= MAX_FORWARD_HOPS {
                if s.outgoing(AccountId(acc)).len() > 0 {
                    cut = true;
                }
                continue;
            }
            for t in s.outgoing(AccountId(acc)) {
                if t.0 <= arrived {
                    continue;
                }
                if out.status.txs_visited >= MAX_VISITED {
                    cut = true;
                    break;
                }
                out.status.txs_visited += 1;
                let tr = s.transfer(t);
                if tr.asset != r.asset.0 || tr.amount.is_zero() || !seen.insert(tr.to) {
                    continue;
                }
                nodes.push(Node {
                    account: tr.to,
                    via: Some(t),
                    parent: i,
                    depth: depth + 1,
                    value: value.min(tr.amount),
                });
                queue.push_back(nodes.len() - 1);
            }
        }
        for (k, f) in found.into_iter().enumerate() {
            let Some(mut i) = f else { continue };
            let rt = &l.taint[k];
            let n = &nodes[i];
            let (acc, depth, value) = (AccountId(n.account), n.depth, n.value.min(total));
            let mut hops = Vec::new();
            loop {
                let n = &nodes[i];
                if let Some(t) = n.via {
                    hops.push(self.hop(l, t, s.transfer(t).amount));
                }
                if n.parent == usize::MAX {
                    break;
                }
                i = n.parent;
            }
            hops.reverse();
            out.status.hops = out.status.hops.max(depth);
            out.items.push(Exposure {
                category: rt.category.to_string(),
                share_ppm: ppm(value, total),
                hops: depth,
                value_sat: None,
                amount: Some(value.to_string()),
                address: canonical(&s.address(acc)),
                source: self.source_of(l, acc, rt.role),
            });
            out.evidence.push(EvidenceView {
                category: rt.category.to_string(),
                flow: "outgoing".into(),
                counterparty: acc.0,
                amount_sat: 0,
                amount: Some(value.to_string()),
                hops,
            });
        }
        cut
    }
}
