//! XML external entities: a DTD that declares entities (`<!ENTITY x SYSTEM
//! "file:///etc/passwd">`, parameter entities `<!ENTITY % x ...>`), and
//! XInclude. Read on the raw XML body (the extractor skips DTDs) and on any
//! value that carries XML.

use palisade_core::{RequestPart, Severity};

use super::{Hit, Lazy, Subject};

static ENTITY: Lazy = Lazy::new(
    r#"<!entity\s+(%\s*)?[\w.:-]+\s+(system|public)\b|<!entity\s+%|<!doctype\s+[\w:.-]+\s+(system|public)\s+['"`]"#,
);
static DOCTYPE_ENTITY: Lazy = Lazy::new(r"<!doctype[^>]*\[\s*<!entity");
static XINCLUDE: Lazy = Lazy::new(
    r#"xmlns:\w+\s*=\s*['"`]http://www\.w3\.org/2001/xinclude|<\w+:include\s+[^>]*href\s*="#,
);

pub fn detect(s: &Subject<'_>) -> Option<Hit> {
    // `<!DOCTYPE`/`<!ENTITY` and `<xi:include` need a `<`, an XInclude
    // namespace declaration an `x` and a `:`: test the bytes first
    if !(s.has_any(super::mask(b"<"))
        || s.has_any(super::mask(b"x")) && s.has_any(super::mask(b":")))
        || (!s.has("<!") && !s.has("include"))
    {
        return None;
    }
    scan(s.lower)
}

fn scan(lower: &str) -> Option<Hit> {
    if let Some(at) = ENTITY.find(lower) {
        return Some(
            Hit::new(
                "xxe",
                "xxe.external_entity",
                Severity::Critical,
                95,
                "XML external entity declaration",
            )
            .near(lower, at),
        );
    }
    if let Some(at) = DOCTYPE_ENTITY.find(lower) {
        return Some(
            Hit::new(
                "xxe",
                "xxe.entity",
                Severity::High,
                85,
                "XML entity declaration in an inline DTD",
            )
            .near(lower, at),
        );
    }
    if let Some(at) = XINCLUDE.find(lower) {
        return Some(
            Hit::new(
                "xxe",
                "xxe.xinclude",
                Severity::Critical,
                90,
                "XInclude of an external resource",
            )
            .near(lower, at),
        );
    }
    None
}

/// The raw body, when it is (or looks like) XML.
pub fn detect_body(req: &RequestPart, head: bool, out: &mut Vec<(String, Hit)>) {
    if head || req.body.data.is_empty() {
        return;
    }
    let Some(text) = std::str::from_utf8(&req.body.data).ok().or_else(|| {
        let good = std::str::from_utf8(&req.body.data).err()?.valid_up_to();
        std::str::from_utf8(req.body.data.get(..good)?).ok()
    }) else {
        return;
    };
    let t = text.trim_start();
    if !t.starts_with('<') {
        return;
    }
    let mut cut = text.len().min(64 * 1024);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let window = text.get(..cut).unwrap_or("");
    if !window.contains("<!") && !window.contains("include") && !window.contains("INCLUDE") {
        return;
    }
    let lower = crate::decode::normalize(window);
    if let Some(h) = scan(&lower) {
        out.push(("body".to_string(), h));
    }
}
