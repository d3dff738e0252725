//! XSS by HTML/JavaScript lexing.
//!
//! A scanner modelled on the HTML5 tokenizer's states (data, tag open, tag
//! name, attribute name, attribute value in each quote style) reads the value
//! in the places a web page could put it:
//!
//! - `data`: between tags. Fires on a dangerous tag (`<script`, `<svg`,
//!   `<iframe`...), on any tag carrying an event handler (`<img onerror=`), a
//!   script URL (`href=javascript:`), a scripted style, or `</script>`.
//! - `attribute-value`: inside a double-, single- or un-quoted attribute.
//!   Fires when the value closes the attribute and adds an event handler or a
//!   scripted attribute (`" onmouseover="alert(1)`).
//! - `url`: the whole value used as a link (`javascript:alert(1)`).
//! - `script`: inside a JavaScript string (`';alert(1)//`) or a client-side
//!   template (`{{constructor.constructor('alert(1)')()}}`).
//!
//! It does not decode: the caller hands over decoded values. It does tolerate
//! leftovers (`java\tscript:`, `&#x3a;`, `&colon;` in a URL). Plain text with
//! `<` (`a < b`, `<3`), e-mail addresses in angle brackets and prose that
//! mentions "script" or "alert" do not fire. Linear: each state advances.

/// A value that would inject script or markup into an HTML page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XssMatch {
    /// What was found: a tag, an event handler attribute, a `javascript:` URL...
    pub reason: String,
    /// The context: `data`, `attribute-value`, `url`, `script`...
    pub context: &'static str,
    pub confidence: u8,
}

/// Whether `input` placed into an HTML document would run script.
pub fn xss(input: &str) -> Option<XssMatch> {
    let s = input.as_bytes();
    if !s.iter().any(|&c| {
        matches!(
            c,
            b'<' | b'"' | b'\'' | b'`' | b':' | b'=' | b'{' | b'+' | b';' | b'(' | b'>'
        )
    }) {
        return None;
    }
    if let Some(m) = scan_data(s) {
        return Some(m);
    }
    // Attribute-value contexts: the value closes the attribute it sits in.
    for q in [b'"', b'\''] {
        if let Some(p) = memchr::memchr(q, s)
            && let Some(m) = attributes(s, p + 1, false, false).0
        {
            return Some(XssMatch {
                context: "attribute-value",
                ..m
            });
        }
    }
    // Unquoted attribute value: it ends at the first space. Or the value is
    // put where attributes go ("<div VALUE>").
    if let Some(m) = attributes(s, 0, false, true)
        .0
        .or_else(|| attributes(s, 0, false, false).0)
    {
        return Some(XssMatch {
            context: "attribute-value",
            ..m
        });
    }
    if let Some(r) = script_url(s) {
        return Some(XssMatch {
            reason: r,
            context: "url",
            confidence: 85,
        });
    }
    if let Some(p) = memchr::memmem::find(s, b"&{") {
        let rest = s.get(p + 2..).unwrap_or(&[]);
        if rest.first() == Some(&b'(')
            || SINKS.iter().any(|k| {
                rest.len() >= k.len() && rest[..k.len()].eq_ignore_ascii_case(k.as_bytes())
            })
        {
            return Some(XssMatch {
                reason: "javascript entity &{...}".into(),
                context: "data",
                confidence: 70,
            });
        }
    }
    if let Some(r) = js_breakout(s) {
        return Some(XssMatch {
            reason: r,
            context: "script",
            confidence: 80,
        });
    }
    if let Some(r) = handler_value(s) {
        return Some(XssMatch {
            reason: r,
            context: "event-handler",
            confidence: 70,
        });
    }
    None
}

/// Sinks whose call is code, never prose.
const CALL_SINKS: &[&str] = &[
    "alert",
    "prompt",
    "confirm",
    "eval",
    "settimeout",
    "setinterval",
    "fetch",
    "import",
];

