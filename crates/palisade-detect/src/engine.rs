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
        let head = self.phase(ex, true);
        let body = self.phase(ex, false);
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

    fn phase(&self, ex: &mut Exchange, head: bool) -> Verdict {
        let mut new: Vec<Finding> = Vec::new();
        let mut forced = Verdict::Allow;
        {
            let req = &ex.request;
            let extracted = if head {
                extract::head(req, &self.limits)
            } else {
                extract::body(req, &self.limits)
            };
            let mut hits: Vec<(String, Hit)> = Vec::new();
            for d in detectors::REQUEST_DETECTORS {
                (d.run)(req, head, &mut hits);
            }
            for (loc, hit) in hits {
                push_finding(&mut new, &loc, "", hit, None);
            }
            overflow_findings(&extracted, &mut new);
            let decoded = self.detect_values(&extracted, &mut new);
            // rules see the head's values in the body phase too
            let head_values;
            let mut all: Vec<RuleValue<'_>> = decoded
                .iter()
                .map(|d| RuleValue {
                    part: d.part,
                    name: &d.name,
                    is_key: d.is_key,
                    text: &d.text,
                })
                .collect();
            if !head && self.rules.rules.iter().any(|r| !r.head) {
                head_values = decode_head_args(&extract::head_args(req, &self.limits));
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
    fn detect_values<'a>(
        &self,
        extracted: &Extracted<'a>,
        out: &mut Vec<Finding>,
    ) -> Vec<Decoded<'a>> {
        let mut kept = Vec::with_capacity(extracted.values.len());
        for v in &extracted.values {
            // structural headers only meet JNDI and CRLF, which need a `$`,
            // a line break, an escape or a request line to fire
            if v.part == Part::HeaderStructural && !structural_may_carry(&v.raw) {
                kept.push(Decoded {
                    part: v.part,
                    name: v.name.clone(),
                    is_key: v.is_key,
                    text: v.raw.clone(),
                });
                continue;
            }
            let (decoded, layers) = decode_cow(&v.raw);
            let plain = !v.is_key
                && detectors::is_plain(&decoded)
                && !detectors::name_is_suspicious(&v.name)
                && !detectors::plain_but_suspicious(&decoded);
            if !plain {
                let lower = decode::normalize(&decoded);
                let ascii = detectors::ascii_mask(&lower);
                let triggers = detectors::triggers(&lower);
                let subject = Subject {
                    part: v.part,
                    name: &v.name,
                    is_key: v.is_key,
                    raw: &v.raw,
                    decoded: &decoded,
                    lower: &lower,
                    layers,
                    ascii,
                    triggers,
                };
                // a user agent in the plain RFC 9110 product/comment grammar
                // carries no payload any value detector looks for
                let clean_ua = v.part == Part::Header
                    && v.name.eq_ignore_ascii_case("user-agent")
                    && detectors::is_clean_user_agent(&decoded)
                    && (triggers == 0
                        || detectors::triggers(&ua_without_engine_token(&lower)) == 0);
                let found = !clean_ua && run_value_detectors(&subject, v, out, None);
                // a value that is base64 of text is inspected as that text too
                if !found && !clean_ua {
                    inspect_base64(&subject, v, out);
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
            kept.push(Decoded {
                part: v.part,
                name: v.name.clone(),
                is_key: v.is_key,
                text: decoded,
            });
        }
        kept
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
    raw.bytes()
        .any(|b| matches!(b, b'$' | b'%' | b'\r' | b'\n' | b'\\' | b'&' | b'\0') || !b.is_ascii())
        || raw
            .as_bytes()
            .windows(5)
            .any(|w| w.eq_ignore_ascii_case(b"http/"))
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
    run_value_detectors(&s2, v, out, Some("base64"));
}

/// A user agent without the `(KHTML, like Gecko)` token every WebKit and
/// Blink browser sends: its `like` is not SQL, but any other trigger word in
/// the user agent still counts.
fn ua_without_engine_token(lower: &str) -> String {
    lower.replace("(khtml, like gecko)", "")
}

/// Runs the value detectors; whether any fired.
fn run_value_detectors(
    s: &Subject<'_>,
    v: &extract::Value<'_>,
    out: &mut Vec<Finding>,
    via: Option<&str>,
) -> bool {
    let mut any = false;
    let mut loc: Option<String> = None;
    for d in detectors::VALUE_DETECTORS {
        if !(d.applies)(s) {
            continue;
        }
        if let Some(hit) = (d.run)(s) {
            let l = loc.get_or_insert_with(|| v.location());
            push_finding(out, l, &v.name, hit, via);
            any = true;
        }
    }
    any
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
        Ok(self.phase(ex, true))
    }

    fn request_body_filter(&self, ex: &mut Exchange) -> Result<Verdict, InspectError> {
        Ok(self.phase(ex, false))
    }
}
