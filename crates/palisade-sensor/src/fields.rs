//! Building blocks every format needs to fill an `Exchange`: capped body
//! samples, generated ids, address and request-line parsing, header names.
//!
//! No format knowledge lives here beyond HTTP itself.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use bytes::Bytes;
use palisade_core::Body;

/// The largest body sample kept per request or response.
pub const BODY_SAMPLE_LIMIT: usize = 64 * 1024;

/// A body sample of `data`, cut to [`BODY_SAMPLE_LIMIT`]; `full_size` is the
/// size the source reported when it is larger than the data given.
pub(crate) fn body_bytes(data: impl Into<Bytes>, full_size: Option<u64>) -> Body {
    let mut data: Bytes = data.into();
    let size = full_size.unwrap_or(0).max(data.len() as u64);
    if data.len() > BODY_SAMPLE_LIMIT {
        data.truncate(BODY_SAMPLE_LIMIT);
    }
    Body {
        truncated: (data.len() as u64) < size,
        size,
        data,
    }
}

/// A text body sample, cut on a character boundary.
pub(crate) fn body_text(text: &str, full_size: Option<u64>) -> Body {
    let size = full_size.unwrap_or(0).max(text.len() as u64);
    let mut end = text.len().min(BODY_SAMPLE_LIMIT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Body {
        data: Bytes::copy_from_slice(&text.as_bytes()[..end]),
        size,
        truncated: (end as u64) < size,
    }
}

/// A body known only by its size (logs record sizes, not contents).
pub(crate) fn body_size_only(size: u64) -> Body {
    Body {
        data: Bytes::new(),
        size,
        truncated: size > 0,
    }
}

/// Caps a body that arrived whole (NDJSON) to the sample limit.
pub(crate) fn cap(body: Body) -> Body {
    if body.data.len() <= BODY_SAMPLE_LIMIT {
        return body;
    }
    let size = body.size.max(body.data.len() as u64);
    Body {
        data: body.data.slice(..BODY_SAMPLE_LIMIT),
        size,
        truncated: true,
    }
}

/// A deterministic id for a record that carries none: the same record always
/// gets the same id, so re-ingesting a file does not invent new requests.
pub(crate) fn generated_id(record: &[u8]) -> String {
    let h = blake3::hash(record);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(18);
    s.push_str("s-");
    for b in &h.as_bytes()[..8] {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 15)] as char);
    }
    s
}

/// `1.2.3.4`, `1.2.3.4:5678`, `::1`, `[::1]:443`: the address, and the
/// socket address when a port was given. `unix:` peers and garbage give None.
pub(crate) fn parse_addr(s: &str) -> Option<(IpAddr, Option<SocketAddr>)> {
    let s = s.trim();
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some((sa.ip(), Some(sa)));
    }
    if let Ok(ip) = s
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return Some((ip, None));
    }
    None
}

/// The leftmost parseable address of an `X-Forwarded-For` list.
pub(crate) fn first_forwarded(xff: &str) -> Option<IpAddr> {
    xff.split(',').find_map(|p| parse_addr(p).map(|(ip, _)| ip))
}

pub(crate) const UNKNOWN_IP: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

/// Splits `GET /p?q HTTP/1.1` into method, target and version. Two tokens
/// (`GET /`) are HTTP/0.9; a target with spaces (a malformed request nginx
/// still logged) is kept whole.
pub(crate) fn split_request_line(line: &str) -> Option<(&str, &str, &str)> {
    let line = line.trim();
    let (method, rest) = line.split_once(' ')?;
    let rest = rest.trim();
    if method.is_empty() || rest.is_empty() {
        return None;
    }
    match rest.rsplit_once(' ') {
        Some((target, version)) if version.starts_with("HTTP/") => {
            Some((method, target.trim(), version))
        }
        _ => Some((method, rest, "HTTP/0.9")),
    }
}

