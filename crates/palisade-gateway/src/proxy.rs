//! The per-request path: request id, client address, route, inspection
//! phases, bounded body buffering, enforcement, forwarding and error mapping.
//!
//! The order matters and each step says why it is where it is:
//! 1. request id and client address first, so every answer (even an error)
//!    carries the id and every record the right address;
//! 2. the route, because the mode (`block`, `detect`, `off`) is per route;
//! 3. `request_filter` on the head, so obvious attacks are stopped before the
//!    body is read;
//! 4. the body, buffered within `max_body_bytes` (413 beyond) and a time limit
//!    (408), then `request_body_filter`;
//! 5. enforcement (block mode only), forwarding, and the response streamed
//!    through a [`TeeBody`] that hands the exchange to analysis at its end.
//!
//! An inspector that errs or panics fails open (or closed, as configured) and
//! is counted; nothing here awaits storage or analysis.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode, Version};
use http_body_util::{BodyExt, Full, Limited, combinators::BoxBody};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use palisade_core::{
    Body, Exchange, InspectError, Inspector, RequestPart, ResponsePart, Source, TlsInfo, Verdict,
    now_ms,
};

use crate::config::{Mode, Settings};
use crate::error::GatewayError;
use crate::tee::TeeBody;
use crate::{Shared, offer};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The body type on both sides of the proxy.
pub type ProxyBody = BoxBody<Bytes, BoxError>;
/// The pooled upstream client: plain HTTP, or TLS for `https://` routes
/// (verified against the Mozilla roots plus `gateway.upstream_ca`).
pub type UpstreamClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, ProxyBody>;

/// Facts about the connection a request came on.
#[derive(Debug)]
pub struct ConnInfo {
    pub peer: SocketAddr,
    pub tls: Option<TlsInfo>,
}

/// Builds the pooled upstream client.
pub fn upstream_client(settings: &Settings) -> Result<UpstreamClient, GatewayError> {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(settings.connect_timeout));
    http.set_nodelay(true);
    // the TLS layer above hands plain `http://` through and wraps `https://`
    http.enforce_http(false);
    let tls = upstream_tls(settings.upstream_ca.as_deref())?;
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(256)
        .build(connector))
}

/// The TLS client settings for `https://` upstreams: certificates verified
/// against the Mozilla root store and, when set, the CAs of `ca_file` (a PEM
/// bundle, for services behind a private CA). There is no switch to turn
/// verification off.
pub fn upstream_tls(
    ca_file: Option<&std::path::Path>,
) -> Result<rustls::ClientConfig, GatewayError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let bad = |why: String| {
            GatewayError::config(format!(
                "gateway.upstream_ca `{}`: {why} (fix: give a PEM file of CA certificates)",
                path.display()
            ))
        };
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| bad(e.to_string()))?
            .collect::<Result<_, _>>()
            .map_err(|e| bad(e.to_string()))?;
        if certs.is_empty() {
            return Err(bad("no certificate in it".into()));
        }
        for c in certs {
            roots.add(c).map_err(|e| bad(e.to_string()))?;
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| GatewayError::config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
];

static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Handles one request. Never fails: every failure becomes a response.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    conn: Arc<ConnInfo>,
    req: Request<Incoming>,
) -> Result<Response<ProxyBody>, Infallible> {
    let start = Instant::now();
    shared.stats.requests.fetch_add(1, Ordering::Relaxed);
    Ok(proxy(&shared, &conn, req, start).await)
}

