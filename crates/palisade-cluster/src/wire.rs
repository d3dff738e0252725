//! What crosses Redis: observations (a slim, pseudonymised [`Exchange`]) and
//! decisions ([`WireDecision`]).
//!
//! An observation keeps what another gateway's tracker needs to count the
//! same things, and nothing it could leak:
//!
//! - the client address, the JA4, the method, version and path, the header
//!   *names* in order, and the user agent, language, accept and content type;
//! - every other header value, cookie value, query value and body string is
//!   replaced by a keyed pseudonym (`p` + 16 hex digits of the installation's
//!   keyed hash): equal values stay equal (distinct usernames, sessions, API
//!   keys are still counted), the value itself never leaves the process;
//! - a card number becomes a *pseudo card*: the same BIN and length, the
//!   other digits from the keyed hash, a valid check digit, so distinct cards
//!   per BIN, per fingerprint and per actor are counted alike, while the card
//!   itself (and its last four) never leaves the process;
//! - numbers up to twelve digits (amounts, months) are kept;
//! - an error response keeps its status and at most 1 KiB of its masked body
//!   (decline codes); a success keeps its status only;
//! - findings keep their kind, rule, severity, score, confidence and phase,
//!   without fragment or message.

use palisade_actors::snapshot::ExportedDecision;
use palisade_actors::{ActorId, CampaignId, Decision};
use palisade_core::sensitive::{card_facts, luhn_valid};
use palisade_core::{
    Body, Exchange, Finding, KeyedHasher, Masked, RequestPart, ResponsePart, TlsInfo, Verdict,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Bounds of one observation.
const MAX_HEADERS: usize = 40;
const MAX_COOKIES: usize = 16;
const MAX_QUERY_PAIRS: usize = 32;
const MAX_NODES: usize = 400;
const MAX_DEPTH: usize = 8;
const MAX_KEY_LEN: usize = 64;
const MAX_KEPT_VALUE: usize = 256;
const MAX_PATH: usize = 512;
const MAX_FINDINGS: usize = 16;
const MAX_ERROR_BODY: usize = 1024;
/// Index hashes carried by one shared decision, at most.
pub const MAX_DECISION_KEYS: usize = 1024;

/// Header values kept as they are: not secret, and read by fingerprints.
const KEPT_HEADERS: &[&str] = &[
    "user-agent",
    "accept-language",
    "accept",
    "accept-encoding",
    "content-type",
];

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// The keyed pseudonym of a value (trimmed, lowercased: the tracker compares
/// logins that way).
fn pseudonym(hasher: &KeyedHasher, value: &str) -> String {
    let v = value.trim().to_ascii_lowercase();
    format!("p{:016x}", hasher.hash_str("cluster.value", &v).0)
}

/// A Luhn-valid number with the card's BIN and length, its other digits
/// from the keyed hash of the card.
fn pseudo_card(hasher: &KeyedHasher, digits: &str) -> String {
    let len = digits.len().clamp(13, 19);
    let bin = &digits[..6];
    let middle_len = len - 7;
    let h = hasher.hash_str("cluster.card", digits).0;
    let modulus = 10u64.pow(middle_len as u32);
    let mut out = format!("{bin}{:0width$}", h % modulus, width = middle_len);
    for check in 0..10u8 {
        let candidate = format!("{out}{check}");
        if luhn_valid(candidate.as_bytes()) {
            out = candidate;
            return out;
        }
    }
    out.push('0');
    out
}

/// The card digits of a value, when it is a Luhn-valid card number.
fn card_digits(text: &str) -> Option<String> {
    let digits = text.bytes().filter(u8::is_ascii_digit).count();
    if !(13..=19).contains(&digits) {
        return None;
    }
    card_facts(text)?;
    Some(text.chars().filter(char::is_ascii_digit).collect())
}

fn slim_string(hasher: &KeyedHasher, s: &str) -> String {
    if let Some(d) = card_digits(s) {
        return pseudo_card(hasher, &d);
    }
    if s.is_empty() {
        return String::new();
    }
    // Amounts sent as strings ("12.50") stay readable.
    let t = s.trim();
    if t.len() <= 12
        && t.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && t.bytes().filter(|b| *b == b'.').count() <= 1
        && t.bytes().filter(u8::is_ascii_digit).count() >= 2
    {
        return t.to_string();
    }
    pseudonym(hasher, s)
}

struct Walk<'a> {
    hasher: &'a KeyedHasher,
    nodes: usize,
}

