//! Small formatting helpers: UTC times, the block subsidy.

use chainhound_btc::Network;

/// Unix seconds as `YYYY-MM-DD HH:MM:SS UTC` (proleptic Gregorian).
pub fn utc(ts: u32) -> String {
    let days = i64::from(ts) / 86_400;
    let secs = i64::from(ts) % 86_400;
    let (y, m, d) = chainhound_types::time::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// New coins a block at `height` may create.
pub fn subsidy(network: Network, height: u32) -> u64 {
    let interval = if network == Network::Regtest {
        150
    } else {
        210_000
    };
    let halvings = height / interval;
    if halvings >= 64 {
        0
    } else {
        (50 * 100_000_000u64) >> halvings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_times() {
        assert_eq!(utc(1_231_006_505), "2009-01-03 18:15:05 UTC");
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_709_251_200), "2024-03-01 00:00:00 UTC");
    }

    #[test]
    fn halvings() {
        assert_eq!(subsidy(Network::Main, 0), 5_000_000_000);
        assert_eq!(subsidy(Network::Main, 556_000), 1_250_000_000);
        assert_eq!(subsidy(Network::Regtest, 150), 2_500_000_000);
        assert_eq!(subsidy(Network::Main, 210_000 * 64), 0);
    }
}
