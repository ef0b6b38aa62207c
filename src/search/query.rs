//! The search query language, parsed: plain words, `"exact phrases"`,
//! `from:name`, `in:#room`, `has:file`, `has:link`, `before:`, `after:` and
//! `on:` with a date (`2026-12-01`), and `mentions:me`.
//!
//! Words and phrases are matched as substrings, in any letter case; they
//! become quoted FTS5 strings, so operators in what people type (`AND`,
//! `NEAR`, `*`, `"`) mean nothing. Pure: no I/O.

use crate::protocol::{ErrorCode, Refusal};

/// Longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 500;
/// Most words and phrases in one query.
pub const MAX_TERMS: usize = 20;
/// The shortest term the index can find; shorter ones are matched by
/// scanning what the longer ones found, except two-character CJK words,
/// which the index holds as bigrams followed by this mark.
pub const INDEXED_CHARS: usize = 3;
pub const BIGRAM_MARK: char = '\u{1}';

/// Chinese, Japanese and Korean characters, which words are made of without
/// spaces between them.
pub fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30ff}'     // Hiragana, Katakana
        | '\u{3400}'..='\u{4dbf}'   // CJK Extension A
        | '\u{4e00}'..='\u{9fff}'   // CJK Unified Ideographs
        | '\u{ac00}'..='\u{d7af}'   // Hangul syllables
        | '\u{f900}'..='\u{faff}'   // CJK Compatibility Ideographs
        | '\u{20000}'..='\u{2fa1f}' // Extensions B and on
    )
}

/// A term the index holds: long enough, or a CJK bigram.
fn indexed(term: &str) -> bool {
    let count = term.chars().count();
    count >= INDEXED_CHARS || (count == 2 && term.chars().all(is_cjk))
}

/// A parsed query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Words and phrases, each to be found somewhere in the text.
    pub terms: Vec<String>,
    pub from: Option<String>,
    /// The room as written after `in:` (`#` dropped).
    pub room: Option<String>,
    pub has_file: bool,
    pub has_link: bool,
    /// Milliseconds since the epoch: sent before, at or after.
    pub before: Option<i64>,
    pub after: Option<i64>,
    pub mentions_me: bool,
}

/// Why a query was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("a search is at most {MAX_QUERY_CHARS} characters")]
    TooLong,
    #[error("a search has at most {MAX_TERMS} words and phrases")]
    TooManyTerms,
    #[error("{0:?} is not a date; write it like 2026-12-01")]
    BadDate(String),
    #[error("has: takes file or link, not {0:?}")]
    BadHas(String),
    #[error("search for something: words, or filters like from:name or in:#room")]
    Empty,
}

impl QueryError {
    /// The `bad_request` refusal that says so, with its detail.
    pub fn refusal(&self) -> Refusal {
        let refusal = Refusal::new(ErrorCode::BadRequest, self.to_string());
        match self {
            QueryError::TooLong => refusal
                .detail("query_too_long")
                .param("max", MAX_QUERY_CHARS),
            QueryError::TooManyTerms => refusal
                .detail("query_too_many_terms")
                .param("max", MAX_TERMS),
            QueryError::BadDate(value) => refusal
                .detail("query_bad_date")
                .param("value", value.as_str()),
            QueryError::BadHas(value) => refusal
                .detail("query_bad_has")
                .param("value", value.as_str()),
            QueryError::Empty => refusal.detail("query_empty"),
        }
    }
}

impl Query {
    /// Parses `text`. Dates are days in the searcher's time zone,
    /// `offset_minutes` east of UTC.
    pub fn parse(text: &str, offset_minutes: i32) -> Result<Query, QueryError> {
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(QueryError::TooLong);
        }
        // Control characters (NUL among them) cannot be in a message's
        // words, and would end an FTS5 string early.
        let text: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let mut query = Query::default();
        let mut rest = text.trim();
        while !rest.is_empty() {
            let (token, quoted, after) = next_token(rest);
            rest = after.trim_start();
            if token.is_empty() {
                continue;
            }
            if quoted {
                query.push_term(token)?;
                continue;
            }
            match token.split_once(':') {
                Some((key, value)) if !value.is_empty() && is_filter(key) => {
                    query.apply(&key.to_ascii_lowercase(), value, offset_minutes)?
                }
                _ => query.push_term(token)?,
            }
        }
        if query == Query::default() {
            return Err(QueryError::Empty);
        }
        Ok(query)
    }

    fn push_term(&mut self, term: &str) -> Result<(), QueryError> {
        let term = term.trim();
        if term.is_empty() {
            return Ok(());
        }
        if self.terms.len() == MAX_TERMS {
            return Err(QueryError::TooManyTerms);
        }
        self.terms.push(term.to_owned());
        Ok(())
    }

    fn apply(&mut self, key: &str, value: &str, offset_minutes: i32) -> Result<(), QueryError> {
        match key {
            "from" => self.from = Some(value.trim_start_matches('@').to_owned()),
            "in" => self.room = Some(value.trim_start_matches('#').to_lowercase()),
            "has" => match value.to_ascii_lowercase().as_str() {
                "file" | "files" | "image" => self.has_file = true,
                "link" | "links" | "url" => self.has_link = true,
                other => return Err(QueryError::BadHas(other.to_owned())),
            },
            "mentions" => self.mentions_me = value.eq_ignore_ascii_case("me"),
            "before" => self.before = Some(day_start(value, offset_minutes)?),
            "after" => self.after = Some(day_start(value, offset_minutes)? + DAY_MS),
            "on" => {
                let start = day_start(value, offset_minutes)?;
                self.after = Some(start);
                self.before = Some(start + DAY_MS);
            }
            _ => unreachable!("only filters get here"),
        }
        Ok(())
    }

    /// The terms the index can find, as one FTS5 query of quoted strings
    /// (all must match); `None` if every term is too short for it.
    pub fn fts(&self) -> Option<String> {
        let indexed: Vec<String> = self
            .terms
            .iter()
            .filter(|term| indexed(term))
            .map(|term| {
                let mark = if term.chars().count() == 2 {
                    "\u{1}"
                } else {
                    ""
                };
                format!("\"{}{mark}\"", term.replace('"', "\"\""))
            })
            .collect();
        (!indexed.is_empty()).then(|| indexed.join(" "))
    }

    /// The terms the index cannot find.
    pub fn short_terms(&self) -> impl Iterator<Item = &str> {
        self.terms
            .iter()
            .map(String::as_str)
            .filter(|term| !indexed(term))
    }
}

