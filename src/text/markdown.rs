//! A chat message's markdown, rendered once, on the server, to HTML that
//! is safe to put in the page.
//!
//! The subset people use in chat: bold, italic, strikethrough, inline code,
//! fenced code blocks, quotes, lists, links and bare URLs. pulldown-cmark
//! parses it; on the way to HTML we turn raw HTML into text, images into
//! their alt text, headings back into the line as written, and link texts
//! that pretend to be another URL into the real target; in text we make
//! bare URLs links, `:shortcode:`s emoji, and `@names` mentions. The HTML
//! is written by [`super::html`], in which only an allowlist of tags and
//! attributes, http(s) and mailto links with `rel="noopener noreferrer
//! nofollow"`, and escaped text can appear: whatever we missed is still
//! inert. Nothing here fetches a URL.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};

use super::emoji;
use super::html::{self, BIDI_CONTROLS, MENTION_CLOSE, MENTION_OPEN};

/// A message rendered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    pub html: String,
    /// One to three emoji and nothing else: shown large.
    pub big: bool,
    /// The names mentioned, as the server knows them, each once.
    pub mentions: Vec<String>,
    /// `@room`: everyone in the room.
    pub everyone: bool,
    /// `@here`: everyone in the room who is online.
    pub here: bool,
}

/// Renders `source`. `resolve` turns the word after an `@` into the name of
/// someone who may be mentioned here, if it is one.
pub fn render(source: &str, resolve: &dyn Fn(&str) -> Option<String>) -> Rendered {
    if is_plain(source) {
        return Rendered {
            html: plain_html(source),
            big: emoji::is_big(source),
            ..Rendered::default()
        };
    }
    render_markdown(source, resolve)
}

/// Whether `source` is one line of plain words, which no markdown, link,
/// shortcode, mention or entity can start in: most chat lines are. Its
/// HTML is then the same as the full path's, made without parsing.
///
/// The line starts with a letter, or with a number that is not a list
/// item's (`1.`, `1)`); after that, `-`, `+`, `=`, `#` and the rest of
/// the ASCII set below mean something to markdown only at the start of a
/// line, and what is missing from it (`*_~\`[]<>&@:\\|` and line breaks)
/// can start emphasis, code, a link, an autolink, an entity, a mention, a
/// shortcode or a URL's scheme.
fn is_plain(source: &str) -> bool {
    let number = source.bytes().take_while(u8::is_ascii_digit).count();
    let starts_plain = match source[number..].chars().next() {
        _ if number == 0 => source.chars().next().is_some_and(char::is_alphabetic),
        Some('.' | ')') => false,
        _ => true,
    };
    starts_plain
        && source.chars().all(|c| {
            if c.is_ascii() {
                c.is_ascii_alphanumeric() || " ,.?!'\"();/%$-+=#^{}".contains(c)
            } else {
                !BIDI_CONTROLS.contains(&c) && !c.is_control() && !c.is_whitespace()
            }
        })
        && !source.ends_with(' ')
}

/// A plain line as the full path writes it: a paragraph, with what HTML
/// serializers escape in text escaped.
fn plain_html(source: &str) -> String {
    let mut html = String::with_capacity(source.len() + 8);
    html.push_str("<p>");
    html.push_str(source);
    html.push_str("</p>\n");
    html
}

fn render_markdown(source: &str, resolve: &dyn Fn(&str) -> Option<String>) -> Rendered {
    let mut rendered = Rendered {
        big: emoji::is_big(&emoji::replace_shortcodes(source)),
        ..Rendered::default()
    };
    let events = chat_events(source, resolve, &mut rendered);
    rendered.html = html::write(events, source.len() * 2);
    rendered
}

