//! [`Baselines`]: what is normal for each endpoint, learned from clean traffic
//! of many distinct actors, and findings for deviations from it.
//!
//! Per endpoint (the catalog's host, method and template) a baseline learns:
//! the request parameters (query and body) with their types, a length
//! histogram, and a small set of values when the parameter is an enumeration
//! (`currency`, `status`); the response size histogram; the error rate (EWMA
//! per window); the request rate per window, by hour of the week (EWMA).
//!
//! Poisoning resistance:
//! - only exchanges without any finding and not stopped by the gateway teach
//!   it; that includes its own deviations (`baseline.*`, except the
//!   endpoint-level `rate_spike` and `error_rate_spike`) and the inline
//!   `schema.*` findings: a deviation never teaches, however many actors send
//!   it (so after an API change, [`Baselines::reset`] the endpoint);
//! - each actor (actor id, else client IP) teaches at most `actor_cap`
//!   exchanges per window and endpoint, so one actor's flood weighs like a
//!   few ordinary requests;
//! - a fact (a parameter, one of its types, one of its values) is *normal*
//!   only once `min_support` distinct actors showed it;
//! - an endpoint's baseline is *established* only after `min_actors` distinct
//!   actors over `min_windows` windows taught it; before, there are no
//!   findings at all.
//!
//! Pure and deterministic: time comes in as `now_ms`, actor keys are hashed
//! with BLAKE3 (unkeyed: they are ids, not secrets), ordered maps only. Memory
//! is bounded by [`BaselineConfig`]. Values are kept only for enumerations:
//! short code-like values (`usd`, `succeeded`, `42`) that no classifier,
//! secret-name or personal-name rule flags, and that text masking leaves
//! unchanged; never card numbers, secrets or free text.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use palisade_core::{Exchange, Finding, Phase, Severity};

use crate::CatalogError;
use crate::endpoint::EndpointId;
use crate::extract::{self, BodyKind, Location, ValueType};

/// Learning settings (`[baseline]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BaselineConfig {
    /// Learn baselines and report deviations.
    pub enabled: bool,
    /// The learning window: `10m`, `30s`, `1h`, `500ms`.
    pub window: String,
    /// Windows with clean traffic before a baseline is established.
    pub min_windows: u32,
    /// Distinct actors whose clean traffic taught it before it is established.
    pub min_actors: usize,
    /// Distinct actors that must show a fact (parameter, type, value) before
    /// it is normal.
    pub min_support: usize,
    /// Exchanges one actor may teach per window and endpoint.
    pub actor_cap: u32,
    /// Endpoints with a baseline (the least recently seen is dropped beyond).
    pub max_endpoints: usize,
    /// Parameters learned per endpoint.
    pub max_params: usize,
    /// Distinct values kept per parameter before it is not an enumeration.
    pub max_values: usize,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            window: "10m".into(),
            min_windows: 3,
            min_actors: 5,
            min_support: 3,
            actor_cap: 50,
            max_endpoints: 5000,
            max_params: 64,
            max_values: 16,
        }
    }
}

/// Parses `500ms`, `30s`, `10m`, `1h` into milliseconds.
pub fn parse_window(s: &str) -> Option<i64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(split);
    let n: i64 = n.parse().ok()?;
    let ms = match unit.trim() {
        "ms" => n,
        "s" => n.checked_mul(1000)?,
        "m" => n.checked_mul(60_000)?,
        "h" => n.checked_mul(3_600_000)?,
        _ => return None,
    };
    (ms > 0).then_some(ms)
}

impl BaselineConfig {
    /// Every problem, as `(key, message)`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        match parse_window(&self.window) {
            None => p.push((
                "window",
                format!(
                    "`{}` is not a duration like \"10m\", \"30s\" or \"1h\"",
                    self.window
                ),
            )),
            Some(ms) if ms < 100 => p.push(("window", "must be at least 100ms".to_string())),
            _ => {}
        }
        if self.min_windows == 0 || self.min_windows > 1000 {
            p.push(("min_windows", "must be 1 to 1000".into()));
        }
        if !(1..=64).contains(&self.min_actors) {
            p.push(("min_actors", "must be 1 to 64".into()));
        }
        if !(1..=16).contains(&self.min_support) {
            p.push(("min_support", "must be 1 to 16".into()));
        }
        if self.min_actors >= 1 && self.min_support > self.min_actors {
            p.push((
                "min_support",
                format!(
                    "must not exceed min_actors ({}): no fact could become normal",
                    self.min_actors
                ),
            ));
        }
        if self.actor_cap == 0 {
            p.push(("actor_cap", "must be at least 1".into()));
        }
        if !(1..=1_000_000).contains(&self.max_endpoints) {
            p.push(("max_endpoints", "must be 1 to 1000000".into()));
        }
        if !(1..=1024).contains(&self.max_params) {
            p.push(("max_params", "must be 1 to 1024".into()));
        }
        if !(1..=256).contains(&self.max_values) {
            p.push(("max_values", "must be 1 to 256".into()));
        }
        p
    }

    /// Validates into runtime state.
    pub fn build(&self) -> Result<Baselines, CatalogError> {
        let p = self.problems();
        if !p.is_empty() {
            return Err(CatalogError::Config(
                p.into_iter()
                    .map(|(k, m)| format!("baseline.{k}: {m}"))
                    .collect(),
            ));
        }
        Ok(Baselines {
            window_ms: parse_window(&self.window).unwrap_or(600_000),
            cfg: self.clone(),
            endpoints: HashMap::new(),
            generation: 0,
            evicted: 0,
        })
    }
}

