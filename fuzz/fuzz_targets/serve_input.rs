//! Outside input of the screening service: request bodies (every endpoint's
//! JSON type), risk policies, audit logs (the chain verifier), tenant event
//! logs and API key headers. None may panic.
#![no_main]

use chainhound_serve::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fuzzing::request_json(data);
    fuzzing::policy(data);
    fuzzing::audit_log(data);
    fuzzing::events_and_keys(data);
});
