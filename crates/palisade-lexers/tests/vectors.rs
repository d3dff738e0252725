//! Data-driven tests: every vector file in testdata/ through one `check`.
//!
//! Files: `benign.txt` (no lexer may fire), `sqli.txt`, `xss.txt`,
//! `shell.txt` (the named lexer must fire). One value a line; `\n`, `\t`,
//! `\r` and `\\` escapes are expanded; blank lines and `# ` comments skipped.

use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Lexer {
    Sqli,
    Xss,
    Shell,
}

fn fires(lexer: Lexer, v: &str) -> Option<String> {
    match lexer {
        Lexer::Sqli => palisade_lexers::sqli(v)
            .map(|m| format!("sqli {} {} {}", m.context, m.fingerprint, m.reason)),
        Lexer::Xss => palisade_lexers::xss(v).map(|m| format!("xss {} {}", m.context, m.reason)),
        Lexer::Shell => palisade_lexers::shell_injection(v)
            .map(|m| format!("shell {} {:?}", m.reason, m.command)),
    }
}

fn unescape(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('\\') => out.push('\\'),
                Some(o) => {
                    out.push('\\');
                    out.push(o);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn vectors(file: &str) -> Vec<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("# "))
        .map(unescape)
        .collect()
}

/// The one helper: each vector of `file` must (or must not) make the lexers fire.
fn check(file: &str, lexers: &[Lexer], must_fire: bool) {
    let vs = vectors(file);
    assert!(!vs.is_empty(), "{file} has no vectors");
    let mut wrong = Vec::new();
    for v in &vs {
        for &l in lexers {
            let got = fires(l, v);
            if got.is_some() != must_fire {
                wrong.push(format!("{v:?} -> {l:?}: {got:?}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{file}: {} of {} vectors wrong (must_fire={must_fire}):\n{}",
        wrong.len(),
        vs.len(),
        wrong.join("\n")
    );
}

#[test]
fn benign_values_fire_nothing() {
    check(
        "benign.txt",
        &[Lexer::Sqli, Lexer::Xss, Lexer::Shell],
        false,
    );
}

#[test]
fn sql_injections_fire_sqli() {
    check("sqli.txt", &[Lexer::Sqli], true);
}

#[test]
fn xss_fires_xss() {
    check("xss.txt", &[Lexer::Xss], true);
}

#[test]
fn shell_injections_fire_shell() {
    check("shell.txt", &[Lexer::Shell], true);
}
