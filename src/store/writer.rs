//! The writer thread: it drains whatever has queued since its last commit,
//! stores it in one transaction, and only then hands the outcomes on, in
//! `seq` order. So a message is broadcast only once it is durable, and a
//! burst of senders costs one commit, not many.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use tokio::sync::oneshot;

use super::backend::Backend;
use super::log::{Entry, Outcome};
use super::records::{Change, Cutoff, Expired, Found, Page, Relay, SearchError, SearchRequest};
use super::tail::Tail;
use crate::metrics;
use crate::sync::lock;

/// Most appends, and most bytes of text, committed in one transaction. A
/// batch reaches every client at once, so it must stay well inside a
/// client's backlog limit (about 1000 frames or 1 MiB by default), or a
/// healthy client that is one batch behind would be cut off.
const MAX_BATCH: usize = 256;
const MAX_BATCH_BYTES: usize = 256 * 1024;

/// What the rest of the server asks of the writer.
pub enum Request {
    Append(Entry),
    /// An entry with a cid the asker waits for: where it was logged, or
    /// where its user logged the same cid before; `None` if it was refused
    /// or failed.
    AppendAwaited {
        entry: Entry,
        reply: oneshot::Sender<Option<Logged>>,
    },
    /// Changes applied in one transaction; `committed` hears whether they
    /// are on disk.
    Changes {
        changes: Vec<Change>,
        committed: Option<oneshot::Sender<bool>>,
    },
    Page {
        room: String,
        before: u64,
        limit: usize,
        reply: oneshot::Sender<anyhow::Result<Page>>,
    },
    PageAfter {
        room: String,
        after: u64,
        limit: usize,
        reply: oneshot::Sender<anyhow::Result<Page>>,
    },
    FirstAt {
        room: String,
        at: i64,
        reply: oneshot::Sender<anyhow::Result<Option<u64>>>,
    },
    ChangedSince {
        room: String,
        since: u64,
        limit: usize,
        reply: oneshot::Sender<anyhow::Result<Page>>,
    },
    UnsharedFiles {
        created_before: i64,
        reply: oneshot::Sender<anyhow::Result<Vec<String>>>,
    },
    HostState(oneshot::Sender<anyhow::Result<Vec<(String, String)>>>),
    /// A room's retention: delete what is past `cutoff`.
    Expire {
        room: String,
        cutoff: Cutoff,
        reply: oneshot::Sender<anyhow::Result<Option<Expired>>>,
    },
    /// Answered once everything queued before it is committed.
    Barrier(oneshot::Sender<bool>),
    /// Another instance logged entries in this room: report them.
    CatchUp(String),
    /// A frame for other instances' connections, after the changes queued
    /// before it.
    Relay(Relay),
    /// Only when the backend has no searcher of its own.
    Search {
        request: SearchRequest,
        reply: oneshot::Sender<Result<Found, SearchError>>,
    },
    /// Commit what is queued and stop.
    Close,
}

/// Owns the backend; runs on its own thread. It holds only what it writes
/// to: the backend, the tail it updates, and where outcomes go.
pub struct Writer {
    pub backend: Box<dyn Backend>,
    pub tail: Arc<Mutex<Tail>>,
    /// Marks each change done once applied.
    pub pending: Arc<super::pending::Pending>,
    /// Receives each batch's outcomes; must not block.
    pub committed: Box<dyn Fn(Vec<Outcome>) + Send>,
}

/// Where an awaited entry is in its room's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub seq: u64,
    /// The message's id.
    pub id: String,
    /// Its user had stored the same cid before: this is that message.
    pub duplicate: bool,
}

