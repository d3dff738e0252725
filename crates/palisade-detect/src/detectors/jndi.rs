//! JNDI lookups (log4shell) in any value or header, with nested lookups
//! resolved first: `${${lower:j}ndi:...}`, `${${::-j}${::-n}di:...}`,
//! `${${env:X:-j}ndi...}`, `${jndi:${lower:l}dap://...}`.

use palisade_core::Severity;

use super::{Hit, Subject};

/// Resolves the lookups log4j would, innermost first, into the text they
/// produce: `${lower:X}` → `x`, `${upper:X}` → `X`, `${a:b:-c}` → `c`,
/// `${date:'j'}` → `j`, any other lookup → empty. Bounded passes.
pub fn resolve(s: &str) -> String {
    let mut cur = s.to_string();
    for _ in 0..16 {
        // the innermost `${` is the last one before the first `}` after it
        let Some(close) = find_innermost(&cur) else {
            break;
        };
        let (open, end) = close;
        let inner = cur.get(open + 2..end).unwrap_or("").to_string();
        let value = eval(&inner);
        if value.as_deref() == Some(inner.as_str()) && inner.contains("jndi") {
            break;
        }
        let replacement = match value {
            Some(v) => v,
            None => break,
        };
        cur.replace_range(open..=end, &replacement);
    }
    cur
}

fn find_innermost(s: &str) -> Option<(usize, usize)> {
    let b = s.as_bytes();
    let mut last_open = None;
    for (i, &c) in b.iter().enumerate() {
        if c == b'$' && b.get(i + 1) == Some(&b'{') {
            last_open = Some(i);
        } else if c == b'}'
            && let Some(o) = last_open
        {
            return Some((o, i));
        }
    }
    None
}

/// What a lookup expression evaluates to; `None` to stop (a real `jndi:`).
fn eval(inner: &str) -> Option<String> {
    let l = inner.to_ascii_lowercase();
    if l.starts_with("jndi:") {
        return None;
    }
    if let Some(d) = inner.find(":-") {
        return Some(inner[d + 2..].to_string());
    }
    if let Some(v) = l.strip_prefix("lower:") {
        return Some(v.to_string());
    }
    if let Some(v) = inner
        .strip_prefix("upper:")
        .or_else(|| inner.strip_prefix("UPPER:"))
    {
        return Some(v.to_ascii_uppercase());
    }
    if let Some(v) = l.strip_prefix("date:") {
        return Some(v.trim_matches('\'').to_string());
    }
    Some(String::new())
}

pub fn detect(s: &Subject<'_>) -> Option<Hit> {
    let d = s.decoded;
    let at = d.find("${")?;
    let lower = d.to_ascii_lowercase();
    let resolved = if lower.contains("${jndi:") {
        lower.clone()
    } else {
        resolve(d).to_ascii_lowercase()
    };
    let resolved_ns: String = resolved.chars().filter(|c| !c.is_whitespace()).collect();
    if let Some(p) = resolved_ns
        .find("${jndi:")
        .or_else(|| resolved_ns.find("jndi:"))
    {
        let proto_ok = [
            "ldap", "ldaps", "rmi", "dns", "iiop", "corba", "nds", "nis", "http", "https", "${",
        ]
        .iter()
        .any(|p2| {
            resolved_ns
                .get(p + 5..)
                .unwrap_or("")
                .trim_start_matches("${jndi:")
                .starts_with(p2)
                || resolved_ns.contains(&format!("jndi:{p2}"))
        });
        let conf = if proto_ok { 100 } else { 90 };
        return Some(
            Hit::new(
                "jndi",
                "jndi.lookup",
                Severity::Critical,
                conf,
                "JNDI lookup (log4shell)",
            )
            .near(d, at),
        );
    }
    // lookups that leak the environment even without JNDI
    if lower.contains("${env:")
        || lower.contains("${sys:")
        || lower.contains("${java:")
        || lower.contains("${ctx:")
        || lower.contains("${main:")
        || lower.contains("${k8s:")
        || lower.contains("${docker:")
    {
        return Some(
            Hit::new(
                "jndi",
                "jndi.lookup_leak",
                Severity::High,
                85,
                "log4j lookup reading the environment",
            )
            .near(d, at),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::test_util::run;

    #[test]
    fn nested() {
        assert_eq!(resolve("${${lower:j}ndi:x}"), "${jndi:x}");
        for a in [
            "${jndi:ldap://x.example/a}",
            "${${lower:j}ndi:ldap://x/a}",
            "${${::-j}${::-n}${::-d}${::-i}:rmi://x/a}",
            "${${env:NaN:-j}ndi${env:NaN:-:}${env:NaN:-l}dap://x}",
            "%24%7Bjndi%3Aldap%3A%2F%2Fx%7D",
            "${jndi:${lower:l}${lower:d}a${lower:p}://x}",
        ] {
            assert!(run(detect, a).is_some(), "{a}");
        }
        for b in ["${amount}", "price is ${total} dollars", "cost: $5 {x}"] {
            assert!(run(detect, b).is_none(), "{b}");
        }
    }
}
