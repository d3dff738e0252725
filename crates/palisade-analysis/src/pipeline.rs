//! The bounded pipeline from sources to analysers and the store.
//!
//! When the store fails (a PostgreSQL server down, a disk full), analysed
//! exchanges wait in a bounded backlog (`max_pending_writes`): beyond it the
//! oldest are dropped and counted (`dropped_writes`). Writes are retried
//! with a growing pause (up to [`MAX_RETRY_PAUSE`]), so a dead store never
//! stalls analysis, and once it answers again the backlog is written in
//! batches, oldest first. Sources never wait for any of this.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use palisade_core::{Exchange, ExchangeSink, now_ms};
use palisade_store::{Retention, Store};
use serde::Serialize;

/// One analysis stage. Owned by the worker thread: no locking inside.
pub trait Analyzer: Send {
    fn name(&self) -> &'static str;
    /// Sees every exchange in arrival order; may add findings to it before it
    /// is stored.
    fn observe(&mut self, ex: &mut Exchange, now_ms: i64);
    /// Called about every `flush_interval`, also when idle: publish snapshots,
    /// expire state.
    fn tick(&mut self, _now_ms: i64, _store: &mut Store) {}
    /// Called once when the pipeline stops, after the last batch is written.
    fn finish(&mut self, _now_ms: i64, _store: &mut Store) {}
}

/// Pipeline settings.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Exchanges that may wait for analysis; beyond it they are shed.
    pub capacity: usize,
    /// Largest write batch.
    pub batch_size: usize,
    /// Longest an exchange waits before its batch is written.
    pub flush_interval: Duration,
    pub retention: Retention,
    /// How often retention runs.
    pub retention_interval: Duration,
    /// Exchanges kept in memory while the store fails, before dropping
    /// the oldest.
    pub max_pending_writes: usize,
}

/// Longest pause between two write attempts while the store fails.
pub const MAX_RETRY_PAUSE: Duration = Duration::from_secs(5);

/// Longest one flush spends writing a backlog before analysing again.
const CATCH_UP_BUDGET: Duration = Duration::from_millis(250);

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            capacity: 65_536,
            batch_size: 512,
            flush_interval: Duration::from_millis(250),
            retention: Retention::default(),
            retention_interval: Duration::from_secs(60),
            max_pending_writes: 100_000,
        }
    }
}

/// Counters, shared with the console and metrics.
#[derive(Debug, Default, Serialize)]
pub struct PipelineStats {
    pub offered: AtomicU64,
    pub shed: AtomicU64,
    pub analysed: AtomicU64,
    pub stored: AtomicU64,
    pub store_errors: AtomicU64,
    /// Analysed exchanges dropped unwritten because the backlog was full.
    pub dropped_writes: AtomicU64,
    /// Analysed exchanges waiting to be written (the backlog).
    pub pending_writes: AtomicU64,
}

impl PipelineStats {
    /// Exchanges accepted but not yet analysed.
    pub fn lag(&self) -> u64 {
        let accepted = self.offered.load(Ordering::Relaxed) - self.shed.load(Ordering::Relaxed);
        accepted.saturating_sub(self.analysed.load(Ordering::Relaxed))
    }
}

enum Msg {
    Exchange(Box<Exchange>),
    Flush(SyncSender<()>),
    Stop,
}

/// The sending side, handed to sources.
#[derive(Clone)]
pub struct PipelineSink {
    tx: SyncSender<Msg>,
    stats: Arc<PipelineStats>,
}

impl std::fmt::Debug for PipelineSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineSink").finish_non_exhaustive()
    }
}

impl ExchangeSink for PipelineSink {
    fn offer(&self, ex: Exchange) -> bool {
        self.stats.offered.fetch_add(1, Ordering::Relaxed);
        match self.tx.try_send(Msg::Exchange(Box::new(ex))) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.stats.shed.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("palisade_pipeline_shed_total").increment(1);
                false
            }
        }
    }
}

