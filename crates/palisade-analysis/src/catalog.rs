//! The catalog analyser: learns endpoints from every exchange, keeps the
//! change feed, publishes the catalog views, and persists the catalog to the
//! store so it survives restarts.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use palisade_catalog::{Catalog, CatalogConfig, Change};
use palisade_core::Exchange;
use palisade_store::Store;

use crate::live::{LiveViews, MAX_CHANGES};
use crate::pipeline::Analyzer;

/// The store document that holds the catalog snapshot.
pub const CATALOG_DOC: &str = "catalog.snapshot";

/// See the module documentation.
pub struct CatalogAnalyzer {
    catalog: Catalog,
    live: Arc<LiveViews>,
    changes: VecDeque<Change>,
    dirty: bool,
    last_views: Instant,
    last_persist: Instant,
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
        })
    }

    pub fn catalog_mut(&mut self) -> &mut Catalog {
        self.dirty = true;
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

impl Analyzer for CatalogAnalyzer {
    fn name(&self) -> &'static str {
        "catalog"
    }

    fn observe(&mut self, ex: &mut Exchange, now_ms: i64) {
        let changes = self.catalog.observe(ex, now_ms);
        if self.catalog.spec().is_some() {
            ex.findings.extend(self.catalog.check_against_spec(ex));
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
        if let Err(e) = store.put_doc(CATALOG_DOC, &self.catalog.to_snapshot(), now_ms) {
            tracing::error!(error = %e, "persisting the catalog at shutdown failed");
        }
    }
}
