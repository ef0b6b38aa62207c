//! Refusals: what a client is told when a frame is not accepted.

/// Why a client frame was refused. The `code` strings are part of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadRequest,
    Empty,
    TooLong,
    InvalidUsername,
    NameTaken,
    InvalidCode,
    RateLimited,
    NotClaimed,
    InvalidRoom,
    RoomExists,
    NotFound,
    Forbidden,
    Unavailable,
    InvalidEmoji,
    /// A call already has as many cameras on as the server allows.
    CamerasFull,
    /// Someone else is sharing their screen in this call.
    ScreenTaken,
    /// The host muted this name: it may read, not post.
    Muted,
    /// Only the host posts in this room.
    ReadOnly,
    /// The host closed this room.
    Closed,
    /// The room's slow mode: `retry_after_ms` says when.
    SlowMode,
    /// The host locked this room: nobody new joins.
    Locked,
    /// The event is over: the chat is read-only.
    EventOver,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Empty => "empty",
            ErrorCode::TooLong => "too_long",
            ErrorCode::InvalidUsername => "invalid_username",
            ErrorCode::NameTaken => "name_taken",
            ErrorCode::InvalidCode => "invalid_code",
            ErrorCode::NotClaimed => "not_claimed",
            ErrorCode::InvalidRoom => "invalid_room",
            ErrorCode::RoomExists => "room_exists",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::InvalidEmoji => "invalid_emoji",
            ErrorCode::CamerasFull => "cameras_full",
            ErrorCode::ScreenTaken => "screen_taken",
            ErrorCode::Muted => "muted",
            ErrorCode::ReadOnly => "read_only",
            ErrorCode::Closed => "closed",
            ErrorCode::SlowMode => "slow_mode",
            ErrorCode::Locked => "locked",
            ErrorCode::EventOver => "event_over",
        }
    }
}

/// Which of a code's reasons a refusal is (`edit_window`), with the
/// numbers and names its words need (`{"count": 1440}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detail {
    pub name: &'static str,
    pub params: serde_json::Map<String, serde_json::Value>,
}

/// A refused frame: the code a program matches on, English words for logs
/// and simple clients, and (where one code covers several reasons) a
/// `detail` with `params`, from which a client says it in its own words
/// and language: `forbidden`, `edit_window`, `{"count": 1440}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
    /// Which of the code's reasons it is, and what its words need; boxed,
    /// as few refusals have one and a `Result` carries a refusal everywhere.
    pub detail: Option<Box<Detail>>,
    pub cid: Option<String>,
    /// The room the refused frame was about, so a client can tell which
    /// request failed.
    pub room: Option<String>,
    /// For `rate_limited`: when a retry would be allowed.
    pub retry_after_ms: Option<u64>,
}

impl Refusal {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
            detail: None,
            cid: None,
            room: None,
            retry_after_ms: None,
        }
    }

    /// Says which of the code's reasons this is.
    pub fn detail(mut self, name: &'static str) -> Self {
        self.detail = Some(Box::new(Detail {
            name,
            params: serde_json::Map::new(),
        }));
        self
    }

    /// A number or a name the reason's words need (after `detail`).
    pub fn param(mut self, name: &str, value: impl Into<serde_json::Value>) -> Self {
        if let Some(detail) = &mut self.detail {
            detail.params.insert(name.to_owned(), value.into());
        } else {
            debug_assert!(false, "a refusal's params go with a detail");
        }
        self
    }

    pub fn with_room(mut self, room: Option<String>) -> Self {
        self.room = self.room.or(room);
        self
    }

    pub fn with_cid(mut self, cid: Option<String>) -> Self {
        self.cid = cid;
        self
    }

    pub fn retry_after(mut self, wait: std::time::Duration) -> Self {
        // Rounded up, so a client that waits exactly this long is let in.
        self.retry_after_ms = Some(wait.as_nanos().div_ceil(1_000_000) as u64);
        self
    }
}