impl Walk<'_> {
    fn value(&mut self, v: &Value, depth: usize) -> Value {
        self.nodes += 1;
        if self.nodes > MAX_NODES || depth > MAX_DEPTH {
            return Value::Null;
        }
        match v {
            Value::Object(m) => {
                let mut out = serde_json::Map::new();
                for (k, child) in m {
                    if self.nodes > MAX_NODES {
                        break;
                    }
                    let child = self.value(child, depth + 1);
                    out.insert(truncate(k, MAX_KEY_LEN), child);
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(
                a.iter()
                    .take(MAX_NODES)
                    .map(|c| self.value(c, depth + 1))
                    .collect(),
            ),
            Value::String(s) => Value::String(slim_string(self.hasher, s)),
            Value::Number(n) => {
                let text = n.to_string();
                if text.bytes().filter(u8::is_ascii_digit).count() <= 12 {
                    Value::Number(n.clone())
                } else {
                    Value::String(slim_string(self.hasher, &text))
                }
            }
            other => other.clone(),
        }
    }
}

fn slim_body(req: &RequestPart, hasher: &KeyedHasher) -> Body {
    let Some(text) = req.body.text() else {
        return Body::default();
    };
    let t = text.trim_start();
    let ct = req.content_type().unwrap_or("").to_ascii_lowercase();
    if t.starts_with('{') || t.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Value>(t) {
            let mut w = Walk { hasher, nodes: 0 };
            return Body::new(w.value(&v, 0).to_string());
        }
        return Body::default();
    }
    if ct.contains("x-www-form-urlencoded") || (t.contains('=') && !t.contains(' ')) {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (k, v) in form_urlencoded::parse(t.as_bytes()).take(MAX_NODES) {
            out.append_pair(&truncate(&k, MAX_KEY_LEN), &slim_string(hasher, &v));
        }
        return Body::new(out.finish());
    }
    Body::default()
}

fn slim_segment(hasher: &KeyedHasher, seg: &str) -> String {
    if let Some(d) = card_digits(seg) {
        return pseudo_card(hasher, &d);
    }
    if seg.len() > 24 {
        return pseudonym(hasher, seg);
    }
    seg.to_string()
}

fn slim_target(req: &RequestPart, hasher: &KeyedHasher) -> String {
    let path = req.path();
    let mut out = String::with_capacity(path.len().min(MAX_PATH));
    for (i, seg) in path.split('/').enumerate().take(32) {
        if i > 0 {
            out.push('/');
        }
        out.push_str(&slim_segment(hasher, seg));
    }
    if out.is_empty() {
        out.push('/');
    }
    let mut out = truncate(&out, MAX_PATH);
    if let Some(q) = req.query()
        && !q.is_empty()
    {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in form_urlencoded::parse(q.as_bytes()).take(MAX_QUERY_PAIRS) {
            let v = if v.is_empty() { "" } else { "x" };
            s.append_pair(&truncate(&k, MAX_KEY_LEN), v);
        }
        out.push('?');
        out.push_str(&s.finish());
    }
    out
}

fn slim_headers(req: &RequestPart, hasher: &KeyedHasher) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(req.headers.len().min(MAX_HEADERS));
    for (name, value) in req.headers.iter().take(MAX_HEADERS) {
        let lname = name.to_ascii_lowercase();
        let v = if KEPT_HEADERS.contains(&lname.as_str()) {
            truncate(value, MAX_KEPT_VALUE)
        } else if lname == "cookie" {
            value
                .split(';')
                .take(MAX_COOKIES)
                .map(|pair| match pair.split_once('=') {
                    Some((n, v)) if !v.trim().is_empty() => {
                        format!(
                            "{}={}",
                            truncate(n.trim(), MAX_KEY_LEN),
                            pseudonym(hasher, v)
                        )
                    }
                    Some((n, _)) => format!("{}=", truncate(n.trim(), MAX_KEY_LEN)),
                    None => truncate(pair.trim(), MAX_KEY_LEN),
                })
                .collect::<Vec<_>>()
                .join("; ")
        } else if lname == "authorization" {
            match value.trim().split_once(' ') {
                Some((scheme, cred)) if !cred.trim().is_empty() => {
                    format!(
                        "{} {}",
                        truncate(scheme, 32),
                        pseudonym(hasher, cred.trim())
                    )
                }
                _ if value.trim().is_empty() => String::new(),
                _ => pseudonym(hasher, value),
            }
        } else if value.trim().is_empty() {
            String::new()
        } else {
            pseudonym(hasher, value.trim())
        };
        out.push((truncate(name, MAX_KEY_LEN), v));
    }
    out
}