const DAY_MS: i64 = 86_400_000;

fn is_filter(key: &str) -> bool {
    matches!(
        key.to_ascii_lowercase().as_str(),
        "from" | "in" | "has" | "mentions" | "before" | "after" | "on"
    )
}

/// The next token: a quoted phrase (a missing closing quote ends it at the
/// end), or a run of non-spaces. Returns it, whether it was quoted, and the
/// rest.
fn next_token(text: &str) -> (&str, bool, &str) {
    if let Some(inner) = text.strip_prefix('"') {
        return match inner.find('"') {
            Some(end) => (&inner[..end], true, &inner[end + 1..]),
            None => (inner, true, ""),
        };
    }
    let end = text.find(char::is_whitespace).unwrap_or(text.len());
    (&text[..end], false, &text[end..])
}

/// Midnight at the start of `date` (YYYY-MM-DD) in a time zone
/// `offset_minutes` east of UTC, in ms since the epoch.
fn day_start(date: &str, offset_minutes: i32) -> Result<i64, QueryError> {
    let bad = || QueryError::BadDate(date.to_owned());
    let mut parts = date.splitn(3, '-');
    let mut number = |range: std::ops::RangeInclusive<i64>| -> Result<i64, QueryError> {
        let value: i64 = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        range.contains(&value).then_some(value).ok_or_else(bad)
    };
    let (year, month, day) = (number(1970..=9999)?, number(1..=12)?, number(1..=31)?);
    let days = days_from_civil(year, month, day);
    Ok(days * DAY_MS - i64::from(offset_minutes) * 60_000)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Query {
        Query::parse(text, 0).unwrap()
    }

    #[test]
    fn words_phrases_and_filters() {
        let query = parse(r#"wifi "the password" from:@Ana in:#Projects has:file mentions:me"#);
        assert_eq!(query.terms, ["wifi", "the password"]);
        assert_eq!(query.from.as_deref(), Some("Ana"));
        assert_eq!(query.room.as_deref(), Some("projects"));
        assert!(query.has_file && !query.has_link && query.mentions_me);
        assert_eq!(query.fts().unwrap(), r#""wifi" "the password""#);
    }

    #[test]
    fn operators_people_type_are_inert() {
        let query = parse(r#"cats AND dogs* NEAR(x) "a ""quoted"" word"#);
        assert_eq!(
            query.terms,
            ["cats", "AND", "dogs*", "NEAR(x)", "a", "quoted", "word"]
        );
        assert!(query.fts().unwrap().starts_with(r#""cats" "AND" "dogs*""#));
        let unclosed = parse(r#"say "hello there"#);
        assert_eq!(unclosed.terms, ["say", "hello there"]);
        assert_eq!(parse("time:10:30").terms, ["time:10:30"], "not a filter");
    }

    #[test]
    fn dates_are_days_in_the_searchers_time_zone() {
        assert_eq!(day_start("1970-01-02", 0), Ok(DAY_MS));
        assert_eq!(day_start("2026-12-01", 0), Ok(1_796_083_200_000));
        assert_eq!(
            day_start("2026-12-01", 60),
            Ok(1_796_083_200_000 - 3_600_000)
        );
        let on = parse("on:2026-12-01");
        assert_eq!(
            (on.after, on.before),
            (Some(1_796_083_200_000), Some(1_796_083_200_000 + DAY_MS))
        );
        assert_eq!(
            parse("after:2026-12-01").after,
            Some(1_796_083_200_000 + DAY_MS)
        );
        assert!(matches!(
            Query::parse("before:yesterday", 0),
            Err(QueryError::BadDate(_))
        ));
        assert!(matches!(
            Query::parse("before:2026-13-01", 0),
            Err(QueryError::BadDate(_))
        ));
    }

    #[test]
    fn short_terms_go_around_the_index() {
        let query = parse("密 is wifi");
        assert_eq!(query.fts().unwrap(), r#""wifi""#);
        assert_eq!(query.short_terms().collect::<Vec<_>>(), ["密", "is"]);
        assert_eq!(parse("ok").fts(), None);
        let bigram = parse("密码 ok");
        assert_eq!(bigram.fts().unwrap(), "\"密码\u{1}\"");
        assert_eq!(bigram.short_terms().collect::<Vec<_>>(), ["ok"]);
    }

    #[test]
    fn pathological_queries_are_refused_quickly() {
        let many = "a ".repeat(2000);
        assert_eq!(Query::parse(&many, 0), Err(QueryError::TooLong));
        let quotes = "\"".repeat(10_000);
        assert_eq!(Query::parse(&quotes, 0), Err(QueryError::TooLong));
        let twenty_one = (0..21)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(Query::parse(&twenty_one, 0), Err(QueryError::TooManyTerms));
        assert_eq!(Query::parse("   ", 0), Err(QueryError::Empty));
        assert_eq!(Query::parse(r#""" """#, 0), Err(QueryError::Empty));
        assert_eq!(parse("nul\0byte").terms, ["nul", "byte"]);
    }
}