/// `source` parsed, as the events of the chat subset: headings as their
/// line, raw HTML as text, links honest, and text with its links,
/// shortcodes and mentions (noted in `rendered`).
fn chat_events<'a>(
    source: &'a str,
    resolve: &dyn Fn(&str) -> Option<String>,
    rendered: &mut Rendered,
) -> Vec<Event<'a>> {
    let mut events: Vec<Event<'_>> = Vec::new();
    let mut link: Option<LinkInProgress<'_>> = None;
    let mut code_block = false;
    let mut heading: Option<std::ops::Range<usize>> = None;
    for (event, range) in Parser::new_ext(source, Options::ENABLE_STRIKETHROUGH).into_offset_iter()
    {
        // A heading is shown as the line it was written as.
        if let Some(at) = &heading {
            if matches!(event, Event::End(TagEnd::Heading(_))) {
                let line = source[at.clone()].trim_end();
                events.push(Event::Start(Tag::Paragraph));
                push_text(&mut events, line, resolve, rendered);
                events.push(Event::End(TagEnd::Paragraph));
                heading = None;
            }
            continue;
        }
        if let Some(open) = &mut link {
            match event {
                Event::End(TagEnd::Link) => {
                    let open = link.take().expect("a link is open");
                    open.finish(&mut events);
                }
                Event::Text(text) | Event::Code(text) => open.text.push_str(&text),
                Event::SoftBreak | Event::HardBreak => open.text.push(' '),
                _ => {}
            }
            continue;
        }
        match event {
            Event::Start(Tag::Heading { .. }) => heading = Some(range),
            Event::Start(Tag::Link { dest_url, .. }) => {
                link = Some(LinkInProgress {
                    target: dest_url,
                    text: String::new(),
                });
            }
            Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => {}
            Event::Start(Tag::CodeBlock(_)) => {
                code_block = true;
                events.push(Event::Start(Tag::CodeBlock(
                    pulldown_cmark::CodeBlockKind::Fenced(CowStr::Borrowed("")),
                )));
            }
            Event::End(TagEnd::CodeBlock) => {
                code_block = false;
                events.push(Event::End(TagEnd::CodeBlock));
            }
            // Raw HTML is text like any other, a block of it a paragraph.
            Event::Start(Tag::HtmlBlock) => events.push(Event::Start(Tag::Paragraph)),
            Event::End(TagEnd::HtmlBlock) => events.push(Event::End(TagEnd::Paragraph)),
            Event::Html(html) | Event::InlineHtml(html) => {
                let html = CowStr::from(html.trim_end_matches('\n').to_owned());
                if code_block {
                    events.push(Event::Text(html));
                } else {
                    push_text(&mut events, &html, resolve, rendered);
                }
            }
            Event::Text(text) if !code_block => push_text(&mut events, &text, resolve, rendered),
            // People press Enter for a new line.
            Event::SoftBreak => events.push(Event::HardBreak),
            Event::InlineMath(math) | Event::DisplayMath(math) => events.push(Event::Text(math)),
            Event::FootnoteReference(_) | Event::TaskListMarker(_) => {}
            other => events.push(other),
        }
    }
    if let Some(open) = link {
        open.finish(&mut events);
    }
    events
}

/// Text outside code and links: bare URLs become links, shortcodes emoji,
/// `@names` mentions.
fn push_text<'a>(
    events: &mut Vec<Event<'a>>,
    text: &str,
    resolve: &dyn Fn(&str) -> Option<String>,
    rendered: &mut Rendered,
) {
    let text = emoji::replace_shortcodes(text);
    let finder = linkify::LinkFinder::new();
    for span in finder.spans(&text) {
        match span.kind() {
            Some(linkify::LinkKind::Url) if is_web_url(span.as_str()) => {
                let url = span.as_str().to_owned();
                events.push(Event::Start(Tag::Link {
                    link_type: pulldown_cmark::LinkType::Autolink,
                    dest_url: url.clone().into(),
                    title: CowStr::Borrowed(""),
                    id: CowStr::Borrowed(""),
                }));
                events.push(Event::Text(url.into()));
                events.push(Event::End(TagEnd::Link));
            }
            _ => push_mentions(events, span.as_str(), resolve, rendered),
        }
    }
}