/// `ident(` or `` ident` `` at `p` with `ident` a call sink (or a dotted
/// `document.`/`window.`/`location.` chain); returns the identifier.
fn sink_call_at(s: &[u8], p: usize) -> Option<&[u8]> {
    let mut j = p;
    while s
        .get(j)
        .is_some_and(|&d| d.is_ascii_alphanumeric() || d == b'_' || d == b'.')
    {
        j += 1;
    }
    let ident = s.get(p..j)?;
    let head = ident.split(|&d| d == b'.').next().unwrap_or(ident);
    let dotted_sink = ident.contains(&b'.')
        && ["document", "window", "location", "top", "self", "parent"]
            .iter()
            .any(|k| lower_eq(head, k));
    let call = matches!(s.get(j), Some(b'(' | b'`'));
    ((CALL_SINKS.iter().any(|k| lower_eq(ident, k)) && call)
        || (dotted_sink && (call || s.get(j) == Some(&b'='))))
    .then_some(ident)
}

/// A value that is script for an event handler or a `javascript:` URL:
/// `alert(1)>`, `"prompt(1)">`, `geturl("javascript:alert(1)")`.
fn handler_value(s: &[u8]) -> Option<String> {
    let start = s
        .iter()
        .position(|&c| c > 0x20 && !matches!(c, b'"' | b'\'' | b'`' | b'>' | b';'))?;
    if let Some(id) = sink_call_at(s, start) {
        // The call must be all there is, or be followed by tag/statement punctuation.
        let close = memchr::memchr(b')', s.get(start..)?)
            .map(|o| start + o + 1)
            .or_else(|| {
                memchr::memchr(b'`', s.get(start + id.len() + 1..)?)
                    .map(|o| start + id.len() + o + 2)
            })?;
        let rest = s.get(close..)?;
        if rest
            .iter()
            .all(|&c| c <= 0x20 || matches!(c, b'>' | b';' | b'/' | b'"' | b'\'' | b'<' | b')'))
            || rest
                .iter()
                .find(|c| !c.is_ascii_whitespace() && !matches!(c, b'"' | b'\'' | b'`'))
                .is_some_and(|&c| matches!(c, b'>' | b';' | b'/'))
        {
            return Some(format!(
                "script call {}",
                String::from_utf8_lossy(id).to_ascii_lowercase()
            ));
        }
    }
    // "javascript:alert(1)" anywhere in the value.
    memchr::memchr(b':', s)?;
    let lower = s.to_ascii_lowercase();
    for scheme in [&b"javascript:"[..], b"vbscript:"] {
        let mut from = 0;
        while let Some(o) = memchr::memmem::find(lower.get(from..)?, scheme) {
            let mut k = from + o + scheme.len();
            while s.get(k).is_some_and(|c| c.is_ascii_whitespace()) {
                k += 1;
            }
            if sink_call_at(s, k).is_some()
                || (scheme == b"vbscript:"
                    && lower.get(k..).is_some_and(|r| r.starts_with(b"msgbox")))
            {
                return Some(format!("{} URL", String::from_utf8_lossy(scheme)));
            }
            from += o + 1;
        }
    }
    None
}

/// Tags that are dangerous by themselves.
const DANGEROUS_TAGS: &[&str] = &[
    "script",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "svg",
    "math",
    "base",
    "link",
    "meta",
    "form",
    "style",
    "import",
    "layer",
    "ilayer",
    "bgsound",
    "isindex",
    "portal",
    "template",
    "xss",
    "vmlframe",
    "handler",
    "listener",
    "animate",
    "set",
    "image",
    "xmp",
    "plaintext",
    "noscript",
    "html",
    "body",
    "head",
    "title",
    "textarea",
    "audio",
    "video",
    "source",
    "marquee",
    "details",
    "dialog",
    "keygen",
    "input",
    "button",
    "select",
    "option",
    "isindex",
    "comment",
    "foreignobject",
    "use",
];

fn lower_eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

fn is_space(c: u8) -> bool {
    // 0x0b: old IE separated attributes with a vertical tab too.
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0c | 0x0b)
}

/// At most this many tag openings are examined per value, and each tag's
/// attributes within `TAG_WINDOW` bytes: bounded work whatever the input.
const MAX_TAGS: usize = 256;
const TAG_WINDOW: usize = 2048;

