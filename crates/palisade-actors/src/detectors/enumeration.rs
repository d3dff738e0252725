//! Enumeration and BOLA: walking object ids on one templated endpoint
//! (`GET /api/v1/accounts/{id}`), mostly refused (403/404) or sequential.
//!
//! Per actor the detector follows one endpoint at a time (the one it is
//! walking): distinct ids, refusals, and the current *walk* (consecutive new
//! numeric ids a constant small stride apart). Per endpoint it learns how many
//! distinct ids a visit touches (a histogram over visits, each visit counted
//! once: a customer reads their own account again and again, so one; a
//! catalogue is browsed wider), and an actor is judged once it reaches
//! `baseline_factor` times what nine visits in ten touch (at least
//! `actor_min_ids`, at most `actor_max_ids`, and the latter until the endpoint
//! has been seen in `min_visits` visits). From there every *new* id adds
//! risk: fast when the ids are sequential (a walk), a little slower when most
//! answers are refusals. Per client fingerprint and endpoint it counts across
//! actors, so a scraper that switches IP is still one walk. `bola` when the
//! walker is authenticated and gets 403s (asking for other users' objects) or
//! reads sequential objects; `enumeration` when refused; `scraping` otherwise.
//!
//! Why honest customers are safe: a customer reads their own few objects, and
//! reading them again never adds risk (only new ids do); below the endpoint's
//! threshold nothing is counted, and one finding alone stays under every
//! response level.

use palisade_core::{Phase, Severity};
use serde::{Deserialize, Serialize};

use super::{
    CAMPAIGN_POINTS, CampaignRule, Ctx, FpCounter, Output, Own, campaign, check_pos, check_ratio,
    finding, ratio,
};
use crate::keys::h64;
use crate::sketch::{BoundedMap, Distinct128, Window};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnumerationConfig {
    pub enabled: bool,
    pub window_secs: u64,
    /// The fewest distinct ids on one endpoint before a walk is judged (the
    /// floor of the learned threshold).
    pub actor_min_ids: u32,
    /// The most the learned threshold can grow to.
    pub actor_max_ids: u32,
    /// How many times the ids of an honest visit to the endpoint a walk must
    /// reach.
    pub baseline_factor: f32,
    /// Consecutive new ids a constant small stride apart that make a walk.
    pub min_walk: u32,
    /// Visits to an endpoint before its learned threshold is used (until
    /// then, `actor_max_ids`).
    pub min_visits: u32,
    pub min_denied_ratio: f32,
    pub campaign_min_ids: u32,
    pub campaign_min_actors: u32,
}

impl Default for EnumerationConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            window_secs: 600,
            actor_min_ids: 4,
            actor_max_ids: 15,
            baseline_factor: 2.0,
            min_walk: 3,
            min_visits: 10,
            min_denied_ratio: 0.5,
            campaign_min_ids: 30,
            campaign_min_actors: 2,
        }
    }
}

impl EnumerationConfig {
    pub(crate) fn validate(&self, errs: &mut Vec<String>) {
        let p = "detectors.enumeration";
        check_pos(errs, &format!("{p}.window_secs"), self.window_secs);
        for (n, v) in [
            ("actor_min_ids", self.actor_min_ids),
            ("actor_max_ids", self.actor_max_ids),
            ("min_walk", self.min_walk),
            ("min_visits", self.min_visits),
            ("campaign_min_ids", self.campaign_min_ids),
        ] {
            check_pos(errs, &format!("{p}.{n}"), v.into());
        }
        if self.actor_max_ids < self.actor_min_ids {
            errs.push(format!(
                "{p}.actor_max_ids = {} is below actor_min_ids = {}: raise it",
                self.actor_max_ids, self.actor_min_ids
            ));
        }
        if !(self.baseline_factor >= 1.0 && self.baseline_factor.is_finite()) {
            errs.push(format!(
                "{p}.baseline_factor = {}: must be at least 1",
                self.baseline_factor
            ));
        }
        check_ratio(
            errs,
            &format!("{p}.min_denied_ratio"),
            self.min_denied_ratio,
        );
    }
}

#[derive(Debug, Default, Clone)]
pub(crate) struct ActorState {
    win: Window,
    template: u64,
    ids: Distinct128,
    total: u16,
    denied: u16,
    forbidden: u16,
    /// The current walk: its length (in ids) and stride.
    walk: u16,
    stride: i8,
    last_id: u64,
}

/// Upper bounds of the buckets of distinct ids per visit.
const BUCKETS: [u32; 8] = [1, 2, 3, 4, 6, 8, 12, 16];

fn bucket(ids: u32) -> usize {
    BUCKETS
        .iter()
        .position(|b| ids <= *b)
        .unwrap_or(BUCKETS.len() - 1)
}

/// What visits to one endpoint touch: a histogram of the distinct ids of
/// each visit (an actor's run of requests on the endpoint), every visit
/// counted once at its current size, halved now and then so it follows the
/// traffic. One scraper is one visit however far it walks, so the quantile
/// stays the customers'.
#[derive(Debug, Default)]
pub(crate) struct TemplateStats {
    hist: [u32; 8],
    visits: u32,
}

impl TemplateStats {
    /// A visit grew from `from` distinct ids (0: it starts) to `to`.
    fn grow(&mut self, from: u32, to: u32) {
        if from == 0 {
            self.visits = self.visits.saturating_add(1);
        } else {
            let b = bucket(from);
            self.hist[b] = self.hist[b].saturating_sub(1);
        }
        self.hist[bucket(to)] += 1;
        if self.visits > 8192 {
            for h in &mut self.hist {
                *h /= 2;
            }
            self.visits = self.hist.iter().sum();
        }
    }

