//! The detectors, one file each, registered in one table.
//!
//! A *value detector* reads one extracted, decoded value ([`Subject`]) and
//! returns at most one [`Hit`]; a *request detector* reads the request as a
//! whole (protocol abuse, scanners, XXE in a raw body). Detectors are pure
//! functions of their input: no state, no IO, linear time (regexes from the
//! `regex` crate only, compiled once). Scoring, exclusions and verdicts are
//! the engine's job, not theirs.

use std::borrow::Cow;
use std::sync::OnceLock;

use palisade_core::{Phase, RequestPart, Severity};

use crate::decode::Layers;
use crate::extract::Part;

pub mod cmdi;
pub mod code;
pub mod crlf;
pub mod jndi;
pub mod ldap;
pub mod nosql;
pub mod proto_pollution;
pub mod protocol;
pub mod scanner;
pub mod session;
pub mod sqli;
pub mod ssrf;
pub mod ssti;
pub mod traversal;
pub mod xss;
pub mod xxe;

/// One decoded value, in all the views detectors read.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'s> {
    pub part: Part,
    /// Parameter name / JSON path / header name.
    pub name: &'s str,
    /// The value is itself a parameter name.
    pub is_key: bool,
    /// As carried, still encoded.
    pub raw: &'s str,
    /// Every encoding layer peeled.
    pub decoded: &'s str,
    /// `decoded`, lower-cased, comments as spaces, whitespace folded.
    pub lower: &'s str,
    pub layers: Layers,
    /// Which ASCII bytes `lower` holds (bit `b` for byte `b`): detectors test
    /// their trigger characters here before running a regex.
    pub ascii: u128,
    /// Which trigger-word families `lower` contains (`T_SQL`, `T_XSS`, ...),
    /// found in one pass for all detectors.
    pub triggers: u32,
}

pub const T_SQL: u32 = 1;
pub const T_XSS: u32 = 2;
pub const T_JAVA: u32 = 4;
pub const T_SCRIPT: u32 = 8;
pub const T_SSTI: u32 = 16;
pub const T_NOSQL: u32 = 32;
pub const T_LDAP: u32 = 64;
pub const T_PROTO: u32 = 128;

struct TriggerSet {
    ac: aho_corasick::AhoCorasick,
    family: Vec<u32>,
}

fn trigger_set() -> Option<&'static TriggerSet> {
    static SET: OnceLock<Option<TriggerSet>> = OnceLock::new();
    SET.get_or_init(|| {
        let lists: [(&[&str], u32); 8] = [
            (sqli::KEYWORDS, T_SQL),
            (xss::WORDS, T_XSS),
            (code::JAVA_WORDS, T_JAVA),
            (code::SCRIPT_WORDS, T_SCRIPT),
            (ssti::TRIGGERS, T_SSTI),
            (nosql::TRIGGERS, T_NOSQL),
            (ldap::TRIGGERS, T_LDAP),
            (proto_pollution::TRIGGERS, T_PROTO),
        ];
        let mut words: Vec<&str> = Vec::new();
        let mut family = Vec::new();
        for (list, f) in lists {
            for w in list {
                words.push(w);
                family.push(f);
            }
        }
        let ac = aho_corasick::AhoCorasick::builder()
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .build(&words)
            .ok()?;
        Some(TriggerSet { ac, family })
    })
    .as_ref()
}

/// The trigger families present in a normalized (lower-case) value.
pub fn triggers(lower: &str) -> u32 {
    let Some(set) = trigger_set() else {
        return u32::MAX;
    };
    set.ac.find_overlapping_iter(lower).fold(0, |m, x| {
        m | set.family.get(x.pattern().as_usize()).copied().unwrap_or(0)
    })
}

/// The set of ASCII bytes in `s`, as a bit mask.
pub fn ascii_mask(s: &str) -> u128 {
    let mut m = 0u128;
    for &b in s.as_bytes() {
        if b < 128 {
            m |= 1u128 << b;
        }
    }
    m
}

/// The mask of the given bytes (all ASCII).
pub const fn mask(chars: &[u8]) -> u128 {
    let mut m = 0u128;
    let mut i = 0;
    while i < chars.len() {
        if chars[i] < 128 {
            m |= 1u128 << chars[i];
        }
        i += 1;
    }
    m
}

impl Subject<'_> {
    /// Whether `lower` contains a word of the trigger family `f`.
    pub fn triggered(&self, f: u32) -> bool {
        self.triggers & f != 0
    }
    /// Whether `lower` holds any of the bytes in `m`.
    pub fn has_any(&self, m: u128) -> bool {
        self.ascii & m != 0
    }
    /// Whether `lower` contains `needle`.
    pub fn has(&self, needle: &str) -> bool {
        memchr::memmem::find(self.lower.as_bytes(), needle.as_bytes()).is_some()
    }
}

