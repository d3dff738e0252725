//! Authentication scheme detection for one request.
//!
//! Looks at the `Authorization` header (Basic, Bearer, JWT with its issuer and
//! algorithm, other schemes), API-key headers and query parameters, session
//! cookies, and client-certificate headers set by a TLS-terminating proxy
//! (mTLS). It reports what was *presented*, not whether it was valid: that the
//! request succeeded tells the catalog whether the endpoint accepted it.

use serde::{Deserialize, Serialize};

use palisade_core::Exchange;

/// An authentication scheme seen on a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthScheme {
    None,
    Basic,
    Bearer,
    Jwt,
    ApiKey,
    CookieSession,
    Mtls,
}

impl AuthScheme {
    pub const ALL: [AuthScheme; 7] = [
        AuthScheme::None,
        AuthScheme::Basic,
        AuthScheme::Bearer,
        AuthScheme::Jwt,
        AuthScheme::ApiKey,
        AuthScheme::CookieSession,
        AuthScheme::Mtls,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuthScheme::None => "none",
            AuthScheme::Basic => "basic",
            AuthScheme::Bearer => "bearer",
            AuthScheme::Jwt => "jwt",
            AuthScheme::ApiKey => "api_key",
            AuthScheme::CookieSession => "cookie_session",
            AuthScheme::Mtls => "mtls",
        }
    }

    pub(crate) fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// What one request presented.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthSeen {
    /// Every scheme presented; empty means none.
    pub schemes: Vec<AuthScheme>,
    /// For a JWT: `alg` from its header and `iss` from its payload.
    pub jwt_alg: Option<String>,
    pub jwt_iss: Option<String>,
    /// Where the API key was (`header.x-api-key`, `query.api_key`).
    pub api_key_in: Option<String>,
}

impl AuthSeen {
    pub fn is_none(&self) -> bool {
        self.schemes.is_empty()
    }
    pub fn bits(&self) -> u8 {
        if self.schemes.is_empty() {
            AuthScheme::None.bit()
        } else {
            self.schemes.iter().fold(0, |b, s| b | s.bit())
        }
    }
}

const KEY_HEADERS: &[&str] = &[
    "x-api-key",
    "api-key",
    "apikey",
    "x-apikey",
    "x-auth-token",
    "x-access-token",
    "x-api-token",
    "x-functions-key",
    "ocp-apim-subscription-key",
];

const KEY_QUERY: &[&str] = &[
    "api_key",
    "apikey",
    "api-key",
    "key",
    "access_token",
    "token",
];

const SESSION_COOKIES: &[&str] = &[
    "session",
    "sessionid",
    "session_id",
    "sid",
    "jsessionid",
    "phpsessid",
    "connect.sid",
    "asp.net_sessionid",
    "_session",
    "auth",
    "auth_token",
    "access_token",
];

const MTLS_HEADERS: &[&str] = &[
    "x-forwarded-client-cert",
    "x-ssl-client-cert",
    "x-client-cert",
    "ssl-client-cert",
    "x-ssl-client-verify",
    "x-client-verify",
];

fn is_session_cookie(name: &str) -> bool {
    let n = name.trim().to_ascii_lowercase();
    SESSION_COOKIES.contains(&n.as_str())
        || n.ends_with("_session")
        || n.ends_with("-session")
        || n.ends_with("sessionid")
        || n.starts_with("__host-session")
        || n.starts_with("__secure-session")
}

/// Detects the authentication presented by the request of `ex`.
pub fn detect(ex: &Exchange) -> AuthSeen {
    let mut seen = AuthSeen::default();
    let add = |s: AuthScheme, seen: &mut AuthSeen| {
        if !seen.schemes.contains(&s) {
            seen.schemes.push(s);
        }
    };
    for (name, value) in &ex.request.headers {
        let is = |h: &str| name.eq_ignore_ascii_case(h);
        if is("authorization") || is("proxy-authorization") {
            let v = value.trim();
            let (scheme, cred) = v.split_once(' ').unwrap_or((v, ""));
            let cred = cred.trim();
            match scheme.to_ascii_lowercase().as_str() {
                "basic" => add(AuthScheme::Basic, &mut seen),
                "bearer" => {
                    if let Some((hdr, payload)) = crate::classify::jwt_header(cred) {
                        add(AuthScheme::Jwt, &mut seen);
                        seen.jwt_alg = hdr.get("alg").and_then(|a| a.as_str()).map(short);
                        seen.jwt_iss = payload
                            .as_ref()
                            .and_then(|p| p.get("iss"))
                            .and_then(|i| i.as_str())
                            .map(short);
                    } else {
                        add(AuthScheme::Bearer, &mut seen);
                    }
                }
                "apikey" | "api-key" | "token" | "key" | "sharedaccesssignature" => {
                    add(AuthScheme::ApiKey, &mut seen);
                    seen.api_key_in = Some("header.authorization".into());
                }
                "digest" | "negotiate" | "ntlm" | "hoba" | "mutual" | "aws4-hmac-sha256" => {
                    add(AuthScheme::ApiKey, &mut seen);
                    seen.api_key_in = Some("header.authorization".into());
                }
                _ if crate::classify::jwt_header(v).is_some() => add(AuthScheme::Jwt, &mut seen),
                _ if !v.is_empty() => add(AuthScheme::ApiKey, &mut seen),
                _ => {}
            }
        } else if KEY_HEADERS.iter().any(|h| is(h)) && !value.trim().is_empty() {
            add(AuthScheme::ApiKey, &mut seen);
            seen.api_key_in = Some(format!("header.{}", name.to_ascii_lowercase()));
        } else if is("cookie") {
            if value
                .split(';')
                .filter_map(|c| c.split_once('='))
                .any(|(k, v)| is_session_cookie(k) && !v.trim().is_empty())
            {
                add(AuthScheme::CookieSession, &mut seen);
            }
        } else if MTLS_HEADERS.iter().any(|h| is(h)) {
            let v = value.trim().to_ascii_lowercase();
            if !v.is_empty() && v != "none" && v != "failed" && !v.starts_with("failed") {
                add(AuthScheme::Mtls, &mut seen);
            }
        }
    }
    if let Some(q) = ex.request.query() {
        for pair in q.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            if !v.is_empty() && KEY_QUERY.contains(&k.to_ascii_lowercase().as_str()) {
                add(AuthScheme::ApiKey, &mut seen);
                seen.api_key_in = Some(format!("query.{k}"));
            }
        }
    }
    seen.schemes.sort();
    seen
}

fn short(s: &str) -> String {
    s.chars().take(128).collect()
}
