//! Cluster mode: several Palisade gateways behind one load balancer share
//! actor state through Redis, so an attacker blocked on one is blocked on
//! all, and a campaign spread across nodes is seen as one.
//!
//! What is shared, and how:
//!
//! - **Observations.** Each node appends the exchanges its actors analyser
//!   observed, slimmed and pseudonymised ([`wire::slim`]: no card number,
//!   secret, cookie or password leaves the process), to the Redis stream
//!   `{prefix}:obs` (`XADD ... MAXLEN ~ stream_max_len`). Every node reads
//!   the other nodes' entries and feeds them to its own tracker, and to
//!   nothing else (not the store, catalog or incidents): counters such as
//!   distinct cards per campaign are cluster-wide.
//! - **Decisions.** When a node's tracker decides to rate-limit, tarpit or
//!   block an actor or campaign, the decision and the index hashes that
//!   select it are written to `{prefix}:decision:{node}:{id}` with a `PX` expiry
//!   equal to the decision's remaining time, and published on
//!   `{prefix}:decisions`. Every node merges the others' decisions into a
//!   second [`DecisionSnapshot`] that the inline engine consults after its
//!   own. A node that starts or reconnects reads the current decision keys
//!   (`SCAN`), so it holds existing blocks.
//! - **Outage.** Publishing goes through a bounded queue drained by one task
//!   that reconnects with backoff (100 ms doubling to 5 s). While Redis is
//!   down, local analysis and enforcement go on unchanged, observations wait
//!   in the queue up to its bound and are then dropped and counted, and
//!   decisions are kept as state (the latest per actor) and written again on
//!   reconnect. Remote decisions already held stay until they expire.
//!
//! Hashes only match between nodes that share the installation key
//! (`hash.key`): each node writes a keyed check value to `{prefix}:keycheck`
//! and ignores remote decisions when its key differs (and says so).
//!
//! Nothing here runs on the request path: the inline path reads an arc-swap.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use palisade_actors::DecisionSnapshot;
use palisade_analysis::actors::ActorsLink;
use palisade_core::{Exchange, KeyedHasher, Verdict};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;

mod tasks;
pub mod wire;

pub use wire::{WireDecision, slim};

/// `[cluster]` in palisade.toml.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// `redis://[user:password@]host:port[/db]`; empty: cluster mode off.
    #[serde(default)]
    pub redis: String,
    /// This node's name in the cluster; empty: `hostname:gateway-port`.
    #[serde(default)]
    pub node_id: String,
    /// Observations the Redis stream keeps (approximately).
    #[serde(default = "default_stream_max_len")]
    pub stream_max_len: usize,
    /// Observations that may wait for Redis before new ones are dropped.
    #[serde(default = "default_queue")]
    pub queue: usize,
    /// Prefix of every Redis key, so clusters can share one Redis.
    #[serde(default = "default_prefix")]
    pub prefix: String,
}

fn default_stream_max_len() -> usize {
    100_000
}
fn default_queue() -> usize {
    10_000
}
fn default_prefix() -> String {
    "palisade".into()
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            redis: String::new(),
            node_id: String::new(),
            stream_max_len: default_stream_max_len(),
            queue: default_queue(),
            prefix: default_prefix(),
        }
    }
}

/// One problem in `[cluster]`: the field, what is wrong, and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: &'static str,
    pub message: String,
    pub hint: String,
}

impl ClusterConfig {
    /// Whether cluster mode is on.
    pub fn enabled(&self) -> bool {
        !self.redis.trim().is_empty()
    }

