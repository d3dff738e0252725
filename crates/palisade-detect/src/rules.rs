//! Rules: one format for built-in and user rules, TOML or YAML.
//!
//! A rule is an id, conditions over request fields, extracted values and
//! detector results (all `when` conditions must hold, no `unless` condition
//! may), and an action: `block`, `log`, `score`, `rate_limit` or `tag`. See
//! `docs/rules.md` for the reference. Loading validates every rule and
//! reports every problem at once with its file, line and a hint; a file with
//! any problem is rejected whole (never half-loaded).
//!
//! This module parses, validates and evaluates rules; it does not decide the
//! verdict (the engine combines rule results with detector scores).

use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use palisade_core::Severity;
use serde::Deserialize;

use crate::error::{Diagnostic, Diagnostics};
use crate::extract::Part;

/// What a rule does when it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleAction {
    /// Block whatever the score.
    Block,
    /// Record a finding (score 0 unless given); the verdict is at least `log`.
    Log,
    /// Add `score` anomaly points; the threshold decides.
    Score,
    /// Answer 429 with `Retry-After`.
    RateLimit { retry_after_secs: u64 },
    /// Annotate the request (a finding of kind `tag`); no verdict change.
    Tag,
}

impl RuleAction {
    pub fn as_str(&self) -> &'static str {
        match self {
            RuleAction::Block => "block",
            RuleAction::Log => "log",
            RuleAction::Score => "score",
            RuleAction::RateLimit { .. } => "rate_limit",
            RuleAction::Tag => "tag",
        }
    }
}

/// Which request fields a condition reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Method,
    Path,
    Target,
    QueryString,
    Host,
    ClientIp,
    Route,
    Version,
    Body,
    Header(String),
    Headers,
    HeaderNames,
    Cookie(String),
    Cookies,
    QueryArg(String),
    BodyArg(String),
    Arg(String),
    Args,
    ArgNames,
    Filenames,
    Detector,
    RuleId,
    Score,
}

impl Field {
    /// Whether the field is known before the body is read.
    pub fn in_head(&self) -> bool {
        !matches!(
            self,
            Field::Body
                | Field::BodyArg(_)
                | Field::Arg(_)
                | Field::Args
                | Field::ArgNames
                | Field::Filenames
                | Field::Detector
                | Field::RuleId
                | Field::Score
        )
    }
}

/// How a condition compares.
#[derive(Debug, Clone)]
pub enum Op {
    Equals(String),
    Contains(String),
    Prefix(String),
    Suffix(String),
    Regex(regex::Regex),
    In(Vec<String>),
    Exists,
    Cidr(Vec<IpNet>),
    Gt(f64),
    Ge(f64),
    Lt(f64),
    Le(f64),
    LenGt(usize),
}

/// One compiled condition.
#[derive(Debug, Clone)]
pub struct Condition {
    pub field: Field,
    pub op: Op,
    pub negate: bool,
    pub case_insensitive: bool,
    /// For a regex: bytes one of which every match contains, looked for
    /// before the regex runs.
    required: Option<Vec<u8>>,
}

/// Bytes one of which every match of `pattern` contains, when that is plain
/// to see: each top-level alternative starts with a literal punctuation byte
/// (`\\.`, `~`) that no quantifier follows. Anything less obvious (classes,
/// comments, groups or letters first, more than three bytes) gets `None`:
/// no prefilter.
fn required_bytes(pattern: &str) -> Option<Vec<u8>> {
    let b = pattern.as_bytes();
    if b.iter().any(|&c| matches!(c, b'[' | b']' | b'#')) || !pattern.is_ascii() {
        return None;
    }
    // the top-level alternatives
    let mut alts = vec![0usize];
    let mut depth = 0i32;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'\\' => i += 1,
            b'(' => depth += 1,
            b')' => depth -= 1,
            b'|' if depth <= 0 => alts.push(i + 1),
            _ => {}
        }
        i += 1;
    }
    let mut bytes = Vec::new();
    for &at in &alts {
        let (lit, next) = match (b.get(at), b.get(at + 1)) {
            // (`\<` and `\>` are word boundaries, letters are classes)
            (Some(b'\\'), Some(&l)) if matches!(l, b'.' | b'/' | b'-' | b'$' | b'\\') => {
                (l, b.get(at + 2))
            }
            (Some(&l), next)
                if matches!(
                    l,
                    b'~' | b'@'
                        | b'%'
                        | b'='
                        | b':'
                        | b';'
                        | b','
                        | b'!'
                        | b'&'
                        | b'/'
                        | b'-'
                        | b'_'
                        | b'"'
                        | b'\''
                        | b'<'
                        | b'>'
                ) =>
            {
                (l, next)
            }
            _ => return None,
        };
        if matches!(next, Some(b'?' | b'*' | b'{' | b'+')) {
            return None;
        }
        if !bytes.contains(&lit) {
            bytes.push(lit);
        }
    }
    (bytes.len() <= 3).then_some(bytes)
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub description: String,
    pub action: RuleAction,
    pub score: u32,
    pub severity: Severity,
    pub tags: Vec<String>,
    pub when: Vec<Condition>,
    pub unless: Vec<Condition>,
    /// Every field it reads is in the head: it runs in the head phase.
    pub head: bool,
    pub origin: String,
    pub line: usize,
}

