//! Schema enforcement: [`SchemaConfig`] (`[schema]`) and the compiled
//! [`SchemaSnapshot`] the gateway checks requests against inline.
//!
//! Analysis builds a snapshot from the declared spec and the learned
//! baselines of established endpoints ([`crate::Baselines::learned_schemas`])
//! and publishes it (arc-swap); the inline check reads it without waiting.
//! Matching is a lookup by segment count and first segment, then a short scan
//! of precompiled templates; only a matched endpoint whose mode is not `off`
//! has its query and body extracted.
//!
//! Checks (the same semantics as the spec drift of `check_against_spec`):
//! a value of a type the schema does not allow (`schema.type_mismatch`), a
//! required parameter absent (`schema.missing_required`), a parameter the
//! schema does not know when it is closed (`schema.unknown_parameter`), and
//! for declared operations the body's presence and content type
//! (`schema.unexpected_body`, `schema.missing_body`, `schema.content_type`).
//! A declared spec is closed for query parameters and for body members under
//! `additionalProperties: false`; a learned schema is closed for both (only
//! normal parameters are known).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use palisade_core::{Exchange, Finding, Phase, Severity, Verdict};

use crate::baseline::{LearnedSchema, type_fits, types_text};
use crate::extract::{self, BodyKind, Location, ValueType};
use crate::spec::{Spec, SpecSeg, parse_segs, shape_of};

/// What schema enforcement does on an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SchemaMode {
    /// No check.
    Off,
    /// Violations become findings; the request goes on.
    #[default]
    Log,
    /// Violations become findings and the request is blocked (403) where the
    /// route enforces (route mode `block`).
    Block,
}

/// Which schema an endpoint is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SchemaSource {
    /// The declared OpenAPI spec only.
    Spec,
    /// The learned baseline only (established endpoints).
    Learned,
    /// The declared operation where there is one, else the learned baseline.
    #[default]
    Both,
}

/// `[schema]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SchemaConfig {
    /// The mode of every endpoint without an override.
    pub mode: SchemaMode,
    pub source: SchemaSource,
    /// Per-endpoint modes: `"POST /api/v1/charges" = "block"`. Templates
    /// match by method and shape (variable names do not matter).
    pub endpoints: BTreeMap<String, SchemaMode>,
}

fn parse_endpoint_key(k: &str) -> Result<(String, String), String> {
    let Some((m, p)) = k.trim().split_once(' ') else {
        return Err(format!(
            "`{k}` is not \"METHOD /path\" (for example \"POST /api/v1/charges\")"
        ));
    };
    let p = p.trim();
    if m.is_empty() || m.len() > 16 || !m.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(format!("`{k}`: `{m}` is not an HTTP method"));
    }
    if !p.starts_with('/') || p.contains(char::is_whitespace) || p.contains(['?', '#']) {
        return Err(format!(
            "`{k}`: `{p}` is not a path template starting with `/` (no query)"
        ));
    }
    for seg in p.split('/') {
        let open = seg.matches('{').count();
        let close = seg.matches('}').count();
        if open != close || open > 1 {
            return Err(format!("`{k}`: segment `{seg}` has unbalanced braces"));
        }
    }
    Ok((m.to_ascii_uppercase(), shape_of(p)))
}

impl SchemaConfig {
    /// Every problem, as `(endpoint key, message)`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut seen: HashMap<(String, String), &str> = HashMap::new();
        for k in self.endpoints.keys() {
            match parse_endpoint_key(k) {
                Err(m) => out.push((k.clone(), m)),
                Ok(key) => {
                    if let Some(prev) = seen.insert(key, k) {
                        out.push((
                            k.clone(),
                            format!("`{k}` names the same endpoint as `{prev}`"),
                        ));
                    }
                }
            }
        }
        out
    }

    fn overrides(&self) -> HashMap<(String, String), SchemaMode> {
        self.endpoints
            .iter()
            .filter_map(|(k, m)| parse_endpoint_key(k).ok().map(|key| (key, *m)))
            .collect()
    }

    /// Whether any endpoint can be checked.
    pub fn any_on(&self) -> bool {
        self.mode != SchemaMode::Off || self.endpoints.values().any(|m| *m != SchemaMode::Off)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Spec,
    Learned,
}

