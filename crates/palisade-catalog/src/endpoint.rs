//! One endpoint's learned facts ([`Endpoint`], internal, bounded) and their
//! public rendering ([`EndpointView`]) with the posture score.
//!
//! Nothing here holds a raw value: samples are masked when recorded.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::auth::{AuthScheme, AuthSeen};
use crate::classify::DataClass;
use crate::extract::{Location, ValueType};

/// A stable id of an endpoint: a 64-bit FNV-1a hash of host, method and
/// template, shown as 16 hex digits. It changes when the template does (a
/// merge makes a new endpoint).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EndpointId(pub u64);

impl EndpointId {
    pub fn of(host: &str, method: &str, template: &str) -> EndpointId {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for part in [
            host.as_bytes(),
            b"\0",
            method.as_bytes(),
            b"\0",
            template.as_bytes(),
        ] {
            for b in part {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        EndpointId(h)
    }
}

impl fmt::Display for EndpointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}
impl fmt::Debug for EndpointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EndpointId({self})")
    }
}
impl std::str::FromStr for EndpointId {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        u64::from_str_radix(s, 16).map(EndpointId)
    }
}
impl Serialize for EndpointId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
impl<'de> Deserialize<'de> for EndpointId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Facts about one parameter of an endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Param {
    pub loc: Location,
    pub name: String,
    /// Bit set of [`ValueType`]s seen.
    pub types: u8,
    /// The string format, while every value had the same one.
    pub format: Option<String>,
    /// `true` once values disagreed on format.
    pub format_mixed: bool,
    pub count: u64,
    pub max_len: u32,
    pub example: String,
    /// Bit set of [`DataClass`]es seen.
    pub classes: u16,
    pub first_seen_ms: i64,
}

/// A sighting of a data class at one location.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DataSeen {
    pub class: DataClass,
    /// `response.card.number`, `query.email`, `path`.
    pub location: String,
    pub sample: String,
    pub count: u64,
    pub first_seen_ms: i64,
}

/// A drift tally.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DriftSeen {
    pub rule: String,
    pub location: String,
    pub message: String,
    pub count: u64,
    pub last_seen_ms: i64,
}

/// What the catalog knows of one endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Endpoint {
    pub host: String,
    pub method: String,
    pub template: String,
    pub object_ids: bool,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    pub requests: u64,
    pub status: BTreeMap<u16, u64>,
    pub req_ct: Vec<String>,
    pub resp_ct: Vec<String>,
    pub req_bytes: u64,
    pub req_bytes_max: u64,
    pub resp_bytes: u64,
    pub resp_bytes_max: u64,
    pub responses: u64,
    pub latency_us: u64,
    pub latency_max_us: u64,
    /// Latency histogram: bucket `i` counts totals below `2^(i+4)` µs.
    pub latency_hist: Vec<u64>,
    pub params: BTreeMap<String, Param>,
    pub params_dropped: u64,
    /// Requests per auth scheme (index by `AuthScheme as usize`).
    pub auth: Vec<u64>,
    /// Schemes that were accepted (the response was not 401/403 nor 5xx).
    pub auth_accepted: u8,
    pub unauth_success: u64,
    pub jwt_issuers: Vec<String>,
    pub jwt_algs: Vec<String>,
    pub data: BTreeMap<String, DataSeen>,
    pub data_dropped: u64,
    pub findings: u64,
    pub findings_high: u64,
    pub drift: BTreeMap<String, DriftSeen>,
}

pub(crate) const LAT_BUCKETS: usize = 24;

impl Endpoint {
    pub fn new(host: &str, method: &str, template: &str, object_ids: bool, now_ms: i64) -> Self {
        Endpoint {
            host: host.to_string(),
            method: method.to_string(),
            template: template.to_string(),
            object_ids,
            first_seen_ms: now_ms,
            last_seen_ms: now_ms,
            requests: 0,
            status: BTreeMap::new(),
            req_ct: Vec::new(),
            resp_ct: Vec::new(),
            req_bytes: 0,
            req_bytes_max: 0,
            resp_bytes: 0,
            resp_bytes_max: 0,
            responses: 0,
            latency_us: 0,
            latency_max_us: 0,
            latency_hist: vec![0; LAT_BUCKETS],
            params: BTreeMap::new(),
            params_dropped: 0,
            auth: vec![0; AuthScheme::ALL.len()],
            auth_accepted: 0,
            unauth_success: 0,
            jwt_issuers: Vec::new(),
            jwt_algs: Vec::new(),
            data: BTreeMap::new(),
            data_dropped: 0,
            findings: 0,
            findings_high: 0,
            drift: BTreeMap::new(),
        }
    }

