//! Each room's log: every change to its timeline is an entry with its own
//! `seq`, in one sequence per room: a new message, an edit, a deletion, a
//! reaction added or taken back.
//!
//! A backend commits entries and keeps each message's current state with
//! its `version` (the seq of its last change), so a client that was away
//! gets the resulting state of what changed, not every step; and a
//! connected client hears each entry as it is committed.

use std::sync::Arc;

use super::records::FileRecord;
use crate::ids::ConnId;
use crate::protocol::{ChatMessage, ErrorCode, Frame, Refusal, ServerFrame, encode};

/// What a session asks to add to a room's log.
#[derive(Debug)]
pub enum Entry {
    Message(NewMessage),
    Edit(NewEdit),
    Delete(NewDelete),
    React(NewReaction),
}

/// Who asked for an entry, for the answer and for checks.
#[derive(Debug, Clone)]
pub struct Sender {
    pub room: String,
    /// The name it was sent under, shown with it.
    pub username: String,
    /// The owned name's user id: authorship is checked by it, so a rename
    /// keeps one's messages one's own.
    pub user_id: Option<String>,
    pub cid: Option<String>,
    /// The connection that sent it, to route a duplicate or a refusal.
    pub conn: ConnId,
}

/// Text as a message carries it, rendered once before it is stored.
#[derive(Debug, Clone, Default)]
pub struct Text {
    /// The markdown as written; what clients that do not render see.
    pub source: String,
    pub html: String,
    pub big: bool,
    /// The names mentioned.
    pub mentions: Vec<String>,
    pub everyone: bool,
    pub here: bool,
    /// Whose mention badges it counts in: the mentioned owners, and with
    /// `@here` the members online when it was sent.
    pub mentioned_users: Vec<String>,
}

#[derive(Debug)]
pub struct NewMessage {
    pub sender: Sender,
    pub text: Text,
    /// Finished uploads it shares, already checked to be the sender's and
    /// this room's.
    pub files: Vec<Arc<FileRecord>>,
    /// `text` was written by the server to describe `files`.
    pub generated: bool,
    /// The seq of the message it answers, which must be in the room.
    pub reply_to: Option<u64>,
    /// A host action to show in the room (sent as `system`).
    pub system: Option<crate::protocol::SystemEvent>,
    /// Posted by a bot.
    pub bot: bool,
}

impl NewMessage {
    /// The server's own line in `room` about `event` (a host action, a
    /// call started or ended), as `system`, in reply to connection `conn`.
    pub fn system(room: &str, conn: ConnId, event: crate::protocol::SystemEvent) -> NewMessage {
        let source = event.describe();
        let html = crate::text::render(&source, &|_| None).html;
        NewMessage {
            sender: Sender {
                room: room.to_owned(),
                username: SYSTEM.to_owned(),
                user_id: None,
                cid: None,
                conn,
            },
            text: Text {
                source,
                html,
                ..Text::default()
            },
            files: Vec::new(),
            generated: false,
            reply_to: None,
            system: Some(event),
            bot: false,
        }
    }

    /// The message as stored under `id` and `seq` at `now`: new, unedited,
    /// with no reactions.
    pub fn stored(&self, id: String, seq: u64, now: i64) -> Arc<Stored> {
        let (sender, text) = (&self.sender, &self.text);
        Stored::new(
            ChatMessage {
                id,
                seq,
                room: sender.room.clone(),
                username: sender.username.clone(),
                message: text.source.clone(),
                timestamp: now,
                cid: sender.cid.clone(),
                html: text.html.clone(),
                version: seq,
                edited: None,
                deleted: false,
                reply_to: self.reply_to,
                mentions: text.mentions.clone(),
                everyone: text.everyone,
                here: text.here,
                big: text.big,
                reactions: Vec::new(),
                files: self.files.iter().map(|file| file.info()).collect(),
                generated: self.generated,
                system: self.system.clone(),
                removed: false,
                bot: self.bot,
            },
            sender.user_id.clone(),
            text.mentioned_users.clone(),
        )
    }
}

#[derive(Debug)]
pub struct NewEdit {
    pub sender: Sender,
    pub target: u64,
    pub text: Text,
    /// Edits are refused after this long (ms); `None`: any time.
    pub window: Option<i64>,
}

#[derive(Debug)]
pub struct NewDelete {
    pub sender: Sender,
    pub target: u64,
    /// The host deletes any message; an author only their own.
    pub by_host: bool,
}

#[derive(Debug)]
pub struct NewReaction {
    pub sender: Sender,
    pub target: u64,
    /// A single emoji, already checked.
    pub emoji: String,
    pub on: bool,
}