/// A parameter name that only name-reading detectors care about (operators,
/// prototype paths, Java class paths): checked even when the value is plain.
pub fn name_is_suspicious(name: &str) -> bool {
    name_flags(name) & NAME_SUSPICIOUS != 0
}

/// [`name_is_suspicious`].
pub const NAME_SUSPICIOUS: u8 = 1;
/// A dotted name holding a Java class or class-loader word (`code` reads
/// it further).
pub const NAME_JAVA: u8 = 2;
/// The start of a serialized Java object in the name.
pub const NAME_SERIALIZED: u8 = 4;

/// What the name checks say of a parameter name, remembered per thread:
/// an API sends the same few hundred names again and again, and searching
/// each for its markers costs more than looking it up. Bounded (cleared
/// when stale), so random names sent to fill it only cost their search.
/// When it is full, new names are searched without being stored, until
/// enough misses show the stored ones are stale.
pub fn name_flags(name: &str) -> u8 {
    use std::cell::RefCell;
    #[derive(Default)]
    struct Cache {
        names: foldhash::HashMap<Box<str>, u8>,
        /// lookups that missed since the cache filled up
        misses: usize,
    }
    thread_local! {
        static CACHE: RefCell<Cache> = RefCell::default();
    }
    const CAPACITY: usize = 4096;
    if name.is_empty() {
        return 0;
    }
    if name.len() > 96 {
        return name_flags_uncached(name);
    }
    CACHE.with(|c| {
        if let Some(&f) = c.borrow().names.get(name) {
            return f;
        }
        let f = name_flags_uncached(name);
        let mut c = c.borrow_mut();
        if c.names.len() < CAPACITY {
            c.names.insert(name.into(), f);
        } else {
            // full: new names are searched, not stored (a flood of distinct
            // names, such as a huge array's paths, costs no churn); start
            // over once the stored names have stopped being the ones asked
            c.misses += 1;
            if c.misses > 4 * CAPACITY {
                c.names.clear();
                c.misses = 0;
            }
        }
        f
    })
}

fn name_flags_uncached(name: &str) -> u8 {
    static RISKY: Words = Words::new(&[
        "$",
        "__",
        "constructor",
        "prototype",
        "class",
        "java",
        "processbuilder",
        "runtime",
        "org.apache",
        "com.sun",
        "xwork",
        "ognl",
        "transformer",
        "jndi",
        "org.omg",
        "javax",
    ]);
    let mut f = 0;
    if code::serialized_name(name) {
        f |= NAME_SUSPICIOUS | NAME_SERIALIZED;
    } else if RISKY.find(name).is_some() {
        f |= NAME_SUSPICIOUS;
    }
    if name.len() > 8 && name.contains('.') && code::java_name(name) {
        f |= NAME_JAVA;
    }
    f
}

/// What a detector found.
#[derive(Debug, Clone)]
pub struct Hit {
    pub kind: &'static str,
    pub rule_id: &'static str,
    pub severity: Severity,
    /// 0-100.
    pub confidence: u8,
    pub phase: Phase,
    pub message: Cow<'static, str>,
    /// The offending text; the engine masks it.
    pub fragment: Option<String>,
}

impl Hit {
    pub fn new(
        kind: &'static str,
        rule_id: &'static str,
        severity: Severity,
        confidence: u8,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            kind,
            rule_id,
            severity,
            confidence: confidence.min(100),
            phase: Phase::Exploitation,
            message: message.into(),
            fragment: None,
        }
    }
    pub fn phase(mut self, p: Phase) -> Self {
        self.phase = p;
        self
    }
    /// A window of `text` around byte `at`.
    pub fn near(mut self, text: &str, at: usize) -> Self {
        let mut start = at.saturating_sub(24);
        while start > 0 && !text.is_char_boundary(start) {
            start -= 1;
        }
        self.fragment = text.get(start..).map(str::to_string);
        self
    }

    /// Anomaly points: the severity's weight scaled by confidence.
    pub fn score(&self) -> u32 {
        let w = match self.severity {
            Severity::Critical => 10,
            Severity::High => 8,
            Severity::Medium => 5,
            Severity::Low => 3,
            Severity::Info => 0,
        };
        (w * u32::from(self.confidence) + 50) / 100
    }
}

