//! Any bytes as a pcap or pcapng capture: read, decoded, reassembled and
//! scanned without panicking or unbounded allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    chainhound_scan::fuzzing::capture(data);
});
