//! A real Stratum v1 pool and a real XMRig-protocol pool on 127.0.0.1, real
//! clients talking to them, the traffic captured (with tcpdump when it can
//! run, and always written as pcap and pcapng from the bytes really
//! exchanged), then found by `scan_capture`.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use chainhound_intel::Chain;
use chainhound_scan::indicators::Indicators;
use chainhound_scan::net::proto::{dns_query, dns_response};
use chainhound_scan::net::stratum::Protocol;
use chainhound_scan::net::write::{
    FrameBuilder, PcapWriter, PcapngWriter, TcpSession, FRAME_LINKTYPE,
};
use chainhound_scan::net::{scan_capture, NameSource, NetReport};

/// The wallet in ET Open sid 2025186 (a real crypto-jacking campaign).
const WALLET: &str = "4AQe5sAFWZKECiaeNTt59LG7kVtqRoSRJMjrmQ6GiMFAeUvoL3MFeTE6zwwHkFPrAyNw2JHDxUSWL82RiZThPpk4SEg7Vqe";

/// What the client sent (`true`) and received, in order.
type Transcript = Vec<(bool, Vec<u8>)>;

/// A pool on `listener`: one client, each JSON line it sends answered with
/// `reply` (one or more lines).
fn pool(listener: TcpListener, reply: impl Fn(&serde_json::Value) -> String) {
    let (s, _) = listener.accept().unwrap();
    let mut w = s.try_clone().unwrap();
    for line in BufReader::new(s).lines() {
        let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        w.write_all(reply(&v).as_bytes()).unwrap();
        w.write_all(b"\n").unwrap();
    }
}

/// A Stratum v1 pool: answers subscribe and authorize, then pushes work.
fn stratum_pool(listener: TcpListener) {
    pool(listener, |v| {
        let id = v["id"].clone();
        match v["method"].as_str().unwrap() {
            "mining.subscribe" => serde_json::json!({"id": id, "result": [[["mining.set_difficulty", "b4b6693b72a50c7116db18d6497cac52"], ["mining.notify", "ae6812eb4cd7735a302a8a9dd95cf71f"]], "08000002", 4], "error": null}).to_string(),
            "mining.authorize" => format!(
                "{}\n{}\n{}",
                serde_json::json!({"id": id, "result": true, "error": null}),
                serde_json::json!({"id": null, "method": "mining.set_difficulty", "params": [2]}),
                serde_json::json!({"id": null, "method": "mining.notify", "params": ["bf", "4d16b6f85af6e2198f44ae2a6de67f78487ae5611b77c6c0440b921e00000000", "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff20020862062f503253482f04b8864e5008", "072f736c7573682f000000000100f2052a010000001976a914d23fcdf86f7e756a64a7a9688ef9903327048ed988ac00000000", [], "00000002", "1c2ac4af", "504e86b9", false]}),
            ),
            "mining.submit" => serde_json::json!({"id": id, "result": true, "error": null}).to_string(),
            m => panic!("unexpected {m}"),
        }
    });
}

/// An XMRig-protocol (Monero) pool: answers login with a job.
fn xmrig_pool(listener: TcpListener) {
    pool(listener, |v| {
        let reply = match v["method"].as_str().unwrap() {
            "login" => {
                serde_json::json!({"id": v["id"], "jsonrpc": "2.0", "error": null, "result": {"id": "7c2d2fa4", "job": {"blob": "0e0ed286da8006ecee1cf8ee8e7a4d93d1d8f6e3c2b0e4d6b4f9e1d2c3b4a5968778695a4b3c2d1e0f00000000", "job_id": "q7PLUPL25UV0z5Ij14IyMk8htXbj", "target": "b88d0600", "algo": "rx/0", "height": 3215000, "seed_hash": "7b3c6f2a1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a"}, "status": "OK"}})
            }
            "submit" => {
                serde_json::json!({"id": v["id"], "jsonrpc": "2.0", "error": null, "result": {"status": "OK"}})
            }
            m => panic!("unexpected {m}"),
        };
        reply.to_string()
    });
}

/// Sends each request line and reads as many reply lines as given.
fn client(addr: SocketAddr, steps: &[(String, usize)]) -> (SocketAddr, Transcript) {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let local = s.local_addr().unwrap();
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    let mut t = Transcript::new();
    for (req, replies) in steps {
        let line = format!("{req}\n");
        w.write_all(line.as_bytes()).unwrap();
        t.push((true, line.into_bytes()));
        let mut got = Vec::new();
        for _ in 0..*replies {
            let mut l = String::new();
            r.read_line(&mut l).unwrap();
            assert!(l.ends_with('\n'), "pool closed early");
            got.extend_from_slice(l.as_bytes());
        }
        t.push((false, got));
    }
    (local, t)
}

