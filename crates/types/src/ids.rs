//! Dense integer ids. Each table of the store numbers its rows 0, 1, 2, … in
//! chain order; the newtypes keep a transaction number from being used as an
//! output number.

use std::fmt;

macro_rules! dense_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub u32);

        impl $name {
            /// The id as an index into its table.
            #[inline]
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

dense_id!(
    /// Height of a block on the stored best chain (genesis is 0).
    BlockHeight
);
dense_id!(
    /// Dense number of a transaction in chain order.
    TxNum
);
dense_id!(
    /// Dense number of a transaction input in chain order.
    InputId
);
dense_id!(
    /// Dense number of a transaction output in chain order.
    OutputId
);
dense_id!(
    /// Dense number of an address identity, in order of first appearance.
    AddrId
);