/// What each of those waiting for entries of this batch hears: where it
/// was logged (or its duplicate was), or `None` (refused, failed).
/// Answered once the batch is reported.
fn answers(
    outcomes: &[Outcome],
    awaited: Vec<(String, String, oneshot::Sender<Option<Logged>>)>,
) -> Vec<(oneshot::Sender<Option<Logged>>, Option<Logged>)> {
    awaited
        .into_iter()
        .map(|(room, cid, reply)| {
            let logged = outcomes.iter().find_map(|outcome| match outcome {
                Outcome::Logged {
                    room: r,
                    seq,
                    state,
                    ..
                } if *r == room
                    && state.seq() == *seq
                    && state.message.cid.as_deref() == Some(&cid) =>
                {
                    Some(Logged {
                        seq: *seq,
                        id: state.message.id.clone(),
                        duplicate: false,
                    })
                }
                Outcome::Duplicate { frame, .. } => {
                    let earlier: crate::protocol::ChatMessage = serde_json::from_str(frame).ok()?;
                    (earlier.room == room && earlier.cid.as_deref() == Some(&cid)).then_some(
                        Logged {
                            seq: earlier.seq,
                            id: earlier.id,
                            duplicate: true,
                        },
                    )
                }
                _ => None,
            });
            (reply, logged)
        })
        .collect()
}

impl Writer {
    pub fn run(mut self, requests: mpsc::Receiver<Request>) {
        let mut appends = Vec::new();
        let mut changes = Vec::new();
        let mut waiting: Vec<oneshot::Sender<bool>> = Vec::new();
        let mut catch_ups = std::collections::BTreeSet::new();
        let mut relays = Vec::new();
        let mut awaited: Vec<(String, String, oneshot::Sender<Option<Logged>>)> = Vec::new();
        let mut batch_bytes = 0;
        let mut closing = false;
        // Whether the backend may have upkeep to do once nothing is queued.
        let mut untidy = true;
        while !closing {
            let first = if untidy {
                match requests.try_recv() {
                    Ok(request) => request,
                    Err(mpsc::TryRecvError::Empty) => {
                        untidy = self.tidy();
                        continue;
                    }
                    Err(mpsc::TryRecvError::Disconnected) => break,
                }
            } else {
                let Ok(request) = requests.recv() else { break };
                request
            };
            let mut next = Some(first);
            while let Some(request) = next {
                match request {
                    Request::Append(entry) => {
                        batch_bytes += entry.text_len();
                        appends.push(entry);
                    }
                    Request::AppendAwaited { entry, reply } => {
                        let sender = entry.sender();
                        if let Some(cid) = &sender.cid {
                            awaited.push((sender.room.clone(), cid.clone(), reply));
                        }
                        batch_bytes += entry.text_len();
                        appends.push(entry);
                    }
                    Request::Changes {
                        changes: more,
                        committed,
                    } => {
                        changes.extend(more);
                        waiting.extend(committed);
                    }
                    Request::Page {
                        room,
                        before,
                        limit,
                        reply,
                    } => {
                        let page = self
                            .backend
                            .page(&room, before, limit)
                            .context("cannot read history");
                        let _ = reply.send(page);
                    }
                    Request::PageAfter {
                        room,
                        after,
                        limit,
                        reply,
                    } => {
                        let _ = reply.send(self.backend.page_after(&room, after, limit));
                    }
                    Request::FirstAt { room, at, reply } => {
                        let _ = reply.send(self.backend.first_at(&room, at));
                    }
                    Request::ChangedSince {
                        room,
                        since,
                        limit,
                        reply,
                    } => {
                        let page = self
                            .backend
                            .changed_since(&room, since, limit)
                            .context("cannot read history");
                        let _ = reply.send(page);
                    }
                    Request::UnsharedFiles {
                        created_before,
                        reply,
                    } => {
                        let _ = reply.send(self.backend.unshared_files(created_before));
                    }
                    Request::HostState(reply) => {
                        let _ = reply.send(self.backend.host_state());
                    }
                    Request::Expire {
                        room,
                        cutoff,
                        reply,
                    } => {
                        let _ = reply.send(self.expire(&room, cutoff));
                    }
                    Request::Search { request, reply } => {
                        let _ = reply.send(self.backend.search(&request));
                    }
                    Request::Barrier(done) => waiting.push(done),
                    Request::CatchUp(room) => {
                        catch_ups.insert(room);
                    }
                    Request::Relay(relay) => relays.push(relay),
                    Request::Close => closing = true,
                }
                next = if appends.len() < MAX_BATCH && batch_bytes < MAX_BATCH_BYTES {
                    requests.try_recv().ok()
                } else {
                    None
                };
            }
            let applied = if changes.is_empty() {
                true
            } else {
                let batch = std::mem::take(&mut changes);
                let applied = self.backend.apply(&batch);
                for change in &batch {
                    self.pending.done(&change.subject());
                }
                if let Err(err) = &applied {
                    // A lost claim is made again from the token the client
                    // still holds; a lost room change is redone by the user;
                    // a file's uploader hears that it was not saved.
                    log::error!("cannot save names, rooms and files: {err:#}");
                }
                applied.is_ok()
            };
            for committed in waiting.drain(..) {
                let _ = committed.send(applied);
            }
            if !relays.is_empty()
                && let Err(err) = self.backend.relay(&std::mem::take(&mut relays))
            {
                log::warn!("cannot tell the other instances: {err:#}");
            }
            if !catch_ups.is_empty() {
                let rooms: Vec<String> = std::mem::take(&mut catch_ups).into_iter().collect();
                match self.backend.catch_up(&rooms) {
                    Ok(outcomes) => self.report(outcomes),
                    // The next notice, or the next batch in the room, reads
                    // them instead.
                    Err(err) => log::warn!("cannot read what other instances logged: {err:#}"),
                }
            }
            if !appends.is_empty() {
                batch_bytes = 0;
                let outcomes = self.commit(std::mem::take(&mut appends));
                let answers = answers(&outcomes, std::mem::take(&mut awaited));
                self.report(outcomes);
                for (reply, seq) in answers {
                    let _ = reply.send(seq);
                }
                untidy = true;
            }
        }
        log::debug!("store writer stopped");
    }

