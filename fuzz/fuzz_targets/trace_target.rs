//! Any string as a trace/exposure target: `parse_target` returns an error or
//! a spec that, written back in canonical form, reads as the same spec.
#![no_main]

use chainhound_trace::{parse_target, TargetSpec};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let Ok(spec) = parse_target(s) else { return };
    let canonical = match spec {
        TargetSpec::Entity(id) => format!("e{id}"),
        TargetSpec::Tx(t) => t.to_display_hex(),
        TargetSpec::Output(t, v) => format!("{}:{v}", t.to_display_hex()),
        TargetSpec::Address(a) => {
            assert!(!a.is_empty() && a == a.trim(), "{s:?} -> {a:?}");
            return;
        }
    };
    assert_eq!(parse_target(&canonical).ok(), Some(spec), "{s:?} -> {canonical:?}");
});
