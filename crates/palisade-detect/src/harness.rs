//! Quality harness: replays labelled corpora and recorded traffic through
//! the engine in process.
//!
//! [`run_corpus`] reads the corpus JSONL format of `shared/data/README.md`
//! and reports, per category, the true positive rate on attacks and the
//! false positive rate on benign requests (CRS `nonmatch` rows are counted
//! apart: they only promise that one named CRS rule stays silent, so they are
//! no clean benign label; `other` rows and response-side tests are skipped).
//! [`rules_test`] shows what fires on recorded traffic (`palisade rules
//! test`). Neither decides anything: they only count what the engine says.

use std::collections::BTreeMap;
use std::fmt;
use std::io::BufRead;
use std::path::Path;

use palisade_core::{Body, Exchange, Finding, RequestPart, Verdict};
use serde::Deserialize;

use crate::engine::Engine;

/// The label of a corpus row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    Attack,
    Benign,
    /// CRS: one named rule must not fire; others may.
    Nonmatch,
    Other,
}

/// One corpus row as an exchange.
#[derive(Debug, Clone)]
pub struct CorpusCase {
    pub id: String,
    pub label: Label,
    pub category: String,
    pub exchange: Exchange,
    /// Why the row is not scored (response-side test, status-only stage).
    pub skip: Option<&'static str>,
}

#[derive(Deserialize)]
struct Row {
    #[serde(default)]
    id: String,
    label: String,
    #[serde(default)]
    category: String,
    #[serde(default = "get")]
    method: String,
    target: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    headers: Vec<(String, String)>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    meta: serde_json::Value,
}

fn get() -> String {
    "GET".into()
}

/// One corpus JSONL row to an exchange with its label and category.
pub fn corpus_exchange(line: &str) -> Result<CorpusCase, String> {
    let row: Row = serde_json::from_str(line).map_err(|e| format!("not a corpus row: {e}"))?;
    let label = match row.label.as_str() {
        "attack" => Label::Attack,
        "benign" => Label::Benign,
        "nonmatch" => Label::Nonmatch,
        "other" => Label::Other,
        other => return Err(format!("unknown label `{other}`")),
    };
    let skip = if row
        .meta
        .get("response_side")
        .and_then(serde_json::Value::as_bool)
        == Some(true)
    {
        Some("response-side test")
    } else if label == Label::Other {
        Some("status-only stage")
    } else {
        None
    };
    let host = row
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.clone());
    let exchange = Exchange {
        id: row.id.clone(),
        request: RequestPart {
            method: row.method,
            target: row.target,
            host,
            version: row.version.unwrap_or_else(|| "HTTP/1.1".into()),
            headers: row.headers,
            body: Body::new(row.body.unwrap_or_default()),
        },
        ..Default::default()
    };
    Ok(CorpusCase {
        id: row.id,
        label,
        category: row.category,
        exchange,
        skip,
    })
}

/// Counts for one category.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub attacks: u64,
    pub attacks_blocked: u64,
    pub benign: u64,
    pub benign_blocked: u64,
    pub nonmatch: u64,
    pub nonmatch_blocked: u64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.attacks += o.attacks;
        self.attacks_blocked += o.attacks_blocked;
        self.benign += o.benign;
        self.benign_blocked += o.benign_blocked;
        self.nonmatch += o.nonmatch;
        self.nonmatch_blocked += o.nonmatch_blocked;
    }
    /// Attacks blocked / attacks, in percent.
    pub fn tpr(&self) -> Option<f64> {
        (self.attacks > 0).then(|| 100.0 * self.attacks_blocked as f64 / self.attacks as f64)
    }
    /// Benign blocked / benign, in percent.
    pub fn fpr(&self) -> Option<f64> {
        (self.benign > 0).then(|| 100.0 * self.benign_blocked as f64 / self.benign as f64)
    }
}

