//! UTC rendering of millisecond timestamps for summaries and timelines.
//!
//! The calendar arithmetic lives in `palisade_core::clock`.

/// `2026-11-21 06:41:03 UTC`.
pub(crate) fn utc(ms: i64) -> String {
    let t = palisade_core::Utc::from_ms(ms);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// `06:41:03`.
pub(crate) fn hms(ms: i64) -> String {
    let sod = ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", sod / 3600, (sod % 3600) / 60, sod % 60)
}

/// A duration in words: `45 s`, `12 min`, `3 h 5 min`.
pub(crate) fn span(ms: i64) -> String {
    let s = (ms / 1000).max(0);
    if s < 120 {
        format!("{s} s")
    } else if s < 7200 {
        format!("{} min", s / 60)
    } else {
        format!("{} h {} min", s / 3600, (s % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_known_instants() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(hms(1_700_000_000_000), "22:13:20");
        assert_eq!(span(3_000), "3 s");
        assert_eq!(span(600_000), "10 min");
    }
}
