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
    // Twig filters calling PHP, `_self`, Handlebars helpers, Pebble/Java
    // reflection, Thymeleaf preprocessing, Mako/ERB code blocks
    r#"|\|\s*(filter|map|reduce|sort)\s*\(\s*['"`]?(system|exec|passthru|shell_exec|popen)|\{\{\s*_self\b|\{\{\s*#\s*with\b|\.getclass\s*\(\s*\)|__\$\{[^}]{1,120}\}__"#,
    r"|<%\s*(import|!)\s|<%=?\s*(system|exec|eval|spawn|`|%x|file\.|io\.|kernel)",
    // a template control block opened and closed in a value: {% if x %}..{% endif %}
    r"|\{%-?\s*(if|for|set|with|macro|block|raw|filter)\b[^%]{0,80}%\}.{0,200}\{%-?\s*end\w*\s*-?%\}|<%\s*(if|for|each|while)\b[^%]{0,80}%>.{0,200}<%\s*end",
));

pub(crate) const TRIGGERS: &[&str] = &[
    "{", "__", "<%", "<#", "#set", "@(", "java.", "?new", "smarty", "getclass",
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

    #[test]
    fn template_blocks_and_engine_specific_escapes() {
        for a in [
            "{% if True %}49{% endif %}",
            "<% if true %>49<% end %>",
            "{{['id']|filter('system')}}",
            "{{_self.env.registerUndefinedFilterCallback('exec')}}",
            "__${T(java.lang.Runtime).getRuntime().exec('id')}__::.x",
            "<%= system('id') %>",
        ] {
            assert!(run(detect, a).is_some(), "{a}");
        }
        for b in ["100% if paid", "{% discount", "see <% of total%>"] {
            assert!(run(detect, b).is_none(), "{b}");
        }
    }
}
