//! The catalog analyser: learns endpoints from every exchange, keeps the
//! change feed, publishes the catalog views, and persists the catalog to the
//! store so it survives restarts.
//!
//! It also learns the per-endpoint baselines (`palisade_catalog::Baselines`)
//! and adds their deviation findings (`baseline.*`) to the exchange, and
//! publishes the compiled schema (`SchemaSnapshot`, arc-swap) that the
//! gateway's inline schema check reads: at once after the spec is imported,
//! then whenever the learned schemas change (at most every second).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use palisade_catalog::baseline::disqualifies;
use palisade_catalog::{
    BaselineConfig, Baselines, Catalog, CatalogConfig, Change, SchemaConfig, SchemaSnapshot,
};
use palisade_core::Exchange;
use palisade_store::Store;

use crate::live::{LiveViews, MAX_CHANGES};
use crate::pipeline::Analyzer;

/// The store document that holds the catalog snapshot.
pub const CATALOG_DOC: &str = "catalog.snapshot";
/// The store document that holds the baselines.
pub const BASELINES_DOC: &str = "baselines.snapshot";

/// See the module documentation.
pub struct CatalogAnalyzer {
    catalog: Catalog,
    live: Arc<LiveViews>,
    changes: VecDeque<Change>,
    dirty: bool,
    last_views: Instant,
    last_persist: Instant,
    baselines: Option<Baselines>,
    baselines_dirty: bool,
    last_baselines_persist: Instant,
    schema: Option<(SchemaConfig, Arc<ArcSwap<SchemaSnapshot>>)>,
    /// The baselines generation of the published schema (`None`: stale).
    schema_gen: Option<u64>,
    last_schema: Instant,
}

impl CatalogAnalyzer {
    /// Starts from the snapshot in the store when there is one.
    pub fn load(cfg: &CatalogConfig, store: &Store, live: Arc<LiveViews>) -> Result<Self, String> {
        let catalog = match store.get_doc(CATALOG_DOC).map_err(|e| e.to_string())? {
            Some(v) => match Catalog::from_snapshot(v, cfg) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "stored catalog unreadable; starting a new one (the old one stays in the store until overwritten)");
                    cfg.build().map_err(|e| e.to_string())?
                }
            },
            None => cfg.build().map_err(|e| e.to_string())?,
        };
        Ok(Self {
            catalog,
            live,
            changes: VecDeque::new(),
            dirty: true,
            last_views: Instant::now() - Duration::from_secs(60),
            last_persist: Instant::now(),
            baselines: None,
            baselines_dirty: false,
            last_baselines_persist: Instant::now(),
            schema: None,
            schema_gen: None,
            last_schema: Instant::now(),
        })
    }

    /// Learns baselines (restored from the store when there is a snapshot)
    /// and reports deviations. Off when `cfg.enabled` is false.
    pub fn with_baselines(mut self, cfg: &BaselineConfig, store: &Store) -> Result<Self, String> {
        if !cfg.enabled {
            return Ok(self);
        }
        let b = match store.get_doc(BASELINES_DOC).map_err(|e| e.to_string())? {
            Some(v) => match Baselines::from_snapshot(v, cfg) {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "stored baselines unreadable; learning anew");
                    cfg.build().map_err(|e| e.to_string())?
                }
            },
            None => cfg.build().map_err(|e| e.to_string())?,
        };
        self.baselines = Some(b);
        Ok(self)
    }

    /// Publishes the compiled schema into `out` (call
    /// [`CatalogAnalyzer::publish_schema`] once the spec is imported).
    pub fn with_schema(mut self, cfg: SchemaConfig, out: Arc<ArcSwap<SchemaSnapshot>>) -> Self {
        self.schema = Some((cfg, out));
        self.schema_gen = None;
        self
    }

    pub fn baselines(&self) -> Option<&Baselines> {
        self.baselines.as_ref()
    }

    /// Rebuilds and publishes the schema snapshot now.
    pub fn publish_schema(&mut self) {
        let Some((cfg, out)) = &self.schema else {
            return;
        };
        let learned = self
            .baselines
            .as_ref()
            .map(Baselines::learned_schemas)
            .unwrap_or_default();
        out.store(Arc::new(SchemaSnapshot::build(
            cfg,
            self.catalog.spec(),
            &learned,
        )));
        self.schema_gen = Some(self.baselines.as_ref().map_or(0, Baselines::generation));
        self.last_schema = Instant::now();
    }

    pub fn catalog_mut(&mut self) -> &mut Catalog {
        self.dirty = true;
        self.schema_gen = None;
        &mut self.catalog
    }

    fn publish(&mut self) {
        self.live
            .endpoints
            .store(Arc::new(self.catalog.endpoints()));
        self.live.spec_report.store(Arc::new(
            self.catalog.spec().map(|_| self.catalog.spec_report()),
        ));
        self.live
            .changes
            .store(Arc::new(self.changes.iter().cloned().collect()));
        self.live
            .openapi
            .store(Arc::new(self.catalog.export_openapi()));
        self.last_views = Instant::now();
    }
}

