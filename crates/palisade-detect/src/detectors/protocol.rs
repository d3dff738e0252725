//! Protocol abuse: request smuggling shapes (Content-Length with
//! Transfer-Encoding, repeated or malformed lengths, obfuscated
//! `Transfer-Encoding`), bad and unknown methods, bad versions, NUL and
//! control bytes in the head, invalid percent-encoding and overlong UTF-8 in
//! the target, oversize heads, and bodies on methods that take none.

use palisade_core::{Phase, RequestPart, Severity};

use super::Hit;

const KNOWN_METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
const RISKY_METHODS: &[&str] = &[
    "TRACE",
    "TRACK",
    "CONNECT",
    "DEBUG",
    "PROPFIND",
    "PROPPATCH",
    "MKCOL",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
    "SEARCH",
];

fn hit(
    rule: &'static str,
    sev: Severity,
    conf: u8,
    msg: impl Into<std::borrow::Cow<'static, str>>,
) -> Hit {
    Hit::new("protocol", rule, sev, conf, msg).phase(Phase::Probing)
}

/// The `charset` parameter of a content type, lower-cased and unquoted.
pub fn charset_param(ct: &str) -> Option<String> {
    ct.to_ascii_lowercase().split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim() == "charset").then(|| v.trim().trim_matches(['"', '\'']).to_string())
    })
}

/// How much a body (or multipart part) charset other than UTF-8 / Latin-1
/// weighs: EBCDIC, UTF-7 and wide encodings are how payloads are hidden
/// from byte-level inspection (high); a regional charset (Shift_JIS, Big5,
/// GBK, EUC-KR, KOI8-R...) is a legitimate client, only noted (low); an
/// unknown name (`garbage`, `utf-88`) is no client library's doing (high).
/// `None` for the charsets the engine reads.
pub fn charset_risk(cs: &str) -> Option<(Severity, u8)> {
    if matches!(cs, "utf-8" | "utf8" | "us-ascii" | "ascii" | "latin1")
        || cs.starts_with("iso-8859-")
        || cs.starts_with("windows-125")
    {
        return None;
    }
    const REGIONAL: &[&str] = &[
        "shift_jis",
        "shift-jis",
        "sjis",
        "windows-31j",
        "euc-jp",
        "iso-2022-jp",
        "euc-kr",
        "iso-2022-kr",
        "ks_c_5601-1987",
        "gb2312",
        "gbk",
        "gb18030",
        "big5",
        "big5-hkscs",
        "koi8-r",
        "koi8-u",
        "tis-620",
        "windows-874",
        "macintosh",
        "cp850",
        "cp866",
        "cp1252",
        "cp1251",
        "ibm866",
    ];
    if REGIONAL.contains(&cs) {
        return Some((Severity::Low, 60));
    }
    let evasive = [
        "ibm", "cp0", "cp5", "cp8", "cp1026", "cp1140", "utf-7", "utf7", "utf-16", "utf16",
        "utf-32", "utf32", "ucs-",
    ]
    .iter()
    .any(|p| cs.starts_with(p))
        || cs.contains("ebcdic");
    Some(if evasive {
        (Severity::High, 100)
    } else {
        (Severity::High, 90)
    })
}

