//! The passive sensor's input side: turns access logs, HAR captures and NDJSON
//! exchange streams into [`palisade_core::Exchange`]s, so that analysis sees
//! passive traffic exactly as it sees the gateway's.
//!
//! Formats ([`Format`]): NDJSON exchanges (the documented serde form of
//! `Exchange`), nginx JSON access logs, Envoy JSON access logs, and HAR 1.2.
//! Two entry points: [`read_exchanges`] streams any `BufRead` (a file, stdin)
//! and calls back per exchange; [`parse_batch`] parses one in-memory body (the
//! console's HTTP ingest endpoint). Both count every refused record in an
//! [`IngestReport`] with its line number and go on with the next: one bad line
//! never stops an ingest.
//!
//! ```
//! use palisade_sensor::{Format, parse_batch, read_exchanges};
//!
//! let log = br#"{"msec":"1795242296.123","remote_addr":"203.0.113.9","request":"GET /v1/balance HTTP/1.1","status":"200","request_time":"0.004"}
//! this line is not JSON
//! "#;
//! let format = Format::detect(log).unwrap_or(Format::NginxJson);
//! let mut seen = Vec::new();
//! let report = read_exchanges(&log[..], format, |ex| seen.push(ex)).unwrap();
//! assert_eq!((report.parsed, report.malformed), (1, 1));
//! assert_eq!(report.first_errors[0].line, 2);
//! assert_eq!(seen[0].request.path(), "/v1/balance");
//! assert_eq!(seen[0].ts_ms, 1_795_242_296_119); // log time minus request_time
//!
//! // the HTTP ingest endpoint: one body, NDJSON lines or a JSON array
//! let (exchanges, report) = parse_batch(br#"[{"ts_ms":1,"client_ip":"192.0.2.1","request":{"method":"GET","target":"/"}}]"#, Format::Ndjson);
//! assert!(report.is_clean() && exchanges.len() == 1);
//! println!("{report}"); // "1 parsed, 0 malformed"
//! ```
//!
//! Bounds: a line longer than [`LINE_LIMIT`] is consumed without being
//! buffered and counted malformed; whole documents (HAR, JSON arrays) above
//! [`DOCUMENT_LIMIT`] are refused; body samples are capped at
//! [`BODY_SAMPLE_LIMIT`] with `size` and `truncated` set.
//!
//! This crate is pure parsing: no files are opened, no sockets, no threads,
//! no analysis. It never prints; error messages name fields and fixes, never
//! record values (which may hold card numbers or tokens). OTLP traces are not
//! read here.

#![forbid(unsafe_code)]

mod envoy;
mod error;
mod fields;
mod format;
mod har;
mod json;
mod lines;
mod ndjson;
mod nginx;
mod report;
mod time;

use std::borrow::Cow;
use std::io::{self, BufRead, Read};

use palisade_core::Exchange;

pub use error::Error;
pub use fields::BODY_SAMPLE_LIMIT;
pub use format::Format;
pub use report::{IngestReport, MAX_REPORTED_ERRORS, Malformed};

/// The longest line read from a line-based input (1 MiB); longer lines are
/// skipped (without being buffered) and counted malformed.
pub const LINE_LIMIT: usize = 1024 * 1024;

/// The largest whole document (a HAR file, a JSON array batch): 512 MiB.
pub const DOCUMENT_LIMIT: usize = 512 * 1024 * 1024;

/// Streams a reader: calls `on_exchange` for each parsed exchange (source =
/// `Source::Sensor`); never stops at a bad line.
///
/// Line formats are read one bounded line at a time. A HAR input, or a
/// line-format input that opens with `[` (a JSON array of records), is read
/// whole, up to [`DOCUMENT_LIMIT`]; a larger one is refused with an
/// `io::ErrorKind::InvalidData` error wrapping [`Error::TooLarge`] before any
/// exchange is emitted. Other `Err`s are the reader's own failures.
pub fn read_exchanges<R: BufRead>(
    r: R,
    format: Format,
    on_exchange: impl FnMut(Exchange),
) -> io::Result<IngestReport> {
    read_bounded(r, format, LINE_LIMIT, DOCUMENT_LIMIT, on_exchange)
}

fn read_bounded<R: BufRead>(
    mut r: R,
    format: Format,
    line_limit: usize,
    doc_limit: usize,
    mut on_exchange: impl FnMut(Exchange),
) -> io::Result<IngestReport> {
    let mut report = IngestReport::default();
    if format == Format::Har || opens_array(&mut r)? {
        let what = if format == Format::Har {
            "HAR document"
        } else {
            "JSON array"
        };
        let mut doc = Vec::new();
        (&mut r).take(doc_limit as u64 + 1).read_to_end(&mut doc)?;
        if doc.len() > doc_limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                Error::TooLarge {
                    what,
                    limit: doc_limit as u64,
                },
            ));
        }
        parse_document(&doc, format, &mut report, &mut on_exchange);
        return Ok(report);
    }
    let mut buf = Vec::with_capacity(8 * 1024);
    let mut line_no = 0usize;
    loop {
        match lines::read_line(&mut r, &mut buf, line_limit)? {
            lines::Line::Eof => break,
            lines::Line::TooLong => {
                line_no += 1;
                report.record_malformed(
                    line_no,
                    Error::LineTooLong { limit: line_limit }.to_string(),
                );
            }
            lines::Line::Ok => {
                line_no += 1;
                let bytes = if line_no == 1 {
                    strip_bom(&buf)
                } else {
                    &buf[..]
                };
                let text = utf8(bytes);
                if text.trim().is_empty() {
                    continue;
                }
                match parse_record(format, &text) {
                    Ok(ex) => {
                        report.parsed += 1;
                        on_exchange(ex);
                    }
                    Err(e) => report.record_malformed(line_no, e.to_string()),
                }
            }
        }
    }
    Ok(report)
}

