//! What an incident says about itself: title, severity, plain-language
//! summary, next steps with exact rule text, and exclusion proposals.
//!
//! Pure functions of an [`Incident`]; no state, no clock. The wording is
//! written for the on-call engineer who must understand an incident in
//! minutes: what happened, how far it got, what to do now.

use palisade_core::{Phase, Severity};

use crate::model::{ExclusionProposal, GroupKey, Incident, KindStat, NextStep};
use crate::timefmt;

/// A reader's name for a finding kind.
pub fn kind_label(kind: &str) -> String {
    let s = match kind {
        "sqli" => "SQL injection",
        "xss" => "Cross-site scripting",
        "cmdi" => "Command injection",
        "code" => "Code injection",
        "traversal" => "Path traversal",
        "ssrf" => "Server-side request forgery",
        "xxe" => "XML external entity",
        "ssti" => "Template injection",
        "nosql" => "NoSQL injection",
        "ldap" => "LDAP injection",
        "jndi" => "JNDI / Log4Shell injection",
        "crlf" => "CRLF / header injection",
        "proto_pollution" | "prototype_pollution" => "Prototype pollution",
        "scanner" => "Known scanner",
        "protocol" => "Protocol abuse",
        "limits" => "Oversized request",
        "card_testing" => "Card testing",
        "credential_stuffing" => "Credential stuffing",
        "enumeration" => "Enumeration",
        "scanning" => "Scanning",
        "scraping" => "Scraping",
        "flood" => "Flood",
        "actor" => "Activity of a blocked actor",
        "bola" => "Broken object-level authorization",
        "account_takeover" => "Account takeover",
        "rule" | "user" => "Custom rule match",
        other => {
            let mut t = other.replace(['_', '.'], " ");
            if let Some(c) = t.get(..1) {
                let up = c.to_ascii_uppercase();
                t.replace_range(..1, &up);
            }
            return t;
        }
    };
    s.to_string()
}

/// Whether a kind is about behaviour (abuse, decisions) rather than the
/// content of one request.
fn behavioural(k: &KindStat) -> bool {
    k.locations.iter().all(|l| l == "actor")
}

/// How well a behavioural kind names an attack (higher is better): the
/// abuse itself (card testing, credential stuffing, enumeration, scraping,
/// and kinds this crate does not know) before what it leads to or exposes
/// (account takeover, broken object-level authorization), before mere
/// volume (flood), before a blocked actor's decision findings.
pub fn abuse_rank(kind: &str) -> u8 {
    match kind {
        "card_testing" | "credential_stuffing" | "enumeration" | "scraping" => 4,
        "bola" | "account_takeover" => 2,
        "flood" => 1,
        "actor" => 0,
        _ => 3,
    }
}

/// The kind that names the attack, whatever kind is most frequent:
/// 1. a behavioural abuse (card testing, credential stuffing, ...; see
///    [`abuse_rank`]), the most telling first;
/// 2. else a content attack (injection and the like) in the furthest phase,
///    then of the highest severity, then the most frequent;
/// 3. else recon (scanners, probing paths);
/// 4. else anything but a blocked actor's decision findings (a flood);
/// 5. else those.
fn dominant(inc: &Incident) -> Option<&KindStat> {
    let by_phase = |a: &&KindStat, b: &&KindStat| {
        (a.phase, a.max_severity, a.count, std::cmp::Reverse(&a.kind)).cmp(&(
            b.phase,
            b.max_severity,
            b.count,
            std::cmp::Reverse(&b.kind),
        ))
    };
    let abuse = inc
        .kinds
        .iter()
        .filter(|k| behavioural(k) && k.phase >= Phase::Exploitation && abuse_rank(&k.kind) >= 2)
        .max_by(|a, b| {
            (abuse_rank(&a.kind), a.count, std::cmp::Reverse(&a.kind)).cmp(&(
                abuse_rank(&b.kind),
                b.count,
                std::cmp::Reverse(&b.kind),
            ))
        });
    abuse
        .or_else(|| {
            inc.kinds
                .iter()
                .filter(|k| !behavioural(k) && k.kind != "actor" && k.phase >= Phase::Probing)
                .max_by(by_phase)
        })
        .or_else(|| {
            inc.kinds
                .iter()
                .filter(|k| k.kind != "actor" && k.phase == Phase::Recon)
                .max_by(by_phase)
        })
        .or_else(|| {
            inc.kinds
                .iter()
                .filter(|k| k.kind != "actor")
                .max_by(by_phase)
        })
        .or_else(|| inc.kinds.iter().max_by(by_phase))
}