// ---------------------------------------------------------------------------
// small pieces

/// A set of distinct actor hashes, capped.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Support(Vec<u64>);

impl Support {
    /// Adds an actor; returns whether the set grew.
    fn add(&mut self, actor: u64, cap: usize) -> bool {
        if self.0.len() >= cap || self.0.contains(&actor) {
            return false;
        }
        self.0.push(actor);
        true
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

/// A log-scale histogram (exact below 4, then two buckets per power of two)
/// whose buckets count only once `min_support` distinct actors filled them:
/// one actor's values, however many, do not move its quantiles.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Hist {
    b: Vec<u32>,
    sup: Vec<Support>,
}

const HIST_MAX_BUCKETS: usize = 70;

fn bucket_of(x: u64) -> usize {
    if x < 4 {
        return x as usize;
    }
    let l = 63 - x.leading_zeros() as usize;
    let half = ((x >> (l - 1)) & 1) as usize;
    (4 + (l - 2) * 2 + half).min(HIST_MAX_BUCKETS - 1)
}

fn bucket_upper(b: usize) -> u64 {
    if b < 4 {
        return b as u64;
    }
    let l = (b - 4) / 2 + 2;
    let half = ((b - 4) % 2) as u64;
    (1u64 << l) + ((half + 1) << (l - 1)) - 1
}

impl Hist {
    fn add(&mut self, x: u64, actor: u64, min_support: usize) {
        let i = bucket_of(x);
        if self.b.len() <= i {
            self.b.resize(i + 1, 0);
            self.sup.resize(i + 1, Support::default());
        }
        self.b[i] = self.b[i].saturating_add(1);
        self.sup[i].add(actor, min_support);
    }
    fn supported(&self, min_support: usize) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.b
            .iter()
            .zip(&self.sup)
            .enumerate()
            .filter(move |(_, (_, s))| s.len() >= min_support)
            .map(|(i, (c, _))| (i, u64::from(*c)))
    }
    /// Samples in supported buckets.
    fn n(&self, min_support: usize) -> u64 {
        self.supported(min_support).map(|(_, c)| c).sum()
    }
    /// The upper bound of the supported bucket holding quantile `q`.
    fn quantile(&self, q: f64, min_support: usize) -> Option<u64> {
        let n = self.n(min_support);
        if n == 0 {
            return None;
        }
        let want = ((q * n as f64).ceil() as u64).max(1);
        let mut acc = 0u64;
        let mut last = None;
        for (i, c) in self.supported(min_support) {
            acc += c;
            last = Some(i);
            if acc >= want {
                return Some(bucket_upper(i));
            }
        }
        last.map(bucket_upper)
    }
}

/// The quantile the length and size limits start from.
const Q_HIGH: f64 = 0.995;
/// Samples a histogram needs before it is compared with.
const MIN_HIST: u64 = 20;

/// Length limit: `hi + max(hi, 8)` (twice the normal, with slack for short
/// values).
fn length_limit(hi: u64) -> u64 {
    hi + hi.max(8)
}

/// Response size limit: `max(4 hi, hi + 4096)`.
fn size_limit(hi: u64) -> u64 {
    (hi.saturating_mul(4)).max(hi + 4096)
}

fn hour_of_week(ms: i64) -> usize {
    // 1970-01-01 was a Thursday: shift so that Monday 00:00 UTC is slot 0.
    (ms.div_euclid(3_600_000) + 72).rem_euclid(168) as usize
}

fn actor_hash(ex: &Exchange) -> u64 {
    let mut h = blake3::Hasher::new();
    match &ex.actor {
        Some(a) if !a.id.is_empty() => {
            h.update(b"actor\0");
            h.update(a.id.as_bytes());
        }
        _ => {
            h.update(b"ip\0");
            h.update(ex.client_ip.to_string().as_bytes());
        }
    }
    let b = h.finalize();
    u64::from_le_bytes(b.as_bytes()[..8].try_into().unwrap_or([0; 8]))
}

