//! Credential stuffing and account takeover.
//!
//! A login attempt is any request carrying a password field (recognised by
//! name, wherever the endpoint is); it failed when the upstream answered 401 or
//! 403. Counted per actor (distinct usernames, failures), per account (the
//! hashed login name: failures from many actors), per client fingerprint
//! across actors (a botnet trying a few passwords per IP), and globally, as a
//! **login surge** measured against the login traffic's own baseline.
//!
//! The surge view: failed logins by *unproven* clients (an actor that never
//! logged in, or one cycling usernames) are counted over a sliding window of
//! `surge_window_secs`, in failures and in distinct usernames. An EWMA of both
//! is learned from the quiet windows (a window in which a surge was seen is
//! never learned), and a surge is on when both exceed `surge_factor` times
//! their baseline, with floors (`surge_min_failures`, `surge_min_usernames`,
//! `surge_min_actors`) so a small API, or one that just started, still has a
//! threshold. While a surge is on, a fingerprint whose logins mostly fail
//! (half or more) on two or more usernames is linked into a campaign, with points for
//! every linking signal that agrees: the fingerprint is rare (no established
//! customer runs it), several failing actors share it, most of its failed
//! usernames never logged in successfully, nine logins in ten fail, and it
//! tried three usernames or more. Two signals rate-limit the fingerprint,
//! three block it; a stuffer that rotates addresses and user agents is stopped
//! after two or three attempts per user agent.
//!
//! Account takeover: a success on an account that collected failures from
//! several actors, by an actor that has been cycling usernames, or by an
//! unproven client on a fingerprint that is failing its logins during a surge.
//!
//! Why honest customers are safe: a person tries one username and fails a few
//! times; retrying one's own username never counts twice, a customer who
//! logged in before is never unproven (the tracker resolves their next logins
//! to their own actor), the per-actor thresholds need five distinct usernames
//! with a 70 % failure ratio, a success after one's own failures is never a
//! takeover, and the campaign views need a failure ratio (70 %, half during a
//! surge) that the customers of a shared fingerprint or office NAT never
//! reach.

use palisade_core::{Phase, Severity};
use serde::{Deserialize, Serialize};

use super::{
    CAMPAIGN_POINTS, CampaignRule, Ctx, FpCounter, Output, Own, campaign, check_pos, check_ratio,
    finding, ratio,
};
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
    /// Login surge: the sliding window over which failed logins by unproven
    /// clients are counted.
    pub surge_window_secs: u64,
    /// Floors of the surge threshold, per window: failures, distinct
    /// usernames, distinct actors.
    pub surge_min_failures: u32,
    pub surge_min_usernames: u32,
    pub surge_min_actors: u32,
    /// A surge is this many times the learned baseline (and above the floors).
    pub surge_factor: f32,
    /// Weight of each quiet window in the baseline (EWMA, 0-1).
    pub surge_baseline_alpha: f32,
    /// During a surge, a fingerprint is linked when at least this share of
    /// its logins failed (customers' typos stay far below; one early hit of a
    /// stuffer must not hide it).
    pub surge_min_failure_ratio: f32,
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
            surge_window_secs: 10,
            surge_min_failures: 5,
            surge_min_usernames: 4,
            surge_min_actors: 3,
            surge_factor: 4.0,
            surge_baseline_alpha: 0.1,
            surge_min_failure_ratio: 0.5,
        }
    }
}

