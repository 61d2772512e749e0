//! [`EvmView`] on a small hand-built store: taint shares, paths, bounds
//! and deposit detection, with amounts computed by hand.

use super::*;

#[test]
fn amounts_and_hashes_are_strict() {
    assert_eq!(parse_amount("12").unwrap(), U256::from(12u64));
    for bad in ["", "1.5", "-1", "0x10", "1e18", &"9".repeat(79)] {
        assert!(parse_amount(bad).is_err(), "{bad}");
    }
    let h = "0x5b4d26a7cda9a2547fc122688f656f3c5d152c876acf117b09f892f8e0e784a4";
    assert!(parse_txid(h).is_ok());
    assert!(parse_txid(&h[2..]).is_ok());
    assert!(parse_txid(&h[..60]).is_err());
    assert!(parse_txid(&h.replace('a', "g")).is_err());
    assert_eq!(ppm(U256::from(1u64), U256::from(4u64)), 250_000);
    assert_eq!(ppm(U256::MAX, U256::MAX), 1_000_000);
    assert_eq!(ppm(U256::from(5u64), U256::ZERO), 0);
}

#[test]
fn addresses_are_checked_and_lower_cased() {
    let good = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
    let a = parse_address(good).unwrap();
    assert_eq!(canonical(&a), good.to_ascii_lowercase());
    assert_eq!(parse_address(&good.to_ascii_lowercase()).unwrap(), a);
    let e = parse_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD").unwrap_err();
    assert!(e.contains("EIP-55"), "{e}");
    assert!(parse_address("0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea").is_err());
    assert!(parse_address("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beazz").is_err());
}

mod scenario {
    use super::*;
    use chainhound_evm::{
        AssetRef, EvmWriter, NewBlock, NewTransfer, NewTx, TransferKind, TxStatus,
    };
    use chainhound_intel::import::csv::{load, CsvOptions};
    use chainhound_intel::{ImportOptions, TagWriter};

    const S: u8 = 1; // sanctioned
    const A: u8 = 2;
    const B: u8 = 3;
    const D: u8 = 4; // forwards to H: a deposit address
    const M: u8 = 5; // mixer pool
    const C: u8 = 6; // clean
    const H: u8 = 9; // exchange hot wallet

    fn addr(i: u8) -> Address {
        Address::repeat_byte(i)
    }

    fn tx_hash(block: u64) -> String {
        format!("0x{block:064x}")
    }

    /// One native transfer per block: S→A 100, A→B 60, C→B 60, B→D 40,
    /// D→H 40, B→M 10.
    fn view() -> (tempfile::TempDir, EvmView) {
        let d = tempfile::tempdir().unwrap();
        let store = d.path().join("evm/eth");
        let mut w = EvmWriter::open(&store, "eth").unwrap();
        let moves = [
            (S, A, 100u64),
            (A, B, 60),
            (C, B, 60),
            (B, D, 40),
            (D, H, 40),
            (B, M, 10),
        ];
        let mut parent = B256::ZERO;
        for (n, &(f, t, v)) in moves.iter().enumerate() {
            let number = n as u64 + 1;
            let hash: B256 = tx_hash(number).parse().unwrap();
            let mut b = NewBlock {
                number,
                hash,
                parent,
                timestamp: 1_600_000_000 + number * 12,
                ..Default::default()
            };
            b.txs.push(NewTx {
                hash,
                from: addr(f),
                to: Some(addr(t)),
                created: None,
                value: U256::from(v),
                status: TxStatus::Success,
                gas: 21_000,
                fee: 0,
            });
            b.transfers.push(NewTransfer {
                tx: Some(0),
                asset: AssetRef::Native,
                from: addr(f),
                to: addr(t),
                amount: U256::from(v),
                kind: TransferKind::Call,
            });
            parent = hash;
            w.append(&b).unwrap();
        }
        w.commit().unwrap();
        drop(w);
        let csv = d.path().join("tags.csv");
        std::fs::write(
            &csv,
            format!(
                "address,label,category\n{},LISTED,sanction\n{},Exchange 1,exchange\n{},Pool,mixing_service\n",
                evm_address::checksummed(&addr(S)),
                canonical(&addr(H)),
                canonical(&addr(M)).to_ascii_uppercase().replace("0X", "0x"),
            ),
        )
        .unwrap();
        let intel = d.path().join("intel");
        let edition = load(&csv, &CsvOptions::new("t")).unwrap();
        TagWriter::open(&intel)
            .unwrap()
            .import(edition, &ImportOptions::default())
            .unwrap();
        let tags = TagStore::open(&intel).unwrap();
        let v = EvmView::open(
            crate::tenant::ChainName::Ethereum,
            &store,
            Arc::new(EvmTags::read(&tags)),
            &tags,
        )
        .unwrap();
        (d, v)
    }

