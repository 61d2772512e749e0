//! The screening service end to end: the real binary serves a simulated
//! incident on 127.0.0.1 and a small HTTP client (and schemathesis, when
//! installed) talks to it.

#[path = "../util/mod.rs"]
mod util;

mod contract;
mod evm;
mod http;
mod screening;
mod security;
