//! XSS by HTML/JavaScript lexing. (Stub: the real lexer lands with issue 3.)

/// A value that would inject script or markup into an HTML page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XssMatch {
    /// What was found: a tag, an event handler attribute, a `javascript:` URL...
    pub reason: String,
    /// The context: `data`, `attribute-value`, `url`...
    pub context: &'static str,
    pub confidence: u8,
}

/// Whether `input` placed into an HTML document would run script.
pub fn xss(_input: &str) -> Option<XssMatch> {
    None
}
