//! Committed messages to whoever hears them.
//!
//! The store's writer reports each committed batch, in `seq` order; a task
//! on the runtime hands it to the hub (waking sessions from a runtime thread
//! queues them locally, not through the runtime's shared queue). Each new
//! entry of a room's log (a message, an edit, a deletion, a reaction) goes
//! to its room's audience, consecutive ones of one room as one shared run;
//! duplicates, refusals and failures go back to their sender only.

use std::sync::Arc;

use tokio::sync::Notify;

use crate::audience::Audience;
use crate::hub::{Hub, MessageRun, Outbound};
use crate::protocol::{ErrorCode, Frame, Refusal, ServerFrame, encode};
use crate::rooms::Rooms;
use crate::store::{Committed, Outcome};

/// Delivers every batch from `committed` until the store stops, waking
/// whoever waits on `logged` (bots' long polls) after each.
pub async fn run(hub: Hub, rooms: Rooms, mut committed: Committed, logged: Arc<Notify>) {
    while let Some(outcomes) = committed.recv().await {
        deliver(&hub, &rooms, outcomes);
        logged.notify_waiters();
    }
}

fn deliver(hub: &Hub, rooms: &Rooms, outcomes: Vec<Outcome>) {
    let mut run: Vec<(u64, Frame)> = Vec::new();
    let mut run_room = String::new();
    for outcome in outcomes {
        let (conn, frame) = match outcome {
            Outcome::Logged {
                room, seq, frame, ..
            } => {
                if room != run_room {
                    send_run(hub, rooms, &run_room, std::mem::take(&mut run));
                    run_room = room;
                }
                run.push((seq, frame));
                continue;
            }
            Outcome::Duplicate { conn, frame } => (conn, frame),
            Outcome::Refused { conn, refusal } => {
                (conn, Frame::from(encode(&ServerFrame::error(&refusal))))
            }
            Outcome::Failed { conn, cid, reason } => {
                let refusal = Refusal::new(ErrorCode::Unavailable, reason).with_cid(cid);
                (conn, Frame::from(encode(&ServerFrame::error(&refusal))))
            }
        };
        // What came before goes first, so every connection hears the batch
        // in order.
        send_run(hub, rooms, &run_room, std::mem::take(&mut run));
        hub.send(&Audience::Connection(conn), Outbound::event(frame));
    }
    send_run(hub, rooms, &run_room, run);
}

fn send_run(hub: &Hub, rooms: &Rooms, room: &str, messages: Vec<(u64, Frame)>) {
    if messages.is_empty() {
        return;
    }
    let run = MessageRun::new(room.to_owned(), messages);
    hub.send(&rooms.audience(room), Outbound::Messages(Arc::new(run)));
}
