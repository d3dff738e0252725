//! [`Catalog`]: the runtime state, learning from exchanges.
//!
//! `observe` templates the path (rules first, then the declared spec, then
//! learning), finds or creates the endpoint, folds in the exchange's facts and
//! returns the change feed. Bounded by the config; deterministic (ordered maps,
//! no clock, no randomness).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use palisade_core::{Exchange, Finding, Phase, Severity};

use crate::CatalogError;
use crate::auth::{self, AuthScheme};
use crate::classify::{self, DataClass};
use crate::config::{CatalogConfig, Rule};
use crate::endpoint::{
    DataSeen, DriftSeen, Endpoint, EndpointId, EndpointView, LAT_BUCKETS, Param, push_bounded,
};
use crate::extract::{self, BodyKind, Extracted, Location, ValueType};
use crate::spec::{Operation, Spec, shape_of};
use crate::template::{Forced, Limits, Tree, segments};

/// Which endpoint a change is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointRef {
    pub endpoint: EndpointId,
    pub host: String,
    pub method: String,
    pub template: String,
}

/// An event of the change feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// An endpoint was seen for the first time.
    NewEndpoint {
        ts_ms: i64,
        #[serde(flatten)]
        at: EndpointRef,
    },
    /// A known endpoint got a parameter it never had.
    NewParameter {
        ts_ms: i64,
        #[serde(flatten)]
        at: EndpointRef,
        location: Location,
        name: String,
        ty: ValueType,
    },
    /// A data class appeared at a location of an endpoint for the first time.
    NewDataClass {
        ts_ms: i64,
        #[serde(flatten)]
        at: EndpointRef,
        class: DataClass,
        location: String,
        sample: String,
    },
    /// An established endpoint accepted a scheme it had not accepted before
    /// (including `none`: it answered without credentials).
    AuthChanged {
        ts_ms: i64,
        #[serde(flatten)]
        at: EndpointRef,
        from: Vec<AuthScheme>,
        to: Vec<AuthScheme>,
    },
    /// Endpoints were merged into one template (cardinality, rule or spec).
    EndpointsMerged {
        ts_ms: i64,
        #[serde(flatten)]
        at: EndpointRef,
        merged: Vec<String>,
    },
}

/// One line of a spec report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpecReportEntry {
    pub method: String,
    pub template: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<EndpointId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    pub requests: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen_ms: Option<i64>,
    /// For drift: the rule, location, message and count.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<crate::endpoint::DriftView>,
}

/// Observed traffic compared with the declared spec.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct SpecReport {
    pub spec: Option<String>,
    pub declared: usize,
    pub observed: usize,
    /// Observed, not declared.
    pub shadow: Vec<SpecReportEntry>,
    /// Declared deprecated, observed.
    pub zombie: Vec<SpecReportEntry>,
    /// Declared, never observed.
    pub unused: Vec<SpecReportEntry>,
    /// Observed and declared, with requests that differ from the declaration.
    pub drift: Vec<SpecReportEntry>,
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    format: u32,
    trees: BTreeMap<String, Tree>,
    endpoints: Vec<Endpoint>,
    spec: Option<Spec>,
    dropped: u64,
    ignored: u64,
}

const SNAPSHOT_FORMAT: u32 = 1;

/// The learned API catalog. See the crate documentation.
#[derive(Debug, Clone)]
pub struct Catalog {
    cfg: CatalogConfig,
    rules: Vec<Rule>,
    trees: BTreeMap<String, Tree>,
    endpoints: Vec<Endpoint>,
    index: HashMap<EndpointId, usize>,
    /// Declared operation per endpoint (parallel to `endpoints`).
    declared: Vec<Option<usize>>,
    spec: Option<Spec>,
    nodes: usize,
    /// Exchanges that would have created an endpoint beyond the limits.
    dropped: u64,
    /// Exchanges not learned from (404s, blocks) for unknown paths.
    ignored: u64,
    /// The endpoint the last `observe` filed its exchange under.
    last: Option<usize>,
}

/// Normalises a host: lower case, port and trailing dot removed; `""` when
/// unknown.
pub(crate) fn norm_host(h: Option<&str>) -> String {
    let Some(h) = h else { return String::new() };
    let h = h.trim();
    let h = if let Some(rest) = h.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        h.rsplit_once(':')
            .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
            .map_or(h, |(a, _)| a)
    };
    h.trim_end_matches('.').to_ascii_lowercase()
}

