//! Every shared rule file compiled, and miner rules firing on harmless files
//! built here that carry the strings the real rules look for.

use std::path::{Path, PathBuf};

use chainhound_scan::files::{scan_paths, FileScanOptions};
use chainhound_scan::rules::{RuleInput, Rules};

fn shared() -> Option<PathBuf> {
    let p =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/cryptojacking-indicators");
    if p.exists() {
        Some(p)
    } else {
        eprintln!(
            "SKIP: {} is absent; this test needs ../shared/data",
            p.display()
        );
        None
    }
}

#[test]
fn builtin_rules_compile() {
    let rules = Rules::compile(&[RuleInput::Builtin]).unwrap();
    assert!(
        rules.files().iter().all(|f| f.error.is_none()),
        "{:?}",
        rules.files()
    );
    assert_eq!(rules.rule_count(), 5);
}

#[test]
fn every_shared_rule_file_compiles() {
    let Some(dir) = shared() else { return };
    let rules = Rules::compile(&[RuleInput::Builtin, RuleInput::Path(dir.clone())]).unwrap();
    let mut on_disk: Vec<String> = Vec::new();
    for sub in ["yara-signature-base", "yara-rules-project"] {
        for e in std::fs::read_dir(dir.join(sub)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|e| e == "yar") {
                on_disk.push(p.display().to_string());
            }
        }
    }
    assert_eq!(on_disk.len(), 20);
    for f in &on_disk {
        let st = rules
            .files()
            .iter()
            .find(|s| &s.file == f)
            .unwrap_or_else(|| panic!("{f} was not even tried"));
        eprintln!(
            "{:>3} rules  {}  {}",
            st.rules,
            st.file,
            st.error.as_deref().unwrap_or("ok")
        );
        assert!(st.error.is_none(), "{f}: {:?}", st.error);
        assert!(st.rules > 0, "{f} compiled to no rule");
    }
    // PROVENANCE.md counts 79 `rule` lines in signature-base's 18 files;
    // 3 of them are inside /* */ comments (apt_lazarus_dec20 1,
    // apt_nk_andariel_jul24 2), so 76 rules exist. Plus 2 + 5.
    let sb: usize = rules
        .files()
        .iter()
        .filter(|f| f.file.contains("yara-signature-base"))
        .map(|f| f.rules)
        .sum();
    assert_eq!(sb, 76);
    assert_eq!(rules.rule_count(), 76 + 2 + 5);
}

#[test]
fn a_bad_rule_file_is_listed_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("good.yar"),
        "rule good { strings: $a = \"abc\" condition: $a }",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("bad.yar"),
        "rule ok1 { condition: true }\nrule bad { condition: $nope }",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("module.yar"),
        "import \"cuckoo\"\nrule c { condition: true }",
    )
    .unwrap();
    let rules = Rules::compile(&[RuleInput::Path(dir.path().to_path_buf())]).unwrap();
    let by = |n: &str| {
        rules
            .files()
            .iter()
            .find(|f| f.file.ends_with(n))
            .unwrap()
            .clone()
    };
    assert_eq!(by("good.yar").rules, 1);
    let bad = by("bad.yar");
    assert_eq!(bad.rules, 0, "a failing file goes in whole or not at all");
    assert!(
        bad.error.as_deref().unwrap().contains("nope"),
        "{:?}",
        bad.error
    );
    assert!(by("module.yar")
        .error
        .as_deref()
        .unwrap()
        .contains("cuckoo"));
    assert_eq!(rules.rule_count(), 1);
    // Nothing compiles at all: an error.
    std::fs::remove_file(dir.path().join("good.yar")).unwrap();
    assert!(Rules::compile(&[RuleInput::Path(dir.path().to_path_buf())]).is_err());
}

/// A minimal ELF header: `uint16(0) == 0x457f` in the rules.
fn elf_with(strings: &[&str]) -> Vec<u8> {
    let mut b = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0];
    b.resize(64, 0);
    for s in strings {
        b.extend_from_slice(s.as_bytes());
        b.push(0);
    }
    b.resize(b.len() + 4096, 0);
    b
}

