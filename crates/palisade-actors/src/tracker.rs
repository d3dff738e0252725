//! [`ActorTracker`]: the analysis-side owner of actor state (single-threaded).
//!
//! For every exchange, after the response, [`ActorTracker::observe`]:
//! 1. checks the allowlist (an allowlisted request is not tracked at all);
//! 2. resolves the actor: a known strong key (session, token, API key, device
//!    id) wins; otherwise the actor's own IP + fingerprint combination, but
//!    only for an anonymous actor or one already under suspicion (so two
//!    customers with the same browser behind one NAT never merge); a login
//!    with no strong key may resolve to the account's usual actor (same
//!    client, not under suspicion, account not tried by others); otherwise a
//!    new actor. Networks never resolve an actor, nor does a login name alone;
//! 3. runs the abuse detectors and links campaign members;
//! 4. adds the findings (inline ones from `ex.findings` and the detectors')
//!    to the risk, tracks the phase, and updates the response level.
//! 5. indexes the tokens and session cookies the answer issued (hashed) to
//!    the actor, so the requests that carry them resolve to it.
//!
//! Memory is bounded: actors live in a dense vector (about 640 bytes each
//! with their index entries, see the bench) and the least valuable sixteenth
//! is evicted when `max_actors` is reached; global counters are bounded maps.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Arc;

use palisade_core::{ActorKey, Exchange, Finding, KeyedHasher, Phase, Verdict};

use crate::config::{ActorsConfig, Allowlist};
use crate::detectors::{self, ActorAbuse, Ctx, Globals};
use crate::extract;
use crate::ids::{ActorId, CampaignId};
use crate::keys::{combo_hash, fingerprint_of, h64, request_keys, strong_hash};
use crate::names::name_for;
use crate::risk::{Risk, finding_points};
use crate::sketch::{BoundedMap, IdBuild, IdMap};
use crate::snapshot::{Decision, DecisionSnapshot, Inner};
use crate::view::{ActorView, CampaignView, Level, RiskPoint};

const MAX_KEYS: usize = 6;
const MAX_IPS: usize = 4;
const HISTORY: usize = 8;
const MAX_MEMBERS: usize = 32;
/// An actor that got its identity from a login we watched counts as an
/// established customer of its fingerprint only once known this long.
const ESTABLISHED_AFTER_MS: i64 = 60_000;

/// Finding kinds remembered per actor as a bit set.
const KINDS: &[&str] = &[
    "card_testing",
    "credential_stuffing",
    "account_takeover",
    "enumeration",
    "bola",
    "scanning",
    "scraping",
    "flood",
    "sqli",
    "xss",
    "cmdi",
    "path_traversal",
    "ssrf",
    "scanner",
    "protocol",
];

fn kind_bit(kind: &str) -> u16 {
    KINDS
        .iter()
        .position(|k| *k == kind)
        .map(|i| 1u16 << i)
        .unwrap_or(1 << 15)
}

#[derive(Debug, Clone)]
struct Actor {
    id: ActorId,
    first_seen: i64,
    last_seen: i64,
    requests: u32,
    findings: u32,
    risk: Risk,
    block_until: i64,
    last_block: i64,
    phase_ts: i64,
    fp: u64,
    campaign: Option<CampaignId>,
    keys: [u64; MAX_KEYS],
    ips: [Option<IpAddr>; MAX_IPS],
    hist_ts: [i64; HISTORY],
    hist_risk: [u8; HISTORY],
    kinds: u16,
    nkeys: u8,
    strong: u8,
    ip_next: u8,
    hist_next: u8,
    blocks: u8,
    phase: Option<Phase>,
    denied: bool,
    flagged: bool,
    /// Counted once as an established customer of its fingerprint.
    good: bool,
    /// Its first request already carried a strong identifier (issued before
    /// we saw it, not by a login we watched).
    arrived_identified: bool,
    abuse: ActorAbuse,
}

impl Actor {
    fn new(id: ActorId, now: i64) -> Self {
        Self {
            id,
            first_seen: now,
            last_seen: now,
            requests: 0,
            findings: 0,
            risk: Risk::default(),
            block_until: 0,
            last_block: 0,
            phase_ts: 0,
            fp: 0,
            campaign: None,
            keys: [0; MAX_KEYS],
            ips: [None; MAX_IPS],
            hist_ts: [0; HISTORY],
            hist_risk: [0; HISTORY],
            kinds: 0,
            nkeys: 0,
            strong: 0,
            ip_next: 0,
            hist_next: 0,
            blocks: 0,
            phase: None,
            denied: false,
            flagged: false,
            good: false,
            arrived_identified: false,
            abuse: ActorAbuse::default(),
        }
    }

    fn push_ip(&mut self, ip: IpAddr) {
        if self.ips.contains(&Some(ip)) {
            return;
        }
        self.ips[usize::from(self.ip_next) % MAX_IPS] = Some(ip);
        self.ip_next = self.ip_next.wrapping_add(1);
    }

