//! Enumeration and BOLA: walking object ids on one templated endpoint
//! (`GET /api/v1/accounts/{id}`), mostly refused (403/404) or sequential.
//!
//! Per actor the detector follows one endpoint at a time (the one it is
//! walking); per client fingerprint and endpoint it counts across actors, so a
//! scraper that switches IP every twenty requests is still one walk. `bola`
//! when the walker is authenticated and gets 403s (asking for other users'
//! objects) or reads many sequential objects; `enumeration` otherwise.
//!
//! Why honest customers are safe: a customer reads their own few objects; the
//! threshold is fifteen distinct ids on one endpoint in ten minutes with half
//! of them refused (or a sequential walk).

use palisade_core::{Phase, Severity};
use serde::{Deserialize, Serialize};

use super::{CampaignSignal, Ctx, Output, Recent, check_pos, check_ratio, finding, ratio};
use crate::keys::h64;
use crate::sketch::{BoundedMap, Distinct128, Window};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnumerationConfig {
    pub enabled: bool,
    pub window_secs: u64,
    pub actor_min_ids: u32,
    pub min_denied_ratio: f32,
    pub campaign_min_ids: u32,
    pub campaign_min_actors: u32,
}

impl Default for EnumerationConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            window_secs: 600,
            actor_min_ids: 15,
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
        check_pos(
            errs,
            &format!("{p}.actor_min_ids"),
            self.actor_min_ids.into(),
        );
        check_pos(
            errs,
            &format!("{p}.campaign_min_ids"),
            self.campaign_min_ids.into(),
        );
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
    seq: u16,
    last_id: u64,
}

#[derive(Debug, Default)]
pub(crate) struct FpState {
    win: Window,
    ids: Distinct128,
    total: u32,
    denied: u32,
    actors: Distinct128,
    recent: Recent,
}

#[derive(Debug)]
pub(crate) struct Global {
    fps: BoundedMap<FpState>,
}

impl Global {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            fps: BoundedMap::new(cap),
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
    if let Some(n) = f.numeric_id {
        if st.last_id != 0 && n.abs_diff(st.last_id) <= 2 && n != st.last_id {
            st.seq = st.seq.saturating_add(1);
        }
        st.last_id = n;
    }
    st.ids.insert(obj);
    let ids = st.ids.estimate();
    let (tot, den) = (u32::from(st.total), u32::from(st.denied));
    let sequential = u32::from(st.seq) * 2 >= cfg.actor_min_ids;
    let refused = ratio(den, tot) >= cfg.min_denied_ratio;
    let forbidden_heavy = u32::from(st.forbidden) * 3 >= tot;
    // refused walks probe for objects; an authenticated walk into other users'
    // objects (403s, or reading sequential ids) is BOLA; an anonymous
    // sequential walk that succeeds is scraping
    let (kind, phase, sev) = match (refused, f.authenticated && (forbidden_heavy || sequential)) {
        (_, true) => ("bola", Phase::Exploitation, Severity::High),
        (true, false) => ("enumeration", Phase::Probing, Severity::Medium),
        (false, false) => ("scraping", Phase::Abuse, Severity::Medium),
    };
    if ids >= cfg.actor_min_ids && (refused || sequential) {
        out.findings.push(
            finding(
                kind,
                &format!("{kind}.actor"),
                phase,
                sev,
                30,
                if sequential { 90 } else { 80 },
                format!(
                    "{ids} distinct ids on {}, {den} of {tot} refused{}",
                    f.template,
                    if sequential { ", sequential" } else { "" }
                ),
            )
            .fragment(&f.template),
        );
    }

    // fingerprint + endpoint, across actors
    let key = h64(&[&ctx.fp.to_le_bytes(), &f.template_hash.to_le_bytes()]);
    let s = g.fps.entry(key, now);
    if s.win.roll(now, win) {
        *s = FpState {
            win: s.win,
            ..Default::default()
        };
    }
    s.total += 1;
    if denied {
        s.denied += 1;
        s.recent.push(ctx.actor);
    }
    s.ids.insert(obj);
    s.actors.insert(ctx.actor.0);
    let (fi, fa) = (s.ids.estimate(), s.actors.estimate());
    if fi >= cfg.campaign_min_ids
        && fa >= cfg.campaign_min_actors
        && ratio(s.denied, s.total) >= cfg.min_denied_ratio
    {
        let message = format!(
            "{fa} actors sharing one client fingerprint walked {fi} ids on {}",
            f.template
        );
        out.campaigns.push(CampaignSignal {
            kind: "enumeration",
            fp: ctx.fp,
            members: s.recent.members(),
            message: message.clone(),
        });
        let own = if ctx.fp_rare { 1 } else { 2 };
        if denied && ids >= own {
            out.findings.push(
                finding(
                    kind,
                    &format!("{kind}.campaign"),
                    Phase::Exploitation,
                    Severity::High,
                    40,
                    90,
                    message,
                )
                .fragment(&f.template),
            );
        }
    }
}
