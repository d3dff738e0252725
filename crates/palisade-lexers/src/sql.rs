//! SQL injection by lexing, in the spirit of libinjection (our own code).
//!
//! The value is tokenised three times: as-is (a numeric or identifier
//! context), as if it followed a single quote, and as if it followed a double
//! quote. Each token stream is folded (comments dropped, multi-word keywords
//! merged, adjacent strings merged, balanced parentheses collapsed into one
//! group item carrying what it contains) and then judged by a small grammar:
//! an injection must *break out* of its context (close the string, close
//! parentheses, end the statement) and then continue with SQL that only an
//! attacker writes (a tautology or comparison after a logic operator, `UNION
//! SELECT`, a stacked statement, a comment that cuts the rest of the query, a
//! time-delay or error-based function). Plain English with apostrophes or the
//! words "select", "union", "or" is not valid SQL after the breakout and does
//! not fire.
//!
//! It is not a SQL parser and does not know the query the value lands in.

mod keywords;
mod tokens;

use keywords::{is_attack_function, lookup, phrase};
pub use tokens::{Token, Tokenizer};

/// A value that would change a SQL statement's structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliMatch {
    /// The folded token fingerprint, libinjection-style (e.g. `s&1c`).
    pub fingerprint: String,
    /// The context the value was tried in: `none`, `single-quote`, `double-quote`.
    pub context: &'static str,
    /// 0-100.
    pub confidence: u8,
    /// Which rule decided (e.g. `logic-after-breakout`, `union-select`).
    pub reason: &'static str,
}

/// Whether `input`, inserted in any common SQL context, is an injection.
pub fn sqli(input: &str) -> Option<SqliMatch> {
    let s = input.as_bytes();
    if s.is_empty() || !might_be_sql(s) {
        return None;
    }
    let mut best: Option<SqliMatch> = None;
    // one buffer for the contexts' token streams
    let mut items: Vec<Item> = Vec::with_capacity(16);
    for (quote, context) in [
        (0u8, "none"),
        (b'\'', "single-quote"),
        (b'"', "double-quote"),
    ] {
        if quote != 0 && memchr::memchr(quote, s).is_none() {
            continue;
        }
        fold_into(s, quote, &mut items);
        if let Some((reason, confidence)) = judge(s, &items, quote) {
            let m = SqliMatch {
                fingerprint: fingerprint(&items),
                context,
                confidence,
                reason,
            };
            if best.as_ref().is_none_or(|b| b.confidence < m.confidence) {
                best = Some(m);
            }
        }
    }
    best
}

/// The folded fingerprint of `input` in each context (`none`,
/// `single-quote`, `double-quote`), whether or not it is an injection: for
/// explaining a decision and for tuning.
pub fn sqli_fingerprints(input: &str) -> Vec<(&'static str, String)> {
    let s = input.as_bytes();
    [
        (0u8, "none"),
        (b'\'', "single-quote"),
        (b'"', "double-quote"),
    ]
    .into_iter()
    .map(|(q, c)| {
        let items = fold(s, q);
        let full: String = items
            .iter()
            .map(|i| match i.kind {
                b'G' => '(',
                b'F' => 'f',
                k => k as char,
            })
            .collect();
        (c, full)
    })
    .collect()
}

/// Cheap pre-filter: a value made only of letters, digits, spaces and a few
/// punctuation marks that SQL needs nothing of cannot inject.
fn might_be_sql(s: &[u8]) -> bool {
    let mut words = 0;
    let mut in_word = false;
    for &c in s {
        if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 {
            if !in_word {
                words += 1;
                in_word = true;
                // (two words settle it whatever follows)
                if words >= 2 {
                    return true;
                }
            }
            continue;
        }
        in_word = false;
        if !matches!(c, b' ' | b'.' | b'@' | b':' | b'/' | b'+') {
            return true;
        }
    }
    // Only words and spaces: an injection needs at least "1 or 1=1"-like
    // punctuation, or a statement of several words ("union select", "waitfor").
    words >= 2
}

/// Maximum number of tokens examined per context: bounded work per value.
const MAX_TOKENS: usize = 512;

// Item flags.
const CMT_AFTER: u16 = 1; // a comment followed this item
const SUBQ: u16 = 1 << 1; // group holds a plausible subquery
const ATTACK_FN: u16 = 1 << 2; // item is/contains an attack-only function call
const KNOWN_FN: u16 = 1 << 3; // item is/contains a known SQL function call
const UNCLOSED: u16 = 1 << 4; // group not closed before the end
const CMP: u16 = 1 << 5; // operator is a comparison / group contains one
const HAS_UNION: u16 = 1 << 6; // group contains UNION SELECT
const DASHES: u16 = 1 << 7; // the comment after was `--` or `/*`
const EVIL: u16 = 1 << 8; // contains an evil token
const CMP_LIT: u16 = 1 << 9; // group contains a literal comparison (1=1)
const SYSVAR: u16 = 1 << 10; // a system variable (@@version)
const BARE_CMT: u16 = 1 << 11; // the comment after was a bare `--` or `#`
const SHORT_CMT: u16 = 1 << 12; // the comment after was short (not a sentence)
const CLOSED_CMT: u16 = 1 << 13; // the comment after was a closed /* ... */
/// A folded token: a token, or a collapsed group / function call.
#[derive(Debug, Clone, Copy)]
struct Item {
    /// Token kind, `G` for a parenthesised group, `F` for a call.
    kind: u8,
    start: usize,
    end: usize,
    str_open: u8,
    str_close: u8,
    flags: u16,
    /// Phrase bits of a word (`keywords::FIRST` / `SECOND`).
    pbits: u8,
}

impl Item {
    fn text<'a>(&self, s: &'a [u8]) -> &'a [u8] {
        s.get(self.start..self.end).unwrap_or(&[])
    }
    fn has(&self, f: u16) -> bool {
        self.flags & f != 0
    }
}