pub fn detect(req: &RequestPart, head: bool, out: &mut Vec<(String, Hit)>) {
    if !head {
        if !req.body.data.is_empty() && matches!(req.method.as_str(), "GET" | "HEAD") {
            out.push((
                "body".into(),
                hit(
                    "protocol.body_on_get",
                    Severity::Low,
                    60,
                    "body on a GET or HEAD request",
                ),
            ));
        }
        return;
    }
    let m = req.method.as_str();
    if !m
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b == b'-' || b == b'_')
        || m.is_empty()
        || m.len() > 16
    {
        out.push((
            "method".into(),
            hit(
                "protocol.bad_method",
                Severity::High,
                100,
                "malformed method",
            )
            .near(m, 0),
        ));
    } else if RISKY_METHODS.contains(&m) {
        out.push((
            "method".into(),
            hit(
                "protocol.risky_method",
                Severity::Medium,
                80,
                format!("method {m} is not served by APIs"),
            )
            .near(m, 0),
        ));
    } else if !KNOWN_METHODS.contains(&m) {
        out.push((
            "method".into(),
            hit(
                "protocol.unknown_method",
                Severity::Medium,
                80,
                "unknown method",
            )
            .near(m, 0),
        ));
    }
    if !matches!(
        req.version.as_str(),
        "HTTP/1.1" | "HTTP/1.0" | "HTTP/2" | "HTTP/2.0" | "HTTP/3" | "HTTP/3.0" | ""
    ) {
        out.push((
            "version".into(),
            hit(
                "protocol.bad_version",
                Severity::Medium,
                80,
                "unknown HTTP version",
            )
            .near(&req.version, 0),
        ));
    }
    // request smuggling
    let mut cls: Vec<&str> = Vec::new();
    let mut tes: Vec<&str> = Vec::new();
    for (n, v) in &req.headers {
        if n.eq_ignore_ascii_case("content-length") {
            cls.push(v.as_str());
        } else if n.eq_ignore_ascii_case("transfer-encoding") {
            tes.push(v.as_str());
        } else if n.trim().eq_ignore_ascii_case("transfer-encoding")
            || n.trim().eq_ignore_ascii_case("content-length")
        {
            out.push((
                format!("header.{}", n.to_ascii_lowercase()),
                hit(
                    "protocol.smuggling",
                    Severity::Critical,
                    90,
                    "framing header with whitespace in its name",
                ),
            ));
        }
        if n.is_empty() || n.bytes().any(|b| !TOKEN[usize::from(b)]) {
            out.push((
                "header".into(),
                hit(
                    "protocol.bad_header_name",
                    Severity::High,
                    85,
                    "malformed header name",
                )
                .near(n, 0),
            ));
        }
        if v.bytes()
            .any(|b| b == 0 || (b < 0x20 && b != b'\t') || b == 0x7f)
        {
            out.push((
                format!("header.{}", n.to_ascii_lowercase()),
                hit(
                    "protocol.control_chars",
                    Severity::High,
                    100,
                    "control characters in a header value",
                ),
            ));
        }
        if v.len() > 8192 && !n.eq_ignore_ascii_case("cookie") {
            out.push((
                format!("header.{}", n.to_ascii_lowercase()),
                hit(
                    "protocol.oversize_header",
                    Severity::Low,
                    80,
                    "header value longer than 8 KiB",
                ),
            ));
        }
    }
    if cls
        .iter()
        .any(|v| v.trim().is_empty() || !v.trim().bytes().all(|b| b.is_ascii_digit()))
    {
        out.push((
            "header.content-length".into(),
            hit(
                "protocol.bad_content_length",
                Severity::High,
                90,
                "Content-Length is not a number",
            ),
        ));
    }
    if cls.len() > 1 && cls.windows(2).any(|w| w[0].trim() != w[1].trim()) {
        out.push((
            "header.content-length".into(),
            hit(
                "protocol.smuggling",
                Severity::Critical,
                95,
                "conflicting Content-Length headers",
            ),
        ));
    }
    if !tes.is_empty() && !cls.is_empty() {
        out.push((
            "header.transfer-encoding".into(),
            hit(
                "protocol.smuggling",
                Severity::Critical,
                90,
                "both Content-Length and Transfer-Encoding",
            ),
        ));
    }
    if tes.len() > 1
        || tes.iter().any(|t| {
            !t.trim().eq_ignore_ascii_case("chunked")
                && !t.trim().eq_ignore_ascii_case("identity")
                && !t.to_ascii_lowercase().trim().ends_with(", chunked")
        })
    {
        out.push((
            "header.transfer-encoding".into(),
            hit(
                "protocol.smuggling",
                Severity::Critical,
                85,
                "obfuscated Transfer-Encoding",
            ),
        ));
    }
    // a body charset other than UTF-8 / Latin-1 hides payloads from inspection
    if let Some(ct) = req.content_type()
        && let Some(cs) = charset_param(ct)
        && let Some((sev, conf)) = charset_risk(&cs)
    {
        out.push((
            "header.content-type".into(),
            hit(
                "protocol.charset",
                sev,
                conf,
                format!("body charset {cs} is not inspected as such"),
            ),
        ));
    }
    // the target
    let t = req.target.as_bytes();
    if t.iter().any(|&b| b < 0x20 || b == 0x7f) {
        out.push((
            "target".into(),
            hit(
                "protocol.control_chars",
                Severity::High,
                100,
                "control characters in the request target",
            ),
        ));
    }
    if req.target.contains("%00") || req.target.to_ascii_lowercase().contains("%u0000") {
        out.push((
            "target".into(),
            hit(
                "protocol.nul",
                Severity::High,
                100,
                "encoded NUL byte in the request target",
            ),
        ));
    }
    let mut layers = crate::decode::Layers::default();
    let _ = crate::decode::percent_once(&req.target, &mut layers);
    if layers.invalid {
        out.push((
            "target".into(),
            hit(
                "protocol.bad_encoding",
                Severity::Medium,
                70,
                "invalid percent-encoding in the request target",
            ),
        ));
    }
    if layers.overlong || {
        let l = req.target.to_ascii_lowercase();
        l.contains("%c0%") || l.contains("%c1%") || l.contains("%e0%80")
    } {
        out.push((
            "target".into(),
            hit(
                "protocol.overlong_utf8",
                Severity::High,
                90,
                "overlong UTF-8 in the request target",
            ),
        ));
    }
    if req.target.len() > 8192 {
        out.push((
            "target".into(),
            hit(
                "protocol.oversize_target",
                Severity::Low,
                80,
                "request target longer than 8 KiB",
            ),
        ));
    }
    if let Some(r) = req.header("range").or_else(|| req.header("request-range")) {
        let specs = r.split_once('=').map_or(r, |(_, v)| v).split(',');
        // "5-0": a last byte before the first one, only sent to make a
        // server build many overlapping parts (CVE-2011-3192)
        let backwards = specs.clone().any(|spec| {
            let (a, b) = spec.trim().split_once('-').unwrap_or(("", ""));
            matches!((a.parse::<u64>(), b.parse::<u64>()), (Ok(a), Ok(b)) if b < a)
        });
        let n = specs.count();
        if backwards || n > 64 {
            out.push((
                "header.range".into(),
                hit(
                    "protocol.range_abuse",
                    Severity::High,
                    90,
                    "backwards or excessive byte ranges (range amplification)",
                ),
            ));
        } else if n >= 6 {
            out.push((
                "header.range".into(),
                hit(
                    "protocol.range_abuse",
                    Severity::Medium,
                    80,
                    "many byte ranges",
                ),
            ));
        }
    }
    // Struts2 OGNL (CVE-2017-5638) and EL expressions in structural headers
    for (n, v) in &req.headers {
        if let Some(name) = ["content-type", "content-disposition", "accept"]
            .into_iter()
            .find(|h| n.eq_ignore_ascii_case(h))
            && expression_in_header(v)
        {
            out.push((
                format!("header.{name}"),
                Hit::new(
                    "protocol",
                    "protocol.header_expression",
                    Severity::Critical,
                    95,
                    format!("OGNL or EL expression in the {name} header"),
                )
                .near(v, 0),
            ));
        }
    }
    if !req.target.starts_with('/')
        && !req.target.starts_with("http://")
        && !req.target.starts_with("https://")
        && req.target != "*"
    {
        out.push((
            "target".into(),
            hit(
                "protocol.bad_target",
                Severity::Medium,
                80,
                "request target is not a path",
            )
            .near(&req.target, 0),
        ));
    }
}