#[derive(Debug, Clone)]
struct Rule {
    /// Allowed types (bits of `ValueType`); 0 = any.
    types: u8,
    /// The declared type name, for messages.
    declared: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Closed {
    No,
    /// Only top-level members are checked (a declared body).
    TopLevel,
    /// Every flattened name (a learned body).
    All,
}

#[derive(Debug, Clone)]
struct BodyRule {
    declared: bool,
    required: bool,
    content_types: Vec<String>,
}

#[derive(Debug, Clone)]
struct Compiled {
    origin: Origin,
    host: Option<String>,
    method: String,
    template: String,
    segs: Vec<SpecSeg>,
    literals: usize,
    mode: SchemaMode,
    query: HashMap<String, Rule>,
    header: HashMap<String, Rule>,
    body: HashMap<String, Rule>,
    query_closed: bool,
    body_closed: Closed,
    /// Query names match their base (`filter` for `filter.status`).
    base_names: bool,
    required: Vec<(Location, String)>,
    body_rule: Option<BodyRule>,
}

fn declared_mask(t: Option<&str>) -> u8 {
    let b = |t: ValueType| t.bit();
    match t {
        Some("integer") => b(ValueType::Integer),
        Some("number") => b(ValueType::Integer) | b(ValueType::Number),
        Some("boolean") => b(ValueType::Boolean),
        Some("string") => b(ValueType::String) | b(ValueType::Null),
        Some("array") => b(ValueType::Array),
        Some("object") => b(ValueType::Object),
        _ => 0,
    }
}

fn literals(segs: &[SpecSeg]) -> usize {
    segs.iter().filter(|s| matches!(s, SpecSeg::Lit(_))).count()
}

/// The compiled schema of every checked endpoint. See the module docs.
#[derive(Debug, Clone, Default)]
pub struct SchemaSnapshot {
    any_on: bool,
    ops: Vec<Compiled>,
    /// By segment count: first literal segment (`""` for a variable) to
    /// operation indices.
    index: Vec<HashMap<String, Vec<u32>>>,
}

/// Most segments of a checked path.
const MAX_SEGS: usize = 16;
/// Findings per request.
const MAX_FINDINGS: usize = 8;

impl SchemaSnapshot {
    /// A snapshot that checks nothing.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Compiles the schema of every endpoint the config can check.
    pub fn build(cfg: &SchemaConfig, spec: Option<&Spec>, learned: &[LearnedSchema]) -> Self {
        let mut snap = SchemaSnapshot {
            any_on: cfg.any_on(),
            ..Default::default()
        };
        if !snap.any_on {
            return snap;
        }
        let overrides = cfg.overrides();
        let mode_of = |method: &str, template: &str| {
            overrides
                .get(&(method.to_string(), shape_of(template)))
                .copied()
                .unwrap_or(cfg.mode)
        };
        if matches!(cfg.source, SchemaSource::Spec | SchemaSource::Both)
            && let Some(spec) = spec
        {
            for op in &spec.operations {
                let mode = mode_of(&op.method, &op.template);
                if mode == SchemaMode::Off {
                    continue;
                }
                let segs = parse_segs(&op.template);
                let mut c = Compiled {
                    origin: Origin::Spec,
                    host: None,
                    method: op.method.clone(),
                    template: op.template.clone(),
                    literals: literals(&segs),
                    segs,
                    mode,
                    query: HashMap::new(),
                    header: HashMap::new(),
                    body: HashMap::new(),
                    query_closed: true,
                    body_closed: Closed::No,
                    base_names: true,
                    required: Vec::new(),
                    body_rule: None,
                };
                for p in &op.params {
                    let rule = Rule {
                        types: declared_mask(p.ty.as_deref()),
                        declared: p.ty.clone(),
                    };
                    match p.location {
                        Location::Query => {
                            c.query.insert(p.name.clone(), rule);
                        }
                        Location::Header => {
                            c.header.insert(p.name.clone(), rule);
                        }
                        _ => continue,
                    }
                    if p.required {
                        c.required.push((p.location, p.name.clone()));
                    }
                }
                match &op.body {
                    None => {
                        c.body_rule = Some(BodyRule {
                            declared: false,
                            required: false,
                            content_types: Vec::new(),
                        })
                    }
                    Some(b) => {
                        c.body_rule = Some(BodyRule {
                            declared: true,
                            required: b.required,
                            content_types: b.content_types.clone(),
                        });
                        c.body_closed = if b.open { Closed::No } else { Closed::TopLevel };
                        for p in &b.properties {
                            c.body.insert(
                                p.name.clone(),
                                Rule {
                                    types: declared_mask(p.ty.as_deref()),
                                    declared: p.ty.clone(),
                                },
                            );
                            if p.required {
                                c.required.push((Location::Body, p.name.clone()));
                            }
                        }
                    }
                }
                snap.push(c);
            }
        }
        if matches!(cfg.source, SchemaSource::Learned | SchemaSource::Both) {
            for l in learned {
                let mode = mode_of(&l.method, &l.template);
                if mode == SchemaMode::Off {
                    continue;
                }
                let segs = parse_segs(&l.template);
                let mut c = Compiled {
                    origin: Origin::Learned,
                    host: Some(l.host.clone()),
                    method: l.method.clone(),
                    template: l.template.clone(),
                    literals: literals(&segs),
                    segs,
                    mode,
                    query: HashMap::new(),
                    header: HashMap::new(),
                    body: HashMap::new(),
                    query_closed: true,
                    body_closed: Closed::All,
                    base_names: false,
                    required: Vec::new(),
                    body_rule: None,
                };
                for p in &l.params {
                    let rule = Rule {
                        types: p.types,
                        declared: None,
                    };
                    match p.location {
                        Location::Query => c.query.insert(p.name.clone(), rule),
                        Location::Body => c.body.insert(p.name.clone(), rule),
                        _ => continue,
                    };
                    if p.required {
                        c.required.push((p.location, p.name.clone()));
                    }
                }
                snap.push(c);
            }
        }
        snap
    }

