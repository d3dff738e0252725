//! Property tests: no input makes a lexer panic, and pathological inputs
//! (deep nesting, unclosed quotes and comments, long runs of one metachar)
//! complete. Speed itself is measured by `benches/lexers.rs`, not asserted.

use proptest::prelude::*;

fn all(v: &str) {
    let _ = palisade_lexers::sqli(v);
    let _ = palisade_lexers::xss(v);
    let _ = palisade_lexers::shell_injection(v);
}

/// Fragments that drive the lexers into every state.
const FRAGMENTS: &[&str] = &[
    "'",
    "\"",
    "`",
    "(",
    ")",
    "/*",
    "*/",
    "/*!",
    "--",
    "#",
    "\\",
    ";",
    "|",
    "&",
    "&&",
    "||",
    "$(",
    "${",
    "<",
    ">",
    "<!--",
    "-->",
    "<script",
    "<a ",
    " href=",
    "javascript:",
    " onerror=",
    "=",
    "{{",
    "}}",
    "union",
    "select",
    "or",
    "1",
    "0x",
    "@@",
    "@",
    "$",
    "$$",
    "q'[",
    "N'",
    "x'",
    "b'",
    "\n",
    " ",
    "\t",
    "é",
    "\u{a0}",
    "\0",
    "cat",
    "id",
    "/bin/",
    "${IFS}",
    "sleep(",
    "case",
    "when",
    "from",
    "where",
    "&#x3a;",
    "&{",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_strings_never_panic(v in any::<String>()) {
        all(&v);
    }

    #[test]
    fn fragment_soup_never_panics(parts in proptest::collection::vec(0..FRAGMENTS.len(), 0..200)) {
        let v: String = parts.iter().map(|&i| FRAGMENTS[i]).collect();
        all(&v);
    }

    #[test]
    fn long_runs_of_one_fragment_complete(i in 0..FRAGMENTS.len(), n in 1usize..4000) {
        all(&FRAGMENTS[i].repeat(n));
    }
}

/// Inputs built to defeat a naive scanner (quadratic rescans, deep recursion).
#[test]
fn pathological_inputs_complete() {
    let big = 200_000;
    let cases = [
        "(".repeat(big),
        ")".repeat(big),
        "'".repeat(big),
        "\\'".repeat(big / 2),
        "/*".repeat(big / 2),
        "<a b=\"".repeat(big / 6),
        "<a ".repeat(big / 3),
        "`".repeat(big),
        "; ".repeat(big / 2),
        "$(".repeat(big / 2),
        "1 or ".repeat(big / 5),
        "select ".repeat(big / 7) + "from x",
        "union select ".repeat(big / 13),
        "x".repeat(big),
        "é".repeat(big / 2),
    ];
    for c in &cases {
        all(c);
    }
}
