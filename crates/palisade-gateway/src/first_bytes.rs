//! [`FirstBytes`]: a deadline on the first bytes of a connection.
//!
//! hyper-util's auto builder reads the start of a connection to tell an
//! HTTP/2 preface from an HTTP/1.1 request before either protocol's own
//! timers run, and it would wait for those bytes forever: a client that
//! connects and sends nothing (or trickles `PRI * HTTP/2.0...` a byte at a
//! time) would hold a connection without limit. This wrapper fails the read
//! with `TimedOut` if the protocol is not decided within `header_timeout`.
//! Once it is (the 24-byte HTTP/2 preface arrived, or a byte that cannot
//! start it), reads pass straight through and hyper's own limits apply
//! (`header_read_timeout` for HTTP/1.1, keep-alive pings for HTTP/2).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// See the module documentation.
pub struct FirstBytes<I> {
    inner: I,
    deadline: Option<Pin<Box<Sleep>>>,
    matched: usize,
}

impl<I> FirstBytes<I> {
    pub fn new(inner: I, within: Duration) -> Self {
        Self {
            inner,
            deadline: Some(Box::pin(tokio::time::sleep(within))),
            matched: 0,
        }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &I {
        &self.inner
    }

    /// Notes bytes read; the deadline ends once the protocol is decided.
    fn saw(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.matched < H2_PREFACE.len() && b == H2_PREFACE[self.matched] {
                self.matched += 1;
            } else {
                self.deadline = None;
                return;
            }
        }
        if self.matched >= H2_PREFACE.len() {
            self.deadline = None;
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for FirstBytes<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if this.deadline.is_some() {
                    let new = buf.filled()[before..].to_vec();
                    this.saw(&new);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                let expired = match this.deadline.as_mut() {
                    Some(d) => d.as_mut().poll(cx).is_ready(),
                    None => false,
                };
                if expired {
                    Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "no request arrived within header_timeout",
                    )))
                } else {
                    Poll::Pending
                }
            }
        }
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for FirstBytes<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn silence_times_out_and_a_request_passes() {
        let (client, server) = tokio::io::duplex(64);
        let mut s = FirstBytes::new(server, Duration::from_secs(1));
        let mut buf = [0u8; 8];
        let err = s.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        drop(client);

        let (mut client, server) = tokio::io::duplex(64);
        let mut s = FirstBytes::new(server, Duration::from_secs(1));
        client.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        let n = s.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"GET / HT");
        // decided: later silence is hyper's business, not ours
        tokio::time::sleep(Duration::from_secs(5)).await;
        client.write_all(b"x").await.unwrap();
        assert!(s.read(&mut buf).await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickled_preface_times_out() {
        let (mut client, server) = tokio::io::duplex(64);
        let mut s = FirstBytes::new(server, Duration::from_secs(1));
        client.write_all(b"PRI * HT").await.unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(s.read(&mut buf).await.unwrap(), 8);
        let err = s.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }
}
