//! Best-chain selection over scanned headers and the stored chain.
//!
//! Blocks arrive in file order, which is not height order, and may include
//! stale branches and orphans. Each block's cumulative work is computed along
//! prev-hash links, ending at the network's genesis (prev = zero), at a block
//! already in the store, or at a root whose parent is unknown (an orphan, or
//! the anchor of a store that starts above genesis). The best chain ends at
//! the block with the most cumulative work; ties go to the block seen first,
//! as Bitcoin Core does.

use std::collections::HashMap;

use chainhound_types::Hash32;

/// One scanned header, reduced to what chain selection needs.
#[derive(Copy, Clone, Debug)]
pub struct Node {
    /// Block hash.
    pub hash: Hash32,
    /// Previous block hash.
    pub prev: Hash32,
    /// Work of this block alone.
    pub work: u128,
}

/// The stored chain as chain selection sees it.
pub struct Stored {
    /// hash → (height, cumulative work) of every stored block.
    pub by_hash: HashMap<Hash32, (u32, u128)>,
    /// Height and cumulative work of the stored tip.
    pub tip: Option<(u32, u128)>,
}

/// What to do: roll back to `fork_height` (if below the stored tip) and
/// append `append` (indices into the node list) in order.
#[derive(Debug, PartialEq, Eq)]
pub struct Plan {
    /// Height of the first block to append.
    pub fork_height: u32,
    /// Nodes to append, parents first.
    pub append: Vec<usize>,
    /// Blocks whose ancestry does not reach genesis or the store.
    pub orphans: usize,
    /// Blocks that are valid branches but not on the best chain.
    pub stale: usize,
    /// Cumulative work of the new tip.
    pub tip_work: u128,
}

#[derive(Copy, Clone)]
enum State {
    Unknown,
    Orphan,
    Known { height: u32, cum: u128 },
}