async fn proxy(
    shared: &Arc<Shared>,
    conn: &ConnInfo,
    mut req: Request<Incoming>,
    start: Instant,
) -> Response<ProxyBody> {
    let settings = &shared.settings;
    let id = request_id(req.headers());
    let client_ip = client_ip(conn.peer, req.headers(), &settings.trusted_proxies);
    let host = request_host(&req);
    let target = req
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or_else(|| "/".to_string());
    let mut ex = Exchange {
        id: id.clone(),
        ts_ms: now_ms(),
        source: Source::Gateway,
        client_ip,
        peer: Some(conn.peer),
        tls: conn.tls.clone(),
        route: None,
        request: RequestPart {
            method: req.method().as_str().to_string(),
            target: target.clone(),
            host: host.clone(),
            version: version_str(req.version()).to_string(),
            headers: lossy_headers(req.headers()),
            body: Body::default(),
        },
        ..Default::default()
    };

    // The request target must be origin-form (`/path`) or absolute-form
    // (`http://host/path`, and every HTTP/2 request): an authority-form
    // target (`GET host:80`) would route on one host while the upstream sees
    // another in Host. CONNECT has nothing to reach behind a reverse proxy.
    if let Some((status, code, message)) = target_problem(req.method(), req.uri()) {
        return local(shared, ex, start, status, code, message, None);
    }

    // Smuggling: hyper already refuses conflicting Content-Length values,
    // obs-fold, malformed names and a Transfer-Encoding that does not end in
    // `chunked`, and lets `chunked` override (and drop) a Content-Length. What
    // is left is a coding list other than exactly `chunked` (`gzip, chunked`,
    // `chunked, chunked`): its body would be forwarded still encoded, so refuse.
    if !transfer_encoding_ok(req.headers()) {
        let mut resp = local(
            shared,
            ex,
            start,
            StatusCode::BAD_REQUEST,
            "bad_framing",
            "Transfer-Encoding must be exactly `chunked`.",
            None,
        );
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return resp;
    }

    let routes = shared.routes.load();
    let Some(route) = routes.find(host.as_deref(), ex.request.path()) else {
        return local(
            shared,
            ex,
            start,
            StatusCode::NOT_FOUND,
            "no_route",
            "No route serves this host and path.",
            None,
        );
    };
    ex.route = Some(route.name.clone());
    let mode = route.mode;
    let engine = shared.engine.load();
    let upgrade = is_upgrade(req.headers());
    let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut req));

    // Phase 1: the head.
    let mut verdict = Verdict::Allow;
    if mode != Mode::Off {
        match run_phase(
            shared,
            &mut ex,
            |i, ex| i.request_filter(ex),
            engine.0.as_ref(),
        ) {
            Ok(v) => verdict = v,
            Err(resp) => return *resp,
        }
    }
    let stop_now = mode == Mode::Block && verdict.is_stop();

    // Phase 2: the body, buffered within bounds when it must be inspected.
    let (parts, incoming) = req.into_parts();
    let upstream_body: ProxyBody = if mode == Mode::Off || upgrade || stop_now {
        incoming.map_err(|e| Box::new(e) as BoxError).boxed()
    } else {
        if let Some(len) = content_length(&parts.headers)
            && len > settings.max_body_bytes as u64
        {
            ex.request.body.size = len;
            return local(
                shared,
                ex,
                start,
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "The request body exceeds the gateway's limit.",
                None,
            );
        }
        let limited = Limited::new(incoming, settings.max_body_bytes);
        match tokio::time::timeout(settings.body_timeout, limited.collect()).await {
            Ok(Ok(collected)) => {
                let bytes = collected.to_bytes();
                ex.request.body = Body::new(bytes.clone());
                Full::new(bytes).map_err(|never| match never {}).boxed()
            }
            Ok(Err(e)) => {
                let too_large = e
                    .downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some();
                return if too_large {
                    local(
                        shared,
                        ex,
                        start,
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "body_too_large",
                        "The request body exceeds the gateway's limit.",
                        None,
                    )
                } else {
                    local(
                        shared,
                        ex,
                        start,
                        StatusCode::BAD_REQUEST,
                        "bad_body",
                        "The request body could not be read.",
                        None,
                    )
                };
            }
            Err(_) => {
                return local(
                    shared,
                    ex,
                    start,
                    StatusCode::REQUEST_TIMEOUT,
                    "body_timeout",
                    "The request body did not arrive in time.",
                    None,
                );
            }
        }
    };
    if mode != Mode::Off && !stop_now && !upgrade {
        match run_phase(
            shared,
            &mut ex,
            |i, ex| i.request_body_filter(ex),
            engine.0.as_ref(),
        ) {
            Ok(v) => verdict = verdict.max(v),
            Err(resp) => return *resp,
        }
    }
    ex.verdict = verdict.clone();
    ex.enforced = mode == Mode::Block;

    // Enforcement.
    if mode == Mode::Block {
        match &verdict {
            Verdict::Block { status, .. } => {
                shared.stats.blocked.fetch_add(1, Ordering::Relaxed);
                let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::FORBIDDEN);
                return local(
                    shared,
                    ex,
                    start,
                    status,
                    "blocked",
                    "This request was blocked by the security policy.",
                    None,
                );
            }
            Verdict::RateLimit {
                retry_after_secs, ..
            } => {
                shared.stats.blocked.fetch_add(1, Ordering::Relaxed);
                let secs = (*retry_after_secs).max(1);
                return local(
                    shared,
                    ex,
                    start,
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    "Too many requests; retry later.",
                    Some(secs),
                );
            }
            Verdict::Tarpit { delay_ms, .. } => {
                // Slow the actor down, bounded so a tarpit never holds a connection forever.
                tokio::time::sleep(Duration::from_millis((*delay_ms).min(10_000))).await;
            }
            Verdict::Allow | Verdict::Log { .. } => {}
        }
    }

    // Forward.
    let upstream_uri = match route.upstream_uri(&target) {
        Ok(u) => u,
        Err(_) => {
            return local(
                shared,
                ex,
                start,
                StatusCode::BAD_REQUEST,
                "bad_target",
                "The request target cannot be forwarded.",
                None,
            );
        }
    };
    let mut up_req = Request::builder()
        .method(parts.method.clone())
        .uri(upstream_uri)
        .version(Version::HTTP_11)
        .body(upstream_body)
        .expect("method, uri and version are valid");
    let buffered = !(mode == Mode::Off || upgrade || stop_now);
    *up_req.headers_mut() = forward_headers(
        &parts.headers,
        buffered,
        upgrade,
        conn,
        client_ip,
        host.as_deref(),
        route
            .preserve_host
            .then_some(())
            .and(parts.uri.authority().map(|a| a.as_str())),
        &id,
    );
    if !route.preserve_host
        && let Ok(v) = HeaderValue::from_str(route.authority.as_str())
    {
        up_req.headers_mut().insert(header::HOST, v);
    }

    let up_start = Instant::now();
    let resp = match tokio::time::timeout(settings.upstream_timeout, shared.client.request(up_req))
        .await
    {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            shared.stats.upstream_errors.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(request_id = %id, error = %e, route = %route.name, "upstream failed");
            return local(
                shared,
                ex,
                start,
                StatusCode::BAD_GATEWAY,
                "upstream_unavailable",
                "The upstream service could not be reached.",
                None,
            );
        }
        Err(_) => {
            shared.stats.upstream_errors.fetch_add(1, Ordering::Relaxed);
            return local(
                shared,
                ex,
                start,
                StatusCode::GATEWAY_TIMEOUT,
                "upstream_timeout",
                "The upstream service did not answer in time.",
                None,
            );
        }
    };
    ex.timings.upstream_us = Some(up_start.elapsed().as_micros() as u64);

    let mut resp = resp;
    let upstream_upgrade = (resp.status() == StatusCode::SWITCHING_PROTOCOLS && upgrade)
        .then(|| hyper::upgrade::on(&mut resp));
    let (mut rparts, rbody) = resp.into_parts();
    if upstream_upgrade.is_none() {
        strip_hop_by_hop(&mut rparts.headers);
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        rparts.headers.insert(X_REQUEST_ID.clone(), v);
    }
    ex.response = Some(ResponsePart {
        status: rparts.status.as_u16(),
        headers: lossy_headers(&rparts.headers),
        body: Body::default(),
    });
    if mode != Mode::Off {
        let t = Instant::now();
        let r = std::panic::catch_unwind(AssertUnwindSafe(|| engine.0.response_filter(&mut ex)));
        ex.timings.inspect_us += t.elapsed().as_micros() as u64;
        if !matches!(r, Ok(Ok(()))) {
            engine_failed(shared, &ex, engine.0.name());
        }
    }
    metrics::counter!("palisade_requests_total", "action" => ex.verdict.action().as_str(),
        "status" => status_class(rparts.status))
    .increment(1);

    if let (Some(client_up), Some(upstream_up)) = (client_upgrade, upstream_upgrade) {
        ex.timings.total_us = start.elapsed().as_micros() as u64;
        offer(&*shared.sink, ex);
        tokio::spawn(async move {
            if let (Ok(c), Ok(u)) = (client_up.await, upstream_up.await) {
                let mut c = TokioIo::new(c);
                let mut u = TokioIo::new(u);
                let _ = tokio::io::copy_bidirectional(&mut c, &mut u).await;
            }
        });
        return Response::from_parts(
            rparts,
            Full::new(Bytes::new()).map_err(|n| match n {}).boxed(),
        );
    }

    let body = TeeBody::new(
        rbody,
        settings.response_sample_bytes,
        ex,
        shared.sink.clone(),
        start,
    );
    Response::from_parts(rparts, body.map_err(|e| Box::new(e) as BoxError).boxed())
}

