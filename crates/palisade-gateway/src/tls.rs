//! TLS termination with rustls, and the peek at the ClientHello that lets the
//! gateway fingerprint the client (JA4) before rustls consumes the bytes.

use std::io::BufReader;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use crate::config::TlsConfig;
use crate::error::GatewayError;

/// Builds an acceptor from PEM files, advertising h2 and http/1.1.
pub fn acceptor(cfg: &TlsConfig) -> Result<TlsAcceptor, GatewayError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cfg.cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            GatewayError::config(format!("gateway.tls.cert `{}`: {e}", cfg.cert.display()))
        })?;
    if certs.is_empty() {
        return Err(GatewayError::config(format!(
            "gateway.tls.cert `{}` holds no certificate (fix: give a PEM file with a CERTIFICATE block)",
            cfg.cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(&cfg.key).map_err(|e| {
        GatewayError::config(format!(
            "gateway.tls.key `{}`: {e} (fix: give a PEM file with a PRIVATE KEY block)",
            cfg.key.display()
        ))
    })?;
    acceptor_from(certs, key)
}

/// Builds an acceptor from PEM text (for tests and embedded certificates).
pub fn acceptor_from_pem(cert_pem: &str, key_pem: &str) -> Result<TlsAcceptor, GatewayError> {
    let certs = CertificateDer::pem_reader_iter(BufReader::new(cert_pem.as_bytes()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| GatewayError::config(format!("certificate: {e}")))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| GatewayError::config(format!("private key: {e}")))?;
    acceptor_from(certs, key)
}

fn acceptor_from(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<TlsAcceptor, GatewayError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| GatewayError::config(format!("tls: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| GatewayError::config(format!("tls certificate and key do not match: {e}")))?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(cfg)))
}

/// Reads (without consuming) the first TLS record, which carries the
/// ClientHello, waiting at most `wait` for it to arrive whole. Returns what
/// arrived; an empty vector when nothing did.
pub async fn peek_client_hello(stream: &TcpStream, wait: Duration) -> Vec<u8> {
    let mut buf = vec![0u8; 5 + 16 * 1024];
    let deadline = tokio::time::Instant::now() + wait;
    let mut last = 0;
    loop {
        let n = match tokio::time::timeout_at(deadline, stream.peek(&mut buf)).await {
            Ok(Ok(n)) => n,
            _ => break,
        };
        last = n;
        if n == 0 {
            break;
        }
        if n >= 5 {
            let want = 5 + u16::from_be_bytes([buf[3], buf[4]]) as usize;
            if buf[0] != 0x16 || n >= want {
                break;
            }
        }
        if tokio::time::Instant::now() >= deadline {
            break;
        }
        // More bytes are on their way; let them arrive.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    buf.truncate(last);
    buf
}
