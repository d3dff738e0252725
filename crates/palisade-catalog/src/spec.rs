//! [`Spec`]: a declared OpenAPI 3.0 / 3.1 document, reduced to what the
//! catalog compares with: operations (method, path template, parameters,
//! request body members, response codes, deprecation).
//!
//! Parsing goes through `serde_json::Value` (JSON, or YAML via serde-saphyr)
//! and walks the document by hand, resolving local `$ref`s with a depth bound
//! (cycles end there). We do not use the `oas3`/`openapiv3` crates: each
//! covers only one of 3.0 and 3.1, both reject whole documents for one
//! deviation from the schema, and neither reports the JSON pointer of a
//! problem; real-world specs are often slightly off, and the catalog needs
//! only a small, tolerant subset. External `$ref`s (other files) are not
//! followed: they become warnings. Problems that make an operation unusable
//! are errors, each named by origin and JSON pointer, all reported at once.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::CatalogError;
use crate::extract::Location;

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];
const MAX_REF_DEPTH: usize = 32;

/// A declared parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecParam {
    pub name: String,
    pub location: Location,
    pub required: bool,
    /// JSON schema `type` (the first non-null one for 3.1 type lists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ty: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

/// A declared request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SpecBody {
    pub required: bool,
    pub content_types: Vec<String>,
    /// Top-level members (from `properties`, `allOf`, `oneOf`, `anyOf`).
    pub properties: Vec<SpecParam>,
    /// Whether members beyond `properties` are allowed.
    pub open: bool,
}

/// One declared operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// Upper case: `GET`.
    pub method: String,
    /// The path template with the server's base path: `/v1/customers/{customer}`.
    pub template: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    #[serde(default)]
    pub deprecated: bool,
    pub params: Vec<SpecParam>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<SpecBody>,
    /// Declared response codes: `200`, `4XX`, `default`.
    pub responses: Vec<String>,
    /// Whether the operation declares security (or inherits it).
    #[serde(default)]
    pub secured: bool,
    /// JSON pointer of the operation in its document.
    pub pointer: String,
}

impl Operation {
    /// The template with variables anonymised (`/v1/customers/{}`): two
    /// templates describe the same endpoint when these are equal.
    pub fn shape(&self) -> String {
        shape_of(&self.template)
    }
}

/// The shape of a template: variables anonymised.
pub fn shape_of(template: &str) -> String {
    let mut out = String::new();
    for seg in template.split('/').filter(|s| !s.is_empty()) {
        out.push('/');
        if seg.contains('{') {
            out.push_str("{}");
        } else {
            out.push_str(seg);
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// One piece of a declared template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecSeg {
    Lit(String),
    /// `{name}`, or a segment mixing text and variables (`{id}.json`), kept
    /// with its literal prefix and suffix.
    Var {
        name: String,
        prefix: String,
        suffix: String,
    },
}

pub(crate) fn parse_segs(template: &str) -> Vec<SpecSeg> {
    template
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| match (s.find('{'), s.rfind('}')) {
            (Some(a), Some(b)) if a < b => SpecSeg::Var {
                name: s[a + 1..b].to_string(),
                prefix: s[..a].to_string(),
                suffix: s[b + 1..].to_string(),
            },
            _ => SpecSeg::Lit(s.to_string()),
        })
        .collect()
}

/// A declared OpenAPI document, reduced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    pub origin: String,
    /// `openapi` field: `3.0.3`, `3.1.0`.
    pub version: String,
    pub title: String,
    pub operations: Vec<Operation>,
    /// Non-fatal problems (external refs, unknown methods), with pointers.
    pub warnings: Vec<String>,
    #[serde(skip)]
    segs: Vec<Vec<SpecSeg>>,
    /// Operations by (segment count, first literal segment or `""`).
    #[serde(skip)]
    buckets: std::collections::HashMap<(usize, String), Vec<usize>>,
}

fn esc(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

struct Walker<'a> {
    root: &'a Value,
    problems: Vec<(String, String)>,
    warnings: Vec<String>,
}

