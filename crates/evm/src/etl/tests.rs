//! The ethereum-etl reader on small exports.

use super::*;

#[test]
fn unscale_restores_base_units() {
    assert_eq!(
        unscale("9942.313005", 6).unwrap(),
        U256::from(9_942_313_005u64)
    );
    assert_eq!(
        unscale("10000.0", 6).unwrap(),
        U256::from(10_000_000_000u64)
    );
    assert_eq!(unscale("18.67", 6).unwrap(), U256::from(18_670_000u64));
    assert_eq!(unscale("0", 18).unwrap(), U256::ZERO);
    assert!(unscale("1.0000001", 6).is_err());
    assert!(unscale("1e5", 6).is_err());
    assert!(unscale(".", 6).is_err());
    assert!(unscale("-1", 6).is_err());
}

#[test]
fn u256_decimal_and_hex() {
    assert_eq!(
        parse_u256("804264913889669500").unwrap(),
        U256::from(804264913889669500u64)
    );
    assert_eq!(parse_u256("0xff").unwrap(), U256::from(255));
    assert!(parse_u256("-1").is_err());
    assert!(parse_u256(&"9".repeat(80)).is_err());
}

fn import(files: &[(&str, &str)]) -> Result<EtlImport> {
    let d = tempfile::tempdir().unwrap();
    for (n, c) in files {
        fs::write(d.path().join(n), c).unwrap();
    }
    read_dir(d.path())
}

const TXS: &str = "hash,nonce,block_hash,block_number,transaction_index,from_address,to_address,value,gas,gas_price,input,block_timestamp\n\
0x01000000000000000000000000000000000000000000000000000000000000aa,0,0x0b00000000000000000000000000000000000000000000000000000000000001,5,1,0x1111111111111111111111111111111111111111,0x2222222222222222222222222222222222222222,7,21000,10,0x,100\n\
0x02000000000000000000000000000000000000000000000000000000000000aa,1,0x0b00000000000000000000000000000000000000000000000000000000000001,5,0,0x1111111111111111111111111111111111111111,,0,90000,10,0x60,100\n\
0x03000000000000000000000000000000000000000000000000000000000000aa,2,0x0b00000000000000000000000000000000000000000000000000000000000002,4,0,0x1111111111111111111111111111111111111111,0x3333333333333333333333333333333333333333,9,21000,10,0x,90\n";

#[test]
fn failed_transactions_move_nothing_and_blocks_are_sorted() {
    let receipts = "transaction_hash,status,gas_used,effective_gas_price\n\
0x01000000000000000000000000000000000000000000000000000000000000aa,1,21000,10\n\
0x03000000000000000000000000000000000000000000000000000000000000aa,0,21000,10\n";
    let imp = import(&[("transactions.csv", TXS), ("receipts.csv", receipts)]).unwrap();
    assert_eq!(
        imp.blocks.iter().map(|b| b.number).collect::<Vec<_>>(),
        vec![4, 5]
    );
    let b4 = &imp.blocks[0];
    assert_eq!(b4.txs[0].status, TxStatus::Failed);
    assert!(b4.transfers.is_empty(), "a failed tx moves no value");
    let b5 = &imp.blocks[1];
    // Ordered by transaction_index: the creation (index 0) comes first.
    assert!(b5.txs[0].to.is_none());
    let creator: Address = "0x1111111111111111111111111111111111111111"
        .parse()
        .unwrap();
    assert_eq!(b5.txs[0].created, Some(creator.create(1)));
    assert_eq!(b5.txs[0].status, TxStatus::Unknown);
    assert_eq!(b5.txs[1].fee, 210_000);
    assert_eq!(b5.transfers.len(), 1);
    assert_eq!(b5.transfers[0].amount, U256::from(7));
    assert_eq!(b5.transfers[0].tx, Some(1));
}

#[test]
fn bad_rows_name_file_line_and_column() {
    let bad = TXS.replace(",7,21000", ",seven,21000");
    let e = import(&[("t.csv", &bad)]).unwrap_err().to_string();
    assert!(e.contains("t.csv: line 2, column value"), "{e}");
    let bad = TXS.replace("0x2222222222222222222222222222222222222222", "0x22");
    let e = import(&[("t.csv", &bad)]).unwrap_err().to_string();
    assert!(e.contains("line 2, column to_address"), "{e}");
}

#[test]
fn scaled_token_transfers_use_known_decimals_and_count_unknown_ones() {
    let tt = "block_number,transaction_index,from_address,to_address,time_stamp,contract_address,value\n\
9,0,0x1111111111111111111111111111111111111111,0x2222222222222222222222222222222222222222,5,0xdac17f958d2ee523a2206206994597c13d831ec7,1.5\n\
9,1,0x1111111111111111111111111111111111111111,0x2222222222222222222222222222222222222222,5,0x4444444444444444444444444444444444444444,1.5\n\
9,2,0x11111";
    let imp = import(&[("tt.csv", tt)]).unwrap();
    assert_eq!(imp.blocks.len(), 1);
    assert_eq!(imp.blocks[0].transfers.len(), 1);
    assert_eq!(imp.blocks[0].transfers[0].amount, U256::from(1_500_000));
    assert_eq!(imp.blocks[0].tokens[0].1.decimals, Some(6));
    assert_eq!(imp.skipped.len(), 2, "{:?}", imp.skipped);
}