impl CredentialStuffingConfig {
    pub(crate) fn validate(&self, errs: &mut Vec<String>) {
        let p = "detectors.credential_stuffing";
        check_pos(errs, &format!("{p}.window_secs"), self.window_secs);
        for (n, v) in [
            ("actor_min_usernames", self.actor_min_usernames),
            ("campaign_min_usernames", self.campaign_min_usernames),
            ("campaign_min_actors", self.campaign_min_actors),
            ("surge_min_failures", self.surge_min_failures),
            ("surge_min_usernames", self.surge_min_usernames),
            ("surge_min_actors", self.surge_min_actors),
        ] {
            check_pos(errs, &format!("{p}.{n}"), v.into());
        }
        check_pos(
            errs,
            &format!("{p}.surge_window_secs"),
            self.surge_window_secs,
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
        check_ratio(
            errs,
            &format!("{p}.surge_baseline_alpha"),
            self.surge_baseline_alpha,
        );
        check_ratio(
            errs,
            &format!("{p}.surge_min_failure_ratio"),
            self.surge_min_failure_ratio,
        );
        if !(self.surge_factor >= 1.0 && self.surge_factor.is_finite()) {
            errs.push(format!(
                "{p}.surge_factor = {}: must be at least 1 (a surge is a multiple of the baseline)",
                self.surge_factor
            ));
        }
    }
}

#[derive(Debug, Default, Clone)]
pub(crate) struct ActorState {
    win: Window,
    attempts: u16,
    failures: u16,
    users: Distinct128,
    /// Successful logins ever (kept across windows): an actor with none is
    /// unproven.
    successes: u16,
    /// It logged in while unproven during a surge (a stuffer's hit looks
    /// exactly like that): it never counts as an established customer.
    surge_login: bool,
}

impl ActorState {
    /// Whether the actor may count as an established customer of its
    /// fingerprint.
    pub(crate) fn may_establish(&self) -> bool {
        !self.surge_login
    }
}

/// Failed logins by unproven clients over a sliding window (two tumbling
/// buckets, the previous one weighted by how much of it still overlaps), and
/// the baseline learned from quiet buckets.
#[derive(Debug, Default)]
pub(crate) struct Surge {
    start: i64,
    cur_fail: u32,
    cur_users: Distinct128,
    cur_actors: Distinct128,
    prev_fail: u32,
    prev_users: u32,
    prev_actors: u32,
    /// The current bucket saw a surge: it is not learned.
    surged: bool,
    base_fail: f32,
    base_users: f32,
    /// The surge holds until then (one window after it was last seen).
    until: i64,
}

impl Surge {
    fn roll(&mut self, now: i64, len: i64, alpha: f32) {
        if self.start == 0 || now < self.start {
            self.start = now;
            return;
        }
        let passed = (now - self.start) / len;
        if passed == 0 {
            return;
        }
        let users = self.cur_users.estimate();
        if !self.surged {
            self.base_fail += alpha * (self.cur_fail as f32 - self.base_fail);
            self.base_users += alpha * (users as f32 - self.base_users);
        }
        // the empty buckets since then are quiet too
        let empty = (passed - 1).clamp(0, 64) as i32;
        let keep = (1.0 - alpha).powi(empty);
        self.base_fail *= keep;
        self.base_users *= keep;
        (self.prev_fail, self.prev_users, self.prev_actors) = if passed == 1 {
            (self.cur_fail, users, self.cur_actors.estimate())
        } else {
            (0, 0, 0)
        };
        self.cur_fail = 0;
        self.cur_users = Distinct128::default();
        self.cur_actors = Distinct128::default();
        self.surged = false;
        self.start += passed * len;
    }

    /// Counts one failure of an unproven client; returns whether a surge is on.
    fn record(
        &mut self,
        cfg: &CredentialStuffingConfig,
        now: i64,
        len: i64,
        user: Option<u64>,
        actor: u64,
    ) -> bool {
        self.cur_fail = self.cur_fail.saturating_add(1);
        if let Some(u) = user {
            self.cur_users.insert(u);
        }
        self.cur_actors.insert(actor);
        let overlap = 1.0 - ((now - self.start) as f32 / len as f32).clamp(0.0, 1.0);
        let fails = self.cur_fail as f32 + self.prev_fail as f32 * overlap;
        let users = self.cur_users.estimate() as f32 + self.prev_users as f32 * overlap;
        let actors = self.cur_actors.estimate() as f32 + self.prev_actors as f32 * overlap;
        let (need_f, need_u) = self.thresholds(cfg);
        if fails >= need_f && users >= need_u && actors >= cfg.surge_min_actors as f32 {
            self.surged = true;
            self.until = now.saturating_add(len);
        }
        self.active(now)
    }

