//! [`Alerter`]: per-destination bounded queues and delivery tasks, with
//! retry and backoff; [`test_send`] for the `alerts test` command.
//!
//! Each destination has its own queue and task, so a destination that is down
//! (and being retried) never delays the others. [`Alerter::send`] is a
//! `try_send` on each queue whose minimum severity the alert meets: it never
//! blocks, and may be called from any thread (the analysis thread is not
//! async).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use palisade_core::Severity;
use serde::Serialize;
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::alert::Alert;
use crate::config::AlertConfig;
use crate::error::AlertError;
use crate::transport::Destination;

/// Longest wait between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
struct Counters {
    queued: AtomicU64,
    sent: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
    shed: AtomicU64,
}

/// Counters of one destination.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DestinationStats {
    /// `webhook https://hooks.slack.com`, `syslog tcp://siem:514` (never a
    /// webhook's path, which is often its secret).
    pub destination: String,
    pub min_severity: Severity,
    /// Accepted into the queue.
    pub queued: u64,
    pub sent: u64,
    /// Attempts that failed and were retried.
    pub retried: u64,
    /// Alerts given up after the last retry.
    pub failed: u64,
    /// Alerts refused because the queue was full.
    pub shed: u64,
}

struct Queue {
    name: String,
    min: Severity,
    tx: mpsc::Sender<Arc<Alert>>,
    counters: Arc<Counters>,
}

/// The running alert delivery. Dropping it stops the tasks once their queues
/// are drained; [`Alerter::shutdown`] waits for that, within a bound.
pub struct Alerter {
    queues: Vec<Queue>,
    tasks: Vec<JoinHandle<()>>,
    console_url: Option<String>,
}

