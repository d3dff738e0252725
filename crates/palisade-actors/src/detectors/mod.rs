//! Abuse detectors, one file each, registered in [`DetectorsConfig`] and run
//! in a fixed order by [`run`].
//!
//! Every detector keeps small per-actor counters (inside the actor, a few dozen
//! bytes each, in tumbling windows) and, where the issue asks for it, bounded
//! global counters keyed by account, card BIN or client fingerprint (the
//! campaign-wide view across actors). A detector returns findings for the
//! current actor and, when the fingerprint-wide view fires, a campaign signal
//! that the tracker turns into a campaign.
//!
//! Attribution rule that keeps honest customers safe: a campaign-wide finding
//! is given to an actor only when that actor itself did the suspicious thing
//! (a declined card, a failed login, a denied object) -- once when the
//! fingerprint is rare, at least twice (distinct cards, usernames, objects)
//! when the fingerprint is common.
//!
//! The campaign views share [`FpCounter`] (the fingerprint-wide counters) and
//! [`campaign`] (the signal and the member finding, with that rule).

pub mod card_testing;
pub mod credential_stuffing;
pub mod enumeration;
pub mod flood;
pub mod scanning;
pub mod scraping;

use palisade_core::{Finding, Phase, Severity};
use serde::{Deserialize, Serialize};

use crate::extract::Facts;
use crate::ids::ActorId;
use crate::sketch::{Distinct128, Window};

/// Thresholds of every abuse detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorsConfig {
    pub card_testing: card_testing::CardTestingConfig,
    pub credential_stuffing: credential_stuffing::CredentialStuffingConfig,
    pub enumeration: enumeration::EnumerationConfig,
    pub scanning: scanning::ScanningConfig,
    pub scraping: scraping::ScrapingConfig,
    pub flood: flood::FloodConfig,
}

impl DetectorsConfig {
    pub(crate) fn validate(&self, errs: &mut Vec<String>) {
        self.card_testing.validate(errs);
        self.credential_stuffing.validate(errs);
        self.enumeration.validate(errs);
        self.scanning.validate(errs);
        self.scraping.validate(errs);
        self.flood.validate(errs);
    }
}

/// Per-actor detector state (bounded: about 300 bytes).
#[derive(Debug, Default, Clone)]
pub(crate) struct ActorAbuse {
    pub card: card_testing::ActorState,
    pub login: credential_stuffing::ActorState,
    pub enumr: enumeration::ActorState,
    pub scan: scanning::ActorState,
    pub scrape: scraping::ActorState,
    pub flood: flood::ActorState,
}

impl ActorAbuse {
    /// Whether the detectors let the actor count as an established customer
    /// (see `credential_stuffing::ActorState::may_establish`).
    pub(crate) fn may_establish(&self) -> bool {
        self.login.may_establish()
    }
}

/// Global, bounded detector state.
#[derive(Debug)]
pub(crate) struct Globals {
    pub card: card_testing::Global,
    pub login: credential_stuffing::Global,
    pub enumr: enumeration::Global,
    pub flood: flood::Global,
}

impl Globals {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            card: card_testing::Global::new(cap),
            login: credential_stuffing::Global::new(cap),
            enumr: enumeration::Global::new(cap),
            flood: flood::Global::new(cap),
        }
    }
}

/// What a detector knows about the request besides its facts.
pub(crate) struct Ctx<'a> {
    pub facts: &'a Facts,
    pub now_ms: i64,
    pub actor: ActorId,
    /// The client fingerprint (JA4 + stable JA4H + user agent).
    pub fp: u64,
    /// Whether the fingerprint is rare: used by few actors that are not
    /// themselves flagged.
    pub fp_rare: bool,
}

/// A campaign-wide detection: actors sharing a fingerprint doing the same abuse.
#[derive(Debug, Clone)]
pub(crate) struct CampaignSignal {
    pub kind: &'static str,
    pub fp: u64,
    /// The last actors that did the suspicious thing on this fingerprint.
    pub members: Vec<ActorId>,
    pub message: String,
    /// Risk points (before the abuse phase weight) the campaign gains.
    pub points: f32,
    /// The current actor earned membership itself (its own suspicious acts),
    /// so it joins even on a common fingerprint.
    pub earned: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Output {
    pub findings: Vec<Finding>,
    pub campaigns: Vec<CampaignSignal>,
}

/// The last few actors that contributed to a fingerprint-wide counter.
#[derive(Debug, Default, Clone)]
pub(crate) struct Recent {
    ids: [u64; 8],
    next: u8,
}

impl Recent {
    pub(crate) fn push(&mut self, id: ActorId) {
        if self.ids.contains(&id.0) {
            return;
        }
        let i = usize::from(self.next % 8);
        self.ids[i] = id.0;
        self.next = self.next.wrapping_add(1);
    }
    pub(crate) fn members(&self) -> Vec<ActorId> {
        self.ids
            .iter()
            .filter(|x| **x != 0)
            .map(|x| ActorId(*x))
            .collect()
    }
}

/// The fingerprint-wide counters every campaign view keeps in its window:
/// attempts, bad outcomes (declines, failed logins, refused ids), distinct
/// items (cards, usernames, object ids), distinct actors, and the last actors
/// that did something bad.
#[derive(Debug, Default)]
pub(crate) struct FpCounter {
    win: Window,
    pub attempts: u32,
    pub bad: u32,
    pub items: Distinct128,
    pub actors: Distinct128,
    pub recent: Recent,
}

impl FpCounter {
    /// Counts one attempt of the current actor, rolling the window first.
    pub(crate) fn record(
        &mut self,
        ctx: &Ctx<'_>,
        window_ms: i64,
        items: impl IntoIterator<Item = u64>,
        bad: bool,
    ) {
        if self.win.roll(ctx.now_ms, window_ms) {
            *self = FpCounter {
                win: self.win,
                ..Default::default()
            };
        }
        self.attempts = self.attempts.saturating_add(1);
        if bad {
            self.bad = self.bad.saturating_add(1);
            self.recent.push(ctx.actor);
        }
        for i in items {
            self.items.insert(i);
        }
        self.actors.insert(ctx.actor.0);
    }

