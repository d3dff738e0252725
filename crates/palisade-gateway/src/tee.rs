//! [`TeeBody`]: streams the upstream's response to the client while keeping a
//! bounded sample for analysis, and hands the finished exchange to the sink
//! when the body ends (or the client goes away).
//!
//! This is the "logging" phase: it runs after the last byte, off the decision
//! path, and never holds the response back.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use http_body::{Body as HttpBody, Frame, SizeHint};
use palisade_core::{Body, Exchange, ExchangeSink};

/// Wraps a response body; see the module documentation.
pub struct TeeBody<B> {
    inner: B,
    sample: BytesMut,
    limit: usize,
    seen: u64,
    pending: Option<Box<Exchange>>,
    sink: Arc<dyn ExchangeSink>,
    start: Instant,
}

impl<B> TeeBody<B> {
    pub fn new(
        inner: B,
        limit: usize,
        ex: Exchange,
        sink: Arc<dyn ExchangeSink>,
        start: Instant,
    ) -> Self {
        Self {
            inner,
            sample: BytesMut::new(),
            limit,
            seen: 0,
            pending: Some(Box::new(ex)),
            sink,
            start,
        }
    }

    fn finish(&mut self) {
        if let Some(mut ex) = self.pending.take() {
            if let Some(resp) = ex.response.as_mut() {
                resp.body = Body {
                    data: std::mem::take(&mut self.sample).freeze(),
                    size: self.seen,
                    truncated: self.seen > self.limit as u64,
                };
            }
            ex.timings.total_us = self.start.elapsed().as_micros() as u64;
            crate::offer(&*self.sink, *ex);
        }
    }
}

impl<B> HttpBody for TeeBody<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.seen += data.len() as u64;
                    let room = this.limit.saturating_sub(this.sample.len());
                    if room > 0 {
                        this.sample.extend_from_slice(&data[..room.min(data.len())]);
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(None) => {
                this.finish();
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => {
                this.finish();
                Poll::Ready(Some(Err(e)))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> Drop for TeeBody<B> {
    fn drop(&mut self) {
        // The client went away, or the body ended without a final poll.
        self.finish();
    }
}