pub(crate) fn norm_method(m: &str) -> String {
    if !m.is_empty() && m.len() <= 16 && m.bytes().all(|b| b.is_ascii_alphabetic()) {
        m.to_ascii_uppercase()
    } else {
        "OTHER".to_string()
    }
}

pub(crate) fn sample_of(name: &str, class: Option<DataClass>, value: &str) -> String {
    match class {
        Some(c) => classify::mask_sample(c, value),
        None if palisade_core::sensitive::is_secret_key(name) => {
            palisade_core::sensitive::mask_secret(value)
        }
        None if classify::is_personal_key(name) => {
            format!("[personal:{}]", value.chars().count())
        }
        None => palisade_core::Masked::<palisade_core::masked::Text>::truncated(value, 48)
            .as_str()
            .to_string(),
    }
}

impl Catalog {
    pub(crate) fn new(cfg: CatalogConfig, rules: Vec<Rule>) -> Catalog {
        Catalog {
            cfg,
            rules,
            trees: BTreeMap::new(),
            endpoints: Vec::new(),
            index: HashMap::new(),
            declared: Vec::new(),
            spec: None,
            nodes: 0,
            dropped: 0,
            ignored: 0,
            last: None,
        }
    }

    fn limits(&self) -> Limits {
        Limits {
            string_cardinality: self.cfg.string_cardinality,
            value_cardinality: self.cfg.value_cardinality,
            max_nodes: self.cfg.max_nodes.saturating_sub(self.nodes),
            max_segments: self.cfg.max_segments,
        }
    }

    /// Forced pieces for a path: the most specific rule, else the declared
    /// template.
    fn forced(&self, host: &str, segs: &[&str]) -> Vec<Forced> {
        for r in &self.rules {
            if let Some(f) = r.forced(host, segs) {
                return f;
            }
        }
        if let Some(spec) = &self.spec
            && let Some(i) = spec.match_path(segs)
        {
            return spec.forced(i);
        }
        Vec::new()
    }

    /// The template fully determined by a rule or the declared spec for these
    /// segments (names as declared), when one is.
    fn forced_template(&self, host: &str, segs: &[&str]) -> Option<String> {
        template_from_forced(&self.forced(host, segs), segs)
    }

    /// The template an endpoint template maps to now (after the trees, the
    /// rules or the spec changed).
    fn current_template(&self, host: &str, template: &str) -> String {
        let segs: Vec<&str> = segments(template).collect();
        if let Some(t) = self.forced_template(host, &segs) {
            return t;
        }
        self.trees
            .get(host)
            .map_or_else(|| template.to_string(), |t| t.retemplate(template))
    }

    /// Number of endpoints; exchanges dropped at the limits; exchanges ignored
    /// (404/405/501 or blocked, for unknown paths).
    pub fn stats(&self) -> (usize, u64, u64) {
        (self.endpoints.len(), self.dropped, self.ignored)
    }

    /// Approximate heap bytes held (trees and endpoints).
    pub fn approx_heap_bytes(&self) -> usize {
        self.trees
            .iter()
            .map(|(k, t)| k.capacity() + t.root.approx_bytes())
            .sum::<usize>()
            + self
                .endpoints
                .iter()
                .map(Endpoint::approx_bytes)
                .sum::<usize>()
            + self.index.capacity() * 24
    }