/// Rules from one or more files.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
}

impl RuleSet {
    pub fn extend(&mut self, other: RuleSet) {
        self.rules.extend(other.rules);
    }
    pub fn len(&self) -> usize {
        self.rules.len()
    }
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default, alias = "rules")]
    rule: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    #[serde(default)]
    description: String,
    action: String,
    #[serde(default)]
    score: Option<u32>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    retry_after_secs: Option<u64>,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    when: Vec<RawCondition>,
    #[serde(default)]
    unless: Vec<RawCondition>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    field: String,
    op: String,
    #[serde(default)]
    value: Option<serde_json::Value>,
    #[serde(default)]
    negate: bool,
    #[serde(default)]
    case_insensitive: bool,
}

/// 1-based line of the first line at or after `from` containing `needle`.
fn line_of(src: &str, needle: &str, from: usize) -> usize {
    if needle.is_empty() {
        return from.max(1);
    }
    src.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, l)| l.contains(needle))
        .map_or(from.max(1), |(i, _)| i + 1)
}

/// Column (1-based) of `needle` in line `line`.
fn col_of(src: &str, needle: &str, line: usize) -> usize {
    src.lines()
        .nth(line.saturating_sub(1))
        .and_then(|l| l.find(needle))
        .map_or(1, |c| c + 1)
}

/// Parses and validates rules. `origin` names the source in diagnostics;
/// its extension (`.toml`, `.yaml`, `.yml`) chooses the format (TOML when it
/// has none).
pub fn parse_rules(src: &str, origin: &str) -> Result<RuleSet, Diagnostics> {
    let yaml = origin.ends_with(".yaml") || origin.ends_with(".yml");
    let mut diags = Diagnostics::default();
    let doc: Result<serde_json::Value, (usize, usize, String)> = if yaml {
        serde_saphyr::from_str::<serde_json::Value>(src).map_err(|e| {
            let msg = e.to_string();
            let (l, c) = yaml_position(&msg);
            (l, c, msg.lines().next().unwrap_or("").to_string())
        })
    } else {
        toml::from_str::<serde_json::Value>(src).map_err(|e| {
            let (l, c) = e.span().map_or((0, 0), |sp| position(src, sp.start));
            (l, c, e.message().to_string())
        })
    };
    let doc = match doc {
        Ok(d) => d,
        Err((line, col, msg)) => {
            diags.push(Diagnostic::new(
                origin,
                line,
                col,
                format!("syntax error: {msg}"),
                if yaml {
                    "check indentation and quoting"
                } else {
                    "check quoting, brackets and `[[rule]]` headers"
                },
            ));
            return Err(diags);
        }
    };
    let file: RawFile = match serde_json::from_value(doc) {
        Ok(f) => f,
        Err(e) => {
            diags.push(Diagnostic::new(
                origin,
                1,
                1,
                format!("not a rule file: {e}"),
                "a rule file holds a list `rule` of rules (`[[rule]]` in TOML, `rule:` in YAML)",
            ));
            return Err(diags);
        }
    };
    let header = if yaml { "- id:" } else { "[[rule" };
    let mut set = RuleSet::default();
    let mut seen: Vec<String> = Vec::new();
    let mut cursor = 1;
    for (i, raw) in file.rule.into_iter().enumerate() {
        let id_hint = raw
            .get("id")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        let line = if id_hint.is_empty() {
            line_of(src, header, cursor)
        } else {
            line_of(src, &id_hint, cursor)
        };
        cursor = line + 1;
        let rr: RawRule = match serde_json::from_value(raw) {
            Ok(r) => r,
            Err(e) => {
                diags.push(Diagnostic::new(origin, line, 1, format!("rule #{} ({}): {e}", i + 1, if id_hint.is_empty() { "no id" } else { &id_hint }), "fields are id, description, action, score, severity, tags, retry_after_secs, enabled, when, unless"));
                continue;
            }
        };
        if seen.contains(&rr.id) {
            diags.push(Diagnostic::new(
                origin,
                line,
                col_of(src, &rr.id, line),
                format!("duplicate rule id `{}`", rr.id),
                "give every rule a unique id",
            ));
        }
        seen.push(rr.id.clone());
        if let Some(rule) = compile_rule(rr, src, origin, line, &mut diags) {
            set.rules.push(rule);
        }
    }
    if diags.is_empty() {
        Ok(set)
    } else {
        Err(diags)
    }
}

