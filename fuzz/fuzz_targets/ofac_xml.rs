//! Any bytes as OFAC SDN advanced XML: an error or tags, never a panic.
#![no_main]

use chainhound_intel::import::ofac::parse_sdn_bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_sdn_bytes(data, "fuzz.xml");
});
