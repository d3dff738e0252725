//! Export of the learned catalog as an OpenAPI 3.0.3 document.
//!
//! Paths come from templates, parameters and schemas from the learned facts
//! (dotted body names become nested objects), security schemes from the
//! authentication seen. Facts OpenAPI has no field for are kept as `x-palisade`
//! extensions (hosts, data classes, counts, first/last seen). Examples are
//! the masked samples only.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::auth::AuthScheme;
use crate::endpoint::{EndpointView, ParamView};
use crate::extract::{Location, ValueType};

fn schema_of(p: &ParamView) -> Value {
    let types: Vec<ValueType> = p
        .types
        .iter()
        .copied()
        .filter(|t| *t != ValueType::Null)
        .collect();
    let nullable = p.types.contains(&ValueType::Null);
    let ty = match types.as_slice() {
        [] => "string",
        [t] => t.as_str(),
        ts if ts
            .iter()
            .all(|t| matches!(t, ValueType::Integer | ValueType::Number)) =>
        {
            "number"
        }
        _ => "string",
    };
    let mut s = Map::new();
    s.insert("type".into(), json!(ty));
    if let Some(f) = &p.format
        && ty == "string"
    {
        s.insert("format".into(), json!(f));
    }
    if nullable {
        s.insert("nullable".into(), json!(true));
    }
    if ty == "array" {
        s.insert("items".into(), json!({}));
    }
    if !p.classes.is_empty() {
        s.insert(
            "x-palisade-data-classes".into(),
            json!(p.classes.iter().map(|c| c.as_str()).collect::<Vec<_>>()),
        );
    }
    Value::Object(s)
}

#[derive(Default)]
struct SNode<'a> {
    leaf: Option<&'a ParamView>,
    props: BTreeMap<String, SNode<'a>>,
    items: Option<Box<SNode<'a>>>,
}

impl<'a> SNode<'a> {
    fn insert(&mut self, p: &'a ParamView) {
        let mut node = self;
        for part in p.name.split('.') {
            let mut key = part;
            let mut depth = 0;
            while let Some(k) = key.strip_suffix("[]") {
                key = k;
                depth += 1;
            }
            if !key.is_empty() {
                node = node.props.entry(key.to_string()).or_default();
            }
            for _ in 0..depth {
                node = node.items.get_or_insert_with(Box::default);
            }
        }
        node.leaf = Some(p);
    }

    fn render(&self) -> Value {
        if !self.props.is_empty() {
            let props: Map<String, Value> = self
                .props
                .iter()
                .map(|(k, v)| (k.clone(), v.render()))
                .collect();
            return json!({"type": "object", "properties": props});
        }
        if let Some(items) = &self.items {
            return json!({"type": "array", "items": items.render()});
        }
        match self.leaf {
            Some(p) => schema_of(p),
            None => json!({}),
        }
    }
}

/// Builds a nested object schema from flattened names (`card.number`,
/// `items[].price`).
fn object_schema(params: &[&ParamView]) -> Value {
    let mut root = SNode::default();
    for p in params {
        root.insert(p);
    }
    let v = root.render();
    if v.get("type") == Some(&json!("object")) {
        v
    } else {
        json!({"type": "object", "properties": {}})
    }
}