fn position(src: &str, offset: usize) -> (usize, usize) {
    let before = src.get(..offset.min(src.len())).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |p| before.len() - p - 1)
        + 1;
    (line, col)
}

/// serde-saphyr errors mention `line N column M`; pick them out.
fn yaml_position(msg: &str) -> (usize, usize) {
    let num_after = |key: &str| -> usize {
        msg.find(key)
            .and_then(|p| msg.get(p + key.len()..))
            .map(|r| {
                r.trim_start()
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
            })
            .and_then(|d| d.parse().ok())
            .unwrap_or(0)
    };
    (num_after("line"), num_after("column"))
}

fn compile_rule(
    rr: RawRule,
    src: &str,
    origin: &str,
    line: usize,
    diags: &mut Diagnostics,
) -> Option<Rule> {
    let before = diags.0.len();
    let mut d = |needle: &str, msg: String, hint: &str| {
        let l = line_of(src, needle, line);
        diags.push(Diagnostic::new(
            origin,
            l,
            col_of(src, needle, l),
            msg,
            hint,
        ));
    };
    if rr.id.is_empty()
        || !rr
            .id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
    {
        d(
            &rr.id,
            format!("rule id `{}` is not valid", rr.id),
            "use letters, digits, `.`, `-` and `_`, e.g. `vp.cve-2024-1234`",
        );
    }
    if !origin.starts_with("builtin") && rr.id.starts_with("builtin.") {
        d(
            &rr.id,
            format!("rule id `{}` uses the reserved prefix `builtin.`", rr.id),
            "pick another prefix, e.g. `user.`",
        );
    }
    let action = match rr.action.as_str() {
        "block" => RuleAction::Block,
        "log" => RuleAction::Log,
        "score" => RuleAction::Score,
        "tag" => RuleAction::Tag,
        "rate_limit" => RuleAction::RateLimit {
            retry_after_secs: rr.retry_after_secs.unwrap_or(60),
        },
        other => {
            d(
                other,
                format!("unknown action `{other}`"),
                "one of block, log, score, rate_limit, tag",
            );
            RuleAction::Log
        }
    };
    if action == RuleAction::Score && rr.score.is_none() {
        d(
            &rr.id,
            format!("rule `{}` has action `score` but no `score`", rr.id),
            "add `score = 5` (points added to the request's anomaly score)",
        );
    }
    if rr.retry_after_secs.is_some() && !matches!(action, RuleAction::RateLimit { .. }) {
        d(
            "retry_after_secs",
            "`retry_after_secs` is only used by the `rate_limit` action".into(),
            "remove it or set `action = \"rate_limit\"`",
        );
    }
    let severity = match rr.severity.as_deref().unwrap_or("medium") {
        "info" => Severity::Info,
        "low" => Severity::Low,
        "medium" => Severity::Medium,
        "high" => Severity::High,
        "critical" => Severity::Critical,
        other => {
            d(
                other,
                format!("unknown severity `{other}`"),
                "one of info, low, medium, high, critical",
            );
            Severity::Medium
        }
    };
    if rr.when.is_empty() {
        d(
            &rr.id,
            format!("rule `{}` has no `when` conditions", rr.id),
            "add at least one condition; a rule that always matches is a mistake",
        );
    }
    let mut when = Vec::new();
    let mut unless = Vec::new();
    for (list, out) in [(rr.when, &mut when), (rr.unless, &mut unless)] {
        for c in list {
            match compile_condition(&c) {
                Ok(cond) => out.push(cond),
                Err((needle, msg, hint)) => {
                    let needle = if needle.is_empty() {
                        c.field.clone()
                    } else {
                        needle
                    };
                    d(&needle, msg, &hint);
                }
            }
        }
    }
    if diags.0.len() > before || !rr.enabled {
        return None;
    }
    let head = when.iter().chain(unless.iter()).all(|c| c.field.in_head());
    let score = rr.score.unwrap_or(match action {
        RuleAction::Block => 10,
        _ => 0,
    });
    Some(Rule {
        id: rr.id,
        description: rr.description,
        action,
        score,
        severity,
        tags: rr.tags,
        when,
        unless,
        head,
        origin: origin.to_string(),
        line,
    })
}

