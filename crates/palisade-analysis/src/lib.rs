//! The analysis side: everything that happens off the request path.
//!
//! Sources (gateway, sensor) offer finished exchanges to a [`Pipeline`]
//! through its [`PipelineSink`]: a bounded queue that never blocks the offerer
//! and sheds (and counts) when full. One worker thread owns all analysis state:
//! it runs each [`Analyzer`] in turn on every exchange (catalog, actors,
//! baselines, incidents plug in here), then writes exchanges to the store in
//! batches. Analysers publish what the inline path needs (decision snapshots)
//! themselves, through `arc-swap`.
//!
//! Durability window: an exchange is on disk at most `flush_interval` (250 ms
//! by default) after the worker takes it from the queue; a `kill -9` loses
//! the exchanges still queued plus that window. See docs/operations.md.

pub mod actors;
pub mod catalog;
pub mod incidents;
pub mod live;
pub mod pipeline;

pub use actors::ActorsAnalyzer;
pub use catalog::CatalogAnalyzer;
pub use incidents::IncidentsAnalyzer;
pub use live::LiveViews;
pub use pipeline::{Analyzer, Pipeline, PipelineConfig, PipelineSink, PipelineStats};
