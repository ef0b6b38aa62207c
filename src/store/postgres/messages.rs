//! Messages in and out of PostgreSQL: new messages, inserted a batch at a
//! time, and messages read back in their current state, with their files
//! and reactions.

use std::collections::HashMap;
use std::sync::Arc;

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::sql::{Params, big, exec, one, opt, rows};
use crate::protocol::{ChatMessage, FileInfo, Reaction};
use crate::store::log::add_reaction;
use crate::store::log::{Mentions, NewMessage, Stored, TOMBSTONE, Text, has_links};
use crate::store::records::{FileRecord, Page};

pub const MESSAGE_COLUMNS: &str = "room, seq, id, username, body, ts, cid, generated, html, \
     version, edited, deleted, reply_to, mentions, big, user_id, system, removed, bot";
pub const FILE_COLUMNS: &str =
    "id, sha256, name, size, mime, width, height, thumb, room, uploader, created";

fn message_from_row(row: &Row) -> Stored_ {
    let mentions = Mentions::parse(row.get::<_, Option<&str>>(13));
    let deleted: bool = row.get(11);
    let body: String = row.get(4);
    Stored_ {
        message: ChatMessage {
            room: row.get(0),
            seq: row.get::<_, i64>(1) as u64,
            id: row.get(2),
            username: row.get(3),
            message: if deleted { TOMBSTONE.to_owned() } else { body },
            timestamp: row.get(5),
            cid: row.get(6),
            generated: row.get(7),
            html: row.get(8),
            version: row.get::<_, i64>(9) as u64,
            edited: row.get(10),
            deleted,
            reply_to: row.get::<_, Option<i64>>(12).map(|seq| seq as u64),
            mentions: mentions.names,
            everyone: mentions.everyone,
            here: mentions.here,
            big: row.get(14),
            reactions: Vec::new(),
            files: Vec::new(),
            system: crate::store::log::parse_system(row.get::<_, Option<&str>>(16)),
            removed: row.get(17),
            bot: row.get(18),
        },
        author: row.get(15),
        mentioned_users: mentions.users,
    }
}

/// A message row, before its files and reactions are attached.
struct Stored_ {
    message: ChatMessage,
    author: Option<String>,
    mentioned_users: Vec<String>,
}

/// A file row, read with [`FILE_COLUMNS`] starting at column `at`.
pub fn file_from_row(row: &Row, at: usize) -> FileRecord {
    FileRecord {
        id: row.get(at),
        sha256: row.get(at + 1),
        name: row.get(at + 2),
        size: row.get::<_, i64>(at + 3) as u64,
        mime: row.get(at + 4),
        width: row.get::<_, Option<i32>>(at + 5).map(|w| w as u32),
        height: row.get::<_, Option<i32>>(at + 6).map(|h| h as u32),
        thumb: row.get(at + 7),
        room: row.get(at + 8),
        uploader: row.get(at + 9),
        created: row.get(at + 10),
    }
}

/// What searches match for a message: its text and its files' names.
pub fn words<'a>(source: &str, file_names: impl IntoIterator<Item = &'a str>) -> String {
    let mut words = source.to_owned();
    for name in file_names {
        words.push('\n');
        words.push_str(name);
    }
    words
}

/// New messages of one batch, gathered column by column and inserted with
/// one statement: a burst of messages costs one round trip, not one each.
#[derive(Default)]
pub struct Inserts {
    room: Vec<String>,
    seq: Vec<i64>,
    id: Vec<String>,
    username: Vec<String>,
    body: Vec<String>,
    ts: Vec<i64>,
    cid: Vec<Option<String>>,
    generated: Vec<bool>,
    html: Vec<String>,
    reply_to: Vec<Option<i64>>,
    mentions: Vec<Option<String>>,
    big: Vec<bool>,
    user_id: Vec<Option<String>>,
    system: Vec<Option<String>>,
    bot: Vec<bool>,
    words: Vec<Option<String>>,
    links: Vec<bool>,
    shares_files: Vec<bool>,
    /// (room, seq, position, file id) of the files they share.
    files: (Vec<String>, Vec<i64>, Vec<i32>, Vec<String>),
}

impl Inserts {
    pub fn is_empty(&self) -> bool {
        self.seq.is_empty()
    }