/// "-", "+", "!", "~" and runs of them ("!!"): prefix operators.
fn is_unary(t: &[u8]) -> bool {
    !t.is_empty() && t.iter().all(|c| matches!(c, b'-' | b'+' | b'!' | b'~'))
}

fn is_word_kind(k: u8) -> bool {
    matches!(
        k,
        b'n' | b'k' | b'E' | b'o' | b'U' | b't' | b'B' | b'&' | b'T' | b'f'
    )
}

fn is_comparison(t: &[u8]) -> bool {
    const C: &[&str] = &[
        "=", "<", ">", "<=", ">=", "<>", "!=", "<=>", "==", "!<", "!>", "LIKE", "ILIKE", "RLIKE",
        "REGEXP", "IS", "BETWEEN", "GLOB", "SIMILAR", "SOUNDS",
    ];
    let first = t.split(|c| c.is_ascii_whitespace()).next().unwrap_or(t);
    C.iter().any(|c| first.eq_ignore_ascii_case(c.as_bytes()))
        || t.eq_ignore_ascii_case(b"NOT LIKE")
        || t.eq_ignore_ascii_case(b"NOT IN")
        || t.eq_ignore_ascii_case(b"NOT BETWEEN")
        || t.eq_ignore_ascii_case(b"NOT REGEXP")
        || t.eq_ignore_ascii_case(b"NOT RLIKE")
}

/// Tokenise and fold. Linear: every token is pushed and popped at most once.
fn fold(s: &[u8], quote: u8) -> Vec<Item> {
    let mut out: Vec<Item> = Vec::with_capacity(16);
    fold_into(s, quote, &mut out);
    out
}

/// [`fold`] into `out` (cleared first).
fn fold_into(s: &[u8], quote: u8, out: &mut Vec<Item>) {
    out.clear();
    let mut opens: Vec<usize> = Vec::new();
    let mut leading = quote == 0;
    for tok in Tokenizer::new(s, quote).mysql_dashes().take(MAX_TOKENS) {
        let mut tok = tok;
        if tok.kind == b'n' && tok.start == s.len() && s.last() == Some(&b'`') {
            // A lone trailing backtick: MySQL ignores the rest, like a
            // comment ("x' and 1=1 `").
            tok.kind = b'c';
            tok.comment = b'`';
        }
        let mut it = Item {
            kind: tok.kind,
            start: tok.start,
            end: tok.end,
            str_open: tok.str_open,
            str_close: tok.str_close,
            flags: 0,
            pbits: tok.pbits,
        };
        // As-is context: leading '(' and unary operators carry nothing.
        if leading {
            let t = it.text(s);
            if it.kind == b'(' || (it.kind == b'o' && is_unary(t)) {
                continue;
            }
            leading = false;
        }
        match it.kind {
            b'c' => {
                // A comment that cuts the query: `/*`, or `--`/`#` not glued
                // to a word ("--INFANT", "#2" are prose).
                let t = it.text(s);
                let body = t
                    .get(if tok.comment == b'-' { 2 } else { 1 }..)
                    .unwrap_or(&[]);
                // `--` must be followed by a blank, a dash, a plus or the end
                // (MySQL's rule): "--'bar'" is no comment.
                let cuts = tok.comment == b'/'
                    || tok.comment == b'`'
                    || body.first().is_none_or(|c| {
                        if tok.comment == b'-' {
                            c.is_ascii_whitespace() || matches!(c, b'-' | b'+' | b'#' | b';')
                        } else {
                            !c.is_ascii_alphanumeric()
                        }
                    })
                    || body
                        .windows(11)
                        .any(|w| w.eq_ignore_ascii_case(b"sp_password"));
                if cuts && let Some(last) = out.last_mut() {
                    last.flags |= CMT_AFTER;
                    if tok.comment == b'-' || tok.comment == b'/' {
                        last.flags |= DASHES;
                    }
                    let body = t
                        .get(if tok.comment == b'#' { 1 } else { 2 }..)
                        .unwrap_or(&[]);
                    if tok.comment != b'/' && body.iter().all(u8::is_ascii_whitespace) {
                        last.flags |= BARE_CMT;
                    }
                    if tok.comment == b'/' || body.len() <= 24 {
                        last.flags |= SHORT_CMT;
                    }
                    if tok.comment == b'/' && t.ends_with(b"*/") && t.len() >= 4 {
                        last.flags |= CLOSED_CMT;
                    }
                }
                continue;
            }
            b'X' => it.flags |= EVIL,
            b'v' if it.text(s).starts_with(b"@@") => it.flags |= SYSVAR,
            b'o' if is_comparison(it.text(s)) => it.flags |= CMP,
            b'k' if it.text(s).eq_ignore_ascii_case(b"IN") => it.flags |= CMP,
            _ => {}
        }
        if let Some(last) = out.last_mut() {
            // Two-word keywords.
            if last.pbits & keywords::FIRST != 0
                && it.pbits & keywords::SECOND != 0
                && is_word_kind(last.kind)
                && is_word_kind(it.kind)
                && let Some(k) = phrase(last.text(s), it.text(s))
            {
                last.kind = k;
                last.end = it.end;
                last.pbits = 0;
                if k == b'o' && is_comparison(last.text(s)) {
                    last.flags |= CMP;
                }
                continue;
            }
            // Adjacent strings concatenate.
            if last.kind == b's' && it.kind == b's' {
                last.str_close = it.str_close;
                last.end = it.end;
                last.flags |= it.flags;
                continue;
            }
            // Unary operator after an operator, '(' or ',' disappears.
            if matches!(
                last.kind,
                b'o' | b'&' | b',' | b'(' | b'k' | b'E' | b'U' | b'B'
            ) && it.kind == b'o'
                && is_unary(it.text(s))
            {
                continue;
            }
            // A type before a literal is a cast: "binary 'a'", "char varying".
            if last.kind == b't' && matches!(it.kind, b's' | b'1' | b'n' | b'v' | b't') {
                *last = it;
                continue;
            }
        }
        match it.kind {
            b'(' => {
                opens.push(out.len());
                out.push(it);
            }
            b')' => match opens.pop() {
                Some(at) => collapse(s, out, at, it.end, 0),
                None => out.push(it),
            },
            _ => out.push(it),
        }
    }
    // Unclosed groups: collapse from the innermost outwards to the end.
    while let Some(at) = opens.pop() {
        let end = out.last().map_or(s.len(), |l| l.end);
        collapse(s, out, at, end, UNCLOSED);
    }
}