/// `SQL injection` stays, `Path traversal` becomes `path traversal`.
fn lower_first(s: &str) -> String {
    let mut cs = s.chars();
    match (cs.next(), cs.next()) {
        (Some(a), Some(b)) if a.is_uppercase() && !b.is_uppercase() => {
            let mut o: String = a.to_lowercase().collect();
            o.push_str(&s[a.len_utf8()..]);
            o
        }
        _ => s.to_string(),
    }
}

/// What the attack is, in a few words: `Card testing`, `SQL injection`,
/// `Scan with SQL injection attempts` (a content attack next to recon).
pub fn attack_label(inc: &Incident) -> String {
    let Some(dom) = dominant(inc) else {
        return "Requests stopped inline".into();
    };
    let recon = inc
        .kinds
        .iter()
        .any(|k| k.kind != "actor" && k.phase == Phase::Recon);
    if !behavioural(dom) && dom.kind != "actor" && dom.phase >= Phase::Probing && recon {
        format!("Scan with {} attempts", lower_first(&kind_label(&dom.kind)))
    } else {
        kind_label(&dom.kind)
    }
}

/// The most frequent rule of the dominant kind.
pub fn top_rule(inc: &Incident) -> Option<String> {
    dominant(inc).and_then(|k| k.rules.first().cloned())
}

/// `(14 actors, 100 IPs)`, when there is more than one of either.
fn sizes(inc: &Incident) -> String {
    let (a, i) = (inc.counts.actors, inc.counts.ips);
    if a <= 1 && i <= 1 {
        return String::new();
    }
    format!(
        " ({a} actor{}, {i} IP{})",
        plural(a),
        if i == 1 { "" } else { "s" }
    )
}

