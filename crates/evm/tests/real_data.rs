//! Real Ethereum mainnet data from `../shared/data`: RLP blocks and an
//! ethereum-etl export. Skips with a message when the data is absent.

use std::path::PathBuf;

use chainhound_evm::rlp::{decode_blocks, MAINNET_GENESIS};
use chainhound_evm::{etl, EvmStore, EvmWriter, TransferKind, TxStatus, B256, U256};

fn data(dir: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(dir);
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("skipping: {} is absent", p.display());
        None
    }
}

/// (file, first block number, transactions per block). PROVENANCE.md gives
/// the block numbers (by file name) but no hashes or counts; the counts are
/// what the decoder read, each block's recomputed transactions root equal
/// to its header's (so the header hash commits to them), and the hashes of
/// blocks 0 and 1 are the well-known mainnet ones.
const RLP_FILES: &[(&str, u64, &[usize])] = &[
    ("ethgenesis.bin", 0, &[0]),
    ("eth1.bin", 1, &[0]),
    ("eth0to10.bin", 0, &[0; 11]),
    ("eth1346406.bin", 1346406, &[6]),
    ("eth3346406.bin", 3346406, &[7]),
    (
        "eth351000to3510010.bin",
        3510000,
        &[15, 0, 18, 64, 7, 47, 44, 0, 7, 6, 4],
    ),
    ("eth4800251.bin", 4800251, &[69]),
    ("eth4910000.bin", 4910000, &[236]),
];

#[test]
fn rlp_blocks_decode_with_checked_roots_and_linked_parents() {
    let Some(dir) = data("eth-mainnet-blocks-rlp") else {
        return;
    };
    for (file, first, counts) in RLP_FILES {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let blocks = decode_blocks(&bytes, file).unwrap();
        let got: Vec<usize> = blocks.iter().map(|b| b.block.txs.len()).collect();
        assert_eq!(&got[..], *counts, "{file}: transactions per block");
        for (i, b) in blocks.iter().enumerate() {
            assert_eq!(b.block.number, first + i as u64, "{file}");
            if i > 0 {
                assert_eq!(
                    b.block.parent,
                    blocks[i - 1].block.hash,
                    "{file}: parent link"
                );
            }
        }
        assert_eq!(blocks.iter().map(|b| b.len).sum::<usize>(), bytes.len());
    }
    let g = decode_blocks(&std::fs::read(dir.join("ethgenesis.bin")).unwrap(), "g").unwrap();
    assert_eq!(g[0].block.hash, MAINNET_GENESIS);
    let one = decode_blocks(&std::fs::read(dir.join("eth1.bin")).unwrap(), "1").unwrap();
    let want: B256 = "0x88e96d4537bea4d9c05d12549907b32561d3bf31f45aae734cdc119f13406cb6"
        .parse()
        .unwrap();
    assert_eq!(one[0].block.hash, want);
    assert_eq!(one[0].block.parent, MAINNET_GENESIS);
}

#[test]
fn rlp_blocks_ingest_idempotently() {
    let Some(dir) = data("eth-mainnet-blocks-rlp") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let store_dir = tmp.path().join("eth");
    for round in 0..2 {
        let mut w = EvmWriter::open(&store_dir, "eth").unwrap();
        for file in ["eth351000to3510010.bin", "eth4800251.bin", "eth4910000.bin"] {
            for b in decode_blocks(&std::fs::read(dir.join(file)).unwrap(), file).unwrap() {
                w.append(&b.block).unwrap();
            }
        }
        w.commit().unwrap();
        drop(w);
        let s = EvmStore::open(&store_dir).unwrap();
        assert_eq!(s.blocks().len(), 13, "round {round}");
        assert_eq!(s.txs().len(), 212 + 69 + 236);
        let native = s
            .transfers()
            .iter()
            .filter(|t| t.kind == TransferKind::Call)
            .count();
        let valued = s.txs().iter().filter(|t| t.value > U256::ZERO).count();
        assert_eq!(native, valued);
        assert!(s.txs().iter().all(|t| t.status == TxStatus::Unknown));
    }
}

#[test]
fn etl_export_imports_the_real_transactions() {
    let Some(dir) = data("eth-etl-transactions-raphtory") else {
        return;
    };
    let imp = etl::read_dir(&dir).unwrap();
    let txs: usize = imp.blocks.iter().map(|b| b.txs.len()).sum();
    assert_eq!(txs, 19_999 + 199);
    assert_eq!(imp.labels.len(), 1);
    let bad_labels = imp
        .skipped
        .iter()
        .filter(|s| s.contains("label skipped"))
        .count();
    assert_eq!(imp.labels[0].rows.len() + bad_labels, 38_617);
    eprintln!("{bad_labels} labels with a bad EIP-55 checksum");
    let tmp = tempfile::tempdir().unwrap();
    let mut w = EvmWriter::open(tmp.path(), "eth").unwrap();
    for b in &imp.blocks {
        w.append(b).unwrap();
    }
    w.commit().unwrap();
    drop(w);
    let s = EvmStore::open(tmp.path()).unwrap();
    assert_eq!(s.txs().len(), 19_999 + 199);
    let h: B256 = "0x5b4d26a7cda9a2547fc122688f656f3c5d152c876acf117b09f892f8e0e784a4"
        .parse()
        .unwrap();
    let t = s.tx(s.tx_by_hash(&h).unwrap());
    assert_eq!(t.value, U256::from(804264913889669500u64));
    assert_eq!(s.block_number(t.block), 3300400);
    let erc20 = s
        .transfers()
        .iter()
        .filter(|t| t.kind == TransferKind::Erc20)
        .count();
    eprintln!("skipped: {:?}", imp.skipped);
    assert_eq!(
        erc20
            + imp
                .skipped
                .iter()
                .filter(|s| s.contains("decimals"))
                .count(),
        99
    );
}
