//! Card testing: many distinct cards, mostly declined, often micro amounts, at
//! a pace no shopper keeps.
//!
//! Counted per actor (distinct card hashes, declines, micro amounts, velocity),
//! per card BIN (a bot generating numbers inside one BIN), and per client
//! fingerprint across actors (a botnet that sends one or two attempts per IP).
//! Cards are recognised from values (Luhn) and field names, hashed at once.
//!
//! Why honest customers are safe: a customer uses one to three cards, and a
//! decline or two is normal; the actor thresholds need five distinct cards and
//! four declines in ten minutes. Many customers behind one NAT are separate
//! actors (different sessions or fingerprints), and the fingerprint-wide view
//! needs a decline ratio of 60 % that a population of real shoppers never has.

use palisade_core::{Phase, Severity};
use serde::{Deserialize, Serialize};

use super::{
    CAMPAIGN_POINTS, CampaignRule, Ctx, FpCounter, Output, Own, campaign, check_pos, check_ratio,
    finding, ratio,
};
use crate::sketch::{BoundedMap, Distinct128, Window};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CardTestingConfig {
    pub enabled: bool,
    pub window_secs: u64,
    /// Distinct cards one actor must try in the window.
    pub actor_min_cards: u32,
    /// Declines one actor must collect in the window.
    pub actor_min_declines: u32,
    pub min_decline_ratio: f32,
    /// Amounts at or below this (minor units) are micro amounts.
    pub micro_amount_max: u64,
    /// Attempts per minute by one actor that no shopper reaches.
    pub velocity_per_min: u32,
    /// Campaign-wide (one fingerprint, many actors).
    pub campaign_min_cards: u32,
    pub campaign_min_actors: u32,
    pub campaign_min_decline_ratio: f32,
    /// BIN-wide.
    pub bin_min_cards: u32,
    pub bin_min_decline_ratio: f32,
}

impl Default for CardTestingConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            window_secs: 600,
            actor_min_cards: 5,
            actor_min_declines: 4,
            min_decline_ratio: 0.5,
            micro_amount_max: 100,
            velocity_per_min: 20,
            campaign_min_cards: 8,
            campaign_min_actors: 3,
            campaign_min_decline_ratio: 0.6,
            bin_min_cards: 15,
            bin_min_decline_ratio: 0.7,
        }
    }
}

impl CardTestingConfig {
    pub(crate) fn validate(&self, errs: &mut Vec<String>) {
        let p = "detectors.card_testing";
        check_pos(errs, &format!("{p}.window_secs"), self.window_secs);
        check_pos(
            errs,
            &format!("{p}.actor_min_cards"),
            self.actor_min_cards.into(),
        );
        check_pos(
            errs,
            &format!("{p}.campaign_min_cards"),
            self.campaign_min_cards.into(),
        );
        check_pos(
            errs,
            &format!("{p}.campaign_min_actors"),
            self.campaign_min_actors.into(),
        );
        check_pos(
            errs,
            &format!("{p}.bin_min_cards"),
            self.bin_min_cards.into(),
        );
        check_ratio(
            errs,
            &format!("{p}.min_decline_ratio"),
            self.min_decline_ratio,
        );
        check_ratio(
            errs,
            &format!("{p}.campaign_min_decline_ratio"),
            self.campaign_min_decline_ratio,
        );
        check_ratio(
            errs,
            &format!("{p}.bin_min_decline_ratio"),
            self.bin_min_decline_ratio,
        );
    }
}

#[derive(Debug, Default, Clone)]
pub(crate) struct ActorState {
    win: Window,
    attempts: u16,
    declines: u16,
    micro: u16,
    cards: Distinct128,
    vwin: Window,
    vcount: u16,
}

#[derive(Debug, Default)]
pub(crate) struct BinState {
    win: Window,
    attempts: u32,
    declines: u32,
    cards: Distinct128,
}

#[derive(Debug)]
pub(crate) struct Global {
    fps: BoundedMap<FpCounter>,
    bins: BoundedMap<BinState>,
}

impl Global {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            fps: BoundedMap::new(cap),
            bins: BoundedMap::new(cap),
        }
    }
}