    /// Adds `message` as `seq` of its room, and returns its state.
    pub fn push(&mut self, message: &NewMessage, seq: u64, now: i64, index: bool) -> Arc<Stored> {
        let sender = &message.sender;
        let text = &message.text;
        let id = uuid::Uuid::new_v4().to_string();
        self.room.push(sender.room.clone());
        self.seq.push(big(seq));
        self.id.push(id.clone());
        self.username.push(sender.username.clone());
        self.body.push(text.source.clone());
        self.ts.push(now);
        self.cid.push(sender.cid.clone());
        self.generated.push(message.generated);
        self.html.push(text.html.clone());
        self.reply_to.push(message.reply_to.map(big));
        self.mentions.push(Mentions::of(text));
        self.big.push(text.big);
        self.user_id.push(sender.user_id.clone());
        self.system
            .push(crate::store::log::system_column(message.system.as_ref()));
        self.bot.push(message.bot);
        // A host action is not something anyone said: not searched for.
        self.words
            .push((index && message.system.is_none()).then(|| {
                words(
                    &text.source,
                    message.files.iter().map(|file| file.name.as_str()),
                )
            }));
        self.links.push(has_links(text));
        self.shares_files.push(!message.files.is_empty());
        for (position, file) in message.files.iter().enumerate() {
            self.files.0.push(sender.room.clone());
            self.files.1.push(big(seq));
            self.files.2.push(position as i32);
            self.files.3.push(file.id.clone());
        }
        message.stored(id, seq, now)
    }

    /// Inserts what was gathered, and starts over.
    pub async fn flush(
        &mut self,
        client: &impl GenericClient,
    ) -> Result<(), tokio_postgres::Error> {
        if self.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(self);
        exec(
            client,
            "INSERT INTO messages (room, seq, id, username, body, ts, cid, generated, html,
                 version, reply_to, mentions, big, user_id, words, links, shares_files, search_id,
                 system, bot)
             SELECT room, seq, id, username, body, ts, cid, generated, html, seq, reply_to,
                 mentions, big, user_id, words, links, shares_files,
                 CASE WHEN words IS NULL THEN NULL ELSE nextval('search_order') END, system, bot
             FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::int8[],
                 $7::text[], $8::bool[], $9::text[], $10::int8[], $11::text[], $12::bool[],
                 $13::text[], $14::text[], $15::bool[], $16::bool[], $17::text[], $18::bool[])
                 WITH ORDINALITY AS new (room, seq, id, username, body, ts, cid, generated, html,
                     reply_to, mentions, big, user_id, words, links, shares_files, system, bot,
                     position)
             ORDER BY position",
            &[
                &batch.room,
                &batch.seq,
                &batch.id,
                &batch.username,
                &batch.body,
                &batch.ts,
                &batch.cid,
                &batch.generated,
                &batch.html,
                &batch.reply_to,
                &batch.mentions,
                &batch.big,
                &batch.user_id,
                &batch.words,
                &batch.links,
                &batch.shares_files,
                &batch.system,
                &batch.bot,
            ],
        )
        .await?;
        if !batch.files.0.is_empty() {
            let (room, seq, position, file) = &batch.files;
            exec(
                client,
                "INSERT INTO message_files (room, seq, position, file_id)
                 SELECT * FROM unnest($1::text[], $2::int8[], $3::int4[], $4::text[])",
                &[room, seq, position, file],
            )
            .await?;
        }
        Ok(())
    }
}

/// Message `seq` of `room` in its current state, if it exists.
pub async fn load(
    client: &impl GenericClient,
    room: &str,
    seq: u64,
) -> Result<Option<Arc<Stored>>, tokio_postgres::Error> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE room = $1 AND seq = $2");
    Ok(read(client, &sql, &[&room, &big(seq)])
        .await?
        .into_iter()
        .next())
}

/// The messages named by `keys` (room, seq), in their current state, in
/// that order; any that no longer exist are left out.
pub async fn load_all(
    client: &impl GenericClient,
    keys: &[(String, u64)],
) -> Result<Vec<Arc<Stored>>, tokio_postgres::Error> {
    let mut found = Vec::with_capacity(keys.len());
    for (room, seq) in keys {
        found.extend(load(client, room, *seq).await?);
    }
    Ok(found)
}

/// Up to `limit` messages of `room` with `seq < before`, oldest first.
pub async fn read_page(
    client: &impl GenericClient,
    room: &str,
    before: u64,
    limit: usize,
) -> Result<Page, tokio_postgres::Error> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages
         WHERE room = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3"
    );
    let mut messages = read(client, &sql, &[&room, &big(before), &(limit as i64)]).await?;
    messages.reverse();
    let has_more = match messages.first() {
        Some(first) => older_exists(client, room, first.seq()).await?,
        None => false,
    };
    Ok(Page {
        messages,
        has_more,
        has_newer: None,
    })
}

