//! Path templating: from observed URL paths to templates like
//! `/v1/customers/{customer}/sources/{source}`.
//!
//! One [`Tree`] per host holds every path segment learned so far. A segment
//! becomes a variable when it is *typed* (integer, UUID, hex, prefixed id,
//! date, email, token: see [`SegKind`]) or when a parent has collected more than
//! the cardinality threshold of distinct plain-string children; it never does in
//! a *reserved position* (the first segment, `api`, version segments like `v1`)
//! nor when a rule or the declared spec pins it literal. Variables are named
//! from their parent (`customers` gives `{customer}`).
//!
//! This module knows nothing of methods, parameters or specs: it only maps
//! paths to templates, bounded in nodes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The type of a path segment value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SegKind {
    Integer,
    Uuid,
    Hex,
    PrefixedId,
    Date,
    Email,
    Token,
    /// A plain word: variable only by cardinality or a rule.
    String,
}

impl SegKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SegKind::Integer => "integer",
            SegKind::Uuid => "uuid",
            SegKind::Hex => "hex",
            SegKind::PrefixedId => "prefixed_id",
            SegKind::Date => "date",
            SegKind::Email => "email",
            SegKind::Token => "token",
            SegKind::String => "string",
        }
    }

    /// The kind that covers both (a variable that saw integers and UUIDs).
    pub fn join(self, other: SegKind) -> SegKind {
        if self == other { self } else { SegKind::String }
    }

    /// Whether a variable of this kind names an object (BOLA surface).
    pub fn is_object_id(self) -> bool {
        matches!(
            self,
            SegKind::Integer | SegKind::Uuid | SegKind::Hex | SegKind::PrefixedId
        )
    }

    /// The OpenAPI schema `(type, format)` for a variable of this kind.
    pub fn openapi(self) -> (&'static str, Option<&'static str>) {
        match self {
            SegKind::Integer => ("integer", Some("int64")),
            SegKind::Uuid => ("string", Some("uuid")),
            SegKind::Date => ("string", Some("date")),
            SegKind::Email => ("string", Some("email")),
            _ => ("string", None),
        }
    }
}

/// Whether a segment is reserved: never a variable (API prefixes and versions).
pub fn is_reserved(seg: &str) -> bool {
    let s = seg.to_ascii_lowercase();
    if matches!(
        s.as_str(),
        "api"
            | "apis"
            | "rest"
            | "graphql"
            | "rpc"
            | "internal"
            | "public"
            | "private"
            | "external"
            | "beta"
            | "alpha"
            | "latest"
            | "stable"
            | "v"
    ) {
        return true;
    }
    // v1, v2, v1.2, v2beta1
    if let Some(rest) = s.strip_prefix('v') {
        let mut chars = rest.chars();
        if chars.next().is_some_and(|c| c.is_ascii_digit()) && rest.len() <= 10 {
            return rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '.');
        }
    }
    false
}

fn is_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 10 {
        return false;
    }
    let d = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (Some(y), Some(m), Some(day)) = (d(0..4), d(5..7), d(8..10)) else {
        return false;
    };
    let date_ok = b[4] == b'-'
        && b[7] == b'-'
        && (1900..=2200).contains(&y)
        && (1..=12).contains(&m)
        && (1..=31).contains(&day);
    // a date-time may follow: 2024-05-01T10:00:00Z
    date_ok && (b.len() == 10 || matches!(b[10], b'T' | b't' | b' '))
}

fn is_prefixed_id(s: &str) -> bool {
    // cus_9aK2xY, pi_3Nx..., ord-12345, acct_1Hh...
    let Some(idx) = s.rfind(['_', '-']) else {
        return false;
    };
    let (prefix, suffix) = (&s[..idx], &s[idx + 1..]);
    if prefix.is_empty() || prefix.len() > 24 || suffix.len() < 4 {
        return false;
    }
    let prefix_ok = prefix
        .split(['_', '-'])
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphabetic()));
    let suffix_ok = suffix.bytes().all(|b| b.is_ascii_alphanumeric());
    let digit = suffix.bytes().any(|b| b.is_ascii_digit());
    let mixed = suffix.bytes().any(|b| b.is_ascii_uppercase())
        && suffix.bytes().any(|b| b.is_ascii_lowercase());
    prefix_ok && suffix_ok && (digit || (mixed && suffix.len() >= 8))
}