pub(crate) fn observe(
    cfg: &CardTestingConfig,
    st: &mut ActorState,
    g: &mut Global,
    ctx: &Ctx<'_>,
    out: &mut Output,
) {
    let f = ctx.facts;
    if f.cards.is_empty() {
        return;
    }
    let now = ctx.now_ms;
    let win = (cfg.window_secs as i64).saturating_mul(1000);
    if st.win.roll(now, win) {
        *st = ActorState {
            win: st.win,
            vwin: st.vwin,
            vcount: st.vcount,
            ..Default::default()
        };
    }
    if st.vwin.roll(now, 60_000) {
        st.vcount = 0;
    }
    st.vcount = st.vcount.saturating_add(1);
    st.attempts = st.attempts.saturating_add(1);
    let declined = f.declined;
    if declined {
        st.declines = st.declines.saturating_add(1);
    }
    let micro = f.amount_minor.is_some_and(|a| a <= cfg.micro_amount_max);
    if micro {
        st.micro = st.micro.saturating_add(1);
    }
    for (c, _) in &f.cards {
        st.cards.insert(c.0);
    }
    let cards = st.cards.estimate();
    let (att, dec) = (u32::from(st.attempts), u32::from(st.declines));

    // per actor
    let rate_ok = ratio(dec, att) >= cfg.min_decline_ratio;
    if cards >= cfg.actor_min_cards && dec >= cfg.actor_min_declines && rate_ok {
        let conf = if st.micro >= 2 { 95 } else { 85 };
        out.findings.push(finding(
            "card_testing",
            "card_testing.actor",
            Phase::Abuse,
            Severity::High,
            40,
            conf,
            format!("{cards} distinct cards, {dec} of {att} declined in the window"),
        ));
    } else if u32::from(st.vcount) >= cfg.velocity_per_min && cards >= 2 {
        out.findings.push(finding(
            "card_testing",
            "card_testing.velocity",
            Phase::Abuse,
            Severity::Medium,
            20,
            70,
            format!(
                "{} card attempts in one minute with {cards} cards",
                st.vcount
            ),
        ));
    } else if st.micro >= 3 && cards >= 3 && dec >= 2 {
        out.findings.push(finding(
            "card_testing",
            "card_testing.micro",
            Phase::Abuse,
            Severity::Medium,
            20,
            75,
            format!("{} micro-amount attempts with {cards} cards", st.micro),
        ));
    }

    // per BIN
    for (c, bin) in &f.cards {
        let b = g.bins.entry(u64::from(*bin), now);
        if b.win.roll(now, win) {
            *b = BinState {
                win: b.win,
                ..Default::default()
            };
        }
        b.attempts += 1;
        if declined {
            b.declines += 1;
        }
        b.cards.insert(c.0);
        let bc = b.cards.estimate();
        if declined
            && bc >= cfg.bin_min_cards
            && ratio(b.declines, b.attempts) >= cfg.bin_min_decline_ratio
        {
            out.findings.push(finding(
                "card_testing",
                "card_testing.bin",
                Phase::Abuse,
                Severity::Medium,
                15,
                60,
                format!(
                    "BIN {bin:06} under attack: {bc} cards, {} of {} declined",
                    b.declines, b.attempts
                ),
            ));
        }
    }

    // fingerprint-wide: the campaign view across actors
    let s = g.fps.entry(ctx.fp, now);
    s.record(ctx, win, f.cards.iter().map(|(c, _)| c.0), declined);
    let (fc, fa, fr) = (s.items.estimate(), s.actors.estimate(), s.bad_ratio());
    if fc >= cfg.campaign_min_cards
        && fa >= cfg.campaign_min_actors
        && fr >= cfg.campaign_min_decline_ratio
    {
        let rule = CampaignRule {
            kind: "card_testing",
            finding_kind: "card_testing",
            rule_id: "card_testing.campaign",
            phase: Phase::Abuse,
            own_rare: 1,
            own_common: 2,
            points: CAMPAIGN_POINTS,
            fragment: None,
        };
        let own = Own {
            bad_now: declined,
            bad: dec,
            items: cards,
        };
        let message = format!(
            "{fa} actors sharing one client fingerprint tried {fc} cards, {:.0} % declined",
            fr * 100.0
        );
        campaign(out, ctx, &rule, s.recent.members(), own, message);
    }
}
