//! Any bytes as a `/ws/:username` segment: validation never panics, and an
//! accepted name is trimmed, 1 to 32 characters, free of control characters
//! and path separators, not "system", and accepted again unchanged.
#![no_main]

use lanchat::{MAX_USERNAME_CHARS, parse_username};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(name) = parse_username(raw, true) {
        let chars = name.chars().count();
        assert!((1..=MAX_USERNAME_CHARS).contains(&chars));
        assert_eq!(name.trim(), name);
        assert!(!name.chars().any(|c| c.is_control() || c == '/' || c == '\\'));
        assert!(!name.eq_ignore_ascii_case("system"));
        assert_eq!(parse_username(&name, false).as_deref(), Ok(name.as_str()));
    }
});
