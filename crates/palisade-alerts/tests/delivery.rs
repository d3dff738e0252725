//! Delivery over loopback: a local webhook receiver (hyper), TCP, TLS and UDP
//! syslog listeners. Every wait is bounded; every server is stopped (its
//! task aborted) at the end of its test.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use palisade_alerts::{
    Alert, AlertConfig, Alerter, SyslogConfig, SyslogFormat, Transport, WebhookConfig,
    WebhookFormat, test_send,
};
use palisade_core::Severity;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

const WAIT: Duration = Duration::from_secs(10);

/// A webhook receiver: answers `fail_first` requests with 503, then 200;
/// sends (path, body) of every request to the channel.
async fn webhook_receiver(
    fail_first: usize,
) -> (
    SocketAddr,
    mpsc::UnboundedReceiver<(String, Vec<u8>)>,
    JoinHandle<()>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let seen = Arc::new(AtomicUsize::new(0));
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            let seen = seen.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let tx = tx.clone();
                    let seen = seen.clone();
                    async move {
                        let mut path = req.uri().path().to_string();
                        if let Some(a) = req.headers().get("authorization") {
                            path.push_str(&format!(" auth={}", a.to_str().unwrap()));
                        }
                        let body = req.into_body().collect().await.unwrap().to_bytes().to_vec();
                        let n = seen.fetch_add(1, Ordering::SeqCst);
                        let status = if n < fail_first { 503 } else { 200 };
                        if status == 200 {
                            let _ = tx.send((path, body));
                        }
                        Ok::<_, Infallible>(
                            hyper::Response::builder()
                                .status(status)
                                .body(Full::new(Bytes::from_static(b"ok")))
                                .unwrap(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, rx, task)
}

/// Reads octet-counted frames (`LEN SP MSG`) from every connection.
fn syslog_tcp_reader<S>(stream: S, tx: mpsc::UnboundedSender<String>)
where
    S: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut r = BufReader::new(stream);
        loop {
            let mut len = Vec::new();
            if r.read_until(b' ', &mut len).await.unwrap_or(0) == 0 {
                return;
            }
            let Ok(n) = std::str::from_utf8(&len[..len.len() - 1])
                .unwrap_or("")
                .parse::<usize>()
            else {
                let _ = tx.send(format!("BAD FRAME: {:?}", String::from_utf8_lossy(&len)));
                return;
            };
            let mut msg = vec![0; n];
            if r.read_exact(&mut msg).await.is_err() {
                return;
            }
            let _ = tx.send(String::from_utf8(msg).unwrap());
        }
    });
}

async fn syslog_tcp_listener(
    listener: TcpListener,
) -> (mpsc::UnboundedReceiver<String>, JoinHandle<()>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            syslog_tcp_reader(s, tx.clone());
        }
    });
    (rx, task)
}

async fn recv<T>(rx: &mut mpsc::UnboundedReceiver<T>, what: &str) -> T {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .unwrap_or_else(|_| panic!("{what}: nothing received in {WAIT:?}"))
        .unwrap_or_else(|| panic!("{what}: channel closed"))
}

