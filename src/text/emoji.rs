//! Emoji: `:shortcode:`s in text, which emoji a reaction may be, whether a
//! message is only emoji, and the picker's data, all from the `emojis`
//! crate's copy of Unicode's list.

use std::sync::LazyLock;

use serde::Serialize;

/// The longest emoji, in bytes (a family with skin tones, a flag with tags).
const MAX_EMOJI_BYTES: usize = 40;
/// Messages of at most this many emoji, and nothing else, are shown large.
const BIG_EMOJI: usize = 3;

/// Replaces every `:shortcode:` that names an emoji; unknown ones stay.
pub fn replace_shortcodes(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(':') {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(':') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let code_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '+' || c == '-'))
            .unwrap_or(after.len());
        let code = &after[..code_len];
        match after[code_len..]
            .starts_with(':')
            .then(|| emojis::get_by_shortcode(code))
        {
            Some(Some(emoji)) if !code.is_empty() => {
                out.push_str(emoji.as_str());
                rest = &after[code_len + 1..];
            }
            _ => {
                out.push(':');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out.into()
}

/// The emoji `text` is, if it is exactly one (skin tones included).
pub fn as_emoji(text: &str) -> Option<&'static str> {
    emojis::get(text).map(emojis::Emoji::as_str)
}

/// Whether `text` is one to [`BIG_EMOJI`] emoji and nothing but spaces
/// besides, so the page shows it large.
pub fn is_big(text: &str) -> bool {
    let mut rest = text.trim();
    let mut count = 0;
    while !rest.is_empty() {
        // The longest prefix that is an emoji, so a family is one, not four.
        let longest = (1..=rest.len().min(MAX_EMOJI_BYTES))
            .rev()
            .filter(|&end| rest.is_char_boundary(end))
            .find(|&end| emojis::get(&rest[..end]).is_some());
        let Some(end) = longest else {
            return false;
        };
        count += 1;
        if count > BIG_EMOJI {
            return false;
        }
        rest = rest[end..].trim_start();
    }
    count > 0
}

/// The picker's data, made once: every emoji by group, with its name and
/// shortcodes, and whether it takes skin tones. A group has an `id` (stable,
/// for a page to name it in its reader's language) and an English `name`.
pub fn picker_json() -> &'static str {
    static JSON: LazyLock<String> = LazyLock::new(|| {
        #[derive(Serialize)]
        struct Group {
            id: &'static str,
            name: &'static str,
            emoji: Vec<Entry>,
        }
        #[derive(Serialize)]
        struct Entry {
            emoji: &'static str,
            name: &'static str,
            shortcodes: Vec<&'static str>,
            /// The five skin-tone variants, light to dark.
            #[serde(skip_serializing_if = "Vec::is_empty")]
            tones: Vec<&'static str>,
        }
        let groups: Vec<Group> = emojis::Group::iter()
            .map(|group| Group {
                id: group_id(group),
                name: group_name(group),
                emoji: group
                    .emojis()
                    .map(|emoji| Entry {
                        emoji: emoji.as_str(),
                        name: emoji.name(),
                        shortcodes: emoji.shortcodes().collect(),
                        tones: emoji
                            .skin_tones()
                            .map(|tones| tones.skip(1).map(emojis::Emoji::as_str).collect())
                            .unwrap_or_default(),
                    })
                    .collect(),
            })
            .collect();
        serde_json::to_string(&serde_json::json!({ "groups": groups }))
            .expect("the emoji list serializes")
    });
    &JSON
}

fn group_id(group: emojis::Group) -> &'static str {
    match group {
        emojis::Group::SmileysAndEmotion => "smileys_emotion",
        emojis::Group::PeopleAndBody => "people_body",
        emojis::Group::AnimalsAndNature => "animals_nature",
        emojis::Group::FoodAndDrink => "food_drink",
        emojis::Group::TravelAndPlaces => "travel_places",
        emojis::Group::Activities => "activities",
        emojis::Group::Objects => "objects",
        emojis::Group::Symbols => "symbols",
        emojis::Group::Flags => "flags",
    }
}

fn group_name(group: emojis::Group) -> &'static str {
    match group {
        emojis::Group::SmileysAndEmotion => "Smileys & emotion",
        emojis::Group::PeopleAndBody => "People & body",
        emojis::Group::AnimalsAndNature => "Animals & nature",
        emojis::Group::FoodAndDrink => "Food & drink",
        emojis::Group::TravelAndPlaces => "Travel & places",
        emojis::Group::Activities => "Activities",
        emojis::Group::Objects => "Objects",
        emojis::Group::Symbols => "Symbols",
        emojis::Group::Flags => "Flags",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortcodes_become_emoji_and_unknown_ones_stay() {
        assert_eq!(replace_shortcodes("party :tada: now"), "party 🎉 now");
        assert_eq!(replace_shortcodes(":+1::fire:"), "👍🔥");
        assert_eq!(
            replace_shortcodes("a :nope_not_one: b"),
            "a :nope_not_one: b"
        );
        assert_eq!(replace_shortcodes("10:30 and 11:45"), "10:30 and 11:45");
        assert_eq!(replace_shortcodes("::"), "::");
        assert_eq!(replace_shortcodes("ends with :"), "ends with :");
    }

    #[test]
    fn one_to_three_emoji_are_big() {
        assert!(is_big("🎉"));
        assert!(is_big(" 👍🏽 🔥🎉 "));
        assert!(is_big("👨‍👩‍👧‍👦"), "a family is one emoji");
        assert!(!is_big("🎉🎉🎉🎉"));
        assert!(!is_big("🎉 yes"));
        assert!(!is_big(""));
        assert!(!is_big("1"), "a digit is not an emoji on its own");
    }

    #[test]
    fn reactions_are_real_emoji() {
        assert_eq!(as_emoji("🎉"), Some("🎉"));
        assert_eq!(as_emoji("👍🏿"), Some("👍🏿"));
        assert_eq!(as_emoji("x"), None);
        assert_eq!(as_emoji("🎉🎉"), None);
    }

    #[test]
    fn the_picker_lists_groups_with_tones() {
        let value: serde_json::Value = serde_json::from_str(picker_json()).unwrap();
        let groups = value["groups"].as_array().unwrap();
        assert!(groups.len() >= 9);
        let all: Vec<&serde_json::Value> = groups
            .iter()
            .flat_map(|g| g["emoji"].as_array().unwrap())
            .collect();
        assert!(all.len() > 1500, "{} emoji", all.len());
        let thumbs = all.iter().find(|e| e["emoji"] == "👍").unwrap();
        assert_eq!(thumbs["tones"].as_array().unwrap().len(), 5);
        assert!(
            thumbs["shortcodes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s == "+1")
        );
    }
}