    fn thresholds(&self, cfg: &CredentialStuffingConfig) -> (f32, f32) {
        (
            (cfg.surge_factor * self.base_fail).max(cfg.surge_min_failures as f32),
            (cfg.surge_factor * self.base_users).max(cfg.surge_min_usernames as f32),
        )
    }

    fn active(&self, now: i64) -> bool {
        now < self.until
    }
}

#[derive(Debug, Default)]
pub(crate) struct AccountState {
    win: Window,
    failures: u32,
    actors: Distinct128,
    /// Client fingerprints of the failing actors.
    fps: Distinct128,
}

/// Per fingerprint: the shared campaign counters (usernames tried, failures)
/// and what the surge view links on.
#[derive(Debug, Default)]
pub(crate) struct FpState {
    c: FpCounter,
    /// Restarted with `c`'s window.
    since: i64,
    failed_users: Distinct128,
    /// Failed usernames that never logged in successfully.
    strangers: Distinct128,
    failing_actors: Distinct128,
}

#[derive(Debug)]
pub(crate) struct Global {
    accounts: BoundedMap<AccountState>,
    fps: BoundedMap<FpState>,
    /// Usernames (hashed) that logged in successfully at least once.
    succeeded: BoundedMap<()>,
    surge: Surge,
}

impl Global {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            accounts: BoundedMap::new(cap),
            fps: BoundedMap::new(cap),
            succeeded: BoundedMap::new(cap),
            surge: Surge::default(),
        }
    }

    /// Whether the account collected failed logins in the window from a
    /// client other than `fp` (someone else may be trying it): its logins are
    /// not linked to the account's usual actor then.
    pub(crate) fn contested(&self, login: u64, fp: u64) -> bool {
        self.accounts
            .get(login)
            .is_some_and(|a| a.fps.estimate() > u32::from(a.fps.contains(fp)))
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
    let login = f.login.map(|l| l.0);
    if st.win.roll(now, win) {
        *st = ActorState {
            win: st.win,
            successes: st.successes,
            surge_login: st.surge_login,
            ..Default::default()
        };
    }
    let fresh = st.successes == 0;
    if ok {
        st.successes = st.successes.saturating_add(1);
    }
    st.attempts = st.attempts.saturating_add(1);
    if failed {
        st.failures = st.failures.saturating_add(1);
    }
    if let Some(l) = login {
        st.users.insert(l);
    }
    let users = st.users.estimate();
    let (att, fail) = (u32::from(st.attempts), u32::from(st.failures));
    // unproven: never logged in, or cycling usernames
    let unproven = fresh || users >= 2;
    let stranger = login.is_some_and(|l| g.succeeded.get(l).is_none());
    if ok && let Some(l) = login {
        g.succeeded.entry(l, now);
    }

    // the login surge, across all actors, against its own baseline
    let sw = (cfg.surge_window_secs as i64).saturating_mul(1000);
    g.surge.roll(now, sw, cfg.surge_baseline_alpha);
    let surge = if failed && unproven {
        g.surge.record(cfg, now, sw, login, ctx.actor.0)
    } else {
        g.surge.active(now)
    };
    if surge && ok && unproven {
        st.surge_login = true;
    }
    if surge && failed && unproven && users >= 3 {
        out.findings.push(finding(
            "credential_stuffing",
            "credential_stuffing.surge",
            Phase::Abuse,
            Severity::Medium,
            25,
            80,
            format!(
                "{users} usernames failed from a client that never logged in, during a login surge"
            ),
        ));
    }

    // per actor
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
    let mut takeover = false;
    if let Some(l) = login {
        let a = g.accounts.entry(l, now);
        if a.win.roll(now, win) {
            *a = AccountState {
                win: a.win,
                ..Default::default()
            };
        }
        if failed {
            a.failures += 1;
            a.actors.insert(ctx.actor.0);
            a.fps.insert(ctx.fp);
        }
        // failures by someone else: another client, or other actors when the
        // success comes from a fresh one too (a customer's own typos from a
        // phone on new networks are the same client, and their next login
        // resolves to their own, proven actor)
        let others = a.actors.estimate() - u32::from(a.actors.contains(ctx.actor.0));
        let other_fps = a.fps.estimate() - u32::from(a.fps.contains(ctx.fp));
        let many_actors =
            a.failures >= cfg.ato_min_failures && (other_fps >= 1 || (others >= 1 && fresh));
        if ok && (many_actors || users >= 3) {
            takeover = true;
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
    s.c.record(ctx, win, login, failed);
    if s.since != s.c.window_start() {
        *s = FpState {
            since: s.c.window_start(),
            c: std::mem::take(&mut s.c),
            ..Default::default()
        };
    }
    if failed {
        if let Some(l) = login {
            s.failed_users.insert(l);
            if stranger {
                s.strangers.insert(l);
            }
        }
        s.failing_actors.insert(ctx.actor.0);
    }
    let (fu, fa, fr) = (s.c.items.estimate(), s.c.actors.estimate(), s.c.bad_ratio());
    let own = Own {
        bad_now: failed,
        bad: fail,
        items: users,
    };
    let classic = fu >= cfg.campaign_min_usernames
        && fa >= cfg.campaign_min_actors
        && fr >= cfg.campaign_min_failure_ratio;
    // during a surge: link the fingerprint on fewer attempts, scored by the
    // linking signals that agree
    let (ffu, ffa, strangers) = (
        s.failed_users.estimate(),
        s.failing_actors.estimate(),
        s.strangers.estimate(),
    );
    let surging_fp = surge && s.c.bad >= 2 && ffu >= 2 && fr >= cfg.surge_min_failure_ratio;
    let agree = [
        ctx.fp_rare,
        ffa >= 2,
        strangers * 2 > ffu,
        fr >= 0.9,
        ffu >= 3,
    ]
    .iter()
    .filter(|x| **x)
    .count() as u32;
    let hit = ok && unproven && surging_fp;
    if hit && !takeover {
        // a hit of the campaign: the success of a client whose fingerprint
        // fails its logins during a surge
        out.findings.push(finding(
            "account_takeover",
            "account_takeover.surge_success",
            Phase::Exploitation,
            Severity::Critical,
            50,
            80,
            format!(
                "login succeeded from a client whose fingerprint failed {} of {} logins during a login surge",
                s.c.bad, s.c.attempts
            ),
        ));
    }
    let mut members = s.c.recent.members();
    let (rule, message) = if surging_fp && agree >= 2 {
        if hit && !members.contains(&ctx.actor) {
            members.push(ctx.actor);
        }
        let rule = CampaignRule {
            rule_id: "credential_stuffing.surge_campaign",
            points: CAMPAIGN_POINTS * agree as f32,
            // on a common fingerprint a member needs three usernames of its own
            own_common: 3,
            ..rule_of(CAMPAIGN_POINTS)
        };
        let message = format!(
            "login surge: {ffa} actors sharing one client fingerprint failed on {ffu} usernames ({strangers} never logged in), {:.0} % of its logins failed",
            fr * 100.0
        );
        (rule, message)
    } else if classic {
        let message = format!(
            "{fa} actors sharing one client fingerprint tried {fu} usernames, {:.0} % failed",
            fr * 100.0
        );
        (rule_of(CAMPAIGN_POINTS), message)
    } else {
        return;
    };
    campaign(out, ctx, &rule, members, own, message);
    if hit && let Some(c) = out.campaigns.last_mut() {
        c.earned = true;
    }
}

/// The credential stuffing campaign rule.
fn rule_of(points: f32) -> CampaignRule<'static> {
    CampaignRule {
        kind: "credential_stuffing",
        finding_kind: "credential_stuffing",
        rule_id: "credential_stuffing.campaign",
        phase: Phase::Abuse,
        own_rare: 1,
        own_common: 2,
        points,
        fragment: None,
    }
}
