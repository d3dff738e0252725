//! CRLF and header injection: a line break in a URL parameter, path,
//! cookie or header value followed by something that reads as a header or a
//! second response (`%0d%0aSet-Cookie:`, `\r\nLocation:`, `HTTP/1.1 200`).
//! Bodies are not read: JSON text fields carry newlines legitimately.

use palisade_core::Severity;

use super::{Hit, Lazy, Subject};
use crate::extract::Part;

static HEADER_AFTER_BREAK: Lazy = Lazy::new(
    r"(?i)[\r\n]\s*([a-z][a-z0-9-]{1,40}\s*:|http/\d|<|(get|post|head|put|delete|options|trace|connect|patch) +\S+)",
);
static REQUEST_IN_VALUE: Lazy = Lazy::new(
    r"(?i)\b(get|post|head|put|delete|options|trace|connect|patch) +(/|https?://)\S* +http/\d",
);

pub fn detect(s: &Subject<'_>) -> Option<Hit> {
    if s.part.is_body() {
        return None;
    }
    let d = s.decoded;
    if !d.bytes().any(|b| b == b'\r' || b == b'\n') {
        // a whole request line inside a value: request splitting / smuggling
        if s.has("http/")
            && let Some(m) = REQUEST_IN_VALUE.get().find(d)
        {
            return Some(
                Hit::new(
                    "crlf",
                    "crlf.request_in_value",
                    Severity::Critical,
                    85,
                    "an HTTP request line inside a value",
                )
                .near(d, m.start()),
            );
        }
        return None;
    }
    if let Some(m) = HEADER_AFTER_BREAK.get().find(d) {
        return Some(
            Hit::new(
                "crlf",
                "crlf.header_injection",
                Severity::Critical,
                90,
                "line break followed by a header",
            )
            .near(d, m.start()),
        );
    }
    if s.part.is_header() || s.part == Part::Path {
        return Some(
            Hit::new(
                "crlf",
                "crlf.line_break",
                Severity::High,
                80,
                "line break in a header or the path",
            )
            .near(d, 0),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::test_util::{run, run_in};

    #[test]
    fn shapes() {
        assert!(run(detect, "x%0d%0aSet-Cookie:%20sid=1").is_some());
        assert!(run(detect, "%0aLocation: http://evil").is_some());
        assert!(run(detect, "line one%0aline two").is_none());
        assert!(run_in(detect, Part::Json, "note", "a\nTo: b").is_none());
    }
}