impl CatalogAnalyzer {
    fn persist_baselines(&mut self, now_ms: i64, store: &mut Store) {
        let Some(b) = &self.baselines else { return };
        match store.put_doc(BASELINES_DOC, &b.to_snapshot(), now_ms) {
            Ok(()) => self.baselines_dirty = false,
            Err(e) => tracing::error!(error = %e, "persisting the baselines failed; will retry"),
        }
        self.last_baselines_persist = Instant::now();
    }
}

impl Analyzer for CatalogAnalyzer {
    fn name(&self) -> &'static str {
        "catalog"
    }

    fn observe(&mut self, ex: &mut Exchange, now_ms: i64) {
        // Only clean traffic teaches baselines: decided before this
        // analyser adds its own findings.
        let learn = !disqualifies(&ex.findings) && !ex.verdict.is_stop();
        let changes = self.catalog.observe(ex, now_ms);
        if let Some(b) = &mut self.baselines
            && let Some(at) = self.catalog.last_observed()
        {
            let ts = if ex.ts_ms > 0 { ex.ts_ms } else { now_ms };
            let found = b.observe(at, ex, learn, ts);
            self.baselines_dirty = true;
            for f in found {
                // the inline schema check already reported this place
                if !ex
                    .findings
                    .iter()
                    .any(|g| g.kind == "schema" && g.location == f.location)
                {
                    ex.findings.push(f);
                }
            }
        }
        if self.catalog.spec().is_some() {
            for f in self.catalog.check_against_spec(ex) {
                if !ex
                    .findings
                    .iter()
                    .any(|g| g.kind == "schema" && g.location == f.location)
                {
                    ex.findings.push(f);
                }
            }
        }
        if !changes.is_empty() {
            self.dirty = true;
            for c in changes {
                self.changes.push_front(c);
            }
            self.changes.truncate(MAX_CHANGES);
        }
    }

    fn tick(&mut self, now_ms: i64, store: &mut Store) {
        if self.last_views.elapsed() >= Duration::from_secs(2) {
            self.publish();
        }
        if self.schema.is_some() {
            let generation = self.baselines.as_ref().map_or(0, Baselines::generation);
            match self.schema_gen {
                None => self.publish_schema(),
                Some(g)
                    if g != generation && self.last_schema.elapsed() >= Duration::from_secs(1) =>
                {
                    self.publish_schema()
                }
                _ => {}
            }
        }
        if self.baselines_dirty && self.last_baselines_persist.elapsed() >= Duration::from_secs(10)
        {
            self.persist_baselines(now_ms, store);
        }
        if self.dirty && self.last_persist.elapsed() >= Duration::from_secs(10) {
            match store.put_doc(CATALOG_DOC, &self.catalog.to_snapshot(), now_ms) {
                Ok(()) => self.dirty = false,
                Err(e) => tracing::error!(error = %e, "persisting the catalog failed; will retry"),
            }
            self.last_persist = Instant::now();
        }
    }

    fn finish(&mut self, now_ms: i64, store: &mut Store) {
        self.publish();
        self.persist_baselines(now_ms, store);
        if let Err(e) = store.put_doc(CATALOG_DOC, &self.catalog.to_snapshot(), now_ms) {
            tracing::error!(error = %e, "persisting the catalog at shutdown failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_catalog::{SchemaMode, SchemaSource};
    use palisade_core::{ActorRef, Body, RequestPart, ResponsePart, Verdict};

    fn charge(actor: u32, body: &str, ts_ms: i64) -> Exchange {
        Exchange {
            ts_ms,
            client_ip: std::net::IpAddr::from([10, 0, 0, actor as u8]),
            actor: Some(ActorRef {
                id: format!("a{actor}"),
                name: String::new(),
                risk: 0,
                campaign: None,
            }),
            request: RequestPart {
                method: "POST".into(),
                target: "/api/v1/charges".into(),
                host: Some("pay".into()),
                headers: vec![("content-type".into(), "application/json".into())],
                body: Body::new(body.to_string()),
                ..Default::default()
            },
            response: Some(ResponsePart {
                status: 200,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn baseline_findings_reach_the_exchange_and_the_learned_schema_is_published() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let out = Arc::new(ArcSwap::from_pointee(SchemaSnapshot::empty()));
        let bcfg = BaselineConfig {
            window: "1s".into(),
            min_windows: 2,
            ..Default::default()
        };
        let mut a = CatalogAnalyzer::load(&CatalogConfig::default(), &store, LiveViews::new())
            .unwrap()
            .with_baselines(&bcfg, &store)
            .unwrap()
            .with_schema(
                SchemaConfig {
                    mode: SchemaMode::Block,
                    source: SchemaSource::Learned,
                    ..Default::default()
                },
                out.clone(),
            );
        a.publish_schema();
        assert!(out.load().is_empty(), "nothing learned yet");
        let t0 = 1_700_000_000_000;
        for w in 0..2 {
            for actor in 0..6 {
                for i in 0..4 {
                    let mut ex = charge(
                        actor,
                        r#"{"amount":100,"currency":"usd"}"#,
                        t0 + w * 1000 + i,
                    );
                    a.observe(&mut ex, t0);
                    assert!(ex.findings.is_empty(), "{:?}", ex.findings);
                }
            }
        }
        // Established: a deviation is a finding on the exchange.
        let mut ex = charge(9, r#"{"amount":"ten","currency":"usd"}"#, t0 + 2500);
        a.observe(&mut ex, t0);
        let rules: Vec<&str> = ex.findings.iter().map(|f| f.rule_id.as_str()).collect();
        assert_eq!(rules, vec!["baseline.type_mismatch"]);
        assert_eq!(ex.findings[0].location, "body.amount");

        a.publish_schema();
        let snap = out.load();
        assert_eq!(snap.len(), 1);
        let mut ex = charge(9, r#"{"amount":"ten","currency":"usd"}"#, t0 + 3000);
        assert!(matches!(snap.check(&mut ex), Verdict::Block { .. }));
        let mut ok = charge(9, r#"{"amount":5,"currency":"eur"}"#, t0 + 3000);
        assert_eq!(snap.check(&mut ok), Verdict::Allow);

        // persisted and restored
        let mut store = store;
        a.finish(t0, &mut store);
        let b = CatalogAnalyzer::load(&CatalogConfig::default(), &store, LiveViews::new())
            .unwrap()
            .with_baselines(&bcfg, &store)
            .unwrap();
        assert_eq!(
            b.baselines().unwrap().stats().1,
            1,
            "established after restart"
        );
    }
}
