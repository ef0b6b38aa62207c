//! The sanitiser: HTML written from a message's markdown events, in which
//! only an allowlist can appear.
//!
//! Tags come from a fixed table (`p`, `br`, `strong`, `em`, `del`, `code`,
//! `pre`, `blockquote`, `ul`, `ol` with `start`, `li`, `a` with `href`, and
//! `span class="mention"`); every piece of text is escaped; a link is
//! written only to an `http`, `https` or `mailto` URL that parses, with
//! `target="_blank"` and `rel="noopener noreferrer nofollow"`; characters
//! that reorder text are dropped. Any other event writes its text, or
//! nothing. So nothing the sender wrote can become markup: there is no path
//! from their text to the output but [`escape_text`] and [`link_href`].
//!
//! It writes exactly what pulldown-cmark's HTML writer followed by an
//! ammonia allowlist of the same tags wrote (the renderer before it; a
//! markdown-heavy message now renders in 9-10 CPU-µs, from 22-33, in
//! `benches/README.md`): the tests hold it to that, to being a fixed point
//! of that ammonia allowlist, and to a scan of their own, on the unit
//! tests' inputs, adversarial ones and thousands of generated ones.

use pulldown_cmark::{Event, Tag, TagEnd};

/// Characters that reorder text, which could make a link's text show
/// something other than where it goes. Dropped from what is shown.
pub const BIDI_CONTROLS: &[char] = &[
    '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}',
    '\u{2069}',
];

/// The markup around a mention, the one piece of HTML the renderer passes
/// as an event of its own (`Event::InlineHtml`).
pub const MENTION_OPEN: &str = r#"<span class="mention">"#;
pub const MENTION_CLOSE: &str = "</span>";

/// The schemes a link may go to.
const LINK_SCHEMES: [&str; 3] = ["http", "https", "mailto"];

/// Writes `events` as HTML. Block tags are laid out on lines as
/// pulldown-cmark lays them out.
pub fn write<'a>(events: impl IntoIterator<Item = Event<'a>>, capacity: usize) -> String {
    let mut writer = Writer {
        out: String::with_capacity(capacity),
        end_newline: true,
        links: Vec::new(),
    };
    for event in events {
        writer.event(event);
    }
    // Line ends as an HTML parser reads them, across text events too (a
    // `\r` may end one and its `\n` start the next).
    if writer.out.contains('\r') {
        return writer.out.replace("\r\n", "\n").replace('\r', "\n");
    }
    writer.out
}

struct Writer {
    out: String,
    /// The output ends with a new line (or is empty): a block tag starts
    /// without one of its own.
    end_newline: bool,
    /// For each link open, whether it was written (`<a>`) or only its text.
    links: Vec<bool>,
}

impl Writer {
    fn write(&mut self, s: &str) {
        self.out.push_str(s);
        if !s.is_empty() {
            self.end_newline = s.ends_with('\n');
        }
    }