/// Replaces `out[at..]` (which starts with '(') with one group item, or a call
/// item when a function name precedes it.
fn collapse(s: &[u8], out: &mut Vec<Item>, at: usize, end: usize, extra: u16) {
    let inner = out.get(at + 1..).unwrap_or(&[]);
    let mut flags = extra;
    let mut saw_select = false;
    let mut select_ok = false;
    for (i, it) in inner.iter().enumerate() {
        flags |=
            it.flags & (SUBQ | ATTACK_FN | KNOWN_FN | CMP | HAS_UNION | EVIL | CMP_LIT | SYSVAR);
        if it.has(CMP)
            && i > 0
            && inner.get(i - 1).is_some_and(is_literal)
            && inner.get(i + 1).is_some_and(is_literal)
        {
            flags |= CMP_LIT;
        }
        if it.kind == b'E' && starts_with_ci(it.text(s), "SELECT") {
            saw_select = true;
            let next = inner.get(i + 1);
            if next.is_some_and(|n| n.kind != b'n' && n.kind != b'k')
                || (next.is_some_and(|n| n.kind == b'n')
                    && inner
                        .get(i + 2)
                        .is_none_or(|n| matches!(n.kind, b'k' | b',')))
            {
                select_ok = true;
            }
            continue;
        }
        // "select name from users": FROM, a table, then the group ends or
        // SQL goes on ("from the list" is prose).
        if saw_select
            && it.kind == b'k'
            && it.text(s).eq_ignore_ascii_case(b"FROM")
            && inner
                .get(i + 1)
                .is_some_and(|t| matches!(t.kind, b'n' | b'G' | b'F' | b'f'))
            && inner.get(i + 2).is_none_or(|t| {
                matches!(t.kind, b'k' | b'B' | b',' | b';' | b'U' | b'&' | b'o')
                    || inner.get(i + 3).is_none()
            })
        {
            select_ok = true;
        }
        if it.kind == b'U'
            && inner
                .get(i + 1)
                .is_some_and(|n| n.kind == b'E' || n.has(SUBQ))
        {
            flags |= HAS_UNION;
        }
    }
    if saw_select && select_ok {
        flags |= SUBQ;
    }
    let no_args = inner.is_empty();
    let start = out.get(at).map_or(0, |o| o.start);
    out.truncate(at);
    let g = Item {
        kind: b'G',
        start,
        end,
        str_open: 0,
        str_close: 0,
        flags,
        pbits: 0,
    };
    let before = out
        .len()
        .checked_sub(2)
        .and_then(|i| out.get(i))
        .map(|b| b.kind);
    if let Some(last) = out.last_mut()
        && (matches!(last.kind, b'f' | b'n' | b't')
            // LIKE(...), IF(...) called as functions after an operator.
            || (last.kind == b'o'
                && last.text(s).iter().all(u8::is_ascii_alphabetic)
                && before.is_none_or(|b| matches!(b, b'o' | b'&' | b'(' | b',' | b';'))))
    {
        let name = last.text(s);
        let mut f = last.flags | flags;
        if last.kind == b'f' || lookup(name) == Some(b'f') {
            f |= KNOWN_FN;
        }
        if is_attack_function(name) {
            f |= ATTACK_FN;
        }
        // Server information read with no arguments: version(), user().
        const INFO: &[&str] = &[
            "VERSION",
            "USER",
            "CURRENT_USER",
            "DATABASE",
            "SCHEMA",
            "SYSTEM_USER",
            "SESSION_USER",
            "DB_NAME",
            "USER_NAME",
            "SUSER_SNAME",
            "CONNECTION_ID",
            "CURRENT_DATABASE",
            "HOST_NAME",
        ];
        if no_args && INFO.iter().any(|w| name.eq_ignore_ascii_case(w.as_bytes())) {
            f |= SYSVAR;
        }
        last.kind = b'F';
        // `end` stays the name's end: the name is what the judge reads.
        last.flags = f & !CMT_AFTER | (g.flags & CMT_AFTER);
        return;
    }
    out.push(g);
}

fn fingerprint(items: &[Item]) -> String {
    items
        .iter()
        .take(5)
        .map(|i| match i.kind {
            b'G' => '(',
            b'F' => 'f',
            k => k as char,
        })
        .collect()
}

fn is_operand(it: &Item) -> bool {
    matches!(it.kind, b'1' | b's' | b'v' | b'n' | b'F' | b'G' | b'f')
}

fn is_literal(it: &Item) -> bool {
    matches!(it.kind, b'1' | b's' | b'v' | b'F' | b'G')
}

fn is_binop(s: &[u8], it: &Item) -> bool {
    match it.kind {
        b'o' => true,
        b'k' => it.text(s).eq_ignore_ascii_case(b"IN") || it.text(s).eq_ignore_ascii_case(b"DIV"),
        b'A' => true,
        _ => false,
    }
}

