//! Mining protocols on a line of JSON: Stratum v1 (`mining.subscribe`,
//! `mining.authorize`, `mining.notify`, …), the XMRig/CryptoNote pool
//! protocol (`login`, `job`, `submit`, `keepalived`), EthProxy
//! (`eth_submitLogin`) and getblocktemplate. Only lines that parse as JSON
//! objects are looked at; everything else is not mining.

use serde_json::Value;

/// A mining message seen on one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MiningMessage {
    /// The protocol family.
    pub protocol: Protocol,
    /// The method (`mining.subscribe`, `login`, …) or `result` for a reply.
    pub method: String,
    /// The login (worker name or wallet) the client presented, if any.
    pub login: Option<String>,
    /// The password field, if any (pools often use it for the worker name or
    /// an e-mail; kept as evidence).
    pub password: Option<String>,
    /// The miner's user agent (`XMRig/6.21.0 …`), if given.
    pub agent: Option<String>,
    /// The algorithm the client announced or the pool assigned, if any.
    pub algo: Option<String>,
}

/// Mining protocol families.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// Stratum v1 (Bitcoin and most SHA-256/Scrypt/Ethash pools).
    Stratum,
    /// The XMRig / CryptoNote JSON-RPC pool protocol (Monero).
    XmrigJsonRpc,
    /// EthProxy / Ethereum stratum (`eth_submitLogin`).
    EthProxy,
    /// Bitcoin getblocktemplate / getwork.
    GetBlockTemplate,
}

impl Protocol {
    /// Short name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Stratum => "stratum-v1",
            Protocol::XmrigJsonRpc => "xmrig-json-rpc",
            Protocol::EthProxy => "ethproxy",
            Protocol::GetBlockTemplate => "getblocktemplate",
        }
    }
}

impl MiningMessage {
    /// Whether only a miner (client) sends this message: subscribe,
    /// authorize, submit, login, work requests.
    pub fn from_client(&self) -> bool {
        matches!(
            self.method.as_str(),
            "mining.subscribe"
                | "mining.authorize"
                | "mining.submit"
                | "mining.configure"
                | "mining.suggest_difficulty"
                | "mining.extranonce.subscribe"
                | "login"
                | "submit"
                | "keepalived"
                | "eth_submitLogin"
                | "eth_getWork"
                | "eth_submitWork"
                | "eth_submitHashrate"
                | "getblocktemplate"
                | "getwork"
        )
    }
}

fn s(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn msg(protocol: Protocol, method: &str) -> MiningMessage {
    MiningMessage {
        protocol,
        method: method.to_string(),
        login: None,
        password: None,
        agent: None,
        algo: None,
    }
}

/// Parses one line (without the newline). `None` if it is not a mining
/// message.
pub fn parse_line(line: &[u8]) -> Option<MiningMessage> {
    let t = line.trim_ascii();
    if t.first() != Some(&b'{') || t.len() < 10 {
        return None;
    }
    let v: Value = serde_json::from_slice(t).ok()?;
    let obj = v.as_object()?;
    let params = obj.get("params");
    if let Some(method) = obj.get("method").and_then(Value::as_str) {
        let p = |i: usize| params.and_then(|p| p.get(i));
        let m = match method {
            "mining.subscribe" => MiningMessage {
                agent: s(p(0)),
                ..msg(Protocol::Stratum, method)
            },
            "mining.authorize" => MiningMessage {
                login: s(p(0)),
                password: s(p(1)),
                ..msg(Protocol::Stratum, method)
            },
            "mining.submit" => MiningMessage {
                login: s(p(0)),
                ..msg(Protocol::Stratum, method)
            },
            "mining.notify"
            | "mining.set_difficulty"
            | "mining.set_target"
            | "mining.set_extranonce"
            | "mining.extranonce.subscribe"
            | "mining.configure"
            | "mining.suggest_difficulty"
            | "mining.set_version_mask" => msg(Protocol::Stratum, method),
            "login" => {
                let pm = params?.as_object()?;
                pm.get("login")?;
                MiningMessage {
                    login: s(pm.get("login")),
                    password: s(pm.get("pass")),
                    agent: s(pm.get("agent")),
                    algo: pm
                        .get("algo")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .collect::<Vec<_>>()
                                .join(",")
                        })
                        .filter(|a| !a.is_empty()),
                    ..msg(Protocol::XmrigJsonRpc, method)
                }
            }
            "job" => {
                let pm = params?.as_object()?;
                pm.get("blob")?;
                MiningMessage {
                    algo: s(pm.get("algo")),
                    ..msg(Protocol::XmrigJsonRpc, method)
                }
            }
            "submit" => {
                let pm = params?.as_object()?;
                if pm.get("nonce").is_none() || pm.get("job_id").is_none() {
                    return None;
                }
                msg(Protocol::XmrigJsonRpc, method)
            }
            "keepalived" => msg(Protocol::XmrigJsonRpc, method),
            "eth_submitLogin" => MiningMessage {
                login: s(p(0)),
                password: s(p(1)),
                ..msg(Protocol::EthProxy, method)
            },
            "eth_getWork" | "eth_submitWork" | "eth_submitHashrate" => {
                msg(Protocol::EthProxy, method)
            }
            "getblocktemplate" | "getwork" => msg(Protocol::GetBlockTemplate, method),
            _ => return None,
        };
        return Some(m);
    }
    // Replies: a subscribe reply names mining.notify; a login reply carries
    // a job with a blob.
    let result = obj.get("result")?;
    if let Some(job) = result.get("job") {
        if job.get("blob").is_some() {
            return Some(MiningMessage {
                algo: s(job.get("algo")),
                ..msg(Protocol::XmrigJsonRpc, "login-result")
            });
        }
    }
    if let Some(arr) = result.as_array() {
        let names_notify = arr.first().is_some_and(|first| {
            first.as_array().is_some_and(|subs| {
                subs.iter().any(|sub| {
                    sub.get(0).and_then(Value::as_str) == Some("mining.notify")
                        || sub.as_str() == Some("mining.notify")
                })
            })
        });
        if names_notify {
            return Some(msg(Protocol::Stratum, "subscribe-result"));
        }
    }
    None
}