/// Up to `limit` messages of `room` with `seq > after`, oldest first, and
/// whether newer ones follow.
pub async fn read_after(
    client: &impl GenericClient,
    room: &str,
    after: u64,
    limit: usize,
) -> Result<Page, tokio_postgres::Error> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages
         WHERE room = $1 AND seq > $2 ORDER BY seq LIMIT $3"
    );
    let mut messages = read(client, &sql, &[&room, &big(after), &(limit as i64 + 1)]).await?;
    let has_newer = messages.len() > limit;
    messages.truncate(limit);
    let has_more = match messages.first() {
        Some(first) => older_exists(client, room, first.seq()).await?,
        None => false,
    };
    Ok(Page {
        messages,
        has_more,
        has_newer: Some(has_newer),
    })
}

/// The first message of `room` sent at or after `at` (ms).
pub async fn first_at(
    client: &impl GenericClient,
    room: &str,
    at: i64,
) -> Result<Option<u64>, tokio_postgres::Error> {
    let row = opt(
        client,
        "SELECT seq FROM messages WHERE room = $1 AND ts >= $2 ORDER BY ts LIMIT 1",
        &[&room, &at],
    )
    .await?;
    Ok(row.map(|row| row.get::<_, i64>(0) as u64))
}

/// The newest `limit` messages of `room` changed after `since`, oldest first.
pub async fn changed_since(
    client: &impl GenericClient,
    room: &str,
    since: u64,
    limit: usize,
) -> Result<Page, tokio_postgres::Error> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages
         WHERE room = $1 AND version > $2 ORDER BY seq DESC LIMIT $3"
    );
    let mut messages = read(client, &sql, &[&room, &big(since), &(limit as i64 + 1)]).await?;
    let has_more = messages.len() > limit;
    messages.truncate(limit);
    messages.reverse();
    Ok(Page {
        messages,
        has_more,
        has_newer: None,
    })
}

/// The messages of `room` logged after `after`, oldest first: what another
/// instance added.
pub async fn new_since(
    client: &impl GenericClient,
    room: &str,
    after: u64,
) -> Result<Vec<Arc<Stored>>, tokio_postgres::Error> {
    let sql =
        format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE room = $1 AND seq > $2 ORDER BY seq");
    read(client, &sql, &[&room, &big(after)]).await
}

pub async fn older_exists(
    client: &impl GenericClient,
    room: &str,
    seq: u64,
) -> Result<bool, tokio_postgres::Error> {
    Ok(one(
        client,
        "SELECT EXISTS (SELECT 1 FROM messages WHERE room = $1 AND seq < $2)",
        &[&room, &big(seq)],
    )
    .await?
    .get(0))
}