#[test]
fn miner_rules_fire_on_harmless_files_with_their_strings() {
    let Some(dir) = shared() else { return };
    let rules = Rules::compile(&[RuleInput::Builtin, RuleInput::Path(dir)]).unwrap();
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    std::fs::create_dir_all(root.join("a/b")).unwrap();
    // Strings of XMRig's help text (signature-base pua_xmrig_monero_miner).
    std::fs::write(
        root.join("a/b/kworker"),
        elf_with(&[
            "'h' hashrate, 'p' pause, 'r' resume, 'q' shutdown",
            "--cpu-affinity",
            "password for mining server",
            "* THREADS:      %d, %s, aes=%d, hf=%zu, %sdonate=%d%%",
            "stratum+tcp://",
        ]),
    )
    .unwrap();
    // A shell dropper (crime_crypto_miner, yara-rules-project XMRIG_Miner).
    std::fs::write(
        root.join("a/run.sh"),
        "#!/bin/sh\n./kworker --donate-level 1  -o pool.minexmr.com:5555  -u 4AQe5sAFWZKECiaeNTt59LG7kVtqRoSRJMjrmQ6GiMFAeUvoL3MFeTE6zwwHkFPrAyNw2JHDxUSWL82RiZThPpk4SEg7Vqe -o stratum+tcp://pool.minexmr.com:4444\necho miner running\n",
    )
    .unwrap();
    // The DPRK-linked installer's wallet (crime_nkminer), UTF-16 like a PE's strings.
    let wide: Vec<u8> = "barjuok.ryongnamsan.edu.kp"
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    std::fs::write(root.join("installer.bin"), wide).unwrap();
    std::fs::write(root.join("clean.txt"), "nothing to see here\n".repeat(100)).unwrap();
    let report = scan_paths(
        &rules,
        &[root.to_path_buf()],
        &FileScanOptions::default(),
        &|_| {},
    );
    assert_eq!(report.files_scanned, 4);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    let names = |file: &str| -> Vec<String> {
        report
            .matches
            .iter()
            .find(|m| m.path.ends_with(file))
            .map(|m| m.matches.iter().map(|r| r.rule.clone()).collect())
            .unwrap_or_default()
    };
    let elf = names("a/b/kworker");
    assert!(elf.contains(&"XMRIG_Monero_Miner".to_string()), "{elf:?}");
    assert!(
        elf.contains(&"PUA_LNX_XMRIG_CryptoMiner".to_string()),
        "{elf:?}"
    );
    assert!(elf.contains(&"XMRIG_Miner".to_string()), "{elf:?}");
    let sh = names("a/run.sh");
    for r in [
        "SUSP_LNX_SH_CryptoMiner_Indicators_Dec20_1",
        "ChainHound_Miner_Command_Line",
        "ChainHound_Stratum_Pool_URL",
    ] {
        assert!(sh.contains(&r.to_string()), "{r} not in {sh:?}");
    }
    assert_eq!(names("installer.bin"), vec!["nkminer_monero".to_string()]);
    assert!(names("clean.txt").is_empty());
    // Offsets are real: the string is where the report says.
    let m = report
        .matches
        .iter()
        .find(|m| m.path.ends_with("a/run.sh"))
        .unwrap();
    let bytes = std::fs::read(&m.path).unwrap();
    for r in &m.matches {
        for s in &r.strings {
            let at = s.offset as usize;
            assert_eq!(
                &bytes[at..at + s.data.len()],
                &s.data[..],
                "{} {}",
                r.rule,
                s.name
            );
        }
    }
}

#[cfg(unix)]
#[test]
fn special_files_are_warnings() {
    use std::os::unix::fs::symlink;
    let rules = Rules::compile(&[RuleInput::Builtin]).unwrap();
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    std::fs::write(root.join("ok.txt"), "stratum+tcp://pool.example:3333").unwrap();
    std::fs::write(root.join("big.bin"), vec![0u8; 4096]).unwrap();
    symlink("loop_b", root.join("loop_a")).unwrap();
    symlink("loop_a", root.join("loop_b")).unwrap();
    symlink(".", root.join("self")).unwrap();
    symlink("missing", root.join("dangling")).unwrap();
    let fifo = root.join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let opts = FileScanOptions {
        max_size: 1024,
        follow_links: true,
        threads: 2,
    };
    let paths = vec![
        root.to_path_buf(),
        PathBuf::from("/dev/null"),
        root.join("nonexistent"),
    ];
    let report = scan_paths(&rules, &paths, &opts, &|_| {});
    let text: Vec<String> = report.warnings.iter().map(|w| w.to_string()).collect();
    let has = |file: &str, what: &str| {
        assert!(
            text.iter().any(|w| w.contains(file) && w.contains(what)),
            "no warning about {file} ({what}) in {text:#?}"
        )
    };
    has("big.bin", "size limit");
    has("fifo", "FIFO");
    has("loop_a", "loop");
    has("self", "already visited");
    has("dangling", "dangling");
    has("/dev/null", "character device");
    has("nonexistent", "metadata");
    assert_eq!(report.files_scanned, 1);
    assert_eq!(report.matches.len(), 1);
}

#[test]
fn xmrig_config_gives_its_payout_wallet() {
    let rules = Rules::compile(&[RuleInput::Builtin]).unwrap();
    // The layout of XMRig's own config.json.
    let config = r#"{
    "autosave": true,
    "cpu": true,
    "pools": [
        {
            "algo": null,
            "coin": "monero",
            "url": "pool.supportxmr.com:443",
            "user": "4JUdGzvrMFDWrUUwY3toJATSeNwjn54LkCnKBPRzDuhzi5vSepHfUckJNxRL2gjkNrSqtCoRUrEDAgRwsQvVCjZbRy5YeFCqgoUMnzumvS",
            "pass": "x",
            "tls": true
        }
    ]
}"#;
    let m = rules.scan(config.as_bytes()).unwrap();
    let r = m
        .iter()
        .find(|r| r.rule == "ChainHound_XMRig_Config_Wallet")
        .expect("the config rule");
    let w = chainhound_scan::wallet::wallets_in_match(r);
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].chain, chainhound_intel::Chain::Xmr);
    assert!(w[0].address.starts_with("4JUdGz") && w[0].address.len() == 106);
    // Without a wallet the rule stays quiet.
    assert!(rules
        .scan(config.replace("4JUdGz", "someone").as_bytes())
        .unwrap()
        .iter()
        .all(|r| r.rule != "ChainHound_XMRig_Config_Wallet"));
}
