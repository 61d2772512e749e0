//! Any bytes as a GraphSense TagPack or ActorPack: an error or tags, never a
//! panic.
#![no_main]

use chainhound_intel::import::tagpack::parse_tagpack_bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_tagpack_bytes(data, "fuzz.yaml");
});