    /// Learns from one exchange and returns the change feed it caused.
    pub fn observe(&mut self, ex: &Exchange, now_ms: i64) -> Vec<Change> {
        let mut changes = Vec::new();
        self.last = None;
        let host = norm_host(
            ex.request
                .host
                .as_deref()
                .or_else(|| ex.request.header("host")),
        );
        let method = norm_method(&ex.request.method);
        let path = ex.request.path();
        let status = ex.status();
        let blocked = ex.enforced && ex.verdict.is_stop();
        let learnable =
            self.cfg.learn_from_not_found || !(blocked || matches!(status, Some(404 | 405 | 501)));

        let idx = if learnable {
            let segs: Vec<&str> = segments(path).take(self.cfg.max_segments).collect();
            let forced = self.forced(&host, &segs);
            let lim = self.limits();
            let tree = self.trees.entry(host.clone()).or_default();
            let before = tree.nodes;
            let Some(learned) = tree.learn(path, &forced, lim) else {
                self.dropped += 1;
                return changes;
            };
            let after = tree.nodes;
            self.nodes = self.nodes.saturating_sub(before) + after;
            if learned.collapsed {
                self.retemplate_host(&host, now_ms, &mut changes);
            }
            let template = if forced.is_empty() {
                learned.template
            } else {
                template_from_forced(&forced, &segs).unwrap_or(learned.template)
            };
            let id = EndpointId::of(&host, &method, &template);
            match self.index.get(&id) {
                Some(i) => *i,
                None => {
                    if self.endpoints.len() >= self.cfg.max_endpoints {
                        self.dropped += 1;
                        return changes;
                    }
                    let e = Endpoint::new(&host, &method, &template, learned.object_ids, now_ms);
                    changes.push(Change::NewEndpoint {
                        ts_ms: now_ms,
                        at: self.ref_of(&e),
                    });
                    self.push_endpoint(e)
                }
            }
        } else {
            let Some(t) = self.template_of(Some(&host), path) else {
                self.ignored += 1;
                return changes;
            };
            match self.index.get(&EndpointId::of(&host, &method, &t)) {
                Some(i) => *i,
                None => {
                    self.ignored += 1;
                    return changes;
                }
            }
        };
        self.update(idx, ex, now_ms, &mut changes);
        self.last = Some(idx);
        changes
    }

