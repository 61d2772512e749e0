//! A small HTTP/1.1 client, the server fixture and helpers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util;

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {} {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// Asserts an RFC 9457 problem document with `status`.
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(
            self.status,
            status,
            "expected {status}, got {}: {}",
            self.status,
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "problem content type"
        );
        let p = self.json();
        assert_eq!(p["status"], status);
        assert!(p["type"].as_str().unwrap().contains("/problems/"));
        assert!(!p["detail"].as_str().unwrap().is_empty());
        p
    }
}

fn dechunk(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(nl) = b[i..].windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(std::str::from_utf8(&b[i..i + nl]).unwrap().trim(), 16).unwrap();
        i += nl + 2;
        if size == 0 {
            break;
        }
        out.extend_from_slice(&b[i..i + size]);
        i += size + 2;
    }
    out
}

/// One HTTP/1.1 request on a fresh connection.
pub fn raw(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req += &format!("{k}: {v}\r\n");
    }
    req += "\r\n";
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(": ")
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    let mut body = buf[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Resp {
        status,
        headers,
        body,
    }
}

pub struct Server {
    pub child: Child,
    pub addr: String,
    pub data: PathBuf,
    _tmp: tempfile::TempDir,
}

/// Starts `chainhound serve` on a free port; returns it and its address.
fn spawn(data: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chainhound"))
        .arg("--data")
        .arg(data)
        .args([
            "--quiet",
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--max-body",
            "300000",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .rsplit("http://")
        .next()
        .expect("listening line")
        .to_string();
    assert!(addr.starts_with("127.0.0.1:"), "{line}");
    (child, addr)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// A simulated incident (3,000 transactions), its attribution imported.
    pub fn prepare() -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        util::ok(&data, &["demo", "--txs", "3000", "--seed", "7"]);
        let attribution = data.join("sim/demo-7-3000/attribution.csv");
        util::ok(
            &data,
            &[
                "import",
                "csv",
                "--source",
                "sim-attribution",
                attribution.to_str().unwrap(),
            ],
        );
        (tmp, data)
    }

    pub fn start(tmp: tempfile::TempDir, data: PathBuf) -> Server {
        let (child, addr) = spawn(&data);
        Server {
            child,
            addr,
            data,
            _tmp: tmp,
        }
    }

    /// Stops the server and starts a new one over the same data.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        (self.child, self.addr) = spawn(&self.data);
    }

    pub fn key(&self, tenant: &str, role: &str, rate: u32) -> String {
        key(&self.data, tenant, role, rate)
    }

    pub fn call(&self, key: &str, method: &str, path: &str, body: Option<Value>) -> Resp {
        let auth = format!("Bearer {key}");
        let b = body.map(|v| v.to_string()).unwrap_or_default();
        let mut h = vec![("Authorization", auth.as_str())];
        if !b.is_empty() {
            h.push(("Content-Type", "application/json"));
        }
        raw(&self.addr, method, path, &h, b.as_bytes())
    }

    pub fn ok(&self, key: &str, method: &str, path: &str, body: Option<Value>) -> Value {
        let r = self.call(key, method, path, body);
        assert!(
            (200..300).contains(&r.status),
            "{method} {path}: {} {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
        r.json()
    }
}

pub fn key(data: &Path, tenant: &str, role: &str, rate: u32) -> String {
    let out = util::ok(
        data,
        &[
            "--json",
            "keys",
            "create",
            "--tenant",
            tenant,
            "--role",
            role,
            "--rate",
            &rate.to_string(),
        ],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    v["key"].as_str().unwrap().to_string()
}

pub fn truth(data: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(data.join("sim/demo-7-3000/truth.json")).unwrap())
        .unwrap()
}

/// The addresses the theft paid (the thief's first addresses).
pub fn thief_addresses(data: &Path) -> Vec<String> {
    let t = truth(data);
    let txid = t["incident"]["theft_txids"][0]
        .as_str()
        .unwrap()
        .to_string();
    let hot: Vec<String> = t["incident"]["hot_wallet_addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let out = util::ok(data, &["--json", "tx", &txid]);
    let v: Value = serde_json::from_str(&out).unwrap();
    v["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["address"].as_str().map(str::to_string))
        .filter(|a| !hot.contains(a))
        .collect()
}

pub fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(20) {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}
