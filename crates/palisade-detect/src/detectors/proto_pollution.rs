//! Prototype pollution: `__proto__`, `constructor.prototype` and
//! `constructor[prototype]` in JSON keys, query and form names, or in values
//! that are property paths (`set=__proto__.isAdmin`).

use palisade_core::Severity;

use super::{Hit, Subject};

/// Words without one of which a value cannot pollute a prototype.
pub(crate) const TRIGGERS: &[&str] = &["__proto__", "prototype"];

fn polluting(text: &str) -> Option<usize> {
    let l = text.to_ascii_lowercase();
    if let Some(p) = l.find("__proto__") {
        return Some(p);
    }
    let p = l.find("constructor")?;
    let rest = l.get(p + 11..).unwrap_or("");
    let rest = rest.trim_start_matches(['.', '[', ']', '"', '\'', ' ']);
    rest.starts_with("prototype").then_some(p)
}

pub fn detect(s: &Subject<'_>) -> Option<Hit> {
    // finders built once (a per-call searcher costs more than the search
    // over a short name), each behind a byte test
    use memchr::memmem::Finder;
    use std::sync::LazyLock;
    static DUNDER: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("__"));
    static CTOR: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("onstructor"));
    let name = s.name.as_bytes();
    if name.len() >= 9
        && ((memchr::memchr(b'_', name).is_some() && DUNDER.find(name).is_some())
            || (name.len() >= 11 && CTOR.find(name).is_some()))
        && let Some(at) = polluting(s.name)
    {
        return Some(
            Hit::new(
                "proto_pollution",
                "proto_pollution.key",
                Severity::Critical,
                95,
                "prototype pollution through a parameter name",
            )
            .near(s.name, at),
        );
    }
    // the value's markers are trigger words, found in the engine's one pass
    if s.triggered(super::T_PROTO) {
        let d = s.decoded;
        let at = polluting(d)?;
        // a property path or a JSON document, not prose about JavaScript
        let pathish = d.len() < 200 && !d.trim().contains(' ')
            || d.contains("\"__proto__\"")
            || d.contains("[__proto__]");
        if pathish {
            return Some(
                Hit::new(
                    "proto_pollution",
                    "proto_pollution.value",
                    Severity::High,
                    85,
                    "prototype pollution path in a value",
                )
                .near(d, at),
            );
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::test_util::{run, run_in};
    use crate::extract::Part;

    #[test]
    fn shapes() {
        assert!(run_in(detect, Part::Json, "__proto__.isAdmin", "true").is_some());
        assert!(run_in(detect, Part::Query, "a.constructor.prototype.x", "1").is_some());
        assert!(run(detect, "__proto__[admin]=1").is_some());
        assert!(run(detect, "the constructor of the house").is_none());
        assert!(run_in(detect, Part::Json, "profile.constructor", "Bob").is_none());
    }
}
