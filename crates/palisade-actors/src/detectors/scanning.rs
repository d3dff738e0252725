//! Scanning and recon: bursts of 404s, probe paths (`/.env`, `/wp-admin`,
//! `*.php` on an API), and many distinct endpoints in a short window.
//!
//! Why honest customers are safe: clients call the few endpoints their app
//! uses; a stale link gives a 404 or two, not twenty with most requests
//! failing, and real apps do not ask an API for `/.git/config`.

use palisade_core::{Phase, Severity};
use serde::{Deserialize, Serialize};

use super::{Ctx, Output, check_pos, check_ratio, finding, ratio};
use crate::sketch::{Distinct128, Window};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScanningConfig {
    pub enabled: bool,
    pub window_secs: u64,
    pub min_not_found: u32,
    pub min_not_found_ratio: f32,
    pub min_probe_paths: u32,
    pub min_endpoints: u32,
}

impl Default for ScanningConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            window_secs: 300,
            min_not_found: 20,
            min_not_found_ratio: 0.5,
            min_probe_paths: 3,
            min_endpoints: 60,
        }
    }
}

impl ScanningConfig {
    pub(crate) fn validate(&self, errs: &mut Vec<String>) {
        let p = "detectors.scanning";
        check_pos(errs, &format!("{p}.window_secs"), self.window_secs);
        check_pos(
            errs,
            &format!("{p}.min_not_found"),
            self.min_not_found.into(),
        );
        check_pos(
            errs,
            &format!("{p}.min_probe_paths"),
            self.min_probe_paths.into(),
        );
        check_pos(
            errs,
            &format!("{p}.min_endpoints"),
            self.min_endpoints.into(),
        );
        check_ratio(
            errs,
            &format!("{p}.min_not_found_ratio"),
            self.min_not_found_ratio,
        );
    }
}

#[derive(Debug, Default, Clone)]
pub(crate) struct ActorState {
    win: Window,
    total: u16,
    not_found: u16,
    probes: u16,
    endpoints: Distinct128,
}

pub(crate) fn observe(cfg: &ScanningConfig, st: &mut ActorState, ctx: &Ctx<'_>, out: &mut Output) {
    let f = ctx.facts;
    let Some(status) = f.status else { return };
    let win = (cfg.window_secs as i64).saturating_mul(1000);
    if st.win.roll(ctx.now_ms, win) {
        *st = ActorState {
            win: st.win,
            ..Default::default()
        };
    }
    st.total = st.total.saturating_add(1);
    if status == 404 || status == 405 {
        st.not_found = st.not_found.saturating_add(1);
    }
    if f.probe_path {
        st.probes = st.probes.saturating_add(1);
    }
    st.endpoints.insert(f.template_hash);
    let (tot, nf) = (u32::from(st.total), u32::from(st.not_found));
    let eps = st.endpoints.estimate();
    let reason = if f.probe_path && u32::from(st.probes) >= cfg.min_probe_paths {
        Some(format!("{} probe paths requested", st.probes))
    } else if nf >= cfg.min_not_found && ratio(nf, tot) >= cfg.min_not_found_ratio && status == 404
    {
        Some(format!("{nf} of {tot} requests answered 404"))
    } else if eps >= cfg.min_endpoints {
        Some(format!("{eps} distinct endpoints in the window"))
    } else {
        None
    };
    if let Some(msg) = reason {
        out.findings.push(
            finding(
                "scanning",
                "scanning.actor",
                Phase::Recon,
                Severity::Medium,
                15,
                80,
                msg,
            )
            .fragment(&f.template),
        );
    }
}