/// Runs one inspection phase, catching errors and panics. `Err` carries the
/// response to send when the gateway fails closed.
fn run_phase(
    shared: &Arc<Shared>,
    ex: &mut Exchange,
    phase: impl FnOnce(&dyn Inspector, &mut Exchange) -> Result<Verdict, InspectError>,
    inspector: &dyn Inspector,
) -> Result<Verdict, Box<Response<ProxyBody>>> {
    let t = Instant::now();
    let r = std::panic::catch_unwind(AssertUnwindSafe(|| phase(inspector, ex)));
    let took = t.elapsed();
    ex.timings.inspect_us += took.as_micros() as u64;
    metrics::histogram!("palisade_inspect_seconds").record(took.as_secs_f64());
    match r {
        Ok(Ok(v)) => Ok(v),
        _ => {
            engine_failed(shared, ex, inspector.name());
            if shared.settings.fail_open {
                Ok(Verdict::Allow)
            } else {
                let ex = ex.clone();
                Err(Box::new(local(
                    shared,
                    ex,
                    Instant::now(),
                    StatusCode::SERVICE_UNAVAILABLE,
                    "engine_unavailable",
                    "The request could not be inspected.",
                    None,
                )))
            }
        }
    }
}

fn engine_failed(shared: &Shared, ex: &Exchange, name: &str) {
    shared.stats.engine_errors.fetch_add(1, Ordering::Relaxed);
    metrics::counter!("palisade_engine_errors_total").increment(1);
    tracing::error!(request_id = %ex.id, inspector = name, fail_open = shared.settings.fail_open,
        "inspector failed");
}