/// The result of replaying one corpus.
#[derive(Debug, Clone, Default)]
pub struct CorpusReport {
    pub name: String,
    pub categories: BTreeMap<String, Counts>,
    pub skipped: u64,
    pub unreadable: u64,
    /// Which rules blocked benign rows, and how often.
    pub fp_rules: BTreeMap<String, u64>,
    /// Up to 25 blocked benign rows: id and verdict reason.
    pub fp_examples: Vec<(String, String)>,
    /// Up to 25 attacks let through: id and target.
    pub missed_examples: Vec<(String, String)>,
}

impl CorpusReport {
    pub fn total(&self) -> Counts {
        let mut t = Counts::default();
        for c in self.categories.values() {
            t.add(c);
        }
        t
    }

    /// Adds one scored case.
    pub fn record(&mut self, case: &CorpusCase, verdict: &Verdict, findings: &[Finding]) {
        if case.skip.is_some() {
            self.skipped += 1;
            return;
        }
        let blocked = matches!(verdict, Verdict::Block { .. });
        let c = self.categories.entry(case.category.clone()).or_default();
        match case.label {
            Label::Attack => {
                c.attacks += 1;
                if blocked {
                    c.attacks_blocked += 1;
                } else if self.missed_examples.len() < 25 {
                    self.missed_examples.push((
                        case.id.clone(),
                        case.exchange.request.target.chars().take(160).collect(),
                    ));
                }
            }
            Label::Benign => {
                c.benign += 1;
                if blocked {
                    c.benign_blocked += 1;
                    for f in findings.iter().filter(|f| f.score > 0) {
                        *self.fp_rules.entry(f.rule_id.clone()).or_default() += 1;
                    }
                    if self.fp_examples.len() < 25 {
                        self.fp_examples
                            .push((case.id.clone(), verdict.reason().unwrap_or("").to_string()));
                    }
                }
            }
            Label::Nonmatch => {
                c.nonmatch += 1;
                if blocked {
                    c.nonmatch_blocked += 1;
                }
            }
            Label::Other => self.skipped += 1,
        }
    }

    /// The false positives and misses, for tuning.
    pub fn details(&self) -> String {
        let mut s = String::new();
        if !self.fp_rules.is_empty() {
            s.push_str("rules blocking benign rows:\n");
            let mut v: Vec<_> = self.fp_rules.iter().collect();
            v.sort_by(|a, b| b.1.cmp(a.1));
            for (r, n) in v {
                s.push_str(&format!("  {n:>6}  {r}\n"));
            }
        }
        for (id, why) in &self.fp_examples {
            s.push_str(&format!("  FP {id}: {why}\n"));
        }
        for (id, t) in &self.missed_examples {
            s.push_str(&format!("  MISS {id}: {t}\n"));
        }
        s
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |p| format!("{p:.2}%"))
}

impl fmt::Display for CorpusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "corpus {}", self.name)?;
        writeln!(
            f,
            "{:<46} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9}",
            "category", "attacks", "TPR", "benign", "FPR", "nonmatch", "nm-block"
        )?;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, c: &Counts| {
            let nm = if c.nonmatch > 0 {
                format!(
                    "{:.1}%",
                    100.0 * c.nonmatch_blocked as f64 / c.nonmatch as f64
                )
            } else {
                "-".into()
            };
            writeln!(
                f,
                "{:<46} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9}",
                name,
                c.attacks,
                pct(c.tpr()),
                c.benign,
                pct(c.fpr()),
                c.nonmatch,
                nm
            )
        };
        for (name, c) in &self.categories {
            row(f, name, c)?;
        }
        row(f, "TOTAL", &self.total())?;
        if self.skipped > 0 || self.unreadable > 0 {
            writeln!(
                f,
                "({} rows skipped: response-side or status-only; {} unreadable)",
                self.skipped, self.unreadable
            )?;
        }
        Ok(())
    }
}

