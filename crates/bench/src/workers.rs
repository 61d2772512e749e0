//! The contenders, each run in its own pinned child process
//! (`chainhound-bench worker <contender> ...`), each printing one JSON line of
//! [`Figures`].

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use bitcoin::hashes::Hash;
use bitcoin::{Block, BlockHash};
use chainhound_btc::BlocksDir;
use chainhound_ingest::{ingest_btc, IngestOptions, Quiet};
use chainhound_store::{Funding, Store, StoreWriter};
use chainhound_types::{InputId, OutputId, TxNum};
use clap::ValueEnum;
use serde::{Deserialize, Serialize};

use crate::data;
use crate::sys;

/// Who reads the blk files.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Contender {
    /// ChainHound's `ingest_btc` into a fresh store (default options: every
    /// check, both link directions, commits every 2 s).
    Chainhound,
    /// bitcoin-block-parser 0.5.3 `BlockParser`, plain parse, `num_threads = 1`.
    Bbp,
    /// bitcoin-block-parser 0.5.3 `UtxoParser`: input amounts and output
    /// spent/unspent status (two passes over the files), `num_threads = 1`.
    BbpUtxo,
    /// mmap + rust-bitcoin `consensus::deserialize` of every block, txids,
    /// sums; stores nothing.
    Bare,
}

impl Contender {
    /// Every contender, in table order.
    pub const ALL: [Contender; 4] = [
        Contender::Chainhound,
        Contender::BbpUtxo,
        Contender::Bbp,
        Contender::Bare,
    ];

    /// The name used on the command line and in the tables.
    pub fn name(self) -> &'static str {
        match self {
            Contender::Chainhound => "chainhound",
            Contender::Bbp => "bbp",
            Contender::BbpUtxo => "bbp-utxo",
            Contender::Bare => "bare",
        }
    }
}

/// What one worker run reports. Counts are of the main chain only.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Figures {
    /// Contender name.
    pub contender: String,
    /// Main-chain blocks.
    pub blocks: u64,
    /// Transactions.
    pub txs: u64,
    /// Inputs, coinbase inputs included.
    pub inputs: u64,
    /// Outputs.
    pub outputs: u64,
    /// Sum of every output value.
    pub value_sat: u64,
    /// Sum of the values spent by every non-coinbase input (linking contenders).
    pub input_value_sat: Option<u64>,
    /// Outputs never spent (linking contenders).
    pub unspent_outputs: Option<u64>,
    /// XOR of every txid, hex (contenders that compute txids).
    pub txid_xor: Option<String>,
    /// Seconds of the timed section (after pinning, until the work is done).
    pub work_s: f64,
    /// CPU seconds (user + system) of the timed section.
    pub cpu_s: f64,
    /// `VmHWM` at the end of the timed section, KiB (mapped files included).
    pub vm_hwm_kib: u64,
    /// Peak `RssAnon` during the timed section (sampled every 10 ms), KiB.
    pub anon_peak_kib: u64,
    /// Contender-specific figures (phase times, file sizes).
    pub extra: BTreeMap<String, f64>,
}

/// Times the work section of a worker.
struct Clock {
    t0: Instant,
    cpu0: f64,
    anon: sys::AnonSampler,
}

impl Clock {
    fn start() -> Clock {
        Clock {
            anon: sys::AnonSampler::start(),
            cpu0: sys::self_cpu_s(),
            t0: Instant::now(),
        }
    }

    fn secs(&self) -> f64 {
        self.t0.elapsed().as_secs_f64()
    }

    fn stop(self, f: &mut Figures) {
        f.work_s = self.secs();
        f.cpu_s = sys::self_cpu_s() - self.cpu0;
        f.vm_hwm_kib = sys::vm_hwm_kib();
        f.anon_peak_kib = self.anon.stop();
    }
}

