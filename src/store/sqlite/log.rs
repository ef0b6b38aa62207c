//! Edits, deletions and reactions: the log's entries beside new messages.
//! Each is checked against the message as it is (it exists, it is the
//! sender's, the edit window, the cap on reactions), takes the next seq,
//! changes the message, and is recorded in `changes` with its cid, so a
//! retry is applied once.

use rusqlite::{Connection, OptionalExtension, params};

use super::messages::{clear, load, set_text, touch};
use crate::store::log::{
    DELETE, EDIT, NewDelete, NewEdit, NewReaction, Outcome, REACT, ReactionFrame, Sender, Stored,
    delete_frame, edit_frame, logged, not_the_author, outside_window, react_frame, reactor,
    refused_not_found, too_many_reactions,
};

pub fn edit(
    conn: &Connection,
    entry: &NewEdit,
    next_seq: impl FnOnce() -> u64,
    now: i64,
) -> rusqlite::Result<Outcome> {
    let sender = &entry.sender;
    if let Some(duplicate) = duplicate(conn, sender)? {
        return Ok(duplicate);
    }
    let target = match authored(conn, sender, entry.target, "edit")? {
        Ok(target) => target,
        Err(refused) => return Ok(refused),
    };
    if let Some(refused) = outside_window(sender, target.message.timestamp, now, entry.window) {
        return Ok(refused);
    }
    let seq = next_seq();
    set_text(conn, &sender.room, entry.target, seq, &entry.text, now)?;
    record(conn, sender, seq, EDIT, entry.target, None)?;
    let state = load(conn, &sender.room, entry.target)?.expect("the message was just edited");
    Ok(logged(
        sender,
        seq,
        edit_frame(&state, seq, &sender.username, sender.cid.as_deref()),
        state,
    ))
}

pub fn delete(
    conn: &Connection,
    entry: &NewDelete,
    next_seq: impl FnOnce() -> u64,
) -> rusqlite::Result<Outcome> {
    let sender = &entry.sender;
    if let Some(duplicate) = duplicate(conn, sender)? {
        return Ok(duplicate);
    }
    let allowed = if entry.by_host {
        live_message(conn, &sender.room, entry.target)?
            .map(|_| ())
            .ok_or_else(|| refused_not_found(sender, entry.target))
    } else {
        authored(conn, sender, entry.target, "delete")?.map(|_| ())
    };
    if let Err(refused) = allowed {
        return Ok(refused);
    }
    let seq = next_seq();
    clear(conn, &sender.room, entry.target, seq, entry.by_host)?;
    record(conn, sender, seq, DELETE, entry.target, None)?;
    let state = load(conn, &sender.room, entry.target)?.expect("the tombstone stays");
    let frame = delete_frame(
        &sender.room,
        seq,
        entry.target,
        &sender.username,
        sender.cid.as_deref(),
    );
    Ok(logged(sender, seq, frame, state))
}

pub fn react(
    conn: &Connection,
    entry: &NewReaction,
    next_seq: impl FnOnce() -> u64,
) -> rusqlite::Result<Outcome> {
    let sender = &entry.sender;
    if let Some(duplicate) = duplicate(conn, sender)? {
        return Ok(duplicate);
    }
    let Some(target) = live_message(conn, &sender.room, entry.target)? else {
        return Ok(refused_not_found(sender, entry.target));
    };
    let room = &sender.room;
    let who = reactor(sender);
    let given: bool = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM reactions
             WHERE room = ?1 AND seq = ?2 AND emoji = ?3 AND who = ?4)",
        )?
        .query_row(
            params![room, entry.target as i64, entry.emoji, who],
            |row| row.get(0),
        )?;
    if given == entry.on {
        // Already so (another tab did it): nothing to log; the sender hears
        // the state it asked for.
        let frame = reaction_frame(target.version(), entry, sender);
        return Ok(Outcome::Duplicate {
            conn: sender.conn,
            frame,
        });
    }
    if let Some(refused) = too_many_reactions(sender, &target, &entry.emoji, entry.on) {
        return Ok(refused);
    }
    let seq = next_seq();
    if entry.on {
        conn.prepare_cached(
            "INSERT INTO reactions (room, seq, emoji, who, name, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![room, entry.target as i64, entry.emoji, who, sender.username, seq as i64])?;
    } else {
        conn.prepare_cached(
            "DELETE FROM reactions WHERE room = ?1 AND seq = ?2 AND emoji = ?3 AND who = ?4",
        )?
        .execute(params![room, entry.target as i64, entry.emoji, who])?;
    }
    touch(conn, room, entry.target, seq)?;
    record(
        conn,
        sender,
        seq,
        REACT,
        entry.target,
        Some((&entry.emoji, entry.on)),
    )?;
    let state = load(conn, room, entry.target)?.expect("the message was just reacted to");
    Ok(logged(
        sender,
        seq,
        reaction_frame(seq, entry, sender),
        state,
    ))
}