/// Parses one batch body (HTTP ingest endpoint): NDJSON or a JSON array of
/// records in the given line format, or a HAR document.
///
/// A body over [`DOCUMENT_LIMIT`] yields no exchange and one malformed entry
/// at line 0.
pub fn parse_batch(body: &[u8], format: Format) -> (Vec<Exchange>, IngestReport) {
    let mut out = Vec::new();
    if body.len() > DOCUMENT_LIMIT {
        let mut report = IngestReport::default();
        let what = if format == Format::Har {
            "HAR document"
        } else {
            "batch"
        };
        report.record_malformed(
            0,
            Error::TooLarge {
                what,
                limit: DOCUMENT_LIMIT as u64,
            }
            .to_string(),
        );
        return (out, report);
    }
    // a slice reader cannot fail, and the size was checked above
    let report = read_exchanges(body, format, |e| out.push(e)).unwrap_or_else(|e| {
        let mut report = IngestReport::default();
        report.record_malformed(0, e.to_string());
        report
    });
    (out, report)
}

fn parse_record(format: Format, text: &str) -> Result<Exchange, Error> {
    match format {
        Format::Ndjson => ndjson::parse(text),
        Format::NginxJson => nginx::parse(text),
        Format::Envoy => envoy::parse(text),
        Format::Har => har::parse_entry(text),
    }
}

/// Whether the input's first non-blank byte (within what is buffered) is `[`.
fn opens_array<R: BufRead>(r: &mut R) -> io::Result<bool> {
    let buf = loop {
        match r.fill_buf() {
            Ok(b) => break b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    };
    Ok(strip_bom(buf).iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'['))
}

fn strip_bom(b: &[u8]) -> &[u8] {
    b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b)
}

fn utf8(b: &[u8]) -> Cow<'_, str> {
    // `from_utf8` is much faster than `from_utf8_lossy` on valid input
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// A whole document: a HAR (entries) or a JSON array of line-format records.
fn parse_document(
    doc: &[u8],
    format: Format,
    report: &mut IngestReport,
    on_exchange: &mut impl FnMut(Exchange),
) {
    let text = utf8(strip_bom(doc));
    let (items, label): (Vec<&serde_json::value::RawValue>, &str) = if format == Format::Har {
        match har::entries(&text) {
            Ok(items) => (items, "entry"),
            Err((line, e)) => {
                report.record_malformed(line, e.to_string());
                return;
            }
        }
    } else {
        match serde_json::from_str::<Vec<&serde_json::value::RawValue>>(&text) {
            Ok(items) => (items, "item"),
            Err(e) => {
                report.record_malformed(
                    e.line(),
                    Error::Json {
                        detail: json::json_detail(&e),
                        fix: "send a JSON array of records, or one record per line".into(),
                    }
                    .to_string(),
                );
                return;
            }
        }
    };
    let base = text.as_ptr() as usize;
    let bytes = text.as_bytes();
    let (mut pos, mut line) = (0usize, 1usize);
    for (i, raw) in items.into_iter().enumerate() {
        let s = raw.get();
        let off = (s.as_ptr() as usize).saturating_sub(base).min(bytes.len());
        if off >= pos {
            line += memchr::memchr_iter(b'\n', &bytes[pos..off]).count();
            pos = off;
        }
        match parse_record(format, s) {
            Ok(ex) => {
                report.parsed += 1;
                on_exchange(ex);
            }
            Err(e) => report.record_malformed(line, format!("{label} {i}: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_documents_are_refused_before_any_exchange() {
        let har = br#"{"log":{"entries":[{"startedDateTime":"2026-11-21T06:24:56Z","request":{"method":"GET","url":"http://a/"}}]}}"#;
        let mut n = 0;
        let ok = read_bounded(&har[..], Format::Har, LINE_LIMIT, har.len(), |_| n += 1).unwrap();
        assert_eq!((ok.parsed, n), (1, 1));
        let err =
            read_bounded(&har[..], Format::Har, LINE_LIMIT, har.len() - 1, |_| n += 1).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(
            err.to_string().contains("HAR document larger than"),
            "{err}"
        );
        assert!(matches!(
            err.get_ref().and_then(|e| e.downcast_ref::<Error>()),
            Some(Error::TooLarge { .. })
        ));
        assert_eq!(n, 1);
        // a JSON array in a line format is a document too
        let arr = b"[{}, {}]";
        let err = read_bounded(&arr[..], Format::NginxJson, LINE_LIMIT, 4, |_| ()).unwrap_err();
        assert!(err.to_string().contains("JSON array larger than"), "{err}");
    }
}