    fn push(&mut self, c: Compiled) {
        let n = c.segs.len();
        if n > MAX_SEGS {
            return;
        }
        let first = match c.segs.first() {
            Some(SpecSeg::Lit(l)) => l.clone(),
            _ => String::new(),
        };
        if self.index.len() <= n {
            self.index.resize_with(n + 1, HashMap::new);
        }
        let i = self.ops.len() as u32;
        self.ops.push(c);
        self.index[n].entry(first).or_default().push(i);
    }

    /// Endpoints checked.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The checked endpoint a request falls under: a declared operation
    /// first, then a learned one of the request's host; the most literal
    /// segments win.
    fn find(&self, host: &str, method: &str, path: &str) -> Option<&Compiled> {
        let mut segs: [&str; MAX_SEGS] = [""; MAX_SEGS];
        let mut n = 0;
        for s in crate::template::segments(path) {
            if n == MAX_SEGS {
                return None;
            }
            segs[n] = s;
            n += 1;
        }
        let segs = &segs[..n];
        let by_first = self.index.get(n)?;
        let first = segs.first().copied().unwrap_or("");
        let mut best: Option<&Compiled> = None;
        let cands = by_first
            .get(first)
            .into_iter()
            .chain(by_first.get(""))
            .flatten();
        for i in cands {
            let Some(c) = self.ops.get(*i as usize) else {
                continue;
            };
            if c.method != method {
                continue;
            }
            if let Some(h) = &c.host
                && h != host
            {
                continue;
            }
            let ok = c.segs.iter().zip(segs).all(|(s, v)| match s {
                SpecSeg::Lit(l) => l == v,
                SpecSeg::Var { prefix, suffix, .. } => {
                    v.len() >= prefix.len() + suffix.len()
                        && v.starts_with(prefix.as_str())
                        && v.ends_with(suffix.as_str())
                }
            });
            if !ok {
                continue;
            }
            let better = match best {
                None => true,
                Some(b) => {
                    (c.origin == Origin::Spec && b.origin == Origin::Learned)
                        || (c.origin == b.origin && c.literals > b.literals)
                }
            };
            if better {
                best = Some(c);
            }
        }
        best
    }