    /// The endpoint the last [`Catalog::observe`] filed its exchange under
    /// (`None` when it was dropped or ignored).
    pub fn last_observed(&self) -> Option<crate::baseline::EndpointKey<'_>> {
        let e = self.endpoints.get(self.last?)?;
        Some(crate::baseline::EndpointKey {
            id: e.id(),
            host: &e.host,
            method: &e.method,
            template: &e.template,
        })
    }

    fn ref_of(&self, e: &Endpoint) -> EndpointRef {
        EndpointRef {
            endpoint: e.id(),
            host: e.host.clone(),
            method: e.method.clone(),
            template: e.template.clone(),
        }
    }

    fn push_endpoint(&mut self, e: Endpoint) -> usize {
        let i = self.endpoints.len();
        self.index.insert(e.id(), i);
        let decl = self
            .spec
            .as_ref()
            .and_then(|s| s.op_for_shape(&e.method, &shape_of(&e.template)));
        self.declared.push(decl);
        self.endpoints.push(e);
        i
    }

    /// Re-keys every endpoint (after the trees or the spec changed), merging
    /// endpoints whose templates became equal.
    fn rekey(
        &mut self,
        retemplate: impl Fn(&Self, &Endpoint) -> String,
        now_ms: i64,
        changes: &mut Vec<Change>,
    ) {
        self.last = None;
        let old = std::mem::take(&mut self.endpoints);
        self.index.clear();
        self.declared.clear();
        let mut merged: BTreeMap<EndpointId, Vec<String>> = BTreeMap::new();
        let mut staged: Vec<Endpoint> = Vec::with_capacity(old.len());
        let mut pos: HashMap<EndpointId, usize> = HashMap::new();
        for mut e in old {
            let t = retemplate(self, &e);
            if t != e.template {
                let from = std::mem::replace(&mut e.template, t);
                merged.entry(e.id()).or_default().push(from);
            }
            match pos.get(&e.id()) {
                Some(i) => {
                    if let Some(target) = staged.get_mut(*i) {
                        target.absorb(e);
                    }
                }
                None => {
                    pos.insert(e.id(), staged.len());
                    staged.push(e);
                }
            }
        }
        for e in staged {
            self.push_endpoint(e);
        }
        for (id, from) in merged {
            if let Some(i) = self.index.get(&id) {
                let at = self.ref_of(&self.endpoints[*i]);
                changes.push(Change::EndpointsMerged {
                    ts_ms: now_ms,
                    at,
                    merged: from,
                });
            }
        }
    }

    fn retemplate_host(&mut self, host: &str, now_ms: i64, changes: &mut Vec<Change>) {
        let h = host.to_string();
        self.rekey(
            move |c, e| {
                if e.host != h {
                    return e.template.clone();
                }
                c.current_template(&e.host, &e.template)
            },
            now_ms,
            changes,
        );
    }

    fn update(&mut self, idx: usize, ex: &Exchange, now_ms: i64, changes: &mut Vec<Change>) {
        let auth_seen = auth::detect(ex);
        let extracted = extract::extract(ex);
        let drift = match (
            self.spec.as_ref(),
            self.declared.get(idx).copied().flatten(),
        ) {
            (Some(spec), Some(op)) => spec
                .operations
                .get(op)
                .map(|o| drift_of(o, ex, &extracted))
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let max_params = self.cfg.max_params_per_endpoint;
        let max_data = self.cfg.max_data_per_endpoint;
        let baseline = self.cfg.auth_baseline_requests;
        let Some(e) = self.endpoints.get_mut(idx) else {
            return;
        };
        let established = e.requests > 0;
        e.requests += 1;
        e.last_seen_ms = e.last_seen_ms.max(now_ms);
        e.first_seen_ms = e.first_seen_ms.min(now_ms);
        let status = ex.status();
        if let Some(s) = status
            && (e.status.len() < 48 || e.status.contains_key(&s))
        {
            *e.status.entry(s).or_default() += 1;
        }
        push_bounded(&mut e.req_ct, extracted.req_ct.as_deref(), 8);
        push_bounded(&mut e.resp_ct, extracted.resp_ct.as_deref(), 8);
        let rq = ex.request.body.size;
        e.req_bytes = e.req_bytes.saturating_add(rq);
        e.req_bytes_max = e.req_bytes_max.max(rq);
        if let Some(r) = &ex.response {
            e.responses += 1;
            e.resp_bytes = e.resp_bytes.saturating_add(r.body.size);
            e.resp_bytes_max = e.resp_bytes_max.max(r.body.size);
        }
        let lat = ex.timings.total_us;
        e.latency_us = e.latency_us.saturating_add(lat);
        e.latency_max_us = e.latency_max_us.max(lat);
        let bucket = (64 - (lat >> 4).leading_zeros() as usize).min(LAT_BUCKETS - 1);
        if let Some(b) = e.latency_hist.get_mut(bucket) {
            *b += 1;
        }

        // auth
        let before = e.auth_accepted;
        e.record_auth(&auth_seen, status);
        let gained = e.auth_accepted & !before;
        if gained != 0 && e.requests > baseline {
            let set = |bits: u8| -> Vec<AuthScheme> {
                AuthScheme::ALL
                    .iter()
                    .copied()
                    .filter(|s| bits & s.bit() != 0)
                    .collect()
            };
            changes.push(Change::AuthChanged {
                ts_ms: now_ms,
                at: ref_of(e),
                from: set(before),
                to: set(e.auth_accepted),
            });
        }

        // findings from the inline path
        if !ex.findings.is_empty() {
            e.findings += ex.findings.len() as u64;
            if ex.findings.iter().any(|f| f.severity >= Severity::High) {
                e.findings_high += 1;
            }
        }

        // path values: data classes only (types are the template's)
        for seg in segments(ex.request.path()).take(16) {
            if seg.len() >= 6 {
                let decoded: std::borrow::Cow<'_, str> = if seg.contains("%40") {
                    seg.replace("%40", "@").into()
                } else {
                    seg.into()
                };
                if let Some(class) = classify::classify_value(None, &decoded) {
                    note_data(
                        e,
                        class,
                        "path",
                        seg,
                        now_ms,
                        max_data,
                        changes,
                        established,
                    );
                }
            }
        }

        // parameters
        let mut key = String::with_capacity(64);
        for it in &extracted.items {
            key.clear();
            key.push_str(it.loc.as_str());
            key.push('.');
            key.push_str(&it.name);
            let class = if it.ty == ValueType::String
                || it.ty == ValueType::Integer
                || it.loc != Location::Body
            {
                classify::classify_value(Some(&it.name), &it.text)
            } else {
                None
            };
            match e.params.get_mut(key.as_str()) {
                Some(p) => {
                    p.count += 1;
                    p.types |= it.ty.bit();
                    p.max_len = p.max_len.max(it.text.len().min(u32::MAX as usize) as u32);
                    if !p.format_mixed && it.ty == ValueType::String {
                        let f = extract::string_format(&it.text);
                        if p.format.as_deref() != f {
                            p.format_mixed = true;
                            p.format = None;
                        }
                    }
                    if let Some(c) = class
                        && p.classes & c.bit() == 0
                    {
                        p.classes |= c.bit();
                        p.example = sample_of(&it.name, Some(c), &it.text);
                    }
                }
                None => {
                    if e.params.len() >= max_params {
                        e.params_dropped += 1;
                    } else {
                        let format = if it.ty == ValueType::String {
                            extract::string_format(&it.text).map(str::to_string)
                        } else {
                            None
                        };
                        e.params.insert(
                            key.clone(),
                            Param {
                                loc: it.loc,
                                name: it.name.to_string(),
                                types: it.ty.bit(),
                                format,
                                format_mixed: false,
                                count: 1,
                                max_len: it.text.len().min(u32::MAX as usize) as u32,
                                example: sample_of(&it.name, class, &it.text),
                                classes: class.map_or(0, DataClass::bit),
                                first_seen_ms: now_ms,
                            },
                        );
                        if established && it.loc != Location::Response {
                            changes.push(Change::NewParameter {
                                ts_ms: now_ms,
                                at: ref_of(e),
                                location: it.loc,
                                name: it.name.to_string(),
                                ty: it.ty,
                            });
                        }
                    }
                }
            }
            if let Some(c) = class {
                note_data(e, c, &key, &it.text, now_ms, max_data, changes, true);
            }
        }

        // drift
        for f in drift {
            let k = format!("{}|{}", f.rule_id, f.location);
            let full = e.drift.len() >= 32;
            match e.drift.get_mut(&k) {
                Some(d) => {
                    d.count += 1;
                    d.last_seen_ms = now_ms;
                }
                None if !full => {
                    e.drift.insert(
                        k,
                        DriftSeen {
                            rule: f.rule_id,
                            location: f.location,
                            message: f.message,
                            count: 1,
                            last_seen_ms: now_ms,
                        },
                    );
                }
                None => {}
            }
        }
    }

    /// The endpoint a request would be counted under, without learning.
    pub fn endpoint_for(&self, host: Option<&str>, method: &str, path: &str) -> Option<EndpointId> {
        let host = norm_host(host);
        let t = self.template_of(Some(&host), path)?;
        let id = EndpointId::of(&host, &norm_method(method), &t);
        self.index.contains_key(&id).then_some(id)
    }

    /// The template a path maps to on a host, without learning.
    pub fn template_of(&self, host: Option<&str>, path: &str) -> Option<String> {
        let host = norm_host(host);
        let segs: Vec<&str> = segments(path).take(self.cfg.max_segments).collect();
        if let Some(t) = self.forced_template(&host, &segs) {
            return Some(t);
        }
        self.trees.get(&host)?.lookup(path, self.cfg.max_segments)
    }

    /// Every endpoint, sorted by host, template, method.
    pub fn endpoints(&self) -> Vec<EndpointView> {
        let mut v: Vec<EndpointView> = (0..self.endpoints.len())
            .filter_map(|i| self.view(i))
            .collect();
        v.sort_by(|a, b| (&a.host, &a.template, &a.method).cmp(&(&b.host, &b.template, &b.method)));
        v
    }

    fn view(&self, i: usize) -> Option<EndpointView> {
        let e = self.endpoints.get(i)?;
        let op = self.declared_op(i);
        let mut v = e.view(op, self.spec.is_some());
        v.path_params = self
            .trees
            .get(&e.host)
            .map(|t| t.var_kinds(&e.template))
            .unwrap_or_default()
            .into_iter()
            .map(|(name, kind)| crate::endpoint::PathParamView { name, kind })
            .collect();
        Some(v)
    }

    fn declared_op(&self, i: usize) -> Option<&Operation> {
        let spec = self.spec.as_ref()?;
        spec.operations
            .get(self.declared.get(i).copied().flatten()?)
    }

    pub fn endpoint(&self, id: EndpointId) -> Option<EndpointView> {
        self.view(*self.index.get(&id)?)
    }

    /// The imported spec, if any.
    pub fn spec(&self) -> Option<&Spec> {
        self.spec.as_ref()
    }

    /// Sets the declared spec (for every host). Observed endpoints are
    /// matched to it; those whose template the spec declares with variables
    /// where learning kept literals are merged into the declared template, and
    /// learned variable names give way to the declared ones. Returns the
    /// `endpoints_merged` events (merges and renames).
    pub fn import_spec(&mut self, spec: Spec) -> Vec<Change> {
        // the trees follow the declared templates: literals pinned, learned
        // literals at declared variable positions merged into the variable
        let pieces: Vec<Vec<Forced>> = (0..spec.operations.len()).map(|i| spec.forced(i)).collect();
        for tree in self.trees.values_mut() {
            for p in &pieces {
                tree.apply_declared(p, false);
            }
            for p in &pieces {
                tree.apply_declared(p, true);
            }
        }
        self.nodes = self.trees.values().map(|t| t.nodes).sum();
        self.spec = Some(spec);
        let mut changes = Vec::new();
        // import has no clock: events carry the latest time the catalog saw
        let ts = self
            .endpoints
            .iter()
            .map(|e| e.last_seen_ms)
            .max()
            .unwrap_or(0);
        self.rekey(
            |c, e| c.current_template(&e.host, &e.template),
            ts,
            &mut changes,
        );
        changes
    }

    /// Drift findings (kind `drift`) of one exchange against the declared
    /// spec: undeclared parameters, missing required ones, type mismatches,
    /// undeclared content types and status codes. Empty without a spec or when
    /// the request matches no declared operation (that is shadow, not drift).
    pub fn check_against_spec(&self, ex: &Exchange) -> Vec<Finding> {
        let Some(spec) = &self.spec else {
            return Vec::new();
        };
        let method = norm_method(&ex.request.method);
        let Some(op) = spec.operation_for(&method, ex.request.path()) else {
            return Vec::new();
        };
        let extracted = extract::extract(ex);
        drift_of(op, ex, &extracted)
    }

    /// Observed traffic against the declared spec.
    pub fn spec_report(&self) -> SpecReport {
        let Some(spec) = &self.spec else {
            return SpecReport {
                observed: self.endpoints.len(),
                ..Default::default()
            };
        };
        let mut rep = SpecReport {
            spec: Some(spec.origin.clone()),
            declared: spec.operations.len(),
            observed: self.endpoints.len(),
            ..Default::default()
        };
        let mut used = vec![0u64; spec.operations.len()];
        let mut last = vec![None; spec.operations.len()];
        let mut order: Vec<usize> = (0..self.endpoints.len()).collect();
        order.sort_by(|a, b| {
            let (x, y) = (&self.endpoints[*a], &self.endpoints[*b]);
            (&x.host, &x.template, &x.method).cmp(&(&y.host, &y.template, &y.method))
        });
        for i in order {
            let e = &self.endpoints[i];
            let entry = |op: Option<&Operation>| SpecReportEntry {
                method: e.method.clone(),
                template: e.template.clone(),
                host: Some(e.host.clone()),
                endpoint: Some(e.id()),
                operation_id: op.and_then(|o| o.operation_id.clone()),
                requests: e.requests,
                last_seen_ms: Some(e.last_seen_ms),
                drift: Vec::new(),
            };
            match self.declared.get(i).copied().flatten() {
                None => rep.shadow.push(entry(None)),
                Some(oi) => {
                    let op = spec.operations.get(oi);
                    if let Some(u) = used.get_mut(oi) {
                        *u += e.requests;
                    }
                    if let Some(l) = last.get_mut(oi) {
                        *l = Some(e.last_seen_ms.max(l.unwrap_or(i64::MIN)));
                    }
                    if op.is_some_and(|o| o.deprecated) {
                        rep.zombie.push(entry(op));
                    }
                    if !e.drift.is_empty() {
                        let mut en = entry(op);
                        en.drift = e.view(op, true).drift;
                        rep.drift.push(en);
                    }
                }
            }
        }
        for (oi, op) in spec.operations.iter().enumerate() {
            if used.get(oi).copied().unwrap_or(0) == 0 {
                rep.unused.push(SpecReportEntry {
                    method: op.method.clone(),
                    template: op.template.clone(),
                    host: None,
                    endpoint: None,
                    operation_id: op.operation_id.clone(),
                    requests: 0,
                    last_seen_ms: last.get(oi).copied().flatten(),
                    drift: Vec::new(),
                });
            }
        }
        rep
    }

    /// The learned catalog as an OpenAPI 3.0.3 document.
    pub fn export_openapi(&self) -> serde_json::Value {
        crate::export::export(&self.endpoints())
    }

    /// The whole state as JSON, for the store.
    pub fn to_snapshot(&self) -> serde_json::Value {
        let snap = Snapshot {
            format: SNAPSHOT_FORMAT,
            trees: self.trees.clone(),
            endpoints: self.endpoints.clone(),
            spec: self.spec.clone(),
            dropped: self.dropped,
            ignored: self.ignored,
        };
        serde_json::to_value(&snap).unwrap_or(serde_json::Value::Null)
    }

    /// Restores a catalog from [`Catalog::to_snapshot`] under `cfg`.
    pub fn from_snapshot(
        v: serde_json::Value,
        cfg: &CatalogConfig,
    ) -> Result<Catalog, CatalogError> {
        let snap: Snapshot =
            serde_json::from_value(v).map_err(|e| CatalogError::Snapshot(e.to_string()))?;
        if snap.format != SNAPSHOT_FORMAT {
            return Err(CatalogError::Snapshot(format!(
                "format {} is not {SNAPSHOT_FORMAT}",
                snap.format
            )));
        }
        let mut c = cfg.build()?;
        c.trees = snap.trees;
        c.nodes = c.trees.values().map(|t| t.nodes).sum();
        c.spec = snap.spec.map(|mut s| {
            s.reindex();
            s
        });
        c.dropped = snap.dropped;
        c.ignored = snap.ignored;
        for mut e in snap.endpoints {
            e.latency_hist.resize(LAT_BUCKETS, 0);
            e.auth.resize(AuthScheme::ALL.len(), 0);
            if c.index.contains_key(&e.id()) {
                return Err(CatalogError::Snapshot(format!(
                    "duplicate endpoint {} {} {}",
                    e.host, e.method, e.template
                )));
            }
            c.push_endpoint(e);
        }
        Ok(c)
    }
}

