//! Server-side template injection: template expressions that compute
//! (`{{7*7}}`, `${7*7}`, `<%= 7*7 %>`, `#{7*7}`) or reach for the runtime
//! (`{{''.__class__.__mro__}}`, `{{config}}`, `T(java.lang.Runtime)`,
//! `<#assign ex="freemarker.template.utility.Execute"?new()>`, `#set(`).
//! A plain placeholder such as `{{customer_name}}` is not an injection.

use palisade_core::Severity;

use super::{Hit, Lazy, Subject};

static PROBE: Lazy = Lazy::new(
    r#"(\{\{|\$\{|#\{|\*\{|<%=?|\{%|@\()\s*['"`]?\d+['"`]?\s*[*+/-]\s*['"`]?\d+['"`]?\s*(\}|%>|%\}|\))"#,
);
static RUNTIME: Lazy = Lazy::new(concat!(
    r"__(class|mro|subclasses|globals|builtins|init|import|base|bases|dict|getattribute)__",
    r"|\{\{\s*(config|self|request|settings|lipsum|cycler|joiner|namespace|url_for|get_flashed_messages|range|dict|app)\b[^}]*\}\}",
    r"|\{\{[^}]*\|\s*attr\s*\(|\{%\s*(import|include|extends|set|for|if|debug)\b[^%]*\b(os|subprocess|popen|system|__)",
    r"|\bt\s*\(\s*java\.|new\s+java\.|freemarker\.template\.utility\.(execute|objectconstructor)|\?new\s*\(|<#assign\b",
    r#"|#set\s*\(\s*\$\w+\s*=|\$class\.inspect|\{php\}|\{\s*system\s*\(|\{\{\s*constructor\.constructor|\{\{\s*['"`]?[a-z]*['"`]?\s*\.\s*constructor"#,
    r"|\$\{\s*(runtime|applicationscope|sessionscope|facescontext|request\.getsession|pagecontext)\b|\bsmarty\.(version|template_object)",
));

pub(crate) const TRIGGERS: &[&str] = &[
    "{", "__", "<%", "<#", "#set", "@(", "java.", "?new", "smarty",
];

pub fn detect(s: &Subject<'_>) -> Option<Hit> {
    let lower = s.lower;
    if !(s.has_any(super::mask(b"{")) || s.triggered(super::T_SSTI)) {
        return None;
    }
    if let Some(at) = RUNTIME.find(lower) {
        return Some(
            Hit::new(
                "ssti",
                "ssti.runtime",
                Severity::Critical,
                90,
                "template expression reaching the runtime",
            )
            .near(lower, at),
        );
    }
    if let Some(at) = PROBE.find(lower) {
        return Some(
            Hit::new(
                "ssti",
                "ssti.probe",
                Severity::Critical,
                85,
                "template expression probe",
            )
            .near(lower, at),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::test_util::run;

    #[test]
    fn shapes() {
        for a in [
            "{{7*7}}",
            "${7*7}",
            "<%= 7 * 7 %>",
            "{{''.__class__.__mro__[1].__subclasses__()}}",
            "{{config.items()}}",
            "${T(java.lang.Runtime).getRuntime().exec('id')}",
            "<#assign ex=\"freemarker.template.utility.Execute\"?new()>",
        ] {
            assert!(run(detect, a).is_some(), "{a}");
        }
        for b in [
            "Hello {{customer_name}}",
            "total ${amount}",
            "50% off {code}",
            "#{order_id}",
            "2*3=6",
        ] {
            assert!(run(detect, b).is_none(), "{b}");
        }
    }
}