/// Whether a value may be kept as a member of an enumeration.
fn storable_value(name: &str, v: &str) -> bool {
    use crate::template::{SegKind, seg_kind};
    if v.is_empty() || v.len() > 24 {
        return false;
    }
    if !v
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        return false;
    }
    if palisade_core::sensitive::is_secret_key(name)
        || crate::classify::is_personal_key(name)
        || crate::classify::classify_value(Some(name), v).is_some()
    {
        return false;
    }
    if !matches!(
        palisade_core::sensitive::mask_text_cow(v),
        std::borrow::Cow::Borrowed(_)
    ) {
        return false;
    }
    match seg_kind(v) {
        SegKind::String => true,
        SegKind::Integer => v.len() <= 4,
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// state

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ValueSeen {
    v: String,
    count: u64,
    support: Support,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ParamBase {
    loc: Location,
    name: String,
    support: Support,
    /// Actors per type (index by `ValueType as usize`).
    types: Vec<Support>,
    /// Learned exchanges that carried it.
    present: u64,
    len: Hist,
    values: Vec<ValueSeen>,
    /// Samples offered to value learning.
    value_total: u64,
    /// A value that cannot be an enumeration member was seen.
    values_overflow: bool,
}

impl ParamBase {
    fn new(loc: Location, name: &str) -> Self {
        ParamBase {
            loc,
            name: name.to_string(),
            support: Support::default(),
            types: vec![Support::default(); ValueType::ALL.len()],
            present: 0,
            len: Hist::default(),
            values: Vec::new(),
            value_total: 0,
            values_overflow: false,
        }
    }

    fn normal_types(&self, min_support: usize) -> u8 {
        let mut m = 0u8;
        for t in ValueType::ALL {
            if self
                .types
                .get(t as usize)
                .is_some_and(|s| s.len() >= min_support)
            {
                m |= t.bit();
            }
        }
        m
    }

    /// Whether values are an enumeration (and which are normal).
    fn is_enum(&self, min_support: usize) -> bool {
        if self.values_overflow || self.value_total < 30 {
            return false;
        }
        let normal: u64 = self
            .values
            .iter()
            .filter(|v| v.support.len() >= min_support)
            .map(|v| v.count)
            .sum();
        normal > 0 && normal as f64 >= 0.97 * self.value_total as f64
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct EndpointBase {
    host: String,
    method: String,
    template: String,
    established: bool,
    #[serde(default)]
    established_ms: Option<i64>,
    actors: Support,
    windows: u32,
    last_learn_window: i64,
    /// Learned exchanges.
    samples: u64,
    params: BTreeMap<String, ParamBase>,
    params_dropped: u64,
    resp: Hist,
    /// Learned statuses by class (index `status / 100`, 0 for other).
    status_classes: [u64; 6],
    /// EWMA of the learned error fraction per window.
    err_ewma: Option<f64>,
    /// EWMA of learned requests per window, per hour of the week.
    rate_how: Vec<f32>,
    rate_how_seen: Vec<u16>,
    rate_global: Option<f64>,
    last_seen_ms: i64,
    // the current window
    cur_window: i64,
    #[serde(skip)]
    cur_actor: HashMap<u64, u32>,
    cur_learned: u64,
    cur_learned_err: u64,
    cur_total: u64,
    cur_err: u64,
    err_alerted: i64,
    rate_alerted: i64,
}

/// Actors counted per endpoint and window for the per-actor cap.
const MAX_WINDOW_ACTORS: usize = 1024;
/// Findings per exchange.
const MAX_FINDINGS: usize = 8;
/// Windows of zero traffic folded into the rate EWMA after a gap (a week of
/// 10-minute windows).
const MAX_GAP_WINDOWS: i64 = 1008;

impl EndpointBase {
    fn new(host: &str, method: &str, template: &str, window: i64) -> Self {
        EndpointBase {
            host: host.to_string(),
            method: method.to_string(),
            template: template.to_string(),
            established: false,
            established_ms: None,
            actors: Support::default(),
            windows: 0,
            last_learn_window: i64::MIN,
            samples: 0,
            params: BTreeMap::new(),
            params_dropped: 0,
            resp: Hist::default(),
            status_classes: [0; 6],
            err_ewma: None,
            rate_how: vec![0.0; 168],
            rate_how_seen: vec![0; 168],
            rate_global: None,
            last_seen_ms: 0,
            cur_window: window,
            cur_actor: HashMap::new(),
            cur_learned: 0,
            cur_learned_err: 0,
            cur_total: 0,
            cur_err: 0,
            err_alerted: i64::MIN,
            rate_alerted: i64::MIN,
        }
    }

    /// Folds one closed window's learned count into its hour-of-week slot,
    /// and (for windows with traffic) into the overall EWMA.
    fn fold_rate(&mut self, window: i64, count: f64, window_ms: i64, global: bool) {
        let slot = hour_of_week(window.saturating_mul(window_ms));
        let seen = self.rate_how_seen[slot];
        self.rate_how[slot] = if seen == 0 {
            count as f32
        } else {
            (0.7 * f64::from(self.rate_how[slot]) + 0.3 * count) as f32
        };
        self.rate_how_seen[slot] = seen.saturating_add(1);
        if !global {
            return;
        }
        self.rate_global = Some(match self.rate_global {
            None => count,
            Some(g) => 0.9 * g + 0.1 * count,
        });
    }

    /// Closes windows up to `w` (exclusive).
    fn roll(&mut self, w: i64, window_ms: i64) {
        if w <= self.cur_window {
            return;
        }
        if self.cur_learned >= 5 {
            let frac = self.cur_learned_err as f64 / self.cur_learned as f64;
            self.err_ewma = Some(match self.err_ewma {
                None => frac,
                Some(e) => 0.8 * e + 0.2 * frac,
            });
        }
        if self.samples > 0 {
            let (from, learned) = (self.cur_window, self.cur_learned as f64);
            self.fold_rate(from, learned, window_ms, true);
            let gap_end = w.min(from.saturating_add(MAX_GAP_WINDOWS));
            let mut g = from + 1;
            while g < gap_end {
                self.fold_rate(g, 0.0, window_ms, false);
                g += 1;
            }
        }
        self.cur_window = w;
        self.cur_actor.clear();
        self.cur_learned = 0;
        self.cur_learned_err = 0;
        self.cur_total = 0;
        self.cur_err = 0;
    }

    fn expected_rate(&self, w: i64, window_ms: i64) -> Option<f64> {
        let slot = hour_of_week(w.saturating_mul(window_ms));
        if self.rate_how_seen[slot] > 0 {
            Some(f64::from(self.rate_how[slot]))
        } else {
            self.rate_global
        }
    }

    fn approx_bytes(&self) -> usize {
        256 + self.rate_how.len() * 6
            + self.cur_actor.capacity() * 16
            + self
                .params
                .iter()
                .map(|(k, p)| {
                    k.len() * 2
                        + 160
                        + p.len.b.len() * 52
                        + p.types.iter().map(|s| s.0.len() * 8).sum::<usize>()
                        + p.values.iter().map(|v| v.v.len() + 48).sum::<usize>()
                })
                .sum::<usize>()
    }
}

/// The learned, per-endpoint normal. See the module documentation.
#[derive(Debug, Clone)]
pub struct Baselines {
    cfg: BaselineConfig,
    window_ms: i64,
    endpoints: HashMap<EndpointId, EndpointBase>,
    generation: u64,
    evicted: u64,
}

/// The endpoint an exchange was filed under (from the catalog).
#[derive(Debug, Clone, Copy)]
pub struct EndpointKey<'a> {
    pub id: EndpointId,
    pub host: &'a str,
    pub method: &'a str,
    pub template: &'a str,
}

/// A learned parameter rule for the schema snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnedParam {
    pub location: Location,
    pub name: String,
    /// Bit set of normal [`ValueType`]s (bit `1 << (type as u8)`).
    pub types: u8,
    /// Present in every learned request.
    pub required: bool,
}

/// An established endpoint's learned request schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnedSchema {
    pub host: String,
    pub method: String,
    pub template: String,
    pub params: Vec<LearnedParam>,
}

/// One parameter of a baseline, as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BaselineParamView {
    pub location: Location,
    pub name: String,
    /// Distinct actors that sent it (capped at `min_support`).
    pub actors: usize,
    pub normal: bool,
    pub types: Vec<ValueType>,
    pub required: bool,
    /// Upper bound of the 99.5th percentile of value lengths.
    pub length_p995: Option<u64>,
    /// The normal values, when the parameter is an enumeration.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// A baseline, as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BaselineView {
    pub endpoint: EndpointId,
    pub host: String,
    pub method: String,
    pub template: String,
    pub established: bool,
    pub established_ms: Option<i64>,
    /// Distinct actors that taught it (capped at 64).
    pub actors: usize,
    pub windows: u32,
    pub samples: u64,
    pub params: Vec<BaselineParamView>,
    pub response_size_p995: Option<u64>,
    pub error_rate: Option<f64>,
    pub expected_per_window: Option<f64>,
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    format: u32,
    endpoints: Vec<(EndpointId, EndpointBase)>,
    evicted: u64,
}

