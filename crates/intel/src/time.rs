//! Dates as sources write them (`2023-08-28`, `2021-11-15 10:20:30.123`,
//! `2024-02-26T00:00:00Z`) to Unix seconds (UTC) and back.

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Unix seconds of a calendar date at midnight UTC; `None` when the date does
/// not exist.
pub fn date_to_unix(y: i64, m: u32, d: u32) -> Option<i64> {
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) || !(1..=9999).contains(&y) {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400)
}

fn num(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses `YYYY-MM-DD`, optionally followed by `T` or a space and
/// `HH:MM[:SS[.fraction]]`, optionally followed by `Z` or `+00:00`; the time is
/// taken as UTC and fractions are dropped. `None` when it is not such a date.
pub fn parse_datetime(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, time) = match s.find(['T', ' ']) {
        Some(i) => (&s[..i], Some(s[i + 1..].trim())),
        None => (s, None),
    };
    let mut parts = date.splitn(3, '-');
    let y = num(parts.next()?)?;
    let m = num(parts.next()?)?;
    let d = num(parts.next()?)?;
    if date.len() != 10 {
        return None;
    }
    let mut secs = date_to_unix(i64::from(y), m, d)?;
    if let Some(t) = time.filter(|t| !t.is_empty()) {
        let t = t
            .strip_suffix('Z')
            .or_else(|| t.strip_suffix("+00:00"))
            .unwrap_or(t);
        let t = t.split('.').next()?;
        let mut hms = t.split(':');
        let h = num(hms.next()?)?;
        let mi = num(hms.next()?)?;
        let se = match hms.next() {
            Some(x) => num(x)?,
            None => 0,
        };
        if hms.next().is_some() || h > 23 || mi > 59 || se > 60 {
            return None;
        }
        secs += i64::from(h * 3600 + mi * 60 + se);
    }
    Some(secs)
}

/// `YYYY-MM-DD` (when at midnight) or `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_time(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = chainhound_types::time::civil_from_days(days);
    if rem == 0 {
        format!("{y:04}-{m:02}-{d:02}")
    } else {
        format!(
            "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_datetime("1970-01-01"), Some(0));
        assert_eq!(parse_datetime("2024-03-01"), Some(1_709_251_200));
        assert_eq!(
            parse_datetime("2021-11-15 00:00:01.123456"),
            Some(1_636_934_401)
        );
        assert_eq!(parse_datetime("2024-03-01T00:00:00Z"), Some(1_709_251_200));
        assert_eq!(parse_datetime("2023-02-29"), None);
        assert_eq!(parse_datetime("2023-2-1"), None);
        assert_eq!(parse_datetime("yesterday"), None);
        assert_eq!(parse_datetime("2024-03-01 25:00"), None);
        assert_eq!(format_time(1_709_251_200), "2024-03-01");
        assert_eq!(format_time(1_636_934_401), "2021-11-15 00:00:01 UTC");
        for secs in [0, 86_399, 951_782_400, 4_102_444_800] {
            let s = format_time(secs);
            assert_eq!(
                parse_datetime(s.trim_end_matches(" UTC")),
                Some(secs),
                "{s}"
            );
        }
    }
}
