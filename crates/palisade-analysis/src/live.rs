//! [`LiveViews`]: what analysis publishes for the console to read, without
//! locks and without asking the analysis thread. Each view is replaced whole
//! (arc-swap) about every tick; readers see a consistent, slightly old copy.

use std::sync::Arc;

use arc_swap::ArcSwap;
use palisade_actors::{ActorView, CampaignView};
use palisade_catalog::{Change, EndpointView, SpecReport};

/// The views published by analysis.
#[derive(Default)]
pub struct LiveViews {
    /// The riskiest and most recent actors (bounded, see `MAX_ACTORS`).
    pub actors: ArcSwap<Vec<ActorView>>,
    pub campaigns: ArcSwap<Vec<CampaignView>>,
    pub endpoints: ArcSwap<Vec<EndpointView>>,
    pub spec_report: ArcSwap<Option<SpecReport>>,
    /// The most recent catalog changes, newest first.
    pub changes: ArcSwap<Vec<Change>>,
    /// The learned catalog as an OpenAPI document.
    pub openapi: ArcSwap<serde_json::Value>,
}

impl std::fmt::Debug for LiveViews {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveViews")
            .field("actors", &self.actors.load().len())
            .field("endpoints", &self.endpoints.load().len())
            .finish()
    }
}

/// Actors kept in the published view.
pub const MAX_ACTORS: usize = 2000;
/// Catalog changes kept in the published feed.
pub const MAX_CHANGES: usize = 1000;

impl LiveViews {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
}
