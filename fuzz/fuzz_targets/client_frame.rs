//! Any bytes as a client text frame: the decoder never panics, and what it
//! accepts as a chat message obeys the documented limits.
#![no_main]

use lanchat::{ClientFrame, MAX_CID_CHARS, MAX_MESSAGE_CHARS, parse_client_frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_client_frame(text, MAX_MESSAGE_CHARS) {
        Ok(ClientFrame::Message {
            message,
            cid,
            files,
            ..
        }) => {
            // Text, or files to share, or both.
            assert!(!message.trim().is_empty() || !files.is_empty());
            assert!(message.chars().count() <= MAX_MESSAGE_CHARS);
            if let Some(cid) = cid {
                assert!(!cid.is_empty() && cid.chars().count() <= MAX_CID_CHARS);
            }
        }
        Ok(_) => {}
        Err(refusal) => assert!(!refusal.message.is_empty()),
    }
});
