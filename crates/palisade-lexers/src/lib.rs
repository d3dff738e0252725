//! Lexers that decide whether a value, placed into a SQL statement, an HTML
//! page or a shell command, would change its structure.
//!
//! Raw regexes over attack words drown teams in false positives (`O'Brien`,
//! "select a plan", "drop us a line"). These lexers tokenise the value the way
//! the interpreter would, in each context it could land in, fold the token
//! stream into a short fingerprint, and match the fingerprint against shapes
//! that only injections produce. Pure, allocation-light, linear in the input,
//! never panics: every function here takes untrusted input.

pub mod html;
pub mod shell;
pub mod sql;

pub use html::{XssMatch, xss};
pub use shell::{ShellMatch, shell_injection};
pub use sql::{SqliMatch, sqli, sqli_fingerprints};