fn slim_response(ex: &Exchange) -> Option<ResponsePart> {
    let resp = ex.response.as_ref()?;
    let mut body = Body::default();
    if resp.status >= 400 && !resp.body.is_empty() && resp.body.data.len() <= 64 * 1024 {
        // The core's masking (cards, secrets, key formats), then a bound.
        let only = Exchange {
            response: Some(ResponsePart {
                status: resp.status,
                headers: resp.headers.clone(),
                body: resp.body.clone(),
            }),
            ..Default::default()
        };
        if let Some(text) = only
            .masked()
            .response
            .and_then(|r| r.body.text().map(str::to_string))
        {
            body = Body::new(truncate(&text, MAX_ERROR_BODY));
        }
    }
    Some(ResponsePart {
        status: resp.status,
        headers: Vec::new(),
        body,
    })
}

fn slim_finding(f: &Finding) -> Finding {
    Finding {
        kind: truncate(&f.kind, 64),
        rule_id: truncate(&f.rule_id, 128),
        location: truncate(&f.location, 128),
        fragment: Masked::default(),
        score: f.score,
        severity: f.severity,
        confidence: f.confidence,
        phase: f.phase,
        message: String::new(),
    }
}

/// The observation another gateway's tracker gets for `ex`: see the module
/// documentation for what is kept.
pub fn slim(ex: &Exchange, hasher: &KeyedHasher) -> Exchange {
    let req = &ex.request;
    Exchange {
        id: String::new(),
        ts_ms: ex.ts_ms,
        source: ex.source.clone(),
        client_ip: ex.client_ip,
        peer: None,
        tls: ex
            .tls
            .as_ref()
            .and_then(|t| t.ja4.clone())
            .map(|ja4| TlsInfo {
                ja4: Some(truncate(&ja4, 64)),
                ..Default::default()
            }),
        route: None,
        request: RequestPart {
            method: truncate(&req.method, 16),
            target: slim_target(req, hasher),
            host: None,
            version: truncate(&req.version, 16),
            headers: slim_headers(req, hasher),
            body: slim_body(req, hasher),
        },
        response: slim_response(ex),
        timings: Default::default(),
        findings: ex
            .findings
            .iter()
            .take(MAX_FINDINGS)
            .map(slim_finding)
            .collect(),
        verdict: ex.verdict.clone(),
        enforced: ex.enforced,
        actor: None,
    }
}

/// A decision as it is stored under `{prefix}:decision:{node}:{id}` and published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireDecision {
    /// The node that decided.
    pub node: String,
    /// The actor's (or campaign's) id, 16 hex digits.
    pub id: String,
    pub name: String,
    pub verdict: Verdict,
    pub until_ms: i64,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    /// Index hashes of strong keys and IP + fingerprint combinations.
    #[serde(default)]
    pub keys: Vec<u64>,
    /// Fingerprints blocked as a whole (rare fingerprints of campaigns).
    #[serde(default)]
    pub fingerprints: Vec<u64>,
}

impl WireDecision {
    /// The shared form of one of this node's decisions.
    pub fn from_exported(node: &str, e: &ExportedDecision) -> Self {
        let d = &e.decision;
        Self {
            node: node.to_string(),
            id: d.actor_id.to_string(),
            name: d.actor_name.clone(),
            verdict: d.verdict.clone(),
            until_ms: d.until_ms,
            reason: truncate(&d.reason, 200),
            campaign: d.campaign_id.map(|c| c.to_string()),
            keys: e.keys.iter().copied().take(MAX_DECISION_KEYS).collect(),
            fingerprints: e.fingerprints.iter().copied().take(64).collect(),
        }
    }

