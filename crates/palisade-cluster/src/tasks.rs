//! The three background tasks: the publisher (queue → Redis), the reader
//! (stream → this node's tracker) and the follower (decision keys and
//! notifications → the remote decision snapshot). Each reconnects on its own
//! with backoff; none of them is ever awaited by the request path.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use arc_swap::ArcSwap;
use futures_util::StreamExt as _;
use palisade_actors::DecisionSnapshot;
use palisade_core::{Exchange, now_ms};
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Value};
use tokio::sync::{mpsc, watch};

use crate::{Shared, WireDecision, hand_over, mask_url};

/// Observations written per round trip, at most.
const BATCH: usize = 512;
/// Entries read per `XREAD`.
const READ_COUNT: usize = 512;
/// How long one `XREAD` blocks on the server.
const READ_BLOCK_MS: u64 = 1000;
/// Full re-read of the decision keys, besides the notifications.
const RESYNC: Duration = Duration::from_secs(5);
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Decision keys read per resync, at most.
const MAX_SCAN: usize = 200_000;

/// Waits `d`, or less when stopping; `true` when stopping.
async fn pause(d: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => *stop.borrow(),
        _ = stop.changed() => true,
    }
}

async fn connect(
    shared: &Shared,
    response_timeout: Duration,
) -> redis::RedisResult<MultiplexedConnection> {
    let cfg = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(response_timeout));
    shared
        .client
        .get_multiplexed_async_connection_with_config(&cfg)
        .await
}

/// Logs a connection failure once per outage, not once per retry.
struct Outage {
    what: &'static str,
    down: bool,
}

impl Outage {
    fn failed(&mut self, shared: &Shared, e: &redis::RedisError) {
        if !self.down {
            self.down = true;
            tracing::warn!(
                task = self.what,
                redis = %mask_url(shared.cfg.redis.trim()),
                error = %mask_url(&e.to_string()),
                "cluster: Redis unreachable; serving with local state and retrying"
            );
        }
    }
    fn up(&mut self, shared: &Shared) {
        if self.down {
            tracing::info!(task = self.what, redis = %mask_url(shared.cfg.redis.trim()), "cluster: Redis reachable again");
        }
        self.down = false;
    }
}

fn set_connected(shared: &Shared, up: bool) {
    shared.stats.connected.store(up, Ordering::Relaxed);
    metrics::gauge!("palisade_cluster_connected").set(if up { 1.0 } else { 0.0 });
}

