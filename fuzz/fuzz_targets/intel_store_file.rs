//! Any bytes as a stored tag source file (a damaged disk): rejected or read,
//! never a panic — with the bytes as given (the checksum rejects nearly all)
//! and with a recomputed checksum (so mutations reach the structure checks).
#![no_main]

use chainhound_intel::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fuzzing::source_file(data);
    let _ = fuzzing::source_file_with_valid_crc(data);
});
