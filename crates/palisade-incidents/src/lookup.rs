//! [`Lookup`]: what the incident engine asks the API catalog and service graph.
//!
//! The engine is pure and knows nothing of the catalog's internals; the caller
//! passes a `Lookup` to [`crate::IncidentEngine::observe`]. Without one
//! ([`NoLookup`]), paths are templated by a simple fallback
//! ([`fallback_template`]) and blast radius has no data classes or services.

/// Answers about endpoints. Implementations must be cheap: they are called
/// for each exchange that carries findings.
pub trait Lookup {
    /// The endpoint template of a request (`/v1/accounts/{id}`), when known.
    fn template(&self, _host: Option<&str>, _method: &str, _path: &str) -> Option<String> {
        None
    }
    /// The data classes the endpoint carries in requests or responses
    /// (`card_number`, `email`, ...).
    fn data_classes(&self, _host: Option<&str>, _method: &str, _template: &str) -> Vec<String> {
        Vec::new()
    }
    /// The services the endpoint calls (from the service graph), when known.
    fn services(&self, _host: Option<&str>, _method: &str, _template: &str) -> Vec<String> {
        Vec::new()
    }
}

/// No catalog: fallback templating, no data classes, no services.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLookup;

impl Lookup for NoLookup {}

/// A lookup from closures, for tests and simple wiring:
/// `FnLookup::new(|_, _, path| ..., |_, _, template| ...)`.
pub struct FnLookup<T, D>
where
    T: Fn(Option<&str>, &str, &str) -> Option<String>,
    D: Fn(Option<&str>, &str, &str) -> Vec<String>,
{
    template: T,
    data: D,
}

impl<T, D> FnLookup<T, D>
where
    T: Fn(Option<&str>, &str, &str) -> Option<String>,
    D: Fn(Option<&str>, &str, &str) -> Vec<String>,
{
    pub fn new(template: T, data: D) -> Self {
        Self { template, data }
    }
}

impl<T, D> Lookup for FnLookup<T, D>
where
    T: Fn(Option<&str>, &str, &str) -> Option<String>,
    D: Fn(Option<&str>, &str, &str) -> Vec<String>,
{
    fn template(&self, host: Option<&str>, method: &str, path: &str) -> Option<String> {
        (self.template)(host, method, path)
    }
    fn data_classes(&self, host: Option<&str>, method: &str, template: &str) -> Vec<String> {
        (self.data)(host, method, template)
    }
}

/// A template for a path when the catalog does not know it: segments that
/// look like identifiers (digits, UUIDs, long hex, ids with digits) become
/// `{id}`, so that an enumeration of `/v1/accounts/1..1000` is one endpoint.
/// The result is bounded (at most 16 segments, 200 characters).
pub fn fallback_template(path: &str) -> String {
    let mut out = String::new();
    for (i, seg) in path.split('/').skip(1).enumerate() {
        if i >= 16 || out.len() > 200 {
            out.push_str("/…");
            break;
        }
        out.push('/');
        if looks_like_id(seg) {
            out.push_str("{id}");
        } else {
            out.extend(seg.chars().take(64));
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

fn looks_like_id(seg: &str) -> bool {
    if seg.is_empty() {
        return false;
    }
    let digits = seg.bytes().filter(u8::is_ascii_digit).count();
    if digits == seg.len() {
        return true;
    }
    let hexish = seg.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    if hexish && seg.len() >= 16 {
        return true;
    }
    // `acct_8f3k2`, `ch_1Nq...`: an id with a prefix and digits in it
    digits >= 2
        && seg.len() >= 6
        && seg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_templates_ids() {
        assert_eq!(fallback_template("/v1/accounts/12345"), "/v1/accounts/{id}");
        assert_eq!(
            fallback_template("/v1/cards/3f2a9c1e-0000-4000-8000-1234567890ab/freeze"),
            "/v1/cards/{id}/freeze"
        );
        assert_eq!(
            fallback_template("/v1/charges/ch_1Nq42x"),
            "/v1/charges/{id}"
        );
        assert_eq!(fallback_template("/v1/login"), "/v1/login");
        assert_eq!(fallback_template("/"), "/");
        assert_eq!(fallback_template(""), "/");
        assert!(fallback_template(&"/a".repeat(1000)).len() < 260);
    }
}
