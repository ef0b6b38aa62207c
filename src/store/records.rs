//! What the store keeps and hands back besides the log (see [`super::log`]):
//! pages of history, name claims, rooms and files, as plain values every
//! backend reads and writes.

use std::sync::Arc;

use super::log::Stored;
use crate::protocol::FileInfo;

/// A slice of a room's history, oldest first.
#[derive(Debug, Default)]
pub struct Page {
    pub messages: Vec<Arc<Stored>>,
    /// Older messages exist before the first one here.
    pub has_more: bool,
    /// On a page that may end before the room's latest (around a message
    /// or a date): whether newer messages exist after the last one here.
    pub has_newer: Option<bool>,
}

/// A room read back to its first message, a page at a time (each page
/// before the previous one's first message), then handed out oldest first.
pub struct Backwards {
    pages: Vec<Vec<Arc<Stored>>>,
    before: u64,
}

impl Backwards {
    pub fn new() -> Self {
        Backwards {
            pages: Vec::new(),
            before: u64::MAX,
        }
    }

    /// The seq the next page must end before.
    pub fn before(&self) -> u64 {
        self.before
    }

    /// Keeps `page`; whether older messages remain to be read.
    pub fn take(&mut self, page: Page) -> bool {
        let Some(first) = page.messages.first() else {
            return false;
        };
        self.before = first.seq();
        self.pages.push(page.messages);
        page.has_more
    }

    /// Every message read, oldest first, in its current state.
    pub fn messages(self) -> Vec<crate::protocol::ChatMessage> {
        self.pages
            .into_iter()
            .rev()
            .flatten()
            .map(|stored| stored.message.clone())
            .collect()
    }
}

/// A claimed name as stored: only a hash of its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRecord {
    /// Stable across renames; rooms refer to users by it.
    pub user_id: String,
    pub name: String,
    pub token_hash: [u8; 32],
    /// Milliseconds since the epoch.
    pub last_seen: i64,
}

/// A finished upload, as stored. Its bytes are the blob named by `sha256`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    /// The upload's id: random, so it cannot be guessed.
    pub id: String,
    /// SHA-256 of the content, in hex: the key of its blob. Two uploads of the
    /// same bytes share one.
    pub sha256: String,
    pub name: String,
    pub size: u64,
    /// Sniffed from the bytes.
    pub mime: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// The thumbnail's blob, for images.
    pub thumb: Option<String>,
    /// Where it may be shared; only this room's members may fetch it.
    pub room: String,
    /// The user id of whoever uploaded it.
    pub uploader: String,
    /// Milliseconds since the epoch.
    pub created: i64,
}

impl FileRecord {
    /// As a message carries it.
    pub fn info(&self) -> FileInfo {
        let name = percent_encoding::utf8_percent_encode(&self.name, URL_PART).to_string();
        FileInfo {
            id: self.id.clone(),
            name: self.name.clone(),
            size: self.size,
            mime: self.mime.clone(),
            url: format!("/files/{}/{name}", self.id),
            width: self.width,
            height: self.height,
            thumb: self.thumb.as_ref().map(|_| format!("/thumbs/{}", self.id)),
        }
    }
}

/// What a file name may keep as it is in a URL path segment.
const URL_PART: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// What kind of room a room is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Anyone may join.
    Public,
    /// Only members see it; entered by invitation or an invite link.
    Private,
    /// Exactly two users, for direct messages.
    Direct,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Public => "public",
            Kind::Private => "private",
            Kind::Direct => "dm",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        match text {
            "public" => Some(Kind::Public),
            "private" => Some(Kind::Private),
            "dm" => Some(Kind::Direct),
            _ => None,
        }
    }
}

/// What a member wants to hear about a room.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Notify {
    All,
    /// Only messages that mention them (and every message of a DM): the
    /// default, so a busy lobby does not ring for every message.
    #[default]
    Mentions,
    Nothing,
}

impl Notify {
    pub fn as_str(self) -> &'static str {
        match self {
            Notify::All => "all",
            Notify::Mentions => "mentions",
            Notify::Nothing => "nothing",
        }
    }

    pub fn parse(text: &str) -> Option<Notify> {
        match text {
            "all" => Some(Notify::All),
            "mentions" => Some(Notify::Mentions),
            "nothing" => Some(Notify::Nothing),
            _ => None,
        }
    }
}

/// A member's settings for a room, kept on the server so they follow the
/// member across tabs and devices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemberSettings {
    /// No badge count and no sound.
    pub muted: bool,
    pub notify: Notify,
}