fn scheme_doc(s: AuthScheme) -> Option<(&'static str, Value)> {
    Some(match s {
        AuthScheme::Basic => ("basicAuth", json!({"type": "http", "scheme": "basic"})),
        AuthScheme::Bearer => ("bearerAuth", json!({"type": "http", "scheme": "bearer"})),
        AuthScheme::Jwt => (
            "jwtAuth",
            json!({"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}),
        ),
        AuthScheme::ApiKey => (
            "apiKeyAuth",
            json!({"type": "apiKey", "in": "header", "name": "x-api-key"}),
        ),
        AuthScheme::CookieSession => (
            "cookieSession",
            json!({"type": "apiKey", "in": "cookie", "name": "session"}),
        ),
        AuthScheme::Mtls => (
            "mutualTLS",
            json!({"type": "http", "scheme": "mutual", "description": "client certificate (mutualTLS is 3.1 only)"}),
        ),
        AuthScheme::None => return None,
    })
}

/// The OpenAPI 3.0.3 document of `endpoints`.
pub fn export(endpoints: &[EndpointView]) -> Value {
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut hosts: Vec<String> = Vec::new();
    let mut schemes: BTreeMap<&'static str, Value> = BTreeMap::new();
    let mut op_ids: BTreeMap<String, usize> = BTreeMap::new();
    for e in endpoints {
        if !e.host.is_empty() && !hosts.contains(&e.host) {
            hosts.push(e.host.clone());
        }
        let method = e.method.to_ascii_lowercase();
        if !matches!(
            method.as_str(),
            "get" | "put" | "post" | "delete" | "options" | "head" | "patch" | "trace"
        ) {
            continue;
        }
        let item = paths.entry(e.template.clone()).or_default();
        if item.contains_key(&method) {
            // same template on another host: keep the first, list hosts
            if let Some(op) = item.get_mut(&method)
                && let Some(h) = op.get_mut("x-palisade-hosts").and_then(Value::as_array_mut)
            {
                h.push(json!(e.host));
            }
            continue;
        }
        let mut params = Vec::new();
        for pp in &e.path_params {
            let (ty, format) = pp.kind.openapi();
            let mut schema = json!({"type": ty});
            if let Some(f) = format {
                schema["format"] = json!(f);
            }
            params.push(
                json!({"name": pp.name, "in": "path", "required": true, "schema": schema,
                "x-palisade-kind": pp.kind.as_str()}),
            );
        }
        for p in e
            .params
            .iter()
            .filter(|p| matches!(p.location, Location::Query | Location::Header))
        {
            if p.name.contains(['.', '[']) && p.location == Location::Query {
                // deepObject-style members are folded into their base name
                let base = p.name.split(['.', '[']).next().unwrap_or(&p.name);
                if params
                    .iter()
                    .any(|q| q["name"] == json!(base) && q["in"] == json!("query"))
                {
                    continue;
                }
                params.push(json!({"name": base, "in": "query", "required": false,
                    "style": "deepObject", "explode": true, "schema": {"type": "object"}}));
                continue;
            }
            let mut v = json!({
                "name": p.name,
                "in": p.location.as_str(),
                "required": p.required,
                "schema": schema_of(p),
            });
            if !p.example.is_empty() && p.classes.is_empty() {
                v["example"] = json!(p.example);
            }
            params.push(v);
        }
        let mut op = Map::new();
        let base_id = format!(
            "{}{}",
            method,
            e.template
                .split('/')
                .filter(|s| !s.is_empty())
                .map(|s| {
                    let s = s.trim_matches(|c| c == '{' || c == '}');
                    let mut c = s.chars();
                    c.next().map_or(String::new(), |f| {
                        f.to_uppercase().collect::<String>()
                            + &c.as_str()
                                .replace(|ch: char| !ch.is_ascii_alphanumeric(), "_")
                    })
                })
                .collect::<String>()
        );
        let n = op_ids.entry(base_id.clone()).or_insert(0);
        *n += 1;
        let op_id = if *n == 1 {
            base_id
        } else {
            format!("{base_id}_{n}")
        };
        op.insert("operationId".into(), json!(op_id));
        if !params.is_empty() {
            op.insert("parameters".into(), Value::Array(params));
        }
        let body: Vec<&ParamView> = e
            .params
            .iter()
            .filter(|p| p.location == Location::Body)
            .collect();
        if !e.request_content_types.is_empty() || !body.is_empty() {
            let schema = object_schema(&body);
            let mut content = Map::new();
            let cts = if e.request_content_types.is_empty() {
                vec!["application/json".to_string()]
            } else {
                e.request_content_types.clone()
            };
            for ct in cts {
                content.insert(ct, json!({"schema": schema}));
            }
            op.insert("requestBody".into(), json!({"content": content}));
        }
        let resp_fields: Vec<&ParamView> = e
            .params
            .iter()
            .filter(|p| p.location == Location::Response)
            .collect();
        let mut responses = Map::new();
        for status in e.status.keys() {
            let mut r = json!({"description": format!("observed {status}")});
            if (200..300).contains(status) && !resp_fields.is_empty() {
                r["content"] = json!({"application/json": {"schema": object_schema(&resp_fields)}});
            }
            responses.insert(status.to_string(), r);
        }
        if responses.is_empty() {
            responses.insert(
                "default".into(),
                json!({"description": "no response observed"}),
            );
        }
        op.insert("responses".into(), Value::Object(responses));
        let mut sec = Vec::new();
        for s in &e.auth.accepted {
            if let Some((name, doc)) = scheme_doc(*s) {
                schemes.insert(name, doc);
                sec.push(json!({ name: [] }));
            } else {
                sec.push(json!({}));
            }
        }
        if !sec.is_empty() {
            op.insert("security".into(), Value::Array(sec));
        }
        op.insert("x-palisade-hosts".into(), json!([e.host]));
        op.insert("x-palisade-endpoint".into(), json!(e.id.to_string()));
        op.insert("x-palisade-requests".into(), json!(e.requests));
        op.insert("x-palisade-first-seen-ms".into(), json!(e.first_seen_ms));
        op.insert("x-palisade-last-seen-ms".into(), json!(e.last_seen_ms));
        let classes: Vec<Value> = e
            .data
            .iter()
            .map(|d| json!({"class": d.class.as_str(), "location": d.location}))
            .collect();
        if !classes.is_empty() {
            op.insert("x-palisade-data".into(), Value::Array(classes));
        }
        op.insert("x-palisade-posture-score".into(), json!(e.posture.score));
        item.insert(method, Value::Object(op));
    }
    let servers: Vec<Value> = hosts
        .iter()
        .map(|h| json!({"url": format!("https://{h}")}))
        .collect();
    let mut doc = json!({
        "openapi": "3.0.3",
        "info": {"title": "Learned API (Palisade catalog)", "version": "learned"},
        "paths": paths,
    });
    if !servers.is_empty() {
        doc["servers"] = Value::Array(servers);
    }
    if !schemes.is_empty() {
        doc["components"] = json!({"securitySchemes": schemes});
    }
    doc
}
