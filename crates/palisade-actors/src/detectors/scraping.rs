//! Scraping: a high volume of successful reads over many distinct objects.
//!
//! Why honest customers are safe: the threshold is 300 reads over at least 100
//! distinct objects in ten minutes from one actor; an app or a person browsing
//! stays far below. Integrations that legitimately sync data belong on the
//! allowlist (by token).

use palisade_core::{Phase, Severity};
use serde::{Deserialize, Serialize};

use super::{Ctx, Output, check_pos, check_ratio, finding, ratio};
use crate::sketch::{Distinct128, Window};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScrapingConfig {
    pub enabled: bool,
    pub window_secs: u64,
    pub min_reads: u32,
    pub min_objects: u32,
    pub min_success_ratio: f32,
}

impl Default for ScrapingConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            window_secs: 600,
            min_reads: 300,
            min_objects: 100,
            min_success_ratio: 0.8,
        }
    }
}

impl ScrapingConfig {
    pub(crate) fn validate(&self, errs: &mut Vec<String>) {
        let p = "detectors.scraping";
        check_pos(errs, &format!("{p}.window_secs"), self.window_secs);
        check_pos(errs, &format!("{p}.min_reads"), self.min_reads.into());
        check_pos(errs, &format!("{p}.min_objects"), self.min_objects.into());
        check_ratio(
            errs,
            &format!("{p}.min_success_ratio"),
            self.min_success_ratio,
        );
    }
}

#[derive(Debug, Default, Clone)]
pub(crate) struct ActorState {
    win: Window,
    reads: u16,
    ok: u16,
    objects: Distinct128,
}

pub(crate) fn observe(cfg: &ScrapingConfig, st: &mut ActorState, ctx: &Ctx<'_>, out: &mut Output) {
    let f = ctx.facts;
    let Some(status) = f.status else { return };
    if !f.is_get {
        return;
    }
    let win = (cfg.window_secs as i64).saturating_mul(1000);
    if st.win.roll(ctx.now_ms, win) {
        *st = ActorState {
            win: st.win,
            ..Default::default()
        };
    }
    st.reads = st.reads.saturating_add(1);
    if (200..300).contains(&status) {
        st.ok = st.ok.saturating_add(1);
    }
    st.objects.insert(f.object.unwrap_or(f.template_hash));
    let objs = st.objects.estimate();
    let (reads, ok) = (u32::from(st.reads), u32::from(st.ok));
    if reads >= cfg.min_reads
        && objs >= cfg.min_objects
        && ratio(ok, reads) >= cfg.min_success_ratio
    {
        out.findings.push(finding(
            "scraping",
            "scraping.actor",
            Phase::Abuse,
            Severity::Medium,
            15,
            70,
            format!("{reads} reads over {objs} distinct objects in the window"),
        ));
    }
}
