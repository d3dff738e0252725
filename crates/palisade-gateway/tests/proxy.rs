//! End-to-end tests of the gateway on loopback: a real upstream (hyper), the
//! real gateway, real clients (raw sockets, hyper HTTP/1.1 and HTTP/2, TLS,
//! WebSocket). Every server is stopped at the end of its test.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use palisade_core::{Exchange, InspectError, Inspector, Verdict};
use palisade_gateway::config::{GatewayConfig, Mode, RouteConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

mod common;
use common::Gw;

/// Blocks paths containing `attack`, fails on `/boom`, panics on `/panic`.
struct TestEngine;
impl Inspector for TestEngine {
    fn name(&self) -> &'static str {
        "test"
    }
    fn request_filter(&self, ex: &mut Exchange) -> Result<Verdict, InspectError> {
        let p = ex.request.path().to_string();
        if p.contains("attack") {
            ex.findings
                .push(palisade_core::Finding::new("test", "test.attack", "path").score(10));
            return Ok(Verdict::block("test.attack"));
        }
        if p == "/boom" {
            return Err(InspectError::new("test", "boom"));
        }
        if p == "/panic" {
            panic!("engine bug");
        }
        if p == "/slowdown" {
            return Ok(Verdict::RateLimit {
                retry_after_secs: 7,
                reason: "rate".into(),
            });
        }
        Ok(Verdict::Allow)
    }
    fn request_body_filter(&self, ex: &mut Exchange) -> Result<Verdict, InspectError> {
        if ex
            .request
            .body
            .text()
            .is_some_and(|t| t.contains("evil-body"))
        {
            return Ok(Verdict::block("body"));
        }
        Ok(Verdict::Allow)
    }
}

/// An upstream that echoes what it received as JSON.
async fn echo(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().to_string();
    let uri = req.uri().to_string();
    let version = format!("{:?}", req.version());
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    if uri.starts_with("/slow") {
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let out = serde_json::json!({
        "method": method, "uri": uri, "version": version, "headers": headers,
        "body": String::from_utf8_lossy(&body), "body_len": body.len(),
    });
    Ok(Response::builder()
        .header("content-type", "application/json")
        .header("connection", "keep-alive, x-upstream-hop")
        .header("x-upstream-hop", "secret")
        .body(Full::new(Bytes::from(out.to_string())))
        .unwrap())
}

struct Upstream {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}
impl Drop for Upstream {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

async fn upstream() -> Upstream {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, mut rx) = oneshot::channel();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                r = l.accept() => {
                    let Ok((s, _)) = r else { return };
                    tokio::spawn(async move {
                        let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                            .serve_connection(TokioIo::new(s), service_fn(echo)).await;
                    });
                }
                _ = &mut rx => return,
            }
        }
    });
    Upstream {
        addr,
        stop: Some(tx),
    }
}

async fn gateway(upstream: &str, tweak: impl FnOnce(&mut GatewayConfig, &mut RouteConfig)) -> Gw {
    gateway_tls(upstream, tweak, None).await
}