type CondError = (String, String, String);

fn parse_field(f: &str) -> Result<Field, CondError> {
    let lower = f.to_ascii_lowercase();
    let (head, rest) = match lower.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (lower.as_str(), None),
    };
    let named = |r: Option<&str>| r.filter(|r| !r.is_empty()).map(str::to_string);
    Ok(match (head, rest) {
        ("method", None) => Field::Method,
        ("path", None) => Field::Path,
        ("target", None) => Field::Target,
        ("query", None) => Field::QueryString,
        ("host", None) => Field::Host,
        ("client_ip", None) => Field::ClientIp,
        ("route", None) => Field::Route,
        ("version", None) => Field::Version,
        ("body", None) => Field::Body,
        ("headers", None) => Field::Headers,
        ("header_names", None) => Field::HeaderNames,
        ("cookies", None) => Field::Cookies,
        ("args", None) => Field::Args,
        ("arg_names", None) => Field::ArgNames,
        ("filenames", None) => Field::Filenames,
        ("detector", None) => Field::Detector,
        ("rule", None) => Field::RuleId,
        ("score", None) => Field::Score,
        ("header", r) => Field::Header(named(r).ok_or_else(|| {
            (
                f.to_string(),
                "`header` needs a name".into(),
                "write `header.user-agent`; `headers` reads every header".into(),
            )
        })?),
        ("cookie", r) => Field::Cookie(named(r).ok_or_else(|| {
            (
                f.to_string(),
                "`cookie` needs a name".into(),
                "write `cookie.session`; `cookies` reads every cookie".into(),
            )
        })?),
        ("query", r) => Field::QueryArg(
            f.split_once('.')
                .map(|(_, r)| r.to_string())
                .or(named(r))
                .unwrap_or_default(),
        ),
        ("body", r) => Field::BodyArg(
            f.split_once('.')
                .map(|(_, r)| r.to_string())
                .or(named(r))
                .unwrap_or_default(),
        ),
        ("args", r) => Field::Arg(
            f.split_once('.')
                .map(|(_, r)| r.to_string())
                .or(named(r))
                .unwrap_or_default(),
        ),
        ("actor" | "catalog", _) => {
            return Err((f.to_string(), format!("field `{f}` is not available in this version"), "actor and catalog fields come with the actor and catalog snapshots; use request fields for now".into()));
        }
        _ => {
            return Err((
                f.to_string(),
                format!("unknown field `{f}`"),
                "fields: method, path, target, query, host, client_ip, route, version, body, header.NAME, headers, header_names, cookie.NAME, cookies, query.NAME, body.PATH, args.NAME, args, arg_names, filenames, detector, rule, score".into(),
            ));
        }
    })
}