/// Drains the observation queue and the decision book into Redis.
pub(crate) async fn publisher(
    shared: Arc<Shared>,
    mut rx: mpsc::Receiver<String>,
    mut stop: watch::Receiver<bool>,
) {
    let mut pending: Vec<String> = Vec::new();
    let mut backoff = BACKOFF_MIN;
    let mut outage = Outage {
        what: "publisher",
        down: false,
    };
    let mut closed = false;
    loop {
        if *stop.borrow() {
            return;
        }
        let mut conn = match connect(&shared, Duration::from_secs(3)).await {
            Ok(c) => c,
            Err(e) => {
                set_connected(&shared, false);
                outage.failed(&shared, &e);
                if pause(backoff, &mut stop).await {
                    return;
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
                continue;
            }
        };
        backoff = BACKOFF_MIN;
        outage.up(&shared);
        set_connected(&shared, true);
        shared.stats.connects.fetch_add(1, Ordering::Relaxed);
        // Redis may have restarted empty: write every live decision again.
        if let Ok(mut book) = shared.book.lock() {
            for (_, dirty) in book.entries.values_mut() {
                *dirty = true;
            }
        }
        loop {
            if pending.is_empty() {
                if closed && !has_dirty(&shared) {
                    return;
                }
                tokio::select! {
                    got = rx.recv(), if !closed => match got {
                        Some(x) => pending.push(x),
                        None => closed = true,
                    },
                    _ = shared.notify.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop.changed() => {}
                }
            }
            while pending.len() < BATCH {
                match rx.try_recv() {
                    Ok(x) => pending.push(x),
                    Err(_) => break,
                }
            }
            let now = now_ms();
            let decisions: Vec<WireDecision> = match shared.book.lock() {
                Ok(book) => book
                    .entries
                    .values()
                    .filter(|(d, dirty)| *dirty && d.until_ms > now)
                    .map(|(d, _)| d.clone())
                    .collect(),
                Err(_) => Vec::new(),
            };
            if pending.is_empty() && decisions.is_empty() {
                set_connected(&shared, true);
                if *stop.borrow() {
                    return;
                }
                continue;
            }
            let mut pipe = redis::pipe();
            let stream = shared.stream_key();
            for x in &pending {
                pipe.cmd("XADD")
                    .arg(&stream)
                    .arg("MAXLEN")
                    .arg("~")
                    .arg(shared.cfg.stream_max_len)
                    .arg("*")
                    .arg("n")
                    .arg(&shared.node)
                    .arg("x")
                    .arg(x)
                    .ignore();
            }
            let channel = shared.channel();
            for d in &decisions {
                let Ok(json) = serde_json::to_string(d) else {
                    continue;
                };
                let ttl = (d.until_ms - now).max(1);
                pipe.cmd("SET")
                    .arg(shared.decision_key(&d.id))
                    .arg(&json)
                    .arg("PX")
                    .arg(ttl)
                    .ignore();
                pipe.cmd("PUBLISH").arg(&channel).arg(&json).ignore();
            }
            match pipe.query_async::<()>(&mut conn).await {
                Ok(()) => {
                    let n = pending.len() as u64;
                    shared
                        .stats
                        .published_observations
                        .fetch_add(n, Ordering::Relaxed);
                    metrics::counter!("palisade_cluster_published_total", "kind" => "observation")
                        .increment(n);
                    let m = decisions.len() as u64;
                    shared
                        .stats
                        .published_decisions
                        .fetch_add(m, Ordering::Relaxed);
                    metrics::counter!("palisade_cluster_published_total", "kind" => "decision")
                        .increment(m);
                    pending.clear();
                    if let Ok(mut book) = shared.book.lock() {
                        for d in &decisions {
                            if let Some((cur, dirty)) = book.entries.get_mut(&d.id)
                                && cur == d
                            {
                                *dirty = false;
                            }
                        }
                    }
                    if *stop.borrow() && rx.is_empty() {
                        return;
                    }
                }
                Err(e) => {
                    // Keep the batch in hand for the next connection.
                    set_connected(&shared, false);
                    outage.failed(&shared, &e);
                    break;
                }
            }
        }
        if pause(backoff, &mut stop).await {
            return;
        }
    }
}

fn has_dirty(shared: &Shared) -> bool {
    shared
        .book
        .lock()
        .map(|b| b.entries.values().any(|(_, d)| *d))
        .unwrap_or(false)
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

/// The entries of an `XREAD` / `XREVRANGE` reply: (id, fields).
fn entries(v: &Value) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    let Value::Array(items) = v else {
        return out;
    };
    for item in items {
        let Value::Array(pair) = item else { continue };
        let (Some(id), Some(Value::Array(fields))) = (pair.first().and_then(text), pair.get(1))
        else {
            continue;
        };
        let fields = fields
            .chunks(2)
            .filter_map(|kv| Some((text(kv.first()?)?, text(kv.get(1)?)?)))
            .collect();
        out.push((id, fields));
    }
    out
}

/// The entries of an `XREAD` reply over one stream (RESP2 array or RESP3 map).
fn read_reply(v: &Value) -> Vec<(String, Vec<(String, String)>)> {
    match v {
        Value::Array(streams) => streams
            .iter()
            .filter_map(|s| match s {
                Value::Array(kv) => kv.get(1).map(entries),
                _ => None,
            })
            .flatten()
            .collect(),
        Value::Map(kv) => kv.iter().flat_map(|(_, e)| entries(e)).collect(),
        _ => Vec::new(),
    }
}

/// Reads the other nodes' observations and hands them to analysis.
pub(crate) async fn reader(
    shared: Arc<Shared>,
    tx: SyncSender<Exchange>,
    mut stop: watch::Receiver<bool>,
) {
    let stream = shared.stream_key();
    let mut last: Option<String> = None;
    let mut backoff = BACKOFF_MIN;
    let mut outage = Outage {
        what: "reader",
        down: false,
    };
    loop {
        if *stop.borrow() {
            return;
        }
        let timeout = Duration::from_millis(READ_BLOCK_MS) + Duration::from_secs(3);
        let mut conn = match connect(&shared, timeout).await {
            Ok(c) => c,
            Err(e) => {
                outage.failed(&shared, &e);
                if pause(backoff, &mut stop).await {
                    return;
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
                continue;
            }
        };
        backoff = BACKOFF_MIN;
        outage.up(&shared);
        if last.is_none() {
            // First start: from the newest entry on (the tracker counts
            // from now; decisions already taken come from the follower).
            match redis::cmd("XREVRANGE")
                .arg(&stream)
                .arg("+")
                .arg("-")
                .arg("COUNT")
                .arg(1)
                .query_async::<Value>(&mut conn)
                .await
            {
                Ok(v) => {
                    last = Some(
                        entries(&v)
                            .into_iter()
                            .next()
                            .map(|(id, _)| id)
                            .unwrap_or_else(|| "0-0".into()),
                    )
                }
                Err(e) => {
                    outage.failed(&shared, &e);
                    if pause(backoff, &mut stop).await {
                        return;
                    }
                    continue;
                }
            }
        }
        loop {
            let from = last.clone().unwrap_or_else(|| "0-0".into());
            let mut xread = redis::cmd("XREAD");
            xread
                .arg("COUNT")
                .arg(READ_COUNT)
                .arg("BLOCK")
                .arg(READ_BLOCK_MS)
                .arg("STREAMS")
                .arg(&stream)
                .arg(&from);
            let read = xread.query_async::<Value>(&mut conn);
            let v = tokio::select! {
                r = read => r,
                _ = stop.changed() => return,
            };
            match v {
                Ok(v) => {
                    for (id, fields) in read_reply(&v) {
                        last = Some(id);
                        let mut node = None;
                        let mut body = None;
                        for (k, val) in fields {
                            match k.as_str() {
                                "n" => node = Some(val),
                                "x" => body = Some(val),
                                _ => {}
                            }
                        }
                        if node.as_deref() == Some(shared.node.as_str()) {
                            continue;
                        }
                        let Some(Ok(mut ex)) =
                            body.as_deref().map(serde_json::from_str::<Exchange>)
                        else {
                            tracing::debug!("cluster: unreadable stream entry skipped");
                            continue;
                        };
                        // Analysis is behind: wait for room (the stream keeps
                        // the rest), never drop what it will want.
                        while let Some(back) = hand_over(&shared, &tx, ex) {
                            ex = back;
                            if pause(Duration::from_millis(20), &mut stop).await {
                                return;
                            }
                        }
                    }
                }
                Err(e) => {
                    outage.failed(&shared, &e);
                    break;
                }
            }
            if *stop.borrow() {
                return;
            }
        }
        if pause(backoff, &mut stop).await {
            return;
        }
    }
}

/// Writes (NX) and compares the key check; `true` when this node's key is
/// the cluster's.
async fn key_matches(
    shared: &Shared,
    conn: &mut MultiplexedConnection,
) -> redis::RedisResult<bool> {
    let mine = shared.keycheck_value();
    let _: Value = redis::cmd("SET")
        .arg(shared.keycheck_key())
        .arg(&mine)
        .arg("NX")
        .query_async(conn)
        .await?;
    let theirs: Option<String> = redis::cmd("GET")
        .arg(shared.keycheck_key())
        .query_async(conn)
        .await?;
    let ok = theirs.is_none_or(|t| t == mine);
    let was = shared.stats.key_mismatch.swap(!ok, Ordering::Relaxed);
    metrics::gauge!("palisade_cluster_key_mismatch").set(if ok { 0.0 } else { 1.0 });
    if !ok && !was {
        tracing::error!(
            "cluster: this node's hash.key differs from the other nodes' (fix: copy hash.key from another node's data directory to this one, then restart); decisions from other nodes are ignored until then"
        );
    }
    Ok(ok)
}

/// Every decision key now in Redis.
async fn scan_decisions(
    shared: &Shared,
    conn: &mut MultiplexedConnection,
) -> redis::RedisResult<Vec<WireDecision>> {
    let mut cursor: u64 = 0;
    let mut keys: Vec<String> = Vec::new();
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(shared.decision_pattern())
            .arg("COUNT")
            .arg(1000)
            .query_async(conn)
            .await?;
        keys.extend(batch);
        cursor = next;
        if cursor == 0 || keys.len() >= MAX_SCAN {
            break;
        }
    }
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(500) {
        let values: Vec<Option<String>> = redis::cmd("MGET").arg(chunk).query_async(conn).await?;
        out.extend(
            values
                .into_iter()
                .flatten()
                .filter_map(|v| serde_json::from_str::<WireDecision>(&v).ok()),
        );
    }
    Ok(out)
}

/// The other nodes' decisions, by (node, actor id).
struct Held {
    by_id: HashMap<(String, String), WireDecision>,
}

fn held_key(d: &WireDecision) -> (String, String) {
    (d.node.clone(), d.id.clone())
}

impl Held {
    fn accept(&self, shared: &Shared, d: &WireDecision, now: i64) -> bool {
        d.node != shared.node
            && d.until_ms > now
            && !shared.stats.key_mismatch.load(Ordering::Relaxed)
    }

    fn publish(&mut self, shared: &Shared, remote: &ArcSwap<DecisionSnapshot>) {
        let now = now_ms();
        self.by_id.retain(|_, d| d.until_ms > now);
        let snap = DecisionSnapshot::from_exported(
            self.by_id.values().filter_map(WireDecision::to_exported),
            now,
        );
        shared
            .stats
            .remote_held
            .store(self.by_id.len() as u64, Ordering::Relaxed);
        metrics::gauge!("palisade_cluster_remote_decisions").set(self.by_id.len() as f64);
        remote.store(Arc::new(snap));
    }

    fn applied(shared: &Shared, n: u64) {
        shared
            .stats
            .remote_decisions
            .fetch_add(n, Ordering::Relaxed);
        metrics::counter!("palisade_cluster_remote_decisions_total").increment(n);
    }
}

/// Follows the other nodes' decisions: notifications as they come, and the
/// decision keys on (re)connect and every few seconds.
pub(crate) async fn follower(
    shared: Arc<Shared>,
    remote: Arc<ArcSwap<DecisionSnapshot>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut held = Held {
        by_id: HashMap::new(),
    };
    let mut backoff = BACKOFF_MIN;
    let mut outage = Outage {
        what: "follower",
        down: false,
    };
    loop {
        if *stop.borrow() {
            return;
        }
        let connected = async {
            let mut pubsub = shared.client.get_async_pubsub().await?;
            pubsub.subscribe(shared.channel()).await?;
            let conn = connect(&shared, Duration::from_secs(3)).await?;
            Ok::<_, redis::RedisError>((pubsub, conn))
        };
        let (mut pubsub, mut conn) =
            match tokio::time::timeout(Duration::from_secs(5), connected).await {
                Ok(Ok(c)) => c,
                Ok(Err(e)) => {
                    outage.failed(&shared, &e);
                    if pause(backoff, &mut stop).await {
                        return;
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                    continue;
                }
                Err(_) => {
                    if pause(backoff, &mut stop).await {
                        return;
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                    continue;
                }
            };
        backoff = BACKOFF_MIN;
        outage.up(&shared);
        let mut next_resync = tokio::time::Instant::now();
        let mut messages = pubsub.on_message();
        loop {
            if tokio::time::Instant::now() >= next_resync {
                next_resync = tokio::time::Instant::now() + RESYNC;
                let synced = async {
                    key_matches(&shared, &mut conn).await?;
                    scan_decisions(&shared, &mut conn).await
                };
                match synced.await {
                    Ok(list) => {
                        let now = now_ms();
                        let accepted: HashMap<(String, String), WireDecision> = list
                            .into_iter()
                            .filter(|d| held.accept(&shared, d, now))
                            .map(|d| (held_key(&d), d))
                            .collect();
                        let fresh = accepted
                            .iter()
                            .filter(|(id, d)| held.by_id.get(*id) != Some(*d))
                            .count() as u64;
                        Held::applied(&shared, fresh);
                        held.by_id = accepted;
                        held.publish(&shared, &remote);
                    }
                    Err(e) => {
                        outage.failed(&shared, &e);
                        break;
                    }
                }
            }
            let wait = next_resync.saturating_duration_since(tokio::time::Instant::now());
            tokio::select! {
                m = messages.next() => match m {
                    Some(m) => {
                        let Ok(payload) = m.get_payload::<String>() else { continue };
                        let Ok(d) = serde_json::from_str::<WireDecision>(&payload) else {
                            tracing::debug!("cluster: unreadable decision message skipped");
                            continue;
                        };
                        if held.accept(&shared, &d, now_ms()) && held.by_id.get(&held_key(&d)) != Some(&d) {
                            held.by_id.insert(held_key(&d), d);
                            Held::applied(&shared, 1);
                            held.publish(&shared, &remote);
                        }
                    }
                    None => break, // the connection closed
                },
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => return,
            }
        }
        if pause(backoff, &mut stop).await {
            return;
        }
    }
}