fn is_token(s: &str) -> bool {
    if s.len() < 20 || s.len() > 2048 {
        return false;
    }
    let charset = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'=' | b'~' | b'+'));
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    charset
        && digits >= 2
        && s.bytes().any(|b| b.is_ascii_alphabetic())
        && crate::classify::entropy(s) >= 3.5
}

/// The kind of one raw path segment.
pub fn seg_kind(seg: &str) -> SegKind {
    if seg.is_empty() {
        return SegKind::String;
    }
    if seg.len() <= 19 && seg.bytes().all(|b| b.is_ascii_digit()) {
        return SegKind::Integer;
    }
    if is_uuid(seg) {
        return SegKind::Uuid;
    }
    if is_date(seg) {
        return SegKind::Date;
    }
    if seg.contains('@') || seg.contains("%40") {
        let decoded = seg.replace("%40", "@");
        if crate::classify::is_email(&decoded) {
            return SegKind::Email;
        }
    }
    if seg.len() >= 8
        && is_hex(seg)
        && seg.bytes().any(|b| b.is_ascii_digit())
        && seg.bytes().any(|b| b.is_ascii_alphabetic())
    {
        return SegKind::Hex;
    }
    if seg.len() > 19 && seg.bytes().all(|b| b.is_ascii_digit()) {
        return SegKind::Token;
    }
    if is_prefixed_id(seg) {
        return SegKind::PrefixedId;
    }
    if is_token(seg) {
        return SegKind::Token;
    }
    SegKind::String
}

/// The variable name a parent segment gives: `customers` gives `customer`,
/// `categories` `category`, `addresses` `address`; anything else `{parent}_id`.
pub fn var_name(parent: Option<&str>) -> String {
    let Some(p) = parent else {
        return "id".to_string();
    };
    let p: String = p
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if p.is_empty() || !p.bytes().any(|b| b.is_ascii_alphabetic()) {
        return "id".to_string();
    }
    for (suf, rep) in [
        ("ies", "y"),
        ("sses", "ss"),
        ("xes", "x"),
        ("ches", "ch"),
        ("shes", "sh"),
    ] {
        if let Some(stem) = p.strip_suffix(suf)
            && stem.len() >= 2
        {
            return format!("{stem}{rep}");
        }
    }
    if p.ends_with('s') && !p.ends_with("ss") && !p.ends_with("us") && p.len() > 3 {
        return p[..p.len() - 1].to_string();
    }
    format!("{p}_id")
}

/// The number of leading *reserved positions*: the first segment, the run of
/// reserved words at the head (`/api/v1`), and the resource segment right
/// after such a run (`/v1/customers`: both are reserved positions).
pub fn head_len(segs: &[&str]) -> usize {
    let k = segs.iter().take_while(|s| is_reserved(s)).count();
    if k == 0 {
        1
    } else {
        (k + 1).min(segs.len()).max(1)
    }
}

/// A forced piece of a template, from a rule or the declared spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Forced {
    Literal(String),
    Var(String),
    /// Learn this segment as usual.
    Free,
}

/// A variable child of a node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VarChild {
    pub name: String,
    pub kind: SegKind,
    /// Set by a rule or the spec: plain strings go into it.
    #[serde(default)]
    pub forced: bool,
    /// Created from a spec, no value seen yet: the first value sets the kind.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fresh: bool,
    pub node: Node,
}

/// One node of the path tree: the segments that may follow a path prefix.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Node {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub lit: BTreeMap<String, Node>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub var: Option<Box<VarChild>>,
    /// A literal that must stay literal (reserved word, split rule, spec).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pinned: bool,
}

