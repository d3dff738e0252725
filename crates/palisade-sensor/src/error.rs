//! The crate's one error type: why one record, or a whole input, was refused.
//!
//! Every message names the field (or the limit) and the fix, and never carries
//! the offending value: a log line may hold a card number or a token in any
//! field, so messages only ever say *what kind* of value was wrong. This is not
//! an IO error type: reading failures stay `std::io::Error`.

/// Why a record (line, array item or HAR entry) or a whole input was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The record is not the JSON the format expects.
    #[error("not valid JSON: {detail}; {fix}")]
    Json { detail: String, fix: String },
    /// A field is missing or holds the wrong kind of value.
    #[error("`{field}` {problem}; {fix}")]
    Field {
        field: String,
        problem: String,
        fix: String,
    },
    /// A line exceeded the line length limit (it was skipped, not buffered).
    #[error(
        "line longer than {limit} bytes: skipped; split the record or log fewer/shorter fields (bodies are best capped at the source)"
    )]
    LineTooLong { limit: usize },
    /// A whole document (HAR, JSON array) exceeded the document limit.
    #[error(
        "{what} larger than {limit} bytes: refused; split it into smaller files (or export fewer entries) and ingest each"
    )]
    TooLarge { what: &'static str, limit: u64 },
    /// `--format` named no known format.
    #[error("unknown format `{given}`; use one of: ndjson, nginx-json, envoy, har")]
    UnknownFormat { given: String },
}

impl Error {
    pub(crate) fn field(
        field: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Error::Field {
            field: field.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    pub(crate) fn missing(field: &str, fix: impl Into<String>) -> Self {
        Error::field(field, "is missing", fix)
    }
}
