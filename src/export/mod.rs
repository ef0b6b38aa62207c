//! Exports: a room's history, or every room one may export, as one
//! self-contained HTML file ([`html`]: inline CSS, pictures embedded,
//! readable offline with no network request), as Markdown ([`markdown`]),
//! or as JSON lines in the protocol's own message shape ([`jsonl`]). Pure:
//! the messages are collected by the caller (the server's routes,
//! [`routes`], or `lanchat export`, [`offline`], which reads the history
//! directly), and files' bytes come from a function it gives.
//!
//! Who may export what: the host, the lobby and public rooms, never a
//! private room or a direct message (a private room's members may each
//! export it themselves; the host's export would be a copy none of them
//! agreed to, and a vote of every member is not something a LAN chat can
//! hold); each participant, what they can read now, direct messages
//! included.

mod html;
mod jsonl;
mod markdown;
pub mod offline;
pub mod routes;

use crate::protocol::{ChatMessage, FileInfo};

/// What an export holds: rooms, each with its messages oldest first.
#[derive(Debug, Clone)]
pub struct Archive {
    /// Whose export, for the title: "lobby" or "everything", or a name.
    pub title: String,
    /// When it was made (ms since the epoch).
    pub made: i64,
    pub rooms: Vec<RoomArchive>,
}

#[derive(Debug, Clone)]
pub struct RoomArchive {
    pub room: String,
    /// What to call it: `#lobby`, `#plans`, `alice & bob`.
    pub title: String,
    pub messages: Vec<ChatMessage>,
}

/// The three forms an export takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Html,
    Markdown,
    Jsonl,
}

impl Format {
    pub fn parse(text: &str) -> Option<Format> {
        match text {
            "html" => Some(Format::Html),
            "markdown" | "md" => Some(Format::Markdown),
            "jsonl" | "json" => Some(Format::Jsonl),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Html => "text/html; charset=utf-8",
            Format::Markdown => "text/markdown; charset=utf-8",
            Format::Jsonl => "application/x-ndjson",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Markdown => "md",
            Format::Jsonl => "jsonl",
        }
    }
}

/// A file's bytes, to embed: `(file, thumbnail)` gives the file's own bytes,
/// or its thumbnail's; `None` when they cannot be had.
pub type Blobs<'a> = &'a dyn Fn(&FileInfo, bool) -> Option<Vec<u8>>;

/// The archive in `format`.
pub fn render(format: Format, archive: &Archive, blobs: Blobs<'_>) -> Vec<u8> {
    match format {
        Format::Html => html::render(archive, blobs).into_bytes(),
        Format::Markdown => markdown::render(archive).into_bytes(),
        Format::Jsonl => jsonl::render(archive).into_bytes(),
    }
}

/// A file name for the archive: `lanchat-lobby-2026-12-07.html`.
pub fn file_name(archive: &Archive, format: Format) -> String {
    let title: String = archive
        .title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let day = &utc(archive.made)[..10];
    format!("lanchat-{title}-{day}.{}", format.extension())
}

/// A moment as UTC, `2026-12-07 13:01`: the same for every reader, in
/// every language.
pub fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil, for the proleptic Gregorian calendar.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60
    )
}

/// The largest picture embedded whole; a larger one is embedded as its
/// thumbnail.
pub const MAX_EMBEDDED_BYTES: usize = 8 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00");
        assert_eq!(utc(1_764_000_000_000), "2025-11-24 16:00");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00");
    }

    #[test]
    fn file_names_are_plain() {
        let archive = Archive {
            title: "p:1f/x y".into(),
            made: 0,
            rooms: Vec::new(),
        };
        assert_eq!(
            file_name(&archive, Format::Markdown),
            "lanchat-p-1f-x-y-1970-01-01.md"
        );
    }
}
