//! Any bytes as a tag CSV: an error or tags, never a panic; the tags survive
//! a round trip through the stored file format.
#![no_main]

use chainhound_intel::fuzzing;
use chainhound_intel::import::csv::{parse_csv, CsvOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(set) = parse_csv(data, "fuzz.csv", &CsvOptions::new("fuzz")) {
        let bytes = fuzzing::encode(&set);
        assert!(fuzzing::source_file(&bytes) >= set.len());
    }
});