async fn gateway_tls(
    upstream: &str,
    tweak: impl FnOnce(&mut GatewayConfig, &mut RouteConfig),
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> Gw {
    let mut cfg = GatewayConfig {
        listen: "127.0.0.1:0".into(),
        ..Default::default()
    };
    let mut route = RouteConfig {
        name: Some("test".into()),
        host: None,
        path_prefix: "/".into(),
        upstream: upstream.into(),
        mode: None,
        preserve_host: true,
    };
    tweak(&mut cfg, &mut route);
    common::serve(&cfg, route, Box::new(TestEngine), tls, |g| {
        g.with_tls_fingerprinter(Arc::new(|hello: &[u8]| Some(format!("len{}", hello.len()))))
    })
    .await
}

fn client() -> Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

async fn send(
    c: &Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    req: Request<Full<Bytes>>,
) -> (StatusCode, http::HeaderMap, serde_json::Value) {
    let resp = tokio::time::timeout(Duration::from_secs(10), c.request(req))
        .await
        .unwrap()
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let v = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    (status, headers, v)
}

/// Sends raw bytes and reads until the peer closes or `timeout`.
async fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn forwards_methods_bodies_and_headers() {
    let up = upstream().await;
    let gw = gateway(&format!("http://{}", up.addr), |_, _| {}).await;
    let c = client();
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
        let req = Request::builder()
            .method(method)
            .uri(format!("http://{}/v1/things/42?x=1&y=%20z", gw.addr))
            .header("x-custom", "kept")
            .header("connection", "keep-alive, x-hop")
            .header("x-hop", "dropped")
            .header("x-forwarded-for", "192.0.2.1")
            .body(Full::new(Bytes::from(format!("payload for {method}"))))
            .unwrap();
        let (status, headers, v) = send(&c, req).await;
        assert_eq!(status, 200, "{method}: {v}");
        assert_eq!(v["method"], method);
        assert_eq!(v["uri"], "/v1/things/42?x=1&y=%20z");
        assert_eq!(v["body"], format!("payload for {method}"));
        let h = |name: &str| {
            v["headers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p[0] == name)
                .map(|p| p[1].as_str().unwrap().to_string())
        };
        assert_eq!(h("x-custom").as_deref(), Some("kept"));
        assert_eq!(h("x-hop"), None, "connection-named header forwarded");
        assert_eq!(
            h("x-forwarded-for").as_deref(),
            Some("192.0.2.1, 127.0.0.1")
        );
        assert_eq!(h("x-forwarded-proto").as_deref(), Some("http"));
        let rid = headers["x-request-id"].to_str().unwrap();
        assert_eq!(
            h("x-request-id").as_deref(),
            Some(rid),
            "upstream sees the same request id"
        );
        assert!(
            headers.get("x-upstream-hop").is_none(),
            "response hop-by-hop header leaked"
        );
    }
    let seen = gw.sink.wait_for(6).await;
    assert_eq!(seen.len(), 6);
    let post = seen.iter().find(|e| e.request.method == "POST").unwrap();
    assert_eq!(post.request.body.text(), Some("payload for POST"));
    assert_eq!(post.status(), Some(200));
    assert!(
        post.response
            .as_ref()
            .unwrap()
            .body
            .text()
            .unwrap()
            .contains("payload for POST")
    );
    assert_eq!(
        post.client_ip.to_string(),
        "127.0.0.1",
        "XFF from an untrusted peer is not believed"
    );
    gw.stop().await;
}

#[tokio::test]
async fn chunked_bodies_and_keep_alive_on_one_connection() {
    let up = upstream().await;
    let gw = gateway(&format!("http://{}", up.addr), |_, _| {}).await;
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    for i in 0..3 {
        let req = format!(
            "POST /chunks/{i} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 8192];
        let mut got = String::new();
        while !got.contains("body_len") || !got.trim_end().ends_with('}') {
            let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
                .await
                .unwrap()
                .unwrap();
            assert!(n > 0, "connection closed after request {i}");
            got.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        assert!(got.starts_with("HTTP/1.1 200"), "{got}");
        assert!(got.contains("\"body\":\"hello world\""), "{got}");
    }
    gw.stop().await;
}

#[tokio::test]
async fn http2_cleartext_is_served() {
    let up = upstream().await;
    let gw = gateway(&format!("http://{}", up.addr), |_, _| {}).await;
    let c: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http();
    let req = Request::builder()
        .method("POST")
        .uri(format!("http://{}/h2/path?q=1", gw.addr))
        .body(Full::new(Bytes::from_static(b"over h2")))
        .unwrap();
    let (status, headers, v) = send(&c, req).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["body"], "over h2");
    assert_eq!(
        v["version"], "HTTP/1.1",
        "upstream is spoken to in HTTP/1.1"
    );
    assert!(headers.contains_key("x-request-id"));
    let h = v["headers"].as_array().unwrap();
    assert!(
        h.iter().any(|p| p[0] == "host"),
        "h2 :authority becomes Host upstream: {v}"
    );
    let seen = gw.sink.wait_for(1).await;
    assert_eq!(seen[0].request.version, "HTTP/2");
    gw.stop().await;
}

#[tokio::test]
async fn request_ids_are_kept_or_made() {
    let up = upstream().await;
    let gw = gateway(&format!("http://{}", up.addr), |_, _| {}).await;
    let c = client();
    let req = |id: &str| {
        Request::builder()
            .uri(format!("http://{}/", gw.addr))
            .header("x-request-id", id)
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    let (_, h, _) = send(&c, req("client-abc.123")).await;
    assert_eq!(h["x-request-id"], "client-abc.123");
    let (_, h, _) = send(&c, req("has spaces and <tags>")).await;
    let id = h["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 32);
    gw.stop().await;
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let up = upstream().await;
    let gw = gateway(&format!("http://{}", up.addr), |g, _| {
        g.max_body_bytes = 1024
    })
    .await;
    // Declared too large: refused before reading.
    let head = "POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n";
    let out = raw(gw.addr, head.as_bytes()).await;
    assert!(out.starts_with("HTTP/1.1 413"), "{out}");
    assert!(out.contains("\"request_id\""), "{out}");
    // Chunked, growing past the limit while read.
    let mut req =
        b"POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            .to_vec();
    for _ in 0..3 {
        req.extend_from_slice(b"200\r\n");
        req.extend_from_slice(&[b'a'; 512]);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let out = raw(gw.addr, &req).await;
    assert!(out.starts_with("HTTP/1.1 413"), "{out}");
    // Exactly at the limit passes.
    let c = client();
    let r = Request::builder()
        .method("POST")
        .uri(format!("http://{}/ok", gw.addr))
        .body(Full::new(Bytes::from(vec![b'b'; 1024])))
        .unwrap();
    let (status, _, v) = send(&c, r).await;
    assert_eq!(status, 200);
    assert_eq!(v["body_len"], 1024);
    gw.stop().await;
}

#[tokio::test]
async fn upstream_down_gives_502_and_slow_upstream_504() {
    // A port that was just free: nothing listens there.
    let dead = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let gw = gateway(&format!("http://{dead}"), |_, _| {}).await;
    let c = client();
    let (status, h, v) = send(
        &c,
        Request::builder()
            .uri(format!("http://{}/x", gw.addr))
            .body(Full::new(Bytes::new()))
            .unwrap(),
    )
    .await;
    assert_eq!(status, 502);
    assert_eq!(v["error"], "upstream_unavailable");
    assert_eq!(v["request_id"], h["x-request-id"].to_str().unwrap());
    gw.stop().await;

    let up = upstream().await;
    let gw = gateway(&format!("http://{}", up.addr), |g, _| {
        g.upstream_timeout = Duration::from_millis(300)
    })
    .await;
    let (status, _, v) = send(
        &c,
        Request::builder()
            .uri(format!("http://{}/slow", gw.addr))
            .body(Full::new(Bytes::new()))
            .unwrap(),
    )
    .await;
    assert_eq!(status, 504, "{v}");
    assert_eq!(v["error"], "upstream_timeout");
    let seen = gw.sink.wait_for(1).await;
    assert_eq!(seen[0].status(), Some(504));
    gw.stop().await;
}

#[tokio::test]
async fn block_mode_blocks_with_json_naming_the_request_id_not_the_rule() {
    let up = upstream().await;
    let gw = gateway(&format!("http://{}", up.addr), |_, _| {}).await;
    let c = client();
    let (status, h, v) = send(
        &c,
        Request::builder()
            .uri(format!("http://{}/attack?x=1", gw.addr))
            .body(Full::new(Bytes::new()))
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(v["error"], "blocked");
    assert_eq!(v["request_id"], h["x-request-id"].to_str().unwrap());
    assert!(
        !v.to_string().contains("test.attack"),
        "the rule must not be revealed: {v}"
    );
    // Body phase blocks too.
    let (status, _, _) = send(
        &c,
        Request::builder()
            .method("POST")
            .uri(format!("http://{}/ok", gw.addr))
            .body(Full::new(Bytes::from_static(b"{\"x\":\"evil-body\"}")))
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403);
    // Rate limit answers 429 with Retry-After.
    let (status, h, v) = send(
        &c,
        Request::builder()
            .uri(format!("http://{}/slowdown", gw.addr))
            .body(Full::new(Bytes::new()))
            .unwrap(),
    )
    .await;
    assert_eq!(status, 429, "{v}");
    assert_eq!(h["retry-after"], "7");
    let seen = gw.sink.wait_for(3).await;
    let blocked = seen.iter().find(|e| e.request.path() == "/attack").unwrap();
    assert!(blocked.enforced);
    assert_eq!(blocked.verdict.action(), palisade_core::Action::Block);
    assert_eq!(blocked.findings[0].rule_id, "test.attack");
    gw.stop().await;
}

#[tokio::test]
async fn detect_mode_records_but_forwards_and_off_skips_inspection() {
    let up = upstream().await;
    let gw = gateway(&format!("http://{}", up.addr), |_, r| {
        r.mode = Some(Mode::Detect)
    })
    .await;
    let c = client();
    let (status, _, _) = send(
        &c,
        Request::builder()
            .uri(format!("http://{}/attack", gw.addr))
            .body(Full::new(Bytes::new()))
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let seen = gw.sink.wait_for(1).await;
    assert_eq!(seen[0].verdict.action(), palisade_core::Action::Block);
    assert!(!seen[0].enforced);
    gw.stop().await;

    let gw = gateway(&format!("http://{}", up.addr), |g, _| g.mode = Mode::Off).await;
    let (status, _, _) = send(
        &c,
        Request::builder()
            .uri(format!("http://{}/attack", gw.addr))
            .body(Full::new(Bytes::new()))
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let seen = gw.sink.wait_for(1).await;
    assert!(seen[0].findings.is_empty(), "off mode must not inspect");
    gw.stop().await;
}

#[tokio::test]
async fn engine_failures_fail_open_or_closed_as_configured() {
    let up = upstream().await;
    let gw = gateway(&format!("http://{}", up.addr), |_, _| {}).await;
    let c = client();
    for path in ["/boom", "/panic"] {
        let (status, _, _) = send(
            &c,
            Request::builder()
                .uri(format!("http://{}{path}", gw.addr))
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{path} should fail open");
    }
    gw.stop().await;
    let gw = gateway(&format!("http://{}", up.addr), |g, _| g.fail_open = false).await;
    let (status, _, v) = send(
        &c,
        Request::builder()
            .uri(format!("http://{}/boom", gw.addr))
            .body(Full::new(Bytes::new()))
            .unwrap(),
    )
    .await;
    assert_eq!(status, 503);
    assert_eq!(v["error"], "engine_unavailable");
    gw.stop().await;
}

#[tokio::test]
async fn websocket_upgrades_are_tunnelled() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    // A WebSocket echo upstream.
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up = l.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (s, _) = l.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(s).await.unwrap();
        while let Some(Ok(m)) = ws.next().await {
            if m.is_text() {
                ws.send(Message::text(format!("echo: {}", m.to_text().unwrap())))
                    .await
                    .unwrap();
            }
        }
    });
    let gw = gateway(&format!("http://{up}"), |_, _| {}).await;
    let (mut ws, resp) = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_tungstenite::connect_async(format!("ws://{}/socket", gw.addr)),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(resp.headers().contains_key("x-request-id"));
    ws.send(Message::text("hi")).await.unwrap();
    let m = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(m.to_text().unwrap(), "echo: hi");
    ws.close(None).await.unwrap();
    drop(ws);
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    gw.stop().await;
}

#[tokio::test]
async fn tls_termination_with_h2_alpn_and_fingerprint() {
    let up = upstream().await;
    let key = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert_pem = key.cert.pem();
    let acceptor =
        palisade_gateway::tls::acceptor_from_pem(&cert_pem, &key.signing_key.serialize_pem())
            .unwrap();
    let gw = gateway_tls(&format!("http://{}", up.addr), |_, _| {}, Some(acceptor)).await;

    let mut roots = rustls::RootCertStore::empty();
    roots.add(key.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let tcp = TcpStream::connect(gw.tls_addr.unwrap()).await.unwrap();
    let tls = connector
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(conn);
    let resp = sender
        .send_request(
            Request::builder()
                .uri("https://localhost/secure?a=1")
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value =
        serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let h = body["headers"].as_array().unwrap();
    assert!(
        h.iter()
            .any(|p| p[0] == "x-forwarded-proto" && p[1] == "https"),
        "{body}"
    );
    let seen = gw.sink.wait_for(1).await;
    let tls_info = seen[0].tls.as_ref().expect("tls facts recorded");
    assert_eq!(tls_info.alpn.as_deref(), Some("h2"));
    assert_eq!(tls_info.sni.as_deref(), Some("localhost"));
    assert!(
        tls_info
            .ja4
            .as_deref()
            .is_some_and(|j| j.starts_with("len") && j != "len0"),
        "{tls_info:?}"
    );
    gw.stop().await;
}

#[tokio::test]
async fn shutdown_lets_requests_in_flight_finish() {
    let up = upstream().await;
    let gw = gateway(&format!("http://{}", up.addr), |_, _| {}).await;
    let addr = gw.addr;
    let inflight = tokio::spawn(async move {
        raw(
            addr,
            b"GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    gw.stop().await;
    let out = inflight.await.unwrap();
    assert!(
        out.starts_with("HTTP/1.1 200"),
        "in-flight request was cut: {out}"
    );
    // No longer accepting.
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn malformed_requests_get_400_and_the_gateway_keeps_serving() {
    let up = upstream().await;
    let gw = gateway(&format!("http://{}", up.addr), |_, _| {}).await;
    for bad in [
        &b"GARBAGE\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello",
        b"GET / HTTP/1.1\r\nBad Header Line\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ] {
        let out = raw(gw.addr, bad).await;
        assert!(out.is_empty() || out.starts_with("HTTP/1.1 400"), "{out}");
    }
    let out = raw(
        gw.addr,
        b"GET /fine HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    gw.stop().await;
}

/// An `https://` upstream: the gateway verifies its certificate against
/// `gateway.upstream_ca` (here a self-signed CA the Mozilla roots do not
/// hold), and refuses (502) when it cannot verify it. The TLS upstream is a
/// second gateway terminating TLS in front of the plain test upstream.
#[tokio::test]
async fn https_upstream_is_verified_against_the_configured_ca() {
    let up = upstream().await;
    let key = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert_pem = key.cert.pem();
    let acceptor =
        palisade_gateway::tls::acceptor_from_pem(&cert_pem, &key.signing_key.serialize_pem())
            .unwrap();
    let tls_front = gateway_tls(&format!("http://{}", up.addr), |_, _| {}, Some(acceptor)).await;
    let https = format!("https://localhost:{}", tls_front.tls_addr.unwrap().port());
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &cert_pem).unwrap();

    let trusted = gateway(&https, |g, _| g.upstream_ca = Some(ca.clone())).await;
    let (status, body) = get_text(trusted.addr, "/through-tls?x=1").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("/through-tls?x=1"), "{body}");

    // Without the CA the certificate does not verify: 502, never a
    // plaintext or unverified fallback.
    let untrusted = gateway(&https, |_, _| {}).await;
    let (status, body) = get_text(untrusted.addr, "/through-tls").await;
    assert_eq!(status, 502, "{body}");

    // A CA file that holds no certificate is a config error naming the field.
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let cfg = GatewayConfig {
        upstream_ca: Some(empty),
        ..Default::default()
    };
    let mut issues = Vec::new();
    assert!(cfg.build(&mut issues).is_none());
    assert!(
        issues.iter().any(|i| i.field == "gateway.upstream_ca"),
        "{issues:?}"
    );
    trusted.stop().await;
    untrusted.stop().await;
    tls_front.stop().await;
}

async fn get_text(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    let resp = sender
        .send_request(
            Request::builder()
                .uri(path)
                .header("host", "api.example")
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}