impl Node {
    fn count(&self) -> usize {
        1 + self.lit.values().map(Node::count).sum::<usize>()
            + self.var.as_ref().map_or(0, |v| v.node.count())
    }

    /// Merges `other` into `self` (children united recursively).
    fn absorb(&mut self, other: Node) {
        self.pinned |= other.pinned;
        for (k, child) in other.lit {
            match self.lit.get_mut(&k) {
                Some(mine) => mine.absorb(child),
                None => {
                    self.lit.insert(k, child);
                }
            }
        }
        if let Some(ov) = other.var {
            match self.var.as_mut() {
                Some(mv) => {
                    mv.kind = mv.kind.join(ov.kind);
                    mv.forced |= ov.forced;
                    mv.node.absorb(ov.node);
                }
                None => self.var = Some(ov),
            }
        }
    }

    pub(crate) fn approx_bytes(&self) -> usize {
        std::mem::size_of::<Node>()
            + self
                .lit
                .iter()
                .map(|(k, n)| k.capacity() + 32 + n.approx_bytes())
                .sum::<usize>()
            + self.var.as_ref().map_or(0, |v| {
                std::mem::size_of::<VarChild>() + v.name.capacity() + v.node.approx_bytes()
            })
    }
}

/// The result of learning one path.
#[derive(Debug, Default)]
pub struct Learned {
    pub template: String,
    /// Template prefixes (`/users/{user}`) whose literal children were just
    /// merged into a variable: endpoints under them must be re-templated.
    pub collapsed: bool,
    /// Object-id variables in the template.
    pub object_ids: bool,
}

/// The path tree of one host.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Tree {
    pub root: Node,
    #[serde(default)]
    pub nodes: usize,
}

/// Limits for the tree.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub string_cardinality: usize,
    pub value_cardinality: usize,
    pub max_nodes: usize,
    pub max_segments: usize,
}

/// Splits a path into non-empty segments (a trailing slash is dropped).
pub fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