    /// Deletes what expired in `room`, from the backend and the tail, and
    /// scrubs the disk.
    fn expire(&mut self, room: &str, cutoff: Cutoff) -> anyhow::Result<Option<Expired>> {
        let Some(expired) = self.backend.expire(room, cutoff)? else {
            return Ok(None);
        };
        let forgotten = lock(&self.tail).forget(room, expired.through);
        if expired.messages == 0 && forgotten == 0 {
            // Cut there before, by this instance or another.
            return Ok(None);
        }
        if let Err(err) = self.backend.scrub() {
            log::warn!("cannot fold the expired text out of the write-ahead log: {err:#}");
        }
        Ok(Some(expired))
    }

    /// One step of the backend's upkeep; whether there is more.
    fn tidy(&mut self) -> bool {
        self.backend.tidy().unwrap_or_else(|err| {
            log::warn!("store upkeep failed: {err:#}");
            false
        })
    }

    /// Adds what was logged to the tail, then hands the outcomes on.
    fn report(&mut self, outcomes: Vec<Outcome>) {
        if outcomes.is_empty() {
            return;
        }
        {
            let mut tail = lock(&self.tail);
            for outcome in &outcomes {
                if let Outcome::Logged {
                    room, seq, state, ..
                } = outcome
                {
                    tail.apply(room, *seq, state.clone());
                }
            }
        }
        (self.committed)(outcomes);
    }

    fn commit(&mut self, entries: Vec<Entry>) -> Vec<Outcome> {
        let started = std::time::Instant::now();
        let appended = self.backend.append(&entries);
        metrics::get()
            .commit_seconds
            .observe(metrics::seconds_since(started));
        metrics::get()
            .commit_batch_size
            .observe(entries.len() as f64);
        let removed = entries
            .iter()
            .any(|entry| matches!(entry, Entry::Delete(delete) if delete.by_host));
        if removed
            && appended.is_ok()
            && let Err(err) = self.backend.scrub()
        {
            log::warn!("cannot fold the deleted text out of the write-ahead log: {err:#}");
        }
        log::trace!(
            "stored {} entries in {:?}",
            entries.len(),
            started.elapsed()
        );
        match appended {
            Ok(outcomes) => outcomes,
            Err(err) => {
                log::error!("cannot store {} entries: {err:#}", entries.len());
                let reason = "the server cannot save messages right now; try again".to_owned();
                entries
                    .into_iter()
                    .map(|entry| {
                        let sender = entry.sender();
                        Outcome::Failed {
                            conn: sender.conn,
                            cid: sender.cid.clone(),
                            reason: reason.clone(),
                        }
                    })
                    .collect()
            }
        }
    }
}
