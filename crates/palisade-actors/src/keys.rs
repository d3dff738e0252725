//! The actor keys of a request, computed inline by the gateway (and again by
//! analysis), plus the cheap 64-bit index hashes both sides derive from them.
//!
//! Keys: the client IP, its network (/24, /64), the JA4 from the TLS facts,
//! the JA4H-style HTTP fingerprint, the user agent (hashed), session cookies,
//! bearer tokens, API keys and device ids (all hashed with the installation's
//! keyed hasher). Login names need the body and are added by analysis only.
//!
//! Not here: deciding which actor the keys belong to (the tracker and the
//! snapshot do that).

use std::net::IpAddr;

use palisade_core::{ActorKey, Exchange, HashId, KeyedHasher};

use crate::ja4h;

/// Cookie names that carry a session.
fn is_session_cookie(name: &str) -> bool {
    let n = name.trim().to_ascii_lowercase();
    n.contains("sess")
        || n == "sid"
        || n.ends_with("_sid")
        || n.ends_with(".sid")
        || n.ends_with("-sid")
        || n.contains("auth")
        || n.contains("token")
        || n == "jwt"
}

const API_KEY_HEADERS: &[&str] = &["x-api-key", "api-key", "apikey", "x-apikey", "x-auth-key"];
const TOKEN_HEADERS: &[&str] = &["x-auth-token", "x-access-token"];
const DEVICE_HEADERS: &[&str] = &[
    "x-device-id",
    "device-id",
    "x-device-fingerprint",
    "x-client-device",
    "x-install-id",
];

/// The actor keys of a request. Cheap: a few hashes, no body parsing.
pub fn request_keys(ex: &Exchange, hasher: &KeyedHasher) -> Vec<ActorKey> {
    let req = &ex.request;
    let mut keys = Vec::with_capacity(8);
    keys.push(ActorKey::Ip(ex.client_ip));
    keys.push(ActorKey::net_of(ex.client_ip));
    if let Some(ja4) = ex.tls.as_ref().and_then(|t| t.ja4.as_deref())
        && !ja4.is_empty()
    {
        keys.push(ActorKey::Ja4(ja4.to_string()));
    }
    keys.push(ActorKey::Ja4h(ja4h::ja4h(req)));
    if let Some(ua) = req.header("user-agent") {
        keys.push(ActorKey::UserAgent(hasher.hash_str("ua", ua)));
    }
    let mut sessions = 0;
    for (name, value) in &req.headers {
        let lname = name.to_ascii_lowercase();
        match lname.as_str() {
            "cookie" => {
                for pair in value.split(';') {
                    let Some((cn, cv)) = pair.split_once('=') else {
                        continue;
                    };
                    let cv = cv.trim();
                    if sessions < 2 && !cv.is_empty() && is_session_cookie(cn) {
                        sessions += 1;
                        let material = format!("{}={}", cn.trim(), cv);
                        keys.push(ActorKey::Session(hasher.hash_str("session", &material)));
                    }
                }
            }
            "authorization" => {
                let v = value.trim();
                if let Some((scheme, cred)) = v.split_once(' ') {
                    let cred = cred.trim();
                    if cred.is_empty() {
                        continue;
                    }
                    if scheme.eq_ignore_ascii_case("bearer") {
                        keys.push(ActorKey::Token(hasher.hash_str("token", cred)));
                    } else {
                        // Basic and custom schemes carry a credential: an API key
                        keys.push(ActorKey::ApiKey(hasher.hash_str("api_key", cred)));
                    }
                }
            }
            n if API_KEY_HEADERS.contains(&n) && !value.trim().is_empty() => {
                keys.push(ActorKey::ApiKey(hasher.hash_str("api_key", value.trim())));
            }
            n if TOKEN_HEADERS.contains(&n) && !value.trim().is_empty() => {
                keys.push(ActorKey::Token(hasher.hash_str("token", value.trim())));
            }
            n if DEVICE_HEADERS.contains(&n) && !value.trim().is_empty() => {
                keys.push(ActorKey::Device(hasher.hash_str("device", value.trim())));
            }
            _ => {}
        }
    }
    keys
}

/// JSON fields of a response that carry a token issued to the requester.
const TOKEN_FIELDS: &[&str] = &[
    "token",
    "access_token",
    "accesstoken",
    "id_token",
    "auth_token",
    "jwt",
    "session",
    "session_token",
    "session_id",
    "sessionid",
    "sid",
];

/// Response bodies larger than this are not searched for tokens.
const MAX_TOKEN_BODY: usize = 16 * 1024;

fn has_word(data: &[u8], word: &[u8]) -> bool {
    data.windows(word.len())
        .any(|w| w.eq_ignore_ascii_case(word))
}