fn push_var(out: &mut String, name: &str, used: &mut Vec<String>) {
    let mut n = name.to_string();
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

impl Tree {
    /// Learns `path` (with optional forced pieces, one per segment) and returns
    /// its template; `None` when the tree is full and the path is new.
    pub fn learn(&mut self, path: &str, forced: &[Forced], lim: Limits) -> Option<Learned> {
        let segs: Vec<&str> = segments(path).take(lim.max_segments).collect();
        let mut out = Learned::default();
        let mut used: Vec<String> = Vec::new();
        let mut node = &mut self.root;
        let mut parent: Option<String> = None;
        let mut nodes = self.nodes;
        let head = head_len(&segs);
        for (i, seg) in segs.iter().enumerate() {
            let f = forced.get(i).cloned().unwrap_or(Forced::Free);
            let kind = seg_kind(seg);
            let reserved = i < head || is_reserved(seg);
            // decide literal or variable
            let as_var: Option<(String, SegKind, bool)> = match &f {
                Forced::Var(name) => Some((name.clone(), kind, true)),
                Forced::Literal(_) => None,
                Forced::Free => {
                    if reserved || node.lit.get(*seg).is_some_and(|n| n.pinned) {
                        None
                    } else if kind != SegKind::String {
                        Some((var_name(parent.as_deref()), kind, false))
                    } else if node.lit.contains_key(*seg) {
                        None
                    } else if node
                        .var
                        .as_ref()
                        .is_some_and(|v| v.kind == SegKind::String || v.forced)
                    {
                        Some((var_name(parent.as_deref()), kind, false))
                    } else {
                        None
                    }
                }
            };
            match as_var {
                Some((name, kind, forced_var)) => {
                    if node.var.is_none() {
                        if nodes - self.nodes >= lim.max_nodes {
                            return None;
                        }
                        nodes += 1;
                        node.var = Some(Box::new(VarChild {
                            name,
                            kind,
                            forced: forced_var,
                            fresh: false,
                            node: Node::default(),
                        }));
                    }
                    let v = node.var.as_mut()?;
                    // a forced (rule or spec) name is used for this path's
                    // template by the caller; the node keeps its own name
                    v.forced |= forced_var;
                    if v.fresh {
                        v.kind = kind;
                        v.fresh = false;
                    } else {
                        v.kind = v.kind.join(kind);
                    }
                    out.object_ids |= v.kind.is_object_id();
                    push_var(&mut out.template, &v.name, &mut used);
                    parent = None;
                    node = &mut v.node;
                }
                None => {
                    let pin = reserved || matches!(f, Forced::Literal(_));
                    if !node.lit.contains_key(*seg) {
                        if nodes - self.nodes >= lim.max_nodes {
                            return None;
                        }
                        nodes += 1;
                        node.lit.insert((*seg).to_string(), Node::default());
                        // cardinality: too many plain siblings become a variable
                        let (words, values) = node.lit.iter().filter(|(_, n)| !n.pinned).fold(
                            (0, 0),
                            |(w, v), (k, _)| {
                                if value_like(k) {
                                    (w, v + 1)
                                } else {
                                    (w + 1, v)
                                }
                            },
                        );
                        let by_values = value_like(seg) && values > lim.value_cardinality;
                        if !pin && (words + values > lim.string_cardinality || by_values) {
                            collapse(
                                node,
                                parent.as_deref(),
                                by_values && words + values <= lim.string_cardinality,
                            );
                            out.collapsed = true;
                            let v = node.var.as_mut()?;
                            push_var(&mut out.template, &v.name, &mut used);
                            out.object_ids |= v.kind.is_object_id();
                            parent = None;
                            node = &mut v.node;
                            continue;
                        }
                    }
                    let child = node.lit.get_mut(*seg)?;
                    child.pinned |= pin;
                    out.template.push('/');
                    out.template.push_str(seg);
                    parent = Some((*seg).to_string());
                    node = child;
                }
            }
        }
        if out.template.is_empty() {
            out.template.push('/');
        }
        self.nodes = if out.collapsed {
            self.root.count()
        } else {
            nodes
        };
        Some(out)
    }

    /// The template of `path` without learning, when the tree knows it.
    pub fn lookup(&self, path: &str, max_segments: usize) -> Option<String> {
        let mut out = String::new();
        let mut used: Vec<String> = Vec::new();
        let mut node = &self.root;
        for seg in segments(path).take(max_segments) {
            if let Some(child) = node.lit.get(seg) {
                out.push('/');
                out.push_str(seg);
                node = child;
                continue;
            }
            let v = node.var.as_ref()?;
            let kind = seg_kind(seg);
            if kind == SegKind::String && !(v.kind == SegKind::String || v.forced) {
                return None;
            }
            push_var(&mut out, &v.name, &mut used);
            node = &v.node;
        }
        if out.is_empty() {
            out.push('/');
        }
        Some(out)
    }

    /// Makes the tree agree with a declared template: its literals are pinned
    /// (created if needed) and, when `absorb`, the unpinned literal children
    /// at its variable positions merge into the variable.
    pub fn apply_declared(&mut self, pieces: &[Forced], absorb: bool) {
        let mut node = &mut self.root;
        for f in pieces {
            match f {
                Forced::Literal(l) => {
                    let child = node.lit.entry(l.clone()).or_default();
                    child.pinned = true;
                    node = child;
                }
                Forced::Var(name) => {
                    if absorb {
                        let keys: Vec<String> = node
                            .lit
                            .iter()
                            .filter(|(_, n)| !n.pinned)
                            .map(|(k, _)| k.clone())
                            .collect();
                        let mut merged = Node::default();
                        for k in keys {
                            if let Some(c) = node.lit.remove(&k) {
                                merged.absorb(c);
                            }
                        }
                        if let Some(v) = node.var.as_mut() {
                            v.node.absorb(merged);
                            v.forced = true;
                        } else {
                            node.var = Some(Box::new(VarChild {
                                name: name.clone(),
                                kind: SegKind::String,
                                forced: true,
                                fresh: true,
                                node: merged,
                            }));
                        }
                    }
                    let v = node.var.get_or_insert_with(|| {
                        Box::new(VarChild {
                            name: name.clone(),
                            kind: SegKind::String,
                            forced: true,
                            fresh: true,
                            node: Node::default(),
                        })
                    });
                    node = &mut v.node;
                }
                Forced::Free => break,
            }
        }
        self.nodes = self.root.count();
    }

    /// The variables of a template with their kinds (names as in the
    /// template; kind `string` where the tree no longer knows the variable).
    pub fn var_kinds(&self, template: &str) -> Vec<(String, SegKind)> {
        let mut out = Vec::new();
        let mut node = Some(&self.root);
        for seg in segments(template) {
            let var = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}'));
            match var {
                Some(name) => {
                    let v = node.and_then(|n| n.var.as_ref());
                    out.push((name.to_string(), v.map_or(SegKind::String, |v| v.kind)));
                    node = v.map(|v| &v.node);
                }
                None => node = node.and_then(|n| n.lit.get(seg)),
            }
        }
        out
    }

    /// Maps a template learned earlier to the template the tree gives now
    /// (after a collapse or a spec import changed the tree).
    pub fn retemplate(&self, template: &str) -> String {
        let mut out = String::new();
        let mut used: Vec<String> = Vec::new();
        let mut node = Some(&self.root);
        for seg in segments(template) {
            let is_var = seg.starts_with('{') && seg.ends_with('}');
            let next = node.and_then(|n| {
                if !is_var && let Some(c) = n.lit.get(seg) {
                    return Some((None, c));
                }
                n.var.as_ref().map(|v| (Some(v.name.as_str()), &v.node))
            });
            match next {
                Some((None, c)) => {
                    out.push('/');
                    out.push_str(seg);
                    node = Some(c);
                }
                Some((Some(name), c)) => {
                    push_var(&mut out, name, &mut used);
                    node = Some(c);
                }
                None => {
                    out.push('/');
                    out.push_str(seg);
                    node = None;
                }
            }
        }
        if out.is_empty() {
            out.push('/');
        }
        out
    }
}

