//! TCP reassembly: a stream cut into segments sent shuffled and partly
//! twice comes out whole and in order.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    chainhound_scan::fuzzing::reassembly(data);
});