/// What an expression holds.
#[derive(Default, Debug, Clone, Copy)]
struct Expr {
    operands: usize,
    /// A comparison was seen.
    cmp: bool,
    /// A comparison whose both sides are literals/calls/variables (1=1).
    cmp_literal: bool,
    /// A comparison with one literal side (name='x').
    cmp_half: bool,
    /// The last operator was a word ("DIV", "LIKE"), not a symbol.
    word_op: bool,
    /// A comparison with a symbol or LIKE (not "is", "not in": prose has those).
    cmp_strict: bool,
    /// A subquery or an attack-only function.
    strong: bool,
    /// An attack-only function (sleep, benchmark, extractvalue...).
    attack_fn: bool,
    /// Some call of a known SQL function.
    call: bool,
    /// All operands literal.
    all_literal: bool,
    /// Some string operand holds whitespace (prose, not a tautology operand).
    lit_space: bool,
    /// Ends with a short word-like string left open (the query's own quote
    /// closes it): `'x`, not `' and more prose`.
    ends_open_string: bool,
    /// Quote and length of that open string.
    open_quote: u8,
    open_len: usize,
    /// The last operator was symbolic (`=`, `<>`), not a word (`LIKE`, `IS`).
    symbolic_cmp: bool,
    evil: bool,
}

fn operand_info(e: &mut Expr, it: &Item, s: &[u8]) {
    e.operands += 1;
    if it.has(CMP) && matches!(it.kind, b'G' | b'F') {
        e.cmp = true;
        e.cmp_half = true;
    }
    if it.has(CMP_LIT) {
        e.cmp = true;
        e.cmp_literal = true;
    }
    if it.has(SUBQ) || it.has(ATTACK_FN) || it.has(HAS_UNION) || it.has(SYSVAR) {
        e.strong = true;
    }
    e.attack_fn |= it.has(ATTACK_FN);
    if it.has(KNOWN_FN) || it.kind == b'f' {
        e.call = true;
    }
    if it.has(EVIL) {
        e.evil = true;
    }
    if !is_literal(it) {
        e.all_literal = false;
    }
    e.lit_space |= it.kind == b's' && has_space(it.text(s));
    e.open_quote = it.str_open;
    e.open_len = it.end - it.start;
    e.ends_open_string = it.kind == b's'
        && it.str_close == 0
        && it.end - it.start <= 24
        && !it.text(s).iter().any(u8::is_ascii_whitespace);
}

/// Parses `operand (binop operand)*` from `i`; returns the next index.
fn expr(s: &[u8], items: &[Item], mut i: usize) -> Option<(usize, Expr)> {
    let mut e = Expr {
        all_literal: true,
        ..Expr::default()
    };
    // Leading unary NOT / type casts.
    while items.get(i).is_some_and(|t| {
        (t.kind == b'o' && t.text(s).eq_ignore_ascii_case(b"NOT")) || t.kind == b't'
    }) {
        i += 1;
    }
    let first = items.get(i)?;
    if !is_operand(first) {
        return None;
    }
    operand_info(&mut e, first, s);
    let mut prev = *first;
    i += 1;
    tail(s, items, i, &mut e, &mut prev).map(|j| (j, e))
}

/// Continues an expression: `(binop operand)*`.
fn tail(s: &[u8], items: &[Item], mut i: usize, e: &mut Expr, prev: &mut Item) -> Option<usize> {
    while let (Some(op), Some(rhs)) = (items.get(i), items.get(i + 1)) {
        if !is_binop(s, op) {
            break;
        }
        let mut j = i + 1;
        let mut rhs = *rhs;
        // "IS NOT NULL", "NOT IN": skip a unary NOT.
        if rhs.kind == b'o' && rhs.text(s).eq_ignore_ascii_case(b"NOT") {
            j += 1;
            match items.get(j) {
                Some(r) => rhs = *r,
                None => break,
            }
        }
        if !is_operand(&rhs) {
            break;
        }
        if op.has(CMP) {
            e.cmp = true;
            if is_literal(prev) && is_literal(&rhs) {
                e.cmp_literal = true;
            } else if is_literal(prev) || is_literal(&rhs) {
                e.cmp_half = true;
            }
        }
        operand_info(e, &rhs, s);
        e.symbolic_cmp = op.has(CMP) && !op.text(s).iter().any(u8::is_ascii_alphabetic);
        e.word_op = op.text(s).first().is_some_and(u8::is_ascii_alphabetic);
        if op.has(CMP) && (e.symbolic_cmp || words_eq(op.text(s), "LIKE")) {
            e.cmp_strict = true;
        }
        *prev = rhs;
        i = j + 1;
    }
    Some(i)
}

fn text_is(s: &[u8], it: Option<&Item>, w: &str) -> bool {
    it.is_some_and(|t| words_eq(t.text(s), w))
}

/// Case-insensitive comparison of a token's text with a keyword or a
/// two-word phrase; a folded phrase may hold any blanks or comments between
/// its words ("WAITFOR  DELAY", "INSERT/**/INTO").
fn words_eq(t: &[u8], w: &str) -> bool {
    match w.split_once(' ') {
        None => t.eq_ignore_ascii_case(w.as_bytes()),
        Some((a, b)) => {
            // (the words and something between them)
            if t.len() <= a.len() + b.len() {
                return false;
            }
            let word = |c: &u8| c.is_ascii_alphanumeric() || *c == b'_';
            let first_end = t.iter().position(|c| !word(c)).unwrap_or(t.len());
            let last_start = t.iter().rposition(|c| !word(c)).map_or(0, |p| p + 1);
            first_end < last_start
                && t[..first_end].eq_ignore_ascii_case(a.as_bytes())
                && t[last_start..].eq_ignore_ascii_case(b.as_bytes())
        }
    }
}

fn starts_with_ci(t: &[u8], p: &str) -> bool {
    t.len() >= p.len()
        && t.get(..p.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(p.as_bytes()))
}

