//! Properties of the clustering core: the partition does not depend on the
//! order transactions are processed in, entity ids are the smallest member,
//! and the recorded edges are a spanning forest of valid evidence.

use proptest::prelude::*;

use crate::config::Config;
use crate::engine::Engine;

/// Transactions as lists of input addresses over `n` addresses.
fn txs() -> impl Strategy<Value = (u32, Vec<Vec<u32>>)> {
    (2u32..120).prop_flat_map(|n| {
        (
            Just(n),
            prop::collection::vec(prop::collection::vec(0..n, 1..6), 0..80),
        )
    })
}

fn cluster(n: u32, txs: &[(u32, Vec<u32>)]) -> Engine {
    let mut e = Engine::new(Config::default());
    e.grow(n);
    for (t, addrs) in txs {
        e.join_all(addrs, *t);
    }
    e
}

/// Components by a naive fixpoint: label = smallest reachable address.
fn naive(n: u32, txs: &[Vec<u32>]) -> Vec<u32> {
    let mut label: Vec<u32> = (0..n).collect();
    loop {
        let mut changed = false;
        for t in txs {
            let m = t.iter().map(|&a| label[a as usize]).min().unwrap_or(0);
            for &a in t {
                if label[a as usize] != m {
                    label[a as usize] = m;
                    changed = true;
                }
            }
        }
        // propagate through shared labels
        for a in 0..n as usize {
            let l = label[a] as usize;
            if label[l] < label[a] {
                label[a] = label[l];
                changed = true;
            } else if label[a] < label[l] {
                label[l] = label[a];
                changed = true;
            }
        }
        if !changed {
            return label;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn partition_is_independent_of_processing_order(
        (n, raw) in txs(),
        seed in any::<u64>(),
    ) {
        let numbered: Vec<(u32, Vec<u32>)> =
            raw.iter().cloned().enumerate().map(|(i, t)| (i as u32, t)).collect();
        // A second order: shuffled transactions, each with shuffled inputs.
        let mut other = numbered.clone();
        let mut s = seed | 1;
        let mut next = |k: usize| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % k as u64) as usize
        };
        for i in (1..other.len()).rev() {
            let j = next(i + 1);
            other.swap(i, j);
        }
        for (_, t) in &mut other {
            for i in (1..t.len()).rev() {
                let j = next(i + 1);
                t.swap(i, j);
            }
        }
        let mut a = cluster(n, &numbered);
        let mut b = cluster(n, &other);
        let ids_a: Vec<u32> = (0..n).map(|x| a.uf.entity(x)).collect();
        let ids_b: Vec<u32> = (0..n).map(|x| b.uf.entity(x)).collect();
        prop_assert_eq!(&ids_a, &ids_b);
        prop_assert_eq!(&ids_a, &naive(n, &raw));

        // Edges: a spanning forest, each backed by a transaction holding both.
        let components = ids_a.iter().enumerate().filter(|(i, e)| *i as u32 == **e).count();
        prop_assert_eq!(a.edges.len(), n as usize - components);
        for e in &a.edges {
            let t = &raw[e.tx as usize];
            prop_assert!(t.contains(&e.a) && t.contains(&e.b));
            prop_assert_eq!(ids_a[e.a as usize], ids_a[e.b as usize]);
        }
        // Sizes and member lists agree with the partition.
        for x in 0..n {
            let want = ids_a.iter().filter(|&&e| e == ids_a[x as usize]).count() as u32;
            prop_assert_eq!(a.uf.size_of(x), want);
            let mut m = 1;
            let mut c = a.uf.nodes[x as usize].next;
            while c != x {
                prop_assert_eq!(ids_a[c as usize], ids_a[x as usize]);
                c = a.uf.nodes[c as usize].next;
                m += 1;
            }
            prop_assert_eq!(m, want);
        }
    }
}
