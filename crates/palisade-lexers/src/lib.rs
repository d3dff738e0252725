//! Lexers that decide whether a value, placed into a SQL statement, an HTML
//! page or a shell command, would change its structure.
//!
//! Raw regexes over attack words drown teams in false positives (`O'Brien`,
//! "select a plan", "drop us a line"). These lexers tokenise the value the way
//! the interpreter would, in each context it could land in, and fire only on
//! shapes that only injections produce:
//!
//! - [`sqli`]: a SQL tokenizer in the spirit of libinjection, tried as-is, after
//!   a single quote and after a double quote; the folded token stream must
//!   break out of its context and continue with attacker-only SQL.
//! - [`xss`]: an HTML5-tokenizer-style scanner (data, tags, attributes in each
//!   quote style, attribute breakouts, `javascript:` URLs, script strings).
//! - [`shell_injection`]: a POSIX-shell/`cmd.exe` word lexer (separators,
//!   substitutions, quoting tricks) over a table of Unix and Windows commands.
//!
//! What this crate is not: a decoder (values arrive decoded: percent, entities,
//! unicode escapes), an extractor (the caller walks query, form, JSON,
//! headers, cookies) or a scorer. Each function is pure, allocation-light,
//! bounded in the work it does per input byte, and never panics: every
//! function here takes untrusted input.
//!
//! ```
//! use palisade_lexers::{shell_injection, sqli, xss};
//!
//! assert!(sqli("1' or '1'='1").is_some());
//! assert!(sqli("O'Brien").is_none());
//! assert!(xss("\"><svg onload=alert(1)>").is_some());
//! assert!(shell_injection("; cat /etc/passwd").is_some());
//! assert!(shell_injection("Tom & Jerry; the best").is_none());
//! ```

pub mod html;
pub mod shell;
pub mod sql;

pub use html::{XssMatch, xss};
pub use shell::{ShellMatch, command_line, shell_injection};
pub use sql::{SqliMatch, sqli, sqli_fingerprints};