    fn push_history(&mut self, now: i64, risk: u8) {
        let last = (usize::from(self.hist_next) + HISTORY - 1) % HISTORY;
        if self.hist_next > 0 || self.hist_ts[last] != 0 {
            let prev = self.hist_risk[last];
            if prev.abs_diff(risk) < 5 && now - self.hist_ts[last] < 60_000 {
                self.hist_risk[last] = risk;
                return;
            }
        }
        let i = usize::from(self.hist_next) % HISTORY;
        self.hist_ts[i] = now;
        self.hist_risk[i] = risk;
        self.hist_next = ((usize::from(self.hist_next) + 1) % HISTORY) as u8;
    }
}

#[derive(Debug, Default, Clone)]
struct FpInfo {
    actors: u32,
    flagged: u32,
    /// Actors with a strong identifier that got a successful answer without
    /// any finding: established customers.
    good: u32,
    ja4: Option<Box<str>>,
    ja4h: Option<Box<str>>,
    ua_family: Option<&'static str>,
}

impl FpInfo {
    /// Rare: almost none of the actors running this client are established
    /// customers, so blocking it hurts nobody known.
    fn rare(&self, max_good_share: f32) -> bool {
        self.good as f32 <= max_good_share * self.actors as f32
    }
}

#[derive(Debug, Clone)]
struct Campaign {
    id: CampaignId,
    kind: &'static str,
    fp: u64,
    first_seen: i64,
    last_seen: i64,
    members: Vec<ActorId>,
    member_count: u32,
    risk: Risk,
    block_until: i64,
    last_block: i64,
    blocks: u8,
    message: String,
}

/// The result of observing one exchange.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub actor_id: ActorId,
    pub actor_name: String,
    pub campaign_id: Option<CampaignId>,
    /// The abuse detectors' findings for this exchange (the inline findings in
    /// `ex.findings` are not repeated).
    pub findings: Vec<Finding>,
    pub risk: u8,
    pub phase: Option<Phase>,
    /// Whether the actor's (or its campaign's) response level changed: publish
    /// a new snapshot soon.
    pub decision_changed: bool,
    /// The request matched the allowlist and was not tracked.
    pub allowlisted: bool,
}

/// Actor state, owned by the analysis pipeline.
#[derive(Debug)]
pub struct ActorTracker {
    cfg: ActorsConfig,
    hasher: KeyedHasher,
    allow: Arc<Allowlist>,
    half_life_ms: i64,
    actors: Vec<Actor>,
    by_id: IdMap<u64, u32>,
    by_key: IdMap<u64, u64>,
    fps: BoundedMap<FpInfo>,
    campaigns: IdMap<u64, Campaign>,
    /// The behaviour campaign (not `shared_identity`) last linked to a fingerprint.
    fp_campaign: IdMap<u64, CampaignId>,
    globals: Globals,
    /// The actor that last logged in cleanly to each account (hashed login
    /// name): the customer's next logins resolve to it, so one customer who
    /// logs in again (and gets a new token) stays one actor.
    owners: BoundedMap<u64>,
    active: HashSet<u64, IdBuild>,
    observed: u64,
}

fn ua_family(ua: &str) -> &'static str {
    let u = ua.to_ascii_lowercase();
    const FAMILIES: &[(&str, &str)] = &[
        ("curl/", "curl"),
        ("wget", "wget"),
        ("python-requests", "python-requests"),
        ("aiohttp", "python-aiohttp"),
        ("python", "python"),
        ("go-http-client", "go"),
        ("okhttp", "okhttp"),
        ("java/", "java"),
        ("axios", "node-axios"),
        ("node", "node"),
        ("postman", "postman"),
        ("headlesschrome", "headless-chrome"),
        ("bot", "bot"),
        ("spider", "bot"),
        ("edg/", "edge"),
        ("opr/", "opera"),
        ("firefox/", "firefox"),
        ("chrome/", "chrome"),
        ("safari/", "safari"),
    ];
    FAMILIES
        .iter()
        .find(|(n, _)| u.contains(n))
        .map(|(_, f)| *f)
        .unwrap_or("other")
}

impl ActorTracker {
    pub(crate) fn new(cfg: ActorsConfig, hasher: KeyedHasher, allow: Allowlist) -> Self {
        let cap = cfg.max_tracked_keys;
        Self {
            half_life_ms: (cfg.half_life_secs as i64).saturating_mul(1000),
            globals: Globals::new(cap),
            fps: BoundedMap::new(cap),
            cfg,
            hasher,
            allow: Arc::new(allow),
            actors: Vec::new(),
            by_id: IdMap::default(),
            by_key: IdMap::default(),
            campaigns: IdMap::default(),
            fp_campaign: IdMap::default(),
            owners: BoundedMap::new(cap),
            active: HashSet::default(),
            observed: 0,
        }
    }

