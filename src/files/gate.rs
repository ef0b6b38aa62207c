//! Who may upload and fetch files: the access key (when one is set), an
//! owned name's token, the page's origin, and membership of the file's room.

use std::sync::Arc;

use warp::http::{HeaderMap, StatusCode};

use super::{FileError, Files};
use crate::access::{self, Origin};
use crate::identity::Identity;
use crate::ids::UserId;
use crate::protocol::LOBBY;
use crate::rooms::Rooms;

/// What the file routes need to decide.
#[derive(Clone)]
pub struct FileAccess {
    pub files: Files,
    pub identity: Identity,
    pub rooms: Rooms,
    /// The access key, if one is set.
    pub key: Option<Arc<str>>,
    pub allowed_origins: Arc<[Origin]>,
}

impl FileAccess {
    /// Refuses a request without the access key, when one is set.
    pub fn check_key(&self, headers: &HeaderMap) -> Result<(), FileError> {
        match &self.key {
            Some(key) if !access::has_key(headers, key) => {
                Err(FileError::new(StatusCode::UNAUTHORIZED, "access key required").code("no_key"))
            }
            _ => Ok(()),
        }
    }

    /// Refuses a browser's request made by another site's page: a change
    /// (an upload) must come from our own page, as the WebSocket must.
    pub fn check_origin(&self, headers: &HeaderMap) -> Result<(), FileError> {
        access::check_origin(headers, &self.allowed_origins)
            .map_err(|reason| FileError::new(StatusCode::FORBIDDEN, reason).code("origin"))
    }

    /// The owned name behind the request's token, if any.
    pub fn requester(&self, headers: &HeaderMap) -> Option<UserId> {
        let token = access::token(headers)?;
        Some(self.identity.user_by_token(token)?.0)
    }

    /// The owned name behind the request's token; uploads need one.
    pub fn owner(&self, headers: &HeaderMap) -> Result<UserId, FileError> {
        self.requester(headers).ok_or_else(|| {
            FileError::new(
                StatusCode::UNAUTHORIZED,
                "uploads need an owned name: send its token in the Lanchat-Token header",
            )
            .code("not_owner")
        })
    }

    /// Whether `user` may see what is shared in `room`: everyone may in
    /// the lobby, only members anywhere else.
    pub fn may_read(&self, user: Option<&UserId>, room: &str) -> bool {
        room == LOBBY || user.is_some_and(|user| self.rooms.is_member(user, room))
    }
}