/// Chooses the best chain. `anchor` is the height to give a root with an
/// unknown parent when the store is empty and gaps are allowed; `None` makes
/// such roots orphans. `genesis` is the network's genesis hash: a block with a
/// zero prev hash but another hash is an orphan.
pub fn plan(nodes: &[Node], stored: &Stored, genesis: Hash32, anchor: Option<u32>) -> Plan {
    let index: HashMap<Hash32, usize> =
        nodes.iter().enumerate().map(|(i, n)| (n.hash, i)).collect();
    let mut state = vec![State::Unknown; nodes.len()];
    let mut stack = Vec::new();
    let mut on_stack = vec![false; nodes.len()];
    for start in 0..nodes.len() {
        let mut cur = start;
        // Walk up until something is known.
        let base = loop {
            if !matches!(state[cur], State::Unknown) {
                break state[cur];
            }
            if let Some(&(h, cum)) = stored.by_hash.get(&nodes[cur].hash) {
                state[cur] = State::Known { height: h, cum };
                break state[cur];
            }
            stack.push(cur);
            on_stack[cur] = true;
            let n = &nodes[cur];
            if n.prev == Hash32::default() {
                break if n.hash == genesis {
                    State::Known {
                        height: u32::MAX,
                        cum: 0,
                    }
                } else {
                    State::Orphan
                };
            }
            if let Some(&(h, cum)) = stored.by_hash.get(&n.prev) {
                break State::Known { height: h, cum };
            }
            match index.get(&n.prev) {
                Some(&p) if !on_stack[p] => cur = p,
                _ => {
                    break match anchor {
                        Some(a) => State::Known {
                            height: a.wrapping_sub(1),
                            cum: 0,
                        },
                        None => State::Orphan,
                    }
                }
            }
        };
        let mut s = base;
        while let Some(i) = stack.pop() {
            on_stack[i] = false;
            s = match s {
                State::Known { height, cum } => State::Known {
                    height: height.wrapping_add(1),
                    cum: cum.saturating_add(nodes[i].work),
                },
                other => other,
            };
            state[i] = s;
        }
    }
    let stored_tip_work = stored.tip.map(|t| t.1).unwrap_or(0);
    let mut best: Option<(usize, u128)> = None;
    for (i, s) in state.iter().enumerate() {
        if let State::Known { cum, .. } = *s {
            if best.is_none_or(|(_, b)| cum > b) {
                best = Some((i, cum));
            }
        }
    }
    let orphans = state.iter().filter(|s| matches!(s, State::Orphan)).count();
    let known = state
        .iter()
        .filter(|s| matches!(s, State::Known { .. }))
        .count();
    let next_height = stored.tip.map(|t| t.0 + 1).unwrap_or(0);
    let (tip, tip_work) = match best {
        Some((i, w)) if w > stored_tip_work || stored.tip.is_none() => (i, w),
        _ => {
            let on_chain = nodes
                .iter()
                .filter(|n| stored.by_hash.contains_key(&n.hash))
                .count();
            return Plan {
                fork_height: next_height,
                append: Vec::new(),
                orphans,
                stale: known - on_chain,
                tip_work: stored_tip_work,
            };
        }
    };
    let mut append = Vec::new();
    let mut cur = Some(tip);
    while let Some(i) = cur {
        if stored.by_hash.contains_key(&nodes[i].hash) {
            break;
        }
        append.push(i);
        cur = index.get(&nodes[i].prev).copied();
    }
    append.reverse();
    let fork_height = match state[append[0]] {
        State::Known { height, .. } => height,
        _ => unreachable!("the best tip's ancestors are all known"),
    };
    let on_chain_stored = nodes
        .iter()
        .filter(|n| {
            stored
                .by_hash
                .get(&n.hash)
                .is_some_and(|&(h, _)| h < fork_height)
        })
        .count();
    Plan {
        fork_height,
        stale: known - append.len() - on_chain_stored,
        append,
        orphans,
        tip_work,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hh(n: u8) -> Hash32 {
        Hash32([n; 32])
    }
    fn node(n: u8, prev: u8, work: u128) -> Node {
        Node {
            hash: hh(n),
            prev: if prev == 0 {
                Hash32::default()
            } else {
                hh(prev)
            },
            work,
        }
    }
    fn empty() -> Stored {
        Stored {
            by_hash: HashMap::new(),
            tip: None,
        }
    }

    #[test]
    fn out_of_order_with_a_stale_branch_and_an_orphan() {
        // genesis 1 <- 2 <- 3 <- 4 ; stale 5 on 2 ; orphan 9 on unknown 8
        let nodes = [
            node(3, 2, 1),
            node(5, 2, 1),
            node(1, 0, 1),
            node(4, 3, 1),
            node(9, 8, 1),
            node(2, 1, 1),
        ];
        let p = plan(&nodes, &empty(), hh(1), None);
        let hashes: Vec<u8> = p.append.iter().map(|&i| nodes[i].hash.0[0]).collect();
        assert_eq!(hashes, vec![1, 2, 3, 4]);
        assert_eq!(
            (p.fork_height, p.orphans, p.stale, p.tip_work),
            (0, 1, 1, 4)
        );
    }

    #[test]
    fn more_work_beats_more_blocks() {
        let nodes = [node(1, 0, 1), node(2, 1, 1), node(3, 2, 1), node(4, 1, 5)];
        let p = plan(&nodes, &empty(), hh(1), None);
        let hashes: Vec<u8> = p.append.iter().map(|&i| nodes[i].hash.0[0]).collect();
        assert_eq!(hashes, vec![1, 4]);
        assert_eq!(p.stale, 2);
    }

    #[test]
    fn reorg_against_the_store_and_nothing_new() {
        let mut by_hash = HashMap::new();
        by_hash.insert(hh(1), (0, 1));
        by_hash.insert(hh(2), (1, 2));
        by_hash.insert(hh(3), (2, 3));
        let stored = Stored {
            by_hash,
            tip: Some((2, 3)),
        };
        // a longer branch from 2 replaces 3
        let nodes = [
            node(1, 0, 1),
            node(2, 1, 1),
            node(3, 2, 1),
            node(6, 2, 1),
            node(7, 6, 1),
        ];
        let p = plan(&nodes, &stored, hh(1), None);
        let hashes: Vec<u8> = p.append.iter().map(|&i| nodes[i].hash.0[0]).collect();
        assert_eq!((hashes, p.fork_height), (vec![6, 7], 2));
        // same data again with 6,7 stored: nothing to do
        let p = plan(&nodes[..3], &stored, hh(1), None);
        assert!(p.append.is_empty());
        assert_eq!(p.fork_height, 3);
    }

    #[test]
    fn anchored_start_and_wrong_genesis() {
        let nodes = [node(21, 20, 1), node(22, 21, 1)];
        let p = plan(&nodes, &empty(), hh(1), Some(170));
        assert_eq!((p.fork_height, p.append.len()), (170, 2));
        let p = plan(&nodes, &empty(), hh(1), None);
        assert_eq!((p.append.len(), p.orphans), (0, 2));
        let p = plan(&[node(5, 0, 1)], &empty(), hh(1), None);
        assert_eq!((p.append.len(), p.orphans), (0, 1));
    }
}