fn scan_data(s: &[u8]) -> Option<XssMatch> {
    let mut i = 0;
    let mut tags = 0;
    while let Some(off) = memchr::memchr(b'<', s.get(i..)?) {
        tags += 1;
        if tags > MAX_TAGS {
            return None;
        }
        let p = i + off;
        let c = s.get(p + 1).copied().unwrap_or(0);
        if c.is_ascii_alphabetic() {
            let (m, _) = tag(s, p + 1);
            if m.is_some() {
                return m;
            }
            // Resume right after '<', not after the tag: markup hidden in an
            // attribute value ("<a title='<img src=x onerror=...>'>") is
            // found too, whatever quote games the browser plays.
            i = p + 1;
            continue;
        }
        if c == b'/' {
            let name = tag_name(s, p + 2);
            if lower_eq(name, "script")
                || lower_eq(name, "style")
                || lower_eq(name, "title")
                || lower_eq(name, "textarea")
            {
                // Closing the script/style/title the value sits in, to open a new one.
                let rest = s.get(p + 2 + name.len()..).unwrap_or(&[]);
                if lower_eq(name, "script") || memchr::memchr(b'<', rest).is_some() {
                    return Some(XssMatch {
                        reason: format!(
                            "</{}> breakout",
                            String::from_utf8_lossy(name).to_ascii_lowercase()
                        ),
                        context: "data",
                        confidence: 80,
                    });
                }
            }
        }
        if c == b'?' || c == b'!' {
            let d = s.get(p + 2..).unwrap_or(&[]);
            // <?xml-stylesheet href="data:,*{x:expression(...)}"?>: scripted CSS in a PI.
            if c == b'?' {
                let end = memchr::memmem::find(d, b"?>")
                    .unwrap_or(d.len())
                    .min(TAG_WINDOW);
                if scripted_css(d.get(..end).unwrap_or(&[])) {
                    return Some(XssMatch {
                        reason: "scripted stylesheet processing instruction".into(),
                        context: "data",
                        confidence: 75,
                    });
                }
            }
            const PI: &[&[u8]] = &[b"import", b"xml:namespace", b"attlist"];
            if PI
                .iter()
                .any(|k| d.len() >= k.len() && d[..k.len()].eq_ignore_ascii_case(k))
            {
                return Some(XssMatch {
                    reason: "markup declaration <?import/<!ATTLIST".into(),
                    context: "data",
                    confidence: 75,
                });
            }
        }
        if c == b'!' && s.get(p + 2..p + 5).is_some_and(|t| t == b"--#") {
            let d = s.get(p + 5..).unwrap_or(&[]);
            if d.len() >= 4
                && (d[..4].eq_ignore_ascii_case(b"exec") || d[..4].eq_ignore_ascii_case(b"incl"))
            {
                return Some(XssMatch {
                    reason: "server-side include directive".into(),
                    context: "data",
                    confidence: 85,
                });
            }
        }
        i = p + 1;
    }
    None
}

fn tag_name(s: &[u8], start: usize) -> &[u8] {
    let mut i = start;
    while let Some(&c) = s.get(i) {
        if is_space(c) || matches!(c, b'/' | b'>' | b'<') {
            break;
        }
        i += 1;
    }
    s.get(start..i).unwrap_or(&[])
}

/// Whether a later start tag (after `from`) carries an attribute: what a
/// bare `<svg>`, `<math>` or `<form>` needs to switch parsers and run
/// something (`<math><a xlink:href=...>`, `<form><textarea onkeyup=...>`).
fn nested_markup(s: &[u8], from: usize) -> bool {
    let mut i = from;
    while let Some(p) = s.get(i..).and_then(|r| memchr::memchr(b'<', r)) {
        let at = i + p;
        if s.get(at + 1).is_some_and(|&c| c != b'/') {
            let seg = s.get(at + 1..).unwrap_or(&[]);
            let seg = seg
                .get(..memchr::memchr(b'>', seg).unwrap_or(seg.len()))
                .unwrap_or(&[]);
            if seg.contains(&b'=') {
                return true;
            }
        }
        i = at + 1;
    }
    false
}