    pub fn id(&self) -> EndpointId {
        EndpointId::of(&self.host, &self.method, &self.template)
    }

    pub fn record_auth(&mut self, seen: &AuthSeen, status: Option<u16>) {
        let accepted = status.is_none_or(|s| s < 400 || ((404..500).contains(&s) && s != 407));
        let ok = status.is_some_and(|s| (200..400).contains(&s));
        if seen.schemes.is_empty() {
            if let Some(c) = self.auth.get_mut(AuthScheme::None as usize) {
                *c += 1;
            }
            if ok {
                self.unauth_success += 1;
            }
        }
        for s in &seen.schemes {
            if let Some(c) = self.auth.get_mut(*s as usize) {
                *c += 1;
            }
        }
        if accepted && (!seen.schemes.is_empty() || ok) {
            self.auth_accepted |= seen.bits();
        }
        push_bounded(&mut self.jwt_issuers, seen.jwt_iss.as_deref(), 8);
        push_bounded(&mut self.jwt_algs, seen.jwt_alg.as_deref(), 8);
    }

    /// Folds another endpoint's facts into this one (templates merged).
    pub fn absorb(&mut self, o: Endpoint) {
        self.object_ids |= o.object_ids;
        self.first_seen_ms = self.first_seen_ms.min(o.first_seen_ms);
        self.last_seen_ms = self.last_seen_ms.max(o.last_seen_ms);
        let (r1, r2) = (self.requests, o.requests);
        self.requests += o.requests;
        for (k, v) in o.status {
            if self.status.len() < 48 || self.status.contains_key(&k) {
                *self.status.entry(k).or_default() += v;
            }
        }
        for c in o.req_ct {
            push_bounded(&mut self.req_ct, Some(&c), 8);
        }
        for c in o.resp_ct {
            push_bounded(&mut self.resp_ct, Some(&c), 8);
        }
        self.req_bytes = self.req_bytes.saturating_add(o.req_bytes);
        self.req_bytes_max = self.req_bytes_max.max(o.req_bytes_max);
        self.resp_bytes = self.resp_bytes.saturating_add(o.resp_bytes);
        self.resp_bytes_max = self.resp_bytes_max.max(o.resp_bytes_max);
        self.responses += o.responses;
        self.latency_us = self.latency_us.saturating_add(o.latency_us);
        self.latency_max_us = self.latency_max_us.max(o.latency_max_us);
        for (a, b) in self.latency_hist.iter_mut().zip(o.latency_hist) {
            *a += b;
        }
        for (k, p) in o.params {
            match self.params.get_mut(&k) {
                Some(mine) => {
                    mine.types |= p.types;
                    if mine.format != p.format {
                        mine.format_mixed = true;
                        mine.format = None;
                    }
                    mine.count += p.count;
                    mine.max_len = mine.max_len.max(p.max_len);
                    mine.classes |= p.classes;
                    mine.first_seen_ms = mine.first_seen_ms.min(p.first_seen_ms);
                }
                None => {
                    // a parameter present in only one side cannot be required
                    let mut p = p;
                    if r1 > 0 && p.count >= r2 {
                        p.count = r2;
                    }
                    self.params.insert(k, p);
                }
            }
        }
        self.params_dropped += o.params_dropped;
        for (a, b) in self.auth.iter_mut().zip(o.auth) {
            *a += b;
        }
        self.auth_accepted |= o.auth_accepted;
        self.unauth_success += o.unauth_success;
        for i in o.jwt_issuers {
            push_bounded(&mut self.jwt_issuers, Some(&i), 8);
        }
        for a in o.jwt_algs {
            push_bounded(&mut self.jwt_algs, Some(&a), 8);
        }
        for (k, d) in o.data {
            match self.data.get_mut(&k) {
                Some(mine) => mine.count += d.count,
                None => {
                    self.data.insert(k, d);
                }
            }
        }
        self.data_dropped += o.data_dropped;
        self.findings += o.findings;
        self.findings_high += o.findings_high;
        for (k, d) in o.drift {
            match self.drift.get_mut(&k) {
                Some(mine) => mine.count += d.count,
                None => {
                    self.drift.insert(k, d);
                }
            }
        }
    }

