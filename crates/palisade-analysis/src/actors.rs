//! The actors analyser: resolves every exchange to an actor, runs the abuse
//! detectors, and publishes the decision snapshot the gateway reads inline.
//!
//! A snapshot is published on every tick (250 ms) and, when a decision
//! changes, as soon as 100 ms have passed since the last one: a block decided
//! here holds in the gateway well within a second.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use palisade_actors::{ActorTracker, DecisionSnapshot};
use palisade_core::{ActorRef, Exchange};
use palisade_store::Store;

use crate::live::{LiveViews, MAX_ACTORS};
use crate::pipeline::Analyzer;

/// See the module documentation.
pub struct ActorsAnalyzer {
    tracker: ActorTracker,
    snapshot: Arc<ArcSwap<DecisionSnapshot>>,
    live: Arc<LiveViews>,
    last_snapshot: Instant,
    dirty: bool,
    last_views: Instant,
}

impl ActorsAnalyzer {
    pub fn new(
        tracker: ActorTracker,
        snapshot: Arc<ArcSwap<DecisionSnapshot>>,
        live: Arc<LiveViews>,
    ) -> Self {
        Self {
            tracker,
            snapshot,
            live,
            last_snapshot: Instant::now(),
            dirty: false,
            last_views: Instant::now() - Duration::from_secs(60),
        }
    }

    fn publish_snapshot(&mut self, now_ms: i64) {
        self.snapshot.store(Arc::new(self.tracker.snapshot(now_ms)));
        self.last_snapshot = Instant::now();
        self.dirty = false;
    }
}

impl Analyzer for ActorsAnalyzer {
    fn name(&self) -> &'static str {
        "actors"
    }

    fn observe(&mut self, ex: &mut Exchange, now_ms: i64) {
        let obs = self.tracker.observe(ex, now_ms);
        if !obs.allowlisted {
            ex.actor = Some(ActorRef {
                id: obs.actor_id.to_string(),
                name: obs.actor_name.clone(),
                risk: obs.risk,
                campaign: obs.campaign_id.map(|c| c.to_string()),
            });
        }
        ex.findings.extend(obs.findings);
        if obs.decision_changed {
            self.dirty = true;
            if self.last_snapshot.elapsed() >= Duration::from_millis(100) {
                self.publish_snapshot(now_ms);
            }
        }
    }

    fn tick(&mut self, now_ms: i64, _store: &mut Store) {
        if self.dirty || self.last_snapshot.elapsed() >= Duration::from_millis(250) {
            self.publish_snapshot(now_ms);
        }
        if self.last_views.elapsed() >= Duration::from_secs(1) {
            let mut actors = self.tracker.actors(now_ms);
            actors.truncate(MAX_ACTORS);
            self.live.actors.store(Arc::new(actors));
            let campaigns = self.tracker.campaigns(now_ms);
            metrics::gauge!("palisade_actors_tracked").set(self.tracker.len() as f64);
            metrics::gauge!("palisade_campaigns").set(campaigns.len() as f64);
            self.live.campaigns.store(Arc::new(campaigns));
            self.last_views = Instant::now();
        }
    }
}