/// Answers locally with a JSON error naming the request id (never the rule),
/// and records the exchange.
#[allow(clippy::too_many_arguments)]
fn local(
    shared: &Shared,
    mut ex: Exchange,
    start: Instant,
    status: StatusCode,
    code: &str,
    message: &str,
    retry_after: Option<u64>,
) -> Response<ProxyBody> {
    let body =
        serde_json::json!({"error": code, "message": message, "request_id": ex.id}).to_string();
    let mut resp = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store");
    if let Ok(v) = HeaderValue::from_str(&ex.id) {
        resp = resp.header(X_REQUEST_ID.clone(), v);
    }
    if let Some(secs) = retry_after {
        resp = resp.header(header::RETRY_AFTER, secs.to_string());
    }
    ex.response = Some(ResponsePart {
        status: status.as_u16(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: Body::new(body.clone()),
    });
    ex.timings.total_us = start.elapsed().as_micros() as u64;
    metrics::counter!("palisade_requests_total", "action" => ex.verdict.action().as_str(),
        "status" => status_class(status))
    .increment(1);
    offer(&*shared.sink, ex);
    resp.body(Full::new(Bytes::from(body)).map_err(|n| match n {}).boxed())
        .expect("static response parts are valid")
}

fn status_class(s: StatusCode) -> &'static str {
    match s.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// Keeps a client's request id when it is sane, else makes one.
pub fn request_id(headers: &HeaderMap) -> String {
    if let Some(v) = headers.get(&X_REQUEST_ID).and_then(|v| v.to_str().ok())
        && !v.is_empty()
        && v.len() <= 128
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
    {
        return v.to_string();
    }
    uuid::Uuid::now_v7().simple().to_string()
}

/// The client address: the TCP peer, unless the peer is a trusted proxy, in
/// which case the right-most untrusted address of `X-Forwarded-For`.
pub fn client_ip(peer: SocketAddr, headers: &HeaderMap, trusted: &[ipnet::IpNet]) -> IpAddr {
    let peer_ip = peer.ip().to_canonical();
    if !trusted.iter().any(|n| n.contains(&peer_ip)) {
        return peer_ip;
    }
    let mut hops: Vec<IpAddr> = Vec::new();
    for v in headers.get_all(&X_FORWARDED_FOR) {
        let Ok(s) = v.to_str() else { return peer_ip };
        for part in s.split(',') {
            match part.trim().parse::<IpAddr>() {
                Ok(ip) => hops.push(ip.to_canonical()),
                Err(_) => return peer_ip,
            }
        }
    }
    hops.into_iter()
        .rev()
        .find(|ip| !trusted.iter().any(|n| n.contains(ip)))
        .unwrap_or(peer_ip)
}

fn request_host(req: &Request<Incoming>) -> Option<String> {
    let raw = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| {
            req.headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
        })?;
    let host = match raw.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(':') => h,
        _ => raw.as_str(),
    };
    Some(
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase(),
    )
}