const SNAPSHOT_FORMAT: u32 = 1;

fn finding(rule: &str, location: &str, fragment: &str, message: String) -> Finding {
    let (sev, conf, phase) = match rule {
        "response_size_spike" => (Severity::Medium, 60, Phase::Exploitation),
        "error_rate_spike" => (Severity::Medium, 70, Phase::Probing),
        "rate_spike" => (Severity::Medium, 60, Phase::Abuse),
        "type_mismatch" => (Severity::Low, 70, Phase::Probing),
        _ => (Severity::Low, 60, Phase::Probing),
    };
    Finding::new("baseline", &format!("baseline.{rule}"), location)
        .fragment(fragment)
        .severity(sev)
        .confidence(conf)
        .phase(phase)
        .score(1)
        .message(message)
}

/// Whether the findings already on an exchange keep it from teaching: any
/// finding at all (attacks, actor decisions, schema violations, deviations).
pub fn disqualifies(findings: &[Finding]) -> bool {
    !findings.is_empty()
}

/// Endpoint-level findings: about the window, not this exchange's content.
fn endpoint_level(f: &Finding) -> bool {
    matches!(
        f.rule_id.as_str(),
        "baseline.rate_spike" | "baseline.error_rate_spike"
    )
}

impl Baselines {
    pub fn config(&self) -> &BaselineConfig {
        &self.cfg
    }