/// Bytes of an RFC 9110 token (header names).
static TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        c += 1;
    }
    t
};

/// `%{(#_memberaccess...)}`, `${...}`, `#context[...]`: an expression an
/// OGNL or EL evaluator would run, where only a media type belongs.
fn expression_in_header(v: &str) -> bool {
    if memchr::memchr3(b'{', b'#', b'@', v.as_bytes()).is_none() {
        return false;
    }
    let l = v.to_ascii_lowercase();
    l.contains("%{") && l.contains('}')
        || l.contains("${") && l.contains('}')
        || l.contains("#_memberaccess")
        || l.contains("@ognl")
        || l.contains("(#")
        || l.contains("#context[")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(method: &str, target: &str, headers: &[(&str, &str)]) -> Vec<&'static str> {
        let req = crate::detectors::test_util::request(method, target, headers);
        let mut out = Vec::new();
        detect(&req, true, &mut out);
        out.into_iter().map(|(_, h)| h.rule_id).collect()
    }

    #[test]
    fn smuggling_and_methods() {
        assert!(
            rules(
                "POST",
                "/",
                &[("Content-Length", "5"), ("Transfer-Encoding", "chunked")]
            )
            .contains(&"protocol.smuggling")
        );
        assert!(
            rules(
                "POST",
                "/",
                &[("Content-Length", "5"), ("Content-Length", "6")]
            )
            .contains(&"protocol.smuggling")
        );
        assert!(
            rules("POST", "/", &[("Transfer-Encoding", "xchunked")])
                .contains(&"protocol.smuggling")
        );
        assert!(rules("TRACE", "/", &[]).contains(&"protocol.risky_method"));
        assert!(rules("GET", "/%c0%ae%c0%ae/", &[]).contains(&"protocol.overlong_utf8"));
        assert!(rules("GET", "/a%zz", &[]).contains(&"protocol.bad_encoding"));
        assert!(
            rules(
                "GET",
                "/",
                &[(
                    "content-type",
                    "%{(#nike='multipart/form-data').(#dm=@ognl.OgnlContext@DEFAULT_MEMBER_ACCESS)}"
                )]
            )
            .contains(&"protocol.header_expression")
        );
        assert!(
            !rules(
                "POST",
                "/",
                &[("content-type", "application/json; charset=utf-8")]
            )
            .contains(&"protocol.header_expression")
        );
        assert!(
            rules(
                "POST",
                "/",
                &[(
                    "Content-Type",
                    "application/x-www-form-urlencoded; charset=ibm037"
                )]
            )
            .contains(&"protocol.charset")
        );
        assert!(
            rules(
                "POST",
                "/",
                &[("Content-Type", "application/json; charset='utf-8'")]
            )
            .is_empty()
        );
        assert!(
            rules(
                "POST",
                "/",
                &[("Content-Type", "text/plain;charset=ISO-8859-15")]
            )
            .is_empty()
        );
        assert!(
            rules(
                "POST",
                "/v1/charges?x=1",
                &[
                    ("Content-Length", "12"),
                    ("Content-Type", "application/json")
                ]
            )
            .is_empty()
        );
    }
}
