//! Markdown: each room a section, each message its author, time and text
//! as written (markdown already), its files by name and size.

use super::{Archive, utc};
use crate::files::human_size;

pub fn render(archive: &Archive) -> String {
    let mut out = format!(
        "# lanchat: {}\n\nExported {} UTC.\n",
        archive.title,
        utc(archive.made)
    );
    for room in &archive.rooms {
        out.push_str(&format!("\n## {}\n", room.title));
        if room.messages.is_empty() {
            out.push_str("\nNo messages.\n");
        }
        for message in &room.messages {
            let when = utc(message.timestamp);
            if message.system.is_some() && !message.message.is_empty() {
                // A host action (or an announcement): its words as they are.
                out.push_str(&format!("\n*{when}: {}*\n", message.message));
                continue;
            }
            out.push_str(&format!("\n**{}** · {when}", message.username));
            if message.edited.is_some() {
                out.push_str(" (edited)");
            }
            out.push('\n');
            if message.deleted {
                out.push_str("\n*message deleted*\n");
                continue;
            }
            if let Some(seq) = message.reply_to {
                out.push_str(&format!("\n↪ in reply to message {seq}\n"));
            }
            if !message.generated {
                out.push('\n');
                out.push_str(message.message.trim_end());
                out.push('\n');
            }
            for file in &message.files {
                out.push_str(&format!(
                    "\n- 📎 {} ({})\n",
                    file.name,
                    human_size(file.size)
                ));
            }
            if !message.reactions.is_empty() {
                let reactions: Vec<String> = message
                    .reactions
                    .iter()
                    .map(|r| format!("{} {}", r.emoji, r.users.len()))
                    .collect();
                out.push_str(&format!("\n{}\n", reactions.join(" · ")));
            }
        }
    }
    out
}