/// Marks `@name` where `name` is someone who may be mentioned here, and
/// `@room` and `@here`.
fn push_mentions<'a>(
    events: &mut Vec<Event<'a>>,
    text: &str,
    resolve: &dyn Fn(&str) -> Option<String>,
    rendered: &mut Rendered,
) {
    let mut rest = text;
    let mut plain = String::new();
    while let Some(at) = rest.find('@') {
        let before_ok = rest[..at]
            .chars()
            .next_back()
            .or_else(|| plain.chars().next_back())
            .is_none_or(|c| !c.is_alphanumeric());
        plain.push_str(&rest[..at]);
        let word_len = rest[at + 1..]
            .find(|c: char| c.is_whitespace() || ",;:!?()[]{}<>\"'@".contains(c))
            .unwrap_or(rest.len() - at - 1);
        let word = rest[at + 1..at + 1 + word_len].trim_end_matches('.');
        let mentioned = if !before_ok || word.is_empty() {
            None
        } else if word.eq_ignore_ascii_case("room") {
            rendered.everyone = true;
            Some("room".to_owned())
        } else if word.eq_ignore_ascii_case("here") {
            rendered.here = true;
            Some("here".to_owned())
        } else {
            resolve(word).inspect(|name| {
                if !rendered.mentions.contains(name) {
                    rendered.mentions.push(name.clone());
                }
            })
        };
        match mentioned {
            Some(_) => {
                if !plain.is_empty() {
                    events.push(Event::Text(std::mem::take(&mut plain).into()));
                }
                events.push(Event::InlineHtml(CowStr::Borrowed(MENTION_OPEN)));
                events.push(Event::Text(format!("@{word}").into()));
                events.push(Event::InlineHtml(CowStr::Borrowed(MENTION_CLOSE)));
                rest = &rest[at + 1 + word.len()..];
            }
            None => {
                plain.push('@');
                rest = &rest[at + 1..];
            }
        }
    }
    plain.push_str(rest);
    if !plain.is_empty() {
        events.push(Event::Text(plain.into()));
    }
}

/// A link being read: its events are replaced by one we write ourselves.
struct LinkInProgress<'a> {
    target: CowStr<'a>,
    /// Its text, flattened.
    text: String,
}

impl<'a> LinkInProgress<'a> {
    /// Writes the link, or just its text if it goes nowhere a browser
    /// should go. A text that looks like an address but is not the target
    /// ("[mybank.com](evil.example)") shows the real target instead.
    fn finish(self, events: &mut Vec<Event<'a>>) {
        if !is_link_target(&self.target) {
            events.push(Event::Text(self.text.into()));
            return;
        }
        let pretends = looks_like_address(&self.text) && !same_address(&self.text, &self.target);
        let shown = if pretends || self.text.trim().is_empty() {
            self.target.to_string()
        } else {
            self.text
        };
        events.push(Event::Start(Tag::Link {
            link_type: pulldown_cmark::LinkType::Inline,
            dest_url: self.target,
            title: CowStr::Borrowed(""),
            id: CowStr::Borrowed(""),
        }));
        events.push(Event::Text(shown.into()));
        events.push(Event::End(TagEnd::Link));
    }
}

fn is_web_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

fn is_link_target(url: &str) -> bool {
    is_web_url(url) || url.to_ascii_lowercase().starts_with("mailto:")
}

/// Whether a link text reads like an address: a URL, or a host name.
fn looks_like_address(text: &str) -> bool {
    let text = text.trim();
    if text.contains(char::is_whitespace) {
        return false;
    }
    let finder = linkify::LinkFinder::new();
    finder.links(text).next().is_some()
        || (text.contains('.')
            && text
                .chars()
                .all(|c| c.is_alphanumeric() || ".-/:".contains(c)))
}

