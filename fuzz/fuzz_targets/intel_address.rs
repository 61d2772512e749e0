//! Any string as an address: normalization is idempotent and the inferred
//! chain does not depend on the spelling that normalizes to the same string.
#![no_main]

use chainhound_intel::{infer, normalize};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    for hint in [None, Some("BCH"), Some("USDT"), Some("XVG")] {
        let a = infer(s, hint);
        assert_eq!(normalize(&a.normalized), a.normalized.as_str(), "{s:?}");
        assert_eq!(infer(&a.normalized, hint), a, "{s:?}");
    }
});
