//! NoSQL (MongoDB) operator injection: operator keys in JSON bodies and
//! query names (`password[$ne]=x`, `{"$where": ...}`), and JSON operator
//! objects or `$where` JavaScript smuggled inside string values.

use palisade_core::Severity;

use super::{Hit, Lazy, Subject};

const OPERATORS: &[&str] = &[
    "$ne",
    "$eq",
    "$gt",
    "$gte",
    "$lt",
    "$lte",
    "$in",
    "$nin",
    "$regex",
    "$where",
    "$exists",
    "$expr",
    "$or",
    "$and",
    "$not",
    "$nor",
    "$elemmatch",
    "$function",
    "$accumulator",
    "$type",
    "$all",
    "$size",
    "$mod",
    "$text",
    "$jsonschema",
    "$lookup",
    "$merge",
    "$out",
];

static IN_VALUE: Lazy = Lazy::new(concat!(
    r#"\{\s*['"]?\$(ne|gt|gte|lt|lte|nin|in|regex|where|exists|expr|or|function)['"]?\s*:"#,
    r#"|['"`]\s*;\s*return\s+(true|1|this\b)|\bthis\.\w+\.match\s*\(|\bdb\.(getcollection|\w+\.find)\s*\(|;\s*sleep\s*\(\s*\d+\s*\)\s*;?\s*(var|//|$)"#,
    r#"|\|\|\s*['"`]?\d['"`]?\s*==\s*['"`]?\d|['"`]\s*\|\|\s*['"`]\w*['"`]\s*==\s*['"`]"#,
    // an operator key spliced into a query built from text: `true, $where: '1 == 1'`
    r#"|(^|[,{\s'"])\$(where|or|and|nor|ne|gt|gte|lt|lte|regex|nin|in|exists|expr|function|not|elemmatch)\s*['"]?\s*:"#,
    // Mongo shell calls: db.users.insert({...}), db.orders.drop()
    r"|\bdb\.\w+\.(insert|find|update|remove|delete|drop|aggregate|mapreduce|replace|bulkwrite|rename)\w*\s*\(",
));

/// The Mongo operator named by a key or a dotted name segment, if any.
fn operator_in(name: &str) -> Option<&'static str> {
    name.split(['.', '[', ']']).find_map(|seg| {
        let seg = seg.trim();
        if !seg.starts_with('$') {
            return None;
        }
        OPERATORS
            .iter()
            .find(|op| op.eq_ignore_ascii_case(seg))
            .copied()
    })
}

pub(crate) const TRIGGERS: &[&str] = &["$", "||", "return", "this.", "db.", "sleep"];

pub fn detect(s: &Subject<'_>) -> Option<Hit> {
    if matches!(
        s.part,
        crate::extract::Part::Json
            | crate::extract::Part::Query
            | crate::extract::Part::Form
            | crate::extract::Part::Cookie
    ) && s.name.contains('$')
        && let Some(op) = operator_in(s.name)
    {
        let sev = if matches!(op, "$where" | "$function" | "$accumulator" | "$expr") {
            Severity::Critical
        } else {
            Severity::High
        };
        return Some(
            Hit::new(
                "nosql",
                "nosql.operator",
                sev,
                100,
                format!("NoSQL operator {op} in a parameter name"),
            )
            .near(s.name, 0),
        );
    }
    if s.is_key {
        return None;
    }
    let lower = s.lower;
    if !(s.has_any(super::mask(b"$")) || s.triggered(super::T_NOSQL)) {
        return None;
    }
    if let Some(at) = IN_VALUE.find(lower) {
        return Some(
            Hit::new(
                "nosql",
                "nosql.value",
                Severity::High,
                90,
                "NoSQL operator or server-side JavaScript in a value",
            )
            .near(lower, at),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::test_util::run_in;
    use crate::extract::Part;

    #[test]
    fn names_and_values() {
        assert!(run_in(detect, Part::Query, "password.$ne", "x").is_some());
        assert!(run_in(detect, Part::Json, "filter.$where", "sleep(100)").is_some());
        assert!(run_in(detect, Part::Query, "q", r#"{"$gt":""}"#).is_some());
        assert!(run_in(detect, Part::Query, "q", "'; return true; var x='").is_some());
        assert!(run_in(detect, Part::Query, "price", "$10").is_none());
        assert!(run_in(detect, Part::Json, "amount.currency", "USD").is_none());
        assert!(run_in(detect, Part::Json, "note", "costs $ne and $gt").is_none());
    }
}