    /// Changes whenever an endpoint is established or a fact becomes normal:
    /// the learned schema must be rebuilt.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Endpoints with a baseline, established ones, baselines dropped at the
    /// limit.
    pub fn stats(&self) -> (usize, usize, u64) {
        (
            self.endpoints.len(),
            self.endpoints.values().filter(|e| e.established).count(),
            self.evicted,
        )
    }

    pub fn approx_heap_bytes(&self) -> usize {
        self.endpoints
            .values()
            .map(EndpointBase::approx_bytes)
            .sum::<usize>()
            + self.endpoints.capacity() * 16
    }

    /// Learns from one exchange filed under `at` (when `learn`) and returns
    /// the deviations from the established baseline. `learn` should be false
    /// for exchanges with findings (see [`disqualifies`]) or stopped by the
    /// gateway.
    pub fn observe(
        &mut self,
        at: EndpointKey<'_>,
        ex: &Exchange,
        learn: bool,
        now_ms: i64,
    ) -> Vec<Finding> {
        if !self.cfg.enabled {
            return Vec::new();
        }
        let w = now_ms.div_euclid(self.window_ms);
        if !self.endpoints.contains_key(&at.id) {
            if self.endpoints.len() >= self.cfg.max_endpoints {
                // drop the least recently seen
                if let Some(old) = self
                    .endpoints
                    .iter()
                    .min_by_key(|(id, e)| (e.last_seen_ms, **id))
                    .map(|(id, _)| *id)
                {
                    self.endpoints.remove(&old);
                    self.evicted += 1;
                }
            }
            self.endpoints
                .insert(at.id, EndpointBase::new(at.host, at.method, at.template, w));
        }
        let window_ms = self.window_ms;
        let cfg = &self.cfg;
        let Some(e) = self.endpoints.get_mut(&at.id) else {
            return Vec::new();
        };
        e.last_seen_ms = e.last_seen_ms.max(now_ms);
        e.roll(w, window_ms);
        let status = ex.status();
        let is_err = status.is_some_and(|s| s >= 400);
        if status.is_some() {
            e.cur_total += 1;
            if is_err {
                e.cur_err += 1;
            }
        }
        let x = extract::extract(ex);
        let actor = actor_hash(ex);
        let mut findings = Vec::new();
        let mut gen_bump = false;

        // -- deviations (before learning from this exchange)
        if e.established {
            let ms = cfg.min_support;
            let mut reported: Vec<String> = Vec::new();
            for it in &x.items {
                if findings.len() >= MAX_FINDINGS {
                    break;
                }
                if !matches!(it.loc, Location::Query | Location::Body) {
                    continue;
                }
                let key = format!("{}.{}", it.loc.as_str(), it.name);
                // once per name (array elements), outermost unknown name only
                if reported.iter().any(|r| {
                    key.starts_with(r.as_str())
                        && matches!(key.as_bytes().get(r.len()), None | Some(b'.' | b'['))
                }) {
                    continue;
                }
                let textual = it.loc == Location::Query || x.body_kind == Some(BodyKind::Form);
                let shown = || {
                    let class = crate::classify::classify_value(Some(&it.name), &it.text);
                    crate::catalog::sample_of(&it.name, class, &it.text)
                };
                let p = e.params.get(&key).filter(|p| p.support.len() >= ms);
                let Some(p) = p else {
                    findings.push(finding(
                        "unseen_parameter",
                        &key,
                        &shown(),
                        format!(
                            "`{}` is not a normal parameter of {} {} (fewer than {} distinct actors sent it in clean traffic)",
                            key, at.method, at.template, ms
                        ),
                    ));
                    reported.push(key);
                    continue;
                };
                let normal = p.normal_types(ms);
                if normal != 0 && !type_fits(normal, it.ty, textual) {
                    findings.push(finding(
                        "type_mismatch",
                        &key,
                        &shown(),
                        format!(
                            "`{}` is normally {}, got {}",
                            key,
                            types_text(normal),
                            it.ty.as_str()
                        ),
                    ));
                    reported.push(key);
                    continue;
                }
                let is_scalar = !matches!(it.ty, ValueType::Object | ValueType::Array);
                if is_scalar
                    && p.len.n(ms) >= MIN_HIST
                    && let Some(hi) = p.len.quantile(Q_HIGH, ms)
                    && it.text.len() as u64 > length_limit(hi)
                {
                    findings.push(finding(
                        "length",
                        &key,
                        &shown(),
                        format!(
                            "`{}` is {} bytes long; normally at most about {hi}",
                            key,
                            it.text.len()
                        ),
                    ));
                    reported.push(key);
                    continue;
                }
                if is_scalar
                    && p.is_enum(ms)
                    && !p
                        .values
                        .iter()
                        .any(|v| v.support.len() >= ms && v.v == it.text)
                {
                    findings.push(finding(
                        "value_unseen",
                        &key,
                        &shown(),
                        format!(
                            "`{}` takes one of {} known values; this one was never seen",
                            key,
                            p.values.iter().filter(|v| v.support.len() >= ms).count()
                        ),
                    ));
                    reported.push(key);
                }
            }
            // response size
            if let Some(r) = &ex.response
                && e.resp.n(cfg.min_support) >= MIN_HIST
                && let Some(hi) = e.resp.quantile(Q_HIGH, cfg.min_support)
                && r.body.size > size_limit(hi)
            {
                findings.push(finding(
                    "response_size_spike",
                    "response.body",
                    &format!("{} bytes", r.body.size),
                    format!(
                        "the response is {} bytes; {} {} normally answers at most about {hi} (data exfiltration?)",
                        r.body.size, at.method, at.template
                    ),
                ));
            }
            // error rate, once per window
            let base = e.err_ewma.unwrap_or_else(|| {
                let total: u64 = e.status_classes.iter().sum();
                let errs = e.status_classes[4] + e.status_classes[5];
                if total == 0 {
                    0.0
                } else {
                    errs as f64 / total as f64
                }
            });
            if is_err && e.err_alerted != w && e.cur_total >= 20 && e.cur_err >= 10 {
                let rate = e.cur_err as f64 / e.cur_total as f64;
                if rate > (3.0 * base).max(base + 0.25) {
                    e.err_alerted = w;
                    findings.push(finding(
                        "error_rate_spike",
                        "response.status",
                        &format!("{}/{} errors", e.cur_err, e.cur_total),
                        format!(
                            "{:.0}% of responses of {} {} are errors in this window; normally {:.0}%",
                            rate * 100.0,
                            at.method,
                            at.template,
                            base * 100.0
                        ),
                    ));
                }
            }
            // request rate, once per window
            let total = e.cur_total.max(1);
            if e.rate_alerted != w
                && let Some(exp) = e.expected_rate(w, window_ms)
                && total as f64 > (5.0 * exp).max(exp + 50.0)
            {
                e.rate_alerted = w;
                findings.push(finding(
                    "rate_spike",
                    "endpoint",
                    &format!("{total} requests"),
                    format!(
                        "{total} requests to {} {} in this window; about {:.0} expected at this hour of the week",
                        at.method, at.template, exp
                    ),
                ));
            }
        }

        // -- learning: never from a deviation
        if learn && findings.iter().all(endpoint_level) {
            let n = e.cur_actor.len();
            let under_cap = match e.cur_actor.get_mut(&actor) {
                Some(c) if *c >= cfg.actor_cap => false,
                Some(c) => {
                    *c += 1;
                    true
                }
                None if n >= MAX_WINDOW_ACTORS => false,
                None => {
                    e.cur_actor.insert(actor, 1);
                    true
                }
            };
            if under_cap {
                e.samples += 1;
                e.cur_learned += 1;
                if is_err {
                    e.cur_learned_err += 1;
                }
                if let Some(s) = status {
                    let c = usize::from(s / 100);
                    e.status_classes[if c < 6 { c } else { 0 }] += 1;
                }
                if let Some(r) = &ex.response {
                    e.resp.add(r.body.size, actor, cfg.min_support);
                }
                e.actors.add(actor, 64);
                if w > e.last_learn_window {
                    e.last_learn_window = w;
                    e.windows = e.windows.saturating_add(1);
                }
                let mut seen: Vec<String> = Vec::new();
                for it in &x.items {
                    if !matches!(it.loc, Location::Query | Location::Body) {
                        continue;
                    }
                    let key = format!("{}.{}", it.loc.as_str(), it.name);
                    if seen.contains(&key) {
                        continue; // array elements: once per exchange
                    }
                    if !e.params.contains_key(&key) {
                        if e.params.len() >= cfg.max_params {
                            // evict a candidate that is not normal
                            let victim = e
                                .params
                                .iter()
                                .filter(|(_, p)| p.support.len() < cfg.min_support)
                                .min_by_key(|(k, p)| (p.support.len(), p.present, (*k).clone()))
                                .map(|(k, _)| k.clone());
                            match victim {
                                Some(v) => {
                                    e.params.remove(&v);
                                    e.params_dropped += 1;
                                }
                                None => {
                                    e.params_dropped += 1;
                                    continue;
                                }
                            }
                        }
                        e.params
                            .insert(key.clone(), ParamBase::new(it.loc, it.name.as_ref()));
                    }
                    let Some(p) = e.params.get_mut(&key) else {
                        continue;
                    };
                    p.present += 1;
                    if p.support.add(actor, cfg.min_support) && p.support.len() == cfg.min_support {
                        gen_bump = true;
                    }
                    if let Some(ts) = p.types.get_mut(it.ty as usize)
                        && ts.add(actor, cfg.min_support)
                        && ts.len() == cfg.min_support
                    {
                        gen_bump = true;
                    }
                    if !matches!(it.ty, ValueType::Object | ValueType::Array) {
                        p.len.add(it.text.len() as u64, actor, cfg.min_support);
                        learn_value(p, &it.name, &it.text, actor, cfg);
                    }
                    seen.push(key);
                }
                if !e.established
                    && e.actors.len() >= cfg.min_actors
                    && e.windows >= cfg.min_windows
                {
                    e.established = true;
                    e.established_ms = Some(now_ms);
                    gen_bump = true;
                }
            }
        }
        if gen_bump {
            self.generation += 1;
        }
        findings
    }

