//! SQL injection by lexing. (Stub: the real lexer lands with issue 3.)

/// A value that would change a SQL statement's structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliMatch {
    /// The folded token fingerprint, libinjection-style (e.g. `s&1c`).
    pub fingerprint: String,
    /// The context the value was tried in: `none`, `single-quote`, `double-quote`.
    pub context: &'static str,
    /// 0-100.
    pub confidence: u8,
}

/// Whether `input`, inserted in any common SQL context, is an injection.
pub fn sqli(_input: &str) -> Option<SqliMatch> {
    None
}