    /// Every problem at once; empty when the section is valid.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        if self.enabled() {
            let url = self.redis.trim();
            let shown = mask_url(url);
            if url.starts_with("rediss://") {
                out.push(Problem {
                    field: "redis",
                    message: format!("`{shown}`: TLS to Redis is not supported"),
                    hint: "use redis:// on a private network, or a local TLS tunnel (stunnel, spiped) to a redis:// address".into(),
                });
            } else if !url.starts_with("redis://") {
                out.push(Problem {
                    field: "redis",
                    message: format!("`{shown}` is not a Redis URL"),
                    hint: "write it like \"redis://127.0.0.1:6379/\" or \"redis://:password@redis.internal:6379/0\"".into(),
                });
            } else if let Err(e) = redis::Client::open(url) {
                out.push(Problem {
                    field: "redis",
                    message: format!("`{shown}`: {}", e.to_string().replace(url, &shown)),
                    hint: "write it like \"redis://127.0.0.1:6379/\" (host, port and an optional database number)".into(),
                });
            }
        }
        if self.node_id.len() > 128 || self.node_id.chars().any(|c| c.is_control()) {
            out.push(Problem {
                field: "node_id",
                message: "must be at most 128 printable characters".into(),
                hint: "use a short name such as \"gw-1\", or leave it out for hostname:port".into(),
            });
        }
        if self.stream_max_len < 1000 {
            out.push(Problem {
                field: "stream_max_len",
                message: format!("{} is too small (at least 1000)", self.stream_max_len),
                hint: "the default, 100000, keeps a few minutes of a busy cluster".into(),
            });
        }
        if self.queue == 0 || self.queue > 10_000_000 {
            out.push(Problem {
                field: "queue",
                message: format!("{} is out of range (1 to 10000000)", self.queue),
                hint: "the default, 10000, rides out a short Redis restart".into(),
            });
        }
        if self.prefix.is_empty()
            || self.prefix.len() > 64
            || !self
                .prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        {
            out.push(Problem {
                field: "prefix",
                message: format!("`{}` is not a usable key prefix", self.prefix),
                hint: "use letters, digits, `_`, `-` or `.` (at most 64), like \"palisade\"".into(),
            });
        }
        out
    }
}

/// A Redis URL with its password (and user) hidden: `redis://***@host:port/`.
pub fn mask_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return if url.contains('@') {
            "***".into()
        } else {
            url.to_string()
        };
    };
    match rest.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://***@{host}"),
        None => url.to_string(),
    }
}

/// Counters of what the cluster link did (also exported as Prometheus
/// metrics `palisade_cluster_*`).
#[derive(Debug, Default)]
pub struct ClusterStats {
    /// Observations written to the stream.
    pub published_observations: AtomicU64,
    /// Decisions written (SET + PUBLISH).
    pub published_decisions: AtomicU64,
    /// Observations dropped because the queue to Redis was full.
    pub dropped_observations: AtomicU64,
    /// Decisions not kept because the decision book was full.
    pub dropped_decisions: AtomicU64,
    /// Remote observations dropped because analysis had stopped.
    pub dropped_remote: AtomicU64,
    /// Remote observations handed to the tracker's queue.
    pub remote_observations: AtomicU64,
    /// Remote decisions applied (messages and resyncs).
    pub remote_decisions: AtomicU64,
    /// Remote decisions currently held.
    pub remote_held: AtomicU64,
    /// Connections (re)established by the publisher.
    pub connects: AtomicU64,
    pub connected: AtomicBool,
    /// This node's `hash.key` differs from the cluster's.
    pub key_mismatch: AtomicBool,
}

/// Local decisions still to be written, by id. Decisions are state, not
/// events: only the latest per actor is kept, and all are written again after
/// a reconnect.
#[derive(Debug, Default)]
pub(crate) struct DecisionBook {
    pub(crate) entries: HashMap<String, (WireDecision, bool)>,
}

/// Decisions held in the book, at most.
const MAX_BOOK: usize = 100_000;

pub(crate) struct Shared {
    pub(crate) node: String,
    pub(crate) cfg: ClusterConfig,
    pub(crate) client: redis::Client,
    pub(crate) hasher: KeyedHasher,
    pub(crate) stats: ClusterStats,
    pub(crate) book: Mutex<DecisionBook>,
    pub(crate) notify: Notify,
}

impl Shared {
    pub(crate) fn stream_key(&self) -> String {
        format!("{}:obs", self.cfg.prefix)
    }
    /// One key per deciding node and actor: two nodes deciding on the same
    /// actor (or campaign) never overwrite each other's decision.
    pub(crate) fn decision_key(&self, id: &str) -> String {
        format!("{}:decision:{}:{id}", self.cfg.prefix, self.node)
    }
    pub(crate) fn decision_pattern(&self) -> String {
        format!("{}:decision:*", self.cfg.prefix)
    }
    pub(crate) fn channel(&self) -> String {
        format!("{}:decisions", self.cfg.prefix)
    }
    pub(crate) fn keycheck_key(&self) -> String {
        format!("{}:keycheck", self.cfg.prefix)
    }
    /// A keyed value that tells whether two nodes share `hash.key`, and
    /// nothing about the key.
    pub(crate) fn keycheck_value(&self) -> String {
        format!(
            "{:016x}",
            self.hasher.hash_str("cluster.keycheck", "palisade").0
        )
    }
}