impl std::fmt::Debug for Alerter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alerter")
            .field(
                "destinations",
                &self.queues.iter().map(|q| &q.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn build_destinations(cfg: &AlertConfig) -> Result<Vec<Destination>, AlertError> {
    cfg.validate()?;
    let mut errs = Vec::new();
    let mut dests = Vec::new();
    for w in &cfg.webhooks {
        match Destination::webhook(w) {
            Ok(d) => dests.push(d),
            Err(AlertError::Config(e)) => errs.extend(e),
            Err(e) => errs.push(e.to_string()),
        }
    }
    for s in &cfg.syslog {
        match Destination::syslog(s) {
            Ok(d) => dests.push(d),
            Err(AlertError::Config(e)) => errs.extend(e),
            Err(e) => errs.push(e.to_string()),
        }
    }
    if errs.is_empty() {
        Ok(dests)
    } else {
        Err(AlertError::Config(errs))
    }
}

impl Alerter {
    /// Validates the config, reads CA files, and starts one delivery task per
    /// destination on the current tokio runtime.
    pub fn start(cfg: &AlertConfig) -> Result<Alerter, AlertError> {
        let handle = Handle::try_current().map_err(|_| AlertError::NoRuntime)?;
        Self::start_on(&handle, cfg)
    }

    /// As [`Alerter::start`], on the given runtime (for callers outside it).
    pub fn start_on(handle: &Handle, cfg: &AlertConfig) -> Result<Alerter, AlertError> {
        let dests = build_destinations(cfg)?;
        let timeout = Duration::from_millis(cfg.timeout_ms.max(1));
        let backoff = Duration::from_millis(cfg.backoff_ms);
        let retries = cfg.retries;
        let mut queues = Vec::new();
        let mut tasks = Vec::new();
        for mut d in dests {
            let (tx, mut rx) = mpsc::channel::<Arc<Alert>>(cfg.queue_size.max(1));
            let counters = Arc::new(Counters::default());
            let c = counters.clone();
            let name = d.name();
            let task_name = name.clone();
            queues.push(Queue {
                name,
                min: d.min_severity(),
                tx,
                counters,
            });
            tasks.push(handle.spawn(async move {
                while let Some(alert) = rx.recv().await {
                    let mut attempt: u32 = 0;
                    loop {
                        match d.deliver(&alert, timeout).await {
                            Ok(()) => {
                                c.sent.fetch_add(1, Ordering::Relaxed);
                                break;
                            }
                            Err(e) if attempt >= retries => {
                                c.failed.fetch_add(1, Ordering::Relaxed);
                                tracing::warn!(
                                    destination = %task_name,
                                    attempts = attempt + 1,
                                    error = %e,
                                    "alert delivery failed; giving up on this alert"
                                );
                                break;
                            }
                            Err(e) => {
                                c.retried.fetch_add(1, Ordering::Relaxed);
                                let wait = backoff
                                    .saturating_mul(1u32 << attempt.min(16))
                                    .min(MAX_BACKOFF);
                                tracing::debug!(
                                    destination = %task_name,
                                    attempt = attempt + 1,
                                    error = %e,
                                    retry_in_ms = wait.as_millis() as u64,
                                    "alert delivery failed; retrying"
                                );
                                attempt += 1;
                                tokio::time::sleep(wait).await;
                            }
                        }
                    }
                }
            }));
        }
        Ok(Alerter {
            queues,
            tasks,
            console_url: cfg.console_url.clone(),
        })
    }

    /// Queues an alert for every destination whose minimum severity it
    /// meets. Never blocks. Returns `false` when some destination's queue was
    /// full (the alert is shed there and counted), `true` otherwise (also
    /// when no destination wanted it).
    pub fn send(&self, alert: Alert) -> bool {
        let mut alert = alert.sanitized();
        if alert.link.is_none()
            && let (Some(base), Some(id)) = (&self.console_url, &alert.incident_id)
        {
            alert.link = Some(format!("{}/incidents/{id}", base.trim_end_matches('/')));
        }
        let alert = Arc::new(alert);
        let mut all = true;
        for q in &self.queues {
            if alert.severity < q.min {
                continue;
            }
            match q.tx.try_send(alert.clone()) {
                Ok(()) => {
                    q.counters.queued.fetch_add(1, Ordering::Relaxed);
                }
                Err(_) => {
                    q.counters.shed.fetch_add(1, Ordering::Relaxed);
                    all = false;
                }
            }
        }
        all
    }

    /// Counters per destination, in configuration order (webhooks, then
    /// syslog).
    pub fn stats(&self) -> Vec<DestinationStats> {
        self.queues
            .iter()
            .map(|q| DestinationStats {
                destination: q.name.clone(),
                min_severity: q.min,
                queued: q.counters.queued.load(Ordering::Relaxed),
                sent: q.counters.sent.load(Ordering::Relaxed),
                retried: q.counters.retried.load(Ordering::Relaxed),
                failed: q.counters.failed.load(Ordering::Relaxed),
                shed: q.counters.shed.load(Ordering::Relaxed),
            })
            .collect()
    }

    /// Stops taking alerts, lets the tasks drain their queues for at most
    /// `grace`, then stops them.
    pub async fn shutdown(self, grace: Duration) {
        let Alerter { queues, tasks, .. } = self;
        drop(queues);
        let deadline = tokio::time::Instant::now() + grace;
        for mut t in tasks {
            if tokio::time::timeout_at(deadline, &mut t).await.is_err() {
                t.abort();
            }
        }
    }
}

/// The result of a test send to one destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestResult {
    pub destination: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub elapsed_ms: u64,
}

/// Sends one test alert to every configured destination, once each, without
/// retry, and reports each result (a configuration problem is an `Err` with
/// every problem). For `palisade alerts test` and the console's test button.
pub async fn test_send(cfg: &AlertConfig, now_ms: i64) -> Result<Vec<TestResult>, AlertError> {
    let dests = build_destinations(cfg)?;
    let timeout = Duration::from_millis(cfg.timeout_ms.max(1));
    let mut alert = Alert::new("test", "Palisade test alert", Severity::High, now_ms);
    alert.summary =
        "This is a test alert from Palisade: if you read it, this destination works.".into();
    alert.rule = Some("palisade.test".into());
    alert.location = Some("none".into());
    alert.request_id = Some("test".into());
    let mut out = Vec::new();
    for mut d in dests {
        let t0 = Instant::now();
        let r = d.deliver(&alert, timeout).await;
        out.push(TestResult {
            destination: d.name(),
            ok: r.is_ok(),
            error: r.err(),
            elapsed_ms: t0.elapsed().as_millis() as u64,
        });
    }
    Ok(out)
}