impl<'a> Walker<'a> {
    /// Follows `$ref`s from `v` (at `ptr`) to a value.
    fn deref(&mut self, v: &'a Value, ptr: &str) -> Option<&'a Value> {
        let mut cur = v;
        for _ in 0..MAX_REF_DEPTH {
            let Some(r) = cur.get("$ref").and_then(Value::as_str) else {
                return Some(cur);
            };
            let Some(local) = r.strip_prefix('#') else {
                self.warnings
                    .push(format!("at {ptr}: external $ref `{r}` not followed"));
                return None;
            };
            let target = if local.is_empty() {
                Some(self.root)
            } else {
                self.root.pointer(local)
            };
            match target {
                Some(t) => cur = t,
                None => {
                    self.problems
                        .push((ptr.to_string(), format!("$ref `{r}` points to nothing")));
                    return None;
                }
            }
        }
        self.problems.push((
            ptr.to_string(),
            format!("$ref chain longer than {MAX_REF_DEPTH} (a cycle?)"),
        ));
        None
    }

    fn schema_type(
        &mut self,
        schema: Option<&'a Value>,
        ptr: &str,
    ) -> (Option<String>, Option<String>) {
        let Some(s) = schema.and_then(|s| self.deref(s, ptr)) else {
            return (None, None);
        };
        let ty = match s.get("type") {
            Some(Value::String(t)) => Some(t.clone()),
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .map(str::to_string),
            _ => None,
        };
        let format = s.get("format").and_then(Value::as_str).map(str::to_string);
        (ty, format)
    }

    fn param(&mut self, p: &'a Value, ptr: &str) -> Option<SpecParam> {
        let p = self.deref(p, ptr)?;
        let name = p.get("name").and_then(Value::as_str);
        let loc = p.get("in").and_then(Value::as_str);
        let (Some(name), Some(loc)) = (name, loc) else {
            self.problems.push((
                ptr.to_string(),
                "parameter needs `name` and `in`".to_string(),
            ));
            return None;
        };
        let location = match loc {
            "path" => Location::Path,
            "query" => Location::Query,
            "header" => Location::Header,
            "cookie" => return None,
            other => {
                self.problems.push((
                    format!("{ptr}/in"),
                    format!("`in: {other}` is not path, query, header or cookie"),
                ));
                return None;
            }
        };
        let (ty, format) = self.schema_type(p.get("schema"), &format!("{ptr}/schema"));
        Some(SpecParam {
            name: if location == Location::Header {
                name.to_ascii_lowercase()
            } else {
                name.to_string()
            },
            location,
            required: location == Location::Path
                || p.get("required").and_then(Value::as_bool).unwrap_or(false),
            ty,
            format,
        })
    }

    fn collect_props(
        &mut self,
        s: &'a Value,
        ptr: &str,
        body: &mut SpecBody,
        required: bool,
        depth: usize,
    ) {
        if depth > 8 {
            return;
        }
        let Some(s) = self.deref(s, ptr) else { return };
        let req: Vec<&str> = s
            .get("required")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(props) = s.get("properties").and_then(Value::as_object) {
            for (k, v) in props {
                let pp = format!("{ptr}/properties/{}", esc(k));
                let (ty, format) = self.schema_type(Some(v), &pp);
                if !body.properties.iter().any(|p| p.name == *k) {
                    body.properties.push(SpecParam {
                        name: k.clone(),
                        location: Location::Body,
                        required: required && req.contains(&k.as_str()),
                        ty,
                        format,
                    });
                }
            }
        }
        match s.get("additionalProperties") {
            Some(Value::Bool(false)) => {}
            Some(_) => body.open = true,
            None => {
                if s.get("properties").is_none() {
                    body.open = true;
                }
            }
        }
        for (key, all) in [("allOf", true), ("oneOf", false), ("anyOf", false)] {
            if let Some(list) = s.get(key).and_then(Value::as_array) {
                body.open |= !all && list.is_empty();
                for (i, sub) in list.iter().enumerate() {
                    self.collect_props(
                        sub,
                        &format!("{ptr}/{key}/{i}"),
                        body,
                        required && all,
                        depth + 1,
                    );
                }
            }
        }
    }

    fn body(&mut self, rb: &'a Value, ptr: &str) -> Option<SpecBody> {
        let rb = self.deref(rb, ptr)?;
        let mut body = SpecBody {
            required: rb.get("required").and_then(Value::as_bool).unwrap_or(false),
            ..Default::default()
        };
        if let Some(content) = rb.get("content").and_then(Value::as_object) {
            for (ct, media) in content {
                body.content_types.push(crate::extract::media_type(ct));
                if let Some(schema) = media.get("schema") {
                    let p = format!("{ptr}/content/{}/schema", esc(ct));
                    self.collect_props(schema, &p, &mut body, true, 0);
                }
            }
        }
        Some(body)
    }
}

fn base_path(doc: &Value) -> String {
    let url = doc
        .pointer("/servers/0/url")
        .and_then(Value::as_str)
        .unwrap_or("");
    let path = match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map(|i| &rest[i..]).unwrap_or(""),
        None => url,
    };
    path.trim_end_matches('/').to_string()
}