/// A statement that starts at `i` (after `;` or at the start of the value).
/// `after_breakout`: the value already broke out of its context, so less
/// evidence is needed.
fn statement(s: &[u8], items: &[Item], i: usize, after_breakout: bool) -> Option<&'static str> {
    let it = items.get(i)?;
    let t = it.text(s);
    let next = items.get(i + 1);
    let next2 = items.get(i + 2);
    let up = |w: &str| words_eq(t, w);
    match it.kind {
        b'E' if starts_with_ci(t, "SELECT") => select_statement(s, items, i, after_breakout),
        b'E' if up("INSERT") => (text_is(s, next, "INTO")
            && next2.is_some_and(|n| n.kind == b'n' || n.kind == b'F'))
        .then_some("insert-statement"),
        b'k' if up("INSERT INTO") => next
            .is_some_and(|n| matches!(n.kind, b'n' | b'F'))
            .then_some("insert-statement"),
        b'k' if up("DELETE FROM")
            || up("DROP TABLE")
            || up("DROP DATABASE")
            || up("TRUNCATE TABLE")
            || up("ALTER TABLE")
            || up("CREATE TABLE") =>
        {
            next.is_some_and(|n| n.kind == b'n')
                .then_some("ddl-dml-statement")
        }
        b'E' if up("UPDATE") => (next.is_some_and(|n| n.kind == b'n') && text_is(s, next2, "SET"))
            .then_some("update-statement"),
        b'E' if up("DROP") || up("CREATE") || up("ALTER") => {
            let obj = next.map(|n| n.text(s)).unwrap_or(&[]);
            let objs = [
                "TABLE",
                "DATABASE",
                "USER",
                "VIEW",
                "PROCEDURE",
                "FUNCTION",
                "INDEX",
                "SCHEMA",
                "TRIGGER",
                "LOGIN",
            ];
            (objs.iter().any(|o| obj.eq_ignore_ascii_case(o.as_bytes()))
                && next2.is_some_and(|n| n.kind == b'n'))
            .then_some("ddl-statement")
        }
        b'T' if up("WAITFOR DELAY") || up("WAITFOR TIME") => {
            next.is_some_and(|n| n.kind == b's').then_some("waitfor")
        }
        b'T' if up("EXEC") || up("EXECUTE") => {
            let n = next?;
            let nt = n.text(s);
            (starts_with_ci(nt, "xp_")
                || starts_with_ci(nt, "sp_")
                || starts_with_ci(nt, "master.")
                || n.kind == b'v'
                || (n.kind == b'F' && n.has(KNOWN_FN)))
            .then_some("exec")
        }
        b'k' if up("LOAD DATA") => (after_breakout || next.is_some()).then_some("load-data"),
        b'n' | b'k'
            if up("LOAD")
                && after_breakout
                && (text_is(s, next, "XML") || text_is(s, next, "DATA")) =>
        {
            Some("load-data")
        }
        b'k' if up("DO") && after_breakout && next.is_some_and(|n| n.kind == b'G') => {
            Some("do-expression")
        }
        b'E' if up("DELETE")
            && items
                .iter()
                .skip(i + 1)
                .take(4)
                .any(|t| text_is(s, Some(t), "FROM"))
            && after_breakout =>
        {
            Some("delete-statement")
        }
        b'T' if (up("EXEC") || up("EXECUTE")) && after_breakout && text_is(s, next, "AS") => {
            Some("execute-as")
        }
        b'T' if up("DECLARE") => (next.is_some_and(|n| n.kind == b'v')
            || (next.is_some_and(|n| n.kind == b'n')
                && (next2.is_some_and(|n| n.kind == b't') || text_is(s, next2, "CURSOR"))))
        .then_some("declare"),
        b'T' if up("USE") => (after_breakout
            && next.is_some_and(|n| n.kind == b'n')
            && next2.is_some_and(|n| n.kind == b'T'))
        .then_some("use-database"),
        b'T' if up("SHUTDOWN") => {
            (next.is_none_or(|n| n.kind == b';') || it.has(CMT_AFTER)).then_some("shutdown")
        }
        b'T' if up("BEGIN") => (after_breakout
            && next.is_some_and(|n| {
                matches!(n.kind, b'F' | b'T' | b'E') || n.text(s).contains(&b'.')
            }))
        .then_some("begin-block"),
        b'k' if up("SET") => next
            .is_some_and(|n| n.kind == b'v')
            .then_some("set-variable"),
        b'E' if up("CALL") => (next.is_some_and(|n| n.kind == b'F')
            && (next2.is_none_or(|n| matches!(n.kind, b';' | b'&'))
                || next.is_some_and(|n| n.has(CMT_AFTER))))
        .then_some("call"),
        b'E' if up("CREATE") && text_is(s, next, "OR") && text_is(s, next2, "REPLACE") => {
            Some("create-or-replace")
        }
        b'f' | b'T' | b'F'
            if (up("IF") || up("WHILE"))
                && (after_breakout || it.has(CMP_LIT) || next.is_some_and(|n| n.has(CMP_LIT))) =>
        {
            // ";if 1=1 drop table users", "; while 1=1 shutdown"
            let end = (i + 12).min(items.len());
            let rest = items.get(i + 1..end).unwrap_or(&[]);
            rest.iter()
                .enumerate()
                .any(|(k, r)| {
                    matches!(r.kind, b'E' | b'T' | b'k')
                        && statement(s, items, i + 1 + k, true).is_some()
                })
                .then_some("control-flow-statement")
        }
        b'E' if up("DROP")
            && next.is_some_and(|n| n.kind == b'n')
            && (after_breakout
                || next.is_some_and(|n| n.has(CMT_AFTER))
                || next2.is_some_and(|n| n.kind == b';')) =>
        {
            Some("drop-statement")
        }
        b'E' if up("CASE") => {
            let when = text_is(s, next, "WHEN") || text_is(s, next2, "WHEN");
            let then = items
                .iter()
                .skip(i)
                .take(16)
                .any(|t| text_is(s, Some(t), "THEN"));
            (when && then).then_some("case-when")
        }
        b'F' if it.has(ATTACK_FN) => Some("attack-function"),
        b'F' if after_breakout && it.has(KNOWN_FN) => Some("stacked-call"),
        b'G' if it.has(SUBQ) || it.has(ATTACK_FN) => Some("stacked-subquery"),
        _ => None,
    }
}