fn version_str(v: Version) -> &'static str {
    match v {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/1.1",
    }
}

fn lossy_headers(h: &HeaderMap) -> Vec<(String, String)> {
    h.iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn content_length(h: &HeaderMap) -> Option<u64> {
    h.get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn is_upgrade(h: &HeaderMap) -> bool {
    h.contains_key(header::UPGRADE)
        && h.get_all(header::CONNECTION).iter().any(|v| {
            v.to_str()
                .map(|s| {
                    s.split(',')
                        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
                })
                .unwrap_or(false)
        })
}

/// Removes hop-by-hop headers, including those the `Connection` header names.
fn strip_hop_by_hop(h: &mut HeaderMap) {
    let named: Vec<HeaderName> = h
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|s| {
            s.split(',')
                .map(|t| t.trim().to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .filter_map(|t| HeaderName::from_bytes(t.as_bytes()).ok())
        .collect();
    for n in named.iter().chain(HOP_BY_HOP.iter()) {
        h.remove(n);
    }
    h.remove(header::UPGRADE);
}

/// Why a request target cannot be served, if it cannot: the status, the
/// error code and the message for the client.
pub fn target_problem(
    method: &http::Method,
    uri: &http::Uri,
) -> Option<(StatusCode, &'static str, &'static str)> {
    if method == http::Method::CONNECT {
        return Some((
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "CONNECT is not served by this gateway.",
        ));
    }
    if uri.scheme().is_some() {
        return None; // absolute-form (and HTTP/2)
    }
    let asterisk = uri.path() == "*" && method == http::Method::OPTIONS;
    if uri.authority().is_some() || !(uri.path().starts_with('/') || asterisk) {
        return Some((
            StatusCode::BAD_REQUEST,
            "bad_target",
            "The request target must be a path (or an absolute URL).",
        ));
    }
    None
}

/// True unless a Transfer-Encoding names anything but a single `chunked`.
pub fn transfer_encoding_ok(h: &HeaderMap) -> bool {
    let mut codings = 0;
    for v in h.get_all(header::TRANSFER_ENCODING) {
        let Ok(s) = v.to_str() else { return false };
        for c in s.split(',') {
            codings += 1;
            if codings > 1 || !c.trim().eq_ignore_ascii_case("chunked") {
                return false;
            }
        }
    }
    true
}

/// The headers sent upstream. Framing is never copied from the client: the
/// upstream request's length comes from its body (hyper writes one
/// `Content-Length`, or `chunked` for a stream of unknown length), so the
/// upstream cannot read a different message boundary than the gateway did.
#[allow(clippy::too_many_arguments)]
fn forward_headers(
    incoming: &HeaderMap,
    buffered: bool,
    upgrade: bool,
    conn: &ConnInfo,
    client_ip: IpAddr,
    host: Option<&str>,
    target_authority: Option<&str>,
    id: &str,
) -> HeaderMap {
    let mut h = incoming.clone();
    let upgrade_proto = h.get(header::UPGRADE).cloned();
    strip_hop_by_hop(&mut h);
    h.remove(header::CONTENT_LENGTH);
    if buffered {
        // The body is already here; the upstream must not wait to be asked.
        h.remove(header::EXPECT);
    }
    if upgrade && let Some(p) = upgrade_proto {
        h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        h.insert(header::UPGRADE, p);
    }
    // HTTP/2 requests carry :authority instead of Host, and an HTTP/1.1
    // absolute-form target carries its own authority: either one is the host
    // the gateway routed on, so it replaces any Host header the client also
    // sent (RFC 9112 3.2.2), and the upstream sees the same host as the route.
    if let Some(a) = target_authority.and_then(|a| HeaderValue::from_str(a).ok()) {
        h.insert(header::HOST, a);
    }
    let peer = conn.peer.ip().to_canonical().to_string();
    let xff = match h.get(&X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        Some(prev) if !prev.trim().is_empty() => format!("{prev}, {peer}"),
        _ => peer,
    };
    let _ = client_ip;
    if let Ok(v) = HeaderValue::from_str(&xff) {
        h.insert(X_FORWARDED_FOR.clone(), v);
    }
    h.insert(
        X_FORWARDED_PROTO.clone(),
        HeaderValue::from_static(if conn.tls.is_some() { "https" } else { "http" }),
    );
    if let Some(v) = host.and_then(|s| HeaderValue::from_str(s).ok()) {
        h.insert(X_FORWARDED_HOST.clone(), v);
    }
    if let Ok(v) = HeaderValue::from_str(id) {
        h.insert(X_REQUEST_ID.clone(), v);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_kept_only_when_sane() {
        let mut h = HeaderMap::new();
        h.insert("x-request-id", HeaderValue::from_static("abc-123"));
        assert_eq!(request_id(&h), "abc-123");
        h.insert("x-request-id", HeaderValue::from_static("bad id<script>"));
        let id = request_id(&h);
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn client_ip_believes_only_trusted_proxies() {
        let trusted = vec!["10.0.0.0/8".parse().unwrap()];
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.9, 10.1.1.1"),
        );
        let from_proxy: SocketAddr = "10.0.0.2:5000".parse().unwrap();
        let direct: SocketAddr = "198.51.100.3:5000".parse().unwrap();
        assert_eq!(
            client_ip(from_proxy, &h, &trusted).to_string(),
            "203.0.113.9"
        );
        assert_eq!(client_ip(direct, &h, &trusted).to_string(), "198.51.100.3");
        h.insert("x-forwarded-for", HeaderValue::from_static("garbage"));
        assert_eq!(client_ip(from_proxy, &h, &trusted).to_string(), "10.0.0.2");
    }

    #[test]
    fn only_a_single_chunked_coding_is_accepted() {
        let te = |vals: &[&'static str]| {
            let mut h = HeaderMap::new();
            for v in vals {
                h.append("transfer-encoding", HeaderValue::from_static(v));
            }
            transfer_encoding_ok(&h)
        };
        assert!(te(&[]));
        assert!(te(&["chunked"]));
        assert!(te(&[" Chunked "]));
        assert!(!te(&["gzip, chunked"]));
        assert!(!te(&["chunked, chunked"]));
        assert!(!te(&["chunked", "chunked"]));
        assert!(!te(&["identity"]));
        assert!(!te(&[""]));
        let mut h = HeaderMap::new();
        h.insert(
            "transfer-encoding",
            HeaderValue::from_bytes(b"chunked\xff").unwrap(),
        );
        assert!(!transfer_encoding_ok(&h));
    }

    #[test]
    fn hop_by_hop_and_connection_named_headers_are_removed() {
        let mut h = HeaderMap::new();
        h.insert(
            "connection",
            HeaderValue::from_static("keep-alive, x-secret-hop"),
        );
        h.insert("x-secret-hop", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        h.insert("x-kept", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-kept"));
    }
}