    pub fn approx_bytes(&self) -> usize {
        std::mem::size_of::<Endpoint>()
            + self.host.capacity()
            + self.method.capacity()
            + self.template.capacity()
            + self.status.len() * 40
            + self
                .req_ct
                .iter()
                .chain(&self.resp_ct)
                .map(|s| s.capacity() + 24)
                .sum::<usize>()
            + self.latency_hist.capacity() * 8
            + self
                .params
                .iter()
                .map(|(k, p)| {
                    k.capacity()
                        + std::mem::size_of::<Param>()
                        + p.name.capacity()
                        + p.example.capacity()
                        + p.format.as_ref().map_or(0, String::capacity)
                        + 48
                })
                .sum::<usize>()
            + self.auth.capacity() * 8
            + self
                .data
                .iter()
                .map(|(k, d)| {
                    k.capacity()
                        + d.location.capacity()
                        + d.sample.capacity()
                        + std::mem::size_of::<DataSeen>()
                        + 48
                })
                .sum::<usize>()
            + self
                .drift
                .iter()
                .map(|(k, d)| {
                    k.capacity()
                        + d.rule.capacity()
                        + d.location.capacity()
                        + d.message.capacity()
                        + std::mem::size_of::<DriftSeen>()
                        + 48
                })
                .sum::<usize>()
    }
}

pub(crate) fn push_bounded(v: &mut Vec<String>, s: Option<&str>, max: usize) {
    if let Some(s) = s
        && v.len() < max
        && !v.iter().any(|x| x == s)
    {
        v.push(s.to_string());
        v.sort();
    }
}

/// A parameter as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParamView {
    pub location: Location,
    pub name: String,
    /// JSON types seen, most specific first when several.
    pub types: Vec<ValueType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Present in every request of the endpoint (request side only).
    pub required: bool,
    pub count: u64,
    pub max_len: u32,
    /// A masked example value.
    pub example: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<DataClass>,
    pub first_seen_ms: i64,
}

/// A path variable as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathParamView {
    pub name: String,
    pub kind: crate::template::SegKind,
}

/// A data class sighting as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataView {
    pub class: DataClass,
    /// `request` or `response`.
    pub side: &'static str,
    pub location: String,
    pub sample: String,
    pub count: u64,
    pub first_seen_ms: i64,
}

/// Authentication facts as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuthView {
    /// Requests per scheme presented.
    pub schemes: BTreeMap<AuthScheme, u64>,
    /// Schemes with which requests were accepted.
    pub accepted: Vec<AuthScheme>,
    /// Requests without any credential that got a 2xx/3xx answer.
    pub unauthenticated_success: u64,
    pub jwt_issuers: Vec<String>,
    pub jwt_algs: Vec<String>,
}

/// A drift tally as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftView {
    pub rule: String,
    pub location: String,
    pub message: String,
    pub count: u64,
    pub last_seen_ms: i64,
}

/// One reason in a posture score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostureReason {
    /// `returns_card_data`, `returns_personal_data`, `returns_credentials`,
    /// `unauthenticated_success`, `shadow`, `zombie`, `object_id_in_path`,
    /// `accepts_card_data`, `credentials_in_query`, `attack_findings`, `drift`.
    pub code: &'static str,
    pub points: u32,
    pub detail: String,
}

/// The risk score of an endpoint: 0-100, the capped sum of its reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Posture {
    pub score: u32,
    pub reasons: Vec<PostureReason>,
}

/// Latency summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyView {
    pub avg_us: u64,
    /// Upper bound of the histogram bucket holding the 95th percentile.
    pub p95_us_le: u64,
    pub max_us: u64,
}