impl PipelineSink {
    /// Hands over one exchange, waiting for room: for batch sources (a file
    /// being ingested) that must not lose anything. Never call it from the
    /// request path. Returns `false` when the pipeline has stopped.
    pub fn send_blocking(&self, ex: Exchange) -> bool {
        self.stats.offered.fetch_add(1, Ordering::Relaxed);
        self.tx.send(Msg::Exchange(Box::new(ex))).is_ok()
    }
}

/// A running pipeline: the queue and its worker thread.
pub struct Pipeline {
    sink: PipelineSink,
    stats: Arc<PipelineStats>,
    worker: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("stats", &self.stats)
            .finish()
    }
}

impl Pipeline {
    /// Starts the worker thread, which owns `store` and `analyzers`.
    pub fn start(cfg: PipelineConfig, store: Store, analyzers: Vec<Box<dyn Analyzer>>) -> Pipeline {
        let (tx, rx) = mpsc::sync_channel(cfg.capacity.max(1));
        let stats = Arc::new(PipelineStats::default());
        let worker_stats = stats.clone();
        let worker = std::thread::Builder::new()
            .name("palisade-analysis".into())
            .spawn(move || Worker::new(cfg, store, analyzers, worker_stats).run(rx))
            .expect("the analysis thread starts");
        Pipeline {
            sink: PipelineSink {
                tx,
                stats: stats.clone(),
            },
            stats,
            worker: Some(worker),
        }
    }

    pub fn sink(&self) -> PipelineSink {
        self.sink.clone()
    }

    pub fn stats(&self) -> Arc<PipelineStats> {
        self.stats.clone()
    }

    /// Blocks until everything offered before the call is analysed and stored.
    pub fn flush(&self) {
        let (tx, rx) = mpsc::sync_channel(1);
        if self.sink.tx.send(Msg::Flush(tx)).is_ok() {
            let _ = rx.recv();
        }
    }

    /// Drains the queue, writes the last batch and stops the worker.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(w) = self.worker.take() {
            let _ = self.sink.tx.send(Msg::Stop);
            let _ = w.join();
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Worker {
    cfg: PipelineConfig,
    store: Store,
    analyzers: Vec<Box<dyn Analyzer>>,
    stats: Arc<PipelineStats>,
    /// Analysed exchanges not yet written, oldest first (bounded by
    /// `max_pending_writes`).
    batch: VecDeque<Exchange>,
    last_flush: Instant,
    last_retention: Instant,
    /// While the store fails: no write is tried before this.
    retry_at: Option<Instant>,
    retry_pause: Duration,
}

impl Worker {
    fn new(
        cfg: PipelineConfig,
        store: Store,
        analyzers: Vec<Box<dyn Analyzer>>,
        stats: Arc<PipelineStats>,
    ) -> Self {
        Self {
            cfg,
            store,
            analyzers,
            stats,
            batch: VecDeque::new(),
            last_flush: Instant::now(),
            last_retention: Instant::now(),
            retry_at: None,
            retry_pause: Duration::ZERO,
        }
    }

    /// No write failure is waiting out its pause.
    fn store_ready(&self) -> bool {
        self.retry_at.is_none_or(|t| Instant::now() >= t)
    }