/// A login split into its parts: `WALLET.worker`, `WALLET+difficulty`,
/// `WALLET/worker`, `COIN:WALLET.worker#referral`, …
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginParts {
    /// The leading token that may be a wallet address.
    pub account: String,
    /// The coin named before a `:`, if any (`XMR:4…`).
    pub coin: Option<String>,
    /// The worker name, if any.
    pub worker: Option<String>,
    /// A fixed difficulty (`+50000`), if any.
    pub difficulty: Option<u64>,
}

/// Splits a pool login into account (wallet), worker and difficulty.
pub fn split_login(login: &str) -> LoginParts {
    let mut rest = login.trim();
    let mut coin = None;
    if let Some((c, r)) = rest.split_once(':') {
        if (2..=6).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_alphabetic()) {
            coin = Some(c.to_ascii_uppercase());
            rest = r;
        }
    }
    let end = rest
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    let account = rest[..end].to_string();
    let mut tail = &rest[end..];
    let mut worker = None;
    let mut difficulty = None;
    while let Some(sep) = tail.chars().next() {
        let body = &tail[sep.len_utf8()..];
        let stop = body.find(['.', '+', '/', '#']).unwrap_or(body.len());
        let item = &body[..stop];
        match sep {
            '+' => difficulty = item.parse().ok().or(difficulty),
            '.' | '/' if worker.is_none() && !item.is_empty() => worker = Some(item.to_string()),
            _ => {}
        }
        tail = &body[stop..];
    }
    LoginParts {
        account,
        coin,
        worker,
        difficulty,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stratum_v1() {
        let m =
            parse_line(br#"{"id": 1, "method": "mining.subscribe", "params": ["cgminer/4.10.0"]}"#)
                .unwrap();
        assert_eq!(
            (m.protocol, m.agent.as_deref()),
            (Protocol::Stratum, Some("cgminer/4.10.0"))
        );
        let m = parse_line(
            br#"{"params": ["slush.miner1", "password"], "id": 2, "method": "mining.authorize"}"#,
        )
        .unwrap();
        assert_eq!(m.login.as_deref(), Some("slush.miner1"));
        let m = parse_line(br#"{"id":1,"result":[[["mining.set_difficulty","b4b6693b72a50c7116db18d6497cac52"],["mining.notify","ae6812eb4cd7735a302a8a9dd95cf71f"]],"08000002",4],"error":null}"#).unwrap();
        assert_eq!(m.method, "subscribe-result");
        assert!(parse_line(br#"{"params": [], "id": 3, "method": "eth_blockNumber"}"#).is_none());
        assert!(parse_line(b"GET / HTTP/1.1").is_none());
        assert!(parse_line(b"{not json at all}").is_none());
    }

    #[test]
    fn xmrig() {
        let m = parse_line(br#"{"id":1,"jsonrpc":"2.0","method":"login","params":{"login":"4AQe5sAFWZKECiaeNTt59LG7kVtqRoSRJMjrmQ6GiMFAeUvoL3MFeTE6zwwHkFPrAyNw2JHDxUSWL82RiZThPpk4SEg7Vqe.rig1","pass":"x","agent":"XMRig/6.21.0 (Linux x86_64) libuv/1.44.2 gcc/12.2.0","algo":["rx/0","cn/r"]}}"#).unwrap();
        assert_eq!(m.protocol, Protocol::XmrigJsonRpc);
        assert_eq!(m.algo.as_deref(), Some("rx/0,cn/r"));
        let p = split_login(m.login.as_deref().unwrap());
        assert_eq!(p.account.len(), 95);
        assert_eq!(p.worker.as_deref(), Some("rig1"));
    }

    #[test]
    fn logins() {
        let p = split_login("4AbC9+50000");
        assert_eq!(
            (p.account.as_str(), p.difficulty, p.worker),
            ("4AbC9", Some(50000), None)
        );
        let p = split_login("XMR:4AbC9.w1#ref");
        assert_eq!(
            (p.coin.as_deref(), p.worker.as_deref()),
            (Some("XMR"), Some("w1"))
        );
        let p = split_login("0x00000000219ab540356cBB839Cbe05303d7705Fa/rig+1000");
        assert_eq!(p.account, "0x00000000219ab540356cBB839Cbe05303d7705Fa");
        assert_eq!(
            (p.worker.as_deref(), p.difficulty),
            (Some("rig"), Some(1000))
        );
        assert_eq!(split_login("").account, "");
        // Found by the scan_capture fuzz target: a multi-byte separator.
        let p = split_login("bc1\u{1d7}z6+5000");
        assert_eq!((p.account.as_str(), p.difficulty), ("bc1", Some(5000)));
    }
}