impl Entry {
    pub fn sender(&self) -> &Sender {
        match self {
            Entry::Message(entry) => &entry.sender,
            Entry::Edit(entry) => &entry.sender,
            Entry::Delete(entry) => &entry.sender,
            Entry::React(entry) => &entry.sender,
        }
    }

    /// Bytes of text it adds to a batch.
    pub fn text_len(&self) -> usize {
        match self {
            Entry::Message(entry) => entry.text.source.len() + entry.text.html.len(),
            Entry::Edit(entry) => entry.text.source.len() + entry.text.html.len(),
            Entry::Delete(_) | Entry::React(_) => 0,
        }
    }
}

/// A message in its current state, with its frame encoded once for every
/// recipient, and what the server keeps about it beside the frame.
#[derive(Debug)]
pub struct Stored {
    pub message: ChatMessage,
    pub frame: Frame,
    /// The author's user id, if the name was owned.
    pub author: Option<String>,
    /// User ids whose mention badges it counts in.
    pub mentioned_users: Vec<String>,
}

impl Stored {
    pub fn new(
        message: ChatMessage,
        author: Option<String>,
        mentioned_users: Vec<String>,
    ) -> Arc<Self> {
        let frame = Frame::from(encode(&ServerFrame::Message(&message)));
        Arc::new(Stored {
            message,
            frame,
            author,
            mentioned_users,
        })
    }

    pub fn seq(&self) -> u64 {
        self.message.seq
    }

    pub fn version(&self) -> u64 {
        self.message.version
    }

    /// Whether it mentions `user` (a member of its room; every message in a
    /// direct message counts as mentioning the other person).
    pub fn mentions(&self, user: &str, direct: bool) -> bool {
        !self.message.deleted
            && self.author.as_deref() != Some(user)
            && (direct || self.message.everyone || self.mentioned_users.iter().any(|u| u == user))
    }
}

/// What became of one entry, reported after its batch committed (or failed).
#[derive(Debug)]
pub enum Outcome {
    /// Committed as `seq` of `room`: everyone in the room hears `frame` (a
    /// message, or the change), and `state` is the message as it now is.
    Logged {
        room: String,
        seq: u64,
        frame: Frame,
        state: Arc<Stored>,
    },
    /// Its `cid` was already committed for this user: the sender gets
    /// `frame` back (what was committed then, as it is now), nobody else
    /// hears anything.
    Duplicate { conn: ConnId, frame: Frame },
    /// Not allowed (not the author, no such message, too many reactions...).
    Refused { conn: ConnId, refusal: Refusal },
    /// Could not be stored; nothing was broadcast.
    Failed {
        conn: ConnId,
        cid: Option<String>,
        reason: String,
    },
}

// What every backend shares: the frames of the log's entries, refusals,
// and how a message's mentions are kept. Pure: no I/O.

/// Most different emoji on one message.
pub const MAX_REACTIONS: usize = 20;
/// What a deleted message says in place of its text, for clients that do
/// not know `deleted`.
pub const TOMBSTONE: &str = "message deleted";

/// The kinds of entry the `changes` table of a backend records.
pub const EDIT: &str = "edit";
pub const DELETE: &str = "delete";
pub const REACT: &str = "react";

/// A message's mentions as a backend keeps them (JSON in one column).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Mentions {
    pub names: Vec<String>,
    pub everyone: bool,
    pub here: bool,
    /// User ids whose badges it counts in.
    pub users: Vec<String>,
}

impl Mentions {
    /// The column's value for `text`: `None` when it mentions nobody.
    pub fn of(text: &Text) -> Option<String> {
        let none = text.mentions.is_empty() && !text.everyone && !text.here;
        (!none).then(|| {
            serde_json::to_string(&Mentions {
                names: text.mentions.clone(),
                everyone: text.everyone,
                here: text.here,
                users: text.mentioned_users.clone(),
            })
            .expect("mentions serialize")
        })
    }

    /// Read back from the column.
    pub fn parse(column: Option<&str>) -> Mentions {
        column
            .and_then(|json| serde_json::from_str(json).ok())
            .unwrap_or_default()
    }
}

/// Whether a message's rendered text links anywhere (for `has:link`).
pub fn has_links(text: &Text) -> bool {
    text.html.contains("<a ")
}

/// Who a reaction belongs to: an owned name's user id, so every tab and
/// every later name count as one person; otherwise the name.
pub fn reactor(sender: &Sender) -> String {
    match &sender.user_id {
        Some(user) => user.clone(),
        None => format!("~{}", sender.username.to_lowercase()),
    }
}

pub fn logged(sender: &Sender, seq: u64, frame: Frame, state: Arc<Stored>) -> Outcome {
    Outcome::Logged {
        room: sender.room.clone(),
        seq,
        frame,
        state,
    }
}

