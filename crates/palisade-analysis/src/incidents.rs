//! The incidents analyser: groups findings into incidents (by campaign, actor
//! or target), sends alerts for incident events, and persists the incidents.
//!
//! The engine is shared with the console behind a mutex: the analysis thread
//! holds it for microseconds per flagged exchange; the console locks it to
//! read an incident or change its status. The catalog lookup (templates, data
//! classes for the blast radius) reads the catalog's published views, so it
//! never waits for the catalog analyser.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use palisade_alerts::{Alert, Alerter};
use palisade_core::Exchange;
use palisade_incidents::{IncidentEngine, IncidentEvent, Lookup};
use palisade_store::Store;

use crate::live::LiveViews;
use crate::pipeline::Analyzer;

/// The store document that holds the incidents snapshot.
pub const INCIDENTS_DOC: &str = "incidents.snapshot";

/// The engine, shared with the console.
pub type SharedIncidents = Arc<Mutex<IncidentEngine>>;

/// Catalog facts for the blast radius, from the published endpoint views.
pub struct CatalogLookup {
    live: Arc<LiveViews>,
}

/// Whether a concrete path fits a template (`/a/{id}/b` fits `/a/42/b`).
pub fn template_fits(template: &str, path: &str) -> bool {
    let mut t = template.split('/');
    let mut p = path.split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return true,
            (Some(ts), Some(ps)) => {
                if !(ts == ps || (ts.starts_with('{') && ts.ends_with('}') && !ps.is_empty())) {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

impl Lookup for CatalogLookup {
    fn template(&self, host: Option<&str>, method: &str, path: &str) -> Option<String> {
        let eps = self.live.endpoints.load();
        eps.iter()
            .filter(|e| e.method.eq_ignore_ascii_case(method) && host.is_none_or(|h| e.host == h))
            .find(|e| template_fits(&e.template, path))
            .map(|e| e.template.clone())
    }

    fn data_classes(&self, host: Option<&str>, method: &str, template: &str) -> Vec<String> {
        let eps = self.live.endpoints.load();
        eps.iter()
            .filter(|e| {
                e.method.eq_ignore_ascii_case(method)
                    && e.template == template
                    && host.is_none_or(|h| e.host == h)
            })
            .flat_map(|e| {
                e.data.iter().filter_map(|d| {
                    serde_json::to_value(d).ok()?["class"]
                        .as_str()
                        .map(str::to_string)
                })
            })
            .collect()
    }
}

/// See the module documentation.
pub struct IncidentsAnalyzer {
    engine: SharedIncidents,
    lookup: CatalogLookup,
    alerter: Option<Alerter>,
    last_tick: Instant,
    last_persist: Instant,
    dirty: bool,
}

impl IncidentsAnalyzer {
    /// Starts from the snapshot in the store when there is one.
    pub fn load(
        cfg: palisade_incidents::EngineConfig,
        store: &Store,
        live: Arc<LiveViews>,
        alerter: Option<Alerter>,
    ) -> Self {
        let engine = match store.get_doc(INCIDENTS_DOC) {
            Ok(Some(v)) => IncidentEngine::from_snapshot(cfg.clone(), &v).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "stored incidents unreadable; starting afresh");
                IncidentEngine::new(cfg)
            }),
            _ => IncidentEngine::new(cfg),
        };
        Self {
            engine: Arc::new(Mutex::new(engine)),
            lookup: CatalogLookup { live },
            alerter,
            last_tick: Instant::now(),
            last_persist: Instant::now(),
            dirty: false,
        }
    }

    pub fn shared(&self) -> SharedIncidents {
        self.engine.clone()
    }

    fn alert(&self, events: Vec<IncidentEvent>) {
        if events.is_empty() {
            return;
        }
        metrics::counter!("palisade_incident_events_total").increment(events.len() as u64);
        if let Some(a) = &self.alerter {
            for ev in &events {
                a.send(to_alert(ev));
            }
        }
    }
}

/// The alert for an incident event.
pub fn to_alert(ev: &IncidentEvent) -> Alert {
    let mut a = Alert::new(ev.kind.as_str(), &ev.title, ev.severity, ev.ts_ms);
    a.phase = Some(ev.phase);
    a.rule = ev.rule.clone();
    a.location = ev.location.clone();
    a.actor = ev.actor.clone();
    a.client_ip = ev.client_ip;
    a.request_id = ev.request_id.clone();
    a.endpoint = ev.endpoint.clone();
    a.incident_id = Some(ev.incident_id.clone());
    a.summary = ev.summary.clone();
    a
}

impl Analyzer for IncidentsAnalyzer {
    fn name(&self) -> &'static str {
        "incidents"
    }

    fn observe(&mut self, ex: &mut Exchange, now_ms: i64) {
        if ex.findings.is_empty() && !(ex.enforced && ex.verdict.is_stop()) {
            return;
        }
        let events = match self.engine.lock() {
            Ok(mut e) => e.observe(ex, &self.lookup, now_ms),
            Err(_) => return,
        };
        if !events.is_empty() {
            self.dirty = true;
        }
        self.alert(events);
    }

    fn tick(&mut self, now_ms: i64, store: &mut Store) {
        if self.last_tick.elapsed() >= Duration::from_secs(1) {
            self.last_tick = Instant::now();
            let events = match self.engine.lock() {
                Ok(mut e) => {
                    metrics::gauge!("palisade_incidents_open").set(e.open_ids().len() as f64);
                    e.tick(now_ms)
                }
                Err(_) => Vec::new(),
            };
            if !events.is_empty() {
                self.dirty = true;
            }
            self.alert(events);
        }
        if self.dirty && self.last_persist.elapsed() >= Duration::from_secs(5) {
            self.last_persist = Instant::now();
            let snap = match self.engine.lock() {
                Ok(e) => e.to_snapshot(),
                Err(_) => return,
            };
            match store.put_doc(INCIDENTS_DOC, &snap, now_ms) {
                Ok(()) => self.dirty = false,
                Err(e) => tracing::error!(error = %e, "persisting incidents failed; will retry"),
            }
        }
    }

    fn finish(&mut self, now_ms: i64, store: &mut Store) {
        if let Ok(e) = self.engine.lock()
            && let Err(err) = store.put_doc(INCIDENTS_DOC, &e.to_snapshot(), now_ms)
        {
            tracing::error!(error = %err, "persisting incidents at shutdown failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::template_fits;

    #[test]
    fn templates_fit_paths_segment_by_segment() {
        assert!(template_fits(
            "/api/v1/accounts/{account}",
            "/api/v1/accounts/10042"
        ));
        assert!(!template_fits(
            "/api/v1/accounts/{account}",
            "/api/v1/accounts/10042/x"
        ));
        assert!(!template_fits(
            "/api/v1/accounts/{account}",
            "/api/v1/accounts/"
        ));
        assert!(template_fits("/api/v1/products", "/api/v1/products"));
        assert!(!template_fits("/api/v1/products", "/api/v1/orders"));
    }
}
