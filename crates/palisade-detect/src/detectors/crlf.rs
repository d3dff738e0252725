//! CRLF and header injection: a line break in a URL parameter, path,
//! cookie or header value followed by something that reads as a header or a
//! second response (`%0d%0aSet-Cookie:`, `\r\nLocation:`, `HTTP/1.1 200`).
//! Bodies are read only for mail commands and headers after a break that
//! follows a single token (`a@b.example\r\nRCPT TO:...`): JSON text fields
//! carry newlines legitimately.

use palisade_core::Severity;

use super::{Hit, Lazy, Subject};
use crate::extract::Part;

static HEADER_AFTER_BREAK: Lazy = Lazy::new(
    r"(?i)[\r\n]\s*([a-z][a-z0-9-]{1,40}\s*:|http/\d|<|(get|post|head|put|delete|options|trace|connect|patch) +\S+)",
);
static REQUEST_IN_VALUE: Lazy = Lazy::new(
    r"(?i)\b(get|post|head|put|delete|options|trace|connect|patch) +(/|https?://)\S* +http/\d",
);

/// A mail protocol command on a line of its own (IMAP with its tag, SMTP,
/// POP3): e-mail header and command injection through a field that ends up
/// in a mail session (`a@b.example\r\nRCPT TO:<x@evil.example>`).
static MAIL_COMMAND: Lazy = Lazy::new(concat!(
    r"(?i)[\r\n]\s*(",
    r"[a-z]\d{1,5} +(capability|fetch|login|select|examine|logout|noop|list|lsub|status|append|store|copy|uid|search|authenticate|starttls|create|delete|rename)\b",
    r"|(rcpt +to|mail +from) *:|(helo|ehlo) +[\w.-]+\s*$|(quit|rset|noop|data|starttls)\s*(\r?\n|$)",
    r"|(bcc|cc|to|from|reply-to|subject) *: *[^\r\n]*@",
    r")",
));

pub fn detect(s: &Subject<'_>) -> Option<Hit> {
    let d = s.decoded;
    let line_break = memchr::memchr2(b'\r', b'\n', d.as_bytes()).is_some();
    if line_break && let Some(hit) = mail_command(s) {
        return Some(hit);
    }
    if s.part.is_body() {
        return if line_break {
            smuggled_in_body(s)
        } else {
            None
        };
    }
    if !line_break {
        // a whole request line inside a value: request splitting / smuggling
        if s.has_any(super::mask(b"/"))
            && s.has("http/")
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

/// HTTP headers that only a smuggled request or a split response carries
/// after a line break.
static HTTP_AFTER_BREAK: Lazy = Lazy::new(
    r"(?i)[\r\n]\s*((content-length|transfer-encoding|set-cookie|x-forwarded-for)\s*:|http/\d(\.\d)? +\d{3}\b|(get|post|head|put|delete|options|trace|connect|patch) +(/|https?://)\S* +http/\d)",
);
/// [`HTTP_AFTER_BREAK`] without request lines, for JSON and multipart text
/// (a developer's ticket may quote `GET /v1/charges HTTP/1.1` on a line).
static HEADER_AFTER_BREAK_TEXT: Lazy = Lazy::new(
    r"(?i)[\r\n]\s*((content-length|transfer-encoding|set-cookie|x-forwarded-for)\s*:|http/\d(\.\d)? +\d{3} )",
);

/// In a body: a line break followed by a status line or a header only
/// framing or a cookie uses (and in form and raw bodies, a request line):
/// request smuggling and response splitting through a value the server
/// copies into a request or response. Ordinary header-like words
/// ("Location: 5th floor", "Host: Ana") are what multi-line text holds.
fn smuggled_in_body(s: &Subject<'_>) -> Option<Hit> {
    let d = s.decoded;
    if !d.bytes().any(|b| b == b'\r' || b == b'\n') {
        return None;
    }
    let re = if matches!(s.part, Part::Form | Part::Body | Part::Xml) {
        &HTTP_AFTER_BREAK
    } else {
        &HEADER_AFTER_BREAK_TEXT
    };
    let m = re.get().find(d)?;
    Some(
        Hit::new(
            "crlf",
            "crlf.header_injection",
            Severity::Critical,
            85,
            "line break followed by an HTTP request, status or framing header",
        )
        .near(d, m.start()),
    )
}

/// [`MAIL_COMMAND`] after a line break. In a body, only when nothing or an
/// address precedes the first break, not the prose of a message that
/// quotes an e-mail ("...wrote:\nTo: support@...").
fn mail_command(s: &Subject<'_>) -> Option<Hit> {
    let d = s.decoded;
    let first = d.find(['\r', '\n'])?;
    let head = d.get(..first).unwrap_or("").trim();
    if s.part.is_body() && !(head.is_empty() || (head.contains('@') && !head.contains(' '))) {
        return None;
    }
    let m = MAIL_COMMAND.get().find(d)?;
    Some(
        Hit::new(
            "crlf",
            "crlf.mail_command",
            Severity::Critical,
            85,
            "line break followed by a mail protocol command or header",
        )
        .near(d, m.start()),
    )
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
        assert!(run_in(detect, Part::Form, "var", "aaa\nGET / HTTP/1.1").is_some());
        assert!(run_in(detect, Part::Form, "var", "\r\nContent-Length: 0").is_some());
        assert!(run_in(detect, Part::Form, "note", "Dear team,\nRegards: John").is_none());
        assert!(run_in(detect, Part::Json, "note", "see\nGET / HTTP/1.1").is_none());
        assert!(run_in(detect, Part::Json, "next", "/\r\nSet-Cookie:crlf=injection").is_some());
        assert!(
            run_in(
                detect,
                Part::Json,
                "note",
                "Office hours\nLocation: 5th floor"
            )
            .is_none()
        );
    }
}