/// A start tag whose name begins at `start`. Returns a match and where to
/// resume scanning.
fn tag(s: &[u8], start: usize) -> (Option<XssMatch>, usize) {
    let name = tag_name(s, start);
    let after = start + name.len();
    // "<bob@example.com>" is an address, not markup.
    let mailish = name.contains(&b'@');
    // "<scr\0ipt>": NUL bytes vanish from tag names.
    let clean: Vec<u8> = name.iter().copied().filter(|&c| c != 0).collect();
    if !mailish {
        // "<script", "<svg/onload", "<svg:script", "<xsl:stylesheet".
        let mut parts = clean.split(|&c| c == b':');
        let prefix = parts.next().unwrap_or(&[]);
        let base: &[u8] = clean.split(|&c| c == b':').next_back().unwrap_or(&clean);
        if clean.contains(&b':')
            && ["svg", "math", "xsl", "html", "xml"]
                .iter()
                .any(|p| lower_eq(prefix, p))
        {
            return (
                Some(XssMatch {
                    reason: format!(
                        "<{}:> namespaced tag",
                        String::from_utf8_lossy(prefix).to_ascii_lowercase()
                    ),
                    context: "data",
                    confidence: 85,
                }),
                after,
            );
        }
        if let Some(t) = DANGEROUS_TAGS.iter().find(|t| lower_eq(base, t)) {
            // Bare "<input>" / "<select>"-like form tags need an attribute to
            // matter; so do "<svg>", "<math>" and "<form>": markup written about
            // in text ("<svg></svg> icons") runs nothing without one.
            let weak = (matches!(*t, "svg" | "math" | "form") && !nested_markup(s, after))
                || matches!(
                    *t,
                    "input"
                        | "button"
                        | "select"
                        | "option"
                        | "textarea"
                        | "title"
                        | "details"
                        | "audio"
                        | "video"
                        | "source"
                        | "use"
                        | "set"
                        | "image"
                        | "comment"
                        | "dialog"
                        | "head"
                        | "html"
                        | "body"
                        | "marquee"
                );
            if !weak {
                return (
                    Some(XssMatch {
                        reason: format!("<{t}> tag"),
                        context: "data",
                        confidence: 90,
                    }),
                    after,
                );
            }
        }
    }
    // IE's "<xml id=x>" / "<xml src=...>" data islands; a bare "<xml>" is an XML body.
    if lower_eq(&clean, "xml") && s.get(after).is_some_and(|&c| is_space(c)) {
        let rest = s.get(after..).unwrap_or(&[]);
        let first = rest
            .iter()
            .position(|&c| !is_space(c))
            .and_then(|p| rest.get(p));
        if first.is_some_and(u8::is_ascii_alphabetic) {
            return (
                Some(XssMatch {
                    reason: "<xml> data island".into(),
                    context: "data",
                    confidence: 80,
                }),
                after,
            );
        }
    }
    let (m, next) = attributes(s, after, true, false);
    (
        m.map(|m| XssMatch {
            context: "data",
            ..m
        }),
        next,
    )
}

/// Parses attributes from `i` (before-attribute-name state) up to `>` or the
/// end. `markup`: the value itself opened the tag, so any handler counts.
fn attributes(s: &[u8], mut i: usize, markup: bool, unquoted: bool) -> (Option<XssMatch>, usize) {
    let s = s
        .get(..s.len().min(i.saturating_add(TAG_WINDOW)))
        .unwrap_or(s);
    // In the unquoted-attribute context the value first runs to a space.
    if unquoted {
        while let Some(&c) = s.get(i) {
            if is_space(c) || c == b'>' {
                break;
            }
            i += 1;
        }
    }
    let mut budget = 4096;
    loop {
        budget -= 1;
        if budget == 0 {
            return (None, i);
        }
        while s
            .get(i)
            .is_some_and(|&c| is_space(c) || c == b'/' || c == b'"' || c == b'\'')
        {
            i += 1;
        }
        match s.get(i) {
            None => return (None, i),
            Some(b'>') => return (None, i + 1),
            Some(b'<') if markup => return (None, i),
            _ => {}
        }
        let ns = i;
        i += 1; // the first character may be '='
        while let Some(&c) = s.get(i) {
            if is_space(c) || matches!(c, b'/' | b'>' | b'=') {
                break;
            }
            i += 1;
        }
        let name = s.get(ns..i).unwrap_or(&[]);
        while s.get(i).is_some_and(|&c| is_space(c)) {
            i += 1;
        }
        let mut value: &[u8] = &[];
        let mut has_value = false;
        if s.get(i) == Some(&b'=') {
            has_value = true;
            i += 1;
            while s.get(i).is_some_and(|&c| is_space(c)) {
                i += 1;
            }
            match s.get(i) {
                Some(&q @ (b'"' | b'\'' | b'`')) => {
                    let vs = i + 1;
                    let ve =
                        memchr::memchr(q, s.get(vs..).unwrap_or(&[])).map_or(s.len(), |o| vs + o);
                    value = s.get(vs..ve).unwrap_or(&[]);
                    i = (ve + 1).min(s.len());
                }
                _ => {
                    let vs = i;
                    while let Some(&c) = s.get(i) {
                        if is_space(c) || c == b'>' {
                            break;
                        }
                        i += 1;
                    }
                    value = s.get(vs..i).unwrap_or(&[]);
                }
            }
        }
        if let Some(reason) = check_attribute(name, value, has_value, markup) {
            return (
                Some(XssMatch {
                    reason,
                    context: "data",
                    confidence: if markup { 90 } else { 80 },
                }),
                i,
            );
        }
    }
}