    /// Distinct ids that nine visits in ten stay within.
    fn p90(&self) -> u32 {
        let total: u32 = self.hist.iter().sum();
        let need = (total * 9).div_ceil(10);
        let mut seen = 0;
        for (i, h) in self.hist.iter().enumerate() {
            seen += h;
            if seen >= need {
                return BUCKETS[i];
            }
        }
        BUCKETS[BUCKETS.len() - 1]
    }
}

#[derive(Debug)]
pub(crate) struct Global {
    fps: BoundedMap<FpCounter>,
    templates: BoundedMap<TemplateStats>,
}

impl Global {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            fps: BoundedMap::new(cap),
            templates: BoundedMap::new(cap),
        }
    }

    /// Distinct ids on `template` past which an actor's visit is judged:
    /// `baseline_factor` times what nine honest visits in ten touch, within
    /// the floor and the cap; the cap until the endpoint has been seen in
    /// `min_visits` visits.
    fn threshold(&self, cfg: &EnumerationConfig, template: u64) -> u32 {
        match self.templates.get(template) {
            Some(t) if t.visits >= cfg.min_visits => {
                let v = (cfg.baseline_factor * t.p90() as f32).ceil() as u32;
                v.clamp(cfg.actor_min_ids, cfg.actor_max_ids)
            }
            _ => cfg.actor_max_ids,
        }
    }
}

pub(crate) fn observe(
    cfg: &EnumerationConfig,
    st: &mut ActorState,
    g: &mut Global,
    ctx: &Ctx<'_>,
    out: &mut Output,
) {
    let f = ctx.facts;
    let (Some(obj), Some(status)) = (f.object, f.status) else {
        return;
    };
    let now = ctx.now_ms;
    let win = (cfg.window_secs as i64).saturating_mul(1000);
    if st.win.roll(now, win) || st.template != f.template_hash {
        *st = ActorState {
            win: st.win,
            template: f.template_hash,
            ..Default::default()
        };
    }
    let denied = matches!(status, 401 | 403 | 404 | 410);
    st.total = st.total.saturating_add(1);
    if denied {
        st.denied = st.denied.saturating_add(1);
    }
    if status == 403 {
        st.forbidden = st.forbidden.saturating_add(1);
    }
    let before = st.ids.estimate();
    let new = st.ids.insert(obj);
    if new {
        let after = st.ids.estimate();
        if after != before {
            g.templates.entry(f.template_hash, now).grow(before, after);
        }
    }
    if new {
        match f.numeric_id {
            Some(n) => {
                let d = i64::try_from(n).unwrap_or(i64::MAX)
                    - i64::try_from(st.last_id).unwrap_or(i64::MAX);
                if st.walk > 0 && d != 0 && d.abs() <= 3 {
                    let d = d as i8;
                    st.walk = if st.walk >= 2 && d != st.stride {
                        2
                    } else {
                        st.walk.saturating_add(1)
                    };
                    st.stride = d;
                } else {
                    st.walk = 1;
                }
                st.last_id = n;
            }
            None => st.walk = 0,
        }
    }
    let ids = st.ids.estimate();
    let (tot, den) = (u32::from(st.total), u32::from(st.denied));
    let walking = u32::from(st.walk) >= cfg.min_walk;
    let refused = den >= 2 && ratio(den, tot) >= cfg.min_denied_ratio;
    let forbidden_heavy = u32::from(st.forbidden) * 3 >= tot;
    // refused walks probe for objects; an authenticated walk into other users'
    // objects (403s, or reading sequential ids) is BOLA; an anonymous
    // sequential walk that succeeds is scraping
    let (kind, phase, sev) = match (refused, f.authenticated && (forbidden_heavy || walking)) {
        (_, true) => ("bola", Phase::Exploitation, Severity::High),
        (true, false) => ("enumeration", Phase::Probing, Severity::Medium),
        (false, false) => ("scraping", Phase::Abuse, Severity::Medium),
    };
    let need = g.threshold(cfg, f.template_hash);
    if new && ids >= need && (refused || walking) {
        // a sequential walk raises risk fastest
        let (score, conf) = if walking { (40, 90) } else { (30, 80) };
        out.findings.push(
            finding(
                kind,
                &format!("{kind}.actor"),
                phase,
                sev,
                score,
                conf,
                format!(
                    "{ids} distinct ids on {} (honest visits touch fewer than {need}), {den} of {tot} refused{}",
                    f.template,
                    if walking { ", sequential" } else { "" }
                ),
            )
            .fragment(&f.template),
        );
    }

    // fingerprint + endpoint, across actors
    let key = h64(&[&ctx.fp.to_le_bytes(), &f.template_hash.to_le_bytes()]);
    let s = g.fps.entry(key, now);
    s.record(ctx, win, [obj], denied);
    let (fi, fa) = (s.items.estimate(), s.actors.estimate());
    if fi >= cfg.campaign_min_ids
        && fa >= cfg.campaign_min_actors
        && s.bad_ratio() >= cfg.min_denied_ratio
    {
        let rule = CampaignRule {
            kind: "enumeration",
            finding_kind: kind,
            rule_id: &format!("{kind}.campaign"),
            phase: Phase::Exploitation,
            own_rare: 1,
            own_common: 2,
            points: CAMPAIGN_POINTS,
            fragment: Some(&f.template),
        };
        let own = Own {
            bad_now: denied,
            bad: den,
            items: ids,
        };
        let message = format!(
            "{fa} actors sharing one client fingerprint walked {fi} ids on {}",
            f.template
        );
        campaign(out, ctx, &rule, s.recent.members(), own, message);
    }
}