/// Whether a plain segment looks like a value rather than a word of the
/// API's vocabulary: resource names are lower-case words joined by `_` or `-`;
/// anything with digits, capitals, dots or other punctuation is value-like
/// (`US`, `SUMMER24`, `balance.summary.1`, `jdoe42`).
pub fn value_like(seg: &str) -> bool {
    !seg.bytes()
        .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'-')
}

/// Merges the unpinned literal children of `node` (only the value-like ones
/// when `only_values`) into its variable child.
fn collapse(node: &mut Node, parent: Option<&str>, only_values: bool) {
    let keys: Vec<String> = node
        .lit
        .iter()
        .filter(|(k, n)| !n.pinned && (!only_values || value_like(k)))
        .map(|(k, _)| k.clone())
        .collect();
    let mut merged = Node::default();
    for k in keys {
        if let Some(child) = node.lit.remove(&k) {
            merged.absorb(child);
        }
    }
    match node.var.as_mut() {
        Some(v) => {
            v.kind = SegKind::String;
            v.node.absorb(merged);
        }
        None => {
            node.var = Some(Box::new(VarChild {
                name: var_name(parent),
                kind: SegKind::String,
                forced: false,
                fresh: false,
                node: merged,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(seg_kind("42"), SegKind::Integer);
        assert_eq!(seg_kind("cus_9aK2xY"), SegKind::PrefixedId);
        assert_eq!(seg_kind("payment_intents"), SegKind::String);
        assert_eq!(seg_kind("2024-05-01"), SegKind::Date);
        assert_eq!(seg_kind("jane@example.com"), SegKind::Email);
        assert_eq!(seg_kind("5f3a9c2e7b1d4e6f8a9b0c1d"), SegKind::Hex);
        assert_eq!(seg_kind("oauth2_callback"), SegKind::String);
        assert_eq!(var_name(Some("customers")), "customer");
        assert_eq!(var_name(Some("categories")), "category");
        assert_eq!(var_name(Some("status")), "status_id");
    }
}