    /// A block tag, on a line of its own.
    fn block(&mut self, tag: &str) {
        if !self.end_newline {
            self.out.push('\n');
        }
        self.write(tag);
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) => {
                escape_text(&mut self.out, &text);
                self.end_newline = text.ends_with('\n');
            }
            Event::Code(text) => {
                self.write("<code>");
                escape_text(&mut self.out, &text);
                self.write("</code>");
            }
            Event::InlineHtml(html) if &*html == MENTION_OPEN || &*html == MENTION_CLOSE => {
                self.write(&html);
            }
            // Markup from anywhere else is shown as the text it is.
            Event::Html(text)
            | Event::InlineHtml(text)
            | Event::InlineMath(text)
            | Event::DisplayMath(text) => {
                escape_text(&mut self.out, &text);
                if !text.is_empty() {
                    self.end_newline = text.ends_with('\n');
                }
            }
            Event::SoftBreak => self.write("\n"),
            Event::HardBreak => self.write("<br>\n"),
            // A thematic break (`---`) is not in the allowlist.
            Event::Rule => {
                if !self.end_newline {
                    self.write("\n");
                }
                self.write("\n");
            }
            Event::FootnoteReference(_) | Event::TaskListMarker(_) => {}
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph => self.block("<p>"),
            Tag::BlockQuote(_) => self.block("<blockquote>\n"),
            Tag::CodeBlock(_) => self.block("<pre><code>"),
            Tag::List(Some(1)) => self.block("<ol>\n"),
            Tag::List(Some(start)) => self.block(&format!("<ol start=\"{start}\">\n")),
            Tag::List(None) => self.block("<ul>\n"),
            Tag::Item => self.block("<li>"),
            Tag::Emphasis => self.write("<em>"),
            Tag::Strong => self.write("<strong>"),
            Tag::Strikethrough => self.write("<del>"),
            Tag::Link { dest_url, .. } => {
                let href = link_href(&dest_url);
                if let Some(href) = &href {
                    self.write("<a href=\"");
                    self.write(&href.replace('&', "&amp;"));
                    self.write("\" target=\"_blank\" rel=\"noopener noreferrer nofollow\">");
                }
                self.links.push(href.is_some());
            }
            // Not in the allowlist: their content is kept, as text.
            Tag::HtmlBlock
            | Tag::Heading { .. }
            | Tag::Table(_)
            | Tag::TableHead
            | Tag::TableRow
            | Tag::TableCell
            | Tag::FootnoteDefinition(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition
            | Tag::Subscript
            | Tag::Superscript
            | Tag::Image { .. }
            | Tag::MetadataBlock(_) => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph => self.write("</p>\n"),
            TagEnd::BlockQuote(_) => self.write("</blockquote>\n"),
            TagEnd::CodeBlock => self.write("</code></pre>\n"),
            TagEnd::List(true) => self.write("</ol>\n"),
            TagEnd::List(false) => self.write("</ul>\n"),
            TagEnd::Item => self.write("</li>\n"),
            TagEnd::Emphasis => self.write("</em>"),
            TagEnd::Strong => self.write("</strong>"),
            TagEnd::Strikethrough => self.write("</del>"),
            TagEnd::Link => {
                if self.links.pop() == Some(true) {
                    self.write("</a>");
                }
            }
            TagEnd::HtmlBlock
            | TagEnd::Heading(_)
            | TagEnd::Table
            | TagEnd::TableHead
            | TagEnd::TableRow
            | TagEnd::TableCell
            | TagEnd::FootnoteDefinition
            | TagEnd::DefinitionList
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition
            | TagEnd::Subscript
            | TagEnd::Superscript
            | TagEnd::Image
            | TagEnd::MetadataBlock(_) => {}
        }
    }
}

/// Where a link to `url` goes, if it may: `url` with what is not safe in
/// a URL percent-encoded, if that parses with an allowed scheme.
pub fn link_href(url: &str) -> Option<String> {
    let mut href = String::with_capacity(url.len());
    for &byte in url.as_bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$%&'()*+,-./:;=?@^_~".contains(&byte) {
            href.push(byte as char);
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            href.push('%');
            href.push(HEX[usize::from(byte >> 4)] as char);
            href.push(HEX[usize::from(byte & 15)] as char);
        }
    }
    let parsed = url::Url::parse(&href).ok()?;
    LINK_SCHEMES.contains(&parsed.scheme()).then_some(href)
}

/// Text as an HTML parser would read it back unchanged: `&`, `<`, `>` and
/// no-break spaces escaped, no NUL (which parsers drop), and no characters
/// that reorder text. ([`write`] makes every line end a `\n`.)
pub fn escape_text(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\u{A0}' => out.push_str("&nbsp;"),
            '\0' => {}
            c if BIDI_CONTROLS.contains(&c) => {}
            c => out.push(c),
        }
    }
}
