//! Server-side request forgery: URLs (any scheme) whose host is loopback,
//! link-local (cloud metadata), private, unspecified or a name that resolves
//! there (`localhost`, `*.internal`), in any spelling of the address:
//! decimal (`2130706433`), octal (`0177.1`), hex (`0x7f000001`), short
//! (`127.1`), IPv6 (`[::1]`, `[::ffff:127.0.0.1]`), and dangerous schemes
//! (`gopher://`, `dict://`) whatever the host.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use palisade_core::Severity;

use super::{Hit, Subject};

/// Folds look-alike characters browsers and resolvers accept in host names
/// (`。` `．` `｡` as dots, circled and full-width letters and digits) to ASCII.
fn fold_confusables(s: &str) -> std::borrow::Cow<'_, str> {
    if s.is_ascii() {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(
        s.chars()
            .map(|c| match c {
                '\u{3002}' | '\u{ff0e}' | '\u{ff61}' => '.',
                '\u{24d0}'..='\u{24e9}' => char::from(b'a' + (c as u32 - 0x24d0) as u8),
                '\u{24b6}'..='\u{24cf}' => char::from(b'a' + (c as u32 - 0x24b6) as u8),
                '\u{2460}'..='\u{2468}' => char::from(b'1' + (c as u32 - 0x2460) as u8),
                '\u{24ea}' => '0',
                '\u{ff10}'..='\u{ff19}' => char::from(b'0' + (c as u32 - 0xff10) as u8),
                '\u{ff41}'..='\u{ff5a}' => char::from(b'a' + (c as u32 - 0xff41) as u8),
                '\u{ff21}'..='\u{ff3a}' => char::from(b'a' + (c as u32 - 0xff21) as u8),
                _ => c,
            })
            .collect(),
    )
}

pub fn detect(s: &Subject<'_>) -> Option<Hit> {
    // every URL read below has a `:` (`://`, `http:`, `https:`), and folding
    // look-alikes never makes one
    memchr::memchr(b':', s.lower.as_bytes())?;
    let folded = fold_confusables(s.lower);
    let lower: &str = &folded;
    // `http:2852039166`, `http:/127.1`: schemes without both slashes
    let find = |needle: &str| memchr::memmem::find(lower.as_bytes(), needle.as_bytes());
    let (at, sep_len) = match find("://") {
        Some(a) => (a, 3),
        None => {
            let a = find("http:").or_else(|| find("https:"))?;
            let colon = a + lower[a..].find(':')?;
            let after = lower[colon + 1..].trim_start_matches('/');
            if !after.starts_with(|c: char| c.is_ascii_digit() || c == '[') {
                return None;
            }
            (colon, 1 + lower[colon + 1..].len() - after.len())
        }
    };
    let scheme_start = lower[..at]
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '.' || c == '-'))
        .map_or(0, |p| {
            p + lower[p..].chars().next().map_or(1, char::len_utf8)
        });
    let scheme = lower.get(scheme_start..at).unwrap_or("");
    if scheme.is_empty() {
        return None;
    }
    let rest = lower.get(at + sep_len..).unwrap_or("");
    let authority_end = rest.find(['/', '?', '#', ' ', '\\']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let hostport = authority.rsplit('@').next().unwrap_or(authority);
    let host = if let Some(v6) = hostport.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        hostport.split(':').next().unwrap_or("")
    };
    let host = host.trim_end_matches('.');
    if matches!(
        scheme,
        "gopher" | "dict" | "ldap" | "tftp" | "jar" | "netdoc" | "sftp"
    ) {
        return Some(
            Hit::new(
                "ssrf",
                "ssrf.scheme",
                Severity::Critical,
                90,
                format!("URL with the {scheme}:// scheme"),
            )
            .near(lower, scheme_start),
        );
    }
    let class = classify_host(host)?;
    let (sev, conf, msg) = match class {
        HostClass::Metadata => (Severity::Critical, 95, "URL to a cloud metadata service"),
        HostClass::Loopback => (Severity::Critical, 90, "URL to the loopback interface"),
        HostClass::Unspecified => (Severity::Critical, 90, "URL to the unspecified address"),
        HostClass::Private => (Severity::High, 85, "URL to a private network address"),
        HostClass::Internal => (Severity::High, 75, "URL to an internal host name"),
    };
    // an unusual spelling of an address is itself evidence of evasion
    let conf = if host.parse::<Ipv4Addr>().is_err()
        && class != HostClass::Internal
        && !host.contains(':')
        && host != "localhost"
    {
        100
    } else {
        conf
    };
    Some(Hit::new("ssrf", "ssrf.internal", sev, conf, msg).near(lower, scheme_start))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostClass {
    Loopback,
    Metadata,
    Private,
    Unspecified,
    Internal,
}

