//! Identifiers that several modules pass around.

use std::sync::Arc;

/// One WebSocket connection, unique for the life of the process.
pub type ConnId = u64;

/// An owned name's stable id: it survives renames and device moves, so
/// rooms refer to users by it.
pub type UserId = Arc<str>;