fn is_event_handler(name: &[u8]) -> bool {
    // "onerror", also "onerror\0" / "onerror\x0b" (control bytes some
    // parsers drop).
    let letters = name.iter().take_while(|c| c.is_ascii_alphabetic()).count();
    letters > 4
        && name[..2].eq_ignore_ascii_case(b"on")
        && name[letters..].iter().all(|&c| c < 0x20)
}

fn js_ish(v: &[u8]) -> bool {
    v.iter()
        .any(|&c| matches!(c, b'(' | b'`' | b'=' | b'[' | b'{'))
        || (v.len() > 2
            && v.iter()
                .all(|c| c.is_ascii_alphanumeric() || *c == b'.' || *c == b'_')
            && v.contains(&b'.'))
}

fn check_attribute(name: &[u8], value: &[u8], has_value: bool, markup: bool) -> Option<String> {
    // Allocation only on a hit: this runs for every word of prose in the
    // attribute contexts.
    let lname = || String::from_utf8_lossy(name).to_ascii_lowercase();
    if is_event_handler(name) && has_value && (markup || js_ish(value)) && !value.is_empty() {
        return Some(format!("event handler {}=", lname()));
    }
    if !has_value || value.is_empty() {
        return None;
    }
    if let Some(scheme) = script_scheme(value) {
        return Some(format!("{scheme} URL in {}=", lname()));
    }
    let is = |w: &str| name.eq_ignore_ascii_case(w.as_bytes());
    let contains = |needle: &[u8]| {
        value.len() >= needle.len()
            && value
                .windows(needle.len())
                .any(|w| w.eq_ignore_ascii_case(needle))
    };
    if is("style") && scripted_css(value) {
        return Some("scripted style=".into());
    }
    if value.windows(2).any(|w| w == b"&{") {
        return Some("javascript entity &{...}".into());
    }
    if is("attributename")
        && (is_event_handler(value)
            || value.eq_ignore_ascii_case(b"innerhtml")
            || value.len() >= 4 && value[value.len() - 4..].eq_ignore_ascii_case(b"href"))
    {
        return Some("SVG/SMIL attributeName".into());
    }
    if is("srcdoc") && value.contains(&b'<') {
        return Some("srcdoc= markup".into());
    }
    if is("dataformatas") && value.trim_ascii().eq_ignore_ascii_case(b"html") {
        return Some("dataformatas=html".into());
    }
    if (is("http-equiv") && contains(b"refresh")) || (is("content") && contains(b"url=javascript"))
    {
        return Some("meta refresh".into());
    }
    None
}

/// CSS that runs script: `expression(`, `-moz-binding`, `behavior:`, a
/// `javascript:` URL. Comments, backslashes and spaces are removed first
/// (`expr/**/ession`, `exp\ression`).
fn scripted_css(v: &[u8]) -> bool {
    let mut n = Vec::with_capacity(v.len().min(4096));
    let mut i = 0;
    // The quote of the CSS string we are in, 0 outside strings.
    let mut in_str = 0u8;
    while i < v.len() && n.len() < 4096 {
        if in_str != 0 && v[i] == in_str {
            in_str = 0;
            n.push(v[i]);
            i += 1;
            continue;
        }
        if in_str == 0 && v[i] == b'/' && v.get(i + 1) == Some(&b'*') {
            i = memchr::memmem::find(v.get(i + 2..).unwrap_or(&[]), b"*/")
                .map_or(v.len(), |o| i + 2 + o + 2);
            continue;
        }
        if in_str == 0 && matches!(v[i], b'"' | b'\'') {
            // A CSS string: no comment starts inside it; escapes still count.
            in_str = v[i];
            n.push(v[i]);
            i += 1;
            continue;
        }
        let c = v[i];
        if c == b'\\' {
            // CSS escape: up to six hex digits and one optional space.
            let hex = v
                .get(i + 1..)
                .unwrap_or(&[])
                .iter()
                .take(6)
                .take_while(|h| h.is_ascii_hexdigit())
                .count();
            if hex > 0 {
                let code = std::str::from_utf8(&v[i + 1..i + 1 + hex])
                    .ok()
                    .and_then(|h| u32::from_str_radix(h, 16).ok());
                if let Some(ch) = code.and_then(char::from_u32).filter(char::is_ascii) {
                    n.push((ch as u8).to_ascii_lowercase());
                }
                i += 1 + hex;
                if v.get(i).is_some_and(|&c| c == b' ') {
                    i += 1;
                }
                continue;
            }
            i += 1;
            continue;
        }
        if c > 0x20 {
            n.push(c.to_ascii_lowercase());
        }
        i += 1;
    }
    const BAD: &[&[u8]] = &[
        b"expression(",
        b"javascript:",
        b"vbscript:",
        b"-moz-binding",
        b"behavior:",
        b"behaviour:",
        b"binding:url",
        b"@import",
    ];
    BAD.iter().any(|b| memchr::memmem::find(&n, b).is_some())
}