    /// Forgets an endpoint's baseline (after an API change): it is learned
    /// and established anew. Returns whether there was one.
    pub fn reset(&mut self, id: EndpointId) -> bool {
        let had = self.endpoints.remove(&id).is_some();
        if had {
            self.generation += 1;
        }
        had
    }

    /// The learned request schemas of established endpoints.
    pub fn learned_schemas(&self) -> Vec<LearnedSchema> {
        let ms = self.cfg.min_support;
        let mut out: Vec<LearnedSchema> = self
            .endpoints
            .values()
            .filter(|e| e.established)
            .map(|e| LearnedSchema {
                host: e.host.clone(),
                method: e.method.clone(),
                template: e.template.clone(),
                params: e
                    .params
                    .values()
                    .filter(|p| p.support.len() >= ms)
                    .map(|p| LearnedParam {
                        location: p.loc,
                        name: p.name.clone(),
                        types: p.normal_types(ms),
                        required: e.samples >= MIN_HIST && p.present >= e.samples,
                    })
                    .collect(),
            })
            .collect();
        out.sort_by(|a, b| {
            (&a.host, &a.template, &a.method).cmp(&(&b.host, &b.template, &b.method))
        });
        out
    }

    /// The baseline of one endpoint.
    pub fn view(&self, id: EndpointId) -> Option<BaselineView> {
        let e = self.endpoints.get(&id)?;
        let ms = self.cfg.min_support;
        Some(BaselineView {
            endpoint: id,
            host: e.host.clone(),
            method: e.method.clone(),
            template: e.template.clone(),
            established: e.established,
            established_ms: e.established_ms,
            actors: e.actors.len(),
            windows: e.windows,
            samples: e.samples,
            params: e
                .params
                .values()
                .map(|p| {
                    let normal = p.normal_types(ms);
                    BaselineParamView {
                        location: p.loc,
                        name: p.name.clone(),
                        actors: p.support.len(),
                        normal: p.support.len() >= ms,
                        types: ValueType::ALL
                            .into_iter()
                            .filter(|t| normal & t.bit() != 0)
                            .collect(),
                        required: e.samples >= MIN_HIST && p.present >= e.samples,
                        length_p995: p.len.quantile(Q_HIGH, ms),
                        values: if p.is_enum(ms) {
                            p.values
                                .iter()
                                .filter(|v| v.support.len() >= ms)
                                .map(|v| v.v.clone())
                                .collect()
                        } else {
                            Vec::new()
                        },
                    }
                })
                .collect(),
            response_size_p995: e.resp.quantile(Q_HIGH, ms),
            error_rate: e.err_ewma,
            expected_per_window: e.expected_rate(e.cur_window, self.window_ms),
        })
    }

