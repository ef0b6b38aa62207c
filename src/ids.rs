//! Identifiers that several modules pass around.

use std::sync::Arc;

/// One WebSocket connection, unique for the life of the process.
pub type ConnId = u64;

/// An owned name's stable id: it survives renames and device moves, so
/// rooms refer to users by it.
pub type UserId = Arc<str>;

/// `N` random bytes from the OS. Failing means the machine cannot make
/// secrets at all, and handing out guessable ones would be worse than
/// stopping.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the OS random number generator failed");
    bytes
}

/// Bytes as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new private room's id: `p:` and 64 random bits. No room name can hold a
/// `:`, so no one's `create_room` can collide with it, and nobody can guess
/// it to find out that the room exists.
pub fn private_room_id() -> String {
    format!("p:{}", hex(&random_bytes::<8>()))
}