/// The template fully determined by forced pieces, when they cover every
/// segment.
fn template_from_forced(forced: &[Forced], segs: &[&str]) -> Option<String> {
    if forced.is_empty()
        || forced.len() != segs.len()
        || forced.iter().any(|f| matches!(f, Forced::Free))
    {
        return None;
    }
    let mut out = String::new();
    let mut used: Vec<String> = Vec::new();
    for (f, seg) in forced.iter().zip(segs) {
        match f {
            Forced::Var(name) => {
                let mut n = name.clone();
                let mut i = 2;
                while used.contains(&n) {
                    n = format!("{name}{i}");
                    i += 1;
                }
                out.push_str("/{");
                out.push_str(&n);
                out.push('}');
                used.push(n);
            }
            _ => {
                out.push('/');
                out.push_str(seg);
            }
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    Some(out)
}

fn ref_of(e: &Endpoint) -> EndpointRef {
    EndpointRef {
        endpoint: e.id(),
        host: e.host.clone(),
        method: e.method.clone(),
        template: e.template.clone(),
    }
}

#[allow(clippy::too_many_arguments)]
fn note_data(
    e: &mut Endpoint,
    class: DataClass,
    location: &str,
    value: &str,
    now_ms: i64,
    max: usize,
    changes: &mut Vec<Change>,
    report: bool,
) {
    let key = format!("{}@{location}", class.as_str());
    if let Some(d) = e.data.get_mut(&key) {
        d.count += 1;
        return;
    }
    if e.data.len() >= max {
        e.data_dropped += 1;
        return;
    }
    let sample = classify::mask_sample(class, value);
    let new_class = !e.data.values().any(|d| {
        d.class == class && d.location.starts_with("response") == location.starts_with("response")
    });
    if new_class && report {
        changes.push(Change::NewDataClass {
            ts_ms: now_ms,
            at: ref_of(e),
            class,
            location: location.to_string(),
            sample: sample.clone(),
        });
    }
    e.data.insert(
        key,
        DataSeen {
            class,
            location: location.to_string(),
            sample,
            count: 1,
            first_seen_ms: now_ms,
        },
    );
}

fn type_fits(declared: &str, ty: ValueType, loc: Location) -> bool {
    let textual = matches!(loc, Location::Query | Location::Header | Location::Path);
    match declared {
        "integer" => ty == ValueType::Integer,
        "number" => matches!(ty, ValueType::Integer | ValueType::Number),
        "boolean" => ty == ValueType::Boolean,
        "string" => ty == ValueType::String || textual || ty == ValueType::Null,
        "array" => ty == ValueType::Array || textual,
        "object" => ty == ValueType::Object || textual,
        _ => true,
    }
}

fn drift_finding(rule: &str, location: &str, message: String) -> Finding {
    Finding::new("drift", &format!("catalog.drift.{rule}"), location)
        .severity(Severity::Low)
        .confidence(90)
        .phase(Phase::Probing)
        .score(1)
        .message(message)
}

/// Drift of one exchange against its declared operation.
pub(crate) fn drift_of(op: &Operation, ex: &Exchange, x: &Extracted<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    // query and header parameters
    for loc in [Location::Query, Location::Header] {
        let declared: Vec<&crate::spec::SpecParam> =
            op.params.iter().filter(|p| p.location == loc).collect();
        for it in x.items.iter().filter(|i| i.loc == loc) {
            let base = it.name.split(['.', '[']).next().unwrap_or(&it.name);
            match declared
                .iter()
                .find(|p| p.name == it.name || p.name == base)
            {
                None if loc == Location::Query => out.push(drift_finding(
                    "unknown_parameter",
                    &format!("query.{}", it.name),
                    format!("query parameter `{}` is not declared", it.name),
                )),
                Some(p) => {
                    if let Some(t) = &p.ty
                        && p.name == it.name
                        && !type_fits(t, it.ty, loc)
                    {
                        out.push(drift_finding(
                            "type_mismatch",
                            &format!("{}.{}", loc.as_str(), it.name),
                            format!("`{}` is declared {t}, got {}", it.name, it.ty.as_str()),
                        ));
                    }
                }
                None => {}
            }
        }
        for p in declared.iter().filter(|p| p.required) {
            let present = x.items.iter().any(|i| {
                i.loc == loc
                    && (i.name == p.name || i.name.split(['.', '[']).next() == Some(&p.name))
            });
            if !present {
                out.push(drift_finding(
                    "missing_required",
                    &format!("{}.{}", loc.as_str(), p.name),
                    format!(
                        "required {} parameter `{}` is missing",
                        loc.as_str(),
                        p.name
                    ),
                ));
            }
        }
    }
    // body
    let kind = x.body_kind.unwrap_or(BodyKind::None);
    match (&op.body, kind) {
        (None, BodyKind::Json | BodyKind::Form | BodyKind::Other) => out.push(drift_finding(
            "unexpected_body",
            "body",
            "a body was sent where none is declared".to_string(),
        )),
        (Some(b), BodyKind::None) if b.required => out.push(drift_finding(
            "missing_body",
            "body",
            "the required body is missing".to_string(),
        )),
        (Some(b), k) if k != BodyKind::None => {
            if let Some(ct) = &x.req_ct
                && !b.content_types.is_empty()
                && !b.content_types.iter().any(|d| {
                    d == ct
                        || d == "*/*"
                        || (d.ends_with("/*") && ct.starts_with(d.trim_end_matches('*')))
                })
            {
                out.push(drift_finding(
                    "content_type",
                    "header.content-type",
                    format!("content type `{ct}` is not declared"),
                ));
            }
            if matches!(k, BodyKind::Json | BodyKind::Form) {
                let top: Vec<&extract::Item<'_>> = x
                    .items
                    .iter()
                    .filter(|i| i.loc == Location::Body && !i.name.contains(['.', '[']))
                    .collect();
                if !b.open {
                    for it in &top {
                        if !b.properties.iter().any(|p| p.name == it.name) {
                            out.push(drift_finding(
                                "unknown_parameter",
                                &format!("body.{}", it.name),
                                format!("body member `{}` is not declared", it.name),
                            ));
                        }
                    }
                }
                for p in &b.properties {
                    let got = top.iter().find(|i| i.name == p.name);
                    match got {
                        None if p.required => out.push(drift_finding(
                            "missing_required",
                            &format!("body.{}", p.name),
                            format!("required body member `{}` is missing", p.name),
                        )),
                        Some(it) => {
                            if let Some(t) = &p.ty
                                && !type_fits(
                                    t,
                                    it.ty,
                                    if k == BodyKind::Form {
                                        Location::Query
                                    } else {
                                        Location::Body
                                    },
                                )
                            {
                                out.push(drift_finding(
                                    "type_mismatch",
                                    &format!("body.{}", p.name),
                                    format!("`{}` is declared {t}, got {}", p.name, it.ty.as_str()),
                                ));
                            }
                        }
                        None => {}
                    }
                }
            }
        }
        _ => {}
    }
    // response status
    if let Some(s) = ex.status()
        && !op.responses.is_empty()
    {
        let code = s.to_string();
        let class = format!("{}XX", s / 100);
        let declared = op
            .responses
            .iter()
            .any(|r| r == &code || r.eq_ignore_ascii_case(&class) || r == "default");
        if !declared {
            out.push(drift_finding(
                "undeclared_status",
                "response.status",
                format!("status {s} is not declared"),
            ));
        }
    }
    out.truncate(16);
    out
}