impl Spec {
    /// Parses an OpenAPI 3.0 / 3.1 document, JSON or YAML (detected by the
    /// first non-blank character). `origin` names it in errors (a file name).
    pub fn parse(src: &str, origin: &str) -> Result<Spec, CatalogError> {
        let err = |ptr: &str, msg: String| CatalogError::Spec {
            origin: origin.to_string(),
            problems: vec![(ptr.to_string(), msg)],
        };
        let trimmed = src.trim_start_matches('\u{feff}').trim_start();
        let doc: Value = if trimmed.starts_with('{') {
            serde_json::from_str(trimmed).map_err(|e| err("", format!("invalid JSON: {e}")))?
        } else {
            serde_saphyr::from_str(trimmed).map_err(|e| err("", format!("invalid YAML: {e}")))?
        };
        Self::from_value(&doc, origin)
    }

    /// Reads and parses a spec file.
    pub fn from_file(path: &Path) -> Result<Spec, CatalogError> {
        let origin = path.display().to_string();
        let src = std::fs::read_to_string(path).map_err(|e| CatalogError::Spec {
            origin: origin.clone(),
            problems: vec![(String::new(), format!("cannot read: {e}"))],
        })?;
        Self::parse(&src, &origin)
    }

    /// Builds a spec from an already parsed document.
    pub fn from_value(doc: &Value, origin: &str) -> Result<Spec, CatalogError> {
        let fail = |problems: Vec<(String, String)>| CatalogError::Spec {
            origin: origin.to_string(),
            problems,
        };
        if !doc.is_object() {
            return Err(fail(vec![(String::new(), "not a mapping".to_string())]));
        }
        if doc.get("swagger").is_some() {
            return Err(fail(vec![(
                "/swagger".to_string(),
                "Swagger 2.0 is not supported; convert it to OpenAPI 3".to_string(),
            )]));
        }
        let version = match doc.get("openapi") {
            Some(Value::String(v)) if v.starts_with("3.") => v.clone(),
            Some(v) => {
                return Err(fail(vec![(
                    "/openapi".to_string(),
                    format!("version {v} is not 3.x"),
                )]));
            }
            None => {
                return Err(fail(vec![(
                    String::new(),
                    "missing `openapi` version field (is this an OpenAPI 3 document?)".to_string(),
                )]));
            }
        };
        let title = doc
            .pointer("/info/title")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let base = base_path(doc);
        let global_security = doc
            .get("security")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        let mut w = Walker {
            root: doc,
            problems: Vec::new(),
            warnings: Vec::new(),
        };
        let mut ops = Vec::new();
        let paths = match doc.get("paths") {
            Some(Value::Object(p)) => Some(p),
            Some(_) => {
                w.problems.push((
                    "/paths".to_string(),
                    "`paths` must be a mapping".to_string(),
                ));
                None
            }
            None => None, // 3.1 allows webhooks-only documents
        };
        for (path, item) in paths.into_iter().flatten() {
            let iptr = format!("/paths/{}", esc(path));
            if !path.starts_with('/') {
                w.problems
                    .push((iptr.clone(), format!("path `{path}` must start with `/`")));
                continue;
            }
            let Some(item) = w.deref(item, &iptr) else {
                continue;
            };
            let Some(obj) = item.as_object() else {
                w.problems
                    .push((iptr.clone(), "path item must be a mapping".to_string()));
                continue;
            };
            let mut shared = Vec::new();
            if let Some(ps) = obj.get("parameters").and_then(Value::as_array) {
                for (i, p) in ps.iter().enumerate() {
                    shared.extend(w.param(p, &format!("{iptr}/parameters/{i}")));
                }
            }
            for (m, op) in obj {
                if !METHODS.contains(&m.as_str()) {
                    if !matches!(
                        m.as_str(),
                        "parameters" | "summary" | "description" | "servers"
                    ) && !m.starts_with("x-")
                    {
                        w.warnings.push(format!("at {iptr}: unknown key `{m}`"));
                    }
                    continue;
                }
                let optr = format!("{iptr}/{m}");
                let mut params: Vec<SpecParam> = Vec::new();
                if let Some(ps) = op.get("parameters").and_then(Value::as_array) {
                    for (i, p) in ps.iter().enumerate() {
                        params.extend(w.param(p, &format!("{optr}/parameters/{i}")));
                    }
                }
                for s in &shared {
                    if !params
                        .iter()
                        .any(|p| p.name == s.name && p.location == s.location)
                    {
                        params.push(s.clone());
                    }
                }
                let body = op
                    .get("requestBody")
                    .and_then(|rb| w.body(rb, &format!("{optr}/requestBody")));
                let responses = op
                    .get("responses")
                    .and_then(Value::as_object)
                    .map(|r| r.keys().cloned().collect())
                    .unwrap_or_default();
                let secured = match op.get("security").and_then(Value::as_array) {
                    Some(a) => {
                        !a.is_empty()
                            && !a
                                .iter()
                                .any(|r| r.as_object().is_some_and(|o| o.is_empty()))
                    }
                    None => global_security,
                };
                let template = format!("{base}{path}");
                ops.push(Operation {
                    method: m.to_ascii_uppercase(),
                    template: if template.is_empty() {
                        "/".into()
                    } else {
                        template
                    },
                    operation_id: op
                        .get("operationId")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    deprecated: op
                        .get("deprecated")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    params,
                    body,
                    responses,
                    secured,
                    pointer: optr,
                });
            }
        }
        if !w.problems.is_empty() {
            return Err(fail(w.problems));
        }
        ops.sort_by(|a, b| (&a.template, &a.method).cmp(&(&b.template, &b.method)));
        let mut spec = Spec {
            origin: origin.to_string(),
            version,
            title,
            operations: ops,
            warnings: w.warnings,
            segs: Vec::new(),
            buckets: Default::default(),
        };
        spec.reindex();
        Ok(spec)
    }

