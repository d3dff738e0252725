//! [`IngestReport`] and [`Malformed`]: what an ingest run parsed and refused.
//!
//! The report counts every record; it keeps the first few errors only (with
//! their line numbers) so a huge bad file cannot grow it without bound. It
//! holds messages, never record contents.

use std::fmt;

/// How many errors a report keeps verbatim.
pub const MAX_REPORTED_ERRORS: usize = 20;

/// One refused record: the 1-based line where it starts, and why.
///
/// `message` names the field and the fix; it never holds a value from the
/// record. For HAR and JSON-array inputs the message starts with the entry or
/// item index (`entry 12: ...`, 0-based as in `log.entries[12]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// The outcome of reading one input.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IngestReport {
    /// Records turned into exchanges.
    pub parsed: u64,
    /// Records refused (each counted once, whatever was wrong with it).
    pub malformed: u64,
    /// The first [`MAX_REPORTED_ERRORS`] refusals, in input order.
    pub first_errors: Vec<Malformed>,
}

impl IngestReport {
    /// Counts one refused record, keeping its message while there is room.
    pub fn record_malformed(&mut self, line: usize, message: impl Into<String>) {
        self.malformed += 1;
        if self.first_errors.len() < MAX_REPORTED_ERRORS {
            self.first_errors.push(Malformed {
                line,
                message: message.into(),
            });
        }
    }

    /// Adds another report's counts (e.g. several HTTP batches), keeping the
    /// first errors of both while there is room.
    pub fn merge(&mut self, other: IngestReport) {
        self.parsed += other.parsed;
        self.malformed += other.malformed;
        let room = MAX_REPORTED_ERRORS.saturating_sub(self.first_errors.len());
        self.first_errors
            .extend(other.first_errors.into_iter().take(room));
    }

    /// True when every record parsed.
    pub fn is_clean(&self) -> bool {
        self.malformed == 0
    }
}

impl fmt::Display for IngestReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} parsed, {} malformed", self.parsed, self.malformed)?;
        for m in &self.first_errors {
            write!(f, "\n  {m}")?;
        }
        let hidden = self
            .malformed
            .saturating_sub(self.first_errors.len() as u64);
        if hidden > 0 {
            write!(f, "\n  ... and {hidden} more malformed records not shown")?;
        }
        Ok(())
    }
}