pub fn edit_frame(state: &Stored, seq: u64, username: &str, cid: Option<&str>) -> Frame {
    let message = &state.message;
    Frame::from(encode(&ServerFrame::Edit {
        room: &message.room,
        seq,
        target: message.seq,
        username,
        message: &message.message,
        html: &message.html,
        edited: message.edited.unwrap_or(message.timestamp),
        mentions: &message.mentions,
        everyone: message.everyone,
        here: message.here,
        big: message.big,
        cid,
    }))
}

pub fn delete_frame(room: &str, seq: u64, target: u64, username: &str, cid: Option<&str>) -> Frame {
    Frame::from(encode(&ServerFrame::Delete {
        room,
        seq,
        target,
        username,
        cid,
    }))
}

/// A reaction entry: `username` gave (`on`) or took back `emoji` on
/// message `target`.
pub struct ReactionFrame<'a> {
    pub room: &'a str,
    pub seq: u64,
    pub target: u64,
    pub username: &'a str,
    pub emoji: &'a str,
    pub on: bool,
    pub cid: Option<&'a str>,
}

/// Adds `name`'s `emoji` on message `seq` to `reactions`, read row by row:
/// one entry per emoji, its users in the order read.
pub fn add_reaction(
    reactions: &mut std::collections::HashMap<u64, Vec<crate::protocol::Reaction>>,
    seq: u64,
    emoji: String,
    name: String,
) {
    let on = reactions.entry(seq).or_default();
    match on.iter_mut().find(|r| r.emoji == emoji) {
        Some(reaction) => reaction.users.push(name),
        None => on.push(crate::protocol::Reaction {
            emoji,
            users: vec![name],
        }),
    }
}

pub fn react_frame(reaction: ReactionFrame<'_>) -> Frame {
    Frame::from(encode(&ServerFrame::React {
        room: reaction.room,
        seq: reaction.seq,
        target: reaction.target,
        username: reaction.username,
        emoji: reaction.emoji,
        on: reaction.on,
        cid: reaction.cid,
    }))
}

pub fn refused_not_found(sender: &Sender, target: u64) -> Outcome {
    refuse(
        sender,
        Refusal::new(
            ErrorCode::NotFound,
            format!("there is no message {target} here"),
        )
        .detail("no_message")
        .param("target", target),
    )
}

fn refuse(sender: &Sender, refusal: Refusal) -> Outcome {
    Outcome::Refused {
        conn: sender.conn,
        refusal: refusal
            .with_cid(sender.cid.clone())
            .with_room(Some(sender.room.clone())),
    }
}

/// Why an edit is refused by the window, if it is: `now - sent` past
/// `window` (ms).
pub fn outside_window(
    sender: &Sender,
    sent: i64,
    now: i64,
    window: Option<i64>,
) -> Option<Outcome> {
    let window = window?;
    (now - sent > window).then(|| {
        let minutes = window / 60_000;
        refuse(
            sender,
            Refusal::new(
                ErrorCode::Forbidden,
                format!("messages can be edited for {minutes} minutes after they are sent"),
            )
            .detail("edit_window")
            .param("count", minutes),
        )
    })
}

/// Whether `on` would add an emoji past [`MAX_REACTIONS`] to `target`.
pub fn too_many_reactions(
    sender: &Sender,
    target: &Stored,
    emoji: &str,
    on: bool,
) -> Option<Outcome> {
    let message = &target.message;
    let new_emoji = !message.reactions.iter().any(|r| r.emoji == emoji);
    (on && new_emoji && message.reactions.len() >= MAX_REACTIONS).then(|| {
        refuse(
            sender,
            Refusal::new(
                ErrorCode::Forbidden,
                format!("a message takes at most {MAX_REACTIONS} different reactions"),
            )
            .detail("too_many_reactions")
            .param("max", MAX_REACTIONS),
        )
    })
}

/// The name a host action is sent under: reserved, so no one can take it.
pub const SYSTEM: &str = "system";

/// A system event's column value (JSON), if it is one.
pub fn system_column(event: Option<&crate::protocol::SystemEvent>) -> Option<String> {
    event.map(|event| serde_json::to_string(event).expect("events serialize"))
}

/// A system event read back from its column.
pub fn parse_system(column: Option<&str>) -> Option<crate::protocol::SystemEvent> {
    serde_json::from_str(column?).ok()
}

/// Refuses `verb` on `message` unless the sender's owned name wrote it.
pub fn not_the_author(sender: &Sender, message: &Stored, verb: &str) -> Option<Outcome> {
    let theirs = sender.user_id.is_some() && message.author == sender.user_id;
    (!theirs).then(|| {
        refuse(
            sender,
            Refusal::new(
                ErrorCode::Forbidden,
                format!("only its author can {verb} a message"),
            )
            .detail("not_author"),
        )
    })
}
