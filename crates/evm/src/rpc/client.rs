//! A blocking JSON-RPC client over HTTP(S) with batching and retries.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::error::{EvmError, Result};

/// Retry and timeout settings.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts per request (the first included).
    pub attempts: u32,
    /// Delay before the first retry; doubled each time.
    pub initial_backoff: Duration,
    /// Longest delay between attempts.
    pub max_backoff: Duration,
    /// Timeout of one HTTP request.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            attempts: 8,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(20),
            timeout: Duration::from_secs(60),
        }
    }
}

/// One JSON-RPC call's error as the node gave it.
#[derive(Clone, Debug, PartialEq)]
pub struct RpcError {
    /// JSON-RPC error code.
    pub code: i64,
    /// Message.
    pub message: String,
}

impl RpcError {
    /// The node does not offer the method.
    pub fn is_unsupported(&self) -> bool {
        let m = self.message.to_ascii_lowercase();
        self.code == -32601
            || m.contains("method not found")
            || m.contains("not supported")
            || m.contains("does not exist")
            || m.contains("unsupported")
            || m.contains("not available")
            || m.contains("not implemented")
    }

    /// The node has pruned the state or history asked for.
    pub fn is_pruned(&self) -> bool {
        let m = self.message.to_ascii_lowercase();
        m.contains("pruned")
            || m.contains("missing trie node")
            || m.contains("historical state")
            || m.contains("state not available")
            || m.contains("state is not available")
    }

    /// A transient condition worth retrying (rate limits, overload).
    pub fn is_transient(&self) -> bool {
        let m = self.message.to_ascii_lowercase();
        self.code == 429
            || self.code == -32005
            || m.contains("rate limit")
            || m.contains("too many requests")
            || m.contains("timeout")
            || m.contains("busy")
            || m.contains("try again")
    }
}

/// A JSON-RPC endpoint.
pub struct Client {
    url: String,
    shown: String,
    agent: ureq::Agent,
    retry: RetryPolicy,
    next_id: std::sync::atomic::AtomicU64,
}

/// The endpoint without credentials (user info and query string).
pub fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let rest = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let rest = rest.split('?').next().unwrap_or(rest);
    // Many providers put the API key in the path's last segment.
    let mut parts: Vec<&str> = rest.split('/').collect();
    if parts.len() > 1 && parts.last().is_some_and(|p| p.len() >= 16) {
        parts.pop();
        parts.push("…");
    }
    let rest = parts.join("/");
    if scheme.is_empty() {
        rest
    } else {
        format!("{scheme}://{rest}")
    }
}

impl Client {
    /// A client for `url` (`http://` or `https://`).
    pub fn new(url: &str, retry: RetryPolicy) -> Result<Client> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(EvmError::Node {
                url: redact(url),
                what: "the endpoint must be an http:// or https:// URL".into(),
            });
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(retry.timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(Client {
            url: url.to_string(),
            shown: redact(url),
            agent,
            retry,
            next_id: 1.into(),
        })
    }

    /// The endpoint as shown in messages (credentials removed).
    pub fn shown_url(&self) -> &str {
        &self.shown
    }

    pub(crate) fn node_error(&self, what: impl Into<String>) -> EvmError {
        EvmError::Node {
            url: self.shown.clone(),
            what: what.into(),
        }
    }

