//! Any bytes as a node's JSON answers for one block (block, receipts,
//! traces): a block or nothing, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(b) = chainhound_evm::fuzzing::rpc_block_json(data) {
        for t in &b.transfers {
            assert!(t.tx.is_some_and(|i| (i as usize) < b.txs.len()));
        }
    }
});