fn reaction_frame(seq: u64, entry: &NewReaction, sender: &Sender) -> crate::protocol::Frame {
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
fn live_message(
    conn: &Connection,
    room: &str,
    seq: u64,
) -> rusqlite::Result<Option<std::sync::Arc<Stored>>> {
    Ok(load(conn, room, seq)?.filter(|stored| !stored.message.deleted))
}

/// The message, if the sender may `verb` it: it exists, is not deleted,
/// and the sender's owned name wrote it.
fn authored(
    conn: &Connection,
    sender: &Sender,
    target: u64,
    verb: &str,
) -> rusqlite::Result<Result<std::sync::Arc<Stored>, Outcome>> {
    let Some(message) = live_message(conn, &sender.room, target)? else {
        return Ok(Err(refused_not_found(sender, target)));
    };
    match not_the_author(sender, &message, verb) {
        Some(refused) => Ok(Err(refused)),
        None => Ok(Ok(message)),
    }
}

/// What a retry of an entry its user already committed gets back: the
/// entry as it is now (an edit shows the message's current text).
fn duplicate(conn: &Connection, sender: &Sender) -> rusqlite::Result<Option<Outcome>> {
    let Some(cid) = &sender.cid else {
        return Ok(None);
    };
    let row = conn
        .prepare_cached(
            "SELECT seq, kind, target, emoji, added FROM changes
             WHERE room = ?1 AND username = ?2 AND cid = ?3",
        )?
        .query_row(params![sender.room, sender.username, cid], |row| {
            Ok(Recorded {
                seq: row.get::<_, i64>(0)? as u64,
                kind: row.get(1)?,
                target: row.get::<_, i64>(2)? as u64,
                emoji: row.get(3)?,
                added: row.get(4)?,
            })
        })
        .optional()?;
    let Some(Recorded {
        seq,
        kind,
        target,
        emoji,
        added,
    }) = row
    else {
        return Ok(None);
    };
    let room = &sender.room;
    let cid = Some(cid.as_str());
    let frame = match (kind.as_str(), load(conn, room, target)?) {
        (EDIT, Some(state)) if !state.message.deleted => {
            edit_frame(&state, seq, &sender.username, cid)
        }
        (REACT, _) => react_frame(ReactionFrame {
            room,
            seq,
            target,
            username: &sender.username,
            emoji: emoji.as_deref().unwrap_or_default(),
            on: added.unwrap_or(false),
            cid,
        }),
        // A deletion, or an edit of what was deleted since.
        _ => delete_frame(room, seq, target, &sender.username, cid),
    };
    Ok(Some(Outcome::Duplicate {
        conn: sender.conn,
        frame,
    }))
}

/// An entry as `changes` keeps it.
struct Recorded {
    seq: u64,
    kind: String,
    target: u64,
    emoji: Option<String>,
    added: Option<bool>,
}

fn record(
    conn: &Connection,
    sender: &Sender,
    seq: u64,
    kind: &str,
    target: u64,
    reaction: Option<(&str, bool)>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO changes (room, seq, kind, target, username, cid, emoji, added)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        sender.room,
        seq as i64,
        kind,
        target as i64,
        sender.username,
        sender.cid,
        reaction.map(|(emoji, _)| emoji),
        reaction.map(|(_, on)| on),
    ])?;
    Ok(())
}