    /// Every baseline, sorted by host, template, method.
    pub fn views(&self) -> Vec<BaselineView> {
        let mut v: Vec<BaselineView> = self
            .endpoints
            .keys()
            .filter_map(|id| self.view(*id))
            .collect();
        v.sort_by(|a, b| (&a.host, &a.template, &a.method).cmp(&(&b.host, &b.template, &b.method)));
        v
    }

    /// The whole state as JSON, for the store (current-window actor counts
    /// are not kept).
    pub fn to_snapshot(&self) -> serde_json::Value {
        let mut endpoints: Vec<(EndpointId, EndpointBase)> = self
            .endpoints
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        endpoints.sort_by_key(|(k, _)| *k);
        serde_json::to_value(Snapshot {
            format: SNAPSHOT_FORMAT,
            endpoints,
            evicted: self.evicted,
        })
        .unwrap_or(serde_json::Value::Null)
    }

    /// Restores baselines from [`Baselines::to_snapshot`] under `cfg`.
    pub fn from_snapshot(
        v: serde_json::Value,
        cfg: &BaselineConfig,
    ) -> Result<Baselines, CatalogError> {
        let snap: Snapshot =
            serde_json::from_value(v).map_err(|e| CatalogError::Snapshot(e.to_string()))?;
        if snap.format != SNAPSHOT_FORMAT {
            return Err(CatalogError::Snapshot(format!(
                "baseline format {} is not {SNAPSHOT_FORMAT}",
                snap.format
            )));
        }
        let mut b = cfg.build()?;
        for (id, mut e) in snap.endpoints.into_iter().take(cfg.max_endpoints) {
            e.rate_how.resize(168, 0.0);
            e.rate_how_seen.resize(168, 0);
            b.endpoints.insert(id, e);
        }
        b.evicted = snap.evicted;
        b.generation = 1;
        Ok(b)
    }
}