fn json_tokens(v: &serde_json::Value, depth: usize, hasher: &KeyedHasher, out: &mut Vec<ActorKey>) {
    let serde_json::Value::Object(m) = v else {
        return;
    };
    for (k, child) in m {
        if out.len() >= 4 {
            return;
        }
        let lk = k.to_ascii_lowercase();
        match child {
            serde_json::Value::String(t) if TOKEN_FIELDS.contains(&lk.as_str()) => {
                let t = t.trim();
                if t.len() < 8 {
                    continue;
                }
                // as a later request carries it: a bearer token, or a cookie
                // named like the field
                out.push(ActorKey::Token(hasher.hash_str("token", t)));
                if lk.contains("sess") || lk == "sid" {
                    let material = format!("{k}={t}");
                    out.push(ActorKey::Session(hasher.hash_str("session", &material)));
                }
            }
            serde_json::Value::Object(_) if depth < 3 => json_tokens(child, depth + 1, hasher, out),
            _ => {}
        }
    }
}

/// The strong keys an answer issues to its requester: session cookies set
/// with `Set-Cookie`, and tokens in a JSON body (`token`, `access_token`,
/// `id_token`, `session`...). Each is hashed exactly as a later request that
/// carries it is (a bearer token, a cookie), so that request resolves to the
/// requester's actor; no raw value is kept.
pub(crate) fn issued_keys(ex: &Exchange, hasher: &KeyedHasher) -> Vec<ActorKey> {
    let Some(resp) = ex.response.as_ref() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, value) in &resp.headers {
        if !name.eq_ignore_ascii_case("set-cookie") || out.len() >= 4 {
            continue;
        }
        let pair = value.split(';').next().unwrap_or("");
        if let Some((cn, cv)) = pair.split_once('=') {
            let cv = cv.trim();
            if !cv.is_empty() && is_session_cookie(cn) {
                let material = format!("{}={}", cn.trim(), cv);
                out.push(ActorKey::Session(hasher.hash_str("session", &material)));
            }
        }
    }
    let data = &resp.body.data;
    if !resp.body.truncated
        && data.len() <= MAX_TOKEN_BODY
        && data.first().is_some_and(|b| *b == b'{')
        && (has_word(data, b"token")
            || has_word(data, b"sess")
            || has_word(data, b"jwt")
            || has_word(data, b"sid"))
        && let Ok(v) = serde_json::from_slice::<serde_json::Value>(data)
    {
        json_tokens(&v, 0, hasher, &mut out);
    }
    out
}

/// FNV-1a over parts with a final avalanche: a fast, deterministic 64-bit hash
/// for in-memory indexes (never for anything secret: secrets arrive already
/// hashed with the keyed hasher).
pub(crate) fn h64(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &b in *p {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h)
}

/// splitmix64 finaliser.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn ip_bytes(ip: &IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v) => v.octets().to_vec(),
        IpAddr::V6(v) => v.octets().to_vec(),
    }
}

/// The index hash of a strong key (session, token, API key, device), or `None`
/// for keys that never identify an actor on their own.
pub(crate) fn strong_hash(key: &ActorKey) -> Option<u64> {
    let (tag, h): (&[u8], &HashId) = match key {
        ActorKey::Session(h) => (b"session", h),
        ActorKey::Token(h) => (b"token", h),
        ActorKey::ApiKey(h) => (b"api_key", h),
        ActorKey::Device(h) => (b"device", h),
        _ => return None,
    };
    Some(h64(&[tag, &h.0.to_le_bytes()]))
}

/// The client fingerprint of a set of keys: the JA4, the user agent and the
/// language facts of the JA4H. It deliberately leaves out what changes from
/// one request of the same client to the next (method, content headers,
/// cookies), so that a client's GETs and POSTs share one fingerprint. Two
/// clients with the same fingerprint run the same software, not necessarily
/// for the same person.
pub(crate) fn fingerprint_of(keys: &[ActorKey]) -> u64 {
    let mut ja4: &[u8] = b"";
    let mut lang: &[u8] = b"";
    let mut ua = [0u8; 8];
    for k in keys {
        match k {
            ActorKey::Ja4(s) => ja4 = s.as_bytes(),
            ActorKey::Ja4h(s) => lang = s.as_bytes().get(8..12).unwrap_or(b""),
            ActorKey::UserAgent(h) => ua = h.0.to_le_bytes(),
            _ => {}
        }
    }
    h64(&[b"fp", ja4, lang, &ua])
}

/// The client IP of a set of keys.
pub(crate) fn ip_of(keys: &[ActorKey]) -> Option<IpAddr> {
    keys.iter().find_map(|k| match k {
        ActorKey::Ip(ip) => Some(*ip),
        _ => None,
    })
}

/// The actor's own address + fingerprint combination.
pub(crate) fn combo_hash(ip: Option<IpAddr>, fp: u64) -> u64 {
    let ipb = ip.as_ref().map(ip_bytes).unwrap_or_default();
    h64(&[b"combo", &ipb, &fp.to_le_bytes()])
}
