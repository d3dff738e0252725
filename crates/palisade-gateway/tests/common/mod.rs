//! What the gateway's end-to-end tests share: a sink that collects the
//! exchanges handed to analysis, and a running gateway on loopback that is
//! stopped when the test ends.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use palisade_core::{Exchange, ExchangeSink, Inspector};
use palisade_gateway::config::{GatewayConfig, RouteConfig};
use palisade_gateway::{Gateway, Routes, Stats};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Collects exchanges handed to analysis.
#[derive(Default, Clone)]
pub struct Collect(pub Arc<Mutex<Vec<Exchange>>>);

impl ExchangeSink for Collect {
    fn offer(&self, ex: Exchange) -> bool {
        self.0.lock().unwrap().push(ex);
        true
    }
}

impl Collect {
    /// Waits (at most 2 s) until `n` exchanges arrived; returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Exchange> {
        for _ in 0..200 {
            if self.0.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.0.lock().unwrap().clone()
    }
}

/// A gateway serving on loopback (plain, and TLS when asked).
pub struct Gw {
    pub addr: SocketAddr,
    pub tls_addr: Option<SocketAddr>,
    pub stats: Arc<Stats>,
    pub sink: Collect,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Gw {
    /// Stops the gateway and waits (at most 5 s) for it to finish.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
    }
}

impl Drop for Gw {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Builds the gateway from `cfg` and one `route` and serves it on ephemeral
/// loopback ports with `engine`; `setup` may add to the gateway before it
/// serves (a TLS fingerprinter, say).
pub async fn serve(
    cfg: &GatewayConfig,
    route: RouteConfig,
    engine: Box<dyn Inspector>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    setup: impl FnOnce(Gateway) -> Gateway,
) -> Gw {
    let mut issues = Vec::new();
    let settings = cfg.build(&mut issues).expect("valid settings");
    let routes = Routes::build(&[route], cfg.mode, &mut issues);
    assert!(issues.is_empty(), "{issues:?}");
    let sink = Collect::default();
    let gw = setup(Gateway::new(settings, routes, engine, Arc::new(sink.clone())).unwrap());
    let stats = gw.stats();
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (tls_pair, tls_addr) = match tls {
        Some(acc) => {
            let tl = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let a = tl.local_addr().unwrap();
            (Some((tl, acc)), Some(a))
        }
        None => (None, None),
    };
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(gw.serve(l, tls_pair, async move {
        let _ = rx.await;
    }));
    Gw {
        addr,
        tls_addr,
        stats,
        sink,
        stop: Some(tx),
        task: Some(task),
    }
}
