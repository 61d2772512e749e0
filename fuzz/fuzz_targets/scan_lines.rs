//! Any bytes as Stratum/XMRig JSON-RPC and HTTP lines, pool logins,
//! host names, a DNS message and a TLS ClientHello.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    chainhound_scan::fuzzing::lines(data);
});