fn compile_condition(c: &RawCondition) -> Result<Condition, CondError> {
    let field = parse_field(&c.field)?;
    let str_value = || -> Result<String, CondError> {
        match &c.value {
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
            Some(serde_json::Value::Bool(b)) => Ok(b.to_string()),
            _ => Err((
                c.op.clone(),
                format!("op `{}` needs a string `value`", c.op),
                "add `value = \"...\"`".into(),
            )),
        }
    };
    let list_value = || -> Result<Vec<String>, CondError> {
        match &c.value {
            Some(serde_json::Value::Array(a)) => Ok(a
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect()),
            Some(serde_json::Value::String(s)) => Ok(vec![s.clone()]),
            _ => Err((
                c.op.clone(),
                format!("op `{}` needs a list `value`", c.op),
                "add `value = [\"a\", \"b\"]`".into(),
            )),
        }
    };
    let num_value = || -> Result<f64, CondError> {
        match &c.value {
            Some(serde_json::Value::Number(n)) => n
                .as_f64()
                .ok_or_else(|| (c.op.clone(), "number out of range".into(), String::new())),
            Some(serde_json::Value::String(s)) => s.parse().map_err(|_| {
                (
                    s.clone(),
                    format!("`{s}` is not a number"),
                    "write a number without quotes".into(),
                )
            }),
            _ => Err((
                c.op.clone(),
                format!("op `{}` needs a numeric `value`", c.op),
                "add `value = 10`".into(),
            )),
        }
    };
    let ci = |s: String| {
        if c.case_insensitive {
            s.to_lowercase()
        } else {
            s
        }
    };
    let op = match c.op.as_str() {
        "equals" | "eq" => Op::Equals(ci(str_value()?)),
        "contains" => Op::Contains(ci(str_value()?)),
        "prefix" | "starts_with" => Op::Prefix(ci(str_value()?)),
        "suffix" | "ends_with" => Op::Suffix(ci(str_value()?)),
        "regex" => {
            let p = str_value()?;
            let built = regex::RegexBuilder::new(&p)
                .case_insensitive(c.case_insensitive)
                .size_limit(1 << 20)
                .build();
            Op::Regex(built.map_err(|e| {
                (
                    p.clone(),
                    format!("bad regex: {}", e.to_string().lines().last().unwrap_or("")),
                    "the syntax is Rust `regex` (no look-around, no backreferences)".into(),
                )
            })?)
        }
        "in" => Op::In(list_value()?.into_iter().map(ci).collect()),
        "exists" => Op::Exists,
        "cidr" => {
            let mut nets = Vec::new();
            for s in list_value()? {
                let net = s
                    .parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from));
                nets.push(net.map_err(|_| {
                    (
                        s.clone(),
                        format!("`{s}` is not an address or network"),
                        "write `10.0.0.0/8` or `2001:db8::/32`".into(),
                    )
                })?);
            }
            Op::Cidr(nets)
        }
        "gt" => Op::Gt(num_value()?),
        "ge" => Op::Ge(num_value()?),
        "lt" => Op::Lt(num_value()?),
        "le" => Op::Le(num_value()?),
        "len_gt" => Op::LenGt(num_value()? as usize),
        other => {
            return Err((other.to_string(), format!("unknown op `{other}`"), "one of equals, contains, prefix, suffix, regex, in, exists, cidr, gt, ge, lt, le, len_gt".into()));
        }
    };
    if matches!(op, Op::Cidr(_)) && field != Field::ClientIp {
        return Err((
            c.op.clone(),
            "op `cidr` only applies to `client_ip`".into(),
            "use `field = \"client_ip\"`".into(),
        ));
    }
    let required = match &op {
        Op::Regex(r) => required_bytes(r.as_str()),
        _ => None,
    };
    Ok(Condition {
        field,
        op,
        negate: c.negate,
        case_insensitive: c.case_insensitive,
        required,
    })
}

/// Loads a rule file; the format follows the extension.
pub fn load_rules(path: &Path) -> Result<RuleSet, Diagnostics> {
    let origin = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(src) => parse_rules(&src, &origin),
        Err(e) => Err(Diagnostics(vec![Diagnostic::new(
            &origin,
            0,
            0,
            format!("cannot read rule file: {e}"),
            "check the path in `rules` and its permissions",
        )])),
    }
}

/// The built-in rules, shipped in the binary.
pub fn builtin() -> Result<RuleSet, Diagnostics> {
    parse_rules(include_str!("builtin.toml"), "builtin.toml")
}

/// One decoded value as rules see it.
#[derive(Debug, Clone)]
pub struct RuleValue<'a> {
    pub part: Part,
    pub name: &'a str,
    pub is_key: bool,
    pub text: &'a str,
}