/// Waits (bounded) until the alerter's counters satisfy `cond`: the receiver
/// sees a message before the sender has read the answer.
async fn until_stats(alerter: &Alerter, cond: impl Fn(&palisade_alerts::DestinationStats) -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !cond(&alerter.stats()[0]) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            alerter.stats()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn alert(sev: Severity, title: &str) -> Alert {
    let mut a = Alert::new("opened", title, sev, 1_700_000_000_000);
    a.rule = Some("sqli.shape".into());
    a.location = Some("query.q".into());
    a.actor = Some("brave-otter (00000000000000a1)".into());
    a.client_ip = Some("203.0.113.9".parse().unwrap());
    a.request_id = Some("req-1".into());
    a.endpoint = Some("GET /v1/search".into());
    a.incident_id = Some("inc-000001".into());
    a.summary = "One actor tried SQL injection on card 4111111111111111.".into();
    a
}

fn fast(mut cfg: AlertConfig) -> AlertConfig {
    cfg.backoff_ms = 20;
    cfg.timeout_ms = 3000;
    cfg
}

#[tokio::test]
async fn an_alert_reaches_a_webhook_and_tcp_and_udp_syslog() {
    let (waddr, mut wrx, wtask) = webhook_receiver(0).await;
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let taddr = tcp.local_addr().unwrap();
    let (mut trx, ttask) = syslog_tcp_listener(tcp).await;
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let uaddr = udp.local_addr().unwrap();

    let mut cfg = fast(AlertConfig::default());
    cfg.console_url = Some("https://console.example/".into());
    cfg.webhooks.push(WebhookConfig::new(
        &format!("http://{waddr}/hooks/T0/secret"),
        WebhookFormat::Slack,
    ));
    let mut s = SyslogConfig::new(&taddr.to_string(), Transport::Tcp, SyslogFormat::Cef);
    s.hostname = Some("gw1".into());
    cfg.syslog.push(s);
    cfg.syslog.push(SyslogConfig::new(
        &uaddr.to_string(),
        Transport::Udp,
        SyslogFormat::Json,
    ));
    let alerter = Alerter::start(&cfg).unwrap();
    assert!(alerter.send(alert(Severity::Critical, "SQL injection by brave-otter")));

    let (path, body) = recv(&mut wrx, "webhook").await;
    assert_eq!(path, "/hooks/T0/secret");
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v["text"],
        "[CRITICAL] SQL injection by brave-otter (inc-000001)"
    );
    let blocks = v["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    let text = v.to_string();
    for want in [
        "`sqli.shape`",
        "`query.q`",
        "brave-otter",
        "`req-1`",
        "https://console.example/incidents/inc-000001",
    ] {
        assert!(text.contains(want), "slack body lacks {want}: {text}");
    }
    assert!(
        !text.contains("4111111111111111"),
        "card number leaked: {text}"
    );

    let line = recv(&mut trx, "tcp syslog").await;
    // facility 10 * 8 + severity 2 (critical)
    assert!(
        line.starts_with("<82>1 2023-11-14T22:13:20.000Z gw1 palisade - opened [palisade@32473 "),
        "{line}"
    );
    for want in [
        "CEF:0|Palisade|Palisade|",
        "|sqli.shape|",
        "|10|",
        "cs1=sqli.shape",
        "cs2=query.q",
        "externalId=req-1",
        "suser=brave-otter",
        "requestId=\"req-1\"",
    ] {
        assert!(line.contains(want), "syslog line lacks {want}: {line}");
    }
    assert!(!line.contains("4111111111111111"));

    let mut buf = vec![0u8; 65536];
    let (n, _) = tokio::time::timeout(WAIT, udp.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let dgram = std::str::from_utf8(&buf[..n]).unwrap();
    assert!(dgram.starts_with("<82>1 "), "{dgram}");
    let json_part = &dgram[dgram.find("] {").unwrap() + 2..];
    let j: serde_json::Value = serde_json::from_str(json_part).unwrap();
    assert_eq!(j["rule"], "sqli.shape");
    assert_eq!(j["request_id"], "req-1");
    assert_eq!(j["severity"], "critical");

    let stats = alerter.stats();
    assert_eq!(stats.len(), 3);
    assert!(stats.iter().all(|s| s.shed == 0 && s.failed == 0));
    assert!(!stats[0].destination.contains("secret"), "{:?}", stats[0]);
    alerter.shutdown(Duration::from_secs(1)).await;
    wtask.abort();
    ttask.abort();
}

#[tokio::test]
async fn failed_deliveries_are_retried_until_the_receiver_answers() {
    let (waddr, mut wrx, wtask) = webhook_receiver(2).await;
    let mut cfg = fast(AlertConfig::default());
    cfg.retries = 5;
    let mut w = WebhookConfig::new(&format!("http://{waddr}/h"), WebhookFormat::Json);
    w.headers
        .insert("Authorization".into(), "Bearer t0k".into());
    cfg.webhooks.push(w);
    let alerter = Alerter::start(&cfg).unwrap();
    assert!(alerter.send(alert(Severity::High, "retry me")));
    let (path, body) = recv(&mut wrx, "webhook after retries").await;
    assert_eq!(path, "/h auth=Bearer t0k");
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["title"], "retry me");
    assert_eq!(v["source"], "palisade");
    until_stats(&alerter, |s| s.sent == 1).await;
    let st = &alerter.stats()[0];
    assert_eq!((st.retried, st.sent, st.failed), (2, 1, 0), "{st:?}");
    alerter.shutdown(Duration::from_secs(1)).await;
    wtask.abort();
}

#[tokio::test]
async fn a_syslog_receiver_that_is_down_then_up_gets_the_alert() {
    // find a free port, leave it closed while the first attempts fail
    let probe = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let mut cfg = fast(AlertConfig::default());
    cfg.retries = 10;
    cfg.backoff_ms = 50;
    cfg.syslog.push(SyslogConfig::new(
        &addr.to_string(),
        Transport::Tcp,
        SyslogFormat::Cef,
    ));
    let alerter = Alerter::start(&cfg).unwrap();
    assert!(alerter.send(alert(Severity::High, "down then up")));
    // wait until at least one attempt has failed, then come up
    let deadline = tokio::time::Instant::now() + WAIT;
    while alerter.stats()[0].retried == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no failed attempt seen"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let listener = TcpListener::bind(addr).await.unwrap();
    let (mut rx, task) = syslog_tcp_listener(listener).await;
    let line = recv(&mut rx, "syslog after coming up").await;
    assert!(
        line.contains("CEF:0|Palisade|Palisade|") && line.contains("down then up"),
        "{line}"
    );
    until_stats(&alerter, |s| s.sent == 1).await;
    let st = &alerter.stats()[0];
    assert!(st.retried >= 1 && st.failed == 0, "{st:?}");
    alerter.shutdown(Duration::from_secs(1)).await;
    task.abort();
}

#[tokio::test]
async fn a_full_queue_sheds_and_counts_without_blocking() {
    // a receiver that accepts connections and never answers
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let mut cfg = fast(AlertConfig::default());
    cfg.queue_size = 2;
    cfg.retries = 0;
    cfg.timeout_ms = 30_000;
    cfg.webhooks.push(WebhookConfig::new(
        &format!("http://{addr}/h"),
        WebhookFormat::Slack,
    ));
    let alerter = Alerter::start(&cfg).unwrap();
    let accepted = (0..10)
        .filter(|i| alerter.send(alert(Severity::High, &format!("a{i}"))))
        .count();
    // at most the queue plus the one being delivered
    assert!(accepted <= 3, "accepted {accepted}");
    let st = &alerter.stats()[0];
    assert_eq!(st.shed as usize, 10 - accepted, "{st:?}");
    assert_eq!(st.queued as usize, accepted);
    alerter.shutdown(Duration::from_millis(50)).await;
    hold.abort();
}

#[tokio::test]
async fn routing_by_severity() {
    let (waddr, mut wrx, wtask) = webhook_receiver(0).await;
    let (laddr, mut lrx, ltask) = webhook_receiver(0).await;
    let mut cfg = fast(AlertConfig::default());
    let mut high = WebhookConfig::new(&format!("http://{waddr}/pager"), WebhookFormat::Json);
    high.min_severity = Severity::High;
    cfg.webhooks.push(high);
    cfg.webhooks.push(WebhookConfig::new(
        &format!("http://{laddr}/all"),
        WebhookFormat::Json,
    ));
    let alerter = Alerter::start(&cfg).unwrap();
    assert!(alerter.send(alert(Severity::Medium, "medium one")));
    assert!(alerter.send(alert(Severity::Critical, "critical one")));
    let (_, b) = recv(&mut wrx, "pager").await;
    assert!(String::from_utf8_lossy(&b).contains("critical one"));
    let (_, b1) = recv(&mut lrx, "all 1").await;
    let (_, b2) = recv(&mut lrx, "all 2").await;
    assert!(String::from_utf8_lossy(&b1).contains("medium one"));
    assert!(String::from_utf8_lossy(&b2).contains("critical one"));
    let st = alerter.stats();
    assert_eq!((st[0].queued, st[1].queued), (1, 2));
    alerter.shutdown(Duration::from_secs(1)).await;
    wtask.abort();
    ltask.abort();
}

#[tokio::test]
async fn tls_syslog_with_a_private_ca() {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, key.cert.pem()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![key.cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.signing_key.serialize_der().into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            if let Ok(tls) = acceptor.accept(s).await {
                syslog_tcp_reader(tls, tx.clone());
            }
        }
    });
    let mut cfg = fast(AlertConfig::default());
    let mut s = SyslogConfig::new(&addr.to_string(), Transport::Tls, SyslogFormat::Cef);
    s.ca_file = Some(ca);
    s.server_name = Some("localhost".into());
    cfg.syslog.push(s);
    let alerter = Alerter::start(&cfg).unwrap();
    assert!(alerter.send(alert(Severity::High, "over tls")));
    let line = recv(&mut rx, "tls syslog").await;
    assert!(
        line.starts_with("<83>1 ") && line.contains("over tls"),
        "{line}"
    );
    alerter.shutdown(Duration::from_secs(1)).await;
    task.abort();
}

