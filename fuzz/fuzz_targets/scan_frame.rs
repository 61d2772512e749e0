//! Any bytes as one captured frame of each link type: decoded (Ethernet,
//! VLAN, Linux cooked v1/v2, loopback, raw IPv4/IPv6, TCP, UDP, DNS) and
//! scanned twice (a retransmission).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    chainhound_scan::fuzzing::frame(data);
});
