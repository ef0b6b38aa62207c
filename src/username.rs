//! Which usernames are allowed, how the raw path segment becomes one, and
//! when two names look alike.

use percent_encoding::percent_decode_str;
use unicode_normalization::UnicodeNormalization;
use unicode_security::confusable_detection::skeleton;

use crate::protocol::{ErrorCode, Refusal};

/// Longest username, in characters.
pub const MAX_USERNAME_CHARS: usize = 32;

/// The name the page uses for server notices; nobody may take it.
const RESERVED: &str = "system";

/// Why a name is not a username.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadName {
    #[error("username is not valid UTF-8")]
    NotUtf8,
    #[error("username is empty")]
    Empty,
    #[error("username is {0} characters; the limit is {MAX_USERNAME_CHARS}")]
    TooLong(usize),
    #[error("username may not contain U+{:04X} (control, invisible or path characters)", *.0 as u32)]
    Forbidden(char),
    #[error("\"{0}\" is reserved")]
    Reserved(String),
}

impl BadName {
    /// The `invalid_username` refusal that says so, with its detail.
    pub fn refusal(&self) -> Refusal {
        let refusal = Refusal::new(ErrorCode::InvalidUsername, self.to_string());
        match self {
            BadName::NotUtf8 => refusal.detail("name_not_utf8"),
            BadName::Empty => refusal.detail("name_empty"),
            BadName::TooLong(chars) => refusal
                .detail("name_too_long")
                .param("chars", *chars)
                .param("max", MAX_USERNAME_CHARS),
            BadName::Forbidden(bad) => refusal
                .detail("name_forbidden_char")
                .param("char", format!("U+{:04X}", *bad as u32)),
            BadName::Reserved(name) => refusal.detail("name_reserved").param("name", name.as_str()),
        }
    }
}

/// Turns a raw `/ws/:username` segment (or a `rename` value, with
/// `percent_decode` false) into a valid username, or says why it is not one.
/// Names are NFKC-normalized, so compatibility forms (fullwidth letters,
/// ligatures) become the ordinary characters they stand for.
pub fn parse_username(raw: &str, percent_decode: bool) -> Result<String, BadName> {
    let decoded = if percent_decode {
        percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| BadName::NotUtf8)?
            .into_owned()
    } else {
        raw.to_owned()
    };
    let normalized: String = decoded.nfkc().collect();
    let name = normalized.trim();
    let chars = name.chars().count();
    if chars == 0 {
        return Err(BadName::Empty);
    }
    if chars > MAX_USERNAME_CHARS {
        return Err(BadName::TooLong(chars));
    }
    if let Some(bad) = name.chars().find(|&c| is_forbidden(c)) {
        return Err(BadName::Forbidden(bad));
    }
    if name.eq_ignore_ascii_case(RESERVED) {
        return Err(BadName::Reserved(name.to_owned()));
    }
    Ok(name.to_owned())
}

/// What `name` looks like: two names with the same key are hard to tell
/// apart on screen, so "bob", "Bob" and "bоb" (with a Cyrillic о) share one.
/// It is the UTS #39 confusable skeleton, lowercased, and skeletonized again:
/// lowercasing first would turn some look-alike capitals (Cherokee Ꮟ for b)
/// into letters that no longer map, and the second pass catches lowercase
/// look-alikes that lowercasing produced.
pub fn look_alike_key(name: &str) -> String {
    let first: String = skeleton(name).collect();
    skeleton(&first.to_lowercase()).collect()
}

/// Control characters, characters that render as nothing or reorder text
/// (so two names could look alike), and path separators.
fn is_forbidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '/' | '\\'
                | '\u{00AD}' // soft hyphen
                | '\u{034F}' // combining grapheme joiner
                | '\u{061C}' // Arabic letter mark
                | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' // Hangul fillers
                | '\u{180E}' // Mongolian vowel separator
                | '\u{200B}'..='\u{200F}' // zero-width space/joiners, LRM, RLM
                | '\u{2028}'..='\u{202E}' // line/paragraph separators, bidi embeddings and overrides
                | '\u{2060}'..='\u{206F}' // word joiner, invisible operators, bidi isolates
                | '\u{FE00}'..='\u{FE0F}' // variation selectors
                | '\u{FEFF}' // byte order mark
                | '\u{FFF9}'..='\u{FFFB}' // interlinear annotation
                | '\u{E0000}'..='\u{E007F}' // tags
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names_and_trims() {
        assert_eq!(parse_username("alice", true).unwrap(), "alice");
        assert_eq!(
            parse_username("%20Ana%20Lu%C3%ADsa%20", true).unwrap(),
            "Ana Luísa"
        );
        assert_eq!(parse_username("  bob ", false).unwrap(), "bob");
        assert_eq!(parse_username("李雷", false).unwrap(), "李雷");
        assert_eq!(parse_username(&"x".repeat(32), false).unwrap().len(), 32);
    }

    #[test]
    fn refuses_bad_names() {
        let bad = [
            "",
            "%20%20",
            "%00",
            "..%2f",
            "a%2Fb",
            "%E2%80%8B",     // zero-width space
            "ab%E2%80%AEcd", // right-to-left override
            "%FF",           // not UTF-8
            "system",
            "SYSTEM",
            "SyStEm",
            "tab%09name",
        ];
        for raw in bad {
            assert!(
                parse_username(raw, true).is_err(),
                "{raw:?} should be refused"
            );
        }
        assert!(parse_username(&"x".repeat(33), true).is_err());
        assert!(parse_username(&"é".repeat(33), false).is_err());
    }

    /// A cheap stand-in for the fuzz target (`fuzz/`), run with every
    /// `cargo test`: random strings never panic and accepted names obey the
    /// rules.
    #[test]
    fn random_input_never_panics_and_accepted_names_are_valid() {
        let alphabet: Vec<char> = "aZ9 %2fF0E28BAE/\\\u{0}\u{200B}\u{202E}sytemSYTEM\t\né李"
            .chars()
            .collect();
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 40) as usize;
            let raw: String = (0..len)
                .map(|i| alphabet[((state >> (i % 50)) as usize + i * 7) % alphabet.len()])
                .collect();
            for decode in [true, false] {
                if let Ok(name) = parse_username(&raw, decode) {
                    assert!((1..=MAX_USERNAME_CHARS).contains(&name.chars().count()));
                    assert_eq!(name.trim(), name);
                    assert!(!name.chars().any(is_forbidden));
                    assert!(!name.eq_ignore_ascii_case(RESERVED));
                }
            }
        }
    }

    #[test]
    fn compatibility_forms_become_ordinary_letters() {
        assert_eq!(parse_username("ｂｏｂ", false).unwrap(), "bob");
        assert_eq!(parse_username("%EF%BD%82ob", true).unwrap(), "bob");
        assert_eq!(parse_username("ﬁona", false).unwrap(), "fiona");
    }

    #[test]
    fn look_alikes_share_a_key_and_different_names_do_not() {
        let bob = look_alike_key("bob");
        for alike in ["Bob", "BOB", "b\u{043E}b", "b\u{03BF}b", "bo\u{13CF}"] {
            assert_eq!(look_alike_key(alike), bob, "{alike:?}");
        }
        assert_eq!(look_alike_key("rn"), look_alike_key("m"));
        for other in ["rob", "bobby", "b0b2", "ana"] {
            assert_ne!(look_alike_key(other), bob, "{other:?}");
        }
    }

    #[test]
    fn rename_values_are_not_percent_decoded() {
        assert_eq!(parse_username("100%25", false).unwrap(), "100%25");
    }
}