/// A detector over one value.
pub struct ValueDetector {
    pub kind: &'static str,
    /// Whether it reads values from this part.
    pub applies: fn(&Subject<'_>) -> bool,
    pub run: fn(&Subject<'_>) -> Option<Hit>,
}

impl std::fmt::Debug for ValueDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind)
    }
}

/// A detector over the request as a whole. `head` is true in the head phase
/// (the body is not there yet), false in the body phase.
pub struct RequestDetector {
    pub kind: &'static str,
    pub run: fn(&RequestPart, bool, &mut Vec<(String, Hit)>),
}

/// Values of every part except structural headers.
fn free(s: &Subject<'_>) -> bool {
    s.part != Part::HeaderStructural
}
fn any(_: &Subject<'_>) -> bool {
    true
}
fn not_header(s: &Subject<'_>) -> bool {
    !s.part.is_header()
}

/// Every value detector, in the order they run.
pub static VALUE_DETECTORS: &[ValueDetector] = &[
    ValueDetector {
        kind: "sqli",
        applies: free,
        run: sqli::detect,
    },
    ValueDetector {
        kind: "xss",
        applies: free,
        run: xss::detect,
    },
    ValueDetector {
        kind: "cmdi",
        applies: free,
        run: cmdi::detect,
    },
    ValueDetector {
        kind: "traversal",
        applies: free,
        run: traversal::detect,
    },
    ValueDetector {
        kind: "ssrf",
        applies: not_header,
        run: ssrf::detect,
    },
    ValueDetector {
        kind: "xxe",
        applies: free,
        run: xxe::detect,
    },
    ValueDetector {
        kind: "ssti",
        applies: free,
        run: ssti::detect,
    },
    ValueDetector {
        kind: "nosql",
        applies: free,
        run: nosql::detect,
    },
    ValueDetector {
        kind: "ldap",
        applies: free,
        run: ldap::detect,
    },
    ValueDetector {
        kind: "jndi",
        applies: any,
        run: jndi::detect,
    },
    ValueDetector {
        kind: "crlf",
        applies: any,
        run: crlf::detect,
    },
    ValueDetector {
        kind: "proto_pollution",
        applies: free,
        run: proto_pollution::detect,
    },
    ValueDetector {
        kind: "code",
        applies: free,
        run: code::detect,
    },
];

/// Every request detector.
pub static REQUEST_DETECTORS: &[RequestDetector] = &[
    RequestDetector {
        kind: "protocol",
        run: protocol::detect,
    },
    RequestDetector {
        kind: "scanner",
        run: scanner::detect,
    },
    RequestDetector {
        kind: "xxe",
        run: xxe::detect_body,
    },
    RequestDetector {
        kind: "session",
        run: session::detect,
    },
];

/// A value of word characters that still carries a payload of its own:
/// a serialized Java object, a database system object name or a bare
/// reconnaissance command (`whoami`).
pub fn plain_but_suspicious(v: &str) -> bool {
    code::serialized_magic(v) || sqli::dangerous_identifier(v) || cmdi::bare_recon(v)
}

/// A value with nothing but word characters cannot carry any payload the
/// value detectors look for: they are skipped for it (the fast path).
pub fn is_plain(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'@' | b'+' | b'-' | b','))
}

/// Whether a user agent is only products (`name/version`) and comments
/// (`(...)`) of letters, digits, spaces and `. _ ; , + -`: no quote, slash in
/// a comment, `$`, `<`, `:` or operator that any payload needs.
pub fn is_clean_user_agent(ua: &str) -> bool {
    let mut depth = 0u8;
    let mut slash_in_product = false;
    for b in ua.bytes() {
        match b {
            b'(' => {
                if depth > 0 {
                    return false;
                }
                depth = 1;
            }
            b')' => {
                if depth == 0 {
                    return false;
                }
                depth = 0;
            }
            b'/' if depth == 0 => {
                if slash_in_product {
                    return false;
                }
                slash_in_product = true;
            }
            b' ' if depth == 0 => slash_in_product = false,
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'_' | b'-' | b'+' => {}
            b';' | b',' | b' ' if depth > 0 => {}
            _ => return false,
        }
    }
    depth == 0
}

