//! Any string as an address: parsing returns an error or a key that renders
//! back to an address that parses to the same key.
#![no_main]

use chainhound_btc::{parse_address, render, Network};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    for network in [Network::Main, Network::Testnet, Network::Signet, Network::Regtest] {
        if let Ok(key) = parse_address(s, network) {
            let shown = render(&key, network);
            assert_eq!(parse_address(&shown, network).ok(), Some(key), "{s:?} -> {shown:?}");
        }
    }
});