/// Replays a corpus file through the engine (both phases per request).
pub fn run_corpus(engine: &Engine, path: &Path) -> std::io::Result<CorpusReport> {
    let file = std::fs::File::open(path)?;
    let mut report = CorpusReport {
        name: path.display().to_string(),
        ..Default::default()
    };
    for line in std::io::BufReader::new(file).lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match corpus_exchange(&line) {
            Ok(mut case) => {
                if case.skip.is_some() {
                    report.skipped += 1;
                    continue;
                }
                let verdict = engine.inspect(&mut case.exchange);
                let findings = std::mem::take(&mut case.exchange.findings);
                report.record(&case, &verdict, &findings);
            }
            Err(_) => report.unreadable += 1,
        }
    }
    Ok(report)
}

/// What fired on one recorded request.
#[derive(Debug, Clone)]
pub struct RulesTestEntry {
    pub id: String,
    pub method: String,
    pub target: String,
    pub verdict: Verdict,
    pub findings: Vec<Finding>,
}

/// What fired on each recorded request.
#[derive(Debug, Clone, Default)]
pub struct RulesTestReport {
    pub entries: Vec<RulesTestEntry>,
    /// Lines that were neither an exchange nor a corpus row: line number and why.
    pub errors: Vec<(usize, String)>,
}

impl fmt::Display for RulesTestReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut per_rule: BTreeMap<&str, u64> = BTreeMap::new();
        for e in &self.entries {
            let target = palisade_core::sensitive::mask_target(&e.target);
            writeln!(
                f,
                "{} {} {} -> {}",
                if e.id.is_empty() { "-" } else { &e.id },
                e.method,
                target.chars().take(100).collect::<String>(),
                e.verdict.action().as_str()
            )?;
            for x in &e.findings {
                *per_rule.entry(&x.rule_id).or_default() += 1;
                writeln!(
                    f,
                    "    {} at {} (+{}, {}, {}%): {} [{}]",
                    x.rule_id,
                    x.location,
                    x.score,
                    x.severity.as_str(),
                    x.confidence,
                    x.message,
                    x.fragment
                )?;
            }
        }
        for (line, why) in &self.errors {
            writeln!(f, "line {line}: skipped: {why}")?;
        }
        writeln!(
            f,
            "{} requests, {} blocked, {} with findings",
            self.entries.len(),
            self.entries
                .iter()
                .filter(|e| matches!(e.verdict, Verdict::Block { .. }))
                .count(),
            self.entries
                .iter()
                .filter(|e| !e.findings.is_empty())
                .count()
        )?;
        for (r, n) in per_rule {
            writeln!(f, "  {n:>6}  {r}")?;
        }
        Ok(())
    }
}

/// Replays recorded requests (palisade-core NDJSON exchanges, or corpus
/// rows) and reports what fires on each. Findings already recorded in an
/// exchange are cleared first: the report shows what *these* rules say.
pub fn rules_test(engine: &Engine, requests: &Path) -> std::io::Result<RulesTestReport> {
    let file = std::fs::File::open(requests)?;
    let mut report = RulesTestReport::default();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let ex = match serde_json::from_str::<Exchange>(&line) {
            Ok(ex) => Ok(ex),
            Err(e1) => corpus_exchange(&line)
                .map(|c| c.exchange)
                .map_err(|e2| format!("not an exchange ({e1}) nor a corpus row ({e2})")),
        };
        match ex {
            Ok(mut ex) => {
                ex.findings.clear();
                ex.verdict = Verdict::Allow;
                let verdict = engine.inspect(&mut ex);
                report.entries.push(RulesTestEntry {
                    id: ex.id.clone(),
                    method: ex.request.method.clone(),
                    target: ex.request.target.clone(),
                    verdict,
                    findings: ex.findings,
                });
            }
            Err(why) => report.errors.push((i + 1, why)),
        }
    }
    Ok(report)
}
