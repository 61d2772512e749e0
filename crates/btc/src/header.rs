//! The 80-byte block header: field accessors, hash, target and work.

use bitcoin::hashes::{sha256d, Hash as _};
use chainhound_types::Hash32;

/// Hash of the previous block (internal byte order).
pub fn header_prev(header: &[u8; 80]) -> Hash32 {
    Hash32(header[4..36].try_into().expect("32 bytes inside 80"))
}

/// Merkle root of the block's transactions (internal byte order).
pub fn header_merkle_root(header: &[u8; 80]) -> Hash32 {
    Hash32(header[36..68].try_into().expect("32 bytes inside 80"))
}

/// Block timestamp (unix seconds).
pub fn header_time(header: &[u8; 80]) -> u32 {
    u32::from_le_bytes(header[68..72].try_into().expect("4 bytes inside 80"))
}

/// The compact target ("bits") field.
pub fn header_bits(header: &[u8; 80]) -> u32 {
    u32::from_le_bytes(header[72..76].try_into().expect("4 bytes inside 80"))
}

/// The block hash: double SHA-256 of the header (internal byte order).
pub fn header_hash(header: &[u8; 80]) -> Hash32 {
    Hash32(sha256d::Hash::hash(header).to_byte_array())
}

/// Decodes compact bits into a big-endian 256-bit target exactly as Bitcoin
/// Core's `SetCompact` does. `None` when the target is negative, overflows or
/// is zero (Core rejects such headers).
pub(crate) fn compact_to_target(bits: u32) -> Option<[u8; 32]> {
    let size = (bits >> 24) as usize;
    let mut word = bits & 0x007f_ffff;
    if word == 0 || bits & 0x0080_0000 != 0 {
        return None;
    }
    if size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32) {
        return None;
    }
    let mut t = [0u8; 32];
    if size <= 3 {
        word >>= 8 * (3 - size);
        t[28..].copy_from_slice(&word.to_be_bytes());
    } else {
        for k in 0..3 {
            let le = size - 3 + k;
            if le < 32 {
                t[31 - le] = (word >> (8 * k)) as u8;
            }
        }
    }
    (t != [0; 32]).then_some(t)
}

/// Whether `hash` (internal byte order) is at most the big-endian `target`.
pub(crate) fn hash_meets(hash: &Hash32, target: &[u8; 32]) -> bool {
    hash.0.iter().rev().cmp(target.iter()) != std::cmp::Ordering::Greater
}

/// Whether the header's hash meets the target encoded by its own bits (and
/// the bits are valid). Says nothing about whether the bits are right for the
/// block's height.
pub(crate) fn check_pow(header: &[u8; 80], hash: &Hash32) -> bool {
    compact_to_target(header_bits(header)).is_some_and(|t| hash_meets(hash, &t))
}

/// The expected number of hashes to mine a block with this header's bits:
/// `2^256 / (target + 1)`, as Bitcoin Core's `GetBlockProof`. Zero for
/// invalid bits. Saturates at `u128::MAX` (no real chain comes close: the
/// regtest minimum is 2, mainnet in 2025 about 2^79).
pub fn block_work(header: &[u8; 80]) -> u128 {
    let Some(t) = compact_to_target(header_bits(header)) else {
        return 0;
    };
    let work = bitcoin::Target::from_be_bytes(t).to_work().to_be_bytes();
    if work[..16].iter().any(|&b| b != 0) {
        return u128::MAX;
    }
    u128::from_be_bytes(work[16..].try_into().expect("16 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_with_bits(bits: u32) -> [u8; 80] {
        let mut h = [0u8; 80];
        h[72..76].copy_from_slice(&bits.to_le_bytes());
        h
    }

    #[test]
    fn compact_matches_rust_bitcoin_for_valid_bits() {
        for bits in [
            0x1d00ffff, 0x207fffff, 0x1e0377ae, 0x17034219, 0x03123456, 0x01120000, 0x04123456,
        ] {
            let ours = compact_to_target(bits).unwrap();
            let theirs =
                bitcoin::Target::from_compact(bitcoin::CompactTarget::from_consensus(bits));
            assert_eq!(ours, theirs.to_be_bytes(), "{bits:08x}");
        }
    }

    #[test]
    fn compact_rejects_like_core() {
        assert_eq!(compact_to_target(0), None);
        assert_eq!(compact_to_target(0x01003456), None); // shifts to zero
        assert_eq!(compact_to_target(0x04923456), None); // negative
        assert_eq!(compact_to_target(0xff123456), None); // overflow
        assert_eq!(compact_to_target(0x21010000), None); // overflow (size 33, word > 0xffff)
        assert!(compact_to_target(0x22000001).is_some()); // 2^248: fits
    }

    #[test]
    fn work_of_known_bits() {
        // Difficulty 1: 2^256 / (0xffff * 2^208 + 1) = 4295032833.
        assert_eq!(block_work(&header_with_bits(0x1d00ffff)), 4_295_032_833);
        // Regtest: target ~2^255, work 2.
        assert_eq!(block_work(&header_with_bits(0x207fffff)), 2);
        assert_eq!(block_work(&header_with_bits(0)), 0);
        // Tiny target: 2^256 / 2 saturates.
        assert_eq!(block_work(&header_with_bits(0x01010000)), u128::MAX);
        // A 2021 mainnet target: difficulty ~1.9e13, so ~2^76 hashes.
        let h = header_with_bits(0x170ed0eb);
        let w = block_work(&h);
        assert!(w > 1 << 76 && w < 1 << 77, "{w}");
        let header: bitcoin::block::Header = bitcoin::consensus::deserialize(&h).unwrap();
        assert_eq!(w.to_be_bytes(), header.work().to_be_bytes()[16..]);
    }

    #[test]
    fn field_accessors() {
        let genesis = bitcoin::consensus::serialize(&bitcoin::constants::genesis_block(
            bitcoin::Network::Bitcoin,
        ));
        let h: [u8; 80] = genesis[..80].try_into().unwrap();
        assert_eq!(header_prev(&h), Hash32::default());
        assert_eq!(header_time(&h), 1_231_006_505);
        assert_eq!(header_bits(&h), 0x1d00ffff);
        assert_eq!(
            header_hash(&h).to_display_hex(),
            "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
        );
        assert_eq!(
            header_merkle_root(&h).to_display_hex(),
            "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"
        );
        assert!(check_pow(&h, &header_hash(&h)));
    }
}