/// Sizes summary (bytes).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SizesView {
    pub request_avg: u64,
    pub request_max: u64,
    pub response_avg: u64,
    pub response_max: u64,
}

/// Everything the catalog says about one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointView {
    pub id: EndpointId,
    pub host: String,
    pub method: String,
    pub template: String,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    pub requests: u64,
    pub status: BTreeMap<u16, u64>,
    pub request_content_types: Vec<String>,
    pub response_content_types: Vec<String>,
    pub sizes: SizesView,
    pub latency: LatencyView,
    /// The template's variables with their kinds.
    pub path_params: Vec<PathParamView>,
    pub params: Vec<ParamView>,
    pub params_dropped: u64,
    pub auth: AuthView,
    pub data: Vec<DataView>,
    /// The declared operation it matches, when a spec is imported.
    pub declared: Option<String>,
    /// Not declared in the imported spec (always false without a spec).
    pub shadow: bool,
    /// Declared deprecated in the imported spec, yet called.
    pub zombie: bool,
    pub drift: Vec<DriftView>,
    pub findings: u64,
    pub posture: Posture,
}

fn types_of(bits: u8) -> Vec<ValueType> {
    ValueType::ALL
        .iter()
        .copied()
        .filter(|t| bits & t.bit() != 0)
        .collect()
}

pub(crate) fn classes_of(bits: u16) -> Vec<DataClass> {
    DataClass::ALL
        .iter()
        .copied()
        .filter(|c| bits & c.bit() != 0)
        .collect()
}

impl Endpoint {
    pub fn view(
        &self,
        declared: Option<&crate::spec::Operation>,
        spec_loaded: bool,
    ) -> EndpointView {
        let params: Vec<ParamView> = self
            .params
            .values()
            .map(|p| ParamView {
                location: p.loc,
                name: p.name.clone(),
                types: types_of(p.types),
                format: p.format.clone(),
                required: match p.loc {
                    Location::Path => true,
                    Location::Response => false,
                    _ => self.requests > 0 && p.count >= self.requests,
                },
                count: p.count,
                max_len: p.max_len,
                example: p.example.clone(),
                classes: classes_of(p.classes),
                first_seen_ms: p.first_seen_ms,
            })
            .collect();
        let data: Vec<DataView> = self
            .data
            .values()
            .map(|d| DataView {
                class: d.class,
                side: if d.location.starts_with("response") {
                    "response"
                } else {
                    "request"
                },
                location: d.location.clone(),
                sample: d.sample.clone(),
                count: d.count,
                first_seen_ms: d.first_seen_ms,
            })
            .collect();
        let auth = AuthView {
            schemes: AuthScheme::ALL
                .iter()
                .filter_map(|s| {
                    let n = self.auth.get(*s as usize).copied().unwrap_or(0);
                    (n > 0).then_some((*s, n))
                })
                .collect(),
            accepted: AuthScheme::ALL
                .iter()
                .copied()
                .filter(|s| self.auth_accepted & s.bit() != 0)
                .collect(),
            unauthenticated_success: self.unauth_success,
            jwt_issuers: self.jwt_issuers.clone(),
            jwt_algs: self.jwt_algs.clone(),
        };
        let shadow = spec_loaded && declared.is_none();
        let zombie = declared.is_some_and(|o| o.deprecated) && self.requests > 0;
        let drift: Vec<DriftView> = self
            .drift
            .values()
            .map(|d| DriftView {
                rule: d.rule.clone(),
                location: d.location.clone(),
                message: d.message.clone(),
                count: d.count,
                last_seen_ms: d.last_seen_ms,
            })
            .collect();
        let posture = self.posture(shadow, zombie, &data, &params);
        let p95 = {
            let total: u64 = self.latency_hist.iter().sum();
            let target = total - total / 20;
            let mut acc = 0;
            let mut le = 0;
            for (i, c) in self.latency_hist.iter().enumerate() {
                acc += c;
                if acc >= target && total > 0 {
                    le = 1u64 << (i + 4);
                    break;
                }
            }
            le
        };
        EndpointView {
            id: self.id(),
            host: self.host.clone(),
            method: self.method.clone(),
            template: self.template.clone(),
            first_seen_ms: self.first_seen_ms,
            last_seen_ms: self.last_seen_ms,
            requests: self.requests,
            status: self.status.clone(),
            request_content_types: self.req_ct.clone(),
            response_content_types: self.resp_ct.clone(),
            sizes: SizesView {
                request_avg: self.req_bytes.checked_div(self.requests).unwrap_or(0),
                request_max: self.req_bytes_max,
                response_avg: self.resp_bytes.checked_div(self.responses).unwrap_or(0),
                response_max: self.resp_bytes_max,
            },
            latency: LatencyView {
                avg_us: self.latency_us.checked_div(self.requests).unwrap_or(0),
                p95_us_le: p95,
                max_us: self.latency_max_us,
            },
            path_params: Vec::new(),
            params,
            params_dropped: self.params_dropped,
            auth,
            data,
            declared: declared.map(|o| {
                o.operation_id
                    .clone()
                    .unwrap_or_else(|| format!("{} {}", o.method, o.template))
            }),
            shadow,
            zombie,
            drift,
            findings: self.findings,
            posture,
        }
    }