/// The class of a host when it is not a public one.
pub fn classify_host(host: &str) -> Option<HostClass> {
    if host.is_empty() {
        return None;
    }
    if host == "localhost"
        || host.ends_with(".localhost")
        || host == "localtest.me"
        || host.ends_with(".localtest.me")
        || host == "ip6-localhost"
    {
        return Some(HostClass::Loopback);
    }
    if matches!(
        host,
        "metadata.google.internal"
            | "metadata"
            | "instance-data"
            | "metadata.azure.com"
            | "192.0.0.192"
            | "100.100.100.200"
            | "fd00:ec2::254"
    ) || host.starts_with("169.254.169.254")
    {
        return Some(HostClass::Metadata);
    }
    if host.ends_with(".internal")
        || host.ends_with(".local")
        || host.ends_with(".svc.cluster.local")
        || host == "kubernetes.default"
    {
        return Some(HostClass::Internal);
    }
    // nip.io-style names embedding an address: 127.0.0.1.nip.io
    for suffix in [".nip.io", ".sslip.io", ".xip.io"] {
        if let Some(inner) = host.strip_suffix(suffix) {
            let tail: Vec<&str> = inner.rsplitn(5, ['.', '-']).take(4).collect();
            let ip: Vec<&str> = tail.into_iter().rev().collect();
            if let Some(c) = parse_ipv4_any(&ip.join(".")).and_then(|a| class_of(IpAddr::V4(a))) {
                return Some(c);
            }
        }
    }
    if host.contains(':') {
        let v6: Ipv6Addr = host.split('%').next().unwrap_or("").parse().ok()?;
        return class_of(IpAddr::V6(v6));
    }
    let v4 = parse_ipv4_any(host)?;
    class_of(IpAddr::V4(v4))
}

fn class_of(ip: IpAddr) -> Option<HostClass> {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            if a.is_loopback() {
                Some(HostClass::Loopback)
            } else if a.is_unspecified() || o[0] == 0 {
                Some(HostClass::Unspecified)
            } else if a.is_link_local() {
                Some(HostClass::Metadata)
            } else if a.is_private()
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
            {
                Some(HostClass::Private)
            } else {
                None
            }
        }
        IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return class_of(IpAddr::V4(v4));
            }
            let seg = a.segments();
            if a.is_loopback() {
                Some(HostClass::Loopback)
            } else if a.is_unspecified() {
                Some(HostClass::Unspecified)
            } else if seg[0] & 0xffc0 == 0xfe80 {
                Some(HostClass::Metadata)
            } else if seg[0] & 0xfe00 == 0xfc00 {
                Some(HostClass::Private)
            } else if seg[..6] == [0, 0, 0, 0, 0, 0] {
                // IPv4-compatible ::a.b.c.d
                let v4 = Ipv4Addr::new(
                    (seg[6] >> 8) as u8,
                    seg[6] as u8,
                    (seg[7] >> 8) as u8,
                    seg[7] as u8,
                );
                class_of(IpAddr::V4(v4))
            } else {
                None
            }
        }
    }
}

/// An IPv4 address as `inet_aton` reads it: one to four parts, each decimal,
/// octal (leading `0`) or hex (`0x`); the last part fills the remaining bytes.
pub fn parse_ipv4_any(s: &str) -> Option<Ipv4Addr> {
    // (what any part can hold: digits, hex digits, the `x` of `0x`, a `+`
    // that integer parsing accepts, and the dots between parts)
    if !s
        .bytes()
        .all(|b| b.is_ascii_hexdigit() || matches!(b, b'.' | b'x' | b'+'))
    {
        return None;
    }
    parse_ipv4_parts(s)
}

/// [`parse_ipv4_any`] without its character pre-check.
fn parse_ipv4_parts(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.is_empty() || parts.len() > 4 || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let mut nums = Vec::with_capacity(4);
    for p in &parts {
        let v = if let Some(h) = p.strip_prefix("0x") {
            if h.is_empty() {
                0
            } else {
                u64::from_str_radix(h, 16).ok()?
            }
        } else if p.len() > 1 && p.starts_with('0') {
            u64::from_str_radix(&p[1..], 8).ok()?
        } else {
            p.parse::<u64>().ok()?
        };
        nums.push(v);
    }
    let last = *nums.last()?;
    let lead = &nums[..nums.len() - 1];
    if lead.iter().any(|&v| v > 255) {
        return None;
    }
    let rest_bytes = 4 - lead.len();
    if last >= 1u64 << (8 * rest_bytes) {
        return None;
    }
    let mut v: u64 = 0;
    for &p in lead {
        v = (v << 8) | p;
    }
    v = (v << (8 * rest_bytes)) | last;
    u32::try_from(v).ok().map(Ipv4Addr::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::test_util::run;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn ipv4_precheck_changes_nothing(s in "[0-9a-fA-FxX.+ _gz:\\-]{0,14}") {
            prop_assert_eq!(parse_ipv4_any(&s), parse_ipv4_parts(&s));
        }
    }

    #[test]
    fn ipv4_spellings_with_every_byte() {
        for c in 0u8..128 {
            let c = char::from(c);
            for s in [
                format!("1{c}2"),
                format!("{c}1"),
                format!("1{c}"),
                format!("0x{c}1"),
                format!("0{c}7"),
                format!("127.0.0.{c}1"),
            ] {
                assert_eq!(parse_ipv4_any(&s), parse_ipv4_parts(&s), "{s:?}");
            }
        }
    }

    #[test]
    fn spellings() {
        for a in [
            "http://127.0.0.1/admin",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://0/",
            "http://[::1]:8080/",
            "http://[::ffff:127.0.0.1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://metadata.google.internal/computeMetadata/v1/",
            "https://user@localhost:8443/x",
            "gopher://evil.example:70/_x",
            "http://10.0.0.5/internal",
            "http%3A%2F%2F127.0.0.1%2F",
            "http://127.0.0.1.nip.io/",
        ] {
            assert!(run(detect, a).is_some(), "{a}");
        }
        for b in [
            "https://merchant.example/webhook",
            "http://203.0.113.10/callback",
            "https://api.stripe.com/v1",
            "see http://1.2.3.4.example.com",
            "ratio 10:1",
        ] {
            assert!(run(detect, b).is_none(), "{b}");
        }
    }
}
