//! Palisade's data plane: a reverse proxy on hyper, hyper-util and tokio that
//! runs the inline decision on every request.
//!
//! The gateway knows nothing of detection: it carries any
//! [`palisade_core::Inspector`] (swapped atomically on reload) through the
//! request phases, enforces the verdict per route mode, and hands each finished
//! [`palisade_core::Exchange`] to an [`palisade_core::ExchangeSink`] without
//! ever waiting on it. It never awaits storage or analysis.
//!
//! Layers, outermost first (each module says why it sits where it does):
//! - [`Gateway::serve`]: accept loop, TLS (with a ClientHello peek for JA4),
//!   HTTP/1.1 + HTTP/2 via hyper-util's auto builder, graceful shutdown;
//! - [`proxy`]: per request: request id, client address, route, phases, body
//!   buffering within a bound, enforcement, forwarding, error mapping;
//! - [`tee`]: the response streams to the client while a bounded sample is kept,
//!   and the exchange goes to analysis when the body ends.

pub mod config;
pub mod error;
pub mod first_bytes;
pub mod proxy;
pub mod routes;
pub mod tee;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use arc_swap::ArcSwap;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use palisade_core::{Exchange, ExchangeSink, Inspector, TlsInfo};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

pub use config::{GatewayConfig, Mode, RouteConfig, Settings};
pub use error::{GatewayError, Side};
pub use routes::Routes;

/// Largest number of header lines in an HTTP/1.1 request head (431 beyond).
pub const H1_MAX_HEADERS: usize = 100;
/// Streams one HTTP/2 connection may have open at once; the client is told
/// (SETTINGS_MAX_CONCURRENT_STREAMS) and streams beyond it are refused.
pub const H2_MAX_CONCURRENT_STREAMS: u32 = 256;
/// Streams a client may reset before the gateway has accepted them; past it
/// the connection ends with GOAWAY (ENHANCE_YOUR_CALM): the rapid-reset bound.
pub const H2_MAX_PENDING_ACCEPT_RESET_STREAMS: usize = 64;
/// Streams the gateway may reset for a client's protocol errors before it
/// ends the connection.
pub const H2_MAX_LOCAL_ERROR_RESET_STREAMS: usize = 256;

/// Computes a TLS fingerprint (JA4) from the raw ClientHello record.
pub type TlsFingerprinter = Arc<dyn Fn(&[u8]) -> Option<String> + Send + Sync>;

/// The inspector currently in force; replaced whole on reload.
pub struct EngineSlot(pub Box<dyn Inspector>);

/// Counters the gateway keeps itself (also exported as metrics).
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub blocked: AtomicU64,
    pub engine_errors: AtomicU64,
    pub shed: AtomicU64,
    pub upstream_errors: AtomicU64,
}

pub(crate) struct Shared {
    pub settings: Settings,
    pub routes: ArcSwap<Routes>,
    pub engine: ArcSwap<EngineSlot>,
    pub sink: Arc<dyn ExchangeSink>,
    pub client: proxy::UpstreamClient,
    pub ja4: Option<TlsFingerprinter>,
    pub stats: Arc<Stats>,
}

/// Offers an exchange to the sink, counting what is shed.
pub(crate) fn offer(sink: &dyn ExchangeSink, ex: Exchange) {
    if !sink.offer(ex) {
        metrics::counter!("palisade_pipeline_shed_total", "source" => "gateway").increment(1);
    }
}

/// A configured gateway; cheap to clone (all clones share state).
#[derive(Clone)]
pub struct Gateway {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("routes", &self.shared.routes.load().len())
            .finish()
    }
}

impl Gateway {
    pub fn new(
        settings: Settings,
        routes: Routes,
        inspector: Box<dyn Inspector>,
        sink: Arc<dyn ExchangeSink>,
    ) -> Result<Self, GatewayError> {
        let client = proxy::upstream_client(&settings)?;
        Ok(Self {
            shared: Arc::new(Shared {
                settings,
                routes: ArcSwap::from_pointee(routes),
                engine: ArcSwap::from_pointee(EngineSlot(inspector)),
                sink,
                client,
                ja4: None,
                stats: Arc::new(Stats::default()),
            }),
        })
    }