fn select_statement(
    s: &[u8],
    items: &[Item],
    i: usize,
    after_breakout: bool,
) -> Option<&'static str> {
    // select list: operands separated by commas, then FROM or the end.
    let mut j = i + 1;
    if text_is(s, items.get(i), "SELECT TOP") && items.get(j).is_some_and(|c| c.kind == b'1') {
        j += 1;
    }
    let first = items.get(j)?;
    if after_breakout && first.kind != b'n' && first.kind != b'k' {
        return Some("stacked-select");
    }
    let mut lit = false;
    let mut lit_any = false;
    let mut n = 0;
    loop {
        let cur = items.get(j)?;
        if cur.kind == b'o' && cur.text(s) == b"*" {
            lit = true;
            j += 1;
        } else {
            let (mut k, mut e) = expr(s, items, j)?;
            // 'a'||(select ...)||'b': string concatenation.
            while text_is(s, items.get(k), "||") {
                match expr(s, items, k + 1) {
                    Some((k2, e2)) => {
                        k = k2;
                        e.strong |= e2.strong;
                        e.call |= e2.call;
                        e.cmp |= e2.cmp;
                    }
                    None => break,
                }
            }
            lit |= e.call || e.strong || e.cmp || (e.all_literal && n > 0);
            lit_any |= e.all_literal;
            j = k;
            // column alias: "1 AS x", "1 foobar"
            if text_is(s, items.get(j), "AS") && items.get(j + 1).is_some() {
                j += 2;
            } else if lit
                && items.get(j).is_some_and(|c| c.kind == b'n')
                && (text_is(s, items.get(j + 1), "FROM")
                    || items.get(j + 1).is_some_and(|c| c.kind == b','))
            {
                j += 1;
            }
        }
        n += 1;
        if items.get(j).is_some_and(|c| c.kind == b',') && n < 64 {
            lit |= items
                .get(j + 1)
                .is_some_and(|c| c.kind == b'1' || c.kind == b'v');
            j += 1;
            continue;
        }
        break;
    }
    let nx = items.get(j);
    let cut = items
        .get(j.wrapping_sub(1))
        .is_some_and(|c| c.has(CMT_AFTER));
    let end = nx.is_none_or(|c| matches!(c.kind, b';' | b'U' | b'B' | b')')) || cut;
    if text_is(s, nx, "FROM") {
        let tbl = items.get(j + 1)?;
        if !matches!(tbl.kind, b'n' | b'G' | b'F' | b'f') {
            return None;
        }
        let lit = lit || lit_any;
        let mut after_at = j + 2;
        // table alias: "(select ...)a", "users u"
        if items.get(after_at).is_some_and(|a| a.kind == b'n') && !tbl.has(CMT_AFTER) {
            after_at += 1;
        }
        let after = items.get(after_at);
        let tail_ok = after.is_none_or(|a| matches!(a.kind, b';' | b'U' | b'B' | b')' | b','))
            || items.get(after_at - 1).is_some_and(|t| t.has(CMT_AFTER))
            || (text_is(s, after, "WHERE")
                && (expr(s, items, after_at + 1).is_some_and(|(_, e)| e.cmp)
                    || (lit && items.get(after_at + 1).is_none())))
            || after.is_some_and(|a| {
                a.kind == b'k' && !text_is(s, Some(a), "FROM") && !text_is(s, Some(a), "WHERE")
            });
        return (tail_ok && (lit || after_breakout || after.is_some()))
            .then_some("select-statement");
    }
    (lit && (end || after_breakout)).then_some("select-statement")
}

/// Judges one folded stream. `quoted`: the stream starts with the string the
/// context opened.
fn judge(s: &[u8], items: &[Item], quote: u8) -> Option<(&'static str, u8)> {
    if items.iter().any(|i| i.has(EVIL)) {
        return Some(("mysql-executable-or-nested-comment", 90));
    }
    if let Some(r) = judge_breakout(s, items, quote) {
        return Some(r);
    }
    // A stacked statement or UNION SELECT anywhere:
    // "...; declare @s varchar(8000); exec(@s)", "id=1 and x=-3 union select 1,2".
    for (k, it) in items.iter().enumerate() {
        if it.kind == b';'
            && let Some(r) = statement(s, items, k + 1, false)
        {
            return Some((r, 80));
        }
        if it.kind == b'U'
            && k > 0
            && let Some(n) = items.get(k + 1)
            && (n.has(SUBQ)
                || (n.kind == b'E'
                    && starts_with_ci(n.text(s), "SELECT")
                    && select_statement(s, items, k + 1, true).is_some()))
        {
            return Some(("union-select", 85));
        }
    }
    None
}

fn has_space(t: &[u8]) -> bool {
    t.iter().any(u8::is_ascii_whitespace)
}

