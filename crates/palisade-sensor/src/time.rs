//! Timestamp parsing for the log formats: RFC 3339 / ISO 8601 (nginx
//! `$time_iso8601`, Envoy `%START_TIME%`, HAR `startedDateTime`), nginx
//! `$time_local` (`21/Nov/2026:06:24:56 +0000`) and Unix epoch seconds with a
//! fraction (nginx `$msec`).
//!
//! Pure arithmetic on the proleptic Gregorian calendar, UTC out; not a general
//! date library (no week dates, no named zones).

/// Milliseconds since the epoch from any of the supported textual forms.
pub(crate) fn parse_any(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
    {
        return parse_epoch(s);
    }
    parse_rfc3339(s).or_else(|| parse_nginx_local(s))
}

/// `1763706296.123` (seconds, optional fraction) to milliseconds. Values with
/// 13 or more integer digits are taken as milliseconds already.
pub(crate) fn parse_epoch(s: &str) -> Option<i64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty()
        || int.len() > 16
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = int.parse().ok()?;
    if int.len() >= 13 {
        return Some(whole);
    }
    let mut ms = 0i64;
    for (i, b) in frac.bytes().take(3).enumerate() {
        ms += i64::from(b - b'0') * [100, 10, 1][i];
    }
    whole.checked_mul(1000)?.checked_add(ms)
}

fn num(b: &[u8], from: usize, len: usize) -> Option<u32> {
    let d = b.get(from..from + len)?;
    let mut n = 0u32;
    for &c in d {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u32::from(c - b'0');
    }
    Some(n)
}

/// `2026-11-21T06:24:56.123+01:00`, `...Z`, `...+0100`, space for `T`; no
/// zone means UTC.
pub(crate) fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (num(b, 0, 4)?, num(b, 5, 2)?, num(b, 8, 2)?);
    let (h, mi, se) = (num(b, 11, 2)?, num(b, 14, 2)?, num(b, 17, 2)?);
    let mut i = 19;
    let mut ms = 0i64;
    if b.get(i) == Some(&b'.') || b.get(i) == Some(&b',') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 3 {
                ms += i64::from(b[i] - b'0') * [100, 10, 1][i - start];
            }
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset_min = zone(&b[i..])?;
    civil_to_ms(y, mo, d, h, mi, se).map(|t| t + ms - offset_min * 60_000)
}

/// A zone suffix to minutes east of UTC: empty, `Z`, `+hh:mm`, `+hhmm`, `+hh`.
fn zone(z: &[u8]) -> Option<i64> {
    match z {
        [] | [b'Z'] | [b'z'] => Some(0),
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest.len() {
                2 => (num(rest, 0, 2)?, 0),
                4 => (num(rest, 0, 2)?, num(rest, 2, 2)?),
                5 if rest[2] == b':' => (num(rest, 0, 2)?, num(rest, 3, 2)?),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let off = i64::from(h * 60 + m);
            Some(if *sign == b'-' { -off } else { off })
        }
        _ => None,
    }
}

/// nginx `$time_local`: `21/Nov/2026:06:24:56 +0000`.
pub(crate) fn parse_nginx_local(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[2] != b'/'
        || b[6] != b'/'
        || b[11] != b':'
        || b[14] != b':'
        || b[17] != b':'
    {
        return None;
    }
    let d = num(b, 0, 2)?;
    const MONTHS: [&[u8]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let mo = MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(&b[3..6]))? as u32
        + 1;
    let y = num(b, 7, 4)?;
    let (h, mi, se) = (num(b, 12, 2)?, num(b, 15, 2)?, num(b, 18, 2)?);
    let offset = zone(s[20..].trim().as_bytes())?;
    civil_to_ms(y, mo, d, h, mi, se).map(|t| t - offset * 60_000)
}

fn civil_to_ms(y: u32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<i64> {
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60
    {
        return None;
    }
    let days = days_from_civil(i64::from(y), mo, d);
    Some(((days * 24 + i64::from(h)) * 60 + i64::from(mi)) * 60_000 + i64::from(s) * 1000)
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_agree() {
        // 2026-11-21T06:24:56.123Z
        let t = 1_795_242_296_123;
        assert_eq!(parse_any("2026-11-21T06:24:56.123Z"), Some(t));
        assert_eq!(parse_any("2026-11-21T07:24:56.123+01:00"), Some(t));
        assert_eq!(parse_any("2026-11-21T01:24:56.123456-0500"), Some(t));
        assert_eq!(parse_any("1795242296.123"), Some(t));
        assert_eq!(parse_any("1795242296123"), Some(t));
        assert_eq!(parse_any("21/Nov/2026:06:24:56 +0000"), Some(t - 123));
        assert_eq!(parse_any("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_any("2024-02-29T00:00:00Z"), Some(1_709_164_800_000));
        for bad in [
            "2026-02-30T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "21/Foo/2026:06:24:56 +0000",
            "",
            "-",
            "1.2.3",
            "2026-11-21T06:24:56+99:00",
        ] {
            assert_eq!(parse_any(bad), None, "{bad}");
        }
    }
}