    fn posture(
        &self,
        shadow: bool,
        zombie: bool,
        data: &[DataView],
        params: &[ParamView],
    ) -> Posture {
        let mut reasons = Vec::new();
        let mut add = |code: &'static str, points: u32, detail: String| {
            reasons.push(PostureReason {
                code,
                points,
                detail,
            });
        };
        let resp: Vec<&DataView> = data.iter().filter(|d| d.side == "response").collect();
        let req: Vec<&DataView> = data.iter().filter(|d| d.side == "request").collect();
        let list = |ds: &[&DataView], f: fn(DataClass) -> bool| -> Vec<String> {
            let mut v: Vec<String> = ds
                .iter()
                .filter(|d| f(d.class))
                .map(|d| format!("{} at {}", d.class.as_str(), d.location))
                .collect();
            v.dedup();
            v.truncate(4);
            v
        };
        let card_out = list(&resp, DataClass::is_card_data);
        if !card_out.is_empty() {
            add("returns_card_data", 30, card_out.join(", "));
        }
        let pii_out = list(&resp, DataClass::is_personal);
        if !pii_out.is_empty() {
            add("returns_personal_data", 15, pii_out.join(", "));
        }
        let cred_out = list(&resp, DataClass::is_credential);
        if !cred_out.is_empty() {
            add("returns_credentials", 10, cred_out.join(", "));
        }
        if self.unauth_success > 0 {
            add(
                "unauthenticated_success",
                25,
                format!(
                    "{} requests without credentials succeeded",
                    self.unauth_success
                ),
            );
        }
        if shadow {
            add("shadow", 15, "not declared in the imported spec".into());
        }
        if zombie {
            add("zombie", 15, "declared deprecated, still called".into());
        }
        if self.object_ids {
            add(
                "object_id_in_path",
                10,
                "the path names an object by id (check object-level authorisation)".into(),
            );
        }
        let card_in = list(&req, DataClass::is_card_data);
        if !card_in.is_empty() {
            add("accepts_card_data", 20, card_in.join(", "));
        }
        let creds_in_query: Vec<String> = params
            .iter()
            .filter(|p| {
                p.location == Location::Query && p.classes.iter().any(|c| c.is_credential())
            })
            .map(|p| format!("query.{}", p.name))
            .take(4)
            .collect();
        if !creds_in_query.is_empty() {
            add("credentials_in_query", 10, creds_in_query.join(", "));
        }
        if self.findings > 0 {
            let pts = if self.findings_high > 0 { 15 } else { 5 };
            add(
                "attack_findings",
                pts,
                format!(
                    "{} findings ({} high or critical) against it",
                    self.findings, self.findings_high
                ),
            );
        }
        if !self.drift.is_empty() {
            let n: u64 = self.drift.values().map(|d| d.count).sum();
            add(
                "drift",
                5,
                format!("{n} requests differ from the declared spec"),
            );
        }
        let score = reasons.iter().map(|r| r.points).sum::<u32>().min(100);
        Posture { score, reasons }
    }
}