/// Normalises a URL: drops control characters and spaces, decodes the few
/// entities used to hide a scheme, lowercases; at most 40 bytes.
fn normalise_url(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(40);
    let mut i = 0;
    while i < v.len() && out.len() < 40 {
        let c = v[i];
        if c <= 0x20 || c == 0x7f {
            i += 1;
            continue;
        }
        if c == b'\\'
            && v.get(i + 1)
                .is_some_and(|&n| matches!(n, b't' | b'n' | b'r' | b'0'))
        {
            i += 2;
            continue;
        }
        if c == b'&' {
            // &colon; &tab; &newline; &#58; &#x3a;
            let rest = v.get(i + 1..).unwrap_or(&[]);
            if rest.first() == Some(&b'#') {
                // Numeric entity, ';' optional: "&#106", "&#x6A", "&#0000106;".
                let hexa = matches!(rest.get(1), Some(b'x' | b'X'));
                let from = if hexa { 2 } else { 1 };
                let digits = rest
                    .get(from..)
                    .unwrap_or(&[])
                    .iter()
                    .take(8)
                    .take_while(|d| {
                        if hexa {
                            d.is_ascii_hexdigit()
                        } else {
                            d.is_ascii_digit()
                        }
                    })
                    .count();
                if digits > 0 {
                    let txt = std::str::from_utf8(&rest[from..from + digits]).unwrap_or("0");
                    let n = u32::from_str_radix(txt, if hexa { 16 } else { 10 }).unwrap_or(0);
                    if let Ok(b) = u8::try_from(n)
                        && b > 0x20
                    {
                        out.push(b.to_ascii_lowercase());
                    }
                    i += 1 + from + digits;
                    if v.get(i) == Some(&b';') {
                        i += 1;
                    }
                    continue;
                }
            }
            if let Some(semi) = rest.iter().take(10).position(|&x| x == b';') {
                let ent = &rest[..semi];
                let decoded = if ent.eq_ignore_ascii_case(b"colon") {
                    Some(b':')
                } else if ent.eq_ignore_ascii_case(b"tab") || ent.eq_ignore_ascii_case(b"newline") {
                    Some(0)
                } else if ent.first() == Some(&b'#') {
                    let (digits, radix) = match ent.get(1) {
                        Some(b'x' | b'X') => (ent.get(2..).unwrap_or(&[]), 16),
                        _ => (ent.get(1..).unwrap_or(&[]), 10),
                    };
                    std::str::from_utf8(digits)
                        .ok()
                        .and_then(|d| u32::from_str_radix(d, radix).ok())
                        .and_then(|n| u8::try_from(n).ok())
                        .map(|b| if b <= 0x20 { 0 } else { b })
                } else if ent.len() <= 8 && ent.iter().all(u8::is_ascii_alphanumeric) {
                    // Unknown leftovers ("&14;") vanish.
                    Some(0)
                } else {
                    None
                };
                if let Some(d) = decoded {
                    if d != 0 {
                        out.push(d.to_ascii_lowercase());
                    }
                    i += semi + 2;
                    continue;
                }
            }
        }
        out.push(c.to_ascii_lowercase());
        i += 1;
    }
    out
}

