//! A real Ethereum node for tests and benchmarks: anvil (Foundry's node,
//! installed from the npm registry into `crates/evm/testnode` by `.ci/run`)
//! on 127.0.0.1. One launcher, included with `#[path]` by
//! `crates/evm/tests/anvil_node.rs`, `crates/evm/examples/bench_evm.rs` and
//! `crates/cli/tests/evm_node.rs`, so the library itself carries no test
//! code.

#![allow(dead_code)] // each includer uses a part

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chainhound_evm::rpc::{Client, RetryPolicy};
use chainhound_evm::EvmStore;
use serde_json::{json, Value};

/// `crates/evm/testnode` (every includer's crate is a sibling of
/// `crates/evm`).
pub fn testnode() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../evm/testnode")
}

/// The anvil binary: the native one on x86-64 Linux, else npm's wrapper;
/// `None` when neither is installed.
pub fn binary() -> Option<PathBuf> {
    let nm = testnode().join("node_modules");
    let native = nm.join("@foundry-rs/anvil-linux-amd64/bin/anvil");
    if cfg!(all(target_os = "linux", target_arch = "x86_64")) && native.is_file() {
        return Some(native);
    }
    let wrapper = nm.join(".bin/anvil");
    wrapper.is_file().then_some(wrapper)
}

/// A running anvil, killed on drop.
pub struct Anvil {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

impl Anvil {
    /// Starts anvil on a free port of 127.0.0.1 (gas price and base fee 0,
    /// any sender impersonated) with `extra` arguments, and waits up to 30 s
    /// until it answers. `None`, with a message, when anvil is not
    /// installed.
    pub fn start(extra: &[&str]) -> Option<Anvil> {
        let Some(bin) = binary() else {
            eprintln!(
                "skipping: anvil is not installed in {} (run `npm ci` there, as .ci/run does)",
                testnode().display()
            );
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(bin)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--silent",
                "--gas-price",
                "0",
                "--base-fee",
                "0",
                "--auto-impersonate",
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("anvil starts");
        let node = Anvil {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let c = node.client();
        let t0 = Instant::now();
        while c.call::<Value>("eth_chainId", json!([])).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "anvil did not answer within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(node)
    }

    /// A client of the node that does not retry.
    pub fn client(&self) -> Client {
        Client::new(
            &self.url,
            RetryPolicy {
                attempts: 1,
                ..Default::default()
            },
        )
        .unwrap()
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Everything the EVM store in `dir` holds, for comparing two stores.
pub fn dump(dir: &Path) -> String {
    let s = EvmStore::open(dir).unwrap();
    format!(
        "{:?}{:?}{:?}{:?}",
        s.blocks(),
        s.txs(),
        s.transfers(),
        s.assets()
    )
}
