//! Cross-site scripting: the HTML/JavaScript lexer of `palisade-lexers`
//! first, then tags and attributes that run script, script URLs and DOM
//! sinks, read on the normalized value. Plain markup (`<b>`) is not XSS.

use super::{Hit, Lazy, Subject, mask};
use palisade_core::Severity;

pub(crate) const WORDS: &[&str] = &[
    "javascript",
    "vbscript",
    "livescript",
    "document",
    "window",
    "innerhtml",
    "fromcharcode",
    "expression",
    "binding",
    "@import",
    "alert",
    "prompt",
    "confirm",
    "eval",
    "settimeout",
    "setinterval",
    "globaleval",
    "top[",
    "self[",
    "[]",
    "parent",
    "frames",
    "globalthis",
    "opener",
    "${",
];
const LEXER_TRIGGERS: u128 = mask(b"<>\"'`:&");
/// Bytes without one of which no markup or script runs.
const SCRIPT_NEEDS: u128 = mask(b"<>=(`:");

static SCRIPT: Lazy = Lazy::new(concat!(
    r"<\s*/?\s*(script|iframe|frame|frameset|object|embed|applet|base|meta|isindex|xss|handler|listener)\b",
    r"|<[a-z][\w:-]*[\s/+][^>]*\bon[a-z]{3,}\s*=",
    r#"|<[a-z][\w:-]*[^>]*\b(src|href|action|formaction|data|xlink:href|background|dynsrc|lowsrc)\s*=\s*['"`]?\s*(javascript|vbscript|livescript|data\s*:\s*text/html)"#,
    r#"|(^|[\s'"`/;])on(error|load|click|dblclick|mouse\w+|focus\w*|blur|change|submit|key\w+|input|toggle|begin|end|animation\w+|transition\w+|pointer\w+|drag\w*|drop|wheel|scroll|select|copy|paste|cut|touch\w+|message|hashchange|pageshow|popstate|resize|unload|beforeunload|show|error)\s*=\s*['"`]?[\w$.]*\s*[\(`=]"#,
    r#"|\(\s*document\s*\)\s*\[|(document\s*\.\s*(cookie|domain|write|location)|window\s*\.\s*location|\.innerhtml\s*=|string\s*\.\s*fromcharcode|top\s*\[|self\s*\[\s*['"`])"#,
    r#"|\bexpression\s*\(|-moz-binding|@import\s*['"`]?\s*(javascript|data):"#,
    // markup whose inline style loads or runs something: url(), expression,
    // behavior, CSS escapes hiding either
    r#"|<[a-z][\w:-]*\s[^>]*\bstyle\s*=\s*['"`]?[^>]*(url\s*\(|expression|behavior\s*:|\\0{0,4}[4-7][0-9a-f][^0-9a-f])"#,
    r#"|\(!\[\]\s*\+\s*\[\]\)|\[\]\s*\[\s*\(|\bself\s*\[\s*['"`]|\bglobaleval\b"#,
    // a string or block closed, then a call: }alert(1);{//, ';alert(1)//
    r"|^\s*[}\])'\x22`]+\s*[;+,]?\s*(alert|prompt|confirm|eval|print)\s*(\(|`)[^)]{0,60}[)`]",
    r"|\b(alert|prompt|confirm|eval|settimeout|setinterval)\s*(\(|`)[^)]{0,60}[)`]",
    // global objects indexed by a string: window["alert"], parent['eval']
    r#"|\b(window|parent|frames|globalthis|content|opener)\s*\[\s*['"`]"#,
    // tagged templates and template sinks: [].sort.call`${alert}1`
    r"|\.\s*(call|apply|bind)\s*`|\$\{\s*(alert|prompt|confirm|eval)\b",
    // a quote breaking out of an attribute into an event handler or a
    // script-capable attribute: "onfocus=..., 'formaction=...
    r#"|['"`]\s*[/\s]*([\w-]+\s*=\s*[^\s>]*\s+){0,3}(on(abort|activate|afterprint|animation\w+|auxclick|before\w+|begin|blur|cancel|canplay\w*|change|click|close|contextmenu|copy|cuechange|cut|dblclick|drag\w*|drop|durationchange|end|ended|error|focus\w*|formdata|fullscreen\w*|hashchange|input|invalid|key\w+|load\w*|message|mouse\w+|paste|pause|play\w*|pointer\w+|popstate|progress|readystatechange|repeat|reset|resize|scroll\w*|search|seek\w*|select\w*|show|submit|toggle|touch\w+|transition\w+|unload|volumechange|wheel|zoom)|formaction|srcdoc)\s*="#,
));
pub fn detect(s: &Subject<'_>) -> Option<Hit> {
    // an http(s) URL without markup, quotes or spaces is no script URL and
    // breaks out of nothing
    if (s.lower.starts_with("https://") || s.lower.starts_with("http://"))
        && !s.has_any(mask(b"<>\"'` \t\\"))
    {
        return None;
    }
    let word = s.triggered(super::T_XSS);
    if !word && !s.has_any(LEXER_TRIGGERS | mask(b"=")) {
        return None;
    }
    // a quote alone breaks out of an attribute or string but runs nothing:
    // script needs a tag, an `=` (handler), a `:` (URL), a call or a template
    let lexed = if word || (s.has_any(LEXER_TRIGGERS) && s.has_any(SCRIPT_NEEDS)) {
        lexer(s)
    } else {
        None
    };
    if lexed.as_ref().is_some_and(|h| h.confidence >= 90) {
        return lexed;
    }
    let shaped = if word || s.has_any(SCRIPT_NEEDS | mask(b"[")) {
        shapes(s)
    } else {
        None
    };
    match (lexed, shaped) {
        (Some(l), Some(sh)) => Some(if sh.score() > l.score() { sh } else { l }),
        (l, sh) => l.or(sh),
    }
}

