//! Credential stuffing and account takeover.
//!
//! A login attempt is any request carrying a password field (recognised by
//! name, wherever the endpoint is); it failed when the upstream answered 401 or
//! 403. Counted per actor (distinct usernames, failures), per account (the
//! hashed login name: failures from many actors) and per client fingerprint
//! across actors (a botnet trying a few passwords per IP).
//!
//! Account takeover: a success on an account that collected failures from
//! several actors, or a success by an actor that has been cycling usernames.
//!
//! Why honest customers are safe: a person tries one or two usernames and
//! fails a few times; the thresholds need five distinct usernames with a 70 %
//! failure ratio, and a success after one's own failures is never a takeover.

use palisade_core::{Phase, Severity};
use serde::{Deserialize, Serialize};

use super::{CampaignSignal, Ctx, Output, Recent, check_pos, check_ratio, finding, ratio};
use crate::sketch::{BoundedMap, Distinct128, Window};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CredentialStuffingConfig {
    pub enabled: bool,
    pub window_secs: u64,
    pub actor_min_usernames: u32,
    pub actor_min_failures: u32,
    pub min_failure_ratio: f32,
    pub campaign_min_usernames: u32,
    pub campaign_min_actors: u32,
    pub campaign_min_failure_ratio: f32,
    /// Failures on one account from at least two actors before a success on it
    /// counts as a takeover.
    pub ato_min_failures: u32,
    /// Login surge: within `surge_window_secs`, at least `surge_min_failures`
    /// failed logins from at least `surge_min_actors` actors that never logged
    /// in successfully. While it lasts, each such failure is a finding, so a
    /// stuffer rotating addresses and user agents is stopped after two or
    /// three tries per address.
    pub surge_window_secs: u64,
    pub surge_min_failures: u32,
    pub surge_min_actors: u32,
}

impl Default for CredentialStuffingConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            window_secs: 900,
            actor_min_usernames: 5,
            actor_min_failures: 5,
            min_failure_ratio: 0.7,
            campaign_min_usernames: 10,
            campaign_min_actors: 3,
            campaign_min_failure_ratio: 0.7,
            ato_min_failures: 5,
            surge_window_secs: 60,
            surge_min_failures: 20,
            surge_min_actors: 8,
        }
    }
}

impl CredentialStuffingConfig {
    pub(crate) fn validate(&self, errs: &mut Vec<String>) {
        let p = "detectors.credential_stuffing";
        check_pos(errs, &format!("{p}.window_secs"), self.window_secs);
        check_pos(
            errs,
            &format!("{p}.actor_min_usernames"),
            self.actor_min_usernames.into(),
        );
        check_pos(
            errs,
            &format!("{p}.campaign_min_usernames"),
            self.campaign_min_usernames.into(),
        );
        check_pos(
            errs,
            &format!("{p}.campaign_min_actors"),
            self.campaign_min_actors.into(),
        );
        check_pos(
            errs,
            &format!("{p}.surge_window_secs"),
            self.surge_window_secs,
        );
        check_pos(
            errs,
            &format!("{p}.surge_min_failures"),
            self.surge_min_failures.into(),
        );
        check_pos(
            errs,
            &format!("{p}.surge_min_actors"),
            self.surge_min_actors.into(),
        );
        check_ratio(
            errs,
            &format!("{p}.min_failure_ratio"),
            self.min_failure_ratio,
        );
        check_ratio(
            errs,
            &format!("{p}.campaign_min_failure_ratio"),
            self.campaign_min_failure_ratio,
        );
    }
}

#[derive(Debug, Default, Clone)]
pub(crate) struct ActorState {
    win: Window,
    attempts: u16,
    failures: u16,
    users: Distinct128,
    /// Successful logins ever (kept across windows): an actor with none is
    /// "fresh" for the surge view.
    successes: u16,
}

/// Failed logins by fresh actors in a short window, across all actors.
#[derive(Debug, Default)]
pub(crate) struct Surge {
    win: Window,
    fresh_failures: u32,
    fresh_actors: Distinct128,
}

#[derive(Debug, Default)]
pub(crate) struct AccountState {
    win: Window,
    failures: u32,
    actors: Distinct128,
}

#[derive(Debug, Default)]
pub(crate) struct FpState {
    win: Window,
    attempts: u32,
    failures: u32,
    users: Distinct128,
    actors: Distinct128,
    recent: Recent,
}

#[derive(Debug)]
pub(crate) struct Global {
    accounts: BoundedMap<AccountState>,
    fps: BoundedMap<FpState>,
    surge: Surge,
}

impl Global {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            accounts: BoundedMap::new(cap),
            fps: BoundedMap::new(cap),
            surge: Surge::default(),
        }
    }
}

