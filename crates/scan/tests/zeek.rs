//! Zeek logs in Zeek's own TSV layout (header as Zeek 6 writes it) and as
//! JSON lines: DNS and TLS names of pools, and their connections.

use std::path::Path;

use chainhound_scan::indicators::{IndicatorKind, Indicators};
use chainhound_scan::zeek::{scan_logs, LogKind};

const HEADER: &str =
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n";

fn tsv(path: &str, fields: &[&str], rows: &[&str]) -> String {
    let mut s = String::from(HEADER);
    s.push_str(&format!(
        "#path\t{path}\n#open\t2025-11-22-02-00-00\n#fields\t{}\n",
        fields.join("\t")
    ));
    for r in rows {
        s.push_str(&r.replace(' ', "\t"));
        s.push('\n');
    }
    s.push_str("#close\t2025-11-22-03-00-00\n");
    s
}

fn write_logs(dir: &Path) {
    let dns = tsv(
        "dns",
        &["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "trans_id", "query", "qtype_name", "rcode_name", "answers", "TTLs"],
        &[
            "1763776800.100000 CdnsA1 10.1.2.3 50001 10.1.0.53 53 udp 4242 xmr.2miners.com A NOERROR 203.0.113.5 60.000000",
            "1763776800.200000 CdnsA2 10.1.2.3 50002 10.1.0.53 53 udp 4243 www.example.org A NOERROR 198.51.100.7 60.000000",
            "1763776800.300000 CdnsA3 10.1.2.4 50003 10.1.0.53 53 udp 4244 authedmine.com A NXDOMAIN - -",
        ],
    );
    let ssl = tsv(
        "ssl",
        &[
            "ts",
            "uid",
            "id.orig_h",
            "id.orig_p",
            "id.resp_h",
            "id.resp_p",
            "version",
            "server_name",
            "established",
        ],
        &[
            "1763776801.000000 CsslB1 10.1.2.3 50010 192.0.2.80 443 TLSv13 pool.supportxmr.com T",
            "1763776801.500000 CsslB2 10.1.2.3 50011 192.0.2.81 443 TLSv13 www.example.org T",
        ],
    );
    let conn = tsv(
        "conn",
        &["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration", "orig_bytes", "resp_bytes", "conn_state", "orig_pkts", "resp_pkts"],
        &[
            "1763776800.500000 CconnC1 10.1.2.3 50020 203.0.113.5 2222 tcp - 3600.250000 18000 950000 S1 400 1200",
            "1763776801.000000 CsslB1 10.1.2.3 50010 192.0.2.80 443 tcp ssl 120.000000 5000 80000 SF 60 90",
            "1763776801.500000 CsslB2 10.1.2.3 50011 192.0.2.81 443 tcp ssl 1.000000 500 8000 SF 6 9",
            "this line is damaged",
        ],
    );
    std::fs::write(dir.join("dns.log"), dns).unwrap();
    std::fs::write(dir.join("ssl.log"), ssl).unwrap();
    std::fs::write(dir.join("conn.log"), conn).unwrap();
}

fn indicators() -> Indicators {
    let mut ind = Indicators::builtin();
    let shared =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/cryptojacking-indicators");
    if shared.exists() {
        assert_eq!(ind.load_dir(&shared).unwrap(), 3);
    } else {
        eprintln!(
            "SKIP (partly): {} is absent; NoCoin names untested",
            shared.display()
        );
    }
    ind
}

#[test]
fn tsv_logs() {
    let t = tempfile::tempdir().unwrap();
    write_logs(t.path());
    let ind = indicators();
    let r = scan_logs(&[t.path().to_path_buf()], &ind).unwrap();
    assert_eq!(r.inputs.len(), 3);
    assert_eq!(
        r.inputs.last().unwrap().kind,
        Some(LogKind::Conn),
        "conn.log is read last"
    );
    assert_eq!(r.records, 3 + 2 + 3);
    let names: Vec<(&str, LogKind)> = r
        .findings
        .iter()
        .map(|f| (f.name.as_str(), f.kind))
        .collect();
    let mut want = vec![
        ("xmr.2miners.com", LogKind::Dns),
        ("pool.supportxmr.com", LogKind::Ssl),
    ];
    if ind.lists().len() > 1 {
        want.insert(1, ("authedmine.com", LogKind::Dns));
        let ch = r
            .findings
            .iter()
            .find(|f| f.name == "authedmine.com")
            .unwrap();
        assert_eq!(ch.indicator.kind, IndicatorKind::BrowserMiner);
    }
    assert_eq!(names, want);
    assert_eq!(
        r.findings[0].answers,
        vec!["203.0.113.5".parse::<std::net::IpAddr>().unwrap()]
    );
    // Both pool connections, by resolved address and by uid; not the others.
    assert_eq!(r.flows.len(), 2, "{:#?}", r.flows);
    let f = &r.flows[0];
    assert_eq!(
        (f.uid.as_str(), f.via, f.name.as_str()),
        ("CconnC1", LogKind::Dns, "xmr.2miners.com")
    );
    assert_eq!(f.server, "203.0.113.5:2222".parse().unwrap());
    assert_eq!((f.bytes, f.packets), ([18000, 950000], [400, 1200]));
    assert_eq!(f.last_seen_ns - f.first_seen_ns, 3_600_250_000_000);
    assert_eq!(
        (r.flows[1].uid.as_str(), r.flows[1].via),
        ("CsslB1", LogKind::Ssl)
    );
    // The damaged line is a warning naming file and line.
    assert_eq!(r.warnings.len(), 1);
    let w = r.warnings[0].to_string();
    assert!(w.contains("conn.log") && w.contains("line 11"), "{w}");
}

#[test]
fn json_logs() {
    let t = tempfile::tempdir().unwrap();
    let dns = r#"{"ts":1763776800.1,"uid":"CdnsA1","id.orig_h":"10.1.2.3","id.orig_p":50001,"id.resp_h":"10.1.0.53","id.resp_p":53,"proto":"udp","query":"gulf.moneroocean.stream","answers":["198.51.100.99"],"TTLs":[60.0]}
{"ts":1763776800.2,"uid":"CdnsA2","id.orig_h":"10.1.2.3","id.orig_p":50002,"id.resp_h":"10.1.0.53","id.resp_p":53,"proto":"udp","query":"example.org"}
"#;
    let conn = r#"{"ts":1763776802.0,"uid":"Cc1","id.orig_h":"10.1.2.3","id.orig_p":50100,"id.resp_h":"198.51.100.99","id.resp_p":10128,"proto":"tcp","duration":60.5,"orig_bytes":1000,"resp_bytes":50000,"conn_state":"S1","orig_pkts":20,"resp_pkts":40}
{not json
"#;
    std::fs::write(t.path().join("dns.json.log"), dns).unwrap();
    std::fs::write(t.path().join("conn.json.log"), conn).unwrap();
    let r = scan_logs(
        &[
            t.path().join("conn.json.log"),
            t.path().join("dns.json.log"),
        ],
        &Indicators::builtin(),
    )
    .unwrap();
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.flows.len(), 1);
    assert_eq!(r.flows[0].server, "198.51.100.99:10128".parse().unwrap());
    assert_eq!(r.flows[0].name, "gulf.moneroocean.stream");
    assert!(r.warnings[0]
        .to_string()
        .contains("line 2: not a JSON object"));
}

#[test]
fn other_files_are_skipped_with_a_warning() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("http.log");
    std::fs::write(
        &p,
        tsv(
            "http",
            &["ts", "uid", "host", "uri"],
            &["1.0 C1 example.org /"],
        ),
    )
    .unwrap();
    let r = scan_logs(&[p], &Indicators::builtin()).unwrap();
    assert!(r.warnings[0]
        .message
        .contains("not a Zeek conn, dns or ssl log"));
    let bad = t.path().join("bad.log");
    std::fs::write(&bad, "a\tb\n").unwrap();
    assert!(scan_logs(&[bad], &Indicators::builtin())
        .unwrap_err()
        .to_string()
        .contains("before a #fields header"));
}