fn learn_value(p: &mut ParamBase, name: &str, v: &str, actor: u64, cfg: &BaselineConfig) {
    if p.values_overflow {
        return;
    }
    if !storable_value(name, v) {
        p.values_overflow = true;
        p.values = Vec::new();
        return;
    }
    p.value_total += 1;
    if let Some(s) = p.values.iter_mut().find(|s| s.v == v) {
        s.count += 1;
        s.support.add(actor, cfg.min_support);
        return;
    }
    if p.values.len() >= cfg.max_values {
        // make room by dropping the rarest value that is not normal
        let victim = p
            .values
            .iter()
            .enumerate()
            .filter(|(_, s)| s.support.len() < cfg.min_support)
            .min_by_key(|(_, s)| s.count)
            .map(|(i, _)| i);
        match victim {
            Some(i) => {
                p.values.swap_remove(i);
            }
            None => {
                p.values_overflow = true;
                p.values = Vec::new();
                return;
            }
        }
    }
    let mut support = Support::default();
    support.add(actor, cfg.min_support);
    p.values.push(ValueSeen {
        v: v.to_string(),
        count: 1,
        support,
    });
}

/// Whether a value of type `ty` fits the normal types `mask`. Textual
/// values (query, form) fit a string parameter whatever they look like.
pub(crate) fn type_fits(mask: u8, ty: ValueType, textual: bool) -> bool {
    if mask & ty.bit() != 0 {
        return true;
    }
    if ty == ValueType::Integer && mask & ValueType::Number.bit() != 0 {
        return true;
    }
    textual && mask & ValueType::String.bit() != 0
}

pub(crate) fn types_text(mask: u8) -> String {
    let v: Vec<&str> = ValueType::ALL
        .into_iter()
        .filter(|t| mask & t.bit() != 0)
        .map(ValueType::as_str)
        .collect();
    v.join(" or ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_cover_their_values() {
        let mut last = 0;
        for x in 0..5000u64 {
            let b = bucket_of(x);
            assert!(b >= last);
            last = b;
            assert!(bucket_upper(b) >= x, "{x} in {b} up to {}", bucket_upper(b));
            if b > 0 {
                assert!(bucket_upper(b - 1) < x);
            }
        }
    }

    #[test]
    fn windows_parse() {
        assert_eq!(parse_window("10m"), Some(600_000));
        assert_eq!(parse_window("500ms"), Some(500));
        assert_eq!(parse_window("1h"), Some(3_600_000));
        assert_eq!(parse_window("ten"), None);
        assert_eq!(parse_window("0s"), None);
    }

    #[test]
    fn only_code_like_values_are_kept() {
        assert!(storable_value("currency", "usd"));
        assert!(storable_value("status", "succeeded"));
        assert!(!storable_value("number", "4111111111111111"));
        assert!(!storable_value("password", "hunter2"));
        assert!(!storable_value("api_key", "abc"));
        assert!(!storable_value("first_name", "jane"));
        assert!(!storable_value("description", "two words"));
        assert!(!storable_value("id", "cus_9aK2xY12"));
        assert!(!storable_value("token", "Zx8KpQ2mN7vR4tY9wL3s"));
        assert!(!storable_value("email", "jane@example.com"));
        assert!(!storable_value("code", "123456"));
    }
}