    #[test]
    fn tags_roles_and_deposit_detection() {
        let (_d, v) = view();
        assert!(v.has_store());
        let s = v.tags_of(&addr(S));
        assert!(s[0].sanction && s[0].category.as_deref() == Some("sanction"));
        let dep = v.tags_of(&addr(D));
        assert_eq!(dep.len(), 1);
        assert_eq!(dep[0].source, "deposit-detection");
        assert_eq!(dep[0].label, "deposit address of Exchange 1");
        assert!(v.tags_of(&addr(B)).is_empty());
        assert!(v.on_chain(&addr(B)) && !v.on_chain(&addr(0x77)));
    }

    #[test]
    fn deposit_exposure_is_the_haircut_taint_with_its_path() {
        let (_d, v) = view();
        // B→D: B held 60 tainted of 120, so 20 of the 40 are tainted.
        let r = v
            .resolve_transfer(&tx_hash(4), "ETH", Some(&canonical(&addr(D))), Some("40"))
            .unwrap();
        assert_eq!(
            v.counterparties(&r, true),
            vec![(addr(B), U256::from(40u64))]
        );
        let ind = v.indirect(&r, true);
        assert_eq!(ind.status.status, "computed");
        assert_eq!(ind.items.len(), 1);
        let e = &ind.items[0];
        assert_eq!(
            (e.category.as_str(), e.share_ppm, e.hops),
            ("sanction", 500_000, 2)
        );
        assert_eq!(e.amount.as_deref(), Some("20"));
        assert_eq!(e.address, canonical(&addr(S)));
        assert_eq!(e.source, "t: LISTED");
        let hops: Vec<(&str, &str)> = ind.evidence[0]
            .hops
            .iter()
            .map(|h| (h.txid.as_str(), h.address.as_str()))
            .collect();
        let (a, b, d) = (
            canonical(&addr(A)),
            canonical(&addr(B)),
            canonical(&addr(D)),
        );
        let (t1, t2, t4) = (tx_hash(1), tx_hash(2), tx_hash(4));
        assert_eq!(
            hops,
            [
                (t1.as_str(), a.as_str()),
                (t2.as_str(), b.as_str()),
                (t4.as_str(), d.as_str())
            ]
        );
        // The sender itself sanctioned: direct, so no indirect item.
        let r = v.resolve_transfer(&tx_hash(1), "eth", None, None).unwrap();
        assert!(v.indirect(&r, true).items.is_empty());
        // A clean sender's payment carries nothing.
        let r = v.resolve_transfer(&tx_hash(3), "ETH", None, None).unwrap();
        assert!(v.indirect(&r, true).items.is_empty());
    }

    #[test]
    fn withdrawal_exposure_walks_forward_to_the_mixer() {
        let (_d, v) = view();
        // A→B 60; B later pays the mixer 10 (and the deposit address 40,
        // an exchange: not crossed).
        let r = v
            .resolve_transfer(&tx_hash(2), "ETH", Some(&canonical(&addr(B))), None)
            .unwrap();
        let ind = v.indirect(&r, false);
        assert_eq!(ind.status.status, "computed");
        assert_eq!(ind.items.len(), 1);
        let e = &ind.items[0];
        assert_eq!(
            (e.category.as_str(), e.hops, e.share_ppm),
            ("mixing_service", 1, 166_666)
        );
        assert_eq!(e.address, canonical(&addr(M)));
        assert_eq!(ind.evidence[0].hops.len(), 2);
        assert_eq!(ind.evidence[0].flow, "outgoing");
    }

    #[test]
    fn bad_requests_are_refused_with_reasons() {
        let (_d, v) = view();
        let d = canonical(&addr(D));
        let err = |r: Result<EvmTransfer, Problem>| r.err().expect("refused").detail;
        assert!(
            err(v.resolve_transfer(&tx_hash(4), "ETH", Some(&d), Some("41")))
                .contains("does not match")
        );
        assert!(err(v.resolve_transfer(&tx_hash(4), "DOGE", None, None)).contains("not an asset"));
        assert!(
            err(v.resolve_transfer(&tx_hash(4), "ETH", Some(&canonical(&addr(C))), None))
                .contains("no ETH transfer")
        );
        let missing = v
            .resolve_transfer(&tx_hash(99), "ETH", None, None)
            .err()
            .unwrap();
        assert_eq!(missing.status, 404);
        // A stored subject resolves again by its positions.
        let r = v.resolve_stored(&tx_hash(4), "ETH", &[0]).unwrap();
        assert_eq!(r.transfers.len(), 1);
        assert!(v.resolve_stored(&tx_hash(4), "ETH", &[1]).is_none());
    }
}
