//! Frames from the server, and the records they carry.

use serde::{Deserialize, Serialize};

use super::{CallLimits, CallSummary, HostView, Refusal, SystemEvent};

/// A stored chat message, as sent live and in history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub id: String,
    pub seq: u64,
    pub room: String,
    pub username: String,
    pub message: String,
    /// Milliseconds since the Unix epoch, taken by the server.
    pub timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cid: Option<String>,
    /// The text as HTML: rendered once from its markdown and sanitized, the
    /// only HTML a page inserts. Empty for a deleted message.
    pub html: String,
    /// The seq of the last change to it: its own seq until it is edited,
    /// deleted or reacted to. A resume replays messages whose version is past
    /// the client's seq, in their current state.
    pub version: u64,
    /// When it was last edited, in ms since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited: Option<i64>,
    /// A tombstone: its text and files are gone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    /// The seq of the message it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<u64>,
    /// The names it mentions, and whether it mentions everyone (`@room`) or
    /// everyone online (`@here`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub everyone: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub here: bool,
    /// One to three emoji and nothing else: shown large.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub big: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
    /// Files shared with it, in the order the sender gave them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileInfo>,
    /// The sender wrote no text: `message` describes the files, for clients
    /// that do not show them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub generated: bool,
    /// A host action shown in the room (from `system`): the page words it;
    /// `message` describes it in English for clients that do not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<SystemEvent>,
    /// A tombstone the host made, not the author.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
    /// Posted by a bot (`POST /api/rooms/<room>/messages`), under its name.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bot: bool,
}

/// One run of a search result's snippet: matched or not. Data for the page
/// to show as text, never HTML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnippetPart {
    pub text: String,
    #[serde(rename = "match")]
    pub matched: bool,
}

/// A search result: the message in its current state, and its snippet.
#[derive(Debug, Clone, Serialize)]
pub struct SearchResult<'a> {
    #[serde(flatten)]
    pub message: &'a ChatMessage,
    pub snippet: Vec<SnippetPart>,
}

/// One emoji on a message, and who put it there (each person once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    pub emoji: String,
    pub users: Vec<String>,
}

/// A file as a message carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    pub id: String,
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// Sniffed from the content, not taken from the sender.
    #[serde(rename = "type")]
    pub mime: String,
    /// Where to fetch it: `/files/<id>/<name>`.
    pub url: String,
    /// For images: the size as shown (orientation applied) and a thumbnail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb: Option<String>,
}

/// A room as one member sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoomSummary {
    /// Its id, which frames about it carry.
    pub room: String,
    /// What to call it: a public room's id, a private room's own name, the
    /// other person of a direct message.
    pub name: String,
    /// "public", "private" or "dm".
    pub kind: &'static str,
    /// The room's latest seq.
    pub seq: u64,
    pub last_read: u64,
    /// Messages after `last_read`, and how many of them mention this user.
    pub unread: u64,
    pub mentions: u64,
    /// This member's settings: a muted room shows no badge and makes no
    /// sound; `notify` is "all", "mentions" or "nothing".
    pub muted: bool,
    pub notify: &'static str,
    /// Member names (empty for the lobby, where everyone is).
    pub members: Vec<String>,
    /// The members online now, so a client that is not told of everyone's
    /// comings and goings (see `roster`) still knows these.
    pub online: Vec<String>,
    /// For a direct-message room, the other person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
}

/// A room this user was invited to and has not joined yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invitation<'a> {
    pub room: &'a str,
    pub name: &'a str,
}

/// The limits a client must keep to, announced in `welcome`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Limits {
    /// Messages per second per user; 0 means no limit.
    pub rate: f64,
    /// Messages a user may send at once before `rate` applies.
    pub burst: u32,
    /// Longest message, in characters.
    pub message_chars: usize,
    /// Largest WebSocket frame, in bytes.
    pub frame_bytes: usize,
    /// How long after sending a message may be edited, in ms; left out when
    /// there is no limit (`--edit-window-minutes 0`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edit_window_ms: Option<u64>,
    /// What calls allow; left out when this server has calls off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calls: Option<CallLimits>,
}

/// A public room in a listing.
#[derive(Debug, Clone, Serialize)]
pub struct PublicRoom<'a> {
    pub room: &'a str,
    pub members: usize,
}

