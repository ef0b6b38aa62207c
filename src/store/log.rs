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
use crate::protocol::{ChatMessage, Frame, Refusal, ServerFrame, encode};

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
