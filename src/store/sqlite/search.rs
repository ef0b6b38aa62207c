//! The search index and searches against it.
//!
//! A contentless FTS5 table with the trigram tokenizer holds each message's
//! trigrams (its text, its files' names, and its CJK bigrams, see
//! [`indexed_text`]), so any substring of three characters or more, and any
//! two-character CJK word, is found. Its rowid is the message's
//! `search_id`, given in the order messages are stored, which is the order
//! results come in (newest first). It is written in the same transaction
//! as the message and kept right through edits and deletions: a deleted
//! message is never found again.
//!
//! Shorter terms are matched by scanning what the rest of the query found,
//! or the messages themselves, newest first. Every search stops after
//! [`TIME_LIMIT`]; what it found by then comes back marked partial, so no
//! search can stall the server and none comes back empty-handed for being
//! broad.

use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, ToSql, params, params_from_iter};

use super::messages::load_all;
use crate::search::query::{BIGRAM_MARK, is_cjk};
use crate::store::records::{Cursor, Found, SearchError, SearchRequest};

/// Matches counted at most, for "1,000+ results".
pub const TOTAL_CAP: usize = 1000;
/// The longest a search may run.
const TIME_LIMIT: Duration = Duration::from_millis(250);
/// How often (in SQLite virtual machine steps) the clock is checked.
const CHECK_EVERY: i32 = 1000;

/// What a message puts in the index: its text, its files' names, and then
/// each pair of neighbouring CJK characters followed by [`BIGRAM_MARK`],
/// so that a two-character word (most Chinese words are), which has no
/// trigram of its own, has one with the mark.
pub fn indexed_text<'a>(source: &str, file_names: impl IntoIterator<Item = &'a str>) -> String {
    let mut text = source.to_owned();
    for name in file_names {
        text.push('\n');
        text.push_str(name);
    }
    let chars: Vec<char> = text.chars().collect();
    let mut bigrams = String::new();
    for pair in chars.windows(2) {
        if is_cjk(pair[0]) && is_cjk(pair[1]) {
            bigrams.extend([pair[0], pair[1], BIGRAM_MARK]);
        }
    }
    if !bigrams.is_empty() {
        text.push('\n');
        text.push_str(&bigrams);
    }
    text
}

/// Adds a message's text to the index; returns its `search_id`, after every
/// one given so far.
pub fn add(conn: &Connection, text: &str) -> rusqlite::Result<i64> {
    let id: i64 = conn
        .prepare_cached("SELECT coalesce(max(search_id), 0) + 1 FROM messages")?
        .query_row([], |row| row.get(0))?;
    conn.prepare_cached("INSERT INTO search (rowid, body) VALUES (?1, ?2)")?
        .execute(params![id, text])?;
    Ok(id)
}

fn search_id(conn: &Connection, room: &str, seq: u64) -> rusqlite::Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT search_id FROM messages WHERE room = ?1 AND seq = ?2")?
        .query_row(params![room, seq as i64], |row| {
            row.get::<_, Option<i64>>(0)
        })
        .optional()?
        .flatten())
}

