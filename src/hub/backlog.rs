//! What waits in a connection's queue, and how much of it may wait.
//!
//! Each connection's queue is unbounded; the hub bounds it by counting what
//! it holds. The hub adds as it queues, the session subtracts as it takes,
//! and a connection whose backlog passes the limit gets nothing more and is
//! told to close, so a client that stops reading cannot grow our memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::Notify;

use crate::protocol::Frame;

/// Something for a session to do, in queue order. Cloning shares the
/// payload, so a broadcast is one buffer however many hear it.
///
/// Two words, each variant one thin pointer: a connection's queue sets
/// aside room for 32 items when it is made, so an item's size is part of
/// every connection's memory, idle or not (1.3 KiB each at 40 bytes an
/// item, 0.5 KiB at 16).
#[derive(Debug, Clone)]
pub enum Outbound {
    /// Chat messages of one room committed together, shared by every
    /// recipient. The session drops those its history replay already covered.
    Messages(Arc<MessageRun>),
    /// Any other frame (presence, typing, room changes, late replies).
    Event(Arc<Frame>),
    /// Another tab renamed this user; the session now speaks as `to`.
    Renamed { to: Arc<String> },
    /// The host removed this connection: it writes what came before, then
    /// closes (1008) with this reason. A reference to the `&str`, so the
    /// item stays two words.
    Close(&'static &'static str),
}

const _: () = assert!(std::mem::size_of::<Outbound>() == 16);

impl Outbound {
    /// An event frame.
    pub fn event(frame: impl Into<Frame>) -> Outbound {
        Outbound::Event(Arc::new(frame.into()))
    }

    /// What it adds to a backlog: bytes, and frames to write.
    pub fn size(&self) -> (usize, usize) {
        match self {
            Outbound::Messages(run) => (run.bytes, run.messages.len()),
            Outbound::Event(frame) => (frame.len(), 1),
            Outbound::Renamed { to } => (to.len(), 0),
            Outbound::Close(_) => (0, 0),
        }
    }
}

/// Consecutive messages of one room from one commit, as `(seq, frame)` in
/// `seq` order. One queue item per recipient for the whole run, not one per
/// message: at a few hundred connections and thousands of messages a
/// second, the queue operations and reference counts per message were a
/// tenth of the work.
#[derive(Debug)]
pub struct MessageRun {
    pub room: String,
    pub messages: Vec<(u64, Frame)>,
    bytes: usize,
}

impl MessageRun {
    pub fn new(room: String, messages: Vec<(u64, Frame)>) -> MessageRun {
        let bytes = messages.iter().map(|(_, frame)| frame.len()).sum();
        MessageRun {
            room,
            messages,
            bytes,
        }
    }
}

/// How much may wait, unsent, for one connection.
#[derive(Debug, Clone, Copy)]
pub struct BacklogLimit {
    pub bytes: usize,
    pub frames: usize,
}

/// A connection's unsent backlog, shared by the hub (which adds) and the
/// session (which subtracts as it writes).
#[derive(Debug, Default)]
pub struct Backlog {
    bytes: AtomicUsize,
    frames: AtomicUsize,
    overflowed: AtomicBool,
    /// Wakes the session when the backlog overflows, so it closes even while
    /// its writes are stuck.
    pub overflow: Notify,
}

impl Backlog {
    /// Counts `item` in; false (and the session told to close) if that
    /// passes `limit`, or the backlog overflowed already.
    pub fn admit(&self, item: &Outbound, limit: BacklogLimit) -> bool {
        if self.has_overflowed() {
            return false;
        }
        let (bytes, frames) = item.size();
        let frames = self.frames.fetch_add(frames, Ordering::Relaxed) + frames;
        let bytes = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if frames > limit.frames || bytes > limit.bytes {
            self.overflowed.store(true, Ordering::Relaxed);
            self.overflow.notify_one();
            return false;
        }
        true
    }

    /// Called by the session as it takes an item off its queue to write.
    pub fn taken(&self, (bytes, frames): (usize, usize)) {
        self.bytes.fetch_sub(bytes, Ordering::Relaxed);
        self.frames.fetch_sub(frames, Ordering::Relaxed);
    }

    pub fn has_overflowed(&self) -> bool {
        self.overflowed.load(Ordering::Relaxed)
    }

    /// Bytes and frames counted in and not yet taken.
    #[cfg(test)]
    pub fn pending(&self) -> (usize, usize) {
        (
            self.bytes.load(Ordering::Relaxed),
            self.frames.load(Ordering::Relaxed),
        )
    }
}