/// Whether a link's text and target name the same place.
fn same_address(text: &str, target: &str) -> bool {
    let strip = |s: &str| {
        let s = s.trim().to_lowercase();
        let s = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"))
            .or_else(|| s.strip_prefix("mailto:"))
            .map(str::to_owned)
            .unwrap_or(s);
        s.trim_end_matches('/').to_owned()
    };
    strip(text) == strip(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(source: &str) -> String {
        render(source, &|word| (word == "bob").then(|| "bob".to_owned())).html
    }

    #[test]
    fn the_chat_subset_renders() {
        assert_eq!(
            html("**bold** _it_ ~~no~~ `x`"),
            "<p><strong>bold</strong> <em>it</em> <del>no</del> <code>x</code></p>\n"
        );
        assert_eq!(
            html("```rust\nfn main() {}\n```"),
            "<pre><code>fn main() {}\n</code></pre>\n"
        );
        assert_eq!(
            html("> quoted"),
            "<blockquote>\n<p>quoted</p>\n</blockquote>\n"
        );
        assert_eq!(html("- a\n- b"), "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n");
        assert_eq!(
            html("line one\nline two"),
            "<p>line one<br>\nline two</p>\n"
        );
        assert_eq!(
            html("# not a heading, just a line"),
            "<p># not a heading, just a line</p>\n"
        );
    }

    #[test]
    fn links_are_safe_and_honest() {
        let rel = r#"rel="noopener noreferrer nofollow""#;
        assert_eq!(
            html("see https://example.com/a?b=1."),
            format!(
                "<p>see <a href=\"https://example.com/a?b=1\" target=\"_blank\" {rel}>https://example.com/a?b=1</a>.</p>\n"
            )
        );
        assert_eq!(
            html("[the docs](https://docs.example.org)"),
            format!(
                "<p><a href=\"https://docs.example.org\" target=\"_blank\" {rel}>the docs</a></p>\n"
            )
        );
        // A text that is another address shows where the link really goes.
        assert_eq!(
            html("[https://mybank.com](https://evil.example/login)"),
            format!(
                "<p><a href=\"https://evil.example/login\" target=\"_blank\" {rel}>https://evil.example/login</a></p>\n"
            )
        );
        assert!(!html("[x](javascript:alert(1))").contains("href"));
        assert!(!html("[x](data:text/html,hi)").contains("href"));
        assert!(!html("[x](vbscript:msgbox)").contains("href"));
    }

    #[test]
    fn raw_html_and_images_are_inert() {
        assert_eq!(
            html("<script>alert(1)</script>"),
            "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"
        );
        assert_eq!(
            html("<img src=x onerror=alert(1)>"),
            "<p>&lt;img src=x onerror=alert(1)&gt;</p>\n"
        );
        assert_eq!(
            html("![a cat](https://example.com/cat.png)"),
            "<p>a cat</p>\n"
        );
        assert_eq!(html("&lt;b&gt;"), "<p>&lt;b&gt;</p>\n");
    }

    #[test]
    fn emoji_and_mentions() {
        let rendered = render("@bob and @carol :tada: @room", &|word| {
            (word.eq_ignore_ascii_case("bob")).then(|| "bob".to_owned())
        });
        assert_eq!(
            rendered.html,
            "<p><span class=\"mention\">@bob</span> and @carol 🎉 <span class=\"mention\">@room</span></p>\n"
        );
        assert_eq!(rendered.mentions, ["bob"]);
        assert!(rendered.everyone && !rendered.here);
        assert!(
            !render("email me at x@bob.com", &|w| Some(w.to_owned()))
                .html
                .contains("mention")
        );
        assert!(render(":fire::fire:", &|_| None).big);
        assert!(
            !html("`@bob :tada:`").contains("mention"),
            "code is left alone"
        );
        assert!(html("`@bob :tada:`").contains(":tada:"));
    }

    /// How long these take is the bench's business; here, that they end
    /// and stay inert.
    #[test]
    fn pathological_input_stays_inert() {
        for source in [
            "`".repeat(3000),
            "*".repeat(3000),
            "[".repeat(3000),
            "> ".repeat(1000),
            "_a ".repeat(1000),
        ] {
            let out = html(&source);
            assert!(!out.contains("<script"));
        }
    }

    /// The fast path for plain lines writes what the full path writes.
    #[test]
    fn plain_lines_render_the_same_either_way() {
        let alphabet: Vec<char> = "abcXYZ 09,.?!'\"();/%$-+=#^{}éßü李한🎉👍🏽".chars().collect();
        let mut state: u64 = 0x5DEE_CE66_D1CE_4E5B;
        let mut plain = 0;
        for _ in 0..5000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = 1 + (state % 40) as usize;
            let text: String = (0..len)
                .map(|i| alphabet[((state >> (i % 48)) as usize + i * 11) % alphabet.len()])
                .collect();
            if is_plain(&text) {
                plain += 1;
                let fast = render(&text, &|_| None);
                let full = render_markdown(&text, &|_| None);
                assert_eq!(fast, full, "{text:?}");
            }
        }
        assert!(plain > 1000, "the sample exercised the fast path: {plain}");
        for text in [
            "hello there",
            "Ana Luísa says hi!",
            "see you at 5 (or 6)",
            "100% sure",
            "well-known e-mail - 2+2=4 #general",
            "5 minutes late, sorry",
            "2024 was a year",
        ] {
            let fast = render(text, &|_| None);
            assert_eq!(fast, render_markdown(text, &|_| None), "{text:?}");
        }
        for text in [
            "1. list",
            "2) list",
            "12.",
            "- item",
            "+ item",
            "a\n---",
            "a *b*",
            "a_b_",
            "x\ny",
            "a  ",
            "# h",
            "a <b>",
            "a &amp; b",
            "@bob",
            ":tada:",
        ] {
            assert!(!is_plain(text), "{text:?}");
        }
    }

    /// The allowlist the renderer gave ammonia before `html.rs` wrote the
    /// HTML itself.
    fn ammonia() -> ammonia::Builder<'static> {
        let mut builder = ammonia::Builder::empty();
        builder
            .add_tags([
                "p",
                "br",
                "strong",
                "em",
                "del",
                "code",
                "pre",
                "blockquote",
                "ul",
                "ol",
                "li",
                "a",
                "span",
            ])
            .add_tag_attributes("a", ["href"])
            .add_tag_attributes("ol", ["start"])
            .add_allowed_classes("span", ["mention"])
            .url_schemes(["http", "https", "mailto"].into())
            .link_rel(Some("noopener noreferrer nofollow"))
            .set_tag_attribute_value("a", "target", "_blank");
        builder
    }

    /// What the renderer wrote before: pulldown-cmark's HTML writer, the
    /// bidi filter, then ammonia.
    fn as_before(source: &str, sanitizer: &ammonia::Builder<'_>) -> String {
        let resolve = |word: &str| (word == "bob").then(|| "bob".to_owned());
        let events = chat_events(source, &resolve, &mut Rendered::default());
        let mut html = String::new();
        pulldown_cmark::html::push_html(&mut html, events.into_iter());
        let html: String = html
            .chars()
            .filter(|c| !BIDI_CONTROLS.contains(c))
            .collect();
        sanitizer.clean(&html).to_string()
    }

    /// Markdown-ish text from pieces that each mean something to the
    /// parser, the link finder, the mentions or an HTML parser.
    fn generated(count: usize) -> Vec<String> {
        const PIECES: &[&str] = &[
            "**",
            "_",
            "*",
            "~~",
            "~",
            "`",
            "```\n",
            "```rust\n",
            "\n",
            "\n\n",
            "> ",
            "- ",
            "1. ",
            "3) ",
            "  ",
            "    ",
            "\t",
            "[",
            "](",
            ")",
            "]",
            "(",
            "!",
            "![",
            "# ",
            "## ",
            "---\n",
            "***",
            "<",
            ">",
            "</",
            "&",
            "&amp;",
            "&lt;",
            "&#x27;",
            "&nbsp;",
            "\"",
            "'",
            "=",
            "<b>",
            "</b>",
            "<script>",
            "<a href=\"javascript:x\">",
            "<!-- ",
            "-->",
            "@bob",
            "@room",
            "@here",
            "@",
            "x@bob.com",
            ":tada:",
            ":",
            ":+1:",
            "https://example.com",
            "https://example.com/a?b=1&c='2'",
            "http://[::1]:8080/",
            "https://[x",
            "HTTPS://EX.COM",
            "mailto:a@b.c",
            "javascript:alert(1)",
            "data:text/html,x",
            "<https://x.example>",
            "<a@b.example>",
            "www.example.org",
            "word",
            "two words",
            "héllo",
            "李",
            "🎉",
            "\\",
            "|",
            "\u{A0}",
            "\u{202E}",
            "\u{2066}",
            "\r\n",
            "\r",
            "\u{0}",
            "\u{1}",
            "[x]: https://r.example\n",
            "[x]",
            "[x][]",
            "$",
            "%",
            "^",
            "{",
            "}",
        ];
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..count)
            .map(|_| {
                let len = 1 + next() % 14;
                (0..len)
                    .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                    .collect()
            })
            .collect()
    }

    /// The HTML writer writes what pulldown-cmark's writer and ammonia
    /// wrote before it, and ammonia leaves what it writes as it is: it lets
    /// through nothing the allowlist would not.
    #[test]
    fn the_writer_writes_only_the_allowlist() {
        let sanitizer = ammonia();
        let mut sources: Vec<String> = [
            "**bold** _it_ ~~no~~ `x`",
            "```rust\nfn main() {}\n```",
            "> quoted\n> > nested\n\nafter",
            "- a\n- b\n\n  more\n- c\n  1. x\n  2. y",
            "7. seven\n8. eight",
            "line one\nline two  \nthree",
            "# heading\n\ntext\n---\nmore",
            "see https://example.com/a?b=1. and <https://x.example/p>",
            "[the docs](https://docs.example.org \"title\")",
            "[https://mybank.com](https://evil.example/login)",
            "[x](javascript:alert(1)) [y](data:text/html,hi) [z](/relative)",
            "<script>alert(1)</script>\n\n<div>\nblock\n</div>",
            "![a cat](https://example.com/cat.png)",
            "&lt;b&gt; &copy; &amp;",
            "@bob and @carol :tada: @room @here",
            "`@bob :tada:`",
            "    indented code\n    <b>",
            "a\u{A0}b \u{202E}evil\u{202C}",
            "windows\r\nline\r\n\r\n```\r\ncode\r\n```",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        sources.extend(adversarial());
        sources.extend(generated(10_000));
        let mut compared = 0;
        for source in &sources {
            let written = html(source);
            assert_only_allowed_markup(&written, source);
            assert_eq!(
                sanitizer.clean(&written).to_string(),
                written,
                "ammonia would change what {source:?} renders to"
            );
            let before = as_before(source, &sanitizer);
            // Before, a link to a URL that does not parse kept its `<a>`
            // without an `href`; now it is its text.
            if !before.contains("<a target=") {
                assert_eq!(written, before, "{source:?}");
                compared += 1;
            }
        }
        assert!(compared > 9_500, "{compared}");
    }

    /// Inputs written to get markup, a script or another URL scheme past
    /// the writer: raw HTML, links that hide `javascript:` or `data:` by
    /// case, spaces, angle brackets, entities or references, quotes that
    /// try to close the `href`, emphasis nested deep or left open, and
    /// entities that decode to markup or to characters the writer drops.
    fn adversarial() -> Vec<String> {
        let mut inputs: Vec<String> = [
            // Raw HTML, inline and as blocks.
            "<svg onload=alert(1)>",
            "<iframe src=\"javascript:alert(1)\"></iframe>",
            "<style>*{display:none}</style>",
            "<img src=x onerror=alert(1)//",
            "<a href=\"https://x.example\" onclick=\"alert(1)\">x</a>",
            "</p><script>alert(1)</script><p>",
            "<!--<script>alert(1)</script>-->",
            "<![CDATA[<script>alert(1)</script>]]>",
            "<?xml version=\"1.0\"?><x/>",
            "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
            "<span class=\"mention\">@fake</span>",
            "<div>\n\n*emphasis inside*\n\n</div>",
            "text <b onmouseover=alert(1)>bold</b> text",
            "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
            // Links to schemes that must not survive.
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "[x]( javascript:alert(1) )",
            "[x](<javascript:alert(1)>)",
            "[x](java\tscript:alert(1))",
            "[x](java&#x09;script:alert(1))",
            "[x](&#106;avascript:alert(1))",
            "[x](javascript&colon;alert(1))",
            "[x](\\javascript:alert(1))",
            "[x](%6Aavascript:alert(1))",
            "[x](vbscript:msgbox(1))",
            "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
            "[x](file:///etc/passwd)",
            "[x](//evil.example/path)",
            "[x](/relative) [y](#frag) [z](?q)",
            "[x](\u{0}javascript:alert(1))",
            "[x][r]\n\n[r]: javascript:alert(1)",
            "[x][r]\n\n[r]: <javascript:alert(1)> \"t\"",
            "<javascript:alert(1)> <data:text/html,x> <vbscript:x>",
            "javascript:alert(1) JAVASCRIPT://%0aalert(1)",
            "![x](javascript:alert(1)) ![y](https://x.example/i.png \"t\")",
            "[[x](javascript:alert(1))](https://ok.example)",
            "[x](https://ok.example)[y](javascript:z)",
            // Links that try to break out of the attribute or the tag.
            "[x](https://x.example/\" onmouseover=\"alert(1))",
            "[x](<https://x.example/\" onmouseover=\"alert(1)>)",
            "[x](https://x.example 'a\" onmouseover=alert(1)')",
            "[x](https://x.example/<script>alert(1)</script>)",
            "[x](https://x.example/\u{202E}gpj.exe)",
            "[x](https://x.example/&quot;&gt;&lt;script&gt;)",
            "[x](mailto:a@b.example?body=<script>alert(1)</script>)",
            "https://x.example/\"><script>alert(1)</script>",
            "https://x.example/'onmouseover='alert(1)'",
            "<https://x.example/\"onmouseover=\"alert(1)>",
            "[https://ok.example](javascript:alert(1))",
            "[**https://a.example**](https://b.example)",
            "[<b>https://a.example</b>](https://b.example)",
            "[@bob](https://x.example) [:tada:](https://y.example)",
            // Emphasis nested deep, crossed or left open.
            "***a***",
            "**_~~`x`~~_**",
            "*a **b *c* d** e*",
            "_a_b_c_ __a__b__",
            "**a* *b** ~~c~ ~d~~",
            "~~~~x~~~~ ~~~x~~~",
            "**[x](https://x.example)** *[y](javascript:z)*",
            "> **a\n> b** c\n\n- *d\n- e*",
            "`code with <b> and **stars**` and ``a`b``",
            // Entities that decode to markup or to dropped characters.
            "&lt;script&gt;alert(1)&lt;/script&gt;",
            "&#60;script&#62;alert(1)&#60;/script&#62;",
            "&#x3C;img src=x onerror=alert(1)&#x3E;",
            "&amp;lt;b&amp;gt; &amp;amp;",
            "&#0; &#xD800; &#x110000; &#9999999999;",
            "&#x202E;evil&#x202C; &#8238;",
            "&NotAnEntity; &nbsp &nbsp; &quot;&apos;&#39;",
            "`&lt;b&gt;` ```\n&lt;b&gt;\n```",
            "[&lt;b&gt;](https://x.example/&amp;&lt;)",
            "&#x5B;x&#x5D;(javascript:alert(1))",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for depth in [10, 100, 500] {
            inputs.push(format!("{}x{}", "*".repeat(depth), "*".repeat(depth)));
            inputs.push(format!("{}x{}", "_".repeat(depth), "_".repeat(depth)));
            inputs.push(format!("{}x", "> ".repeat(depth)));
            inputs.push(format!("{}x", "- ".repeat(depth.min(100))));
            inputs.push(format!(
                "{}x{}",
                "[".repeat(depth),
                "](javascript:a)".repeat(depth)
            ));
            inputs.push("<b>".repeat(depth));
        }
        inputs
    }

    /// Checks `html`, independently of ammonia, against what the writer may
    /// write at all: each tag one of the allowlist's, written exactly as the
    /// writer writes it, a link's `href` an http(s) or mailto URL with
    /// nothing in it that could end the attribute, each `&` one of the four
    /// entities escaping writes, and no NUL or bidi control anywhere.
    fn assert_only_allowed_markup(html: &str, source: &str) {
        const TAGS: &[&str] = &[
            "p",
            "/p",
            "br",
            "strong",
            "/strong",
            "em",
            "/em",
            "del",
            "/del",
            "code",
            "/code",
            "pre",
            "/pre",
            "blockquote",
            "/blockquote",
            "ul",
            "/ul",
            "ol",
            "/ol",
            "li",
            "/li",
            "/a",
            "/span",
        ];
        let mut rest = html;
        while let Some(open) = rest.find('<') {
            let close = rest[open..]
                .find('>')
                .unwrap_or_else(|| panic!("an unclosed tag from {source:?}: {html:?}"));
            let tag = &rest[open + 1..open + close];
            let allowed = TAGS.contains(&tag)
                || tag == "span class=\"mention\""
                || tag
                    .strip_prefix("ol start=\"")
                    .and_then(|t| t.strip_suffix('"'))
                    .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
                || tag
                    .strip_prefix("a href=\"")
                    .and_then(|t| {
                        t.strip_suffix("\" target=\"_blank\" rel=\"noopener noreferrer nofollow\"")
                    })
                    .is_some_and(|href| {
                        let lower = href.to_ascii_lowercase();
                        ["http://", "https://", "mailto:"]
                            .iter()
                            .any(|scheme| lower.starts_with(scheme))
                            && !href.contains(|c: char| {
                                c.is_whitespace() || c.is_control() || "\"<>`".contains(c)
                            })
                    });
            assert!(allowed, "<{tag}> from {source:?}: {html:?}");
            rest = &rest[open + close + 1..];
        }
        for (at, _) in html.match_indices('&') {
            assert!(
                ["&amp;", "&lt;", "&gt;", "&nbsp;"]
                    .iter()
                    .any(|entity| html[at..].starts_with(entity)),
                "a bare & from {source:?}: {html:?}"
            );
        }
        assert!(
            !html.contains(|c: char| c == '\0' || BIDI_CONTROLS.contains(&c)),
            "{source:?}: {html:?}"
        );
    }

    #[test]
    fn bidi_overrides_are_dropped() {
        let out = html("[\u{202E}moc.elpmaxe](https://evil.example)");
        assert!(!out.contains('\u{202E}'));
    }
}
