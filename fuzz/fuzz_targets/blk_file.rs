//! Any bytes as a block file (blk format or raw block, with or without an
//! obfuscation key): scanning and decoding must return errors, never panic,
//! and every block that decodes must have the hash its header says.
#![no_main]

use chainhound_btc::{header_hash, BlockFile, Network, XorKey};
use chainhound_types::Block;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (xor, bytes) = match data.split_first() {
        Some((&flag, rest)) if flag & 1 == 1 && rest.len() >= 8 => {
            let key: [u8; 8] = rest[..8].try_into().unwrap();
            (XorKey::new(key), rest[8..].to_vec())
        }
        Some((_, rest)) => (None, rest.to_vec()),
        None => return,
    };
    for network in [Network::Main, Network::Regtest] {
        let file = BlockFile::from_bytes("fuzz.dat", 0, bytes.clone(), xor);
        let Ok(scan) = file.scan(network) else { continue };
        let mut block = Block::default();
        for loc in &scan.blocks {
            assert_eq!(header_hash(&loc.header), loc.hash);
            if file.read_block(loc, &mut block).is_ok() {
                assert_eq!(block.hash, loc.hash);
                assert_eq!(block.txs.len(), block.txs.iter().count());
                let n_in: u32 = block.txs.iter().map(|t| t.n_inputs).sum();
                assert_eq!(n_in as usize, block.inputs.len());
            }
        }
    }
});