    /// Rebuilds the matcher (after deserialising).
    pub(crate) fn reindex(&mut self) {
        self.segs = self
            .operations
            .iter()
            .map(|o| parse_segs(&o.template))
            .collect();
        self.buckets.clear();
        for (i, ss) in self.segs.iter().enumerate() {
            let first = match ss.first() {
                Some(SpecSeg::Lit(l)) => l.clone(),
                _ => String::new(),
            };
            self.buckets.entry((ss.len(), first)).or_default().push(i);
        }
    }

    /// Indices of the operations that may match a path of these segments, in
    /// order.
    fn candidates(&self, segs: &[&str]) -> Vec<usize> {
        let first = segs.first().copied().unwrap_or("");
        let mut c: Vec<usize> = self
            .buckets
            .get(&(segs.len(), first.to_string()))
            .into_iter()
            .chain(self.buckets.get(&(segs.len(), String::new())))
            .flatten()
            .copied()
            .collect();
        c.sort_unstable();
        c.dedup();
        c
    }

    /// The declared template matching a concrete path (any method): the one
    /// with the most literal segments, then the first in order.
    pub(crate) fn match_path(&self, segs: &[&str]) -> Option<usize> {
        let mut best: Option<(usize, usize)> = None;
        for i in self.candidates(segs) {
            let Some(ss) = self.segs.get(i) else { continue };
            if ss.len() != segs.len() {
                continue;
            }
            let mut lits = 0;
            let ok = ss.iter().zip(segs).all(|(s, v)| match s {
                SpecSeg::Lit(l) => {
                    lits += 1;
                    l == v
                }
                SpecSeg::Var { prefix, suffix, .. } => {
                    v.len() > prefix.len() + suffix.len()
                        && v.starts_with(prefix.as_str())
                        && v.ends_with(suffix.as_str())
                }
            });
            if ok && best.is_none_or(|(_, l)| lits > l) {
                best = Some((i, lits));
            }
        }
        best.map(|(i, _)| i)
    }

    /// The forced pieces for a concrete path from the declared template.
    pub(crate) fn forced(&self, idx: usize) -> Vec<crate::template::Forced> {
        use crate::template::Forced;
        self.segs
            .get(idx)
            .map(|ss| {
                ss.iter()
                    .map(|s| match s {
                        SpecSeg::Lit(l) => Forced::Literal(l.clone()),
                        SpecSeg::Var { name, .. } => Forced::Var(name.clone()),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The operation declared for `method` on the template or path shape.
    pub(crate) fn op_for_shape(&self, method: &str, shape: &str) -> Option<usize> {
        self.operations
            .iter()
            .position(|o| o.method == method && o.shape() == shape)
    }

    /// The operation declared for `method` on a concrete path.
    pub fn operation_for(&self, method: &str, path: &str) -> Option<&Operation> {
        let segs: Vec<&str> = crate::template::segments(path).collect();
        let mut best: Option<(usize, usize)> = None;
        for i in self.candidates(&segs) {
            let Some(ss) = self.segs.get(i) else { continue };
            if ss.len() != segs.len() || self.operations.get(i).is_none_or(|o| o.method != method) {
                continue;
            }
            let mut lits = 0;
            let ok = ss.iter().zip(&segs).all(|(s, v)| match s {
                SpecSeg::Lit(l) => {
                    lits += 1;
                    l == v
                }
                SpecSeg::Var { prefix, suffix, .. } => {
                    v.starts_with(prefix.as_str()) && v.ends_with(suffix.as_str())
                }
            });
            if ok && best.is_none_or(|(_, l)| lits > l) {
                best = Some((i, lits));
            }
        }
        best.and_then(|(i, _)| self.operations.get(i))
    }

    /// Operations by `(method, shape)`, for comparisons.
    pub fn shapes(&self) -> BTreeMap<(String, String), usize> {
        self.operations
            .iter()
            .enumerate()
            .map(|(i, o)| ((o.method.clone(), o.shape()), i))
            .collect()
    }
}
