//! Writing to a session's socket, and closing it without losing the close
//! frame.
//!
//! Text frames are written past tungstenite (see [`crate::wire`]): all that
//! is queued, in one vectored write. Control frames (ping, pong, close) go
//! through tungstenite.

use std::future::poll_fn;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use futures_util::SinkExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::{End, Session, Stop};
use crate::hub::Outbound;
use crate::metrics;
use crate::protocol::{Frame, LOBBY};
use crate::upgrade::Socket;
use crate::wire;

/// Most frames written at once.
const MAX_FRAMES_PER_FLUSH: usize = 256;
/// How long a closing connection may take to finish its last frame and
/// send its close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// How long, after our close frame, we read what the client still sends
/// while waiting for it to close its side (see [`close`]).
const CLOSE_DRAIN: Duration = Duration::from_secs(2);

impl Session {
    /// Writes `first` and whatever else is queued, in one vectored write.
    pub(super) async fn write_queued(
        &mut self,
        first: Outbound,
        outbound: &mut UnboundedReceiver<Outbound>,
        stop: Pin<&mut impl Future<Output = Stop>>,
    ) -> Result<(), End> {
        let write_timeout = self.context.settings.write_timeout;
        let mut items = Vec::new();
        let mut count = 0;
        let mut closing = None;
        let mut next = Some(first);
        while let Some(item) = next.take() {
            let size = item.size();
            self.backlog.taken(size);
            count += size.1;
            match &item {
                Outbound::Renamed { to } => self.username = Arc::from(to.as_str()),
                Outbound::Close(reason) => closing = Some(**reason),
                _ => {}
            }
            items.push(item);
            if count < MAX_FRAMES_PER_FLUSH && closing.is_none() {
                next = outbound.try_recv().ok();
            }
        }
        // What came before a close goes out, then the close.
        let closed = |written: Result<(), End>| match (written, closing) {
            (Ok(()), Some(reason)) => Err(End::Close(CloseCode::Policy, reason)),
            (written, _) => written,
        };
        let mut frames: Vec<&Frame> = Vec::with_capacity(count);
        for item in &items {
            match item {
                Outbound::Messages(run) => {
                    // The welcome replayed the lobby up to here.
                    let replayed = if run.room == LOBBY {
                        self.replayed_upto
                    } else {
                        0
                    };
                    frames.extend(
                        run.messages
                            .iter()
                            .filter(|(seq, _)| *seq > replayed)
                            .map(|(_, frame)| frame),
                    )
                }
                Outbound::Event(frame) => frames.push(&**frame),
                Outbound::Renamed { .. } | Outbound::Close(_) => {}
            }
        }
        if frames.is_empty() {
            return closed(Ok(()));
        }
        let events = items
            .iter()
            .filter(|item| matches!(item, Outbound::Event(_)));
        let deliveries = (frames.len() - events.count()) as u64;
        let id = self.id;
        let stopped = {
            let mut writing = pin!(self.write_frames(&frames));
            // A client that stops reading stalls this write; the backlog
            // limit, the write timeout and shutdown each end the wait.
            let stopped = tokio::select! {
                result = within(write_timeout, writing.as_mut()) => return match result {
                    Some(Ok(())) => {
                        metrics::get().deliveries.inc_by(deliveries);
                        closed(Ok(()))
                    }
                    Some(Err(_)) => Err(End::Gone),
                    None => {
                        metrics::get().write_stalls.inc();
                        log::info!("conn {id}: write stalled for {write_timeout:?}; closing");
                        Err(End::Gone)
                    }
                },
                stopped = stop => stopped,
            };
            // A client still reading gets the rest of the frame, so the
            // close frame that follows starts on a frame boundary.
            let _ = timeout(CLOSE_GRACE, writing).await;
            stopped
        };
        Err(self.stopped(stopped))
    }

    /// Writes one frame now, ahead of anything queued.
    pub(super) async fn write_now(&mut self, text: String) -> Result<(), End> {
        let frame = Frame::from(text);
        match within(
            self.context.settings.write_timeout,
            self.write_frames(&[&frame]),
        )
        .await
        {
            Some(Ok(())) => Ok(()),
            _ => Err(End::Gone),
        }
    }

    /// Writes text frames past tungstenite. Until it finishes, the stream
    /// may end inside a frame: `torn` stays set, and no close frame is sent
    /// after it.
    async fn write_frames(&mut self, frames: &[&Frame]) -> std::io::Result<()> {
        self.torn = true;
        // Whatever tungstenite holds (an automatic pong) goes out whole first.
        self.socket.flush().await.map_err(std::io::Error::other)?;
        wire::write_text_frames(self.socket.get_mut(), frames).await?;
        self.torn = false;
        Ok(())
    }

    /// Writes a control frame through tungstenite.
    pub(super) async fn write(&mut self, message: Message) -> Result<(), End> {
        match within(
            self.context.settings.write_timeout,
            self.socket.send(message),
        )
        .await
        {
            Some(Ok(())) => Ok(()),
            _ => Err(End::Gone),
        }
    }
}

/// Runs `work` for at most `limit`; `None` if it took longer. Most writes
/// finish at their first poll, so the timer is set only for those that wait.
async fn within<F: Future>(limit: Duration, work: F) -> Option<F::Output> {
    let mut work = pin!(work);
    match poll_fn(|cx| Poll::Ready(work.as_mut().poll(cx))).await {
        Poll::Ready(done) => Some(done),
        Poll::Pending => timeout(limit, work).await.ok(),
    }
}

/// Sends `frame`, then closes with `code`.
pub(super) async fn send_and_close(
    mut socket: Socket,
    frame: String,
    code: CloseCode,
    reason: &'static str,
) {
    let _ = timeout(CLOSE_GRACE, socket.send(Message::text(frame))).await;
    close(&mut socket, code, reason).await;
}

/// Sends a close frame, then ends the connection without a reset.
///
/// A client may still be sending when we close (a flood, an oversized
/// frame). Dropping a socket with unread input makes the kernel answer with
/// a TCP reset, and a reset makes the client's kernel throw away what it has
/// not read yet: our last `error` frames and the close frame with them. So
/// after the close frame we half-close (FIN) and read and discard whatever
/// still comes until the client closes its side too, or [`CLOSE_DRAIN`]
/// passes. A client that does not read at all gets [`CLOSE_GRACE`] to take
/// the close frame and is then cut off.
pub(super) async fn close(socket: &mut Socket, code: CloseCode, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    if !matches!(
        timeout(CLOSE_GRACE, socket.close(Some(frame))).await,
        Ok(Ok(()))
    ) {
        return;
    }
    let io = socket.get_mut();
    if timeout(CLOSE_GRACE, io.shutdown()).await.is_err() {
        return;
    }
    let _ = timeout(CLOSE_DRAIN, discard_until_eof(io)).await;
}

/// Reads and drops bytes until the peer closes its side.
async fn discard_until_eof(io: &mut (impl AsyncRead + Unpin)) {
    // On the heap, only while closing: an array here would be part of every
    // session's future, idle or not (4 KiB of each connection's memory).
    let mut sink = vec![0u8; 4096];
    while let Ok(1..) = io.read(&mut sink).await {}
}
