//! Any bytes as one ethereum-etl CSV file: an import or an error, never a
//! panic; blocks come out in increasing order, every transfer's
//! transaction is in its block, and failed transactions move nothing.
#![no_main]

use chainhound_evm::{etl, TxStatus};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let files = vec![("fuzz.csv".into(), data.to_vec(), data.to_vec())];
    let Ok(imp) = etl::from_files(files) else {
        return;
    };
    for w in imp.blocks.windows(2) {
        assert!(w[0].number < w[1].number);
    }
    for b in &imp.blocks {
        for t in &b.transfers {
            if let Some(i) = t.tx {
                let tx = &b.txs[i as usize];
                assert_ne!(tx.status, TxStatus::Failed);
            }
        }
    }
});
