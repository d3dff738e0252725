//! LDAP injection: values that close a filter and open another
//! (`*)(uid=*))(|(uid=*`, `admin)(&)`, `*)(objectClass=*`), or carry a
//! complete boolean filter where a name is expected.

use palisade_core::Severity;

use super::{Hit, Lazy, Subject};

static FILTER: Lazy = Lazy::new(concat!(
    r"\)\s*\(\s*[|&!]?\s*\(?\s*[\w.-]+\s*[~<>]?=",
    r"|\)\s*\(\s*[|&]\s*\)?|\)\s*\(\s*\(\s*[|&!]\s*[\w.-]+\s*[~<>]?=",
    // a filter closed and negated or or'ed with another: *)!(sn=*, x)|(uid=*
    r"|\)\s*[|&!]\s*\(\s*[\w.-]+\s*[~<>]?=",
    r"|^\s*\*\s*\)\s*\(",
    // extensible match with a matching-rule OID: userPassword:2.5.13.18:=x
    r"|\b[a-z][\w-]*(:dn)?:\d+(\.\d+){2,}:=",
    r"|^\s*\(\s*[|&]\s*\(\s*[\w.-]+\s*=",
    r"|\(\s*(objectclass|uid|cn|sn|mail|userpassword|samaccountname|memberof)\s*=\s*\*\s*\)",
));

pub(crate) const TRIGGERS: &[&str] = &[
    ")(", ") (", "(|", "(&", "=*", "*)", "( |", "( &", ":=", ")!(", ")|(", ")&(",
];

pub fn detect(s: &Subject<'_>) -> Option<Hit> {
    let lower = s.lower;
    if !s.triggered(super::T_LDAP) {
        return None;
    }
    let at = FILTER.find(lower)?;
    Some(
        Hit::new(
            "ldap",
            "ldap.filter",
            Severity::Critical,
            85,
            "LDAP filter injection",
        )
        .near(lower, at),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::test_util::run;

    #[test]
    fn shapes() {
        for a in [
            "*)(uid=*))(|(uid=*",
            "admin)(&)",
            "*)(objectClass=*",
            "(|(cn=admin)(cn=*))",
            "*)!(sn=*",
            "val)|(uid=*",
            "admin*)((|userpassword=*)",
        ] {
            assert!(run(detect, a).is_some(), "{a}");
        }
        for b in [
            "Smith (Jr.) (CEO)",
            "call (555) 010-0199",
            "f(x) (see note)",
            "(a) (b)",
            "(a)|(b) = choose one",
        ] {
            assert!(run(detect, b).is_none(), "{b}");
        }
    }
}