/// The error of [`Cluster::start`].
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cluster.redis: {0}")]
    Config(String),
    #[error("cluster: the link to analysis was already taken")]
    LinkTaken,
}

/// A running cluster membership: background tasks plus the remote decision
/// snapshot. Start it inside a tokio runtime; it never waits for Redis.
pub struct Cluster {
    shared: Arc<Shared>,
    link: Mutex<Option<ClusterLink>>,
    remote: Arc<ArcSwap<DecisionSnapshot>>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("node", &self.shared.node)
            .field("stats", &self.shared.stats)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// Starts the publisher, the observation reader and the decision
    /// follower. `node` names this node (its own entries are skipped);
    /// `hasher` is the installation's keyed hasher.
    pub fn start(
        cfg: &ClusterConfig,
        node: &str,
        hasher: KeyedHasher,
    ) -> Result<Cluster, ClusterError> {
        if let Some(p) = cfg.problems().first() {
            return Err(ClusterError::Config(format!(
                "{}: {} (fix: {})",
                p.field, p.message, p.hint
            )));
        }
        let client = redis::Client::open(cfg.redis.trim())
            .map_err(|e| ClusterError::Config(mask_url(&e.to_string())))?;
        let shared = Arc::new(Shared {
            node: node.to_string(),
            cfg: cfg.clone(),
            client,
            hasher,
            stats: ClusterStats::default(),
            book: Mutex::new(DecisionBook::default()),
            notify: Notify::new(),
        });
        let (obs_tx, obs_rx) = mpsc::channel::<String>(cfg.queue.max(1));
        let (remote_tx, remote_rx) = std::sync::mpsc::sync_channel::<Exchange>(cfg.queue.max(1));
        let remote = Arc::new(ArcSwap::from_pointee(DecisionSnapshot::empty()));
        let (stop, stop_rx) = watch::channel(false);
        metrics::gauge!("palisade_cluster_connected").set(0.0);
        let tasks = vec![
            tokio::spawn(tasks::publisher(shared.clone(), obs_rx, stop_rx.clone())),
            tokio::spawn(tasks::reader(shared.clone(), remote_tx, stop_rx.clone())),
            tokio::spawn(tasks::follower(shared.clone(), remote.clone(), stop_rx)),
        ];
        let link = ClusterLink {
            shared: shared.clone(),
            obs_tx,
            remote_rx,
        };
        Ok(Cluster {
            shared,
            link: Mutex::new(Some(link)),
            remote,
            stop,
            tasks,
        })
    }

    /// The link for the actors analyser (once).
    pub fn link(&self) -> Result<ClusterLink, ClusterError> {
        self.link
            .lock()
            .map_err(|_| ClusterError::LinkTaken)?
            .take()
            .ok_or(ClusterError::LinkTaken)
    }

    /// The other nodes' decisions, for the inline engine.
    pub fn remote_decisions(&self) -> Arc<ArcSwap<DecisionSnapshot>> {
        self.remote.clone()
    }

    pub fn stats(&self) -> &ClusterStats {
        &self.shared.stats
    }

    pub fn node_id(&self) -> &str {
        &self.shared.node
    }

    /// Stops the tasks (bounded: two seconds for the publisher to flush).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        self.shared.notify.notify_one();
        for t in self.tasks {
            if tokio::time::timeout(Duration::from_secs(2), t)
                .await
                .is_err()
            {
                tracing::warn!("cluster task did not stop in time");
            }
        }
    }
}

/// The analysis side of the cluster (see [`ActorsLink`]): never waits.
pub struct ClusterLink {
    shared: Arc<Shared>,
    obs_tx: mpsc::Sender<String>,
    remote_rx: Receiver<Exchange>,
}

impl std::fmt::Debug for ClusterLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterLink")
            .field("node", &self.shared.node)
            .finish_non_exhaustive()
    }
}

impl ClusterLink {
    /// Queues one observation; `false` when it was dropped (queue full).
    pub fn offer(&self, ex: &Exchange) -> bool {
        let slim = slim(ex, &self.shared.hasher);
        let Ok(json) = serde_json::to_string(&slim) else {
            return false;
        };
        match self.obs_tx.try_send(json) {
            Ok(()) => true,
            Err(_) => {
                self.shared
                    .stats
                    .dropped_observations
                    .fetch_add(1, Ordering::Relaxed);
                metrics::counter!("palisade_cluster_dropped_total", "kind" => "observation")
                    .increment(1);
                false
            }
        }
    }