/// A value that is a script URL: `javascript:alert(1)`, not the title
/// "JavaScript: Basics of JavaScript" (prose after the colon, no code).
static SCRIPT_URL: Lazy = Lazy::new(r"^\s*(javascript|vbscript|livescript)\s*:");

fn shapes(s: &Subject<'_>) -> Option<Hit> {
    let lower = s.lower;
    if let Some(m) = SCRIPT_URL.get().find(lower) {
        let rest = lower.get(m.end()..).unwrap_or("").trim();
        let code = rest.bytes().any(|b| {
            matches!(
                b,
                b'(' | b')' | b'`' | b'=' | b'[' | b';' | b'/' | b'\\' | b'%' | b'&'
            )
        }) || !rest.contains(' ');
        if code {
            return Some(
                Hit::new("xss", "xss.shape", Severity::Critical, 90, "script URL").near(lower, 0),
            );
        }
    }
    if let Some(m) = SCRIPT.get().find(lower) {
        let at = m.start();
        // a bare function call in text is weaker evidence than a tag
        let called = m
            .as_str()
            .trim_start_matches(|c: char| !c.is_ascii_alphabetic());
        let breakout = m
            .as_str()
            .trim_start()
            .starts_with(['}', ']', ')', '\'', '"', '`']);
        let call_only = !breakout
            && [
                "alert",
                "prompt",
                "confirm",
                "eval",
                "settimeout",
                "setinterval",
            ]
            .iter()
            .any(|f| called.starts_with(f))
            && !lower.contains('<')
            && !lower.contains("javascript")
            && !lower.contains("document")
            && !lower.contains("window");
        let (sev, conf) = if call_only {
            (Severity::High, 80)
        } else {
            (Severity::Critical, 90)
        };
        return Some(Hit::new("xss", "xss.shape", sev, conf, "script injection").near(lower, at));
    }
    None
}

/// The lexer's verdict, as a hit.
fn lexer(s: &Subject<'_>) -> Option<Hit> {
    let m = palisade_lexers::xss(s.decoded)?;
    let msg = format!("script injection ({} in {} context)", m.reason, m.context);
    Some(
        Hit::new(
            "xss",
            "xss.lexer",
            Severity::Critical,
            m.confidence.max(60),
            msg,
        )
        .near(s.decoded, 0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::test_util::run;

    #[test]
    fn shapes() {
        for a in [
            "<script>alert(1)</script>",
            "%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
            "javascript:alert(1)",
            "\"><svg/onload=alert(1)>",
            "&lt;iframe src=javascript:alert(1)&gt;",
            "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
            "' onmouseover='alert(1)",
        ] {
            assert!(run(detect, a).is_some(), "{a}");
        }
        for b in [
            "I <3 my card",
            "a < b and c > d",
            "<b>bold</b>",
            "see script for details",
            "please alert me when paid",
            "onion=3",
            "online = true",
        ] {
            assert!(run(detect, b).is_none(), "{b}");
        }
    }

    #[test]
    fn styles_and_attribute_breakouts() {
        for a in [
            "<div style=\"background:url(javascript:alert(1))\">x</div>",
            "<x style=\"background:url('x[a];color:red;/*')\">XXX</x>",
            "<a style=\"x:expression(alert(1))\">",
            "\" type=image src=null onerror=alert(1) \"",
            "}alert(/INJECTX/);{//",
            "https://x.example/?q=<script>alert(1)</script>",
        ] {
            assert!(run(detect, a).is_some(), "{a}");
        }
        for b in [
            "style: url-safe names",
            "<b style=\"color:red\">sale</b>",
            "<p style=\"font-family:\\5FAE\\8F6F\\96C5\\9ED1\">text</p>",
            "https://shop.example.com/success?session_id={CHECKOUT_SESSION_ID}",
        ] {
            assert!(run(detect, b).is_none(), "{b}");
        }
    }
}