/// What stored message `seq` puts in the index, given its text `source`.
fn stored_text(conn: &Connection, room: &str, seq: u64, source: &str) -> rusqlite::Result<String> {
    let names: Vec<String> = conn
        .prepare_cached(
            "SELECT f.name FROM message_files mf JOIN files f ON f.id = mf.file_id
             WHERE mf.room = ?1 AND mf.seq = ?2 ORDER BY mf.position",
        )?
        .query_map(params![room, seq as i64], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(indexed_text(source, names.iter().map(String::as_str)))
}

/// Replaces message `seq`'s text in the index (after an edit).
pub fn replace(conn: &Connection, room: &str, seq: u64, source: &str) -> rusqlite::Result<()> {
    if let Some(id) = search_id(conn, room, seq)? {
        let text = stored_text(conn, room, seq, source)?;
        conn.prepare_cached("INSERT OR REPLACE INTO search (rowid, body) VALUES (?1, ?2)")?
            .execute(params![id, text])?;
    }
    Ok(())
}

/// Takes message `seq` out of the index (after a deletion).
pub fn remove(conn: &Connection, room: &str, seq: u64) -> rusqlite::Result<()> {
    if let Some(id) = search_id(conn, room, seq)? {
        conn.prepare_cached("DELETE FROM search WHERE rowid = ?1")?
            .execute(params![id])?;
        conn.prepare_cached("UPDATE messages SET search_id = NULL WHERE search_id = ?1")?
            .execute(params![id])?;
    }
    Ok(())
}

/// A search as SQL: what follows `SELECT`, its arguments, and the column
/// results are ordered by.
struct Plan {
    sql: String,
    args: Vec<Box<dyn ToSql>>,
    order: &'static str,
}

impl Plan {
    fn of(request: &SearchRequest) -> Plan {
        let query = &request.query;
        let mut sql = String::new();
        let mut args: Vec<Box<dyn ToSql>> = Vec::new();
        // With words to match, the index drives (CROSS JOIN keeps the
        // planner from scanning every message to probe it); with filters
        // alone, the messages do, through the index for the filter.
        let order = match query.fts() {
            Some(fts) => {
                sql.push_str(
                    "FROM search s CROSS JOIN messages m ON m.search_id = s.rowid
                     WHERE search MATCH ?",
                );
                args.push(Box::new(fts));
                "s.rowid"
            }
            None => {
                sql.push_str(&format!(
                    "FROM messages m INDEXED BY {} WHERE m.search_id IS NOT NULL",
                    Plan::driver(request)
                ));
                "m.search_id"
            }
        };
        sql.push_str(&format!(
            " AND m.deleted = 0 AND m.room IN ({})",
            vec!["?"; request.rooms.len()].join(", ")
        ));
        args.extend(
            request
                .rooms
                .iter()
                .map(|room| Box::new(room.clone()) as Box<dyn ToSql>),
        );
        for term in query.short_terms() {
            sql.push_str(" AND m.body LIKE ? ESCAPE '\\'");
            args.push(Box::new(format!("%{}%", escape_like(term))));
        }
        if let Some(from) = &query.from {
            match &request.from_user {
                Some(user) => {
                    sql.push_str(" AND m.user_id = ?");
                    args.push(Box::new(user.clone()));
                }
                None => {
                    sql.push_str(" AND m.username = ? COLLATE NOCASE");
                    args.push(Box::new(from.clone()));
                }
            }
        }
        if let Some(before) = query.before {
            sql.push_str(" AND m.ts < ?");
            args.push(Box::new(before));
        }
        if let Some(after) = query.after {
            sql.push_str(" AND m.ts >= ?");
            args.push(Box::new(after));
        }
        if query.has_file {
            sql.push_str(" AND m.shares_files = 1");
        }
        if query.has_link {
            sql.push_str(" AND m.links = 1");
        }
        if query.mentions_me {
            match &request.user {
                Some(user) => {
                    sql.push_str(
                        " AND m.mentions IS NOT NULL
                         AND (instr(m.mentions, ?) > 0 OR instr(m.mentions, '\"everyone\":true') > 0)",
                    );
                    args.push(Box::new(format!("\"{user}\"")));
                }
                None => sql.push_str(" AND 0"),
            }
        }
        if let Some(cursor) = request.before {
            sql.push_str(&format!(" AND {order} < ?"));
            args.push(Box::new(cursor.0));
        }
        Plan { sql, args, order }
    }

    /// The index a search by filters alone goes through, newest first:
    /// the narrowest its filters allow. Named, not left to the planner,
    /// which without statistics may pick one that makes it sort every
    /// match before returning the first.
    fn driver(request: &SearchRequest) -> &'static str {
        let query = &request.query;
        if query.from.is_some() && request.from_user.is_some() {
            "messages_by_author"
        } else if query.mentions_me && request.user.is_some() {
            "messages_with_mentions"
        } else if query.has_file {
            "messages_with_files"
        } else if query.has_link {
            "messages_with_links"
        } else {
            "messages_by_search"
        }
    }
}

/// Runs `request`: the newest matches first, in their current state. A
/// first page also counts the matches, up to [`TOTAL_CAP`]; in the same
/// pass, so a broad search costs one scan.
pub fn search(conn: &mut Connection, request: &SearchRequest) -> Result<Found, SearchError> {
    if request.rooms.is_empty() {
        // `in:` a room one cannot read: nothing, and nothing counted.
        return Ok(Found {
            total: Some(0),
            ..Found::default()
        });
    }
    let plan = Plan::of(request);
    let counting = request.before.is_none();
    let wanted = request.limit + 1;
    let scan = if counting {
        TOTAL_CAP.max(wanted)
    } else {
        wanted
    };
    let listing = format!(
        "SELECT m.room, m.seq, {order} {sql} ORDER BY {order} DESC LIMIT {scan}",
        order = plan.order,
        sql = plan.sql,
    );
    let mut keys: Vec<(String, u64, i64)> = Vec::new();
    let mut total = 0;
    let finished = within_time(conn, |conn| {
        let mut statement = conn.prepare(&listing)?;
        let mut rows = statement.query(params_from_iter(&plan.args))?;
        while let Some(row) = rows.next()? {
            total += 1;
            if keys.len() < wanted {
                keys.push((row.get(0)?, row.get::<_, i64>(1)? as u64, row.get(2)?));
            }
        }
        Ok(())
    })?;
    let next = if keys.len() > request.limit {
        keys.truncate(request.limit);
        keys.last().map(|key| Cursor(key.2))
    } else if finished {
        None
    } else {
        // Cut short: go on from the last match found.
        keys.last().map(|key| Cursor(key.2))
    };
    let keys: Vec<(String, u64)> = keys.into_iter().map(|(room, seq, _)| (room, seq)).collect();
    Ok(Found {
        messages: load_all(conn, &keys).map_err(|err| SearchError::Store(err.into()))?,
        total: counting.then_some(total as u64),
        partial: !finished,
        next,
    })
}

