//! JSON lines: one message per line, in the protocol's own shape (a
//! `message` frame), so a program that reads the WebSocket reads these too.

use super::Archive;
use crate::protocol::{ServerFrame, encode};

pub fn render(archive: &Archive) -> String {
    let mut out = String::new();
    for room in &archive.rooms {
        for message in &room.messages {
            out.push_str(&encode(&ServerFrame::Message(message)));
            out.push('\n');
        }
    }
    out
}
