//! Who hears a frame.
//!
//! Every frame the server sends beyond the connection that asked for it goes
//! to an [`Audience`] through [`crate::hub::Hub::send`]. A room's audience
//! comes from [`crate::rooms::Rooms::audience`]: everyone for the lobby, the
//! members for any other room. So "who hears this" is decided in those two
//! places and nowhere else.

use crate::ids::{ConnId, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Every connection: the lobby, where everyone is.
    Everyone,
    /// Every connection of each of these users: a room's members.
    Users(Vec<UserId>),
    /// One connection: a reply that arrives later, like a message's outcome.
    Connection(ConnId),
}

impl Audience {
    /// Every connection (tab) of one user.
    pub fn user(user: &UserId) -> Audience {
        Audience::Users(vec![user.clone()])
    }
}