    /// The form the remote decision snapshot takes; `None` when the id is
    /// not 16 hex digits.
    pub fn to_exported(&self) -> Option<ExportedDecision> {
        let actor_id: ActorId = self.id.parse().ok()?;
        let campaign_id = match &self.campaign {
            Some(c) => Some(c.parse::<CampaignId>().ok()?),
            None => None,
        };
        Some(ExportedDecision {
            decision: Decision {
                actor_id,
                actor_name: self.name.clone(),
                verdict: self.verdict.clone(),
                until_ms: self.until_ms,
                reason: format!("{} (decided on {})", self.reason, self.node),
                campaign_id,
            },
            keys: self.keys.iter().copied().take(MAX_DECISION_KEYS).collect(),
            fingerprints: self.fingerprints.iter().copied().take(64).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex() -> Exchange {
        serde_json::from_value(serde_json::json!({
            "ts_ms": 1,
            "client_ip": "127.11.0.7",
            "request": {
                "method": "POST",
                "target": "/api/v1/charges?token=sk_live_abcdef&x=",
                "headers": [
                    ["user-agent", "bot/1.0"],
                    ["cookie", "sid=very-secret-session; theme=dark"],
                    ["authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.secret.sig"],
                    ["x-api-key", "key-0123456789"],
                    ["content-type", "application/json"]
                ],
                "body": "{\"amount\":50,\"card\":{\"number\":\"4242 4242 4242 4242\",\"cvc\":\"123\"},\"username\":\"Bob@Example.com\",\"password\":\"hunter2\"}"
            },
            "response": {"status": 402, "body": "{\"error\":{\"code\":\"card_declined\",\"card\":\"4242424242424242\"}}"}
        }))
        .unwrap()
    }

    #[test]
    fn no_secret_leaves_and_the_tracker_facts_stay() {
        let h = KeyedHasher::insecure_for_tests();
        let s = slim(&ex(), &h);
        let text = serde_json::to_string(&s).unwrap();
        println!("a charge observation on the wire: {} bytes", text.len());
        assert!(text.len() < 2048, "{text}");
        for secret in [
            "4242424242424242",
            "4242 4242",
            "very-secret-session",
            "eyJhbGciOiJIUzI1NiJ9",
            "key-0123456789",
            "hunter2",
            "Bob@Example.com",
            "sk_live_abcdef",
            "\"123\"",
        ] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        // What the tracker reads is still there.
        assert!(text.contains("bot/1.0"), "{text}");
        assert!(text.contains("sid=p"), "{text}");
        assert!(text.contains("Bearer p"), "{text}");
        assert!(text.contains("card_declined"), "{text}");
        assert_eq!(s.request.path(), "/api/v1/charges");
        assert_eq!(s.request.query(), Some("token=x&x="));
        let body: Value = serde_json::from_str(s.request.body.text().unwrap()).unwrap();
        assert_eq!(body["amount"], 50);
        let card = body["card"]["number"].as_str().unwrap();
        assert_eq!(card.len(), 16);
        assert!(
            card.starts_with("424242") && luhn_valid(card.as_bytes()),
            "{card}"
        );
        assert!(!card.ends_with("4242"), "{card}");
        // The same values give the same pseudonyms; others differ.
        assert_eq!(slim(&ex(), &h), s);
        let mut other = ex();
        other.request.body = Body::new(
            "{\"card\":{\"number\":\"4000056655665556\"},\"username\":\"bob@example.com \"}",
        );
        let o = slim(&other, &h);
        let ob: Value = serde_json::from_str(o.request.body.text().unwrap()).unwrap();
        assert_ne!(ob["card"]["number"], body["card"]["number"]);
        assert_eq!(
            ob["username"], body["username"],
            "logins compare lowercased"
        );
    }

    #[test]
    fn bodies_are_bounded() {
        let h = KeyedHasher::insecure_for_tests();
        let mut e = ex();
        let big: Vec<String> = (0..5000).map(|i| format!("value-{i}")).collect();
        e.request.body = Body::new(serde_json::to_string(&big).unwrap());
        e.request.headers = (0..200).map(|i| (format!("x-h{i}"), "v".into())).collect();
        let s = slim(&e, &h);
        assert!(s.request.body.data.len() < 20_000);
        assert_eq!(s.request.headers.len(), MAX_HEADERS);
    }
}