    /// Checks a request (head and body) against the schema of its endpoint:
    /// appends `schema.*` findings to `ex.findings` and returns `Block` (403)
    /// for a violation on an endpoint in `block` mode, `Log` for one in `log`
    /// mode, `Allow` otherwise.
    pub fn check(&self, ex: &mut Exchange) -> Verdict {
        if !self.any_on || self.ops.is_empty() {
            return Verdict::Allow;
        }
        let method = crate::catalog::norm_method(&ex.request.method);
        let host = crate::catalog::norm_host(
            ex.request
                .host
                .as_deref()
                .or_else(|| ex.request.header("host")),
        );
        let Some(op) = self.find(&host, &method, ex.request.path()) else {
            return Verdict::Allow;
        };
        if op.mode == SchemaMode::Off {
            return Verdict::Allow;
        }
        let findings = violations(op, ex);
        if findings.is_empty() {
            return Verdict::Allow;
        }
        let first = findings
            .first()
            .map(|f| f.rule_id.clone())
            .unwrap_or_default();
        ex.findings.extend(findings);
        match op.mode {
            SchemaMode::Block => Verdict::block(first),
            _ => Verdict::Log { reason: first },
        }
    }
}

fn violations(op: &Compiled, ex: &Exchange) -> Vec<Finding> {
    let x = extract::extract(ex);
    let (sev, conf, src) = match (op.mode, op.origin) {
        (SchemaMode::Block, Origin::Spec) => (Severity::Medium, 90, "declared spec"),
        (SchemaMode::Block, Origin::Learned) => (Severity::Medium, 70, "learned baseline"),
        (_, Origin::Spec) => (Severity::Low, 90, "declared spec"),
        (_, Origin::Learned) => (Severity::Low, 70, "learned baseline"),
    };
    let mk = |rule: &str, location: &str, fragment: &str, msg: String| {
        Finding::new("schema", &format!("schema.{rule}"), location)
            .fragment(fragment)
            .severity(sev)
            .confidence(conf)
            .phase(Phase::Probing)
            .score(1)
            .message(format!("{msg} ({src} of {} {})", op.method, op.template))
    };
    let mut out = Vec::new();
    let form = x.body_kind == Some(BodyKind::Form);
    let mut unknown_seen: Vec<String> = Vec::new();
    let mut checked: Vec<(Location, &str)> = Vec::new();
    for it in &x.items {
        if out.len() >= MAX_FINDINGS {
            break;
        }
        let (rules, closed, textual) = match it.loc {
            Location::Query => (
                &op.query,
                if op.query_closed {
                    Closed::All
                } else {
                    Closed::No
                },
                true,
            ),
            Location::Body => (&op.body, op.body_closed, form),
            Location::Header => (&op.header, Closed::No, true),
            _ => continue,
        };
        let name: &str = &it.name;
        if checked.iter().any(|(l, n)| *l == it.loc && *n == name) {
            continue; // array elements: once per name
        }
        checked.push((it.loc, name));
        let base = name.split(['.', '[']).next().unwrap_or(name);
        let rule = rules.get(name).map(|r| (r, true)).or_else(|| {
            (op.base_names && it.loc == Location::Query)
                .then(|| rules.get(base).map(|r| (r, false)))
                .flatten()
        });
        let shown = || {
            let class = crate::classify::classify_value(Some(name), &it.text);
            crate::catalog::sample_of(name, class, &it.text)
        };
        let location = format!("{}.{}", it.loc.as_str(), name);
        match rule {
            None => {
                let nested = name.contains(['.', '[']);
                let check = match closed {
                    Closed::No => false,
                    Closed::TopLevel => !nested,
                    Closed::All => true,
                };
                // report the outermost unknown name only
                let under_reported = unknown_seen.iter().any(|r| {
                    location.starts_with(r.as_str())
                        && matches!(location.as_bytes().get(r.len()), Some(b'.' | b'['))
                });
                if check && !under_reported {
                    unknown_seen.push(location.clone());
                    out.push(mk(
                        "unknown_parameter",
                        &location,
                        &shown(),
                        format!("`{location}` is not in the schema"),
                    ));
                }
            }
            Some((r, exact)) => {
                if exact && r.types != 0 && !type_fits(r.types, it.ty, textual) {
                    let want = r.declared.clone().unwrap_or_else(|| types_text(r.types));
                    out.push(mk(
                        "type_mismatch",
                        &location,
                        &shown(),
                        format!("`{location}` must be {want}, got {}", it.ty.as_str()),
                    ));
                }
            }
        }
    }
    let has_members = matches!(x.body_kind, Some(BodyKind::Json | BodyKind::Form));
    for (loc, name) in &op.required {
        if out.len() >= MAX_FINDINGS {
            break;
        }
        if *loc == Location::Body && !has_members {
            continue; // no body (or not JSON/form): `missing_body` says it
        }
        let present = x.items.iter().any(|i| {
            i.loc == *loc
                && (i.name == name.as_str()
                    || (op.base_names
                        && *loc != Location::Body
                        && i.name.split(['.', '[']).next() == Some(name.as_str())))
        });
        if !present {
            let location = format!("{}.{name}", loc.as_str());
            out.push(mk(
                "missing_required",
                &location,
                "",
                format!("required `{location}` is missing"),
            ));
        }
    }
    if let Some(b) = &op.body_rule {
        let kind = x.body_kind.unwrap_or(BodyKind::None);
        match (b.declared, kind) {
            (false, BodyKind::Json | BodyKind::Form | BodyKind::Other) => out.push(mk(
                "unexpected_body",
                "body",
                "",
                "a body was sent where none is declared".to_string(),
            )),
            (true, BodyKind::None) if b.required => out.push(mk(
                "missing_body",
                "body",
                "",
                "the required body is missing".to_string(),
            )),
            (true, k) if k != BodyKind::None => {
                if let Some(ct) = &x.req_ct
                    && !b.content_types.is_empty()
                    && !b.content_types.iter().any(|d| {
                        d == ct
                            || d == "*/*"
                            || (d.ends_with("/*") && ct.starts_with(d.trim_end_matches('*')))
                    })
                {
                    out.push(mk(
                        "content_type",
                        "header.content-type",
                        ct,
                        format!("content type `{ct}` is not declared"),
                    ));
                }
            }
            _ => {}
        }
    }
    out.truncate(MAX_FINDINGS);
    out
}