    /// How many actors are tracked.
    pub fn len(&self) -> usize {
        self.actors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.actors.is_empty()
    }

    /// The configuration in force.
    pub fn config(&self) -> &ActorsConfig {
        &self.cfg
    }

    fn slot(&self, id: ActorId) -> Option<usize> {
        self.by_id.get(&id.0).map(|s| *s as usize)
    }

    fn suspicious(&self, a: &Actor, now: i64) -> bool {
        a.campaign.is_some()
            || a.block_until > now
            || a.risk.at(now, self.half_life_ms) >= f32::from(self.cfg.responses.watch_at)
    }

    fn level_of(&self, risk: f32, block_until: i64, denied: bool, now: i64) -> Level {
        let r = &self.cfg.responses;
        if block_until > now {
            return if denied { Level::Deny } else { Level::Block };
        }
        if risk >= f32::from(r.tarpit_at) {
            Level::Tarpit
        } else if risk >= f32::from(r.rate_limit_at) {
            Level::RateLimit
        } else if risk >= f32::from(r.watch_at) {
            Level::Watch
        } else {
            Level::None
        }
    }

    fn actor_level(&self, a: &Actor, now: i64) -> Level {
        self.level_of(
            a.risk.at(now, self.half_life_ms),
            a.block_until,
            a.denied,
            now,
        )
    }

    fn campaign_level(&self, c: &Campaign, now: i64) -> Level {
        let denied = u32::from(c.blocks) >= self.cfg.responses.deny_after_blocks;
        self.level_of(
            c.risk.at(now, self.half_life_ms),
            c.block_until,
            denied,
            now,
        )
    }

    fn new_actor(&mut self, seed_key: u64, now: i64) -> usize {
        if self.actors.len() >= self.cfg.max_actors {
            self.evict(now);
        }
        let mut id = self.hasher.hash("actor", &seed_key.to_le_bytes()).0;
        while id == 0 || self.by_id.contains_key(&id) {
            id = crate::keys::mix(id.wrapping_add(0x9e37_79b9_7f4a_7c15));
        }
        let slot = self.actors.len();
        self.actors.push(Actor::new(ActorId(id), now));
        self.by_id.insert(id, slot as u32);
        slot
    }