/// nginx/Envoy variable suffix to a header name: `user_agent` → `user-agent`.
pub(crate) fn header_name(var: &str) -> String {
    var.bytes()
        .map(|b| {
            if b == b'_' {
                '-'
            } else {
                b.to_ascii_lowercase() as char
            }
        })
        .collect()
}

/// `HTTP/2.0`, `h2`, `HTTP/2` → `HTTP/2`; `http/1.1` → `HTTP/1.1`.
pub(crate) fn normalize_version(v: &str) -> String {
    let t = v.trim();
    match t.to_ascii_lowercase().as_str() {
        "" => "HTTP/1.1".into(),
        "h2" | "h2c" | "http/2" | "http/2.0" => "HTTP/2".into(),
        "h3" | "http/3" | "http/3.0" => "HTTP/3".into(),
        "http/1.1" => "HTTP/1.1".into(),
        "http/1.0" => "HTTP/1.0".into(),
        _ => t.chars().take(16).collect(),
    }
}

/// `API.example:8443` → `api.example`; `[::1]:443` → `::1`: the exchange's
/// `request.host` carries no port and is lower case, as the gateway writes it.
pub(crate) fn host_without_port(host: &str) -> String {
    let host = host.trim();
    let bare = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        match host.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') && p.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => host,
        }
    };
    bare.to_ascii_lowercase()
}

/// TLS version names as the gateway writes them (rustls: `TLSv1_3`), so
/// passive and inline exchanges agree: `TLSv1.3` (nginx, Envoy) → `TLSv1_3`.
pub(crate) fn normalize_tls_version(v: &str) -> String {
    match v.trim() {
        "TLSv1" | "TLSv1.0" => "TLSv1_0".into(),
        "TLSv1.1" => "TLSv1_1".into(),
        "TLSv1.2" => "TLSv1_2".into(),
        "TLSv1.3" => "TLSv1_3".into(),
        other => other.chars().take(32).collect(),
    }
}

/// Seconds (as logged) to microseconds, saturating.
pub(crate) fn secs_to_us(s: f64) -> u64 {
    (s * 1_000_000.0).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        assert_eq!(
            split_request_line("GET /a?b=1 HTTP/1.1"),
            Some(("GET", "/a?b=1", "HTTP/1.1"))
        );
        assert_eq!(split_request_line("GET /"), Some(("GET", "/", "HTTP/0.9")));
        assert_eq!(
            split_request_line("GET /a b HTTP/1.0"),
            Some(("GET", "/a b", "HTTP/1.0"))
        );
        assert_eq!(split_request_line("\\x16\\x03\\x01"), None);
        assert_eq!(split_request_line(""), None);
    }

    #[test]
    fn bodies_are_capped_on_char_boundaries() {
        let big = "é".repeat(BODY_SAMPLE_LIMIT);
        let b = body_text(&big, None);
        assert!(b.truncated);
        assert_eq!(b.size, big.len() as u64);
        assert!(b.text().is_some());
        assert!(b.data.len() <= BODY_SAMPLE_LIMIT);
        let s = body_size_only(120);
        assert!(s.truncated && s.data.is_empty());
    }

    #[test]
    fn addresses() {
        assert_eq!(
            parse_addr("[2001:db8::1]:443").unwrap().0,
            "2001:db8::1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            parse_addr("203.0.113.9:5100").unwrap().1.unwrap().port(),
            5100
        );
        assert!(parse_addr("unix:").is_none());
        assert_eq!(
            first_forwarded("unknown, 198.51.100.2, 10.0.0.1"),
            Some("198.51.100.2".parse().unwrap())
        );
        assert_eq!(host_without_port("api.example:8443"), "api.example");
        assert_eq!(host_without_port("[2001:db8::1]:443"), "2001:db8::1");
        assert_eq!(host_without_port("2001:db8::1"), "2001:db8::1");
        assert_eq!(normalize_tls_version("TLSv1.3"), "TLSv1_3");
    }
}
