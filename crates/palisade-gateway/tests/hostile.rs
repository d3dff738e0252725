//! The gateway under hostile input and faults, on loopback: request smuggling
//! (CL.TE, TE.CL, duplicate and obfuscated framing headers, obs-fold), slow
//! clients, oversized heads and bodies, invalid bytes and encodings, HTTP/2
//! abuse (rapid reset, header floods, stream floods) with raw frames, upstream
//! resets and timeouts, and engine failures in every phase.
//!
//! The upstream here is a raw TCP server that records exactly the bytes each
//! request arrived with, so a test can see whether the upstream could have
//! read two requests where the gateway read one. Every server a test starts
//! is stopped at its end; every wait is bounded.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use palisade_core::{Exchange, InspectError, Inspector, Verdict};
use palisade_gateway::config::{GatewayConfig, RouteConfig};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

mod common;
use common::{Collect, Gw};

// ---------------------------------------------------------------------------
// A raw upstream that records what it got.

/// One request as the upstream parsed it from the wire.
#[derive(Debug, Clone)]
struct Seen {
    /// The head exactly as received, up to and including the blank line.
    head: String,
    /// The body as framed by the head (Content-Length or chunked).
    body: Vec<u8>,
}

impl Seen {
    fn path(&self) -> &str {
        self.head.split(' ').nth(1).unwrap_or("")
    }
    /// Values of a header (case-insensitive name), in order.
    fn header(&self, name: &str) -> Vec<String> {
        self.head
            .split("\r\n")
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
            .collect()
    }
}

#[derive(Default)]
struct Record {
    requests: Vec<Seen>,
    /// Bytes that did not form a request (left over when a connection ended).
    junk: Vec<Vec<u8>>,
    connections: usize,
}

