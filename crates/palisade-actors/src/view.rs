//! Serializable views of actors and campaigns for the console
//! (`/api/v1/actors`). Views are copies: they hold no reference into the
//! tracker and no raw identifier (keys appear only as kinds and counts).

use std::net::IpAddr;

use palisade_core::Phase;
use serde::Serialize;

use crate::ids::{ActorId, CampaignId};

/// The response level an actor or campaign is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    None,
    Watch,
    RateLimit,
    Tarpit,
    Block,
    Deny,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::Watch => "watch",
            Level::RateLimit => "rate_limit",
            Level::Tarpit => "tarpit",
            Level::Block => "block",
            Level::Deny => "deny",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskPoint {
    pub ts_ms: i64,
    pub risk: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActorView {
    pub id: ActorId,
    pub name: String,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    pub requests: u32,
    /// The most recent addresses (at most four).
    pub ips: Vec<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja4: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja4h: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ua_family: Option<String>,
    /// How many strong identifiers (sessions, tokens, API keys, device ids)
    /// link to this actor; never the identifiers themselves.
    pub strong_keys: u8,
    pub risk: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    pub level: Level,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_until_ms: Option<i64>,
    pub blocks: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<CampaignId>,
    /// Finding kinds seen on this actor.
    pub finding_kinds: Vec<String>,
    pub findings: u32,
    pub risk_history: Vec<RiskPoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CampaignView {
    pub id: CampaignId,
    pub name: String,
    /// What links the actors: `card_testing`, `credential_stuffing`,
    /// `enumeration` (a shared fingerprint plus the same behaviour) or
    /// `shared_identity` (shared strong identifiers).
    pub kind: String,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    pub member_count: u32,
    /// Up to 32 member ids.
    pub members: Vec<ActorId>,
    pub risk: u8,
    pub level: Level,
    /// Whether the campaign is blocked by its (rare) fingerprint, so that its
    /// next, never-seen addresses are blocked too.
    pub fingerprint_blocked: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja4: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja4h: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ua_family: Option<String>,
    pub message: String,
}