    pub(crate) fn bad_ratio(&self) -> f32 {
        ratio(self.bad, self.attempts)
    }

    /// When the current window started (views that keep more counters beside
    /// these restart them when it changes).
    pub(crate) fn window_start(&self) -> i64 {
        self.win.start_ms
    }
}

/// What a campaign view emits, and to whom its finding is given.
pub(crate) struct CampaignRule<'a> {
    /// The campaign kind (`card_testing`, `credential_stuffing`...).
    pub kind: &'static str,
    /// The member finding's kind (`bola` or `enumeration` for a walk).
    pub finding_kind: &'a str,
    pub rule_id: &'a str,
    pub phase: Phase,
    /// Evidence a member needs of its own: on a rare fingerprint and on a
    /// common one (in distinct items and in bad outcomes).
    pub own_rare: u32,
    pub own_common: u32,
    /// Risk points (before the phase weight) the campaign gains.
    pub points: f32,
    /// Shown with the finding (the templated endpoint of a walk).
    pub fragment: Option<&'a str>,
}

/// What the current actor did itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Own {
    /// This request was itself a bad outcome.
    pub bad_now: bool,
    pub bad: u32,
    pub items: u32,
}

/// The campaign signal every campaign view emits, in one place: the
/// fingerprint-wide signal, and the member finding for the current actor when
/// it earned it (a bad outcome now, and enough of its own: once on a rare
/// fingerprint, `own_common` times on a common one, so honest users of a
/// popular browser never join a botnet that rides it).
pub(crate) fn campaign(
    out: &mut Output,
    ctx: &Ctx<'_>,
    rule: &CampaignRule<'_>,
    members: Vec<ActorId>,
    own: Own,
    message: String,
) {
    let need = if ctx.fp_rare {
        rule.own_rare
    } else {
        rule.own_common
    };
    let earned = own.bad_now && own.bad >= need && own.items >= need;
    if earned {
        let mut f = finding(
            rule.finding_kind,
            rule.rule_id,
            rule.phase,
            Severity::High,
            40,
            90,
            message.clone(),
        );
        if let Some(frag) = rule.fragment {
            f = f.fragment(frag);
        }
        out.findings.push(f);
    }
    out.campaigns.push(CampaignSignal {
        kind: rule.kind,
        fp: ctx.fp,
        members,
        message,
        points: rule.points,
        earned,
    });
}

/// Points (before the phase weight) of a campaign signal backed by one piece
/// of evidence; stronger linking adds one such share per extra piece.
pub(crate) const CAMPAIGN_POINTS: f32 = 20.0;

pub(crate) fn finding(
    kind: &str,
    rule: &str,
    phase: Phase,
    severity: Severity,
    score: u32,
    confidence: u8,
    message: String,
) -> Finding {
    Finding::new(kind, rule, "actor")
        .phase(phase)
        .severity(severity)
        .score(score)
        .confidence(confidence)
        .message(message)
}

pub(crate) fn ratio(num: u32, den: u32) -> f32 {
    if den == 0 {
        0.0
    } else {
        num as f32 / den as f32
    }
}

pub(crate) fn check_ratio(errs: &mut Vec<String>, name: &str, v: f32) {
    if !(0.0..=1.0).contains(&v) || v.is_nan() {
        errs.push(format!("{name} = {v}: a ratio must be between 0 and 1"));
    }
}

pub(crate) fn check_pos(errs: &mut Vec<String>, name: &str, v: u64) {
    if v == 0 {
        errs.push(format!("{name} = 0: must be at least 1"));
    }
}

/// Runs every enabled detector on one exchange.
pub(crate) fn run(
    cfg: &DetectorsConfig,
    st: &mut ActorAbuse,
    g: &mut Globals,
    ctx: &Ctx<'_>,
) -> Output {
    let mut out = Output::default();
    if cfg.card_testing.enabled {
        card_testing::observe(&cfg.card_testing, &mut st.card, &mut g.card, ctx, &mut out);
    }
    if cfg.credential_stuffing.enabled {
        credential_stuffing::observe(
            &cfg.credential_stuffing,
            &mut st.login,
            &mut g.login,
            ctx,
            &mut out,
        );
    }
    if cfg.enumeration.enabled {
        enumeration::observe(&cfg.enumeration, &mut st.enumr, &mut g.enumr, ctx, &mut out);
    }
    if cfg.scanning.enabled {
        scanning::observe(&cfg.scanning, &mut st.scan, ctx, &mut out);
    }
    if cfg.scraping.enabled {
        scraping::observe(&cfg.scraping, &mut st.scrape, ctx, &mut out);
    }
    if cfg.flood.enabled {
        flood::observe(&cfg.flood, &mut st.flood, &mut g.flood, ctx, &mut out);
    }
    out
}