/// A raw HTTP/1.1 upstream. By path: `/reset-head` resets the connection
/// without answering, `/reset-body` sends a head and part of the body then
/// resets, `/silent` never answers; anything else gets `200 ok`.
struct RawUpstream {
    addr: SocketAddr,
    rec: Arc<Mutex<Record>>,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for RawUpstream {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

impl RawUpstream {
    async fn start() -> RawUpstream {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let rec = Arc::new(Mutex::new(Record::default()));
        let (tx, mut rx) = oneshot::channel::<()>();
        let r = rec.clone();
        tokio::spawn(async move {
            let mut conns = Vec::new();
            loop {
                tokio::select! {
                    a = l.accept() => {
                        let Ok((s, _)) = a else { break };
                        r.lock().unwrap().connections += 1;
                        conns.push(tokio::spawn(raw_conn(s, r.clone())));
                    }
                    _ = &mut rx => break,
                }
            }
            for c in conns {
                c.abort();
            }
        });
        RawUpstream {
            addr,
            rec,
            stop: Some(tx),
        }
    }

    fn requests(&self) -> Vec<Seen> {
        self.rec.lock().unwrap().requests.clone()
    }

    fn junk(&self) -> Vec<Vec<u8>> {
        self.rec.lock().unwrap().junk.clone()
    }

    fn reset(&self) {
        let mut r = self.rec.lock().unwrap();
        r.requests.clear();
        r.junk.clear();
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Reads at least one more byte into `buf`; false at end of stream or after 10 s.
async fn fill<R: AsyncRead + Unpin>(s: &mut R, buf: &mut Vec<u8>) -> bool {
    let mut tmp = [0u8; 16 * 1024];
    match tokio::time::timeout(Duration::from_secs(10), s.read(&mut tmp)).await {
        Ok(Ok(n)) if n > 0 => {
            buf.extend_from_slice(&tmp[..n]);
            true
        }
        _ => false,
    }
}

/// Parses one request from `buf` (reading more as needed). `None` when the
/// connection ended; what was left is recorded as junk.
async fn read_request(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Seen> {
    let head_end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 1 << 20 || !fill(s, buf).await {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    buf.drain(..head_end);
    let seen = Seen {
        head,
        body: Vec::new(),
    };
    let chunked = seen
        .header("transfer-encoding")
        .iter()
        .any(|v| v.to_ascii_lowercase().contains("chunked"));
    let mut body = Vec::new();
    if chunked {
        loop {
            let line_end = loop {
                if let Some(i) = find(buf, b"\r\n") {
                    break i;
                }
                if !fill(s, buf).await {
                    return None;
                }
            };
            let size_txt = String::from_utf8_lossy(&buf[..line_end]).into_owned();
            let size = usize::from_str_radix(size_txt.split(';').next()?.trim(), 16).ok()?;
            buf.drain(..line_end + 2);
            if size == 0 {
                // trailers end with an empty line
                loop {
                    if let Some(i) = find(buf, b"\r\n") {
                        let empty = i == 0;
                        buf.drain(..i + 2);
                        if empty {
                            break;
                        }
                    } else if !fill(s, buf).await {
                        return None;
                    }
                }
                break;
            }
            while buf.len() < size + 2 {
                if !fill(s, buf).await {
                    return None;
                }
            }
            body.extend_from_slice(&buf[..size]);
            buf.drain(..size + 2);
        }
    } else if let Some(len) = seen.header("content-length").first() {
        let len: usize = len.parse().ok()?;
        while buf.len() < len {
            if !fill(s, buf).await {
                return None;
            }
        }
        body.extend_from_slice(&buf[..len]);
        buf.drain(..len);
    }
    Some(Seen { body, ..seen })
}

async fn raw_conn(mut s: TcpStream, rec: Arc<Mutex<Record>>) {
    let mut buf = Vec::new();
    loop {
        let Some(seen) = read_request(&mut s, &mut buf).await else {
            if !buf.is_empty() {
                rec.lock().unwrap().junk.push(buf);
            }
            return;
        };
        let path = seen.path().to_string();
        rec.lock().unwrap().requests.push(seen);
        match path.as_str() {
            "/reset-head" => {
                let _ = s.set_zero_linger();
                return;
            }
            "/reset-body" => {
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial...")
                    .await;
                let _ = s.flush().await;
                tokio::time::sleep(Duration::from_millis(100)).await;
                let _ = s.set_zero_linger();
                return;
            }
            "/silent" => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                return;
            }
            _ => {
                if s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The gateway under test.

/// Fails on `/boom` (head), panics on `/panic` (head), on a body holding
/// `panic-body`, and on the response of `/panic-response`.
struct FaultyEngine;
impl Inspector for FaultyEngine {
    fn name(&self) -> &'static str {
        "faulty"
    }
    fn request_filter(&self, ex: &mut Exchange) -> Result<Verdict, InspectError> {
        match ex.request.path() {
            "/boom" => Err(InspectError::new("faulty", "boom")),
            "/panic" => panic!("engine bug in the head phase"),
            _ => Ok(Verdict::Allow),
        }
    }
    fn request_body_filter(&self, ex: &mut Exchange) -> Result<Verdict, InspectError> {
        if ex
            .request
            .body
            .text()
            .is_some_and(|t| t.contains("panic-body"))
        {
            panic!("engine bug in the body phase");
        }
        Ok(Verdict::Allow)
    }
    fn response_filter(&self, ex: &mut Exchange) -> Result<(), InspectError> {
        if ex.request.path() == "/panic-response" {
            panic!("engine bug in the response phase");
        }
        Ok(())
    }
}

async fn gateway(upstream: SocketAddr, tweak: impl FnOnce(&mut GatewayConfig)) -> Gw {
    let mut cfg = GatewayConfig {
        listen: "127.0.0.1:0".into(),
        shutdown_grace: Duration::from_secs(1),
        ..Default::default()
    };
    tweak(&mut cfg);
    let route = RouteConfig {
        name: Some("hostile".into()),
        host: None,
        path_prefix: "/".into(),
        upstream: format!("http://{upstream}"),
        mode: None,
        preserve_host: true,
    };
    common::serve(&cfg, route, Box::new(FaultyEngine), None, |g| g).await
}

/// Sends raw bytes and reads until the peer closes (or 5 s pass).
async fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

fn status_of(resp: &str) -> u16 {
    resp.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// A plain request through the gateway must still get the upstream's answer.
async fn still_serves(addr: SocketAddr) {
    let out = raw(
        addr,
        b"GET /still-here HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        out.starts_with("HTTP/1.1 200"),
        "gateway stopped serving: {out}"
    );
}

fn h1_client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

fn h2_client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http()
}

async fn get_status(c: &Client<HttpConnector, Full<Bytes>>, url: String) -> StatusCode {
    let req = Request::builder()
        .uri(url)
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(10), c.request(req))
        .await
        .expect("answer in time")
        .expect("a response");
    let s = resp.status();
    let _ = resp.into_body().collect().await;
    s
}

// ---------------------------------------------------------------------------
// Request smuggling.

enum Expect {
    /// The gateway answers 400 (or closes) and the upstream sees nothing.
    Reject,
    /// The upstream sees exactly one request at this path with this body,
    /// framed by a single Content-Length and no Transfer-Encoding.
    Forward(&'static str, &'static [u8]),
}

#[tokio::test]
async fn smuggling_attempts_are_rejected_or_normalised() {
    let up = RawUpstream::start().await;
    let gw = gateway(up.addr, |_| {}).await;
    let smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
    let te_cl = format!(
        "POST /te-cl HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{smuggled}\r\n0\r\n\r\n",
        smuggled.len()
    );
    let cases: Vec<(&str, String, Expect)> = vec![
        (
            "CL.TE: Transfer-Encoding wins, Content-Length is dropped, the rest is discarded",
            format!(
                "POST /cl-te HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}",
                5 + smuggled.len()
            ),
            Expect::Forward("/cl-te", b""),
        ),
        (
            "TE.CL: the chunked body is forwarded whole, as data",
            te_cl,
            Expect::Forward("/te-cl", smuggled.as_bytes()),
        ),
        (
            "TE.CL with Content-Length first and chunked last header",
            "POST /te-cl2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n".into(),
            Expect::Forward("/te-cl2", b"abc"),
        ),
        (
            "duplicate Content-Length, different values",
            "POST /dup HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 40\r\n\r\nabc".into(),
            Expect::Reject,
        ),
        (
            "duplicate Content-Length, same values: forwarded once",
            "POST /dup-same HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc".into(),
            Expect::Forward("/dup-same", b"abc"),
        ),
        (
            "Content-Length list",
            "POST /cl-list HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc".into(),
            Expect::Reject,
        ),
        (
            "signed Content-Length",
            "POST /cl-sign HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc".into(),
            Expect::Reject,
        ),
        (
            "Transfer-Encoding: chunked, identity",
            "POST /te-id HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n3\r\nabc\r\n0\r\n\r\n".into(),
            Expect::Reject,
        ),
        (
            "Transfer-Encoding: xchunked",
            "POST /te-x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: xchunked\r\n\r\nabc".into(),
            Expect::Reject,
        ),
        (
            "Transfer-Encoding: gzip, chunked (a coding the gateway would not undo)",
            "POST /te-gzip HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n".into(),
            Expect::Reject,
        ),
        (
            "chunked twice",
            "POST /te-twice HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n".into(),
            Expect::Reject,
        ),
        (
            "chunked then identity on two lines",
            "POST /te-lines HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n3\r\nabc\r\n0\r\n\r\n".into(),
            Expect::Reject,
        ),
        (
            "upper-case CHUNKED is still chunked",
            "POST /te-upper HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: CHUNKED\r\n\r\n3\r\nabc\r\n0\r\n\r\n".into(),
            Expect::Forward("/te-upper", b"abc"),
        ),
        (
            "obs-fold hides Transfer-Encoding in a continuation line",
            "POST /fold HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nX-Fold: a\r\n Transfer-Encoding: chunked\r\n\r\nabc".into(),
            Expect::Reject,
        ),
        (
            "obs-fold of Transfer-Encoding's value",
            "POST /fold2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\nContent-Length: 3\r\n\r\nabc".into(),
            Expect::Reject,
        ),
        (
            "space before the colon",
            "POST /sp HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding : chunked\r\n\r\nabc".into(),
            Expect::Reject,
        ),
        (
            "space inside a header name",
            "POST /sp2 HTTP/1.1\r\nHost: x\r\nContent Length: 3\r\n\r\nabc".into(),
            Expect::Reject,
        ),
        (
            "vertical tab before chunked",
            "POST /vt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding:\x0bchunked\r\n\r\nabc".into(),
            Expect::Reject,
        ),
        (
            "HTTP/1.0 with Transfer-Encoding",
            "POST /ten HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n".into(),
            Expect::Reject,
        ),
        (
            "chunk size overflow",
            "POST /ovf HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nabc\r\n0\r\n\r\n".into(),
            Expect::Reject,
        ),
        (
            "bare LF inside a header value",
            "POST /lf HTTP/1.1\r\nHost: x\r\nX-A: a\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc".into(),
            Expect::Reject,
        ),
    ];
    for (name, bytes, expect) in &cases {
        up.reset();
        let out = raw(gw.addr, bytes.as_bytes()).await;
        // Give a pooled upstream connection time to show any extra bytes.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let seen = up.requests();
        assert!(
            seen.iter().all(|r| r.path() != "/smuggled"),
            "{name}: a second request reached the upstream: {seen:?}"
        );
        match expect {
            Expect::Reject => {
                assert!(
                    out.is_empty() || out.starts_with("HTTP/1.1 400"),
                    "{name}: expected 400, got {out:?}"
                );
                assert!(seen.is_empty(), "{name}: reached the upstream: {seen:?}");
            }
            Expect::Forward(path, body) => {
                assert!(out.starts_with("HTTP/1.1 200"), "{name}: {out:?}");
                assert_eq!(seen.len(), 1, "{name}: {seen:?}");
                let r = &seen[0];
                assert_eq!(r.path(), *path, "{name}");
                assert_eq!(r.body, *body, "{name}: {r:?}");
                assert!(
                    r.header("transfer-encoding").is_empty(),
                    "{name}: Transfer-Encoding reached the upstream: {r:?}"
                );
                let cl = r.header("content-length");
                if body.is_empty() {
                    assert!(cl.is_empty() || cl == ["0"], "{name}: {r:?}");
                } else {
                    assert_eq!(cl, [body.len().to_string()], "{name}: {r:?}");
                }
            }
        }
    }
    // Nothing the gateway sent upstream was left unparsed (a smuggled tail).
    assert!(up.junk().is_empty(), "{:?}", up.junk());
    // Host confusion: the upstream sees the host the gateway routed on.
    up.reset();
    let out = raw(
        gw.addr,
        b"GET http://routed.example/abs HTTP/1.1\r\nHost: other.example\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    let seen = up.requests();
    assert_eq!(seen[0].path(), "/abs");
    assert_eq!(seen[0].header("host"), ["routed.example"], "{seen:?}");
    for (bad, status) in [
        (
            &b"GET other.example:80 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"[..],
            400,
        ),
        (
            b"GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            400,
        ),
        (
            b"CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\nConnection: close\r\n\r\n",
            405,
        ),
    ] {
        up.reset();
        let out = raw(gw.addr, bad).await;
        assert_eq!(status_of(&out), status, "{out}");
        assert!(out.to_ascii_lowercase().contains("x-request-id:"), "{out}");
        assert!(up.requests().is_empty());
    }
    // Pipelined, well-formed requests on one connection are each forwarded once.
    up.reset();
    let out = raw(
        gw.addr,
        b"POST /p1 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhiGET /p2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(out.matches("HTTP/1.1 200").count(), 2, "{out}");
    let paths: Vec<String> = up.requests().iter().map(|r| r.path().to_string()).collect();
    assert_eq!(paths, ["/p1", "/p2"]);
    still_serves(gw.addr).await;
    gw.stop().await;
}

// ---------------------------------------------------------------------------
// Slow clients.

/// Writes `prefix`, then trickles `trickle` one byte every `every` until the
/// peer closes or answers. Returns what the peer sent and how long it took.
async fn trickle(
    addr: SocketAddr,
    prefix: &[u8],
    trickle: &[u8],
    every: Duration,
) -> (String, Duration) {
    let start = Instant::now();
    let s = TcpStream::connect(addr).await.unwrap();
    let (mut r, mut w) = s.into_split();
    w.write_all(prefix).await.unwrap();
    let writer = {
        let trickle = trickle.to_vec();
        tokio::spawn(async move {
            for b in trickle {
                tokio::time::sleep(every).await;
                if w.write_all(&[b]).await.is_err() {
                    return;
                }
            }
            // hold the connection open without finishing
            tokio::time::sleep(Duration::from_secs(30)).await;
        })
    };
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(8), r.read_to_end(&mut out)).await;
    writer.abort();
    (String::from_utf8_lossy(&out).into_owned(), start.elapsed())
}

#[tokio::test]
async fn slowloris_and_slow_bodies_are_cut_while_others_are_served() {
    let up = RawUpstream::start().await;
    let gw = gateway(up.addr, |g| {
        g.header_timeout = Duration::from_secs(1);
        g.body_timeout = Duration::from_secs(1);
    })
    .await;
    let addr = gw.addr;
    // 20 slowloris connections trickling a never-ending head, 5 slow bodies.
    let mut slow = Vec::new();
    for i in 0..20 {
        slow.push(tokio::spawn(async move {
            let prefix = format!("GET /loris/{i} HTTP/1.1\r\nHost: x\r\nX-Slow: ");
            trickle(
                addr,
                prefix.as_bytes(),
                &[b'a'; 40],
                Duration::from_millis(150),
            )
            .await
        }));
    }
    let mut bodies = Vec::new();
    for i in 0..5 {
        bodies.push(tokio::spawn(async move {
            let prefix =
                format!("POST /slow-body/{i} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n");
            trickle(
                addr,
                prefix.as_bytes(),
                &[b'b'; 100],
                Duration::from_millis(150),
            )
            .await
        }));
    }
    // An idle connection that never sends a byte.
    let idle = tokio::spawn(async move { trickle(addr, b"", b"", Duration::ZERO).await });
    // Meanwhile normal clients are served.
    let c = h1_client();
    for i in 0..20 {
        let s = get_status(&c, format!("http://{addr}/normal/{i}")).await;
        assert_eq!(s, 200);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for h in slow {
        let (out, took) = h.await.unwrap();
        assert!(
            out.is_empty() || out.starts_with("HTTP/1.1 408"),
            "slow head answered: {out}"
        );
        assert!(
            took < Duration::from_secs(6),
            "a slow head held its connection for {took:?} (header_timeout is 1 s)"
        );
    }
    for h in bodies {
        let (out, took) = h.await.unwrap();
        assert!(out.starts_with("HTTP/1.1 408"), "slow body: {out}");
        assert!(out.contains("\"body_timeout\""), "{out}");
        assert!(out.contains("\"request_id\""), "{out}");
        assert!(took < Duration::from_secs(6), "{took:?}");
    }
    let (out, took) = idle.await.unwrap();
    assert!(out.is_empty() || out.starts_with("HTTP/1.1 408"), "{out}");
    assert!(
        took < Duration::from_secs(6),
        "an idle connection was held {took:?}"
    );
    // No slow request reached the upstream.
    assert!(
        up.requests()
            .iter()
            .all(|r| !r.path().starts_with("/loris") && !r.path().starts_with("/slow-body")),
        "{:?}",
        up.requests()
    );
    still_serves(addr).await;
    gw.stop().await;
}

// ---------------------------------------------------------------------------
// Oversized input, invalid bytes and encodings.

#[tokio::test]
async fn oversized_heads_and_bodies_are_refused() {
    let up = RawUpstream::start().await;
    let gw = gateway(up.addr, |g| {
        g.max_body_bytes = 4096;
        g.max_header_bytes = 16 * 1024;
    })
    .await;
    // Too many header lines.
    let mut many = String::from("GET /many HTTP/1.1\r\nHost: x\r\n");
    for i in 0..150 {
        many.push_str(&format!("X-H{i}: v\r\n"));
    }
    many.push_str("\r\n");
    let out = raw(gw.addr, many.as_bytes()).await;
    assert!(
        out.is_empty() || out.starts_with("HTTP/1.1 431"),
        "150 headers: {out}"
    );
    // One huge header value.
    let huge = format!(
        "GET /huge HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(100 * 1024)
    );
    let out = raw(gw.addr, huge.as_bytes()).await;
    assert!(
        out.is_empty() || out.starts_with("HTTP/1.1 431"),
        "100 KiB header: {}",
        &out[..out.len().min(200)]
    );
    // A huge request line.
    let line = format!(
        "GET /{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "p".repeat(100 * 1024)
    );
    let out = raw(gw.addr, line.as_bytes()).await;
    assert!(
        out.is_empty() || out.starts_with("HTTP/1.1 431") || out.starts_with("HTTP/1.1 414"),
        "100 KiB target: {}",
        &out[..out.len().min(200)]
    );
    // Bodies: declared, and streamed without a length.
    let out = raw(
        gw.addr,
        b"POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status_of(&out), 413, "{out}");
    assert!(out.contains("\"request_id\""), "{out}");
    let mut chunked =
        b"POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            .to_vec();
    for _ in 0..10 {
        chunked.extend_from_slice(b"400\r\n");
        chunked.extend_from_slice(&[b'z'; 1024]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let out = raw(gw.addr, &chunked).await;
    assert_eq!(status_of(&out), 413, "{out}");
    // HTTP/2 with a body past the limit.
    let c = h2_client();
    let resp = c
        .request(
            Request::builder()
                .method("POST")
                .uri(format!("http://{}/big-h2", gw.addr))
                .body(Full::new(Bytes::from(vec![b'y'; 8192])))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    assert!(resp.headers().contains_key("x-request-id"));
    assert!(
        up.requests().is_empty(),
        "an oversized request reached the upstream: {:?}",
        up.requests()
    );
    still_serves(gw.addr).await;
    gw.stop().await;
}

#[tokio::test]
async fn invalid_bytes_and_encodings_never_crash_the_gateway() {
    let up = RawUpstream::start().await;
    let gw = gateway(up.addr, |_| {}).await;
    // Forwarded byte for byte: the target is opaque to the gateway.
    for target in [
        "/a%zz/b?x=%G1&y=%",
        "/%C0%AF%c0%ae%c0%ae/etc?q=%FF%FE%00",
        "/%E2%82?bad=%E2%28%A1",
        "/a/../b/./c//d?x=1;y=2",
        "/%25%32%35?%%%",
    ] {
        up.reset();
        let req = format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let out = raw(gw.addr, req.as_bytes()).await;
        assert!(out.starts_with("HTTP/1.1 200"), "{target}: {out}");
        let seen = up.requests();
        assert_eq!(seen.len(), 1, "{target}");
        assert_eq!(seen[0].path(), target, "the target was altered");
    }
    // Header values with bytes that are not UTF-8 (obs-text) are forwarded as
    // they came; the exchange keeps a lossy copy.
    up.reset();
    let mut req = b"GET /obs-text HTTP/1.1\r\nHost: x\r\nX-Bin: caf\xe9 \xff\xfe\r\nConnection: close\r\n\r\n"
        .to_vec();
    let out = raw(gw.addr, &req).await;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    let seen = up.requests();
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0].head.contains("caf\u{fffd} \u{fffd}\u{fffd}"),
        "{:?}",
        seen[0].head
    );
    // Rejected before anything reaches the upstream.
    up.reset();
    for bad in [
        &b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /nul HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
        b"GET /ctl HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n",
        b"GET /name HTTP/1.1\r\nHost: x\r\nX(A): b\r\n\r\n",
        b"GET /name2 HTTP/1.1\r\nHost: x\r\n\xffX: b\r\n\r\n",
        b"GET /ver HTTP/9.9\r\nHost: x\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        b"GET noslash HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        let out = raw(gw.addr, bad).await;
        let s = status_of(&out);
        assert!(
            out.is_empty() || s == 400,
            "{:?}: {out}",
            String::from_utf8_lossy(bad)
        );
    }
    assert!(up.requests().is_empty(), "{:?}", up.requests());
    // Odd Host headers are recorded, never trusted for a panic.
    for host in ["[::1", "::::", "a:b:c", "[", ":", "x:99999999999", "\u{7f}"] {
        req =
            format!("GET /host HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").into_bytes();
        let out = raw(gw.addr, &req).await;
        let s = status_of(&out);
        assert!(out.is_empty() || s == 200 || s == 400, "{host}: {out}");
    }
    still_serves(gw.addr).await;
    gw.stop().await;
}

// ---------------------------------------------------------------------------
// HTTP/2 abuse, with raw frames.

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const HEADERS: u8 = 1;
const RST_STREAM: u8 = 3;
const SETTINGS: u8 = 4;
const GOAWAY: u8 = 7;
const CONTINUATION: u8 = 9;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;

fn frame(ty: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, ty, flags];
    f.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// HPACK integer with an `n`-bit prefix, the other bits of the first byte in `high`.
fn hpack_int(out: &mut Vec<u8>, n: u8, high: u8, mut v: usize) {
    let max = (1usize << n) - 1;
    if v < max {
        out.push(high | v as u8);
        return;
    }
    out.push(high | max as u8);
    v -= max;
    while v >= 128 {
        out.push((v % 128 + 128) as u8);
        v /= 128;
    }
    out.push(v as u8);
}

fn hpack_str(out: &mut Vec<u8>, s: &[u8]) {
    hpack_int(out, 7, 0, s.len());
    out.extend_from_slice(s);
}

/// A request header block: `:method` (GET or POST), `:scheme http`, `:path`,
/// `:authority`, then literal headers (never indexed, so no table state).
fn header_block(post: bool, path: &str, extra: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut b = vec![if post { 0x83 } else { 0x82 }, 0x86];
    hpack_int(&mut b, 4, 0x00, 4); // :path, literal without indexing
    hpack_str(&mut b, path.as_bytes());
    hpack_int(&mut b, 4, 0x00, 1); // :authority
    hpack_str(&mut b, b"x");
    for (n, v) in extra {
        b.push(0x00);
        hpack_str(&mut b, n);
        hpack_str(&mut b, v);
    }
    b
}

/// Frames the server sent, as (type, flags, stream, payload).
type Frames = Arc<Mutex<Vec<(u8, u8, u32, Vec<u8>)>>>;

/// A raw HTTP/2 connection: the handshake done, the server's frames collected
/// in the background until it closes.
struct RawH2 {
    w: tokio::net::tcp::OwnedWriteHalf,
    frames: Frames,
    closed: Arc<std::sync::atomic::AtomicBool>,
    reader: tokio::task::JoinHandle<()>,
}

impl RawH2 {
    async fn connect(addr: SocketAddr) -> RawH2 {
        let s = TcpStream::connect(addr).await.unwrap();
        let (mut r, mut w) = s.into_split();
        w.write_all(PREFACE).await.unwrap();
        w.write_all(&frame(SETTINGS, 0, 0, &[])).await.unwrap();
        let frames: Frames = Arc::default();
        let closed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        // The server's SETTINGS comes first; acknowledge it.
        let mut buf = Vec::new();
        let first = loop {
            if let Some(f) = take_frame(&mut buf) {
                break f;
            }
            assert!(fill(&mut r, &mut buf).await, "no SETTINGS from the server");
        };
        assert_eq!(first.0, SETTINGS, "{first:?}");
        frames.lock().unwrap().push(first);
        w.write_all(&frame(SETTINGS, 0x1, 0, &[])).await.unwrap();
        let (f, c) = (frames.clone(), closed.clone());
        let reader = tokio::spawn(async move {
            loop {
                while let Some(fr) = take_frame(&mut buf) {
                    f.lock().unwrap().push(fr);
                }
                if !fill(&mut r, &mut buf).await {
                    c.store(true, Ordering::SeqCst);
                    return;
                }
            }
        });
        RawH2 {
            w,
            frames,
            closed,
            reader,
        }
    }

    /// Writes; false once the server has closed the connection.
    async fn send(&mut self, bytes: &[u8]) -> bool {
        self.w.write_all(bytes).await.is_ok()
    }

    fn frames_of(&self, ty: u8) -> Vec<(u8, u8, u32, Vec<u8>)> {
        self.frames
            .lock()
            .unwrap()
            .iter()
            .filter(|f| f.0 == ty)
            .cloned()
            .collect()
    }

    /// Waits (bounded) until the server closed or sent GOAWAY.
    async fn wait_goaway_or_close(&self, within: Duration) -> bool {
        let end = Instant::now() + within;
        while Instant::now() < end {
            if self.closed.load(Ordering::SeqCst) || !self.frames_of(GOAWAY).is_empty() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    /// The server's setting `id`, if it sent it.
    fn setting(&self, id: u16) -> Option<u32> {
        let frames = self.frames.lock().unwrap();
        let s = frames.iter().find(|f| f.0 == SETTINGS && f.1 & 1 == 0)?;
        s.3.chunks(6)
            .filter(|c| c.len() == 6 && u16::from_be_bytes([c[0], c[1]]) == id)
            .map(|c| u32::from_be_bytes([c[2], c[3], c[4], c[5]]))
            .next_back()
    }
}

impl Drop for RawH2 {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

fn take_frame(buf: &mut Vec<u8>) -> Option<(u8, u8, u32, Vec<u8>)> {
    if buf.len() < 9 {
        return None;
    }
    let len = (usize::from(buf[0]) << 16) | (usize::from(buf[1]) << 8) | usize::from(buf[2]);
    if buf.len() < 9 + len {
        return None;
    }
    let f = (
        buf[3],
        buf[4],
        u32::from_be_bytes([buf[5], buf[6], buf[7], buf[8]]) & 0x7fff_ffff,
        buf[9..9 + len].to_vec(),
    );
    buf.drain(..9 + len);
    Some(f)
}

fn goaway_code(f: &(u8, u8, u32, Vec<u8>)) -> u32 {
    u32::from_be_bytes([f.3[4], f.3[5], f.3[6], f.3[7]])
}

/// Serves `n` legitimate HTTP/2 requests on their own connection.
async fn h2_requests_succeed(addr: SocketAddr, n: usize) {
    let c = h2_client();
    for i in 0..n {
        let s = get_status(&c, format!("http://{addr}/legit/{i}")).await;
        assert_eq!(s, 200, "a legitimate HTTP/2 client was refused");
    }
}

#[tokio::test]
async fn h2_rapid_reset_is_cut_off_and_others_are_served() {
    let up = RawUpstream::start().await;
    let gw = gateway(up.addr, |_| {}).await;
    let mut abuser = RawH2::connect(gw.addr).await;
    // HEADERS then RST_STREAM(CANCEL), 5000 times, in batches of 100.
    let mut sent = 0;
    'flood: for batch in 0..50u32 {
        let mut bytes = Vec::new();
        for i in 0..100u32 {
            let id = 1 + 2 * (batch * 100 + i);
            bytes.extend(frame(
                HEADERS,
                END_HEADERS | END_STREAM,
                id,
                &header_block(false, "/reset", &[]),
            ));
            bytes.extend(frame(RST_STREAM, 0, id, &8u32.to_be_bytes()));
        }
        if !abuser.send(&bytes).await {
            break 'flood;
        }
        sent += 100;
    }
    // The server gives up on the abuser (GOAWAY, ENHANCE_YOUR_CALM) ...
    assert!(
        abuser.wait_goaway_or_close(Duration::from_secs(5)).await,
        "the rapid-reset connection was never cut off after {sent} resets"
    );
    eprintln!(
        "rapid reset: {sent} HEADERS+RST_STREAM sent; GOAWAY codes {:?}; closed {}; {} reached the upstream",
        abuser
            .frames_of(GOAWAY)
            .iter()
            .map(goaway_code)
            .collect::<Vec<_>>(),
        abuser.closed.load(Ordering::SeqCst),
        up.requests().len()
    );
    if let Some(g) = abuser.frames_of(GOAWAY).first() {
        assert_eq!(goaway_code(g), 0xb, "GOAWAY code {:?}", g);
    }
    // ... and keeps serving everybody else.
    h2_requests_succeed(gw.addr, 5).await;
    still_serves(gw.addr).await;
    assert!(
        up.requests().len() < sent,
        "every reset stream still reached the upstream ({} of {sent})",
        up.requests().len()
    );
    gw.stop().await;
}

#[tokio::test]
async fn h2_header_floods_are_refused() {
    let up = RawUpstream::start().await;
    let gw = gateway(up.addr, |g| g.max_header_bytes = 16 * 1024).await;
    // The server announces its header list bound.
    let mut c1 = RawH2::connect(gw.addr).await;
    assert_eq!(
        c1.setting(0x6),
        Some(16 * 1024),
        "SETTINGS_MAX_HEADER_LIST_SIZE"
    );
    // A header list far past the bound, in one HEADERS frame.
    let extra: Vec<(Vec<u8>, Vec<u8>)> = (0..2000)
        .map(|i| {
            (
                format!("x-flood-{i}").into_bytes(),
                b"vvvvvvvvvvvvvvvv".to_vec(),
            )
        })
        .collect();
    let refs: Vec<(&[u8], &[u8])> = extra
        .iter()
        .map(|(n, v)| (n.as_slice(), v.as_slice()))
        .collect();
    let block = header_block(false, "/flood", &refs);
    // split into frames of at most 16 KiB (the default max frame size)
    let chunks: Vec<&[u8]> = block.chunks(16 * 1024).collect();
    let mut bytes = Vec::new();
    for (i, c) in chunks.iter().enumerate() {
        let last = i + 1 == chunks.len();
        let flags = if last { END_HEADERS } else { 0 };
        if i == 0 {
            bytes.extend(frame(HEADERS, flags | END_STREAM, 1, c));
        } else {
            bytes.extend(frame(CONTINUATION, flags, 1, c));
        }
    }
    let _ = c1.send(&bytes).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    eprintln!(
        "header flood: RST_STREAM {:?}, GOAWAY {:?}, answer {:?}",
        c1.frames_of(RST_STREAM)
            .iter()
            .map(|f| u32::from_be_bytes([f.3[0], f.3[1], f.3[2], f.3[3]]))
            .collect::<Vec<_>>(),
        c1.frames_of(GOAWAY)
            .iter()
            .map(goaway_code)
            .collect::<Vec<_>>(),
        c1.frames_of(HEADERS)
            .iter()
            .map(|f| String::from_utf8_lossy(&f.3).into_owned())
            .collect::<Vec<_>>()
    );
    let refused = !c1.frames_of(RST_STREAM).is_empty()
        || c1.wait_goaway_or_close(Duration::from_secs(3)).await
        || c1.frames_of(HEADERS).iter().any(|f| f.2 == 1);
    assert!(
        refused,
        "an oversized header list was accepted: {:?}",
        c1.frames
            .lock()
            .unwrap()
            .iter()
            .map(|f| (f.0, f.1, f.2))
            .collect::<Vec<_>>()
    );
    // CONTINUATION flood: a header block that never ends.
    let mut c2 = RawH2::connect(gw.addr).await;
    let mut bytes = frame(HEADERS, END_STREAM, 1, &header_block(false, "/cont", &[]));
    let mut junk = Vec::new();
    for i in 0..400 {
        junk.push(0x00);
        hpack_str(&mut junk, format!("x-c-{i}").as_bytes());
        hpack_str(&mut junk, &[b'c'; 100]);
    }
    let mut ended = false;
    for _ in 0..200 {
        bytes.extend(frame(
            CONTINUATION,
            0,
            1,
            &junk[..junk.len().min(16 * 1024)],
        ));
        if !c2.send(&bytes).await {
            ended = true;
            break;
        }
        bytes.clear();
    }
    assert!(
        ended || c2.wait_goaway_or_close(Duration::from_secs(5)).await,
        "an endless CONTINUATION sequence was accepted"
    );
    h2_requests_succeed(gw.addr, 3).await;
    assert!(
        up.requests()
            .iter()
            .all(|r| r.path() != "/flood" && r.path() != "/cont"),
        "{:?}",
        up.requests()
    );
    still_serves(gw.addr).await;
    gw.stop().await;
}

#[tokio::test]
async fn h2_stream_floods_are_bounded_and_crlf_never_reaches_the_upstream() {
    let up = RawUpstream::start().await;
    let gw = gateway(up.addr, |g| g.body_timeout = Duration::from_secs(2)).await;
    let mut c = RawH2::connect(gw.addr).await;
    let max = c
        .setting(0x3)
        .expect("SETTINGS_MAX_CONCURRENT_STREAMS is announced");
    assert!(max > 0 && max <= 256, "max_concurrent_streams {max}");
    // Open max + 50 streams whose bodies never come.
    let mut bytes = Vec::new();
    for i in 0..(max + 50) {
        bytes.extend(frame(
            HEADERS,
            END_HEADERS,
            1 + 2 * i,
            &header_block(true, "/open", &[]),
        ));
    }
    let _ = c.send(&bytes).await;
    // Streams past the limit are refused (RST_STREAM) or the connection ends.
    let end = Instant::now() + Duration::from_secs(5);
    let refused = loop {
        let rst = c
            .frames_of(RST_STREAM)
            .iter()
            .filter(|f| f.2 > 2 * max)
            .count();
        if rst > 0 || c.closed.load(Ordering::SeqCst) || !c.frames_of(GOAWAY).is_empty() {
            break true;
        }
        if Instant::now() > end {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    eprintln!(
        "stream flood: limit {max}; RST_STREAM codes past it {:?}; GOAWAY {:?}",
        c.frames_of(RST_STREAM)
            .iter()
            .filter(|f| f.2 > 2 * max)
            .map(|f| u32::from_be_bytes([f.3[0], f.3[1], f.3[2], f.3[3]]))
            .collect::<std::collections::BTreeSet<_>>(),
        c.frames_of(GOAWAY)
            .iter()
            .map(goaway_code)
            .collect::<Vec<_>>()
    );
    assert!(refused, "streams past the announced limit were accepted");
    // Other clients are served while those streams hang.
    h2_requests_succeed(gw.addr, 3).await;
    // The hanging streams are answered (408, once body_timeout passes: the
    // status is HPACK-encoded, so any response head on stream 1 counts), or
    // reset, or the connection ends; nothing holds them forever.
    let end = Instant::now() + Duration::from_secs(8);
    let answered = loop {
        let done = c.frames_of(HEADERS).iter().any(|f| f.2 == 1)
            || c.frames_of(RST_STREAM).iter().any(|f| f.2 == 1)
            || c.closed.load(Ordering::SeqCst);
        if done || Instant::now() > end {
            break done;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        answered,
        "a stream whose body never came was held past body_timeout"
    );
    // Header values with CR/LF cannot inject headers upstream.
    let mut c3 = RawH2::connect(gw.addr).await;
    let block = header_block(
        false,
        "/inject",
        &[(b"x-inject", b"a\r\nTransfer-Encoding: chunked")],
    );
    let _ = c3
        .send(&frame(HEADERS, END_HEADERS | END_STREAM, 1, &block))
        .await;
    let block = header_block(false, "/inject2", &[(b"x-inject\r\nx-evil", b"1")]);
    let _ = c3
        .send(&frame(HEADERS, END_HEADERS | END_STREAM, 3, &block))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    for r in up.requests() {
        assert!(
            r.header("transfer-encoding").is_empty() && r.header("x-evil").is_empty(),
            "a header was injected upstream: {r:?}"
        );
        assert_ne!(r.path(), "/open", "{r:?}");
    }
    still_serves(gw.addr).await;
    gw.stop().await;
}

// ---------------------------------------------------------------------------
// Upstream faults and engine failures.

#[tokio::test]
async fn upstream_resets_and_timeouts_answer_502_504_with_the_request_id() {
    let up = RawUpstream::start().await;
    let gw = gateway(up.addr, |g| g.upstream_timeout = Duration::from_millis(500)).await;
    // Reset before any answer.
    let out = raw(
        gw.addr,
        b"GET /reset-head HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status_of(&out), 502, "{out}");
    assert!(out.contains("\"upstream_unavailable\""), "{out}");
    let id = out
        .lines()
        .find_map(|l| l.strip_prefix("x-request-id: "))
        .expect("x-request-id on a 502")
        .trim()
        .to_string();
    assert!(out.contains(&format!("\"request_id\":\"{id}\"")), "{out}");
    // No answer in time.
    let out = raw(
        gw.addr,
        b"GET /silent HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status_of(&out), 504, "{out}");
    assert!(out.contains("\"upstream_timeout\""), "{out}");
    assert!(out.to_ascii_lowercase().contains("x-request-id:"), "{out}");
    // A reset in the middle of the body: the head is already sent, so the
    // client sees a short body and the connection ends; nothing hangs.
    let out = raw(
        gw.addr,
        b"GET /reset-body HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(!out.contains(&"x".repeat(1000)));
    let c = h2_client();
    let resp = c
        .request(
            Request::builder()
                .uri(format!("http://{}/reset-body", gw.addr))
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body = tokio::time::timeout(Duration::from_secs(5), resp.into_body().collect())
        .await
        .expect("the body ends");
    assert!(
        body.is_err(),
        "a truncated body must end in an error over h2"
    );
    assert!(gw.stats.upstream_errors.load(Ordering::Relaxed) >= 2);
    // Every one of them was recorded for analysis, statuses included.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let seen = gw.sink.0.lock().unwrap().clone();
    for (path, status) in [("/reset-head", 502), ("/silent", 504), ("/reset-body", 200)] {
        assert!(
            seen.iter()
                .any(|e| e.request.path() == path && e.status() == Some(status)),
            "{path}: {:?}",
            seen.iter()
                .map(|e| (e.request.path().to_string(), e.status()))
                .collect::<Vec<_>>()
        );
    }
    still_serves(gw.addr).await;
    gw.stop().await;
}

#[tokio::test]
async fn engine_failures_in_every_phase_fail_open_and_are_counted() {
    let up = RawUpstream::start().await;
    let gw = gateway(up.addr, |_| {}).await;
    let c = h1_client();
    let post = |addr: SocketAddr, path: &str, body: &'static str| {
        Request::builder()
            .method("POST")
            .uri(format!("http://{addr}{path}"))
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .unwrap()
    };
    let calls = [
        ("/boom", ""),
        ("/panic", ""),
        ("/body", "x=panic-body"),
        ("/panic-response", ""),
    ];
    for (path, body) in calls {
        let resp = c.request(post(gw.addr, path, body)).await.unwrap();
        assert_eq!(resp.status(), 200, "{path} should fail open");
        assert_eq!(
            resp.into_body().collect().await.unwrap().to_bytes(),
            "ok",
            "{path}"
        );
    }
    assert_eq!(gw.stats.engine_errors.load(Ordering::Relaxed), 4);
    assert_eq!(up.requests().len(), 4, "every request was forwarded");
    // Concurrent panics do not poison anything: 50 at once, all served.
    let hits = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let c = c.clone();
        let url = format!("http://{}/panic", gw.addr);
        let hits = hits.clone();
        tasks.push(tokio::spawn(async move {
            if get_status(&c, url).await == 200 {
                hits.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(hits.load(Ordering::Relaxed), 50);
    assert_eq!(gw.stats.engine_errors.load(Ordering::Relaxed), 54);
    gw.stop().await;

    // Failing closed: 503 with the request id, nothing forwarded, still counted.
    up.reset();
    let gw = gateway(up.addr, |g| g.fail_open = false).await;
    for (path, body) in [("/panic", ""), ("/body", "x=panic-body")] {
        let resp = c.request(post(gw.addr, path, body)).await.unwrap();
        assert_eq!(resp.status(), 503, "{path}");
        let id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
        let v: serde_json::Value =
            serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
        assert_eq!(v["error"], "engine_unavailable");
        assert_eq!(v["request_id"], id);
    }
    assert!(up.requests().is_empty());
    assert_eq!(gw.stats.engine_errors.load(Ordering::Relaxed), 2);
    still_serves(gw.addr).await;
    gw.stop().await;
}

// ---------------------------------------------------------------------------
// Hostile configuration: `[gateway]` and `[[route]]` as TOML, then validated
// and turned into a gateway (without sockets). Never a panic; every problem
// is an issue naming its field and a fix. (The cargo-fuzz `config` target
// covers the other sections; this one runs on stable in `cargo test`.)

mod config_props {
    use palisade_gateway::config::{GatewayConfig, RouteConfig};
    use palisade_gateway::{Gateway, Routes};
    use proptest::prelude::*;

    const GATEWAY_KEYS: &[&str] = &[
        "listen",
        "mode",
        "max_body_bytes",
        "response_sample_bytes",
        "trusted_proxies",
        "fail_open",
        "connect_timeout",
        "upstream_timeout",
        "header_timeout",
        "body_timeout",
        "shutdown_grace",
        "max_header_bytes",
    ];
    const ROUTE_KEYS: &[&str] = &[
        "name",
        "host",
        "path_prefix",
        "upstream",
        "mode",
        "preserve_host",
    ];

    #[derive(serde::Deserialize)]
    struct Sections {
        #[serde(default)]
        gateway: GatewayConfig,
        #[serde(default)]
        route: Vec<RouteConfig>,
    }

    fn toml_str(s: String) -> String {
        toml::Value::String(s).to_string()
    }

    /// Text that is plausible, extreme or nonsense.
    fn text() -> BoxedStrategy<String> {
        prop_oneof![
            Just("127.0.0.1:0".to_string()),
            Just("http://127.0.0.1:9".to_string()),
            Just("http://[::1]:9/base/".to_string()),
            Just("https://x".to_string()),
            Just("*.example.com".to_string()),
            Just("/api".to_string()),
            Just("10.0.0.0/8".to_string()),
            "\\PC{0,24}",
            "[a-z:/.*\\[\\]0-9%-]{0,24}",
        ]
        .boxed()
    }

    /// A TOML value of the type the key takes (mostly), as text.
    fn value_for(key: &'static str) -> BoxedStrategy<String> {
        let wrong = prop_oneof![
            Just("-1".to_string()),
            Just("\"\"".to_string()),
            Just("[]".to_string())
        ];
        let typed = match key {
            "mode" => prop_oneof![
                Just("block".to_string()),
                Just("detect".to_string()),
                Just("off".to_string()),
                text()
            ]
            .prop_map(toml_str)
            .boxed(),
            "max_body_bytes" | "response_sample_bytes" | "max_header_bytes" => prop_oneof![
                Just(0u64),
                Just(1),
                Just(1023),
                Just(1024),
                Just(268_435_456),
                Just(268_435_457),
                Just(i64::MAX as u64),
                any::<u32>().prop_map(u64::from),
            ]
            .prop_map(|n| n.to_string())
            .boxed(),
            "fail_open" | "preserve_host" => any::<bool>().prop_map(|b| b.to_string()).boxed(),
            "connect_timeout" | "upstream_timeout" | "header_timeout" | "body_timeout"
            | "shutdown_grace" => prop_oneof![
                Just("30s".to_string()),
                Just("0ns".to_string()),
                Just("1ms".to_string()),
                Just("18446744073709551615s".to_string()),
                Just("99999999999999999999999h".to_string()),
                text()
            ]
            .prop_map(toml_str)
            .boxed(),
            "trusted_proxies" => proptest::collection::vec(text(), 0..3)
                .prop_map(|v| toml::Value::from(v).to_string())
                .boxed(),
            _ => text().prop_map(toml_str).boxed(),
        };
        prop_oneof![9 => typed, 1 => wrong].boxed()
    }

    fn table(keys: &'static [&'static str]) -> BoxedStrategy<String> {
        proptest::sample::subsequence(keys.to_vec(), 0..keys.len())
            .prop_flat_map(|ks| {
                ks.into_iter()
                    .map(|k| value_for(k).prop_map(move |v| format!("{k} = {v}\n")))
                    .collect::<Vec<_>>()
            })
            .prop_map(|lines| lines.concat())
            .boxed()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        #[test]
        fn hostile_gateway_config_never_panics(
            gateway in table(GATEWAY_KEYS),
            routes in proptest::collection::vec(table(ROUTE_KEYS), 0..3),
            targets in proptest::collection::vec("\\PC{0,20}", 0..4),
            hosts in proptest::collection::vec(proptest::option::of("\\PC{0,16}"), 0..3),
        ) {
            let mut src = format!("[gateway]\n{gateway}");
            for r in &routes {
                src.push_str(&format!("[[route]]\n{r}"));
            }
            let s = match toml::from_str::<Sections>(&src) {
                Ok(s) => s,
                // a type error: the message must name the key
                Err(e) => {
                    prop_assert!(!e.to_string().is_empty());
                    return Ok(());
                }
            };
            let mut cfg = s.gateway;
            cfg.tls = None;
            let mut issues = Vec::new();
            let settings = cfg.build(&mut issues);
            let table = Routes::build(&s.route, cfg.mode, &mut issues);
            for i in &issues {
                prop_assert!(!i.field.is_empty() && !i.hint.is_empty(), "{i}");
            }
            for r in table.iter() {
                for t in &targets {
                    let _ = r.upstream_uri(t);
                }
            }
            for h in &hosts {
                for t in &targets {
                    let _ = table.find(h.as_deref(), t);
                }
            }
            if let Some(settings) = settings {
                let sink: std::sync::Arc<dyn palisade_core::ExchangeSink> =
                    std::sync::Arc::new(super::Collect::default());
                let _ = Gateway::new(settings, table, Box::new(super::FaultyEngine), sink);
            }
        }
    }
}
