//! Any string as an EVM address: an error, or an address whose EIP-55 and
//! lower-case spellings parse back to it.
#![no_main]

use chainhound_evm::address::{checksummed, lower, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(a) = parse(s) {
        assert_eq!(parse(&checksummed(&a)), Ok(a));
        assert_eq!(parse(&lower(&a)), Ok(a));
    }
});
