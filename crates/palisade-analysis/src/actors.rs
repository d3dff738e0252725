//! The actors analyser: resolves every exchange to an actor, runs the abuse
//! detectors, and publishes the decision snapshot the gateway reads inline.
//!
//! A snapshot is published on every tick (250 ms) and, when a decision
//! changes, as soon as 100 ms have passed since the last one: a block decided
//! here holds in the gateway well within a second.
//!
//! In cluster mode an [`ActorsLink`] connects the analyser to the other
//! gateways: it hands each observed exchange and each published snapshot to
//! the link (which never waits), and feeds the exchanges other gateways
//! observed to the tracker only. Remote exchanges are never stored, never go
//! to the catalog or the incidents, and never go back to the link.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use palisade_actors::{ActorTracker, DecisionSnapshot};
use palisade_core::{ActorRef, Exchange};
use palisade_store::Store;

use crate::live::{LiveViews, MAX_ACTORS};
use crate::pipeline::Analyzer;

/// How the actors analyser meets other gateways (cluster mode). Every method
/// is called on the analysis thread and must return at once: an
/// implementation queues, it never waits on the network.
pub trait ActorsLink: Send {
    /// An exchange this node observed, before the tracker's own findings are
    /// added (the other nodes' trackers derive those themselves). Raw: the
    /// link strips and pseudonymises it before it leaves the process.
    fn observed(&mut self, ex: &Exchange, now_ms: i64);
    /// The decision snapshot just published.
    fn decisions(&mut self, snapshot: &DecisionSnapshot, now_ms: i64);
    /// Up to `max` exchanges observed by other gateways, to feed to the
    /// tracker (and nothing else).
    fn remote(&mut self, max: usize) -> Vec<Exchange>;
}

/// Remote exchanges fed to the tracker per tick, at most.
const MAX_REMOTE_PER_TICK: usize = 20_000;

/// See the module documentation.
pub struct ActorsAnalyzer {
    tracker: ActorTracker,
    snapshot: Arc<ArcSwap<DecisionSnapshot>>,
    live: Arc<LiveViews>,
    last_snapshot: Instant,
    dirty: bool,
    last_views: Instant,
    link: Option<Box<dyn ActorsLink>>,
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
            link: None,
        }
    }

    /// Connects the analyser to other gateways (see [`ActorsLink`]).
    pub fn with_link(mut self, link: Box<dyn ActorsLink>) -> Self {
        self.link = Some(link);
        self
    }

    /// Feeds what other gateways observed to the tracker only.
    fn observe_remote(&mut self, now_ms: i64) {
        let Some(link) = self.link.as_mut() else {
            return;
        };
        for ex in link.remote(MAX_REMOTE_PER_TICK) {
            if self.tracker.observe(&ex, now_ms).decision_changed {
                self.dirty = true;
            }
        }
    }

    fn publish_snapshot(&mut self, now_ms: i64) {
        let snapshot = Arc::new(self.tracker.snapshot(now_ms));
        if let Some(link) = self.link.as_mut() {
            link.decisions(&snapshot, now_ms);
        }
        self.snapshot.store(snapshot);
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
        if let Some(link) = self.link.as_mut()
            && !obs.allowlisted
        {
            link.observed(ex, now_ms);
        }
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
        self.observe_remote(now_ms);
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
