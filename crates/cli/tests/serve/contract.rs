//! The OpenAPI contract under schemathesis.

use std::process::Command;

use crate::http::*;

/// schemathesis (PyPI; `.ci/run` installs it) fuzzes every operation from
/// /openapi.json: no 5xx, every response matching the document.
#[test]
fn schemathesis_finds_no_server_errors() {
    let st = ["schemathesis", "st"].into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let Some(st) = st else {
        eprintln!(
            "SKIP: schemathesis is not installed (pip install schemathesis; .ci/run installs it)"
        );
        return;
    };
    let (tmp, data) = Server::prepare();
    // With the real Ethereum export the `ethereum` chain has a store too,
    // so its transfer screening is fuzzed, not only its 404.
    if let Some(export) = crate::util::shared("eth-etl-transactions-raphtory") {
        crate::util::ok(
            &data,
            &["ingest", "evm", "--etl-csv", export.to_str().unwrap()],
        );
    }
    let s = Server::start(tmp, data);
    let k = s.key("fuzz", "admin", 1_000_000);
    let out = Command::new(st)
        .args(["run", &format!("http://{}/openapi.json", s.addr)])
        .args(["-H", &format!("Authorization: Bearer {k}")])
        // Checksums and integer spellings (1.0) are stricter than JSON
        // Schema can say, so schema-valid data may be refused with 422.
        .args(["--exclude-checks", "positive_data_acceptance"])
        .args([
            "--max-examples",
            "25",
            "--phases",
            "coverage,fuzzing,stateful",
            // One worker: with two, hypothesis parses sources in two
            // threads at once, which CPython 3.11 can fail with "AST
            // constructor recursion depth mismatch" (a runtime error of
            // the tool, not of the server; seen once in CI).
            "-w",
            "1",
            "--seed",
            "1",
        ])
        .env("NO_COLOR", "1")
        // its caches (.schemathesis/, .hypothesis/) go to the temporary directory
        .current_dir(&s.data)
        .output()
        .expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}");
    assert!(
        out.status.success(),
        "schemathesis failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains("Server error"), "{stdout}");
}