fn script_scheme(v: &[u8]) -> Option<&'static str> {
    let n = normalise_url(v);
    const SCHEMES: &[(&[u8], &str)] = &[
        (b"javascript:", "javascript:"),
        (b"vbscript:", "vbscript:"),
        (b"livescript:", "livescript:"),
        (b"mocha:", "mocha:"),
        (b"data:text/html", "data:text/html"),
        (b"data:image/svg", "data:image/svg"),
        (b"data:application/xhtml", "data:application/xhtml"),
        (b"data:text/xml", "data:text/xml"),
        (b"data:application/x-", "data:application"),
        (b"data:text/javascript", "data:text/javascript"),
    ];
    SCHEMES
        .iter()
        .find(|(p, _)| n.starts_with(p))
        .map(|(_, name)| *name)
}

/// The whole value used as a URL: `javascript:alert(1)`.
fn script_url(s: &[u8]) -> Option<String> {
    let start = s
        .iter()
        .position(|&c| c > 0x20 && c != b'"' && c != b'\'' && c != b'`')?;
    let v = s.get(start..)?;
    let scheme = script_scheme(v)?;
    // "javascript: the good parts" is a book title; code has punctuation.
    let body = v.get(scheme.len().min(v.len())..).unwrap_or(&[]);
    if scheme.starts_with("data:")
        || body
            .iter()
            .any(|&c| matches!(c, b'(' | b'`' | b'=' | b';' | b'[' | b'.'))
    {
        return Some(format!("{scheme} URL"));
    }
    None
}

/// Functions and objects a script injection calls or touches.
const SINKS: &[&str] = &[
    "alert",
    "prompt",
    "confirm",
    "eval",
    "print",
    "fetch",
    "settimeout",
    "setinterval",
    "function",
    "import",
    "atob",
    "open",
    "document",
    "window",
    "location",
    "top",
    "self",
    "parent",
    "frames",
    "this",
    "globalthis",
    "constructor",
    "xmlhttprequest",
    "navigator",
    "localstorage",
    "sessionstorage",
    "cookie",
    "execscript",
    "msgbox",
    "console",
    "string",
    "unescape",
    "decodeuricomponent",
    "object",
];

/// A JavaScript string or template breakout: a quote, an operator, then a
/// call of a sink (`';alert(1)//`, `"-confirm(1)-"`, `${alert(1)}`).
fn js_breakout(s: &[u8]) -> Option<String> {
    for (p, &c) in s.iter().enumerate() {
        let template = c == b'{' && p > 0 && matches!(s.get(p - 1), Some(b'$' | b'{'));
        if !matches!(c, b'\'' | b'"' | b'`') && !template {
            continue;
        }
        let mut j = p + 1;
        let mut ops = 0;
        while let Some(&d) = s.get(j) {
            if matches!(
                d,
                b';' | b'+'
                    | b'-'
                    | b'*'
                    | b'/'
                    | b'|'
                    | b'&'
                    | b','
                    | b')'
                    | b'}'
                    | b']'
                    | b'!'
                    | b'~'
                    | b'^'
                    | b'%'
                    | b'<'
                    | b'>'
                    | b'?'
                    | b':'
                    | b'='
            ) {
                ops += 1;
            } else if !is_space(d) && d != b'\\' {
                break;
            }
            j += 1;
            if j - p > 12 {
                break;
            }
        }
        if ops == 0 && !template {
            continue;
        }
        // identifier chain: a.b.c
        let id_start = j;
        while s
            .get(j)
            .is_some_and(|&d| d.is_ascii_alphanumeric() || d == b'_' || d == b'$' || d == b'.')
        {
            j += 1;
        }
        let ident = s.get(id_start..j)?;
        if ident.is_empty() {
            continue;
        }
        let head = ident.split(|&d| d == b'.').next().unwrap_or(ident);
        if !SINKS.iter().any(|k| lower_eq(head, k)) {
            continue;
        }
        let next = s.get(j).copied().unwrap_or(0);
        let dotted = ident.contains(&b'.');
        if matches!(next, b'(' | b'`')
            || (dotted && matches!(next, b'=' | b'(' | b'['))
            || (dotted && lower_eq(head, "document"))
        {
            return Some(format!(
                "script breakout calling {}",
                String::from_utf8_lossy(ident).to_ascii_lowercase()
            ));
        }
    }
    None
}