fn judge_breakout(s: &[u8], items: &[Item], quote: u8) -> Option<(&'static str, u8)> {
    let quoted = quote != 0;
    // An as-is value wrapped in parentheses it does not open, then cut by a
    // bare comment: "( (1) ) --".
    let lead_paren = s.iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'(');
    if !quoted
        && lead_paren
        && items
            .last()
            .is_some_and(|l| l.kind == b')' && l.has(BARE_CMT))
    {
        return Some(("parenthesis-breakout-comment", 65));
    }
    let first = items.first()?;
    let mut pre = Expr {
        all_literal: true,
        ..Expr::default()
    };
    let mut prefix_numeric = false;
    let mut prefix_bareword = false;
    let mut i;
    if quoted {
        if first.kind != b's' || first.str_close == 0 {
            return None;
        }
        i = 1;
        operand_info(&mut pre, first, s);
    } else if is_operand(first) {
        prefix_numeric = matches!(first.kind, b'1' | b'v');
        prefix_bareword = first.kind == b'n';
        i = 1;
        operand_info(&mut pre, first, s);
    } else {
        if let Some(r) = statement(s, items, 0, false) {
            return Some((r, 85));
        }
        if !matches!(first.kind, b'&' | b'U' | b';' | b')') {
            return None;
        }
        i = 0;
    }
    // The rest of the operand the value completes, and the parentheses it
    // closes: "1) or", "x')) union", "1' in boolean mode) union",
    // "1))) rlike sleep(5) and".
    let mut closes = 0;
    let mut prev = *first;
    for _ in 0..8 {
        let start = i;
        if i > 0 {
            i = tail(s, items, i, &mut pre, &mut prev)?;
        }
        // insert-value lists: "x', (select ...))"
        while i > 0 && items.get(i).is_some_and(|c| c.kind == b',') {
            match expr(s, items, i + 1) {
                Some((j, e)) => {
                    pre.strong |= e.strong;
                    pre.attack_fn |= e.attack_fn;
                    pre.call |= e.call;
                    pre.operands += e.operands;
                    i = j;
                }
                None => break,
            }
        }
        if text_is(s, items.get(i), "IN BOOLEAN") && text_is(s, items.get(i + 1), "MODE") {
            i += 2;
        }
        while items.get(i).is_some_and(|c| c.kind == b')') {
            i += 1;
            closes += 1;
        }
        if i == start {
            break;
        }
    }
    // sqlmap's "... ) AS alias WHERE ..."
    if text_is(s, items.get(i), "AS")
        && items.get(i + 1).is_some_and(|c| c.kind == b'n')
        && text_is(s, items.get(i + 2), "WHERE")
    {
        i += 2;
    }
    let broke_out = quoted || closes > 0;
    // 2: out of a string; 1: after a number or a closed parenthesis; 0: after a word.
    let strength: u8 = if quoted {
        2
    } else if prefix_numeric || closes > 0 || first.kind == b';' {
        1
    } else {
        0
    };
    let cut_by_comment = i > 0 && items.get(i - 1).is_some_and(|c| c.has(CMT_AFTER));
    // A time-delay, file or error-based function, or a subquery, right after a
    // breakout: "x'-sleep(5)-'", "1) rlike (select ...)".
    if pre.attack_fn && (broke_out || prefix_numeric || i > 1) {
        return Some(("attack-function", 90));
    }
    // A column name then a subquery: "FOO,(SELECT ...)", "FOO + (SELECT ...)".
    if prefix_bareword && pre.operands > 1 && pre.strong && i > 1 {
        let tail_ok = items
            .get(i)
            .is_none_or(|n| matches!(n.kind, b'&' | b')' | b';' | b'U' | b'B' | b'k'))
            || cut_by_comment;
        if tail_ok {
            return Some(("subquery-after-word", 80));
        }
    }
    if (broke_out || prefix_numeric || pre.attack_fn) && pre.strong {
        let tail_ok = items
            .get(i)
            .is_none_or(|n| matches!(n.kind, b'&' | b')' | b';' | b'U' | b'B' | b'k'))
            || cut_by_comment;
        if tail_ok {
            return Some(("attack-function-after-breakout", 90));
        }
    }
    let Some(next) = items.get(i) else {
        // The value ends here.
        if !quoted && prefix_numeric && closes > 0 && pre.cmp_literal {
            return Some(("boolean-expression", 70));
        }
        if !quoted && i > 0 && pre.strong && pre.operands == 1 && matches!(first.kind, b'F' | b'G')
        {
            return Some(("subquery-or-attack-function", 80));
        }
        if quoted
            && cut_by_comment
            && items.get(i - 1).is_some_and(|c| c.has(SHORT_CMT))
            && (!has_space(first.text(s).trim_ascii())
                || (first.has(BARE_CMT) && first.end - first.start <= 16))
        {
            return Some(("comment-after-breakout", 75));
        }
        if quote != 0
            && pre.operands >= 2
            && pre.ends_open_string
            && pre.open_quote == quote
            && !has_space(first.text(s).trim_ascii())
            && (first.end > first.start || pre.open_len > 0 || pre.word_op)
        {
            return Some(("tautology-after-breakout", 80));
        }
        if !quoted && prefix_bareword && items.len() == 1 && first.has(CLOSED_CMT) {
            return Some(("comment-after-word", 55));
        }
        if !quoted
            && prefix_numeric
            && pre.all_literal
            && pre.operands <= 3
            && closes == 0
            && !items.iter().any(|c| c.kind == b',')
            && cut_by_comment
            && items.last().is_some_and(|l| l.has(DASHES))
        {
            return Some(("comment-after-number", 60));
        }
        return None;
    };
    match next.kind {
        b'&' => {
            if strength > 0
                && items
                    .get(i + 1)
                    .is_some_and(|n| n.kind == b'E' && starts_with_ci(n.text(s), "SELECT"))
                && select_statement(s, items, i + 1, true).is_some()
            {
                return Some(("select-after-logic", 85));
            }
            let (j, e) = expr(s, items, i + 1)?;
            // What follows the condition must be SQL, not more prose.
            let after = items.get(j);
            let cut = items
                .get(j.wrapping_sub(1))
                .is_some_and(|c| c.has(CMT_AFTER));
            let sql_after = after
                .is_some_and(|a| matches!(a.kind, b')' | b'&' | b'U' | b';' | b'B' | b'k' | b'T'));
            if e.call && e.cmp_literal {
                return Some(("function-comparison-after-logic", 85));
            }
            if strength > 0 && e.strong {
                return Some(("subquery-or-attack-function-after-logic", 85));
            }
            // "' or col ^ '-1", "' or col && '1": the chain ends in a string
            // the query's own quote closes.
            if quoted {
                let mut k = j;
                let mut last = e;
                for _ in 0..8 {
                    if items.get(k).is_none_or(|c| c.kind != b'&') {
                        break;
                    }
                    match expr(s, items, k + 1) {
                        Some((k2, e2)) => {
                            k = k2;
                            last = e2;
                        }
                        None => break,
                    }
                }
                let open_end = last.ends_open_string && last.open_quote == quote;
                if k >= items.len()
                    && open_end
                    && (k > j || e.operands >= 2)
                    && !has_space(first.text(s).trim_ascii())
                {
                    return Some(("logic-chain-to-open-string", 75));
                }
            }
            if !(after.is_none() || sql_after || cut) {
                return None;
            }
            let hit = match strength {
                2 => {
                    e.cmp_strict
                        || e.cmp_half
                        || e.cmp_literal
                        || e.strong
                        || e.call
                        || (e.all_literal
                            && !e.lit_space
                            && !has_space(first.text(s).trim_ascii())
                            && (cut
                                || sql_after
                                || (e.ends_open_string
                                    && (e.open_len > 0 || first.end == first.start)
                                    && e.open_quote == quote)
                                || after.is_none()
                                    && e.operands == 1
                                    && !matches!(items.get(i + 1).map(|x| x.kind), Some(b's'))))
                }
                1 => {
                    e.cmp_literal
                        || (pre.cmp_literal && e.all_literal && e.operands == 1)
                        || e.strong
                        || e.call
                        || (e.cmp_half && !prefix_bareword)
                        || (e.all_literal && !e.lit_space && (cut || sql_after))
                }
                _ => e.cmp_literal || e.strong || (e.call && e.cmp),
            };
            hit.then_some((
                "logic-after-breakout",
                if e.strong || e.cmp_literal { 90 } else { 75 },
            ))
        }
        b'U' => {
            let Some(n) = items.get(i + 1) else {
                // "-1 union/*", "1/**/union#": cut right after UNION.
                let commented = items.iter().any(|c| c.has(CMT_AFTER));
                return (strength > 0 && commented).then_some(("union-comment", 70));
            };
            let list =
                matches!(n.kind, b'1' | b'v') && items.get(i + 2).is_some_and(|c| c.kind == b',');
            let n = if (text_is(s, Some(n), "DISTINCT") || text_is(s, Some(n), "ALL"))
                && items.get(i + 2).is_some_and(|c| c.kind == b'E')
            {
                items.get(i + 2)?
            } else {
                n
            };
            // A value that starts with "Union Select ..." is a product name
            // unless a real select list follows ("union select 1,2").
            let at_start = i == 0 && n.kind == b'E' && !items.iter().any(|c| c.has(CMT_AFTER));
            let sel = items
                .iter()
                .position(|c| std::ptr::eq(c, n))
                .unwrap_or(i + 1);
            if at_start && select_statement(s, items, sel, true).is_none() {
                return None;
            }
            (n.kind == b'E'
                || n.kind == b'T'
                || n.has(SUBQ)
                || (n.kind == b'G' && n.has(UNCLOSED))
                || (strength > 0 && list))
                .then_some(("union-select", 95))
        }
        b';' => {
            if quoted && items.get(i + 1).is_none() && next.has(CMT_AFTER) {
                return Some(("stacked-comment", 70));
            }
            let r = statement(s, items, i + 1, strength > 0)?;
            Some((r, 90))
        }
        b'B' => {
            let n = items.get(i + 1)?;
            let having = text_is(s, items.get(i + 2), "HAVING");
            let limit = next.text(s).eq_ignore_ascii_case(b"LIMIT");
            let hit = is_operand(n)
                && (!limit || n.kind == b'1')
                && !(quoted
                    && has_space(first.text(s).trim_ascii())
                    && !next.has(CMT_AFTER)
                    && !n.has(CMT_AFTER)
                    && n.kind != b'1')
                && (strength == 2
                    || (strength == 1
                        && (n.kind == b'1' || n.kind == b'F' || n.has(CMT_AFTER) || having)));
            hit.then_some(("order-group-by-after-breakout", 80))
        }
        b'k' => {
            let t = next.text(s);
            let n = items.get(i + 1);
            if t.eq_ignore_ascii_case(b"WHERE") || t.eq_ignore_ascii_case(b"HAVING") {
                let (_, e) = expr(s, items, i + 1)?;
                return (strength > 0 && (e.cmp_literal || e.strong || e.cmp_half))
                    .then_some(("where-after-breakout", 85));
            }
            if t.eq_ignore_ascii_case(b"FROM")
                && broke_out
                && n.is_some_and(|n| n.kind == b'n')
                && text_is(s, items.get(i + 2), "WHERE")
            {
                return Some(("from-where-after-breakout", 80));
            }
            if t.eq_ignore_ascii_case(b"PROCEDURE")
                && n.is_some_and(|n| n.kind == b'F' || n.kind == b'f')
            {
                return Some(("procedure-analyse", 85));
            }
            if (t.eq_ignore_ascii_case(b"INTO OUTFILE") || t.eq_ignore_ascii_case(b"INTO DUMPFILE"))
                && n.is_some_and(|n| matches!(n.kind, b's' | b'G' | b'F'))
            {
                return Some(("into-outfile", 90));
            }
            None
        }
        b'T' if words_eq(next.text(s), "WAITFOR DELAY")
            || words_eq(next.text(s), "WAITFOR TIME") =>
        {
            statement(s, items, i, true).map(|r| (r, 85))
        }
        b'T' | b'E' => (strength > 0)
            .then(|| statement(s, items, i, true))
            .flatten()
            .map(|r| (r, 85)),
        b'G' if strength > 0 && (next.has(SUBQ) || next.has(ATTACK_FN)) => {
            Some(("subquery-after-breakout", 85))
        }
        _ => None,
    }
}

#[cfg(test)]
pub(crate) fn debug_tokens(s: &[u8], quote: u8) -> Vec<(char, Vec<u8>)> {
    Tokenizer::new(s, quote)
        .map(|t| {
            let mut v = Vec::new();
            if t.kind == b's' && t.str_open != 0 {
                v.push(t.str_open);
            }
            // libinjection keeps at most 31 bytes of a token's value.
            v.extend_from_slice(t.text(s).get(..31).unwrap_or(t.text(s)));
            if t.kind == b's' && t.str_close != 0 {
                v.push(t.str_close);
            }
            (t.kind as char, v)
        })
        .collect()
}

#[cfg(test)]
mod tests;