    fn run(mut self, rx: Receiver<Msg>) {
        loop {
            let wait = self
                .cfg
                .flush_interval
                .saturating_sub(self.last_flush.elapsed());
            match rx.recv_timeout(wait) {
                Ok(Msg::Exchange(ex)) => {
                    self.analyse(*ex);
                    // A full batch is written at once; a larger backlog
                    // (catching up after an outage) is written at the
                    // periodic flush, within a budget, so analysis goes on.
                    let n = self.batch.len();
                    if n >= self.cfg.batch_size
                        && n < 2 * self.cfg.batch_size.max(1)
                        && self.store_ready()
                    {
                        self.flush();
                    }
                }
                Ok(Msg::Flush(done)) => {
                    // Asked for explicitly: try now, whatever the pause.
                    self.retry_at = None;
                    self.flush();
                    let _ = done.send(());
                }
                Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => {
                    // Take what is still queued, then stop.
                    while let Ok(Msg::Exchange(ex)) = rx.try_recv() {
                        self.analyse(*ex);
                    }
                    self.retry_at = None;
                    self.flush();
                    if !self.batch.is_empty() {
                        tracing::error!(
                            lost = self.batch.len(),
                            "the store is unavailable at shutdown; these exchanges were not written"
                        );
                    }
                    let now = now_ms();
                    for a in self.analyzers.iter_mut() {
                        a.finish(now, &mut self.store);
                    }
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
            if self.last_flush.elapsed() >= self.cfg.flush_interval {
                self.flush();
            }
        }
    }

    fn analyse(&mut self, mut ex: Exchange) {
        let now = now_ms();
        // How long the exchange waited for analysis (queue plus batching).
        metrics::histogram!("palisade_pipeline_delay_seconds")
            .record(((now - ex.ts_ms).max(0) as f64) / 1000.0);
        for a in self.analyzers.iter_mut() {
            a.observe(&mut ex, now);
        }
        for f in &ex.findings {
            metrics::counter!("palisade_findings_total", "kind" => f.kind.clone(), "phase" => f.phase.as_str())
                .increment(1);
        }
        self.stats.analysed.fetch_add(1, Ordering::Relaxed);
        self.batch.push_back(ex);
        // The backlog is bounded: while the store fails, the oldest go.
        let max = self.cfg.max_pending_writes.max(self.cfg.batch_size).max(1);
        if self.batch.len() > max {
            let excess = self.batch.len() - max;
            self.batch.drain(..excess);
            self.stats
                .dropped_writes
                .fetch_add(excess as u64, Ordering::Relaxed);
            metrics::counter!("palisade_pipeline_dropped_writes_total").increment(excess as u64);
        }
        self.stats
            .pending_writes
            .store(self.batch.len() as u64, Ordering::Relaxed);
    }

    /// Writes the backlog in batches, oldest first, until it is empty, the
    /// store fails (then waits out a growing pause) or the catch-up budget
    /// is spent.
    fn write_pending(&mut self) {
        if !self.store_ready() {
            return;
        }
        let started = Instant::now();
        while !self.batch.is_empty() {
            let n = self.batch.len().min(self.cfg.batch_size.max(1));
            let chunk = &self.batch.make_contiguous()[..n];
            match self.store.insert_exchanges(chunk) {
                Ok(_) => {
                    self.batch.drain(..n);
                    self.stats.stored.fetch_add(n as u64, Ordering::Relaxed);
                    if self.retry_at.take().is_some() {
                        tracing::info!(
                            backlog = self.batch.len(),
                            "the store answers again; writing the backlog"
                        );
                    }
                    self.retry_pause = Duration::ZERO;
                }
                Err(e) => {
                    self.stats.store_errors.fetch_add(1, Ordering::Relaxed);
                    metrics::counter!("palisade_store_errors_total").increment(1);
                    // Log the first failure of an outage, then once per pause
                    // at most (the pause grows to MAX_RETRY_PAUSE).
                    self.retry_pause = (self.retry_pause * 2)
                        .max(self.cfg.flush_interval)
                        .min(MAX_RETRY_PAUSE);
                    self.retry_at = Some(Instant::now() + self.retry_pause);
                    tracing::error!(
                        error = %e,
                        pending = self.batch.len(),
                        retry_in_ms = self.retry_pause.as_millis() as u64,
                        "store write failed; keeping a bounded backlog and retrying"
                    );
                    break;
                }
            }
            if started.elapsed() >= CATCH_UP_BUDGET {
                break;
            }
        }
        self.stats
            .pending_writes
            .store(self.batch.len() as u64, Ordering::Relaxed);
    }

    fn flush(&mut self) {
        self.last_flush = Instant::now();
        let now = now_ms();
        self.write_pending();
        for a in self.analyzers.iter_mut() {
            a.tick(now, &mut self.store);
        }
        if self.last_retention.elapsed() >= self.cfg.retention_interval && self.retry_at.is_none() {
            self.last_retention = Instant::now();
            match self.store.apply_retention(&self.cfg.retention, now) {
                Ok(n) if n > 0 => tracing::info!(deleted = n, "retention"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "retention failed"),
            }
        }
        metrics::gauge!("palisade_pipeline_lag").set(self.stats.lag() as f64);
        metrics::gauge!("palisade_pipeline_pending_writes").set(self.batch.len() as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_core::{Finding, RequestPart};
    use palisade_store::ExchangeQuery;

    fn ex(i: usize) -> Exchange {
        Exchange {
            id: format!("r{i}"),
            ts_ms: now_ms(),
            client_ip: "127.0.0.1".parse().unwrap(),
            request: RequestPart {
                target: format!("/x/{i}"),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    struct Tagger;
    impl Analyzer for Tagger {
        fn name(&self) -> &'static str {
            "tagger"
        }
        fn observe(&mut self, ex: &mut Exchange, _: i64) {
            if ex.request.path().ends_with("/3") {
                ex.findings.push(Finding::new("test", "test.three", "path"));
            }
        }
    }

    #[test]
    fn exchanges_are_analysed_then_stored() {
        let dir = tempfile::tempdir().unwrap();
        let p = Pipeline::start(
            PipelineConfig::default(),
            Store::open(dir.path()).unwrap(),
            vec![Box::new(Tagger)],
        );
        let sink = p.sink();
        for i in 0..10 {
            assert!(sink.offer(ex(i)));
        }
        p.flush();
        let s = Store::open_read_only(dir.path()).unwrap();
        let page = s
            .exchanges(&ExchangeQuery {
                limit: 100,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(page.items.len(), 10);
        let flagged = s
            .exchanges(&ExchangeQuery {
                limit: 100,
                flagged: true,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(flagged.items[0].id, "r3");
        assert_eq!(p.stats().stored.load(Ordering::Relaxed), 10);
    }

    struct Slow(Arc<std::sync::Barrier>);
    impl Analyzer for Slow {
        fn name(&self) -> &'static str {
            "slow"
        }
        fn observe(&mut self, _: &mut Exchange, _: i64) {
            self.0.wait();
        }
    }

    #[test]
    fn a_full_queue_sheds_and_counts_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let gate = Arc::new(std::sync::Barrier::new(2));
        let cfg = PipelineConfig {
            capacity: 4,
            ..Default::default()
        };
        let p = Pipeline::start(
            cfg,
            Store::open(dir.path()).unwrap(),
            vec![Box::new(Slow(gate.clone()))],
        );
        let sink = p.sink();
        // The worker takes the first and waits at the gate; 4 more fill the queue.
        let accepted = (0..20).filter(|i| sink.offer(ex(*i))).count();
        assert!(accepted <= 5, "accepted {accepted}");
        assert_eq!(
            p.stats().shed.load(Ordering::Relaxed),
            (20 - accepted) as u64
        );
        for _ in 0..accepted {
            gate.wait();
        }
        p.flush();
        assert_eq!(p.stats().stored.load(Ordering::Relaxed), accepted as u64);
        assert_eq!(p.stats().lag(), 0);
    }

    #[test]
    fn shutdown_writes_what_was_queued() {
        let dir = tempfile::tempdir().unwrap();
        let p = Pipeline::start(
            PipelineConfig::default(),
            Store::open(dir.path()).unwrap(),
            vec![],
        );
        let sink = p.sink();
        for i in 0..100 {
            sink.offer(ex(i));
        }
        p.shutdown();
        let s = Store::open_read_only(dir.path()).unwrap();
        assert_eq!(s.counts(0).unwrap().exchanges, 100);
    }
}
