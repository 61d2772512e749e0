//! Any bytes as a Zeek log (TSV with headers, or JSON lines) and as an
//! indicator list (hosts, Adblock/NoCoin, Suricata rules).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    chainhound_scan::fuzzing::zeek_and_lists(data);
});
