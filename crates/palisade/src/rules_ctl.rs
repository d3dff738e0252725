//! The node's side of rule management for the console: one editable rule
//! file, validated before it is written (atomically) and applied by swapping
//! the engine; rule texts tested on recorded traffic with a throwaway engine.

use std::path::PathBuf;
use std::sync::Arc;

use palisade_console::rules_api::{RuleHit, RuleSummary, RulesControl, RulesView};
use palisade_core::Exchange;
use palisade_detect::DetectConfig;

/// What a new rule file starts as.
pub const EMPTY_RULES: &str = "# Custom rules (docs/rules.md). Edited from the console or by hand;\n# changes are picked up within seconds.\nrule = []\n";

pub struct NodeRules {
    pub file: PathBuf,
    /// The running detection settings (sensitivity, exclusions, other files).
    pub base: DetectConfig,
    /// Builds and swaps in an engine for a configuration; false when invalid.
    pub apply: Arc<dyn Fn(&DetectConfig) -> bool + Send + Sync>,
}

fn summaries(text: &str, origin: &str) -> Result<Vec<RuleSummary>, Vec<String>> {
    palisade_detect::rules::parse_rules(text, origin)
        .map(|set| {
            set.rules
                .iter()
                .map(|r| RuleSummary {
                    id: r.id.clone(),
                    description: r.description.clone(),
                    action: format!("{:?}", r.action).to_lowercase(),
                    origin: r.origin.clone(),
                    line: r.line,
                })
                .collect()
        })
        .map_err(|d| d.0.iter().map(|x| x.to_string()).collect())
}

impl NodeRules {
    fn origin(&self) -> String {
        self.file.display().to_string()
    }

    /// The configuration with `text` in place of the editable file.
    fn with_text(&self, path: PathBuf) -> DetectConfig {
        let mut cfg = self.base.clone();
        let mut replaced = false;
        for f in cfg.rules.iter_mut() {
            if *f == self.file {
                *f = path.clone();
                replaced = true;
            }
        }
        if !replaced {
            cfg.rules.push(path);
        }
        cfg
    }
}

impl RulesControl for NodeRules {
    fn view(&self) -> Result<RulesView, String> {
        let text = std::fs::read_to_string(&self.file)
            .map_err(|e| format!("cannot read {}: {e}", self.file.display()))?;
        Ok(RulesView {
            file: self.origin(),
            rules: summaries(&text, &self.origin()).unwrap_or_default(),
            text,
            builtin: palisade_detect::rules::builtin()
                .map(|b| b.len())
                .unwrap_or(0),
        })
    }

    fn check(&self, text: &str) -> Result<Vec<RuleSummary>, Vec<String>> {
        let rules = summaries(text, &self.origin())?;
        // Ids must stay unique across all files: build the whole engine.
        let tmp = tempfile_with(text).map_err(|e| vec![e])?;
        self.with_text(tmp.path().to_path_buf())
            .build()
            .map_err(|d| d.0.iter().map(|x| x.to_string()).collect::<Vec<_>>())?;
        Ok(rules)
    }

    fn save(&self, text: &str) -> Result<Vec<RuleSummary>, Vec<String>> {
        let rules = self.check(text)?;
        let tmp = self.file.with_extension("toml.tmp");
        std::fs::write(&tmp, text)
            .and_then(|_| std::fs::rename(&tmp, &self.file))
            .map_err(|e| vec![format!("cannot write {}: {e}", self.file.display())])?;
        if !(self.apply)(&self.with_text(self.file.clone())) {
            return Err(vec!["saved, but the engine refused it; see the log".into()]);
        }
        Ok(rules)
    }

    fn test(&self, text: &str, exchanges: Vec<Exchange>) -> Result<Vec<RuleHit>, Vec<String>> {
        let ids: Vec<String> = summaries(text, &self.origin())?
            .into_iter()
            .map(|r| r.id)
            .collect();
        let tmp = tempfile_with(text).map_err(|e| vec![e])?;
        let engine = self
            .with_text(tmp.path().to_path_buf())
            .build()
            .map_err(|d| d.0.iter().map(|x| x.to_string()).collect::<Vec<_>>())?;
        let mut hits = Vec::new();
        for mut ex in exchanges {
            ex.findings.clear();
            let verdict = engine.inspect(&mut ex);
            let fired: Vec<String> = ex
                .findings
                .iter()
                .filter(|f| ids.contains(&f.rule_id))
                .map(|f| f.rule_id.clone())
                .collect();
            if !fired.is_empty() {
                hits.push(RuleHit {
                    request_id: ex.id.clone(),
                    method: ex.request.method.clone(),
                    path: ex.request.path().to_string(),
                    rules: fired,
                    verdict: verdict.action().as_str().to_string(),
                });
            }
        }
        Ok(hits)
    }
}

fn tempfile_with(text: &str) -> Result<tempfile::NamedTempFile, String> {
    use std::io::Write;
    let mut f = tempfile::Builder::new()
        .suffix(".toml")
        .tempfile()
        .map_err(|e| format!("temporary file: {e}"))?;
    f.write_all(text.as_bytes())
        .map_err(|e| format!("temporary file: {e}"))?;
    Ok(f)
}
