//! A result's snippet: the text around what matched, the matched parts
//! marked, as data for the page to show as text (never as HTML).

pub use crate::protocol::SnippetPart as Part;

/// Characters of context kept before the first match and in all.
const BEFORE: usize = 60;
const LENGTH: usize = 200;

/// The part of `text` to show for `terms` (matched in any letter case): all
/// of it if short, else a window from a little before the first match.
pub fn snippet(text: &str, terms: &[String]) -> Vec<Part> {
    let chars: Vec<char> = text.chars().collect();
    let mut marked = vec![false; chars.len()];
    for term in terms {
        let term: Vec<char> = term.chars().flat_map(char::to_lowercase).collect();
        if term.is_empty() {
            continue;
        }
        for start in 0..chars.len() {
            if let Some(len) = match_len(&chars[start..], &term) {
                marked[start..start + len]
                    .iter_mut()
                    .for_each(|m| *m = true);
            }
        }
    }
    let first = marked.iter().position(|&m| m).unwrap_or(0);
    let (from, to) = if chars.len() <= LENGTH {
        (0, chars.len())
    } else {
        let from = first.saturating_sub(BEFORE);
        (from, (from + LENGTH).min(chars.len()))
    };
    let mut parts: Vec<Part> = Vec::new();
    if from > 0 {
        parts.push(Part {
            text: "…".to_owned(),
            matched: false,
        });
    }
    for i in from..to {
        let c = if chars[i] == '\n' { ' ' } else { chars[i] };
        match parts.last_mut() {
            Some(last) if last.matched == marked[i] && last.text != "…" => last.text.push(c),
            _ => parts.push(Part {
                text: c.to_string(),
                matched: marked[i],
            }),
        }
    }
    if to < chars.len() {
        parts.push(Part {
            text: "…".to_owned(),
            matched: false,
        });
    }
    parts
}

/// How many chars of `text` match `term` (lowercase) from its start, if it
/// does.
fn match_len(text: &[char], term: &[char]) -> Option<usize> {
    let mut wanted = term.iter();
    let mut used = 0;
    for c in text {
        used += 1;
        for lower in c.to_lowercase() {
            if wanted.next() != Some(&lower) {
                return None;
            }
        }
        if wanted.len() == 0 {
            return Some(used);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(parts: &[Part]) -> String {
        parts
            .iter()
            .map(|p| {
                if p.matched {
                    format!("[{}]", p.text)
                } else {
                    p.text.clone()
                }
            })
            .collect()
    }

    #[test]
    fn matches_are_marked_in_any_case() {
        let parts = snippet(
            "The WiFi password is lanparty",
            &["wifi".into(), "PASS".into()],
        );
        assert_eq!(shown(&parts), "The [WiFi] [pass]word is lanparty");
        assert_eq!(
            shown(&snippet("密码是一二三", &["密码".into()])),
            "[密码]是一二三"
        );
    }

    #[test]
    fn long_texts_are_cut_around_the_first_match() {
        let text = format!("{} needle {}", "a".repeat(500), "b".repeat(500));
        let parts = snippet(&text, &["needle".into()]);
        let shown = shown(&parts);
        assert!(shown.starts_with('…') && shown.ends_with('…'), "{shown}");
        assert!(shown.contains("[needle]"));
        assert!(shown.chars().count() <= LENGTH + 4);
    }
}
