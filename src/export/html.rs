//! One self-contained HTML file: inline CSS, no script, pictures embedded
//! as `data:` URLs, and a Content-Security-Policy that lets it load nothing
//! else, so it opens anywhere, offline, years later. A message's text is
//! the HTML the server rendered and sanitized when it was sent; everything
//! else is escaped here.

use base64::Engine as _;

use super::{Archive, Blobs, MAX_EMBEDDED_BYTES, utc};
use crate::files::human_size;
use crate::protocol::{ChatMessage, FileInfo};

const STYLE: &str = "
:root { color-scheme: light dark; --muted: #566274; --line: #d9e0e8; --soft: #f5f7fa; }
@media (prefers-color-scheme: dark) { :root { --muted: #93a0b2; --line: #2c3948; --soft: #1f2a38; } }
body { max-width: 860px; margin: 0 auto; padding: 24px 16px; font: 16px/1.45 system-ui, sans-serif; }
header { border-bottom: 1px solid var(--line); margin-bottom: 16px; }
h1 { font-size: 1.4rem; margin: 0 0 4px; }
h2 { font-size: 1.15rem; margin: 28px 0 8px; padding-top: 8px; border-top: 1px solid var(--line); }
.made, .meta, .event, figcaption, .reactions { color: var(--muted); font-size: 0.85rem; }
nav ul { padding-left: 1.2em; }
ol.messages { list-style: none; margin: 0; padding: 0; }
li.msg { margin: 10px 0; }
.author { font-weight: 700; color: inherit; }
.body p, .body pre, .body blockquote, .body ul, .body ol { margin: 4px 0; }
.body pre { padding: 8px; background: var(--soft); border-radius: 6px; overflow-x: auto; }
.body code { background: var(--soft); border-radius: 4px; padding: 0 3px; }
.body blockquote { border-left: 3px solid var(--line); padding-left: 8px; margin-left: 0; }
.deleted .body { font-style: italic; color: var(--muted); }
li.event { margin: 8px 0; text-align: center; font-style: italic; }
li.announcement { margin: 12px 0; padding: 8px 12px; border-left: 4px solid #3d6fb0; background: var(--soft); border-radius: 6px; }
figure { margin: 6px 0; }
figure img { max-width: 100%; height: auto; border-radius: 8px; border: 1px solid var(--line); }
.file { margin: 4px 0; }
";

pub fn render(archive: &Archive, blobs: Blobs<'_>) -> String {
    let mut out = String::with_capacity(64 * 1024);
    out.push_str(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         img-src data:; style-src 'unsafe-inline'\">\n",
    );
    out.push_str(&format!(
        "<title>lanchat: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&archive.title)
    ));
    let count: usize = archive.rooms.iter().map(|room| room.messages.len()).sum();
    out.push_str(&format!(
        "<header>\n<h1>lanchat: {}</h1>\n<p class=\"made\">Exported {} UTC · {count} messages</p>\n",
        escape(&archive.title),
        utc(archive.made)
    ));
    if archive.rooms.len() > 1 {
        out.push_str("<nav><ul>\n");
        for (i, room) in archive.rooms.iter().enumerate() {
            out.push_str(&format!(
                "<li><a href=\"#room-{i}\">{}</a></li>\n",
                escape(&room.title)
            ));
        }
        out.push_str("</ul></nav>\n");
    }
    out.push_str("</header>\n<main>\n");
    for (i, room) in archive.rooms.iter().enumerate() {
        out.push_str(&format!(
            "<section id=\"room-{i}\" data-room=\"{}\">\n<h2>{}</h2>\n<ol class=\"messages\">\n",
            escape(&room.room),
            escape(&room.title)
        ));
        for message in &room.messages {
            message_item(&mut out, message, blobs);
        }
        out.push_str("</ol>\n</section>\n");
    }
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

fn message_item(out: &mut String, message: &ChatMessage, blobs: Blobs<'_>) {
    let when = utc(message.timestamp);
    let time = format!("<time>{when}</time>");
    if message.system.is_some() {
        if is_announcement(message) {
            out.push_str(&format!(
                "<li class=\"announcement\"><div class=\"meta\">Announcement · {time}</div>\
                 <div class=\"body\">{}</div></li>\n",
                message.html
            ));
        } else {
            out.push_str(&format!(
                "<li class=\"event\">{} · {time}</li>\n",
                escape(&message.message)
            ));
        }
        return;
    }
    let class = if message.deleted {
        "msg deleted"
    } else {
        "msg"
    };
    out.push_str(&format!(
        "<li class=\"{class}\" id=\"m{}\"><div class=\"meta\"><span class=\"author\">{}</span> {time}",
        message.seq,
        escape(&message.username)
    ));
    if message.edited.is_some() {
        out.push_str(" (edited)");
    }
    out.push_str("</div>");
    if message.deleted {
        out.push_str("<div class=\"body\">message deleted</div></li>\n");
        return;
    }
    if let Some(seq) = message.reply_to {
        out.push_str(&format!(
            "<div class=\"meta\"><a href=\"#m{seq}\">↪ in reply to an earlier message</a></div>"
        ));
    }
    if !message.generated {
        out.push_str(&format!("<div class=\"body\">{}</div>", message.html));
    }
    for file in &message.files {
        file_item(out, file, blobs);
    }
    if !message.reactions.is_empty() {
        let reactions: Vec<String> = message
            .reactions
            .iter()
            .map(|r| format!("{} {}", escape(&r.emoji), r.users.len()))
            .collect();
        out.push_str(&format!(
            "<div class=\"reactions\">{}</div>",
            reactions.join(" · ")
        ));
    }
    out.push_str("</li>\n");
}

fn is_announcement(message: &ChatMessage) -> bool {
    matches!(
        message.system,
        Some(crate::protocol::SystemEvent::Announcement)
    )
}

/// A shared file: a picture embedded (whole, or its thumbnail when it is
/// large), anything else by name and size.
fn file_item(out: &mut String, file: &FileInfo, blobs: Blobs<'_>) {
    let caption = format!("{} · {}", escape(&file.name), human_size(file.size));
    let picture = file.mime.starts_with("image/");
    let bytes = picture
        .then(|| {
            if file.size as usize <= MAX_EMBEDDED_BYTES {
                blobs(file, false).map(|bytes| (file.mime.as_str(), bytes))
            } else {
                None
            }
            .or_else(|| {
                file.thumb
                    .as_ref()
                    .and_then(|_| blobs(file, true))
                    .map(|b| (thumb_type(&b), b))
            })
        })
        .flatten();
    match bytes {
        Some((mime, bytes)) => {
            let data = base64::engine::general_purpose::STANDARD.encode(&bytes);
            let size = match (file.width, file.height) {
                (Some(w), Some(h)) => format!(" width=\"{w}\" height=\"{h}\""),
                _ => String::new(),
            };
            out.push_str(&format!(
                "<figure><img src=\"data:{mime};base64,{data}\" alt=\"{}\"{size}>\
                 <figcaption>{caption}</figcaption></figure>",
                escape(&file.name)
            ));
        }
        None => out.push_str(&format!("<div class=\"file\">📎 {caption}</div>")),
    }
}

/// A thumbnail is a JPEG or a PNG.
fn thumb_type(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(b"\x89PNG") {
        "image/png"
    } else {
        "image/jpeg"
    }
}

/// Text as HTML text or an attribute's value.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::RoomArchive;

    #[test]
    fn an_export_escapes_what_it_writes_and_loads_nothing() {
        let message = ChatMessage {
            id: "i".into(),
            seq: 1,
            room: "lobby".into(),
            username: "<b>eve</b>".into(),
            message: "hi".into(),
            timestamp: 0,
            cid: None,
            html: "<p>hi</p>".into(),
            version: 1,
            edited: None,
            deleted: false,
            reply_to: None,
            mentions: Vec::new(),
            everyone: false,
            here: false,
            big: false,
            reactions: Vec::new(),
            files: Vec::new(),
            generated: false,
            system: None,
            removed: false,
            bot: false,
        };
        let archive = Archive {
            title: "lobby".into(),
            made: 0,
            rooms: vec![RoomArchive {
                room: "lobby".into(),
                title: "#lobby".into(),
                messages: vec![message],
            }],
        };
        let html = render(&archive, &|_, _| None);
        assert!(html.contains("&lt;b&gt;eve&lt;/b&gt;"));
        assert!(html.contains("<p>hi</p>"));
        assert!(html.contains("default-src 'none'"));
        assert!(!html.contains("<script"));
    }
}