    /// Evicts the least valuable sixteenth of the actors (at least one):
    /// oldest last-seen first, each risk point worth a minute, active blocks
    /// last.
    fn evict(&mut self, now: i64) {
        let n = (self.actors.len() / 16).max(1).min(self.actors.len());
        if n == 0 {
            return;
        }
        let hl = self.half_life_ms;
        let mut prio: Vec<(i64, u32)> = self
            .actors
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let p = if a.block_until > now {
                    i64::MAX
                } else {
                    a.last_seen
                        .saturating_add(i64::from(a.risk.score(now, hl)) * 60_000)
                };
                (p, i as u32)
            })
            .collect();
        prio.select_nth_unstable(n - 1);
        let mut victims: Vec<u32> = prio[..n].iter().map(|(_, i)| *i).collect();
        victims.sort_unstable_by(|a, b| b.cmp(a));
        for v in victims {
            let v = v as usize;
            let gone = self.actors.swap_remove(v);
            for k in &gone.keys[..usize::from(gone.nkeys)] {
                if self.by_key.get(k) == Some(&gone.id.0) {
                    self.by_key.remove(k);
                }
            }
            self.by_id.remove(&gone.id.0);
            self.active.remove(&gone.id.0);
            if let Some(moved) = self.actors.get(v) {
                self.by_id.insert(moved.id.0, v as u32);
            }
        }
    }

    /// Indexes `key` to the actor in `slot`, remembering it for eviction.
    fn index_key(&mut self, slot: usize, key: u64, strong: bool) {
        let a = &mut self.actors[slot];
        self.by_key.insert(key, a.id.0);
        if a.keys[..usize::from(a.nkeys)].contains(&key) {
            return;
        }
        if usize::from(a.nkeys) < MAX_KEYS {
            a.keys[usize::from(a.nkeys)] = key;
            a.nkeys += 1;
        } else {
            // full: drop the oldest remembered key
            let old = a.keys[0];
            a.keys.rotate_left(1);
            a.keys[MAX_KEYS - 1] = key;
            if self.by_key.get(&old) == Some(&a.id.0) {
                self.by_key.remove(&old);
            }
        }
        if strong {
            a.strong = a.strong.saturating_add(1);
        }
    }

    /// Resolves the request to an actor slot; links actors that share strong
    /// identifiers.
    fn resolve(
        &mut self,
        keys: &[ActorKey],
        ip: IpAddr,
        fp: u64,
        owner: Option<usize>,
        now: i64,
    ) -> usize {
        let strong: Vec<u64> = keys.iter().filter_map(strong_hash).collect();
        let combo = combo_hash(Some(ip), fp);
        let mut found: Vec<ActorId> = Vec::new();
        for h in &strong {
            if let Some(id) = self.by_key.get(h)
                && !found.contains(&ActorId(*id))
                && self.by_id.contains_key(id)
            {
                found.push(ActorId(*id));
            }
        }
        let slot = if let Some(first) = found.first().and_then(|id| self.slot(*id)) {
            first
        } else if let Some(s) = owner {
            s
        } else if let Some(s) = self
            .by_key
            .get(&combo)
            .and_then(|id| self.slot(ActorId(*id)))
            .filter(|s| {
                let a = &self.actors[*s];
                a.strong == 0 || self.suspicious(a, now)
            })
        {
            s
        } else {
            self.new_actor(strong.first().copied().unwrap_or(combo), now)
        };
        for h in &strong {
            let owner = self.by_key.get(h).copied();
            let live = owner.is_some_and(|o| self.by_id.contains_key(&o));
            if !live {
                self.index_key(slot, *h, true);
            }
        }
        let anonymous = strong.is_empty();
        if anonymous || !self.by_key.contains_key(&combo) {
            self.index_key(slot, combo, false);
        }
        if found.len() > 1 {
            self.link_shared(&found, now);
        }
        slot
    }

    fn link_shared(&mut self, ids: &[ActorId], now: i64) {
        let existing = ids
            .iter()
            .filter_map(|id| self.slot(*id))
            .find_map(|s| self.actors[s].campaign);
        let cid = existing.unwrap_or_else(|| {
            let mut v: Vec<u64> = ids.iter().map(|i| i.0).collect();
            v.sort_unstable();
            CampaignId(h64(&[b"shared", &v[0].to_le_bytes()]))
        });
        let fp = ids
            .first()
            .and_then(|i| self.slot(*i))
            .map(|s| self.actors[s].fp)
            .unwrap_or(0);
        self.join_campaign(
            cid,
            "shared_identity",
            fp,
            ids,
            "actors share strong identifiers",
            now,
        );
    }

    fn join_campaign(
        &mut self,
        cid: CampaignId,
        kind: &'static str,
        fp: u64,
        ids: &[ActorId],
        msg: &str,
        now: i64,
    ) {
        if !self.campaigns.contains_key(&cid.0) && self.campaigns.len() >= self.cfg.max_campaigns {
            // evict the campaign seen least recently
            if let Some(old) = self
                .campaigns
                .values()
                .min_by_key(|c| c.last_seen)
                .map(|c| c.id.0)
            {
                self.campaigns.remove(&old);
            }
        }
        let c = self.campaigns.entry(cid.0).or_insert_with(|| Campaign {
            id: cid,
            kind,
            fp,
            first_seen: now,
            last_seen: now,
            members: Vec::new(),
            member_count: 0,
            risk: Risk::default(),
            block_until: 0,
            last_block: 0,
            blocks: 0,
            message: msg.to_string(),
        });
        c.last_seen = now;
        c.message = msg.to_string();
        if kind != "shared_identity" && fp != 0 {
            if self.fp_campaign.len() >= self.cfg.max_campaigns {
                self.fp_campaign
                    .retain(|_, c| self.campaigns.contains_key(&c.0));
            }
            self.fp_campaign.insert(fp, cid);
        }
        let mut joined = Vec::new();
        for id in ids {
            if let Some(s) = self.by_id.get(&id.0).map(|s| *s as usize) {
                let a = &mut self.actors[s];
                if a.campaign.is_none() {
                    a.campaign = Some(cid);
                }
                if a.campaign == Some(cid) {
                    joined.push((a.id, a.fp, a.flagged, a.good));
                    a.flagged = true;
                    // a campaign member is no established customer
                    a.good = false;
                }
            }
        }
        for (id, afp, was_flagged, was_good) in joined {
            if let Some(c) = self.campaigns.get_mut(&cid.0)
                && !c.members.contains(&id)
            {
                c.member_count += 1;
                if c.members.len() < MAX_MEMBERS {
                    c.members.push(id);
                }
            }
            if afp != 0 && (!was_flagged || was_good) {
                let info = self.fps.entry(afp, now);
                if !was_flagged {
                    info.flagged = (info.flagged + 1).min(info.actors.max(1));
                }
                if was_good {
                    info.good = info.good.saturating_sub(1);
                }
            }
        }
    }

    /// The actor a login (with no strong key) resolves to: the account's
    /// usual actor, when it runs the same client (same fingerprint), is not
    /// under suspicion, and the account is not being tried by others; a
    /// failed login also needs one of the actor's own addresses (a mistyped
    /// password at home), a successful one may come from anywhere (a phone
    /// on another network).
    fn login_owner(&self, facts: &extract::Facts, ip: IpAddr, fp: u64, now: i64) -> Option<usize> {
        let login = facts.login?.0;
        if !facts.has_password || facts.status.is_none() {
            return None;
        }
        let id = *self.owners.get(login)?;
        let s = self.slot(ActorId(id))?;
        let a = &self.actors[s];
        let same_place = facts.login_ok() || a.ips.contains(&Some(ip));
        (a.fp == fp
            && same_place
            && !self.suspicious(a, now)
            && !self.globals.login.contested(login, fp))
        .then_some(s)
    }

    /// After a login or any answer that issues a token: the token (or session
    /// cookie) is the requester's, so it is indexed to this actor and the
    /// requests that carry it resolve here. A clean, successful login also
    /// makes this actor the account's usual actor.
    fn link_login(&mut self, ex: &Exchange, facts: &extract::Facts, slot: usize, n: u32, now: i64) {
        let ok = facts.status.is_some_and(|s| (200..400).contains(&s));
        if !ok {
            return;
        }
        for k in crate::keys::issued_keys(ex, &self.hasher) {
            let Some(h) = strong_hash(&k) else { continue };
            let owned = self
                .by_key
                .get(&h)
                .is_some_and(|o| self.by_id.contains_key(o));
            if !owned {
                self.index_key(slot, h, true);
            }
        }
        if facts.login_ok()
            && n == 0
            && let Some(l) = facts.login
            && !self.suspicious(&self.actors[slot], now)
        {
            let id = self.actors[slot].id.0;
            *self.owners.entry(l.0, now) = id;
        }
    }

    /// Observes one exchange (after its response). Resolves or creates the
    /// actor, runs the abuse detectors, updates risk, phase and decisions.
    pub fn observe(&mut self, ex: &Exchange, now_ms: i64) -> Observation {
        let now = now_ms;
        self.observed += 1;
        if self.observed.is_multiple_of(4096) {
            self.prune_active(now);
        }
        let keys = request_keys(ex, &self.hasher);
        if self.allow.matches(&keys) {
            let id = ActorId(combo_hash(Some(ex.client_ip), fingerprint_of(&keys)));
            return Observation {
                actor_id: id,
                actor_name: name_for(id.0),
                campaign_id: None,
                findings: Vec::new(),
                risk: 0,
                phase: None,
                decision_changed: false,
                allowlisted: true,
            };
        }
        let fp = fingerprint_of(&keys);
        // facts first: a login may resolve to the account's own actor
        let authenticated = keys.iter().any(|k| strong_hash(k).is_some());
        let facts = extract::facts(ex, &self.hasher, authenticated);
        let owner = if authenticated {
            None
        } else {
            self.login_owner(&facts, ex.client_ip, fp, now)
        };
        let slot = self.resolve(&keys, ex.client_ip, fp, owner, now);
        let hl = self.half_life_ms;
        let level_before = self.actor_level(&self.actors[slot], now);
        let camp_level_before = self.actors[slot]
            .campaign
            .and_then(|c| self.campaigns.get(&c.0))
            .map(|c| self.campaign_level(c, now));

        // fingerprint bookkeeping
        {
            let a = &mut self.actors[slot];
            a.last_seen = a.last_seen.max(now);
            if a.requests == 0 {
                a.arrived_identified = authenticated;
            }
            a.requests = a.requests.saturating_add(1);
            a.push_ip(ex.client_ip);
        }
        if self.actors[slot].fp == 0 {
            self.actors[slot].fp = fp;
            let info = self.fps.entry(fp, now);
            info.actors += 1;
            if info.ja4h.is_none() {
                for k in &keys {
                    match k {
                        ActorKey::Ja4(s) => info.ja4 = Some(s.clone().into_boxed_str()),
                        ActorKey::Ja4h(s) => info.ja4h = Some(crate::ja4h::ja4h_stable(s).into()),
                        _ => {}
                    }
                }
                info.ua_family = ex.request.header("user-agent").map(ua_family);
            }
        }
        // a request the inline path stopped on a campaign's fingerprint: the
        // actor is one more member of that campaign
        if ex.enforced
            && ex.verdict.is_stop()
            && self.actors[slot].campaign.is_none()
            && let Some(cid) = self.fp_campaign.get(&fp).copied()
            && let Some(c) = self.campaigns.get(&cid.0)
            && self.campaign_level(c, now) >= Level::RateLimit
        {
            let (kind, msg) = (c.kind, c.message.clone());
            let id = self.actors[slot].id;
            self.join_campaign(cid, kind, fp, &[id], &msg, now);
        }
        let fp_rare = self
            .fps
            .get(fp)
            .is_some_and(|i| i.rare(self.cfg.rare_fingerprint_max_good_share));

        // detectors
        let actor_id = self.actors[slot].id;
        let ctx = Ctx {
            facts: &facts,
            now_ms: now,
            actor: actor_id,
            fp,
            fp_rare,
        };
        let out = detectors::run(
            &self.cfg.detectors,
            &mut self.actors[slot].abuse,
            &mut self.globals,
            &ctx,
        );
        for sig in &out.campaigns {
            let cid = CampaignId(h64(&[
                b"campaign",
                &sig.fp.to_le_bytes(),
                sig.kind.as_bytes(),
            ]));
            // on a common fingerprint only actors that earned the campaign
            // finding themselves join (honest users of the same browser don't)
            let mut members = if fp_rare {
                sig.members.clone()
            } else {
                Vec::new()
            };
            if (sig.earned || out.findings.iter().any(|f| f.kind == sig.kind))
                && !members.contains(&actor_id)
            {
                members.push(actor_id);
            }
            self.join_campaign(cid, sig.kind, sig.fp, &members, &sig.message, now);
            if let Some(c) = self.campaigns.get_mut(&cid.0) {
                let w = crate::risk::phase_weight(&self.cfg.phase_weights, Phase::Abuse);
                c.risk.add(now, hl, sig.points * w);
            }
        }

        // risk and phase
        let weights = &self.cfg.phase_weights;
        let mut pts = 0.0f32;
        let mut top_phase: Option<Phase> = None;
        let mut kinds = 0u16;
        let mut n = 0u32;
        for f in ex.findings.iter().chain(out.findings.iter()) {
            pts += finding_points(f, weights);
            top_phase = top_phase.max(Some(f.phase));
            kinds |= kind_bit(&f.kind);
            n += 1;
        }
        let pts = pts.min(f32::from(self.cfg.max_risk_per_request));
        let phase_window = (self.cfg.phase_window_secs as i64).saturating_mul(1000);
        let watch = f32::from(self.cfg.responses.watch_at);
        let block_at = f32::from(self.cfg.responses.block_at);
        let r = self.cfg.responses.clone();
        let newly_flagged;
        let newly_good;
        let lost_good;
        {
            let a = &mut self.actors[slot];
            // an actor with a finding is no established customer any more
            lost_good = n > 0 && a.good;
            if lost_good {
                a.good = false;
            }
            if n > 0 {
                a.risk.add(now, hl, pts);
                a.findings = a.findings.saturating_add(n);
                a.kinds |= kinds;
                if let Some(p) = top_phase {
                    a.phase = if now - a.phase_ts > phase_window {
                        Some(p)
                    } else {
                        a.phase.max(Some(p))
                    };
                    a.phase_ts = now;
                }
            }
            let risk_now = a.risk.at(now, hl);
            if n > 0 {
                a.push_history(now, risk_now.round() as u8);
            }
            // a new block only when findings push the risk over the line
            if n > 0 && risk_now >= block_at && a.block_until <= now {
                a.blocks = if now - a.last_block > (r.deny_window_secs as i64).saturating_mul(1000)
                {
                    1
                } else {
                    a.blocks.saturating_add(1)
                };
                a.last_block = now;
                a.denied = u32::from(a.blocks) >= r.deny_after_blocks;
                let secs = if a.denied { r.deny_secs } else { r.block_secs };
                a.block_until = now.saturating_add((secs as i64).saturating_mul(1000));
            }
            newly_flagged = !a.flagged && risk_now >= watch;
            if newly_flagged {
                a.flagged = true;
            }
            // established: identified, answered, clean, and either identified
            // from its first request or known for a while (a stuffer's hit
            // reading the account it just took over is neither)
            newly_good = !a.good
                && a.strong > 0
                && a.findings == 0
                && (a.arrived_identified || now - a.first_seen >= ESTABLISHED_AFTER_MS)
                && a.abuse.may_establish()
                && risk_now < watch
                && facts.status.is_some_and(|s| (200..300).contains(&s));
            if newly_good {
                a.good = true;
            }
        }
        if newly_good {
            let afp = self.actors[slot].fp;
            let info = self.fps.entry(afp, now);
            info.good = (info.good + 1).min(info.actors.max(1));
        }
        if lost_good {
            let afp = self.actors[slot].fp;
            let info = self.fps.entry(afp, now);
            info.good = info.good.saturating_sub(1);
        }
        self.link_login(ex, &facts, slot, n, now);
        if newly_flagged {
            let afp = self.actors[slot].fp;
            let info = self.fps.entry(afp, now);
            info.flagged = (info.flagged + 1).min(info.actors.max(1));
        }

        // the campaign follows its riskiest member and blocks like an actor
        let a_risk = self.actors[slot].risk.at(now, hl);
        let camp = self.actors[slot].campaign;
        let mut camp_level_after = None;
        if let Some(cid) = camp {
            let lvl = self.campaigns.get_mut(&cid.0).map(|c| {
                c.last_seen = now;
                let cr = c.risk.at(now, hl);
                if a_risk > cr {
                    c.risk.add(now, hl, a_risk - cr);
                }
                let cr = c.risk.at(now, hl);
                if cr >= block_at && c.block_until <= now {
                    c.blocks =
                        if now - c.last_block > (r.deny_window_secs as i64).saturating_mul(1000) {
                            1
                        } else {
                            c.blocks.saturating_add(1)
                        };
                    c.last_block = now;
                    let denied = u32::from(c.blocks) >= r.deny_after_blocks;
                    let secs = if denied { r.deny_secs } else { r.block_secs };
                    c.block_until = now.saturating_add((secs as i64).saturating_mul(1000));
                }
                c.clone()
            });
            if let Some(c) = lvl {
                camp_level_after = Some(self.campaign_level(&c, now));
            }
        }

        let a = &self.actors[slot];
        let level_after = self.actor_level(a, now);
        if level_after >= Level::RateLimit {
            self.active.insert(a.id.0);
        }
        let a = &self.actors[slot];
        Observation {
            actor_id: a.id,
            actor_name: name_for(a.id.0),
            campaign_id: a.campaign,
            findings: out.findings,
            risk: a.risk.score(now, hl),
            phase: a.phase,
            decision_changed: level_after != level_before || camp_level_after != camp_level_before,
            allowlisted: false,
        }
    }

    fn prune_active(&mut self, now: i64) {
        let keep: Vec<u64> = self
            .active
            .iter()
            .copied()
            .filter(|id| {
                self.slot(ActorId(*id))
                    .is_some_and(|s| self.actor_level(&self.actors[s], now) >= Level::RateLimit)
            })
            .collect();
        self.active = keep.into_iter().collect();
    }

    fn verdict_for(&self, level: Level, reason: &str) -> Option<Verdict> {
        let r = &self.cfg.responses;
        Some(match level {
            Level::RateLimit => Verdict::RateLimit {
                retry_after_secs: r.retry_after_secs,
                reason: reason.to_string(),
            },
            Level::Tarpit => Verdict::Tarpit {
                delay_ms: r.tarpit_delay_ms,
                reason: reason.to_string(),
            },
            Level::Block | Level::Deny => Verdict::block(reason),
            Level::None | Level::Watch => return None,
        })
    }

    fn until_for(&self, level: Level, risk: &Risk, block_until: i64, now: i64) -> i64 {
        let r = &self.cfg.responses;
        match level {
            Level::Block | Level::Deny => block_until,
            Level::Tarpit => risk.below_at(now, self.half_life_ms, f32::from(r.tarpit_at)),
            Level::RateLimit => risk.below_at(now, self.half_life_ms, f32::from(r.rate_limit_at)),
            _ => now,
        }
    }

    /// Builds the decision table for the inline path. Costs O(actors under a
    /// response + campaigns), not O(actors).
    pub fn snapshot(&self, now_ms: i64) -> DecisionSnapshot {
        let now = now_ms;
        let mut inner = Inner {
            allow: self.allow.clone(),
            built_ms: now,
            ..Default::default()
        };
        let mut ids: Vec<u64> = if self.cfg.enforce {
            self.active.iter().copied().collect()
        } else {
            Vec::new() // watch only: the allowlist is published, no decision is
        };
        ids.sort_unstable();
        for id in ids {
            let Some(s) = self.slot(ActorId(id)) else {
                continue;
            };
            let a = &self.actors[s];
            let level = self.actor_level(a, now);
            let reason = match level {
                Level::Deny => format!("actor denied after {} blocks", a.blocks),
                _ => format!("actor risk {}", a.risk.score(now, self.half_life_ms)),
            };
            let Some(verdict) = self.verdict_for(level, &reason) else {
                continue;
            };
            let idx = inner.entries.len() as u32;
            inner.entries.push(Decision {
                actor_id: a.id,
                actor_name: name_for(a.id.0),
                verdict,
                until_ms: self.until_for(level, &a.risk, a.block_until, now),
                reason,
                campaign_id: None,
            });
            for k in &a.keys[..usize::from(a.nkeys)] {
                if self.by_key.get(k) == Some(&a.id.0) {
                    inner.by_key.insert(*k, idx);
                }
            }
        }
        let mut camps: Vec<&Campaign> = if self.cfg.enforce {
            self.campaigns.values().collect()
        } else {
            Vec::new()
        };
        camps.sort_unstable_by_key(|c| c.id.0);
        for c in camps {
            let level = self.campaign_level(c, now);
            let reason = format!("campaign {} ({})", name_for(c.id.0), c.kind);
            let Some(verdict) = self.verdict_for(level, &reason) else {
                continue;
            };
            let idx = inner.entries.len() as u32;
            inner.entries.push(Decision {
                actor_id: ActorId(c.id.0),
                actor_name: name_for(c.id.0),
                verdict,
                until_ms: self.until_for(level, &c.risk, c.block_until, now),
                reason,
                campaign_id: Some(c.id),
            });
            for m in &c.members {
                let Some(s) = self.slot(*m) else { continue };
                let a = &self.actors[s];
                for k in &a.keys[..usize::from(a.nkeys)] {
                    if self.by_key.get(k) == Some(&a.id.0) {
                        let cur = inner
                            .by_key
                            .get(k)
                            .and_then(|i| inner.entries.get(*i as usize));
                        if cur.is_none_or(|d| {
                            d.verdict.action() < inner.entries[idx as usize].verdict.action()
                        }) {
                            inner.by_key.insert(*k, idx);
                        }
                    }
                }
            }
            if self.fingerprint_blockable(c) {
                inner.by_fp.insert(c.fp, idx);
            }
        }
        DecisionSnapshot::from_inner(inner)
    }

    fn fingerprint_blockable(&self, c: &Campaign) -> bool {
        self.cfg.fingerprint_blocks
            && c.kind != "shared_identity"
            && c.fp != 0
            && self
                .fps
                .get(c.fp)
                .is_some_and(|i| i.rare(self.cfg.rare_fingerprint_max_good_share))
    }

    fn view(&self, a: &Actor, now: i64) -> ActorView {
        let info = self.fps.get(a.fp);
        let mut hist: Vec<RiskPoint> = (0..HISTORY)
            .filter(|i| a.hist_ts[*i] != 0)
            .map(|i| RiskPoint {
                ts_ms: a.hist_ts[i],
                risk: a.hist_risk[i],
            })
            .collect();
        hist.sort_by_key(|p| p.ts_ms);
        let level = self.actor_level(a, now);
        ActorView {
            id: a.id,
            name: name_for(a.id.0),
            first_seen_ms: a.first_seen,
            last_seen_ms: a.last_seen,
            requests: a.requests,
            ips: a.ips.iter().flatten().copied().collect(),
            ja4: info.and_then(|i| i.ja4.as_deref().map(str::to_string)),
            ja4h: info.and_then(|i| i.ja4h.as_deref().map(str::to_string)),
            ua_family: info.and_then(|i| i.ua_family.map(str::to_string)),
            strong_keys: a.strong,
            risk: a.risk.score(now, self.half_life_ms),
            phase: a.phase,
            level,
            blocked_until_ms: (a.block_until > now).then_some(a.block_until),
            blocks: a.blocks,
            campaign_id: a.campaign,
            finding_kinds: (0..16)
                .filter(|b| a.kinds & (1 << b) != 0)
                .map(|b| KINDS.get(b).copied().unwrap_or("other").to_string())
                .collect(),
            findings: a.findings,
            risk_history: hist,
        }
    }

    /// Every actor, riskiest first (ties: most recently seen, then id).
    pub fn actors(&self, now_ms: i64) -> Vec<ActorView> {
        let mut v: Vec<ActorView> = self.actors.iter().map(|a| self.view(a, now_ms)).collect();
        v.sort_by(|a, b| {
            b.risk
                .cmp(&a.risk)
                .then(b.last_seen_ms.cmp(&a.last_seen_ms))
                .then(a.id.cmp(&b.id))
        });
        v
    }

    /// One actor.
    pub fn actor(&self, id: ActorId, now_ms: i64) -> Option<ActorView> {
        self.slot(id).map(|s| self.view(&self.actors[s], now_ms))
    }

    /// Every campaign, riskiest first.
    pub fn campaigns(&self, now_ms: i64) -> Vec<CampaignView> {
        let mut v: Vec<CampaignView> = self
            .campaigns
            .values()
            .map(|c| {
                let info = self.fps.get(c.fp);
                CampaignView {
                    id: c.id,
                    name: name_for(c.id.0),
                    kind: c.kind.to_string(),
                    first_seen_ms: c.first_seen,
                    last_seen_ms: c.last_seen,
                    member_count: c.member_count,
                    members: c.members.clone(),
                    risk: c.risk.score(now_ms, self.half_life_ms),
                    level: self.campaign_level(c, now_ms),
                    fingerprint_blocked: self.fingerprint_blockable(c)
                        && self.campaign_level(c, now_ms) >= Level::RateLimit,
                    ja4: info.and_then(|i| i.ja4.as_deref().map(str::to_string)),
                    ja4h: info.and_then(|i| i.ja4h.as_deref().map(str::to_string)),
                    ua_family: info.and_then(|i| i.ua_family.map(str::to_string)),
                    message: c.message.clone(),
                }
            })
            .collect();
        v.sort_by(|a, b| b.risk.cmp(&a.risk).then(a.id.cmp(&b.id)));
        v
    }
}

/// The in-line size of one actor record, for the memory report of the bench.
pub fn actor_record_size() -> usize {
    std::mem::size_of::<Actor>()
}
