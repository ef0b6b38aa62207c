//! Committed messages to whoever hears them.
//!
//! The store's writer reports each committed batch, in `seq` order; a task
//! on the runtime hands it to the hub (waking sessions from a runtime thread
//! queues them locally, not through the runtime's shared queue). New
//! messages go to their room's audience, consecutive ones of one room as one
//! shared run; duplicates and failures go back to their sender only.

use std::sync::Arc;

use crate::audience::Audience;
use crate::hub::{Hub, MessageRun, Outbound};
use crate::protocol::{ErrorCode, Frame, Refusal, ServerFrame, encode};
use crate::rooms::Rooms;
use crate::store::{Committed, Outcome};

/// Delivers every batch from `committed` until the store stops.
pub async fn run(hub: Hub, rooms: Rooms, mut committed: Committed) {
    while let Some(outcomes) = committed.recv().await {
        deliver(&hub, &rooms, outcomes);
    }
}

fn deliver(hub: &Hub, rooms: &Rooms, outcomes: Vec<Outcome>) {
    let mut run: Vec<(u64, Frame)> = Vec::new();
    let mut run_room = String::new();
    for outcome in outcomes {
        match outcome {
            Outcome::Stored(stored) => {
                if stored.message.room != run_room {
                    send_run(hub, rooms, &run_room, std::mem::take(&mut run));
                    run_room.clone_from(&stored.message.room);
                }
                run.push((stored.seq(), stored.frame.clone()));
            }
            // What came before goes first, so every connection hears the
            // batch in order.
            Outcome::Duplicate { conn, stored } => {
                send_run(hub, rooms, &run_room, std::mem::take(&mut run));
                let item = Outbound::Event(stored.frame.clone());
                hub.send(&Audience::Connection(conn), item);
            }
            Outcome::Failed { conn, cid, reason } => {
                send_run(hub, rooms, &run_room, std::mem::take(&mut run));
                let refusal = Refusal::new(ErrorCode::Unavailable, reason).with_cid(cid);
                let frame = Frame::from(encode(&ServerFrame::error(&refusal)));
                hub.send(&Audience::Connection(conn), Outbound::Event(frame));
            }
        }
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