/// Messages by `sql` (which selects [`MESSAGE_COLUMNS`] of one room), with
/// their files and reactions.
async fn read(
    client: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> Result<Vec<Arc<Stored>>, tokio_postgres::Error> {
    let found: Vec<Stored_> = rows(client, sql, params)
        .await?
        .iter()
        .map(message_from_row)
        .collect();
    let (Some(low), Some(high)) = (
        found.iter().map(|r| r.message.seq).min(),
        found.iter().map(|r| r.message.seq).max(),
    ) else {
        return Ok(Vec::new());
    };
    let room = found[0].message.room.clone();
    let mut files = files_of(client, &room, low, high).await?;
    let mut reactions = reactions_of(client, &room, low, high).await?;
    Ok(found
        .into_iter()
        .map(|mut row| {
            let seq = row.message.seq;
            row.message.files = files.remove(&seq).unwrap_or_default();
            row.message.reactions = reactions.remove(&seq).unwrap_or_default();
            Stored::new(row.message, row.author, row.mentioned_users)
        })
        .collect())
}

/// The files shared by the messages of `room` from seq `from` to `to`.
async fn files_of(
    client: &impl GenericClient,
    room: &str,
    from: u64,
    to: u64,
) -> Result<HashMap<u64, Vec<FileInfo>>, tokio_postgres::Error> {
    let columns = FILE_COLUMNS
        .split(", ")
        .map(|column| format!("f.{column}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT mf.seq, {columns} FROM message_files mf JOIN files f ON f.id = mf.file_id
         WHERE mf.room = $1 AND mf.seq BETWEEN $2 AND $3 ORDER BY mf.seq, mf.position"
    );
    let mut files: HashMap<u64, Vec<FileInfo>> = HashMap::new();
    for row in rows(client, &sql, &[&room, &big(from), &big(to)]).await? {
        let seq = row.get::<_, i64>(0) as u64;
        files
            .entry(seq)
            .or_default()
            .push(file_from_row(&row, 1).info());
    }
    Ok(files)
}

/// The reactions on the messages of `room` from seq `from` to `to`: each
/// emoji in the order it was first given, with who gave it.
async fn reactions_of(
    client: &impl GenericClient,
    room: &str,
    from: u64,
    to: u64,
) -> Result<HashMap<u64, Vec<Reaction>>, tokio_postgres::Error> {
    let found = rows(
        client,
        "SELECT seq, emoji, name FROM reactions
         WHERE room = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq, at",
        &[&room, &big(from), &big(to)],
    )
    .await?;
    let mut reactions: HashMap<u64, Vec<Reaction>> = HashMap::new();
    for row in found {
        let seq = row.get::<_, i64>(0) as u64;
        let emoji: String = row.get(1);
        let name: String = row.get(2);
        add_reaction(&mut reactions, seq, emoji, name);
    }
    Ok(reactions)
}

/// Files created before `cutoff` that no message shares.
pub async fn unshared_files(
    client: &impl GenericClient,
    cutoff: i64,
) -> Result<Vec<String>, tokio_postgres::Error> {
    Ok(rows(
        client,
        "SELECT id FROM files WHERE created < $1
         AND NOT EXISTS (SELECT 1 FROM message_files WHERE file_id = files.id)",
        &[&cutoff],
    )
    .await?
    .iter()
    .map(|row| row.get(0))
    .collect())
}

/// Updates the text of message `target` after an edit logged as `seq`,
/// and what searches match, if it is searchable.
pub async fn set_text(
    client: &impl GenericClient,
    room: &str,
    target: u64,
    seq: u64,
    text: &Text,
    edited: i64,
) -> Result<(), tokio_postgres::Error> {
    let names: Vec<String> = rows(
        client,
        "SELECT f.name FROM message_files mf JOIN files f ON f.id = mf.file_id
         WHERE mf.room = $1 AND mf.seq = $2 ORDER BY mf.position",
        &[&room, &big(target)],
    )
    .await?
    .iter()
    .map(|row| row.get(0))
    .collect();
    let words = words(&text.source, names.iter().map(String::as_str));
    exec(
        client,
        "UPDATE messages SET body = $3, html = $4, mentions = $5, big = $6, edited = $7,
         generated = false, version = $8, links = $9,
         words = CASE WHEN search_id IS NULL THEN NULL ELSE $10 END
         WHERE room = $1 AND seq = $2",
        &[
            &room,
            &big(target),
            &text.source,
            &text.html,
            &Mentions::of(text),
            &text.big,
            &edited,
            &big(seq),
            &has_links(text),
            &words,
        ],
    )
    .await?;
    Ok(())
}

/// Forgets message `target`'s text, files and reactions after a deletion
/// logged as `seq` (by the host: `removed`): a tombstone stays, and
/// searches no longer find it.
pub async fn clear(
    client: &impl GenericClient,
    room: &str,
    target: u64,
    seq: u64,
    removed: bool,
) -> Result<(), tokio_postgres::Error> {
    exec(
        client,
        "UPDATE messages SET body = '', html = '', mentions = NULL, big = false,
         generated = false, deleted = true, version = $3, links = false, shares_files = false,
         words = NULL, search_id = NULL, removed = $4 WHERE room = $1 AND seq = $2",
        &[&room, &big(target), &big(seq), &removed],
    )
    .await?;
    for table in ["message_files", "reactions"] {
        exec(
            client,
            &format!("DELETE FROM {table} WHERE room = $1 AND seq = $2"),
            &[&room, &big(target)],
        )
        .await?;
    }
    Ok(())
}

/// Marks message `target` changed by entry `seq` (a reaction).
pub async fn touch(
    client: &impl GenericClient,
    room: &str,
    target: u64,
    seq: u64,
) -> Result<(), tokio_postgres::Error> {
    exec(
        client,
        "UPDATE messages SET version = $3 WHERE room = $1 AND seq = $2",
        &[&room, &big(target), &big(seq)],
    )
    .await?;
    Ok(())
}