    /// Sets the TLS fingerprinter (before serving).
    pub fn with_tls_fingerprinter(mut self, f: TlsFingerprinter) -> Self {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.ja4 = Some(f);
        }
        self
    }

    /// Replaces the inspector; requests in flight finish with the old one.
    pub fn set_inspector(&self, inspector: Box<dyn Inspector>) {
        self.shared.engine.store(Arc::new(EngineSlot(inspector)));
    }

    /// Replaces the route table.
    pub fn set_routes(&self, routes: Routes) {
        self.shared.routes.store(Arc::new(routes));
    }

    pub fn stats(&self) -> Arc<Stats> {
        self.shared.stats.clone()
    }

    pub fn settings(&self) -> &Settings {
        &self.shared.settings
    }

    /// Serves plain HTTP on `listener` and, when given, TLS on `tls`, until
    /// `shutdown` resolves; then stops accepting and gives open connections
    /// `shutdown_grace` to finish.
    pub async fn serve(
        self,
        listener: TcpListener,
        tls: Option<(TcpListener, TlsAcceptor)>,
        shutdown: impl Future<Output = ()> + Send,
    ) {
        let graceful = GracefulShutdown::new();
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            // slowloris: the head must arrive in time
            .header_read_timeout(self.shared.settings.header_timeout)
            .max_buf_size(self.shared.settings.max_header_bytes.max(8192))
            .max_headers(H1_MAX_HEADERS)
            .keep_alive(true);
        builder
            .http2()
            .timer(TokioTimer::new())
            // header floods (also through CONTINUATION): the list is bounded
            .max_header_list_size(
                u32::try_from(self.shared.settings.max_header_bytes).unwrap_or(u32::MAX),
            )
            // rapid reset and stream floods: bound concurrent and reset streams
            .max_concurrent_streams(H2_MAX_CONCURRENT_STREAMS)
            .max_pending_accept_reset_streams(H2_MAX_PENDING_ACCEPT_RESET_STREAMS)
            .max_local_error_reset_streams(H2_MAX_LOCAL_ERROR_RESET_STREAMS)
            .keep_alive_interval(Some(Duration::from_secs(30)))
            .keep_alive_timeout(Duration::from_secs(20));
        let builder = Arc::new(builder);
        let (tls_listener, acceptor) = match tls {
            Some((l, a)) => (Some(l), Some(a)),
            None => (None, None),
        };
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                r = listener.accept() => r.map(|(s, a)| (s, a, false)),
                r = accept_opt(tls_listener.as_ref()) => r.map(|(s, a)| (s, a, true)),
                _ = &mut shutdown => break,
            };
            let (stream, peer, is_tls) = match accepted {
                Ok(x) => x,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let shared = self.shared.clone();
            let builder = builder.clone();
            let watcher = graceful.watcher();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if is_tls {
                    let Some(acceptor) = acceptor else { return };
                    let hello = match &shared.ja4 {
                        Some(_) => {
                            tls::peek_client_hello(&stream, Duration::from_millis(500)).await
                        }
                        None => Vec::new(),
                    };
                    let ja4 = shared.ja4.as_ref().and_then(|f| f(&hello));
                    let tls_stream = match tokio::time::timeout(
                        shared.settings.header_timeout,
                        acceptor.accept(stream),
                    )
                    .await
                    {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "tls handshake failed");
                            return;
                        }
                        Err(_) => return,
                    };
                    let (_, conn) = tls_stream.get_ref();
                    let info = TlsInfo {
                        version: conn.protocol_version().map(|v| format!("{v:?}")),
                        sni: conn.server_name().map(str::to_string),
                        alpn: conn
                            .alpn_protocol()
                            .map(|p| String::from_utf8_lossy(p).into_owned()),
                        ja4,
                    };
                    let within = shared.settings.header_timeout;
                    serve_conn(
                        shared,
                        builder,
                        watcher,
                        TokioIo::new(first_bytes::FirstBytes::new(tls_stream, within)),
                        peer,
                        Some(info),
                    )
                    .await;
                } else {
                    let io = first_bytes::FirstBytes::new(stream, shared.settings.header_timeout);
                    serve_conn(shared, builder, watcher, TokioIo::new(io), peer, None).await;
                }
            });
        }
        drop(listener);
        drop(tls_listener);
        let grace = self.shared.settings.shutdown_grace;
        tokio::select! {
            _ = graceful.shutdown() => tracing::info!("all connections closed"),
            _ = tokio::time::sleep(grace) => tracing::warn!(?grace, "shutdown grace elapsed; closing the rest"),
        }
    }
}

async fn accept_opt(l: Option<&TcpListener>) -> std::io::Result<(TcpStream, SocketAddr)> {
    match l {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}

async fn serve_conn<I>(
    shared: Arc<Shared>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    watcher: hyper_util::server::graceful::Watcher,
    io: TokioIo<I>,
    peer: SocketAddr,
    tls: Option<TlsInfo>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let conn = Arc::new(proxy::ConnInfo { peer, tls });
    let svc = service_fn(move |req| proxy::handle(shared.clone(), conn.clone(), req));
    let fut = builder.serve_connection_with_upgrades(io, svc).into_owned();
    if let Err(e) = watcher.watch(fut).await {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}
