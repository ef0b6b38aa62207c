//! Edits, deletions and reactions in PostgreSQL, checked against the
//! message as it is, each taking the next seq and recorded in `changes`
//! with its cid so a retry is applied once; and the log read back from a
//! seq on, for entries another instance wrote.

use std::sync::Arc;

use deadpool_postgres::GenericClient;

use super::messages::{clear, load, new_since, set_text, touch};
use super::sql::{big, exec, one, opt, rows};
use crate::protocol::Frame;
use crate::store::log::{
    DELETE, EDIT, NewDelete, NewEdit, NewReaction, Outcome, REACT, ReactionFrame, Sender, Stored,
    delete_frame, edit_frame, logged, not_the_author, outside_window, react_frame, reactor,
    refused_not_found, too_many_reactions,
};

type Result<T> = std::result::Result<T, tokio_postgres::Error>;

pub async fn edit(
    client: &impl GenericClient,
    entry: &NewEdit,
    next_seq: impl FnOnce() -> u64,
    now: i64,
) -> Result<Outcome> {
    let sender = &entry.sender;
    if let Some(duplicate) = duplicate(client, sender).await? {
        return Ok(duplicate);
    }
    let target = match authored(client, sender, entry.target, "edit").await? {
        Ok(target) => target,
        Err(refused) => return Ok(refused),
    };
    if let Some(refused) = outside_window(sender, target.message.timestamp, now, entry.window) {
        return Ok(refused);
    }
    let seq = next_seq();
    set_text(client, &sender.room, entry.target, seq, &entry.text, now).await?;
    record(client, sender, seq, EDIT, entry.target, None).await?;
    let state = load(client, &sender.room, entry.target)
        .await?
        .expect("the message was just edited");
    let frame = edit_frame(&state, seq, &sender.username, sender.cid.as_deref());
    Ok(logged(sender, seq, frame, state))
}

pub async fn delete(
    client: &impl GenericClient,
    entry: &NewDelete,
    next_seq: impl FnOnce() -> u64,
) -> Result<Outcome> {
    let sender = &entry.sender;
    if let Some(duplicate) = duplicate(client, sender).await? {
        return Ok(duplicate);
    }
    let allowed = if entry.by_host {
        live_message(client, &sender.room, entry.target)
            .await?
            .map(|_| ())
            .ok_or_else(|| refused_not_found(sender, entry.target))
    } else {
        authored(client, sender, entry.target, "delete")
            .await?
            .map(|_| ())
    };
    if let Err(refused) = allowed {
        return Ok(refused);
    }
    let seq = next_seq();
    clear(client, &sender.room, entry.target, seq, entry.by_host).await?;
    record(client, sender, seq, DELETE, entry.target, None).await?;
    let state = load(client, &sender.room, entry.target)
        .await?
        .expect("the tombstone stays");
    let frame = delete_frame(
        &sender.room,
        seq,
        entry.target,
        &sender.username,
        sender.cid.as_deref(),
    );
    Ok(logged(sender, seq, frame, state))
}

pub async fn react(
    client: &impl GenericClient,
    entry: &NewReaction,
    next_seq: impl FnOnce() -> u64,
) -> Result<Outcome> {
    let sender = &entry.sender;
    if let Some(duplicate) = duplicate(client, sender).await? {
        return Ok(duplicate);
    }
    let Some(target) = live_message(client, &sender.room, entry.target).await? else {
        return Ok(refused_not_found(sender, entry.target));
    };
    let room = &sender.room;
    let who = reactor(sender);
    let given: bool = one(
        client,
        "SELECT EXISTS (SELECT 1 FROM reactions
         WHERE room = $1 AND seq = $2 AND emoji = $3 AND who = $4)",
        &[room, &big(entry.target), &entry.emoji, &who],
    )
    .await?
    .get(0);
    if given == entry.on {
        // Already so (another tab did it): nothing to log; the sender hears
        // the state it asked for.
        return Ok(Outcome::Duplicate {
            conn: sender.conn,
            frame: reaction_frame(target.version(), entry, sender),
        });
    }
    if let Some(refused) = too_many_reactions(sender, &target, &entry.emoji, entry.on) {
        return Ok(refused);
    }
    let seq = next_seq();
    if entry.on {
        exec(
            client,
            "INSERT INTO reactions (room, seq, emoji, who, name, at) VALUES ($1, $2, $3, $4, $5, $6)",
            &[room, &big(entry.target), &entry.emoji, &who, &sender.username, &big(seq)],
        )
        .await?;
    } else {
        exec(
            client,
            "DELETE FROM reactions WHERE room = $1 AND seq = $2 AND emoji = $3 AND who = $4",
            &[room, &big(entry.target), &entry.emoji, &who],
        )
        .await?;
    }
    touch(client, room, entry.target, seq).await?;
    let reaction = Some((entry.emoji.as_str(), entry.on));
    record(client, sender, seq, REACT, entry.target, reaction).await?;
    let state = load(client, room, entry.target)
        .await?
        .expect("the message was just reacted to");
    Ok(logged(
        sender,
        seq,
        reaction_frame(seq, entry, sender),
        state,
    ))
}

fn reaction_frame(seq: u64, entry: &NewReaction, sender: &Sender) -> Frame {
    react_frame(ReactionFrame {
        room: &sender.room,
        seq,
        target: entry.target,
        username: &sender.username,
        emoji: &entry.emoji,
        on: entry.on,
        cid: sender.cid.as_deref(),
    })
}