    /// Records this node's current decisions; new or changed ones are
    /// written by the publisher.
    pub fn record_decisions(&self, snapshot: &DecisionSnapshot, now_ms: i64) {
        let mut changed = false;
        let Ok(mut book) = self.shared.book.lock() else {
            return;
        };
        book.entries.retain(|_, (d, _)| d.until_ms > now_ms);
        for e in snapshot.export() {
            let d = &e.decision;
            if d.verdict == Verdict::Allow || d.until_ms <= now_ms {
                continue;
            }
            let id = d.actor_id.to_string();
            let fresh = match book.entries.get(&id) {
                None => true,
                Some((old, _)) => {
                    old.verdict.action() != d.verdict.action()
                        || d.until_ms > old.until_ms + 1000
                        || old.keys.len() != e.keys.len().min(wire::MAX_DECISION_KEYS)
                        || old.fingerprints.len() != e.fingerprints.len().min(64)
                }
            };
            if !fresh {
                continue;
            }
            if !book.entries.contains_key(&id) && book.entries.len() >= MAX_BOOK {
                self.shared
                    .stats
                    .dropped_decisions
                    .fetch_add(1, Ordering::Relaxed);
                metrics::counter!("palisade_cluster_dropped_total", "kind" => "decision")
                    .increment(1);
                continue;
            }
            book.entries.insert(
                id,
                (WireDecision::from_exported(&self.shared.node, &e), true),
            );
            changed = true;
        }
        drop(book);
        if changed {
            self.shared.notify.notify_one();
        }
    }

    /// Takes up to `max` remote observations.
    pub fn take_remote(&self, max: usize) -> Vec<Exchange> {
        let mut out = Vec::new();
        while out.len() < max {
            match self.remote_rx.try_recv() {
                Ok(ex) => out.push(ex),
                Err(_) => break,
            }
        }
        out
    }
}

impl ActorsLink for ClusterLink {
    fn observed(&mut self, ex: &Exchange, _now_ms: i64) {
        self.offer(ex);
    }
    fn decisions(&mut self, snapshot: &DecisionSnapshot, now_ms: i64) {
        self.record_decisions(snapshot, now_ms);
    }
    fn remote(&mut self, max: usize) -> Vec<Exchange> {
        self.take_remote(max)
    }
}

/// Hands a remote observation to analysis; gives it back when analysis's
/// queue is full (the reader then waits: the entry is still in Redis).
pub(crate) fn hand_over(
    shared: &Shared,
    tx: &SyncSender<Exchange>,
    ex: Exchange,
) -> Option<Exchange> {
    match tx.try_send(ex) {
        Ok(()) => {
            shared
                .stats
                .remote_observations
                .fetch_add(1, Ordering::Relaxed);
            metrics::counter!("palisade_cluster_remote_observations_total").increment(1);
            None
        }
        Err(TrySendError::Full(ex)) => Some(ex),
        Err(TrySendError::Disconnected(_)) => {
            shared.stats.dropped_remote.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("palisade_cluster_dropped_total", "kind" => "remote").increment(1);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_passwords_masked() {
        let ok = ClusterConfig {
            redis: "redis://:s3cret@10.0.0.5:6379/0".into(),
            ..Default::default()
        };
        assert!(ok.problems().is_empty(), "{:?}", ok.problems());
        assert_eq!(mask_url(&ok.redis), "redis://***@10.0.0.5:6379/0");
        assert_eq!(
            mask_url("redis://127.0.0.1:6379/"),
            "redis://127.0.0.1:6379/"
        );
        for (url, word) in [
            ("http://x:6379", "not a Redis URL"),
            ("rediss://u:pw@x:6379", "TLS"),
            ("redis://:pw@", "redis"),
        ] {
            let c = ClusterConfig {
                redis: url.into(),
                ..Default::default()
            };
            let p = c.problems();
            assert_eq!(p.len(), 1, "{url}: {p:?}");
            assert_eq!(p[0].field, "redis");
            assert!(p[0].message.contains(word), "{url}: {p:?}");
            assert!(!p[0].message.contains("pw@"), "password shown: {p:?}");
        }
        let bad = ClusterConfig {
            queue: 0,
            stream_max_len: 10,
            prefix: "a b".into(),
            ..Default::default()
        };
        let fields: Vec<&str> = bad.problems().iter().map(|p| p.field).collect();
        assert_eq!(fields, ["stream_max_len", "queue", "prefix"]);
        assert!(!ClusterConfig::default().enabled());
    }
}