/// A frame from the server. Encode with [`encode`].
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame<'a> {
    /// Encode with [`with_users`].
    Welcome {
        protocol: u32,
        username: &'a str,
        room: &'a str,
        /// The room's latest `seq`, 0 when it is empty.
        seq: u64,
        /// Changes only when the history starts over (new file, or a
        /// restarted `--memory` server): then old seqs mean nothing.
        history_id: &'a str,
        /// How many names are online, this one included.
        online: usize,
        /// Whether `users` lists everyone online. Past the roster limit it
        /// lists only this user and the people sharing a room with them.
        complete: bool,
        /// Whether this connection owns its name.
        claimed: bool,
        /// A newly issued token for the name; the client must keep it.
        #[serde(skip_serializing_if = "Option::is_none")]
        token: Option<&'a str>,
        /// What this server allows, so a client can pace itself.
        limits: Limits,
        /// Owners only: every room they belong to, and pending invitations.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        rooms: Vec<RoomSummary>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        invitations: Vec<Invitation<'a>>,
    },
    /// A room this user now belongs to (or its current state).
    Room(&'a RoomSummary),
    RoomLeft {
        room: &'a str,
    },
    Invited {
        room: &'a str,
        name: &'a str,
        by: &'a str,
    },
    InviteLink {
        room: &'a str,
        secret: &'a str,
    },
    SearchResults {
        query: &'a str,
        results: Vec<SearchResult<'a>>,
        /// On a first page, how many match in all (counted up to 1,000).
        #[serde(skip_serializing_if = "Option::is_none")]
        total: Option<u64>,
        /// The search ran out of time: these are what it found by then;
        /// `next` goes on from there.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        partial: bool,
        /// Where the next page starts (send it as `before`).
        #[serde(skip_serializing_if = "Option::is_none")]
        next: Option<String>,
    },
    /// This user's read mark for a room moved (from any of its tabs).
    Read {
        room: &'a str,
        seq: u64,
        unread: u64,
        mentions: u64,
    },
    RoomList {
        rooms: Vec<PublicRoom<'a>>,
    },
    Pong,
    TransferCode {
        code: &'a str,
        /// When the code stops working, in ms since the epoch.
        expires: i64,
    },
    Message(&'a ChatMessage),
    /// Message `target` was edited; this is change `seq` of the room.
    Edit {
        room: &'a str,
        seq: u64,
        target: u64,
        username: &'a str,
        message: &'a str,
        html: &'a str,
        edited: i64,
        #[serde(skip_serializing_if = "<[String]>::is_empty")]
        mentions: &'a [String],
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        everyone: bool,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        here: bool,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        big: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        cid: Option<&'a str>,
    },
    /// Message `target` was deleted.
    Delete {
        room: &'a str,
        seq: u64,
        target: u64,
        username: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        cid: Option<&'a str>,
    },
    /// `username` added (`on`) or took back a reaction on message `target`.
    React {
        room: &'a str,
        seq: u64,
        target: u64,
        username: &'a str,
        emoji: &'a str,
        on: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        cid: Option<&'a str>,
    },
    Join {
        room: &'a str,
        username: &'a str,
        timestamp: i64,
    },
    Leave {
        room: &'a str,
        username: &'a str,
        timestamp: i64,
    },
    /// Several presence changes at once, sent instead of one `join` or
    /// `leave` each during a connect storm (see `hub`). A client applies it
    /// as a set: add `joined`, remove `left`.
    Presence {
        room: &'a str,
        joined: Vec<&'a str>,
        left: Vec<&'a str>,
        timestamp: i64,
    },
    /// The lobby passed the roster limit (`complete: false`: names are no
    /// longer listed) or fell back under it (`complete: true`, encoded with
    /// [`with_users`] listing everyone).
    Roster {
        complete: bool,
        online: usize,
    },
    /// How many are online, while the roster is incomplete.
    Online {
        online: usize,
        timestamp: i64,
    },
    /// The answer to `who`; encode with [`with_users`].
    Who {
        prefix: &'a str,
        online: usize,
    },
    Rename {
        room: &'a str,
        from: &'a str,
        to: &'a str,
        timestamp: i64,
    },
    Typing {
        room: &'a str,
        username: &'a str,
        active: bool,
    },
    /// A room's call: who is in it and what they send; with nobody in it,
    /// it is over.
    Call(&'a CallSummary),
    /// This connection is in the room's call as participant `id`.
    CallJoined {
        room: &'a str,
        id: u64,
    },
    /// This connection is no longer in the room's call, and why: `left`,
    /// `elsewhere` (the same person joined from another tab or device),
    /// `lost` (its media stopped arriving), `unreachable` (its media never
    /// reached the server), `removed` (it left the room).
    CallLeft {
        room: &'a str,
        reason: &'static str,
    },
    /// The server's offer: more (or fewer) tracks to receive.
    CallOffer {
        room: &'a str,
        sdp: &'a str,
    },
    /// The answer to this connection's `call_offer`.
    CallAnswer {
        room: &'a str,
        sdp: &'a str,
    },
    /// `username` declined the call.
    CallDeclined {
        room: &'a str,
        username: &'a str,
    },
    /// What the host sees (see [`HostView`]): the answer to every host
    /// action, and to every host connection when it changes.
    HostState(&'a HostView),
    /// A room's rules, set by the host: after `welcome` for each room one
    /// can see that has any, and to its audience when they change.
    Rules {
        room: &'a str,
        slow: u32,
        read_only: bool,
        locked: bool,
        closed: bool,
        keep: super::Keep,
    },
    /// Event mode: the event's name and when it ends (ms; left out: when
    /// the host ends it); once over, when (`ended`) and when the data is
    /// deleted (`wipe_at`; left out with `keep`). After `welcome`, and to
    /// everyone at the end.
    Event {
        name: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        ends: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        ended: Option<i64>,
        keep: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        wipe_at: Option<i64>,
        /// How long after the end the data is deleted.
        grace_ms: u64,
    },
    /// The room's pinned announcement, shown until dismissed: after
    /// `welcome` for each room one can see that has one, and to its
    /// audience when the host pins one.
    Pinned {
        room: &'a str,
        seq: u64,
        /// The host's words (markdown), and as HTML, rendered and sanitized.
        message: &'a str,
        html: &'a str,
        timestamp: i64,
    },
    /// The answer to the host's `create_bot`: the bot's token, shown this
    /// once (the server keeps only its hash).
    BotToken {
        id: &'a str,
        name: &'a str,
        token: &'a str,
    },
    /// The room's messages up to `through` expired (its retention): they
    /// are gone from the server; a page drops what it shows of them.
    Expired {
        room: &'a str,
        through: u64,
    },
    /// The host took down the room's pinned announcement.
    Unpinned {
        room: &'a str,
    },
    /// The room's raised hands, in the order they went up.
    Hands {
        room: &'a str,
        queue: &'a [String],
    },
    /// The host removed this connection (a kick or a ban), which closes
    /// next; `until` is when a ban ends (left out: for good, or a kick).
    Removed {
        reason: &'a str,
        banned: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        until: Option<i64>,
    },
    Error {
        code: &'static str,
        message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<&'static str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        params: Option<&'a serde_json::Map<String, serde_json::Value>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        cid: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        room: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
}

impl<'a> ServerFrame<'a> {
    pub fn error(refusal: &'a Refusal) -> Self {
        ServerFrame::Error {
            code: refusal.code.as_str(),
            message: &refusal.message,
            detail: refusal.detail.as_ref().map(|detail| detail.name),
            params: refusal
                .detail
                .as_ref()
                .map(|detail| &detail.params)
                .filter(|params| !params.is_empty()),
            cid: refusal.cid.as_deref(),
            room: refusal.room.as_deref(),
            retry_after_ms: refusal.retry_after_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ErrorCode, LOBBY, PROTOCOL_VERSION, encode, with_users};
    use serde_json::{Value, json};

    #[test]
    fn server_frames_have_the_documented_shape() {
        let message = ChatMessage {
            id: "u".into(),
            seq: 3,
            room: LOBBY.into(),
            username: "alice".into(),
            message: "hi".into(),
            timestamp: 42,
            cid: Some("c".into()),
            html: "<p>hi</p>\n".into(),
            version: 3,
            edited: None,
            deleted: false,
            reply_to: None,
            mentions: Vec::new(),
            everyone: false,
            here: false,
            big: false,
            reactions: Vec::new(),
            files: Vec::new(),
            generated: false,
            system: None,
            removed: false,
            bot: false,
        };
        let value: Value = serde_json::from_str(&encode(&ServerFrame::Message(&message))).unwrap();
        assert_eq!(
            value,
            json!({"type":"message","id":"u","seq":3,"room":"lobby","username":"alice",
                   "message":"hi","timestamp":42,"cid":"c","html":"<p>hi</p>\n","version":3})
        );
        let refusal = Refusal::new(ErrorCode::TooLong, "long").with_cid(Some("c".into()));
        let value: Value = serde_json::from_str(&encode(&ServerFrame::error(&refusal))).unwrap();
        assert_eq!(
            value,
            json!({"type":"error","code":"too_long","message":"long","cid":"c"})
        );
        let refusal = Refusal::new(ErrorCode::RateLimited, "slow")
            .retry_after(std::time::Duration::from_micros(150_001));
        let value: Value = serde_json::from_str(&encode(&ServerFrame::error(&refusal))).unwrap();
        assert_eq!(
            value,
            json!({"type":"error","code":"rate_limited","message":"slow","retry_after_ms":151})
        );
        let refusal = Refusal::new(ErrorCode::Forbidden, "too late")
            .detail("edit_window")
            .param("count", 1440);
        let value: Value = serde_json::from_str(&encode(&ServerFrame::error(&refusal))).unwrap();
        assert_eq!(
            value,
            json!({"type":"error","code":"forbidden","message":"too late",
                   "detail":"edit_window","params":{"count":1440}})
        );
    }

    #[test]
    fn welcome_has_the_documented_shape() {
        let welcome = ServerFrame::Welcome {
            protocol: PROTOCOL_VERSION,
            username: "al\"ice",
            room: LOBBY,
            seq: 7,
            history_id: "h",
            online: 2,
            complete: true,
            claimed: false,
            token: None,
            limits: Limits {
                rate: 5.0,
                burst: 10,
                message_chars: 4000,
                frame_bytes: 65536,
                edit_window_ms: None,
                calls: None,
            },
            rooms: Vec::new(),
            invitations: Vec::new(),
        };
        let value: Value =
            serde_json::from_str(&with_users(&welcome, r#"["al\"ice","bob"]"#)).unwrap();
        assert_eq!(
            value,
            json!({"type":"welcome","protocol":1,"username":"al\"ice","room":"lobby",
                   "users":["al\"ice","bob"],"seq":7,"history_id":"h","online":2,
                   "complete":true,"claimed":false,
                   "limits":{"rate":5.0,"burst":10,"message_chars":4000,"frame_bytes":65536}})
        );
    }
}