    /// Sends `body` with retries on transport errors, HTTP 429 and 5xx.
    fn post(&self, body: &[u8], what: &str) -> Result<Value> {
        let mut delay = self.retry.initial_backoff;
        let mut last = String::new();
        for attempt in 1..=self.retry.attempts {
            let mut wait = delay;
            match self
                .agent
                .post(&self.url)
                .header("content-type", "application/json")
                .send(body)
            {
                Ok(mut resp) => {
                    let status = resp.status().as_u16();
                    let retry_after = resp
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok());
                    let bytes = resp.body_mut().with_config().limit(1 << 30).read_to_vec();
                    match (status, bytes) {
                        (200..=299, Ok(b)) => {
                            return serde_json::from_slice(&b).map_err(|e| {
                                self.node_error(format!("{what}: the answer is not json: {e}"))
                            })
                        }
                        (429, _) => {
                            last = "HTTP 429 (rate limited)".into();
                            if let Some(s) = retry_after {
                                wait = Duration::from_secs(s).min(self.retry.max_backoff);
                            }
                        }
                        (500..=599, b) => {
                            last = format!("HTTP {status}");
                            // Some nodes answer JSON-RPC errors with 5xx.
                            if let Ok(Ok(v)) = b.as_deref().map(serde_json::from_slice::<Value>) {
                                if v.get("error").is_some() || v.is_array() {
                                    return Ok(v);
                                }
                            }
                        }
                        (_, Err(e)) => last = format!("reading the answer: {e}"),
                        (s, Ok(b)) => {
                            let text = String::from_utf8_lossy(&b[..b.len().min(300)]).to_string();
                            return Err(self.node_error(format!("{what}: HTTP {s}: {text}")));
                        }
                    }
                }
                Err(e) => last = e.to_string(),
            }
            if attempt < self.retry.attempts {
                tracing::warn!(url = %self.shown, attempt, error = %last, "retrying {what} in {wait:?}");
                std::thread::sleep(wait);
                delay = (delay * 2).min(self.retry.max_backoff);
            }
        }
        Err(self.node_error(format!(
            "{what}: gave up after {} attempts: {last}",
            self.retry.attempts
        )))
    }

    fn id(&self) -> u64 {
        self.next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// One call; a JSON-RPC error comes back as `Ok(Err(..))`.
    pub fn call_raw(
        &self,
        method: &str,
        params: Value,
    ) -> Result<std::result::Result<Value, RpcError>> {
        let mut out = self.batch_raw(&[(method, params)])?;
        Ok(out.pop().expect("one answer per call"))
    }

    /// One call, decoded; any JSON-RPC error is an error naming the method.
    pub fn call<T: DeserializeOwned>(&self, method: &str, params: Value) -> Result<T> {
        let v = self
            .call_raw(method, params)?
            .map_err(|e| self.node_error(format!("{method}: error {}: {}", e.code, e.message)))?;
        serde_json::from_value(v)
            .map_err(|e| self.node_error(format!("{method}: unexpected answer: {e}")))
    }

    /// Several calls in one request; answers in call order. Transient
    /// JSON-RPC errors (rate limits) retry the whole batch.
    pub fn batch_raw(
        &self,
        calls: &[(&str, Value)],
    ) -> Result<Vec<std::result::Result<Value, RpcError>>> {
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        let what = if calls.len() == 1 {
            calls[0].0.to_string()
        } else {
            format!("a batch of {} calls ({}…)", calls.len(), calls[0].0)
        };
        let mut delay = self.retry.initial_backoff;
        for attempt in 1..=self.retry.attempts {
            let base = self.id();
            for _ in 1..calls.len() {
                self.id();
            }
            let body: Vec<Value> = calls
                .iter()
                .enumerate()
                .map(|(i, (m, p))| json!({"jsonrpc": "2.0", "id": base + i as u64, "method": m, "params": p}))
                .collect();
            let body = if calls.len() == 1 {
                serde_json::to_vec(&body[0])
            } else {
                serde_json::to_vec(&body)
            }
            .expect("json values serialize");
            let answer = self.post(&body, &what)?;
            let items = match answer {
                Value::Array(a) => a,
                v @ Value::Object(_) => vec![v],
                other => return Err(self.node_error(format!("{what}: unexpected answer {other}"))),
            };
            let mut out: Vec<Option<std::result::Result<Value, RpcError>>> =
                vec![None; calls.len()];
            let mut transient = None;
            for it in items {
                let id = it.get("id").and_then(Value::as_u64);
                let res = match it.get("error") {
                    Some(e) if !e.is_null() => Err(RpcError {
                        code: e.get("code").and_then(Value::as_i64).unwrap_or(0),
                        message: e
                            .get("message")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                    }),
                    _ => Ok(it.get("result").cloned().unwrap_or(Value::Null)),
                };
                if let Err(e) = &res {
                    if e.is_transient() {
                        transient = Some(e.clone());
                    }
                }
                match id
                    .and_then(|id| id.checked_sub(base))
                    .filter(|&i| (i as usize) < calls.len())
                {
                    Some(i) => out[i as usize] = Some(res),
                    // An error without an id: the whole request failed.
                    None if calls.len() == 1 || res.is_err() => {
                        if let Err(e) = res {
                            if e.is_transient() {
                                transient = Some(e.clone());
                            } else {
                                return Err(self.node_error(format!(
                                    "{what}: error {}: {}",
                                    e.code, e.message
                                )));
                            }
                        }
                    }
                    None => {}
                }
            }
            if let Some(e) = transient {
                if attempt < self.retry.attempts {
                    tracing::warn!(url = %self.shown, attempt, error = %e.message, "node busy; retrying {what} in {delay:?}");
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(self.retry.max_backoff);
                    continue;
                }
                return Err(self.node_error(format!(
                    "{what}: still rate limited after {} attempts: {}",
                    self.retry.attempts, e.message
                )));
            }
            return out
                .into_iter()
                .enumerate()
                .map(|(i, r)| {
                    r.ok_or_else(|| {
                        self.node_error(format!("{what}: no answer to call {i} ({})", calls[i].0))
                    })
                })
                .collect();
        }
        unreachable!("the loop returns on its last attempt")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_credentials() {
        assert_eq!(
            redact("https://user:pw@node.example/rpc?key=1"),
            "https://node.example/rpc"
        );
        assert_eq!(
            redact("https://mainnet.example/v3/0123456789abcdef0123"),
            "https://mainnet.example/v3/…"
        );
        assert_eq!(redact("http://127.0.0.1:8545"), "http://127.0.0.1:8545");
        assert!(Client::new("ftp://x", RetryPolicy::default()).is_err());
    }

    /// A local HTTP server that answers each connection with the next canned
    /// reply (`{id}` is replaced by the request's JSON-RPC id).
    fn serve(
        replies: Vec<(u16, &'static str, &'static str)>,
    ) -> (String, std::thread::JoinHandle<usize>) {
        use std::io::{BufRead, BufReader, Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let h = std::thread::spawn(move || {
            let mut served = 0;
            for (status, headers, body) in replies {
                let (mut s, _) = l.accept().unwrap();
                let mut r = BufReader::new(s.try_clone().unwrap());
                let mut len = 0;
                loop {
                    let mut line = String::new();
                    r.read_line(&mut line).unwrap();
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut req = vec![0; len];
                r.read_exact(&mut req).unwrap();
                let v: Value = serde_json::from_slice(&req).unwrap();
                let id = v.get("id").map_or("0".to_string(), |i| i.to_string());
                let body = body.replace("{id}", &id);
                write!(s, "HTTP/1.1 {status} X\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}", body.len()).unwrap();
                served += 1;
            }
            served
        });
        (url, h)
    }

    #[test]
    fn rate_limits_and_server_errors_are_retried() {
        let (url, h) = serve(vec![
            (429, "retry-after: 0\r\n", "slow down"),
            (503, "", "unavailable"),
            (
                200,
                "",
                r#"{"jsonrpc":"2.0","id":{id},"error":{"code":-32005,"message":"rate limit exceeded"}}"#,
            ),
            (200, "", r#"{"jsonrpc":"2.0","id":{id},"result":"0x7a69"}"#),
        ]);
        let c = Client::new(
            &url,
            RetryPolicy {
                attempts: 5,
                initial_backoff: Duration::from_millis(1),
                ..Default::default()
            },
        )
        .unwrap();
        let v: alloy_primitives::U64 = c.call("eth_chainId", json!([])).unwrap();
        assert_eq!(v.to::<u64>(), 31337);
        assert_eq!(h.join().unwrap(), 4);
    }

    #[test]
    fn pruned_history_and_exhausted_retries_are_clear_errors() {
        let (url, h) = serve(vec![(
            200,
            "",
            r#"{"jsonrpc":"2.0","id":{id},"error":{"code":-32000,"message":"missing trie node 0x12 (path ) state is pruned"}}"#,
        )]);
        let c = Client::new(
            &url,
            RetryPolicy {
                attempts: 1,
                ..Default::default()
            },
        )
        .unwrap();
        let r = c
            .call_raw("trace_block", json!(["0x1"]))
            .unwrap()
            .unwrap_err();
        assert!(r.is_pruned());
        h.join().unwrap();
        let (url, h) = serve(vec![(502, "", "bad gateway"), (502, "", "bad gateway")]);
        let c = Client::new(
            &url,
            RetryPolicy {
                attempts: 2,
                initial_backoff: Duration::from_millis(1),
                ..Default::default()
            },
        )
        .unwrap();
        let e = c
            .call::<Value>("eth_blockNumber", json!([]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("gave up after 2 attempts: HTTP 502"), "{e}");
        h.join().unwrap();
    }

    #[test]
    fn error_classes() {
        let e = |code, m: &str| RpcError {
            code,
            message: m.into(),
        };
        assert!(e(
            -32601,
            "the method debug_traceBlockByNumber does not exist/is not available"
        )
        .is_unsupported());
        assert!(e(-32000, "missing trie node 0xab (path )").is_pruned());
        assert!(e(429, "Too Many Requests").is_transient());
        assert!(!e(-32000, "execution reverted").is_transient());
    }
}
