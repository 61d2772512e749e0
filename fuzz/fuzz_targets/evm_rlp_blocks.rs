//! Any bytes as an RLP block file: decoding returns blocks or an error
//! naming the offset, never panics; decoded blocks tile the input.
#![no_main]

use chainhound_evm::rlp::decode_blocks;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match decode_blocks(data, "fuzz.bin") {
        Ok(blocks) => {
            assert_eq!(blocks.iter().map(|b| b.len).sum::<usize>(), data.len());
            for b in &blocks {
                for t in &b.block.transfers {
                    assert!(t.tx.is_some_and(|i| (i as usize) < b.block.txs.len()));
                }
            }
        }
        Err(e) => assert!(e.to_string().contains("fuzz.bin: byte "), "{e}"),
    }
});
