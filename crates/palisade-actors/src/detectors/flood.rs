//! Volumetric floods against an endpoint's own rate.
//!
//! Each endpoint (template) learns, in windows of `window_secs`, how many
//! requests one actor normally sends to it (an exponential average of requests
//! per distinct actor). An actor that sends `factor` times that, and at least
//! `min_requests`, in one window is flooding.
//!
//! Why honest customers are safe: the baseline is the endpoint's own, so a
//! polling endpoint that everyone calls often raises its own bar; the floor of
//! `min_requests` per window keeps small endpoints quiet.

use palisade_core::{Phase, Severity};
use serde::{Deserialize, Serialize};

use super::{Ctx, Output, check_pos, finding};
use crate::sketch::{BoundedMap, Distinct128, Window};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FloodConfig {
    pub enabled: bool,
    pub window_secs: u64,
    pub min_requests: u32,
    pub factor: f32,
}

impl Default for FloodConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            window_secs: 10,
            min_requests: 100,
            factor: 10.0,
        }
    }
}

impl FloodConfig {
    pub(crate) fn validate(&self, errs: &mut Vec<String>) {
        let p = "detectors.flood";
        check_pos(errs, &format!("{p}.window_secs"), self.window_secs);
        check_pos(errs, &format!("{p}.min_requests"), self.min_requests.into());
        if self.factor.is_nan() || self.factor < 1.0 {
            errs.push(format!("{p}.factor = {}: must be at least 1", self.factor));
        }
    }
}

#[derive(Debug, Default, Clone)]
pub(crate) struct ActorState {
    win: Window,
    template: u64,
    count: u32,
}

#[derive(Debug, Default)]
pub(crate) struct EndpointState {
    win: Window,
    count: u32,
    actors: Distinct128,
    /// Requests per actor per window, averaged.
    baseline: f32,
}

#[derive(Debug)]
pub(crate) struct Global {
    endpoints: BoundedMap<EndpointState>,
}

impl Global {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            endpoints: BoundedMap::new(cap),
        }
    }
}

pub(crate) fn observe(
    cfg: &FloodConfig,
    st: &mut ActorState,
    g: &mut Global,
    ctx: &Ctx<'_>,
    out: &mut Output,
) {
    let f = ctx.facts;
    let now = ctx.now_ms;
    let win = (cfg.window_secs as i64).saturating_mul(1000);
    let e = g.endpoints.entry(f.template_hash, now);
    if e.win.roll(now, win) {
        let n = e.actors.estimate().max(1);
        if e.count > 0 {
            let per_actor = e.count as f32 / n as f32;
            e.baseline = if e.baseline == 0.0 {
                per_actor
            } else {
                e.baseline * 0.8 + per_actor * 0.2
            };
        }
        e.count = 0;
        e.actors = Distinct128::default();
    }
    e.count += 1;
    e.actors.insert(ctx.actor.0);
    let baseline = e.baseline;
    if st.win.roll(now, win) || st.template != f.template_hash {
        *st = ActorState {
            win: st.win,
            template: f.template_hash,
            count: 0,
        };
    }
    st.count += 1;
    let bar = (cfg.min_requests as f32).max(cfg.factor * baseline);
    if st.count as f32 >= bar {
        out.findings.push(
            finding(
                "flood",
                "flood.actor",
                Phase::Abuse,
                Severity::Medium,
                20,
                80,
                format!(
                    "{} requests in {} s to {} (endpoint normal: {:.1} per actor)",
                    st.count, cfg.window_secs, f.template, baseline
                ),
            )
            .fragment(&f.template),
        );
    }
}
