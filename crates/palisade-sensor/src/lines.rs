//! A bounded line reader over any `BufRead`.
//!
//! `BufRead::read_until` buffers a line whatever its length; this one keeps at
//! most `max` bytes and, past that, consumes the rest of the line without
//! storing it, so one endless line cannot exhaust memory. It is not a parser:
//! it hands back raw bytes without the line terminator.

use std::io::{self, BufRead, ErrorKind};

/// The outcome of one read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Line {
    /// End of input: no more lines.
    Eof,
    /// A line is in the buffer (without `\n` or `\r\n`).
    Ok,
    /// The line exceeded the limit: it was consumed and the buffer is empty.
    TooLong,
}

pub(crate) fn read_line<R: BufRead>(r: &mut R, buf: &mut Vec<u8>, max: usize) -> io::Result<Line> {
    buf.clear();
    let mut seen = false;
    let mut too_long = false;
    loop {
        let avail = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            break;
        }
        seen = true;
        let (chunk, used, found) = match memchr::memchr(b'\n', avail) {
            Some(i) => (&avail[..i], i + 1, true),
            None => (avail, avail.len(), false),
        };
        if !too_long {
            if buf.len() + chunk.len() > max {
                too_long = true;
                buf.clear();
                buf.shrink_to(max.min(64 * 1024));
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        r.consume(used);
        if found {
            break;
        }
    }
    if !seen {
        return Ok(Line::Eof);
    }
    if too_long {
        return Ok(Line::TooLong);
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(Line::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_skipped_and_reading_goes_on() {
        let input = b"short\r\nxxxxxxxxxxxxxxxxxxxx\nlast".to_vec();
        // a tiny BufReader capacity forces lines across several fill_buf calls
        let mut r = io::BufReader::with_capacity(3, &input[..]);
        let mut buf = Vec::new();
        assert_eq!(read_line(&mut r, &mut buf, 8).unwrap(), Line::Ok);
        assert_eq!(buf, b"short");
        assert_eq!(read_line(&mut r, &mut buf, 8).unwrap(), Line::TooLong);
        assert!(buf.is_empty());
        assert_eq!(read_line(&mut r, &mut buf, 8).unwrap(), Line::Ok);
        assert_eq!(buf, b"last");
        assert_eq!(read_line(&mut r, &mut buf, 8).unwrap(), Line::Eof);
    }
}