pub(crate) fn observe(
    cfg: &CredentialStuffingConfig,
    st: &mut ActorState,
    g: &mut Global,
    ctx: &Ctx<'_>,
    out: &mut Output,
) {
    let f = ctx.facts;
    if !f.has_password || f.status.is_none() {
        return;
    }
    let now = ctx.now_ms;
    let win = (cfg.window_secs as i64).saturating_mul(1000);
    let failed = f.login_failed();
    let ok = f.login_ok();
    if st.win.roll(now, win) {
        *st = ActorState {
            win: st.win,
            successes: st.successes,
            ..Default::default()
        };
    }
    let fresh = st.successes == 0;
    if ok {
        st.successes = st.successes.saturating_add(1);
    }
    // login surge, across all actors
    let sw = (cfg.surge_window_secs as i64).saturating_mul(1000);
    if g.surge.win.roll(now, sw) {
        g.surge = Surge {
            win: g.surge.win,
            ..Default::default()
        };
    }
    if failed && fresh {
        g.surge.fresh_failures = g.surge.fresh_failures.saturating_add(1);
        g.surge.fresh_actors.insert(ctx.actor.0);
        let (sf, sa) = (g.surge.fresh_failures, g.surge.fresh_actors.estimate());
        if sf >= cfg.surge_min_failures && sa >= cfg.surge_min_actors {
            out.findings.push(finding(
                "credential_stuffing",
                "credential_stuffing.surge",
                Phase::Abuse,
                Severity::High,
                40,
                75,
                format!(
                    "failed login from a client that never logged in, during a surge: {sf} such failures from {sa} clients in {}s",
                    cfg.surge_window_secs
                ),
            ));
        }
    }
    st.attempts = st.attempts.saturating_add(1);
    if failed {
        st.failures = st.failures.saturating_add(1);
    }
    if let Some(l) = f.login {
        st.users.insert(l.0);
    }
    let users = st.users.estimate();
    let (att, fail) = (u32::from(st.attempts), u32::from(st.failures));
    if users >= cfg.actor_min_usernames
        && fail >= cfg.actor_min_failures
        && ratio(fail, att) >= cfg.min_failure_ratio
    {
        out.findings.push(finding(
            "credential_stuffing",
            "credential_stuffing.actor",
            Phase::Abuse,
            Severity::High,
            40,
            85,
            format!("{users} usernames tried, {fail} of {att} logins failed in the window"),
        ));
    }

    // per account
    if let Some(l) = f.login {
        let a = g.accounts.entry(l.0, now);
        if a.win.roll(now, win) {
            *a = AccountState {
                win: a.win,
                ..Default::default()
            };
        }
        if failed {
            a.failures += 1;
            a.actors.insert(ctx.actor.0);
        }
        let others = a.actors.estimate() - u32::from(a.actors.contains(ctx.actor.0));
        let many_actors = a.failures >= cfg.ato_min_failures && others >= 1;
        if ok && (many_actors || users >= 3) {
            out.findings.push(finding(
                "account_takeover",
                "account_takeover.success_after_failures",
                Phase::Exploitation,
                Severity::Critical,
                50,
                80,
                format!(
                    "login succeeded on an account with {} recent failures from {} actors",
                    a.failures,
                    a.actors.estimate()
                ),
            ));
        }
    }

    // fingerprint-wide
    let s = g.fps.entry(ctx.fp, now);
    if s.win.roll(now, win) {
        *s = FpState {
            win: s.win,
            ..Default::default()
        };
    }
    s.attempts += 1;
    if failed {
        s.failures += 1;
        s.recent.push(ctx.actor);
    }
    if let Some(l) = f.login {
        s.users.insert(l.0);
    }
    s.actors.insert(ctx.actor.0);
    let (fu, fa, fr) = (
        s.users.estimate(),
        s.actors.estimate(),
        ratio(s.failures, s.attempts),
    );
    if fu >= cfg.campaign_min_usernames
        && fa >= cfg.campaign_min_actors
        && fr >= cfg.campaign_min_failure_ratio
    {
        let message = format!(
            "{fa} actors sharing one client fingerprint tried {fu} usernames, {:.0} % failed",
            fr * 100.0
        );
        out.campaigns.push(CampaignSignal {
            kind: "credential_stuffing",
            fp: ctx.fp,
            members: s.recent.members(),
            message: message.clone(),
        });
        let own = if ctx.fp_rare { 1 } else { 2 };
        if failed && fail >= own && users >= own {
            out.findings.push(finding(
                "credential_stuffing",
                "credential_stuffing.campaign",
                Phase::Abuse,
                Severity::High,
                40,
                90,
                message,
            ));
        }
    }
}