/// Runs `work`, interrupting it after [`TIME_LIMIT`]. Returns whether it
/// finished.
fn within_time(
    conn: &mut Connection,
    work: impl FnOnce(&Connection) -> rusqlite::Result<()>,
) -> Result<bool, SearchError> {
    let deadline = Instant::now() + TIME_LIMIT;
    conn.progress_handler(CHECK_EVERY, Some(move || Instant::now() > deadline))
        .map_err(|err| SearchError::Store(err.into()))?;
    let result = work(conn);
    conn.progress_handler(CHECK_EVERY, None::<fn() -> bool>)
        .map_err(|err| SearchError::Store(err.into()))?;
    match result {
        Ok(()) => Ok(true),
        Err(rusqlite::Error::SqliteFailure(failure, _))
            if failure.code == rusqlite::ErrorCode::OperationInterrupted =>
        {
            Ok(false)
        }
        Err(other) => Err(SearchError::Store(other.into())),
    }
}

/// `text` for a LIKE pattern, with `%`, `_` and `\` taken literally.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Pages of the index merged in one step of upkeep: a few milliseconds.
const MERGE_PAGES: i64 = 64;

/// Merges some of the index's segments. The index does not merge as it is
/// written (`automerge` is 0, see the schema), so a burst of messages costs
/// only their own trigrams; the writer merges in quiet moments, and FTS5's
/// `crisismerge` still merges if too many segments pile up. Returns whether
/// there was work to do.
pub fn merge_step(conn: &Connection) -> rusqlite::Result<bool> {
    let before = conn.total_changes();
    conn.prepare_cached("INSERT INTO search (search, rank) VALUES ('merge', ?1)")?
        .execute([MERGE_PAGES])?;
    // FTS5 counts two changes or more when a merge did something.
    Ok(conn.total_changes() - before >= 2)
}

/// Turns the index on or off, as `--no-search` says. Off, it is emptied
/// (so nothing searchable stays behind); on after being off, it is rebuilt
/// from the messages.
pub fn turn(conn: &Connection, on: bool) -> rusqlite::Result<()> {
    let was_on: bool = conn
        .query_row("SELECT value FROM meta WHERE key = 'search'", [], |row| {
            row.get::<_, String>(0)
        })
        .optional()?
        .is_none_or(|value| value == "on");
    if on == was_on {
        return Ok(());
    }
    let tx = conn.unchecked_transaction()?;
    tx.execute_batch(
        "INSERT INTO search (search) VALUES ('delete-all');
         UPDATE messages SET search_id = NULL WHERE search_id IS NOT NULL;",
    )?;
    if on {
        build(&tx)?;
    }
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('search', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [if on { "on" } else { "off" }],
    )?;
    tx.commit()
}

/// Fills the index from the messages table, oldest first (the migration
/// that adds it, and turning search back on).
pub fn build(conn: &Connection) -> rusqlite::Result<()> {
    let rows: Vec<(String, i64, String)> = conn
        .prepare("SELECT room, seq, body FROM messages WHERE deleted = 0 ORDER BY ts, room, seq")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for (room, seq, body) in rows {
        let text = stored_text(conn, &room, seq as u64, &body)?;
        let id = add(conn, &text)?;
        conn.prepare_cached("UPDATE messages SET search_id = ?3 WHERE room = ?1 AND seq = ?2")?
            .execute(params![room, seq, id])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_written_while_busy_are_merged_when_idle() {
        let conn = Connection::open_in_memory().unwrap();
        super::super::schema::init_schema(&conn).unwrap();
        // Each commit writes a segment; nothing merges them meanwhile.
        for i in 0..12 {
            let id = add(&conn, &format!("message number {i}")).unwrap();
            conn.execute(
                "INSERT INTO messages (room, seq, id, username, body, ts, search_id)
                 VALUES ('lobby', ?1, ?2, 'ann', 'x', 0, ?1)",
                params![id, id.to_string()],
            )
            .unwrap();
        }
        assert!(merge_step(&conn).unwrap(), "there were segments to merge");
        let mut steps = 1;
        while merge_step(&conn).unwrap() {
            steps += 1;
            assert!(steps < 100, "merging ends");
        }
        let found: i64 = conn
            .query_row(
                "SELECT count(*) FROM search WHERE search MATCH '\"number\"'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(found, 12);
    }

    #[test]
    fn cjk_words_of_two_characters_get_a_trigram() {
        let text = indexed_text("开会 ok 密码是", ["图.png"]);
        assert_eq!(text, "开会 ok 密码是\n图.png\n开会\u{1}密码\u{1}码是\u{1}");
        assert_eq!(indexed_text("plain words", []), "plain words");
    }
}
