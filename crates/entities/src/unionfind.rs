//! Union-find over dense address ids: union by size, path halving (a form
//! of path compression), the smallest member of every set (its entity id)
//! and a circular list of members (so an entity's addresses can be listed
//! in O(size)).
//!
//! Writes to rows below a *committed* mark are recorded in a dirty set, so
//! that a commit can journal their old on-disk values before overwriting
//! them (see `crate::disk`).

/// Rows changed since the last commit, among the committed ones.
#[derive(Default, Clone)]
pub(crate) struct Dirty {
    committed: u32,
    bits: Vec<u64>,
    list: Vec<u32>,
}

impl Dirty {
    /// Starts tracking rows below `committed`, forgetting earlier marks.
    pub(crate) fn reset(&mut self, committed: u32) {
        self.committed = committed;
        self.bits.clear();
        self.bits.resize((committed as usize).div_ceil(64), 0);
        self.list.clear();
    }

    #[inline]
    pub(crate) fn mark(&mut self, i: u32) {
        if i < self.committed {
            let (w, b) = ((i >> 6) as usize, 1u64 << (i & 63));
            if self.bits[w] & b == 0 {
                self.bits[w] |= b;
                self.list.push(i);
            }
        }
    }

    /// The committed rows changed, in the order first changed.
    pub(crate) fn rows(&self) -> &[u32] {
        &self.list
    }
}

/// A merge that happened: `child`'s set went under `root`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Merge {
    pub root: u32,
    pub child: u32,
    /// Sizes before the merge.
    pub root_size: u32,
    pub child_size: u32,
}

/// One address: its parent, and for roots the set's size, smallest member
/// and next member of the circular list (kept for every node). One
/// 16-byte record, so a union touches two cache lines.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[repr(C, align(16))]
pub(crate) struct Node {
    pub parent: u32,
    /// Valid at roots.
    pub size: u32,
    /// Smallest member; valid at roots.
    pub min: u32,
    /// Next member in the set's circular list.
    pub next: u32,
}

/// The sets, one node per address.
#[derive(Default, Clone)]
pub(crate) struct UnionFind {
    pub nodes: Vec<Node>,
    pub dirty: Dirty,
}

impl UnionFind {
    /// Number of addresses.
    #[inline]
    pub(crate) fn len(&self) -> u32 {
        self.nodes.len() as u32
    }

    /// Adds singletons until there are `n` addresses.
    pub(crate) fn grow(&mut self, n: u32) {
        let from = self.len();
        if n as usize > self.nodes.capacity() {
            self.nodes.reserve(n as usize - self.nodes.len());
            crate::hugepages::advise(&mut self.nodes);
        }
        if n > from {
            self.nodes.extend((from..n).map(|i| Node {
                parent: i,
                size: 1,
                min: i,
                next: i,
            }));
        }
    }

    /// The root of `x`'s set, halving the path on the way.
    #[inline]
    pub(crate) fn find(&mut self, mut x: u32) -> u32 {
        loop {
            let p = self.nodes[x as usize].parent;
            if p == x {
                return x;
            }
            let g = self.nodes[p as usize].parent;
            if g == p {
                return p;
            }
            self.nodes[x as usize].parent = g;
            self.dirty.mark(x);
            x = g;
        }
    }

    /// Joins the sets of roots `ra != rb`: the smaller goes under the larger
    /// (ties: under the lower id).
    #[inline]
    pub(crate) fn link_roots(&mut self, ra: u32, rb: u32) -> Merge {
        debug_assert!(ra != rb);
        let (na, nb) = (self.nodes[ra as usize], self.nodes[rb as usize]);
        let a_wins = na.size > nb.size || (na.size == nb.size && ra < rb);
        let (root, child, nr, nc) = if a_wins {
            (ra, rb, na, nb)
        } else {
            (rb, ra, nb, na)
        };
        // Splicing two circular lists is a swap of their successors.
        self.nodes[root as usize] = Node {
            parent: root,
            size: nr.size.saturating_add(nc.size),
            min: nr.min.min(nc.min),
            next: nc.next,
        };
        self.nodes[child as usize] = Node {
            parent: root,
            next: nr.next,
            ..nc
        };
        self.dirty.mark(root);
        self.dirty.mark(child);
        Merge {
            root,
            child,
            root_size: nr.size,
            child_size: nc.size,
        }
    }

    /// Joins the sets of `a` and `b`; `None` if already one set.
    pub(crate) fn union(&mut self, a: u32, b: u32) -> Option<Merge> {
        let (ra, rb) = (self.find(a), self.find(b));
        (ra != rb).then(|| self.link_roots(ra, rb))
    }

    /// Entity id (smallest member) of `x`'s set.
    pub(crate) fn entity(&mut self, x: u32) -> u32 {
        let r = self.find(x);
        self.nodes[r as usize].min
    }

    /// Size of `x`'s set.
    #[cfg(test)]
    pub(crate) fn size_of(&mut self, x: u32) -> u32 {
        let r = self.find(x);
        self.nodes[r as usize].size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(uf: &UnionFind, x: u32) -> Vec<u32> {
        let mut v = vec![x];
        let mut c = uf.nodes[x as usize].next;
        while c != x {
            v.push(c);
            c = uf.nodes[c as usize].next;
        }
        v.sort_unstable();
        v
    }

    #[test]
    fn unions_sizes_mins_and_member_lists() {
        let mut uf = UnionFind::default();
        uf.grow(10);
        assert!(uf.union(3, 4).is_some());
        assert!(uf.union(4, 3).is_none());
        let m = uf.union(7, 3).unwrap();
        assert_eq!((m.root_size, m.child_size), (2, 1));
        assert_eq!(uf.find(7), uf.find(4));
        assert_eq!(uf.entity(7), 3);
        uf.union(9, 8);
        uf.union(9, 2);
        uf.union(8, 7);
        assert_eq!(uf.size_of(2), 6);
        assert_eq!(uf.entity(4), 2);
        assert_eq!(members(&uf, 4), vec![2, 3, 4, 7, 8, 9]);
        assert_eq!(members(&uf, 0), vec![0]);
        uf.grow(12);
        assert_eq!(uf.entity(11), 11);
    }

    #[test]
    fn union_by_size_keeps_trees_shallow() {
        // A long chain of unions: without balancing, depth would be n.
        let mut uf = UnionFind::default();
        let n = 1 << 12;
        uf.grow(n);
        for i in 1..n {
            uf.union(i - 1, i);
        }
        let depth = |uf: &UnionFind, mut x: u32| {
            let mut d = 0;
            while uf.nodes[x as usize].parent != x {
                x = uf.nodes[x as usize].parent;
                d += 1;
            }
            d
        };
        assert!((0..n).all(|x| depth(&uf, x) <= 12));
        assert_eq!(uf.entity(n - 1), 0);
    }

    #[test]
    fn dirty_marks_only_committed_rows_once() {
        let mut uf = UnionFind::default();
        uf.grow(6);
        uf.dirty.reset(3);
        uf.union(0, 1);
        uf.union(1, 4);
        uf.union(0, 5);
        let mut rows = uf.dirty.rows().to_vec();
        rows.sort_unstable();
        assert_eq!(rows, vec![0, 1]);
    }
}