fn who(inc: &Incident) -> String {
    let actor_name = inc.actors.first().map(|a| a.name.clone());
    match &inc.key {
        GroupKey::Campaign(c) => {
            let more = inc.campaigns.iter().filter(|x| *x != c).count();
            let also = match more {
                0 => String::new(),
                n => format!(" and {n} linked campaign{}", plural(n as u64)),
            };
            format!("campaign {c}{also}{}", sizes(inc))
        }
        GroupKey::Actor(id) => match actor_name {
            Some(n) => format!("actor {n}"),
            None => format!("actor {id}"),
        },
        GroupKey::Ip(ip) => format!("{ip}"),
        GroupKey::Target(_) => format!(
            "{} unrelated actor{}{}",
            inc.counts.actors.max(1),
            plural(inc.counts.actors.max(1)),
            if inc.counts.ips > 1 {
                format!(" from {} IPs", inc.counts.ips)
            } else {
                String::new()
            }
        ),
        GroupKey::Network(n) => format!(
            "{} actor{} from {n}",
            inc.counts.actors.max(1),
            plural(inc.counts.actors.max(1))
        ),
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn where_(inc: &Incident) -> String {
    match inc.endpoints.len() {
        0 => match &inc.key {
            GroupKey::Target(t) => t.clone(),
            _ => String::new(),
        },
        1 => inc.endpoints[0].label(),
        n => {
            let top = inc
                .endpoints
                .iter()
                .max_by_key(|e| (e.findings, std::cmp::Reverse(e.label())))
                .map(|e| e.label())
                .unwrap_or_default();
            format!("{n} endpoints (mostly {top})")
        }
    }
}

/// `Card testing against POST /v1/charges by campaign c-12 (14 actors, 100
/// IPs)`: what the attack is, against what, by whom.
pub fn title(inc: &Incident) -> String {
    let label = attack_label(inc);
    let w = where_(inc);
    let t = if w.is_empty() {
        format!("{label} by {}", who(inc))
    } else {
        format!("{label} against {w} by {}", who(inc))
    };
    crate::engine::clip(t.trim(), 200)
}

fn is_sensitive_class(c: &str) -> bool {
    matches!(
        c,
        "card_number" | "cvv" | "password" | "secret" | "api_key" | "jwt" | "iban" | "national_id"
    )
}

/// The incident's severity:
/// 1. the highest finding severity;
/// 2. capped at medium while the attack is only recon or probing
///    ("getting their feet wet");
/// 3. at least high for abuse from a campaign, a target group or 5+ addresses;
/// 4. at least high when a flagged request in the exploitation or abuse phase
///    was answered 2xx; critical when an injection-style attack was answered
///    2xx on an endpoint carrying card data or credentials.
pub fn severity(inc: &Incident) -> Severity {
    let mut s = inc
        .kinds
        .iter()
        .map(|k| k.max_severity)
        .max()
        .unwrap_or(Severity::Medium);
    if inc.kinds.is_empty() {
        // stopped inline without a finding: a decision we do not know more of
        s = Severity::Low;
    }
    if inc.phase <= Phase::Probing {
        s = s.min(Severity::Medium);
    }
    let widespread = !inc.campaigns.is_empty()
        || matches!(inc.key, GroupKey::Campaign(_) | GroupKey::Target(_))
        || inc.counts.ips >= 5;
    if inc.phase == Phase::Abuse && widespread {
        s = s.max(Severity::High);
    }
    if inc.blast_radius.attack_succeeded && inc.phase >= Phase::Exploitation {
        s = s.max(Severity::High);
        let injection = inc
            .kinds
            .iter()
            .any(|k| k.phase == Phase::Exploitation && !behavioural(k));
        let sensitive = inc
            .blast_radius
            .data_classes
            .iter()
            .any(|c| is_sensitive_class(c));
        if injection && sensitive {
            s = Severity::Critical;
        }
    }
    s
}

/// Recomputes the stored summary and next steps.
pub fn refresh(inc: &mut Incident) {
    inc.title = title(inc);
    inc.summary = summary(inc);
    inc.next_steps = next_steps(inc);
}

fn effort(phase: Phase) -> &'static str {
    match phase {
        Phase::Recon | Phase::Probing => {
            "getting their feet wet (mapping and testing, not yet a real attempt)"
        }
        Phase::Exploitation | Phase::Abuse => "really trying",
    }
}

/// A plain-language account of the incident.
pub fn summary(inc: &Incident) -> String {
    let mut out = String::new();
    let label = lower_first(&attack_label(inc));
    let dur = inc.last_seen_ms - inc.opened_ms;
    let kinds: Vec<String> = {
        let mut ks: Vec<&KindStat> = inc.kinds.iter().collect();
        ks.sort_by(|a, b| b.count.cmp(&a.count).then(a.kind.cmp(&b.kind)));
        ks.iter()
            .take(4)
            .map(|k| format!("{} ({})", kind_label(&k.kind).to_lowercase(), k.count))
            .collect()
    };
    let who = match &inc.key {
        GroupKey::Target(_) => format!(
            "{} unrelated actor{} from {} IP address{}",
            inc.counts.actors.max(1),
            plural(inc.counts.actors.max(1)),
            inc.counts.ips,
            if inc.counts.ips == 1 { "" } else { "es" }
        ),
        GroupKey::Campaign(c) => {
            let others: Vec<&str> = inc
                .campaigns
                .iter()
                .filter(|x| *x != c)
                .map(String::as_str)
                .collect();
            let also = if others.is_empty() {
                String::new()
            } else {
                format!(
                    ", and {} more campaign id{} for the same attack: {}",
                    others.len(),
                    plural(others.len() as u64),
                    others.join(", ")
                )
            };
            format!(
                "a campaign ({c}{also}) of {} linked actor{} from {} IP address{}",
                inc.counts.actors,
                plural(inc.counts.actors),
                inc.counts.ips,
                if inc.counts.ips == 1 { "" } else { "es" }
            )
        }
        GroupKey::Network(n) => format!(
            "{} actors of one network ({n}) from {} IP address{}",
            inc.counts.actors,
            inc.counts.ips,
            if inc.counts.ips == 1 { "" } else { "es" }
        ),
        GroupKey::Actor(_) => {
            let n = inc
                .actors
                .first()
                .map(|a| a.name.clone())
                .unwrap_or_default();
            format!(
                "actor {n} from {} IP address{}",
                inc.counts.ips,
                if inc.counts.ips == 1 { "" } else { "es" }
            )
        }
        GroupKey::Ip(ip) => format!("client {ip} (no actor attributed)"),
    };
    out.push_str(&format!(
        "From {} to {} ({}), {who} sent {} flagged request{} to {}. ",
        timefmt::utc(inc.opened_ms),
        timefmt::hms(inc.last_seen_ms),
        timefmt::span(dur),
        inc.counts.exchanges,
        plural(inc.counts.exchanges),
        match inc.endpoints.len() {
            1 => inc.endpoints[0].label(),
            n => format!("{n} endpoints"),
        }
    ));
    if !kinds.is_empty() {
        out.push_str(&format!(
            "Palisade saw it as {label}; findings: {}. ",
            kinds.join(", ")
        ));
    }
    let mut by_time: Vec<&crate::model::PhaseSeen> = inc.phases.iter().collect();
    by_time.sort_by_key(|p| (p.first_ms, p.phase));
    let path: Vec<String> = by_time
        .iter()
        .map(|p| format!("{} at {}", p.phase.as_str(), timefmt::hms(p.first_ms)))
        .collect();
    out.push_str(&format!(
        "The attack reached the {} phase: {}",
        inc.phase.as_str(),
        effort(inc.phase)
    ));
    if path.len() > 1 {
        out.push_str(&format!(" ({})", path.join(" → ")));
    }
    out.push_str(". ");
    let stopped = inc.counts.blocked + inc.counts.rate_limited;
    if stopped > 0 {
        out.push_str(&format!(
            "{stopped} request{} {} stopped inline ({} blocked, {} rate-limited). ",
            plural(stopped),
            if stopped == 1 { "was" } else { "were" },
            inc.counts.blocked,
            inc.counts.rate_limited
        ));
    } else {
        out.push_str("Nothing was stopped inline (detect-only, or below the blocking threshold). ");
    }
    let b = &inc.blast_radius;
    if stopped > 0 && b.requests_not_stopped > 0 {
        out.push_str(&format!(
            "{} flagged request{} reached the upstream. ",
            b.requests_not_stopped,
            plural(b.requests_not_stopped)
        ));
    }
    if b.attack_succeeded {
        out.push_str(&format!(
            "{} flagged request{} got a 2xx answer, reaching {}",
            inc.counts.success_2xx,
            plural(inc.counts.success_2xx),
            b.endpoints_reached.join(", ")
        ));
        if b.data_classes.is_empty() {
            out.push_str(" (no sensitive data class known on it)");
        } else {
            out.push_str(&format!(
                ", which carr{} {}",
                if b.endpoints_reached.len() == 1 {
                    "ies"
                } else {
                    "y"
                },
                b.data_classes.join(", ")
            ));
        }
        if !b.services.is_empty() {
            out.push_str(&format!(
                " and call{} {}",
                if b.endpoints_reached.len() == 1 {
                    "s"
                } else {
                    ""
                },
                b.services.join(", ")
            ));
        }
        out.push_str(". ");
    } else {
        out.push_str("No flagged request got a 2xx answer");
        if b.data_at_risk.is_empty() {
            out.push_str(". ");
        } else {
            out.push_str(&format!(
                " (at risk: {} on {}). ",
                b.data_at_risk.join(", "),
                b.endpoints_targeted
                    .iter()
                    .take(4)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    out.push_str(&format!("Severity {}", inc.severity.as_str()));
    out.push_str(match inc.status {
        crate::model::Status::Open => ", not yet acknowledged.",
        crate::model::Status::Acknowledged => ", acknowledged.",
        crate::model::Status::Resolved => ", resolved.",
        crate::model::Status::FalsePositive => ", marked a false positive.",
    });
    if !inc.active && !inc.status.is_closed() {
        out.push_str(" It has gone quiet.");
    }
    out
}

/// Escapes a string for a TOML basic string.
fn toml_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if c.is_control() => o.push_str(&format!("\\u{:04X}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// An anchored regex for a path template: `{x}` matches one segment.
pub fn template_regex(template: &str) -> String {
    let mut o = String::from("^");
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        o.push_str(&regex_escape(&rest[..start]));
        match rest[start..].find('}') {
            Some(end) => {
                o.push_str("[^/]+");
                rest = &rest[start + end + 1..];
            }
            None => {
                o.push_str(&regex_escape(&rest[start..]));
                rest = "";
            }
        }
    }
    o.push_str(&regex_escape(rest));
    o.push('$');
    o
}

fn regex_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            o.push('\\');
        }
        o.push(c);
    }
    o
}

/// An exclusion path glob for a template: `{x}` becomes `*`.
pub fn template_glob(template: &str) -> String {
    let mut o = String::new();
    let mut in_var = false;
    for c in template.chars() {
        match c {
            '{' => {
                in_var = true;
                o.push('*');
            }
            '}' => in_var = false,
            c if !in_var => o.push(c),
            _ => {}
        }
    }
    o
}

fn rule_id(inc: &Incident, what: &str) -> String {
    format!("incident.{}.{what}", inc.id)
}

/// A rule for the incident in Palisade's TOML rule format (docs/rules.md),
/// when one can be said precisely:
/// - injection-style findings on one endpoint: block requests to that
///   endpoint on which those detectors fire (a narrow virtual patch);
/// - abuse or recon from few addresses: block or rate-limit those addresses
///   on the endpoints attacked;
/// - abuse from many addresses with one user agent: rate-limit that agent on
///   the endpoint.
pub fn rule_text(inc: &Incident) -> Option<String> {
    let dom = dominant(inc)?;
    let top_ep = inc
        .endpoints
        .iter()
        .max_by_key(|e| (e.findings, std::cmp::Reverse(e.label())))?;
    let mut r = String::new();
    if !behavioural(dom) && dom.kind != "actor" {
        let kinds: Vec<String> = {
            let mut v: Vec<&KindStat> = inc
                .kinds
                .iter()
                .filter(|k| !behavioural(k) && k.kind != "actor")
                .collect();
            v.sort_by(|a, b| b.count.cmp(&a.count).then(a.kind.cmp(&b.kind)));
            v.iter().take(6).map(|k| toml_str(&k.kind)).collect()
        };
        r.push_str("[[rule]]\n");
        r.push_str(&format!("id = {}\n", toml_str(&rule_id(inc, "patch"))));
        r.push_str(&format!(
            "description = {}\n",
            toml_str(&format!(
                "From {}: block {} on {}",
                inc.id,
                kind_label(&dom.kind).to_lowercase(),
                top_ep.label()
            ))
        ));
        r.push_str(
            "action = \"block\"\nseverity = \"high\"\ntags = [\"incident\", \"virtual-patch\"]\n",
        );
        r.push_str(&format!(
            "\n[[rule.when]]\nfield = \"method\"\nop = \"equals\"\nvalue = {}\n",
            toml_str(&top_ep.method)
        ));
        r.push_str(&format!(
            "\n[[rule.when]]\nfield = \"path\"\nop = \"regex\"\nvalue = {}\n",
            toml_str(&template_regex(&top_ep.endpoint))
        ));
        r.push_str(&format!(
            "\n[[rule.when]]\nfield = \"detector\"\nop = \"in\"\nvalue = [{}]\n",
            kinds.join(", ")
        ));
        return Some(r);
    }
    // behaviour: by address when few, else by user agent
    let action = if inc.phase == Phase::Abuse && dom.kind != "scanning" {
        "rate_limit"
    } else {
        "block"
    };
    let cidrs: Vec<String> = inc
        .ips
        .iter()
        .take(32)
        .map(|ip| {
            toml_str(&match ip {
                std::net::IpAddr::V4(v) => format!("{v}/32"),
                std::net::IpAddr::V6(v) => format!("{v}/128"),
            })
        })
        .collect();
    let by_ip = inc.counts.ips <= 32 && !cidrs.is_empty();
    let ua = (inc.user_agents.len() == 1).then(|| inc.user_agents[0].clone());
    if !by_ip && ua.is_none() {
        return None;
    }
    r.push_str("[[rule]]\n");
    r.push_str(&format!("id = {}\n", toml_str(&rule_id(inc, action))));
    r.push_str(&format!(
        "description = {}\n",
        toml_str(&format!(
            "From {}: {} {} on {}",
            inc.id,
            if action == "block" {
                "block"
            } else {
                "rate-limit"
            },
            kind_label(&dom.kind).to_lowercase(),
            top_ep.label()
        ))
    ));
    r.push_str(&format!("action = {}\n", toml_str(action)));
    if action == "rate_limit" {
        r.push_str("retry_after_secs = 600\n");
    }
    r.push_str("severity = \"high\"\ntags = [\"incident\"]\n");
    if dom.kind != "scanning" {
        r.push_str(&format!(
            "\n[[rule.when]]\nfield = \"path\"\nop = \"regex\"\nvalue = {}\n",
            toml_str(&template_regex(&top_ep.endpoint))
        ));
    }
    if by_ip {
        r.push_str(&format!(
            "\n[[rule.when]]\nfield = \"client_ip\"\nop = \"cidr\"\nvalue = [{}]\n",
            cidrs.join(", ")
        ));
    } else if let Some(ua) = ua {
        r.push_str(&format!(
            "\n[[rule.when]]\nfield = \"header.user-agent\"\nop = \"equals\"\nvalue = {}\n",
            toml_str(&ua)
        ));
    }
    Some(r)
}

/// Exclusions that would have dropped this incident's content findings,
/// for a false-positive verdict: one per (kind, endpoint), scoped to the
/// parameter when the findings were all in one place. Behavioural findings
/// (abuse detectors) cannot be excluded this way: the next steps point to
/// the actors allowlist instead.
pub fn exclusion_proposals(inc: &Incident) -> Vec<ExclusionProposal> {
    let mut out = Vec::new();
    let mut ks: Vec<&KindStat> = inc
        .kinds
        .iter()
        .filter(|k| !behavioural(k) && k.kind != "actor")
        .collect();
    ks.sort_by(|a, b| b.count.cmp(&a.count).then(a.kind.cmp(&b.kind)));
    let eps: Vec<_> = {
        let mut v: Vec<_> = inc.endpoints.iter().filter(|e| e.findings > 0).collect();
        v.sort_by(|a, b| b.findings.cmp(&a.findings).then(a.label().cmp(&b.label())));
        v.into_iter().take(4).collect()
    };
    for k in ks.into_iter().take(4) {
        let location = match k.locations.as_slice() {
            [one] if one != "actor" => Some(one.clone()),
            _ => None,
        };
        // one rule id: exclude just it; several: the detector kind
        let rule = match k.rules.as_slice() {
            [one] => one.clone(),
            _ => k.kind.clone(),
        };
        for e in &eps {
            let path = template_glob(&e.endpoint);
            let mut toml = String::from("[[exclusions]]\n");
            toml.push_str(&format!("path = {}\n", toml_str(&path)));
            toml.push_str(&format!("method = {}\n", toml_str(&e.method)));
            if let Some(l) = &location {
                toml.push_str(&format!("location = {}\n", toml_str(l)));
            }
            toml.push_str(&format!("rule = {}\n", toml_str(&rule)));
            out.push(ExclusionProposal {
                path,
                method: e.method.clone(),
                location: location.clone(),
                rule: rule.clone(),
                findings: k.count.min(e.findings),
                toml,
            });
        }
    }
    out
}

/// The recommended next steps, most urgent first.
pub fn next_steps(inc: &Incident) -> Vec<NextStep> {
    let mut steps = Vec::new();
    if inc.status.is_closed() {
        if inc.status == crate::model::Status::FalsePositive {
            for p in &inc.exclusion_proposals {
                steps.push(NextStep {
                    action: "add_exclusion".into(),
                    text: format!(
                        "Add this exclusion to the detection config so that {} on {} {} stops firing ({} findings in this incident).",
                        p.rule, p.method, p.path, p.findings
                    ),
                    config: Some(p.toml.clone()),
                });
            }
            if inc.kinds.iter().any(behavioural) {
                steps.push(NextStep {
                    action: "allowlist".into(),
                    text: "Behavioural findings cannot be excluded per parameter: if this client is trusted (a partner, a monitor), add its address, token or API key to `[actors] allowlist`.".into(),
                    config: None,
                });
            }
        }
        return steps;
    }
    let stopped = inc.counts.blocked + inc.counts.rate_limited;
    let all_stopped = stopped == inc.counts.exchanges;
    match &inc.key {
        GroupKey::Campaign(c) if !all_stopped => steps.push(NextStep {
            action: "block_campaign".into(),
            text: format!(
                "Block campaign {c}{}: its {} actors rotate addresses, so block it by its shared fingerprint rather than by IP{}.",
                if inc.campaigns.len() > 1 {
                    format!(" (campaign ids {})", inc.campaigns.join(", "))
                } else {
                    String::new()
                },
                inc.counts.actors,
                if inc.fingerprints.is_empty() {
                    String::new()
                } else {
                    format!(" (JA4 {})", inc.fingerprints.join(", "))
                }
            ),
            config: None,
        }),
        GroupKey::Actor(_) | GroupKey::Ip(_) | GroupKey::Network(_) if !all_stopped => {
            let names: Vec<String> = inc
                .actors
                .iter()
                .take(3)
                .map(|a| format!("{} ({}, risk {})", a.name, a.id, a.risk))
                .collect();
            steps.push(NextStep {
                action: "block_actor".into(),
                text: if names.is_empty() {
                    format!("Block the client {} (see the rule below).", inc.ips.first().map(|i| i.to_string()).unwrap_or_default())
                } else {
                    format!(
                        "Block actor {}: blocking the actor holds across its addresses ({} seen).",
                        names.join(", "),
                        inc.counts.ips
                    )
                },
                config: None,
            });
        }
        _ => {}
    }
    if inc.blast_radius.attack_succeeded {
        let classes = &inc.blast_radius.data_classes;
        steps.push(NextStep {
            action: "review_exposure".into(),
            text: format!(
                "{} flagged request{} got 2xx answers on {}: check those responses and the upstream logs for what was returned{}.",
                inc.counts.success_2xx,
                plural(inc.counts.success_2xx),
                inc.blast_radius.endpoints_reached.join(", "),
                if classes.is_empty() {
                    String::new()
                } else {
                    format!(" (the endpoint carries {})", classes.join(", "))
                }
            ),
            config: None,
        });
        if inc.kinds.iter().any(|k| k.kind == "credential_stuffing") {
            steps.push(NextStep {
                action: "reset_credentials".into(),
                text: "Logins succeeded during credential stuffing: force a password reset and revoke sessions of the accounts that logged in from these actors.".into(),
                config: None,
            });
        }
        if inc.kinds.iter().any(|k| k.kind == "card_testing") {
            steps.push(NextStep {
                action: "review_cards".into(),
                text: "Charges were approved during card testing: the approved cards are likely stolen; flag them to the card issuer or your processor and refund or cancel the charges.".into(),
                config: None,
            });
        }
    }
    if let Some(rule) = rule_text(inc) {
        steps.push(NextStep {
            action: "add_rule".into(),
            text: "Add this rule to a rule file listed in the detection config (validated on reload; try it first with `palisade rules test`).".into(),
            config: Some(rule),
        });
    }
    if inc
        .kinds
        .iter()
        .any(|k| !behavioural(k) && k.kind != "actor")
    {
        steps.push(NextStep {
            action: "add_exclusion".into(),
            text: "If this is legitimate traffic, mark the incident false positive: Palisade then proposes an exclusion scoped to the endpoint, parameter and rule.".into(),
            config: None,
        });
    }
    if inc.phase <= Phase::Probing && stopped == 0 {
        steps.push(NextStep {
            action: "watch".into(),
            text: "Only recon or probing so far: watch for the same actor moving to exploitation; no data was at risk yet.".into(),
            config: None,
        });
    }
    steps
}

impl Incident {
    /// The plain-language summary, computed now.
    pub fn summary(&self) -> String {
        summary(self)
    }

    /// The recommended next steps, computed now.
    pub fn next_steps(&self) -> Vec<NextStep> {
        next_steps(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_become_regexes_and_globs() {
        assert_eq!(template_regex("/v1/accounts/{id}"), "^/v1/accounts/[^/]+$");
        assert_eq!(template_regex("/a.b/{x}/c"), "^/a\\.b/[^/]+/c$");
        assert_eq!(
            template_glob("/v1/accounts/{id}/cards"),
            "/v1/accounts/*/cards"
        );
        assert_eq!(toml_str("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
    }

    #[test]
    fn kinds_have_labels() {
        assert_eq!(kind_label("sqli"), "SQL injection");
        assert_eq!(kind_label("weird_new.kind"), "Weird new kind");
    }
}
