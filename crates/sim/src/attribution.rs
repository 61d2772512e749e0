//! `attribution.csv`: what an analyst would already know about the
//! simulated exchanges before looking at the incident — a few hot-wallet and
//! cold-storage addresses each (seen in withdrawals and public proof-of-
//! reserve lists) and a few deposit addresses (the analyst's own test
//! deposits). Far from every address: clustering has to spread the tags.
//!
//! The format is ChainHound's tag CSV (`chainhound import csv`):
//! `address,label,category,actor,country,source,confidence`.

use std::io::Write;
use std::path::Path;

use crate::error::SimError;
use crate::world::World;

/// Hot-wallet addresses tagged per exchange (the first ones, which the
/// exchange reuses most).
const HOT: usize = 3;
/// Cold-storage addresses tagged per exchange.
const COLD: usize = 2;
/// Deposit addresses tagged per exchange (the earliest assigned).
const DEPOSITS: usize = 3;

/// Writes the attribution CSV of a finished run to `path`; returns the rows.
pub(crate) fn write(w: &World<'_>, path: &Path) -> Result<u64, SimError> {
    let io = |e| SimError::io(path, e);
    let f = std::fs::File::create(path).map_err(io)?;
    let mut out = std::io::BufWriter::new(f);
    writeln!(
        out,
        "address,label,category,actor,country,source,confidence"
    )
    .map_err(io)?;
    let mut rows = 0;
    for (i, e) in w.econ.exchanges.iter().enumerate() {
        let mut deposits: Vec<u32> = w
            .econ
            .deposit
            .iter()
            .filter(|(k, _)| (*k & 0xff) as usize == i)
            .map(|(_, a)| *a)
            .collect();
        deposits.sort_unstable();
        let groups: [(&str, &[u32]); 3] = [
            ("hot wallet", &e.hot_addrs[..e.hot_addrs.len().min(HOT)]),
            ("cold wallet", &e.cold_addrs[..e.cold_addrs.len().min(COLD)]),
            ("deposit", &deposits[..deposits.len().min(DEPOSITS)]),
        ];
        for (what, addrs) in groups {
            for &a in addrs {
                writeln!(
                    out,
                    "{},{} {what},exchange,{},{},simulated analyst knowledge,80",
                    w.book.render(a),
                    e.name,
                    e.name,
                    e.country
                )
                .map_err(io)?;
                rows += 1;
            }
        }
    }
    out.flush().map_err(io)?;
    Ok(rows)
}