/// A room as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomRecord {
    /// Its id: a public room's name, `p:<hex>` for a private room,
    /// `dm:<hex>` for a direct message.
    pub room: String,
    /// What people call it.
    pub name: String,
    pub kind: Kind,
    pub invite_hash: Option<[u8; 32]>,
    /// Member user ids and their last read seq.
    pub members: Vec<(String, u64)>,
    /// Members whose settings are not the default.
    pub settings: Vec<(String, MemberSettings)>,
    /// User ids invited by name, not yet joined.
    pub invited: Vec<String>,
}

/// A change to rooms, stored in order with the messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomChange {
    Create {
        room: String,
        name: String,
        kind: Kind,
        created: i64,
    },
    Join {
        room: String,
        user: String,
    },
    Leave {
        room: String,
        user: String,
    },
    Invite {
        room: String,
        user: String,
    },
    InviteLink {
        room: String,
        hash: [u8; 32],
    },
    Read {
        room: String,
        user: String,
        seq: u64,
    },
    Settings {
        room: String,
        user: String,
        settings: MemberSettings,
    },
}

/// A change to names or rooms, queued to the store like a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Store a claim, replacing the one with its name.
    SaveClaim(ClaimRecord),
    /// Remove the claim on this name.
    DeleteClaim(String),
    Room(RoomChange),
    /// A finished upload.
    File(FileRecord),
    /// An upload no message shared in time, or whose last message went.
    DeleteFile(String),
    /// One of the host's rules (see [`crate::host`]): stored under `key`
    /// as JSON, or removed when `value` is `None`.
    Host {
        key: String,
        value: Option<String>,
    },
}

/// A frame for the connections of `to` on other instances sharing the
/// database (all but those under the name `except`), sent after the
/// changes queued before it.
#[derive(Debug, Clone)]
pub struct Relay {
    pub to: crate::audience::Audience,
    pub except: Option<String>,
    pub frame: crate::protocol::Frame,
}

/// What a backend found when it opened: everything the server rebuilds its
/// memory from.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Made when the history was created. A client that sees it change knows
    /// seqs started over (a new file, or `--memory` restarted).
    pub history_id: String,
    pub claims: Vec<ClaimRecord>,
    pub rooms: Vec<RoomRecord>,
    pub files: Vec<FileRecord>,
    /// The host's rules, as (key, JSON value).
    pub host: Vec<(String, String)>,
    /// The newest messages of each room, up to the tail's capacity.
    pub recent: Vec<RecentRoom>,
}

/// One room's newest messages as loaded, for the in-memory tail.
#[derive(Debug, Default)]
pub struct RecentRoom {
    pub room: String,
    /// Oldest first.
    pub messages: Vec<Arc<Stored>>,
    /// The room's latest seq (a message or a change).
    pub latest: u64,
    /// The newest version among messages older than these.
    pub outside: u64,
    /// Older messages than these exist.
    pub older_on_disk: bool,
}

/// A search, as the store runs it.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub query: crate::search::Query,
    /// The rooms to search: those the searcher can read now (narrowed by
    /// `in:`); nothing else is searched, or counted.
    pub rooms: Vec<String>,
    /// The searcher's user id, for `mentions:me`.
    pub user: Option<String>,
    /// For `from:`, the user id holding that name now, if it is owned, so
    /// what its owner wrote under an earlier name is found too.
    pub from_user: Option<String>,
    /// Where the last page ended.
    pub before: Option<Cursor>,
    pub limit: usize,
}

/// A position in search results, which come newest first in the order
/// they were stored: the index entry of the last result shown. Opaque to
/// clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor(pub i64);

impl Cursor {
    pub fn encode(self) -> String {
        self.0.to_string()
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        text.parse().ok().filter(|id| *id > 0).map(Cursor)
    }
}

/// A page of search results.
#[derive(Debug, Default)]
pub struct Found {
    /// Newest first, in their current state.
    pub messages: Vec<Arc<Stored>>,
    /// On a first page, how many match in all, counted up to a cap.
    pub total: Option<u64>,
    /// The search ran out of time: these are what it found by then
    /// (and `total` is at least that many).
    pub partial: bool,
    /// Where the next page starts, if there is one.
    pub next: Option<Cursor>,
}

/// Which of a room's messages have expired (see `crate::retention`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cutoff {
    /// Those sent before this moment (ms since the epoch).
    Before(i64),
    /// All but the newest this many.
    KeepLast(u32),
}

/// What expiring took from a room: its log up to `through` (every message,
/// and every change of them), and the files no message shares any more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired {
    pub room: String,
    pub through: u64,
    /// How many messages went.
    pub messages: u64,
    pub files: Vec<String>,
}

/// Why a search found nothing to say.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search is turned off on this server")]
    Off,
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}
