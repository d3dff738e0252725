//! Delivery of one formatted alert to one destination: HTTP(S) POST for
//! webhooks; UDP datagrams, TCP or TLS streams for syslog.
//!
//! Webhooks open one HTTP/1.1 connection per alert (alerts are rare; this
//! keeps no idle connections and no pool to go stale), over plain TCP or
//! tokio-rustls. Syslog streams stay connected and reconnect after a
//! failure. Every attempt is bounded by the configured timeout. Nothing here
//! retries: the alerter does.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio_rustls::TlsConnector;

use crate::alert::Alert;
use crate::config::{
    SyslogConfig, SyslogFormat, Transport, WebhookConfig, WebhookFormat, redact_url,
};
use crate::error::AlertError;
use crate::format::{self, SyslogHeader};

/// Largest UDP payload sent; longer messages are cut (RFC 5426 receivers
/// must take 480 bytes and should take 2048; most take 8 KiB or more).
const UDP_MAX: usize = 8192;

const SYSTEM_BUNDLES: [&str; 4] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
    "/etc/ssl/ca-bundle.pem",
];

/// A TLS client config trusting `ca_file`, or the system bundle.
pub(crate) fn tls_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    let path = match ca_file {
        Some(p) => p.to_path_buf(),
        None => SYSTEM_BUNDLES
            .iter()
            .map(Path::new)
            .find(|p| p.exists())
            .map(Path::to_path_buf)
            .ok_or("no system CA bundle found (hint: set ca_file)")?,
    };
    let certs = CertificateDer::pem_file_iter(&path).map_err(|e| {
        format!(
            "{}: {e} (hint: a PEM file of CA certificates)",
            path.display()
        )
    })?;
    for c in certs {
        let c = c.map_err(|e| format!("{}: {e}", path.display()))?;
        // a bundle may hold certificates rustls cannot use: skip those
        let _ = roots.add(c);
    }
    if roots.is_empty() {
        return Err(format!("{}: no usable CA certificate", path.display()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

async fn resolve(addr: &str) -> Result<SocketAddr, String> {
    tokio::net::lookup_host(addr)
        .await
        .map_err(|e| format!("resolve {addr}: {e}"))?
        .next()
        .ok_or_else(|| format!("resolve {addr}: no address"))
}

fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(h.to_string()).map_err(|e| format!("TLS server name `{h}`: {e}"))
}

async fn connect(
    addr: &str,
    tls: Option<(&Arc<rustls::ClientConfig>, &str)>,
) -> Result<Box<dyn Io>, String> {
    let sa = resolve(addr).await?;
    let tcp = TcpStream::connect(sa)
        .await
        .map_err(|e| format!("connect {sa}: {e}"))?;
    let _ = tcp.set_nodelay(true);
    match tls {
        None => Ok(Box::new(tcp)),
        Some((cfg, name)) => {
            let s = TlsConnector::from(cfg.clone())
                .connect(server_name(name)?, tcp)
                .await
                .map_err(|e| format!("TLS with {sa}: {e}"))?;
            Ok(Box::new(s))
        }
    }
}

/// One destination and its connection state.
pub(crate) enum Destination {
    Webhook {
        cfg: WebhookConfig,
        uri: http::Uri,
        tls: Option<Arc<rustls::ClientConfig>>,
    },
    Syslog {
        cfg: SyslogConfig,
        header: SyslogHeader,
        tls: Option<Arc<rustls::ClientConfig>>,
        stream: Option<Box<dyn Io>>,
        udp: Option<UdpSocket>,
    },
}

pub(crate) fn local_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

impl Destination {
    pub(crate) fn webhook(cfg: &WebhookConfig) -> Result<Destination, AlertError> {
        let uri: http::Uri = cfg
            .url
            .parse()
            .map_err(|_| AlertError::Config(vec!["webhook url: not a URL".into()]))?;
        let tls = if uri.scheme_str() == Some("https") {
            Some(tls_config(cfg.ca_file.as_deref()).map_err(|e| {
                AlertError::Config(vec![format!("webhook {}: {e}", redact_url(&cfg.url))])
            })?)
        } else {
            None
        };
        Ok(Destination::Webhook {
            cfg: cfg.clone(),
            uri,
            tls,
        })
    }

    pub(crate) fn syslog(cfg: &SyslogConfig) -> Result<Destination, AlertError> {
        let tls =
            if cfg.transport == Transport::Tls {
                Some(tls_config(cfg.ca_file.as_deref()).map_err(|e| {
                    AlertError::Config(vec![format!("syslog {}: {e}", cfg.address)])
                })?)
            } else {
                None
            };
        Ok(Destination::Syslog {
            header: SyslogHeader {
                facility: cfg.facility,
                hostname: cfg.hostname.clone().unwrap_or_else(local_hostname),
                app_name: cfg.app_name.clone(),
            },
            cfg: cfg.clone(),
            tls,
            stream: None,
            udp: None,
        })
    }

    /// A name safe to log and show (a webhook's path is often its secret).
    pub(crate) fn name(&self) -> String {
        match self {
            Destination::Webhook { cfg, .. } => format!("webhook {}", redact_url(&cfg.url)),
            Destination::Syslog { cfg, .. } => format!(
                "syslog {}://{}",
                match cfg.transport {
                    Transport::Udp => "udp",
                    Transport::Tcp => "tcp",
                    Transport::Tls => "tls",
                },
                cfg.address
            ),
        }
    }

    pub(crate) fn min_severity(&self) -> palisade_core::Severity {
        match self {
            Destination::Webhook { cfg, .. } => cfg.min_severity,
            Destination::Syslog { cfg, .. } => cfg.min_severity,
        }
    }

    /// One attempt, bounded by `timeout`.
    pub(crate) async fn deliver(&mut self, a: &Alert, timeout: Duration) -> Result<(), String> {
        match tokio::time::timeout(timeout, self.deliver_inner(a)).await {
            Ok(r) => r,
            Err(_) => {
                if let Destination::Syslog { stream, .. } = self {
                    *stream = None;
                }
                Err(format!("timed out after {} ms", timeout.as_millis()))
            }
        }
    }

    async fn deliver_inner(&mut self, a: &Alert) -> Result<(), String> {
        match self {
            Destination::Webhook { cfg, uri, tls } => {
                let body = match cfg.format {
                    WebhookFormat::Slack => format::slack(a),
                    WebhookFormat::Json => format::json(a),
                };
                let body = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
                post(uri, tls.as_ref(), &cfg.headers, body).await
            }
            Destination::Syslog {
                cfg,
                header,
                tls,
                stream,
                udp,
            } => {
                let payload = match cfg.format {
                    SyslogFormat::Cef => format::cef(a),
                    SyslogFormat::Json | SyslogFormat::JsonLines => format::json(a).to_string(),
                };
                let msg = match cfg.format {
                    SyslogFormat::JsonLines => payload,
                    _ => format::rfc5424(header, a, &payload),
                };
                match cfg.transport {
                    Transport::Udp => {
                        let dest = resolve(&cfg.address).await?;
                        if udp.is_none() {
                            let bind: SocketAddr = if dest.is_ipv4() {
                                ([0, 0, 0, 0], 0).into()
                            } else {
                                ([0u16; 8], 0).into()
                            };
                            *udp = Some(
                                UdpSocket::bind(bind)
                                    .await
                                    .map_err(|e| format!("udp bind: {e}"))?,
                            );
                        }
                        let sock = udp.as_ref().ok_or("udp socket")?;
                        let data = format::truncate_bytes(&msg, UDP_MAX);
                        sock.send_to(data.as_bytes(), dest)
                            .await
                            .map_err(|e| format!("udp send to {dest}: {e}"))?;
                        Ok(())
                    }
                    Transport::Tcp | Transport::Tls => {
                        let frame = match cfg.format {
                            SyslogFormat::JsonLines => format!("{msg}\n").into_bytes(),
                            _ => format::octet_frame(&msg),
                        };
                        if stream.is_none() {
                            let host = cfg
                                .address
                                .rsplit_once(':')
                                .map(|(h, _)| h)
                                .unwrap_or(&cfg.address)
                                .to_string();
                            let name = cfg.server_name.clone().unwrap_or(host);
                            *stream = Some(
                                connect(&cfg.address, tls.as_ref().map(|t| (t, name.as_str())))
                                    .await?,
                            );
                        }
                        let s = stream.as_mut().ok_or("stream")?;
                        let r = async {
                            s.write_all(&frame).await?;
                            s.flush().await
                        }
                        .await;
                        if let Err(e) = r {
                            *stream = None;
                            return Err(format!("write to {}: {e}", cfg.address));
                        }
                        Ok(())
                    }
                }
            }
        }
    }
}

/// POSTs `body` as JSON; a 2xx answer is success.
async fn post(
    uri: &http::Uri,
    tls: Option<&Arc<rustls::ClientConfig>>,
    headers: &std::collections::BTreeMap<String, String>,
    body: Vec<u8>,
) -> Result<(), String> {
    let host = uri.host().ok_or("url has no host")?;
    let https = uri.scheme_str() == Some("https");
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let addr = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let io = connect(&addr, tls.map(|t| (t, host))).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    let conn = tokio::spawn(async move {
        let _ = conn.await;
    });
    let authority = uri
        .authority()
        .map(|a| a.as_str().to_string())
        .unwrap_or_else(|| host.to_string());
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let mut req = http::Request::post(path);
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let req = req
        .header(http::header::HOST, authority)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(
            http::header::USER_AGENT,
            concat!("palisade/", env!("CARGO_PKG_VERSION")),
        )
        .header(http::header::CONTENT_LENGTH, body.len())
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| format!("HTTP request: {e}"));
    let result = match resp {
        Ok(resp) => {
            let status = resp.status();
            // read (and bound) the answer so the connection ends cleanly
            let _ = http_body_util::Limited::new(resp.into_body(), 64 * 1024)
                .collect()
                .await;
            if status.is_success() {
                Ok(())
            } else {
                Err(format!("HTTP {status}"))
            }
        }
        Err(e) => Err(e),
    };
    conn.abort();
    result
}