/// The message, if it exists and is not deleted.
async fn live_message(
    client: &impl GenericClient,
    room: &str,
    seq: u64,
) -> Result<Option<Arc<Stored>>> {
    Ok(load(client, room, seq)
        .await?
        .filter(|stored| !stored.message.deleted))
}

/// The message, if the sender may `verb` it.
async fn authored(
    client: &impl GenericClient,
    sender: &Sender,
    target: u64,
    verb: &str,
) -> Result<std::result::Result<Arc<Stored>, Outcome>> {
    let Some(message) = live_message(client, &sender.room, target).await? else {
        return Ok(Err(refused_not_found(sender, target)));
    };
    Ok(match not_the_author(sender, &message, verb) {
        Some(refused) => Err(refused),
        None => Ok(message),
    })
}

/// An entry as `changes` keeps it.
struct Recorded {
    seq: u64,
    kind: String,
    target: u64,
    username: String,
    cid: Option<String>,
    emoji: Option<String>,
    added: Option<bool>,
}

const RECORDED_COLUMNS: &str = "seq, kind, target, username, cid, emoji, added";

fn recorded(row: &tokio_postgres::Row) -> Recorded {
    Recorded {
        seq: row.get::<_, i64>(0) as u64,
        kind: row.get(1),
        target: row.get::<_, i64>(2) as u64,
        username: row.get(3),
        cid: row.get(4),
        emoji: row.get(5),
        added: row.get(6),
    }
}

/// The frame entry `recorded` of `room` is heard as, with the message it
/// changed as it is now.
fn frame_of(room: &str, recorded: &Recorded, state: Option<&Stored>) -> Frame {
    let cid = recorded.cid.as_deref();
    match (recorded.kind.as_str(), state) {
        (EDIT, Some(state)) if !state.message.deleted => {
            edit_frame(state, recorded.seq, &recorded.username, cid)
        }
        (REACT, _) => react_frame(ReactionFrame {
            room,
            seq: recorded.seq,
            target: recorded.target,
            username: &recorded.username,
            emoji: recorded.emoji.as_deref().unwrap_or_default(),
            on: recorded.added.unwrap_or(false),
            cid,
        }),
        // A deletion, or an edit of what was deleted since.
        _ => delete_frame(room, recorded.seq, recorded.target, &recorded.username, cid),
    }
}

/// What a retry of an entry its user already committed gets back: the
/// entry as it is now.
async fn duplicate(client: &impl GenericClient, sender: &Sender) -> Result<Option<Outcome>> {
    let Some(cid) = &sender.cid else {
        return Ok(None);
    };
    let sql = format!(
        "SELECT {RECORDED_COLUMNS} FROM changes WHERE room = $1 AND username = $2 AND cid = $3"
    );
    let Some(row) = opt(client, &sql, &[&sender.room, &sender.username, cid]).await? else {
        return Ok(None);
    };
    let found = recorded(&row);
    let state = load(client, &sender.room, found.target).await?;
    Ok(Some(Outcome::Duplicate {
        conn: sender.conn,
        frame: frame_of(&sender.room, &found, state.as_deref()),
    }))
}

async fn record(
    client: &impl GenericClient,
    sender: &Sender,
    seq: u64,
    kind: &str,
    target: u64,
    reaction: Option<(&str, bool)>,
) -> Result<()> {
    exec(
        client,
        "INSERT INTO changes (room, seq, kind, target, username, cid, emoji, added)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &sender.room,
            &big(seq),
            &kind,
            &big(target),
            &sender.username,
            &sender.cid,
            &reaction.map(|(emoji, _)| emoji),
            &reaction.map(|(_, on)| on),
        ],
    )
    .await?;
    Ok(())
}

/// Every entry of `room` after `after`, in seq order, as the outcomes a
/// fan-out delivers: new messages and changes (each with the message it
/// changed as it is now). What other instances wrote, read back.
pub async fn entries_since(
    client: &impl GenericClient,
    room: &str,
    after: u64,
) -> Result<Vec<Outcome>> {
    let messages = new_since(client, room, after).await?;
    let sql =
        format!("SELECT {RECORDED_COLUMNS} FROM changes WHERE room = $1 AND seq > $2 ORDER BY seq");
    let changes: Vec<Recorded> = rows(client, &sql, &[&room, &big(after)])
        .await?
        .iter()
        .map(recorded)
        .collect();
    let mut outcomes = Vec::with_capacity(messages.len() + changes.len());
    let mut messages = messages.into_iter().peekable();
    for change in changes {
        while let Some(message) = messages.next_if(|m| m.seq() < change.seq) {
            outcomes.push(message_outcome(message));
        }
        let Some(state) = load(client, room, change.target).await? else {
            continue;
        };
        outcomes.push(Outcome::Logged {
            room: room.to_owned(),
            seq: change.seq,
            frame: frame_of(room, &change, Some(&state)),
            state,
        });
    }
    outcomes.extend(messages.map(message_outcome));
    Ok(outcomes)
}

fn message_outcome(state: Arc<Stored>) -> Outcome {
    Outcome::Logged {
        room: state.message.room.clone(),
        seq: state.seq(),
        frame: state.frame.clone(),
        state,
    }
}