fn stratum_steps() -> Vec<(String, usize)> {
    vec![
        (r#"{"id": 1, "method": "mining.subscribe", "params": ["cgminer/4.10.0"]}"#.into(), 1),
        (format!(r#"{{"params": ["{WALLET}.rig7", "x"], "id": 2, "method": "mining.authorize"}}"#), 3),
        (r#"{"params": ["rig7", "bf", "00000001", "504e86ed", "b2957c02"], "id": 4, "method": "mining.submit"}"#.into(), 1),
    ]
}

fn xmrig_steps() -> Vec<(String, usize)> {
    // The DPRK-linked wallet of signature-base crime_nkminer.yar.
    let nk = "4JUdGzvrMFDWrUUwY3toJATSeNwjn54LkCnKBPRzDuhzi5vSepHfUckJNxRL2gjkNrSqtCoRUrEDAgRwsQvVCjZbRy5YeFCqgoUMnzumvS";
    vec![
        (format!(r#"{{"id":1,"jsonrpc":"2.0","method":"login","params":{{"login":"{nk}+50000","pass":"kworker","agent":"XMRig/6.21.0 (Linux x86_64) libuv/1.44.2 gcc/12.2.0","algo":["rx/0","cn/r"]}}}}"#), 1),
        (r#"{"id":2,"jsonrpc":"2.0","method":"submit","params":{"id":"7c2d2fa4","job_id":"q7PLUPL25UV0z5Ij14IyMk8htXbj","nonce":"1a2b3c4d","result":"b2957c02a1e0f9d8c7b6a5948372615049382716a5b4c3d2e1f0a9b8c7d6e5f4"}}"#.into(), 1),
    ]
}

struct Live {
    stratum: (SocketAddr, SocketAddr, Transcript),
    xmrig: (SocketAddr, SocketAddr, Transcript),
}

fn run_pools(before_traffic: impl FnOnce(u16, u16)) -> Live {
    let l1 = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let l2 = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let (a1, a2) = (l1.local_addr().unwrap(), l2.local_addr().unwrap());
    before_traffic(a1.port(), a2.port());
    let p1 = std::thread::spawn(move || stratum_pool(l1));
    let p2 = std::thread::spawn(move || xmrig_pool(l2));
    let (c1, t1) = client(a1, &stratum_steps());
    let (c2, t2) = client(a2, &xmrig_steps());
    p1.join().unwrap();
    p2.join().unwrap();
    Live {
        stratum: (c1, a1, t1),
        xmrig: (c2, a2, t2),
    }
}

/// Frames of one session: the real bytes, cut at `mss`.
fn session(
    c: SocketAddr,
    s: SocketAddr,
    t: &Transcript,
    start_ns: i64,
    mss: usize,
) -> Vec<(i64, Vec<u8>)> {
    let mut sess = TcpSession::open(c, s, start_ns, mss);
    for (from_client, bytes) in t {
        sess.send(*from_client, bytes);
    }
    sess.close();
    sess.frames
}

const T0: i64 = 1_763_776_800_000_000_000; // 2025-11-22 02:00:00 UTC

fn frames(live: &Live, mss: usize) -> Vec<(i64, Vec<u8>)> {
    let mut fb = FrameBuilder::new();
    let resolver: SocketAddr = "127.0.0.53:53".parse().unwrap();
    let (c2, a2, t2) = &live.xmrig;
    let dns_client = SocketAddr::new(c2.ip(), 40053);
    let mut out = vec![
        (
            T0,
            fb.udp(
                dns_client,
                resolver,
                &dns_query(0x4242, "pool.supportxmr.com"),
            ),
        ),
        (
            T0 + 500_000,
            fb.udp(
                resolver,
                dns_client,
                &dns_response(0x4242, "pool.supportxmr.com", Ipv4Addr::LOCALHOST),
            ),
        ),
    ];
    let (c1, a1, t1) = &live.stratum;
    out.extend(session(*c1, *a1, t1, T0 + 1_000_000_000, mss));
    out.extend(session(*c2, *a2, t2, T0 + 5_000_000_000, mss));
    out
}

fn write_pcap(path: &Path, frames: &[(i64, Vec<u8>)]) {
    let mut w = PcapWriter::new(std::fs::File::create(path).unwrap(), FRAME_LINKTYPE).unwrap();
    for (ts, f) in frames {
        w.packet(*ts, f).unwrap();
    }
    w.finish().unwrap();
}

fn check(report: &NetReport, live: &Live, synthetic: bool) {
    assert!(
        report.malformed == 0 && report.warnings.is_empty(),
        "{:?}",
        report.warnings
    );
    let flow = |server: SocketAddr| {
        report
            .flows
            .iter()
            .find(|f| f.server == server)
            .unwrap_or_else(|| panic!("no flow to {server} in {:#?}", report.flows))
    };
    let (c1, a1, _) = &live.stratum;
    let f = flow(*a1);
    assert_eq!(f.client, *c1);
    assert!(f.protocols.contains(&Protocol::Stratum));
    for m in [
        "mining.subscribe",
        "mining.authorize",
        "mining.notify",
        "mining.submit",
        "subscribe-result",
    ] {
        assert!(f.methods.contains(m), "{m} missing: {:?}", f.methods);
    }
    assert!(f.pool_sent_work());
    assert!(f.agents.contains("cgminer/4.10.0"));
    let login = &f.logins[0];
    assert_eq!(login.login, format!("{WALLET}.rig7"));
    let w = login.wallet.as_ref().unwrap();
    assert_eq!((w.address.as_str(), w.chain), (WALLET, Chain::Xmr));
    assert_eq!(login.worker.as_deref(), Some("rig7"));
    assert!(f.closed);
    assert!(f.last_seen_ns > f.first_seen_ns);
    assert!(f.packets[0] > 3 && f.packets[1] > 3, "{:?}", f.packets);

    let (c2, a2, _) = &live.xmrig;
    let f = flow(*a2);
    assert_eq!(f.client, *c2);
    assert!(f.protocols.contains(&Protocol::XmrigJsonRpc));
    assert!(f.methods.contains("login") && f.methods.contains("login-result"));
    assert!(f.algos.contains("rx/0"));
    let login = &f.logins[0];
    assert_eq!(login.wallet.as_ref().unwrap().chain, Chain::Xmr);
    assert_eq!(login.password.as_deref(), Some("kworker"));
    assert!(
        !login.wallet.as_ref().unwrap().address.contains('+'),
        "the +difficulty suffix is not part of the wallet"
    );
    if synthetic {
        // The DNS answer in the capture names the pool.
        assert!(f.server_names.iter().any(|n| n.source == NameSource::Dns
            && n.name == "pool.supportxmr.com"
            && n.indicator.is_some()));
        assert_eq!(report.dns.len(), 1);
        assert_eq!(
            report.dns[0].answers,
            vec![std::net::IpAddr::V4(Ipv4Addr::LOCALHOST)]
        );
    }
}

#[test]
fn live_session_written_as_pcap_and_pcapng() {
    let live = run_pools(|_, _| {});
    let dir = tempfile::tempdir().unwrap();
    let ind = Indicators::builtin();
    // Small segments: every JSON line spans several packets.
    let fr = frames(&live, 37);
    let pcap = dir.path().join("live.pcap");
    write_pcap(&pcap, &fr);
    let r = scan_capture(&pcap, &ind, &mut |_| {}).unwrap();
    assert_eq!(r.format, "pcap");
    assert_eq!(r.packets, fr.len() as u64);
    check(&r, &live, true);

    let ng = dir.path().join("live.pcapng");
    let mut w = PcapngWriter::new(std::fs::File::create(&ng).unwrap(), FRAME_LINKTYPE).unwrap();
    for (ts, f) in &fr {
        w.packet(*ts, f).unwrap();
    }
    w.finish().unwrap();
    let r2 = scan_capture(&ng, &ind, &mut |_| {}).unwrap();
    assert_eq!(r2.format, "pcapng");
    check(&r2, &live, true);
    assert_eq!(r.flows, r2.flows, "pcap and pcapng give the same answer");
}

#[test]
fn out_of_order_and_retransmitted_segments() {
    let live = run_pools(|_, _| {});
    let mut fr = frames(&live, 29);
    // Swap neighbours pairwise from frame 6 on, and send every 5th frame twice.
    let mut i = 6;
    while i + 1 < fr.len() {
        fr.swap(i, i + 1);
        i += 3;
    }
    let dups: Vec<(i64, Vec<u8>)> = fr.iter().step_by(5).cloned().collect();
    fr.extend(dups);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("shuffled.pcap");
    write_pcap(&p, &fr);
    let r = scan_capture(&p, &Indicators::builtin(), &mut |_| {}).unwrap();
    check(&r, &live, true);
}

#[test]
fn truncated_and_damaged_captures_warn() {
    let live = run_pools(|_, _| {});
    let fr = frames(&live, 1400);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("full.pcap");
    write_pcap(&p, &fr);
    let bytes = std::fs::read(&p).unwrap();
    let ind = Indicators::builtin();
    // Cut in the middle of the last record: every packet before is read.
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    let r = scan_capture(&cut, &ind, &mut |_| {}).unwrap();
    assert_eq!(r.packets, fr.len() as u64 - 1);
    let w = &r.warnings[0];
    assert!(
        w.message.contains("truncated packet") && w.offset.is_some(),
        "{w}"
    );
    assert!(w.to_string().contains("cut.pcap"));
    // A record header claiming 3 GB.
    let mut bad = bytes.clone();
    bad[24 + 8..24 + 12].copy_from_slice(&0xc000_0000u32.to_le_bytes());
    let badp = dir.path().join("bad.pcap");
    std::fs::write(&badp, &bad).unwrap();
    let r = scan_capture(&badp, &ind, &mut |_| {}).unwrap();
    assert_eq!((r.packets, r.warnings[0].offset), (0, Some(24)));
    // A malformed packet among good ones: counted, named, scan goes on.
    let mut frs = fr.clone();
    frs.insert(
        3,
        (
            T0,
            vec![
                0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0, 0, 10,
            ],
        ),
    );
    let mp = dir.path().join("malformed.pcap");
    write_pcap(&mp, &frs);
    let r = scan_capture(&mp, &ind, &mut |_| {}).unwrap();
    assert_eq!(r.malformed, 1);
    assert!(
        r.warnings[0].message.contains("frame 4: malformed packet"),
        "{}",
        r.warnings[0]
    );
    assert_eq!(r.flows.len(), 2, "{:#?}", r.flows);
    // Not a capture at all.
    let txt = dir.path().join("notes.txt");
    std::fs::write(&txt, "hello").unwrap();
    let e = scan_capture(&txt, &ind, &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("not a pcap or pcapng"), "{e}");
}

#[test]
fn tcpdump_on_loopback() {
    let Ok(probe) = Command::new("tcpdump").arg("--version").output() else {
        eprintln!("SKIP: tcpdump is not installed (.ci/run installs it)");
        return;
    };
    assert!(probe.status.success());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lo.pcap");
    let mut child = None;
    let live = run_pools(|p1, p2| {
        let mut c = Command::new("tcpdump")
            .args([
                "-i",
                "lo",
                "--immediate-mode",
                "-U",
                "-n",
                "-s",
                "0",
                "-Z",
                "root",
                "-w",
            ])
            .arg(&out)
            .arg(format!("tcp port {p1} or tcp port {p2}"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Wait for "listening on lo" (or failure: no privileges).
        let mut err = BufReader::new(c.stderr.take().unwrap());
        let mut l = String::new();
        err.read_line(&mut l).unwrap();
        if l.contains("listening") {
            // The filter is attached a moment after the message.
            std::thread::sleep(Duration::from_millis(1000));
            std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
            child = Some(c);
        } else {
            eprintln!("SKIP: tcpdump cannot capture here: {}", l.trim());
            let _ = c.wait();
        }
    });
    let Some(mut c) = child else { return };
    // Packets wait in the kernel's ring until tcpdump reads them.
    std::thread::sleep(Duration::from_millis(1500));
    // SIGINT lets tcpdump flush and close the file.
    // SAFETY: signalling our own child process by its id.
    unsafe { libc::kill(c.id() as i32, libc::SIGINT) };
    c.wait().unwrap();
    let r = scan_capture(&out, &Indicators::builtin(), &mut |_| {}).unwrap();
    eprintln!("tcpdump captured {} packets", r.packets);
    check(&r, &live, false);
}

/// A real HTTP fetch of a browser-miner script (on ::1 when IPv6 loopback
/// works), and a real TLS ClientHello from `openssl s_client` (when
/// installed) naming a pool.
#[test]
fn browser_miner_fetch_and_tls_sni() {
    let listener = TcpListener::bind("[::1]:0")
        .or_else(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .unwrap();
    let web = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        let mut w = s.try_clone().unwrap();
        let mut r = BufReader::new(s);
        loop {
            let mut l = String::new();
            r.read_line(&mut l).unwrap();
            if l == "\r\n" || l.is_empty() {
                break;
            }
        }
        let body =
            "var miner = new CoinHive.Anonymous('SITE_KEY', {throttle: 0.3});\nminer.start();\n";
        let resp = format!("HTTP/1.1 200 OK\r\nContent-Type: application/javascript\r\nContent-Length: {}\r\n\r\n{body}", body.len());
        w.write_all(resp.as_bytes()).unwrap();
        resp.into_bytes()
    });
    let mut c = TcpStream::connect(web).unwrap();
    let local = c.local_addr().unwrap();
    let req = b"GET /lib/coinhive.min.js?v=2 HTTP/1.1\r\nHost: authedmine.com\r\nUser-Agent: Mozilla/5.0\r\n\r\n";
    c.write_all(req).unwrap();
    let resp = server.join().unwrap();
    let mut got = vec![0u8; resp.len()];
    std::io::Read::read_exact(&mut c, &mut got).unwrap();
    assert_eq!(got, resp);

    let mut frames = session(
        local,
        web,
        &vec![(true, req.to_vec()), (false, resp)],
        T0,
        60,
    );

    // TLS: whatever openssl's ClientHello looks like, its SNI is found.
    let tls = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let tls_addr = tls.local_addr().unwrap();
    let collector = std::thread::spawn(move || {
        let (mut s, peer) = tls.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = vec![0u8; 4096];
        let n = std::io::Read::read(&mut s, &mut buf).unwrap_or(0);
        buf.truncate(n);
        (peer, buf)
    });
    let openssl = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &tls_addr.to_string(),
            "-servername",
            "pool.supportxmr.com",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let with_tls = match openssl {
        Ok(mut child) => {
            let (peer, hello) = collector.join().unwrap();
            let _ = child.kill();
            let _ = child.wait();
            assert!(hello.first() == Some(&0x16), "a TLS handshake record");
            frames.extend(session(
                peer,
                tls_addr,
                &vec![(true, hello)],
                T0 + 9_000_000_000,
                200,
            ));
            true
        }
        Err(e) => {
            eprintln!("SKIP (TLS part): openssl is not runnable: {e}");
            // Unblock the collector.
            drop(TcpStream::connect(tls_addr));
            let _ = collector.join();
            false
        }
    };

    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("web.pcap");
    write_pcap(&p, &frames);
    let mut ind = Indicators::builtin();
    let shared =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/cryptojacking-indicators");
    if !shared.exists() {
        eprintln!("SKIP: {} is absent (NoCoin lists)", shared.display());
        return;
    }
    ind.load_dir(&shared).unwrap();
    let r = scan_capture(&p, &ind, &mut |_| {}).unwrap();
    let f = r
        .flows
        .iter()
        .find(|f| f.server == web)
        .expect("the web flow");
    assert_eq!(f.client, local);
    assert_eq!(f.http.len(), 1);
    let h = &f.http[0];
    assert_eq!(
        (h.method.as_str(), h.host.as_deref()),
        ("GET", Some("authedmine.com"))
    );
    assert_eq!(
        h.indicator.entry, "/coinhive.min.js",
        "the script path matches first"
    );
    assert!(ind.lists()[h.indicator.list].name.ends_with("nocoin.txt"));
    assert!(f
        .server_names
        .iter()
        .any(|n| n.name == "authedmine.com" && n.indicator.is_some()));
    if with_tls {
        let t = r
            .flows
            .iter()
            .find(|f| f.server == tls_addr)
            .expect("the TLS flow");
        let sni = t
            .server_names
            .iter()
            .find(|n| n.source == NameSource::Sni)
            .unwrap();
        assert_eq!(sni.name, "pool.supportxmr.com");
        assert!(sni
            .indicator
            .as_ref()
            .unwrap()
            .entry
            .ends_with("supportxmr.com"));
        assert!(t.protocols.is_empty(), "ciphertext is not parsed as lines");
    }
}

/// A capture that starts mid-connection, with the pool speaking first: the
/// miner is still told from the pool, and the login is still read.
#[test]
fn capture_started_mid_connection() {
    let live = run_pools(|_, _| {});
    let (c, a, t) = &live.stratum;
    // Whichever port is higher (both are ephemeral here), and with the
    // client's port forced above and below the pool's.
    for client in [
        *c,
        SocketAddr::new(c.ip(), 1),
        SocketAddr::new(c.ip(), 65535),
    ] {
        mid_connection(client, *a, t);
    }
}

fn mid_connection(c: SocketAddr, a: SocketAddr, t: &Transcript) {
    let (c, a) = (&c, &a);
    let mut fr = session(*c, *a, t, T0, 1400);
    // Drop the handshake and the client's first request.
    fr.drain(..4);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mid.pcap");
    write_pcap(&p, &fr);
    let r = scan_capture(&p, &Indicators::builtin(), &mut |_| {}).unwrap();
    let f = &r.flows[0];
    assert_eq!((f.client, f.server), (*c, *a));
    assert_eq!(f.logins[0].login, format!("{WALLET}.rig7"));
    assert!(f.methods.contains("mining.notify"));
}