impl RuleValue<'_> {
    fn location(&self) -> String {
        crate::extract::location(self.part, self.name, self.is_key)
    }
}

/// Whether `v` is a prefix of `s` lower-cased (`s` ASCII).
fn ascii_lower_prefix(s: &str, v: &str) -> bool {
    v.len() <= s.len()
        && v.bytes()
            .zip(s.bytes())
            .all(|(a, b)| a == b.to_ascii_lowercase())
}

/// What a condition can read.
pub struct RuleInput<'a> {
    pub ex: &'a palisade_core::Exchange,
    pub values: &'a [RuleValue<'a>],
    pub kinds: &'a [&'a str],
    pub rule_ids: &'a [&'a str],
    pub score: u32,
}

impl Condition {
    fn test_str(&self, s: &str) -> bool {
        if let Some(need) = &self.required {
            let h = s.as_bytes();
            let found = match need.as_slice() {
                [a] => memchr::memchr(*a, h).is_some(),
                [a, b] => memchr::memchr2(*a, *b, h).is_some(),
                [a, b, c] => memchr::memchr3(*a, *b, *c, h).is_some(),
                _ => true,
            };
            if !found {
                return false;
            }
        }
        // an ASCII text lower-cases byte by byte: compare without a copy
        if self.case_insensitive && s.is_ascii() {
            let eq = |v: &str| v.len() == s.len() && ascii_lower_prefix(s, v);
            match &self.op {
                Op::Equals(v) => return eq(v),
                Op::In(vs) => return vs.iter().any(|v| eq(v)),
                Op::Prefix(v) => return v.len() <= s.len() && ascii_lower_prefix(s, v),
                Op::Suffix(v) => {
                    return v.len() <= s.len()
                        && s.get(s.len() - v.len()..)
                            .is_some_and(|t| ascii_lower_prefix(t, v));
                }
                _ => {}
            }
        }
        let owned;
        let s = if self.case_insensitive && !matches!(self.op, Op::Regex(_)) {
            owned = s.to_lowercase();
            owned.as_str()
        } else {
            s
        };
        match &self.op {
            Op::Equals(v) => s == v,
            Op::Contains(v) => s.contains(v.as_str()),
            Op::Prefix(v) => s.starts_with(v.as_str()),
            Op::Suffix(v) => s.ends_with(v.as_str()),
            Op::Regex(r) => r.is_match(s),
            Op::In(vs) => vs.iter().any(|v| v == s),
            Op::Exists => true,
            Op::Cidr(nets) => s
                .parse::<IpAddr>()
                .is_ok_and(|ip| nets.iter().any(|n| n.contains(&ip))),
            Op::Gt(n) => s.parse::<f64>().is_ok_and(|x| x > *n),
            Op::Ge(n) => s.parse::<f64>().is_ok_and(|x| x >= *n),
            Op::Lt(n) => s.parse::<f64>().is_ok_and(|x| x < *n),
            Op::Le(n) => s.parse::<f64>().is_ok_and(|x| x <= *n),
            Op::LenGt(n) => s.chars().count() > *n,
        }
    }

    /// Whether the condition holds; when it does on a value, that value's
    /// location and text (for the finding).
    pub fn eval(&self, inp: &RuleInput<'_>) -> Option<(String, String)> {
        let r = self.eval_raw(inp);
        match (r, self.negate) {
            (Some(hit), false) => Some(hit),
            (None, true) => Some(("request".into(), String::new())),
            _ => None,
        }
    }