/// Runs `c` over `blocks`, using `scratch` (empty) for anything it writes.
pub fn run(c: Contender, blocks: &Path, scratch: &Path, estimated_utxos: usize) -> Result<Figures> {
    let mut f = match c {
        Contender::Chainhound => chainhound(blocks, scratch)?,
        Contender::Bbp => bbp(blocks)?,
        Contender::BbpUtxo => bbp_utxo(blocks, scratch, estimated_utxos)?,
        Contender::Bare => bare(blocks)?,
    };
    f.contender = c.name().to_string();
    Ok(f)
}

fn xor_into(acc: &mut [u8; 32], id: &[u8; 32]) {
    for (a, b) in acc.iter_mut().zip(id) {
        *a ^= b;
    }
}

fn hex(b: &[u8; 32]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

// ------------------------------------------------------------------ chainhound

fn chainhound(blocks: &Path, store_dir: &Path) -> Result<Figures> {
    let network = data::detect_network(blocks)?;
    fs::create_dir_all(store_dir)?;
    let clock = Clock::start();
    let source = BlocksDir::open(blocks, network)?;
    let mut writer = StoreWriter::open(store_dir, network.magic(), network.name())?;
    let rep = ingest_btc(&mut writer, &source, &IngestOptions::default(), &mut Quiet)?;
    drop(writer);
    let mut f = Figures::default();
    clock.stop(&mut f);

    // Untimed: read the figures back from the store, links included.
    let t = Instant::now();
    let store = Store::open(store_dir)?;
    let c = store.counts();
    f.blocks = u64::from(c.blocks);
    f.txs = u64::from(c.txs);
    f.inputs = u64::from(c.inputs);
    f.outputs = u64::from(c.outputs);
    f.value_sat = u64::try_from(store.sum_output_values()).context("value overflows u64")?;
    let unspent = (0..c.outputs)
        .filter(|&o| store.spender(OutputId(o)).is_none())
        .count();
    f.unspent_outputs = Some(unspent as u64);
    let mut in_value = 0u64;
    for i in 0..c.inputs {
        if let Funding::Output(o) = store.input(InputId(i)).funding {
            in_value += store.output_value(o).0;
        }
    }
    f.input_value_sat = Some(in_value);
    let mut x = [0u8; 32];
    for t in 0..c.txs {
        xor_into(&mut x, &store.tx(TxNum(t)).txid.0);
    }
    f.txid_xor = Some(hex(&x));
    let e = &mut f.extra;
    e.insert("scan_s".into(), rep.scan_time.as_secs_f64());
    e.insert("load_s".into(), rep.load_time.as_secs_f64());
    e.insert("appended_blocks".into(), f64::from(rep.appended));
    e.insert("unresolved_inputs".into(), rep.unresolved as f64);
    e.insert("conflicting_spends".into(), rep.conflicting_spends as f64);
    e.insert("verify_s_untimed".into(), t.elapsed().as_secs_f64());
    Ok(f)
}

// ------------------------------------------------------------------ bitcoin-block-parser

#[derive(Default, Clone, Copy)]
struct Agg {
    blocks: u64,
    txs: u64,
    inputs: u64,
    outputs: u64,
    value: u64,
    input_value: u64,
    unspent: u64,
    txid_xor: [u8; 32],
}

impl Agg {
    fn of_block(b: &Block) -> Agg {
        let mut a = Agg {
            blocks: 1,
            txs: b.txdata.len() as u64,
            ..Agg::default()
        };
        for tx in &b.txdata {
            a.inputs += tx.input.len() as u64;
            a.outputs += tx.output.len() as u64;
            a.value += tx.output.iter().map(|o| o.value.to_sat()).sum::<u64>();
        }
        a
    }

    fn add(&mut self, o: &Agg) {
        self.blocks += o.blocks;
        self.txs += o.txs;
        self.inputs += o.inputs;
        self.outputs += o.outputs;
        self.value += o.value;
        self.input_value += o.input_value;
        self.unspent += o.unspent;
        xor_into(&mut self.txid_xor, &o.txid_xor);
    }

    fn figures(&self) -> Figures {
        Figures {
            blocks: self.blocks,
            txs: self.txs,
            inputs: self.inputs,
            outputs: self.outputs,
            value_sat: self.value,
            ..Figures::default()
        }
    }
}

fn dir_str(p: &Path) -> Result<&str> {
    p.to_str().context("blocks dir is not UTF-8")
}

fn bbp(blocks: &Path) -> Result<Figures> {
    use bitcoin_block_parser::blocks::{BlockParser, ParserOptions};
    let dir = dir_str(blocks)?;
    let clock = Clock::start();
    let opts = ParserOptions {
        num_threads: 1,
        ..ParserOptions::default()
    };
    // Header scan (a pool of 64 threads, one job per file; pinned like the rest).
    let parser = BlockParser::new_with_opts(dir, opts)?;
    let header_s = clock.secs();
    let mut agg = Agg::default();
    for a in parser.parse(|b| Agg::of_block(&b)) {
        agg.add(&a);
    }
    let mut f = agg.figures();
    clock.stop(&mut f);
    f.extra.insert("header_scan_s".into(), header_s);
    Ok(f)
}

fn bbp_utxo(blocks: &Path, scratch: &Path, estimated_utxos: usize) -> Result<Figures> {
    use bitcoin_block_parser::blocks::ParserOptions;
    use bitcoin_block_parser::utxos::{OutputStatus, UtxoParser};
    let dir = dir_str(blocks)?;
    fs::create_dir_all(scratch)?;
    let filter = scratch.join("utxo-filter.bin");
    let filter_s = filter.to_str().context("scratch dir is not UTF-8")?;
    let clock = Clock::start();
    let opts = ParserOptions {
        num_threads: 1,
        ..ParserOptions::default()
    };
    // Pass 1 parses everything into a cuckoo filter of the unspent outpoints
    // and writes it; pass 2 parses everything again, attaching the spent
    // TxOut to every input and a status to every output.
    let parser = UtxoParser::new(dir, filter_s)
        .estimated_utxos(estimated_utxos)
        .with_opts(opts)
        .create_filter()?;
    let pass1_s = clock.secs();
    let it = parser.parse(|ub| {
        let mut a = Agg {
            blocks: 1,
            txs: ub.txdata.len() as u64,
            ..Agg::default()
        };
        for tx in &ub.txdata {
            xor_into(&mut a.txid_xor, tx.txid.as_byte_array());
            for (out, status) in tx.output() {
                a.outputs += 1;
                a.value += out.value.to_sat();
                if *status == OutputStatus::Unspent {
                    a.unspent += 1;
                }
            }
            let coinbase = tx.transaction.is_coinbase();
            for (_, prevout) in tx.input() {
                a.inputs += 1;
                // Coinbase inputs carry TxOut::NULL, whose value is u64::MAX.
                if !coinbase {
                    a.input_value += prevout.value.to_sat();
                }
            }
        }
        a
    })?;
    let mut agg = Agg::default();
    for a in it {
        agg.add(&a);
    }
    let mut f = agg.figures();
    clock.stop(&mut f);
    f.input_value_sat = Some(agg.input_value);
    f.unspent_outputs = Some(agg.unspent);
    f.txid_xor = Some(hex(&agg.txid_xor));
    f.extra.insert("pass1_filter_s".into(), pass1_s);
    f.extra.insert(
        "filter_file_bytes".into(),
        fs::metadata(&filter).map_or(0.0, |m| m.len() as f64),
    );
    f.extra
        .insert("estimated_utxos".into(), estimated_utxos as f64);
    Ok(f)
}

// ------------------------------------------------------------------ bare rust-bitcoin

struct Rec {
    hash: BlockHash,
    prev: BlockHash,
    agg: Agg,
}

fn bare(blocks: &Path) -> Result<Figures> {
    let clock = Clock::start();
    let key = data::xor_key(blocks)?;
    let mut recs: Vec<Rec> = Vec::new();
    let mut magic: Option<[u8; 4]> = None;
    let mut scratch: Vec<u8> = Vec::new();
    let mut bad_records = 0u64;
    for path in data::blk_files(blocks)? {
        let file = fs::File::open(&path)?;
        if file.metadata()?.len() == 0 {
            continue;
        }
        // SAFETY: read-only map of a file nothing modifies during the run.
        let map = unsafe { memmap2::Mmap::map(&file) }?;
        let raw: &[u8] = &map;
        let mut pos = 0usize;
        while pos + 8 <= raw.len() {
            // Pre-allocated tail: raw zeros on disk, also in xor-ed files.
            if raw[pos..pos + 8] == [0u8; 8] {
                break;
            }
            let mut pre = [0u8; 8];
            pre.copy_from_slice(&raw[pos..pos + 8]);
            if let Some(k) = key {
                for (i, b) in pre.iter_mut().enumerate() {
                    *b ^= k[(pos + i) & 7];
                }
            }
            let m = [pre[0], pre[1], pre[2], pre[3]];
            if *magic.get_or_insert(m) != m {
                bad_records += 1;
                break;
            }
            let len = u32::from_le_bytes([pre[4], pre[5], pre[6], pre[7]]) as usize;
            let start = pos + 8;
            let end = start + len;
            if end > raw.len() {
                bad_records += 1;
                break;
            }
            let body: &[u8] = match key {
                None => &raw[start..end],
                Some(k) => {
                    scratch.clear();
                    scratch.extend_from_slice(&raw[start..end]);
                    for (i, b) in scratch.iter_mut().enumerate() {
                        *b ^= k[(start + i) & 7];
                    }
                    &scratch
                }
            };
            pos = end;
            let block: Block = match bitcoin::consensus::deserialize(body) {
                Ok(b) => b,
                Err(_) => {
                    bad_records += 1;
                    continue;
                }
            };
            let mut agg = Agg::of_block(&block);
            for tx in &block.txdata {
                xor_into(&mut agg.txid_xor, tx.compute_txid().as_byte_array());
            }
            recs.push(Rec {
                hash: block.block_hash(),
                prev: block.header.prev_blockhash,
                agg,
            });
        }
    }
    // Keep the longest chain from genesis (regtest: equal work per block;
    // ties to the first seen), dropping stale and orphan blocks.
    let chain = main_chain(&recs);
    let mut total = Agg::default();
    for &i in &chain {
        total.add(&recs[i].agg);
    }
    let mut f = total.figures();
    clock.stop(&mut f);
    f.txid_xor = Some(hex(&total.txid_xor));
    f.extra.insert("records_decoded".into(), recs.len() as f64);
    f.extra.insert("bad_records".into(), bad_records as f64);
    Ok(f)
}

/// Indexes (into `recs`) of the longest chain from genesis, in height order.
fn main_chain(recs: &[Rec]) -> Vec<usize> {
    const UNKNOWN: i64 = -2;
    const ORPHAN: i64 = i64::MIN;
    let zero = BlockHash::all_zeros();
    let mut index: HashMap<BlockHash, usize> = HashMap::with_capacity(recs.len());
    for (i, r) in recs.iter().enumerate() {
        index.entry(r.hash).or_insert(i);
    }
    let mut height = vec![UNKNOWN; recs.len()];
    let mut path = Vec::new();
    for i in 0..recs.len() {
        path.clear();
        let mut j = i;
        let base = loop {
            if height[j] != UNKNOWN {
                break height[j];
            }
            path.push(j);
            if recs[j].prev == zero {
                break -1;
            }
            match index.get(&recs[j].prev) {
                Some(&p) => j = p,
                None => break ORPHAN,
            }
        };
        let mut h = base;
        for &k in path.iter().rev() {
            h = if h == ORPHAN { ORPHAN } else { h + 1 };
            height[k] = h;
        }
    }
    let mut tip = None;
    for (i, r) in recs.iter().enumerate() {
        if index[&r.hash] == i && height[i] >= 0 && tip.is_none_or(|t: usize| height[i] > height[t])
        {
            tip = Some(i);
        }
    }
    let mut chain = Vec::new();
    let mut cur = tip;
    while let Some(i) = cur {
        chain.push(i);
        cur = (recs[i].prev != zero).then(|| index[&recs[i].prev]);
    }
    chain.reverse();
    chain
}