#[tokio::test]
async fn test_send_reports_each_destination() {
    let (waddr, mut wrx, wtask) = webhook_receiver(0).await;
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let caddr = closed.local_addr().unwrap();
    drop(closed);
    let mut cfg = fast(AlertConfig::default());
    cfg.webhooks.push(WebhookConfig::new(
        &format!("http://{waddr}/ok"),
        WebhookFormat::Slack,
    ));
    cfg.syslog.push(SyslogConfig::new(
        &caddr.to_string(),
        Transport::Tcp,
        SyslogFormat::Cef,
    ));
    let results = test_send(&cfg, 1_700_000_000_000).await.unwrap();
    assert_eq!(results.len(), 2);
    assert!(results[0].ok, "{results:?}");
    assert!(
        !results[1].ok
            && results[1]
                .error
                .as_deref()
                .is_some_and(|e| e.contains("connect")),
        "{results:?}"
    );
    let (_, body) = recv(&mut wrx, "test alert").await;
    assert!(String::from_utf8_lossy(&body).contains("Palisade test alert"));

    // a bad config is reported whole, before anything is sent
    let mut bad = AlertConfig::default();
    bad.syslog.push(SyslogConfig::new(
        "nohost",
        Transport::Tls,
        SyslogFormat::Cef,
    ));
    bad.queue_size = 0;
    let e = test_send(&bad, 0).await.unwrap_err().to_string();
    assert!(e.contains("queue_size") && e.contains("host:port"), "{e}");
    wtask.abort();
}

#[test]
fn starting_outside_a_runtime_is_an_error() {
    let e = Alerter::start(&AlertConfig::default()).unwrap_err();
    assert!(e.to_string().contains("tokio runtime"), "{e}");
}