    fn eval_raw(&self, inp: &RuleInput<'_>) -> Option<(String, String)> {
        let req = &inp.ex.request;
        let one = |loc: &str, v: Option<&str>| -> Option<(String, String)> {
            v.filter(|v| self.test_str(v))
                .map(|v| (loc.to_string(), v.to_string()))
        };
        let values =
            |pred: &dyn Fn(&RuleValue<'_>) -> bool, names: bool| -> Option<(String, String)> {
                inp.values.iter().filter(|v| pred(v)).find_map(|v| {
                    let t = if names { v.name } else { v.text };
                    self.test_str(t).then(|| (v.location(), t.to_string()))
                })
            };
        let is_arg = |v: &RuleValue<'_>| {
            matches!(
                v.part,
                Part::Query | Part::Form | Part::Json | Part::Xml | Part::Multipart
            ) && !v.is_key
        };
        match &self.field {
            Field::Method => one("method", Some(&req.method)),
            Field::Path => one("path", Some(req.path())),
            Field::Target => one("target", Some(&req.target)),
            Field::QueryString => one("query", req.query()),
            Field::Host => one("host", req.host.as_deref().or_else(|| req.header("host"))),
            Field::ClientIp => one("client_ip", Some(&inp.ex.client_ip.to_string())),
            Field::Route => one("route", inp.ex.route.as_deref()),
            Field::Version => one("version", Some(&req.version)),
            Field::Body => one("body", req.body.text()),
            Field::Header(n) => req
                .headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(n))
                .find_map(|(k, v)| {
                    self.test_str(v)
                        .then(|| (format!("header.{}", k.to_ascii_lowercase()), v.to_string()))
                }),
            Field::Headers => req.headers.iter().find_map(|(k, v)| {
                self.test_str(v)
                    .then(|| (format!("header.{}", k.to_ascii_lowercase()), v.to_string()))
            }),
            Field::HeaderNames => req.headers.iter().find_map(|(k, _)| {
                self.test_str(k)
                    .then(|| (format!("header.{}", k.to_ascii_lowercase()), k.to_string()))
            }),
            Field::Cookie(n) => values(
                &|v| v.part == Part::Cookie && !v.is_key && v.name.eq_ignore_ascii_case(n),
                false,
            ),
            Field::Cookies => values(&|v| v.part == Part::Cookie && !v.is_key, false),
            Field::QueryArg(n) => values(
                &|v| v.part == Part::Query && !v.is_key && v.name == n,
                false,
            ),
            Field::BodyArg(n) => values(
                &|v| {
                    v.part.is_body()
                        && v.part != Part::Filename
                        && !v.is_key
                        && (v.name == n || crate::config::glob(n, v.name))
                },
                false,
            ),
            Field::Arg(n) => values(
                &|v| is_arg(v) && (v.name == n || crate::config::glob(n, v.name)),
                false,
            ),
            Field::Args => values(&is_arg, false),
            Field::ArgNames => values(&is_arg, true),
            Field::Filenames => values(&|v| v.part == Part::Filename, false),
            Field::Detector => inp.kinds.iter().find_map(|k| one("request", Some(k))),
            Field::RuleId => inp.rule_ids.iter().find_map(|k| one("request", Some(k))),
            Field::Score => one("request", Some(&inp.score.to_string())),
        }
    }
}

