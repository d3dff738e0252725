//! [`ActorKey`]: one identifier that links a request to an actor.
//!
//! A request carries several keys (its IP, its /24, its TLS and HTTP
//! fingerprints, a hashed session cookie or API key...). The actors crate
//! resolves them to one actor; the strength of a key says how much it can be
//! trusted to mean "the same client" (an IP behind an office NAT is weak; a
//! session cookie is strong).

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::hash::HashId;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum ActorKey {
    /// The client address.
    Ip(IpAddr),
    /// The client's network: a /24 for IPv4, a /64 for IPv6 (`203.0.113.0/24`).
    Net(String),
    /// JA4 TLS client fingerprint.
    Ja4(String),
    /// HTTP fingerprint in the JA4H spirit.
    Ja4h(String),
    /// User agent (hashed: it can be long).
    UserAgent(HashId),
    /// A session cookie (hashed).
    Session(HashId),
    /// A bearer token (hashed).
    Token(HashId),
    /// An API key (hashed).
    ApiKey(HashId),
    /// A login name seen in a login attempt (hashed).
    Login(HashId),
    /// A device id header (hashed).
    Device(HashId),
}

/// How strongly a key identifies one client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyStrength {
    /// Shared by many unrelated clients (a /24, a popular user agent).
    Weak,
    /// Often shared (an IP behind NAT, a common fingerprint).
    Medium,
    /// Identifies one client (a session, a token, a device id).
    Strong,
}

impl ActorKey {
    pub fn kind(&self) -> &'static str {
        match self {
            ActorKey::Ip(_) => "ip",
            ActorKey::Net(_) => "net",
            ActorKey::Ja4(_) => "ja4",
            ActorKey::Ja4h(_) => "ja4h",
            ActorKey::UserAgent(_) => "ua",
            ActorKey::Session(_) => "session",
            ActorKey::Token(_) => "token",
            ActorKey::ApiKey(_) => "api_key",
            ActorKey::Login(_) => "login",
            ActorKey::Device(_) => "device",
        }
    }

    pub fn strength(&self) -> KeyStrength {
        match self {
            ActorKey::Net(_) | ActorKey::UserAgent(_) | ActorKey::Ja4(_) => KeyStrength::Weak,
            ActorKey::Ip(_) | ActorKey::Ja4h(_) | ActorKey::Login(_) => KeyStrength::Medium,
            ActorKey::Session(_)
            | ActorKey::Token(_)
            | ActorKey::ApiKey(_)
            | ActorKey::Device(_) => KeyStrength::Strong,
        }
    }

    /// The network key of an address: /24 for IPv4, /64 for IPv6.
    pub fn net_of(ip: IpAddr) -> ActorKey {
        match ip {
            IpAddr::V4(v4) => {
                let o = v4.octets();
                ActorKey::Net(format!("{}.{}.{}.0/24", o[0], o[1], o[2]))
            }
            IpAddr::V6(v6) => {
                let s = v6.segments();
                ActorKey::Net(format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3]))
            }
        }
    }
}

impl fmt::Display for ActorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind();
        match self {
            ActorKey::Ip(ip) => write!(f, "{kind}:{ip}"),
            ActorKey::Net(s) | ActorKey::Ja4(s) | ActorKey::Ja4h(s) => write!(f, "{kind}:{s}"),
            ActorKey::UserAgent(h)
            | ActorKey::Session(h)
            | ActorKey::Token(h)
            | ActorKey::ApiKey(h)
            | ActorKey::Login(h)
            | ActorKey::Device(h) => write!(f, "{kind}:{h}"),
        }
    }
}

/// The actor an exchange was attributed to by analysis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorRef {
    /// Actor id (16 hex digits).
    pub id: String,
    /// Memorable name (`brave-otter`).
    pub name: String,
    /// Risk 0-100 after this exchange.
    pub risk: u8,
    /// Campaign id, when the actor is linked into one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_and_display() {
        let k = ActorKey::net_of("203.0.113.77".parse().unwrap());
        assert_eq!(k.to_string(), "net:203.0.113.0/24");
        let k = ActorKey::net_of("2001:db8:1:2:3::9".parse().unwrap());
        assert_eq!(k.to_string(), "net:2001:db8:1:2::/64");
        assert!(
            ActorKey::Session(HashId(1)).strength()
                > ActorKey::Ip("1.2.3.4".parse().unwrap()).strength()
        );
    }
}