/// A lazily compiled regex.
pub(crate) struct Lazy(OnceLock<regex::Regex>, &'static str);

impl Lazy {
    pub(crate) const fn new(pattern: &'static str) -> Self {
        Self(OnceLock::new(), pattern)
    }
    pub(crate) fn get(&self) -> &regex::Regex {
        // Patterns are constants, each exercised by the vector tests. ASCII
        // word boundaries and classes: a Unicode `\b` keeps the regex off its
        // fast DFA, and counted repetitions of Unicode `\w`/`\s`/`\d` grow
        // automata big enough to fall back to the slow backtracker. Values
        // are normalized (lower-case, whitespace folded) before matching.
        self.0.get_or_init(|| {
            let pattern = ascii_classes(self.1);
            regex::Regex::new(&pattern).expect("built-in detector pattern compiles")
        })
    }
    pub(crate) fn find(&self, s: &str) -> Option<usize> {
        self.get().find(s).map(|m| m.start())
    }
}

/// `\b`, `\w`, `\s`, `\d` of a pattern as their ASCII forms (nested
/// classes, valid inside `[...]` too). An escaped backslash (`\\`) is kept.
fn ascii_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 64);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => out.push_str("(?-u:\\b)"),
            Some('w') => out.push_str("[0-9A-Za-z_]"),
            Some('s') => out.push_str("[\\t\\n\\x0B\\x0C\\r ]"),
            Some('d') => out.push_str("[0-9]"),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// A lazily compiled Aho-Corasick automaton over lower-case needles.
pub(crate) struct Words(OnceLock<aho_corasick::AhoCorasick>, &'static [&'static str]);

impl Words {
    pub(crate) const fn new(words: &'static [&'static str]) -> Self {
        Self(OnceLock::new(), words)
    }
    pub(crate) fn get(&self) -> Option<&aho_corasick::AhoCorasick> {
        if self.0.get().is_none() {
            let ac = aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                .build(self.1)
                .ok()?;
            let _ = self.0.set(ac);
        }
        self.0.get()
    }
    /// The first needle found: its index and start.
    pub(crate) fn find(&self, s: &str) -> Option<(usize, usize)> {
        self.get()?
            .find(s)
            .map(|m| (m.pattern().as_usize(), m.start()))
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    use super::*;

    /// A request head for request-detector tests.
    pub fn request(method: &str, target: &str, headers: &[(&str, &str)]) -> RequestPart {
        RequestPart {
            method: method.into(),
            target: target.into(),
            headers: headers
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    /// Runs one value detector on a raw value as the engine would (decoding
    /// and normalizing first), as a query parameter named `q`.
    pub fn run(run: fn(&Subject<'_>) -> Option<Hit>, raw: &str) -> Option<Hit> {
        run_in(run, Part::Query, "q", raw)
    }

    pub fn run_in(
        run: fn(&Subject<'_>) -> Option<Hit>,
        part: Part,
        name: &str,
        raw: &str,
    ) -> Option<Hit> {
        let (decoded, layers) = crate::decode::decode(raw);
        let lower = crate::decode::normalize(&decoded);
        run(&Subject {
            part,
            name,
            is_key: false,
            raw,
            decoded: &decoded,
            lower: &lower,
            layers,
            ascii: ascii_mask(&lower),
            triggers: triggers(&lower),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::is_clean_user_agent;

    #[test]
    fn clean_user_agents() {
        for ua in [
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
            "okhttp/4.12.0",
            "Stripe/v1 PythonBindings/7.1.0",
        ] {
            assert!(is_clean_user_agent(ua), "{ua}");
        }
        for ua in [
            "() { :; }; /bin/bash -c id",
            "Mozilla/5.0 (X11; cat /etc/passwd)",
            "Mozilla/5.0'; drop table x--",
            "${jndi:ldap://x/a}",
            "<script>alert(1)</script>",
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "curl/8.5.0/x",
        ] {
            assert!(!is_clean_user_agent(ua), "{ua}");
        }
    }
}

#[cfg(test)]
mod name_cache_tests {
    use super::*;

    #[test]
    fn cached_name_flags_agree_with_the_search_and_stay_bounded() {
        let names = [
            "amount",
            "line_items.0.price_data.currency",
            "class.module.classLoader.resources.context.parent.pipeline.first.pattern",
            "user[$ne]",
            "rO0ABQ",
            "java.lang.Runtime",
            "metadata.__proto__.isAdmin",
        ];
        for _ in 0..3 {
            for n in names {
                assert_eq!(name_flags(n), name_flags_uncached(n), "{n}");
            }
        }
        assert_eq!(name_flags("amount"), 0);
        assert!(name_is_suspicious("user[$ne]"));
        assert_ne!(name_flags("java.lang.Runtime") & NAME_JAVA, 0);
        assert_ne!(name_flags("rO0ABQ") & NAME_SERIALIZED, 0);
        // more distinct names than the cache holds: answers stay right
        for i in 0..5000 {
            let n = format!("field_{i}.value");
            assert_eq!(name_flags(&n), 0);
        }
        assert_ne!(name_flags("java.lang.Runtime") & NAME_JAVA, 0);
    }
}