impl Rule {
    /// Whether the rule matches; the location and text of the first value
    /// condition that matched, for the finding.
    pub fn eval(&self, inp: &RuleInput<'_>) -> Option<(String, String)> {
        let mut first: Option<(String, String)> = None;
        for c in &self.when {
            let hit = c.eval(inp)?;
            let general = |l: &str| {
                matches!(
                    l,
                    "request"
                        | "path"
                        | "method"
                        | "target"
                        | "query"
                        | "host"
                        | "client_ip"
                        | "route"
                        | "version"
                )
            };
            if first
                .as_ref()
                .is_none_or(|(l, _)| general(l) && !general(&hit.0))
            {
                first = Some(hit);
            }
        }
        if self.unless.iter().any(|c| c.eval(inp).is_some()) {
            return None;
        }
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_prefilter_bytes() {
        let some = |b: &[u8]| Some(b.to_vec());
        for (pattern, want) in [
            (r"\.(oast\.(pro|live)|interact\.sh)(?-u:\b)", some(b".")),
            (r"\.\s*(php|jsp)(\s|\.|$|%00|;)", some(b".")),
            // (classes are not read: no prefilter)
            (r"\.\s*(php[0-9]?|jsp)(\s|\.|$|%00|;)", None),
            (r"\/admin", some(b"/")),
            (r"\.(bak|old)$|~$", some(b".~")),
            (r"\.(bak|old)$|~$|\.x|@y", some(b".~@")),
            (r"\.a|~b|@c|%d", None),
            (r"\.(bak|old)$|", None),
            (r"set-cookie|document\.cookie", None),
            (r"\.?x", None),
            (r"~*x", None),
            (r"\.{0,1}x", None),
            (r"\d+", None),
            (r"\<word", None),
            (r"\.[a|b]", None),
            (r"(?x)\.a # b|c", None),
            (r"\.(a)|b", None),
            (r"x\.", None),
            (r"^\.x", None),
            (r"(\.x)", None),
        ] {
            assert_eq!(required_bytes(pattern), want, "{pattern}");
        }
        // the prefilter never changes what a rule matches
        let src = "[[rule]]\nid = \"user.x\"\naction = \"block\"\n[[rule.when]]\nfield = \"path\"\nop = \"regex\"\ncase_insensitive = true\nvalue = '\\.(bak|php)$'\n";
        let set = parse_rules(src, "a.toml").unwrap_or_else(|d| panic!("{d}"));
        let c = &set.rules[0].when[0];
        assert_eq!(c.required, Some(b".".to_vec()));
        for (s, m) in [
            ("/x.PHP", true),
            ("/x.bak", true),
            ("/xphp", false),
            ("/x.txt", false),
        ] {
            assert_eq!(c.test_str(s), m, "{s}");
        }
    }

    #[test]
    fn case_insensitive_ascii_fast_path() {
        let mk = |op: &str, value: &str| {
            let src = format!(
                "[[rule]]\nid = \"user.x\"\naction = \"block\"\n[[rule.when]]\nfield = \"args\"\nop = \"{op}\"\ncase_insensitive = true\nvalue = {value}\n"
            );
            let set = parse_rules(&src, "a.toml").unwrap_or_else(|d| panic!("{d}"));
            set.rules[0].when[0].clone()
        };
        let eq = mk("equals", "\"SessionID\"");
        let within = mk("in", "[\"JSESSIONID\", \"sid\"]");
        let pre = mk("prefix", "\"Abc\"");
        let suf = mk("suffix", "\"XYZ\"");
        for s in [
            "sessionid",
            "SESSIONID",
            "sessionid2",
            "Sid",
            "SİD",
            "sİd",
            "abcd",
            "ABC",
            "ab",
            "wxyz",
            "xyz",
            "XY",
            "",
            "straße",
            "ΣΑΣ",
        ] {
            let l = s.to_lowercase();
            assert_eq!(eq.test_str(s), l == "sessionid", "{s}");
            assert_eq!(within.test_str(s), l == "jsessionid" || l == "sid", "{s}");
            assert_eq!(pre.test_str(s), l.starts_with("abc"), "{s}");
            assert_eq!(suf.test_str(s), l.ends_with("xyz"), "{s}");
        }
    }

    #[test]
    fn builtin_rules_load() {
        let set = builtin().unwrap_or_else(|d| panic!("{d}"));
        assert!(set.len() >= 3);
    }

    #[test]
    fn every_problem_reported_with_lines() {
        let src = r#"
[[rule]]
id = "user.a"
action = "explode"
[[rule.when]]
field = "path"
op = "prefix"
value = "/x"

[[rule]]
id = "user.b"
action = "block"
[[rule.when]]
field = "heder.x"
op = "equals"
value = "1"
[[rule.when]]
field = "args"
op = "regex"
value = "(unclosed"
"#;
        let d = parse_rules(src, "r.toml").unwrap_err();
        let text = d.to_string();
        assert_eq!(d.0.len(), 3, "{text}");
        assert!(text.contains("r.toml:4:"), "{text}");
        assert!(text.contains("r.toml:14:"), "{text}");
        assert!(text.contains("r.toml:20:"), "{text}");
        assert!(text.contains("hint:"));
    }

    #[test]
    fn yaml_and_toml_agree() {
        let toml = "[[rule]]\nid = \"user.x\"\naction = \"block\"\n[[rule.when]]\nfield = \"path\"\nop = \"prefix\"\nvalue = \"/admin\"\n";
        let yaml = "rule:\n  - id: user.x\n    action: block\n    when:\n      - field: path\n        op: prefix\n        value: /admin\n";
        let a = parse_rules(toml, "a.toml").unwrap();
        let b = parse_rules(yaml, "a.yaml").unwrap_or_else(|d| panic!("{d}"));
        assert_eq!(a.rules[0].id, b.rules[0].id);
        assert!(a.rules[0].head && b.rules[0].head);
        let bad = parse_rules("rule:\n  - id: [\n", "b.yml").unwrap_err();
        assert_eq!(bad.0.len(), 1);
    }
}
