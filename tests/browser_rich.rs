//! Rich messages in real headless Chromium against the real server: the
//! server's HTML shown and inert (a table of hostile inputs under the
//! strict CSP), formatting, big emoji, the emoji picker and `:shortcode:`
//! suggestions, reactions between two browsers, replies and jumping to a
//! message far back, edits and deletions live and after a reload, the edit
//! window, mentions and their badge, a long press on a touch screen, and a
//! resume after a break that ends with the server's state. Screenshots of it all, light and dark, desktop
//! and phone. Skips loudly without Chromium (fails with
//! `LANCHAT_REQUIRE_BROWSER=1`).

mod browser_support;
mod common;
mod webdriver;

use browser_support::rich;
use browser_support::*;
use common::owner::Owner;
use common::{Client, Server};
use serde_json::{Value, json};
use webdriver::{ARROW_DOWN, ARROW_RIGHT, ARROW_UP, Chrome, ENTER, ESCAPE, Page};

/// The seq of the stored message whose text reads `text`, once it shows.
fn seq_of(page: &Page, text: &str) -> u64 {
    wait_delivered(page, text);
    let seq = page.eval(
        "return [...document.querySelectorAll('#timeline .msg[data-seq]')]
             .find(r => r.querySelector('.text')?.textContent === arguments[0])?.dataset.seq;",
        json!([text]),
    );
    seq.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no seq for {text:?}: {seq}"))
}

/// A row's selector.
fn row(seq: u64) -> String {
    format!("#timeline .msg[data-seq='{seq}']")
}

/// Presses `action` (quick, pick, reply, edit, delete) in message `seq`'s
/// action bar, which shows while the bar has the focus (as for a keyboard).
fn press_action(page: &Page, seq: u64, action: &str) {
    let bar = format!("{} .actions", row(seq));
    page.eval(
        "document.querySelector(arguments[0] + ' button').focus();",
        json!([bar]),
    );
    page.wait_for(
        "the action bar to show",
        &format!("getComputedStyle(document.querySelector(\"{bar}\")).opacity === '1'"),
    );
    page.click(&format!("{bar} [data-msg-action='{action}']"));
}

/// The reactions on message `seq` as the page shows them: `[emoji, count, pressed]`.
fn reactions(page: &Page, seq: u64) -> Value {
    page.eval(
        "return [...document.querySelectorAll(arguments[0] + ' .reaction[data-react]')]
             .map(c => [c.dataset.react, c.querySelector('.reaction-count').textContent,
                        c.getAttribute('aria-pressed')]);",
        json!([row(seq)]),
    )
}

/// Says `text` as `client` and waits for its echo; returns its seq.
async fn said(client: &mut Client, text: &str, cid: &str) -> u64 {
    client.say(text, cid).await;
    loop {
        let frame = client.recv_type("message").await;
        if frame["cid"] == cid {
            return frame["seq"].as_u64().unwrap();
        }
    }
}

/// Sends a change and waits for its log entry (or refusal) to come back.
async fn change(client: &mut Client, frame: Value) -> Value {
    let kind = frame["type"].as_str().unwrap().to_owned();
    let cid = frame["cid"].clone();
    client.send_json(frame).await;
    loop {
        let answer = client.recv().await;
        if answer["cid"] == cid && (answer["type"] == kind.as_str() || answer["type"] == "error") {
            return answer;
        }
    }
}

/// The token this browser keeps for `name`, to act as the same person elsewhere.
fn token_of(page: &Page, name: &str) -> String {
    let token = page.js(&format!("localStorage.getItem('lanchat.token.{name}')"));
    format!("token.{}", token.as_str().expect("a token"))
}

/// Each row of a table of hostile messages is shown inert: no dialog, no
/// CSP violation, no element or attribute beyond the server's allowlist,
/// every link http(s) or mailto, and a link's text never pretends to be
/// another address than where it goes.
#[test]
fn hostile_messages_render_inert() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start_with(&["--rate-limit", "0"]);
    let alice = chrome.open();
    record_csp_violations(&alice);
    alice.cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": "window.dialogs = 0;
            for (const name of ['alert', 'confirm', 'prompt']) {
                const original = window[name];
                window[name] = function (...args) { window.dialogs += 1; return original.apply(this, args); };
            }" }),
    );
    join(&alice, &server, "alice");
    let backticks = "`".repeat(3000);
    let table = [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<svg onload=alert(1)><a href=\"javascript:alert(1)\">svg</a></svg>",
        "<iframe src=\"javascript:alert(1)\"></iframe><style>body{display:none}</style>",
        "[x](javascript:alert(1))",
        "[caps](JaVaScRiPt:alert(1))",
        "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[vb](vbscript:msgbox(1))",
        "<https://example.com/\"onmouseover=\"alert(1)>",
        "https://example.com/a'onfocus='alert(1)'autofocus='",
        "&lt;b&gt;not bold&lt;/b&gt; &#60;script&#62;alert(1)&#60;/script&#62; &amp;",
        "***bold _italic ~~strike `code` inside~~ all_*** **[link *in* bold](https://example.com/b)**",
        &backticks,
        "[https://example.com/\u{202E}exe.txt](https://example.com/safe)",
        "[https://mybank.example](https://evil.example/login)",
        "<a href=\"https://example.com\" onclick=\"alert(1)\" style=\"color:red\">raw link</a>",
    ];
    let rt = runtime();
    rt.block_on(async {
        let (mut mallory, _, _) = Client::join(&server, "mallory").await;
        for (n, text) in table.iter().enumerate() {
            said(&mut mallory, text, &format!("m-{n}")).await;
        }
    });
    alice.wait_eq(
        "every row shown",
        "document.querySelectorAll('#timeline .msg[data-seq]').length",
        json!(table.len()),
    );

    assert_eq!(alice.dialog_text(), None, "a dialog fired");
    assert_eq!(alice.js("window.dialogs"), json!(0));
    assert_eq!(alice.js("window.cspViolations"), json!([]));
    // Only the server's allowlist, and no attribute of its own.
    let strangers = alice.js(
        "[...document.querySelectorAll('#timeline .text *')].filter(e =>
            !['P','BR','STRONG','EM','DEL','CODE','PRE','BLOCKQUOTE','UL','OL','LI','A','SPAN'].includes(e.tagName)
            || [...e.attributes].some(a => !['href','target','rel','class','start'].includes(a.name)))
            .map(e => e.outerHTML)",
    );
    assert_eq!(
        strangers,
        json!([]),
        "elements or attributes beyond the allowlist"
    );
    for selector in [
        "[onerror]",
        "[onload]",
        "[onclick]",
        "[onmouseover]",
        "[onfocus]",
        "[style]",
        "script",
        "img",
        "svg:not(.action svg)",
        "iframe",
        "style",
    ] {
        assert_eq!(
            alice.js(&format!(
                "document.querySelectorAll('#timeline .bubble {selector}').length"
            )),
            json!(0),
            "{selector} in the timeline"
        );
    }
    let links = alice.js(
        "[...document.querySelectorAll('#timeline a[href]')].map(a => [new URL(a.href).protocol, a.target, a.rel])",
    );
    for link in links.as_array().unwrap() {
        assert!(
            ["http:", "https:", "mailto:"].contains(&link[0].as_str().unwrap()),
            "a link to {link}"
        );
        assert_eq!(link[1], "_blank");
        assert_eq!(link[2], "noopener noreferrer nofollow");
    }
    // What was markup shows as text.
    let texts = texts(&alice);
    assert_eq!(texts[0], "<script>alert(1)</script>");
    assert_eq!(texts[1], "<img src=x onerror=alert(1)>");
    assert_eq!(
        texts[10], "<b>not bold</b> <script>alert(1)</script> &",
        "entities"
    );
    assert_eq!(texts[12], backticks, "3,000 backticks, as written");
    // Nested emphasis nests, and no deeper than written.
    assert_eq!(
        alice.js("document.querySelectorAll('#timeline strong em del code').length"),
        json!(1)
    );
    // No bidi override survives, and a pretend address shows the real target.
    assert_eq!(
        alice.js("[...document.querySelectorAll('#timeline .text')].some(t => /[\\u202a-\\u202e\\u2066-\\u2069]/.test(t.textContent))"),
        json!(false)
    );
    let pretend = alice.js(
        "[...document.querySelectorAll('#timeline a')].filter(a => a.href.startsWith('https://evil.example'))
            .map(a => a.textContent)",
    );
    assert_eq!(pretend, json!(["https://evil.example/login"]));
    // Every link that reads as an address goes to that address.
    let misleading = alice.js("[...document.querySelectorAll('#timeline a')].filter(a => {
            let said; try { said = new URL(a.textContent.trim()).href; } catch { return false; }
            return said.replace(/\\/$/, '') !== a.href.replace(/\\/$/, '');
        }).map(a => [a.textContent, a.href])");
    assert_eq!(misleading, json!([]), "links whose text is another address");
    // The page did not break the timeline's layout either.
    assert_eq!(
        alice.js("document.documentElement.scrollWidth"),
        json!(1280)
    );
}

/// The chat subset of markdown shows as formatting, and one to three emoji
/// alone show large.
#[test]
fn formatting_shows() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    let alice = chrome.open();
    join(&alice, &server, "alice");
    let text = "**bold** _italic_ ~~gone~~ `code`\n\n```\nfn main() {}\n```\n\n> a quote\n\n\
                - one\n- two\n\n1. first\n\nsee https://example.com/a and [the docs](https://docs.example.org)";
    runtime().block_on(async {
        let (mut bob, _, _) = Client::join(&server, "bob").await;
        said(&mut bob, text, "b-1").await;
        said(&mut bob, "🎉🎉", "b-2").await;
        said(&mut bob, "🎉 and words", "b-3").await;
    });
    alice.wait_eq(
        "three messages",
        "document.querySelectorAll('#timeline .msg[data-seq]').length",
        json!(3),
    );
    let first = "#timeline .msg[data-seq='1'] .text";
    let count = |selector: &str| {
        alice.js(&format!(
            "document.querySelectorAll(\"{first} {selector}\").length"
        ))
    };
    assert_eq!(count("strong"), json!(1));
    assert_eq!(count("em"), json!(1));
    assert_eq!(count("del"), json!(1));
    assert_eq!(count("p code"), json!(1), "inline code");
    assert_eq!(count("pre code"), json!(1), "a fenced block");
    assert_eq!(count("blockquote"), json!(1));
    assert_eq!(count("ul li"), json!(2));
    assert_eq!(count("ol li"), json!(1));
    assert_eq!(count("a[target=_blank]"), json!(2));
    assert_eq!(
        alice.js(&format!(
            "document.querySelector(\"{first} pre\").textContent"
        )),
        json!("fn main() {}\n")
    );
    assert_eq!(
        alice.js(&format!(
            "getComputedStyle(document.querySelector(\"{first} pre\")).fontFamily.includes('mono')"
        )),
        json!(true),
        "code in a monospace font"
    );
    let size = |seq: u64| {
        alice
            .js(&format!(
                "parseFloat(getComputedStyle(document.querySelector(\"{} .text\")).fontSize)",
                row(seq)
            ))
            .as_f64()
            .unwrap()
    };
    assert!(
        size(2) > 2.0 * size(3),
        "big emoji: {} vs {}",
        size(2),
        size(3)
    );
    assert_eq!(
        alice.js(&format!(
            "document.querySelector(\"{}\").querySelector('.big-emoji') !== null",
            row(3)
        )),
        json!(false)
    );
}

/// The composer's picker puts an emoji in by keyboard (search, arrows,
/// Enter) and by click, remembers it as recent, and closes on Escape with
/// the focus back on its button; `:shortcode` suggests too.
#[test]
fn the_picker_and_shortcodes_insert_emoji() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    let alice = chrome.open();
    join(&alice, &server, "alice");
    let picker_open = "!document.getElementById('picker').hidden";
    let options = "document.querySelectorAll('#picker-grid [role=option]').length";

    alice.click("#emoji-button");
    alice.wait_for(
        "the picker with every emoji",
        &format!("{picker_open} && {options} > 1000"),
    );
    assert_eq!(
        alice.js("document.activeElement.id"),
        json!("picker-search"),
        "the search has the focus"
    );
    alice.type_into("#picker-search", "party popper");
    alice.wait_eq(
        "one result",
        "[...document.querySelectorAll('#picker-grid [role=option]')].map(o => o.dataset.emoji)",
        json!(["🎉"]),
    );
    alice.type_into("#picker-search", ENTER);
    alice.wait_for(
        "the picker to close",
        "document.getElementById('picker').hidden",
    );
    assert_eq!(
        alice.js("document.getElementById('message-input').value"),
        json!("🎉")
    );
    assert_eq!(
        alice.js("document.activeElement.id"),
        json!("message-input")
    );

    // Arrows move through the grid: right, then down a row.
    alice.click("#emoji-button");
    alice.wait_for("the picker", &format!("{picker_open} && {options} > 1000"));
    let active = "document.getElementById(document.getElementById('picker-search')
                      .getAttribute('aria-activedescendant'))?.dataset.index";
    alice.wait_eq("the first emoji chosen", active, json!("0"));
    alice.type_into("#picker-search", ARROW_RIGHT);
    alice.wait_eq("the second", active, json!("1"));
    alice.type_into("#picker-search", ARROW_DOWN);
    let columns = alice
        .js("Math.floor(document.querySelector('.picker-cells').clientWidth / document.querySelector('.picker-option').offsetWidth)")
        .as_u64()
        .unwrap();
    assert!(columns >= 5, "{columns} columns");
    alice.wait_eq("a row down", active, json!((1 + columns).to_string()));
    alice.type_into("#picker-search", ARROW_UP);
    alice.wait_eq("back up", active, json!("1"));
    // The first group is the recent ones: the 🎉 just used, then whatever
    // came second; Enter takes the one chosen.
    let chosen = alice.js(&format!(
        "document.getElementById('picker-option-{}').dataset.emoji",
        1
    ));
    assert_eq!(
        alice.js("document.querySelector('#picker-grid [role=group]').getAttribute('aria-label')"),
        json!("Recently used")
    );
    assert_eq!(
        alice.js("document.getElementById('picker-option-0').dataset.emoji"),
        json!("🎉")
    );
    alice.type_into("#picker-search", ENTER);
    alice.wait_eq(
        "the chosen emoji after the first",
        "document.getElementById('message-input').value",
        json!(format!("🎉{}", chosen.as_str().unwrap())),
    );

    // A click picks too; Escape closes and gives the focus back.
    alice.click("#emoji-button");
    alice.wait_for("the picker", &format!("{picker_open} && {options} > 1000"));
    alice.type_into("#picker-search", ESCAPE);
    alice.wait_for(
        "the picker to close",
        "document.getElementById('picker').hidden",
    );
    assert_eq!(alice.js("document.activeElement.id"), json!("emoji-button"));
    alice.click("#emoji-button");
    alice.wait_for("the picker", &format!("{picker_open} && {options} > 1000"));
    alice.type_into("#picker-search", "thumbs up");
    alice.wait_for(
        "the thumbs up",
        "document.querySelector('#picker-grid [data-emoji=\"👍\"]')",
    );
    // A skin tone, then the thumb in it.
    alice.click("#picker-tones button:nth-child(4)");
    alice.wait_for(
        "the thumbs up in a medium tone",
        "document.querySelector('#picker-grid [data-emoji=\"👍🏽\"]')",
    );
    alice.click("#picker-grid [data-emoji='👍🏽']");
    alice.wait_for(
        "the picker to close",
        "document.getElementById('picker').hidden",
    );
    let value = alice.js("document.getElementById('message-input').value");
    assert!(value.as_str().unwrap().ends_with("👍🏽"), "{value}");

    // `:tad` suggests :tada:; Enter takes it instead of sending.
    alice.js("document.getElementById('message-input').value = ''");
    alice.type_into("#message-input", "yes :tad");
    alice.wait_eq(
        "the suggestion",
        "[...document.querySelectorAll('#suggestions [role=option]')].map(o => o.textContent).slice(0, 1)",
        json!(["🎉:tada:party popper"]),
    );
    alice.type_into("#message-input", ENTER);
    alice.wait_eq(
        "the emoji in place of the shortcode",
        "document.getElementById('message-input').value",
        json!("yes 🎉"),
    );
    assert_eq!(
        alice.js("document.getElementById('suggestions').hidden"),
        json!(true)
    );
    alice.type_into("#message-input", ENTER);
    wait_delivered(&alice, "yes 🎉");
}

/// bob reacts to alice's message in his browser: alice sees the chip, with
/// who reacted; bob's own is marked. The same person reacting from another
/// connection still counts once. bob taking it back removes it for both.
#[test]
fn a_reaction_reaches_the_other_browser_and_can_be_taken_back() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    let alice = chrome.open();
    let bob = chrome.open();
    join(&alice, &server, "alice");
    join(&bob, &server, "bob");
    say(&alice, "Lunch at noon?");
    let seq = seq_of(&bob, "Lunch at noon?");

    press_action(&bob, seq, "quick");
    for page in [&alice, &bob] {
        page.wait_eq(
            "bob's 👍",
            &format!(
                "document.querySelectorAll(\"{} .reaction[data-react]\").length",
                row(seq)
            ),
            json!(1),
        );
    }
    assert_eq!(reactions(&alice, seq), json!([["👍", "1", "false"]]));
    assert_eq!(
        reactions(&bob, seq),
        json!([["👍", "1", "true"]]),
        "bob's own, marked"
    );
    alice.wait_eq(
        "who reacted, in the chip's title",
        &format!("document.querySelector(\"{} .reaction\").title", row(seq)),
        json!("bob reacted with thumbs up"),
    );

    // From the picker: a second emoji, by keyboard.
    press_action(&bob, seq, "pick");
    bob.wait_for(
        "the picker for a reaction",
        "!document.getElementById('picker').hidden && document.querySelectorAll('#picker-grid [role=option]').length > 1000",
    );
    assert_eq!(
        bob.js("document.getElementById('picker-title').textContent"),
        json!("React with an emoji")
    );
    bob.type_into("#picker-search", "party popper");
    bob.wait_for(
        "🎉",
        "document.querySelector('#picker-grid [data-emoji=\"🎉\"]')",
    );
    bob.type_into("#picker-search", ENTER);
    alice.wait_eq(
        "both of bob's reactions",
        &format!("[...document.querySelectorAll(\"{} .reaction[data-react]\")].map(c => c.dataset.react)", row(seq)),
        json!(["👍", "🎉"]),
    );

    // bob on another connection (another tab, another device) adds 🎉
    // again: still one person.
    let token = token_of(&bob, "bob");
    runtime().block_on(async {
        let mut other = Owner::with_token(&server, "bob", &token).await;
        change(
            &mut other.client,
            json!({"type":"react","target":seq,"emoji":"🎉","on":true,"cid":"other-tab"}),
        )
        .await;
        // And a message: once alice has it, she has heard the reaction.
        said(&mut other.client, "from the other tab", "o-1").await;
    });
    wait_delivered(&alice, "from the other tab");
    assert_eq!(
        reactions(&alice, seq),
        json!([["👍", "1", "false"], ["🎉", "1", "false"]])
    );

    // Taking them back: a tap on bob's own chip.
    bob.click(&format!("{} .reaction[data-react='👍']", row(seq)));
    bob.click(&format!("{} .reaction[data-react='🎉']", row(seq)));
    for page in [&alice, &bob] {
        page.wait_eq(
            "no reactions",
            &format!(
                "document.querySelectorAll(\"{} .reaction\").length",
                row(seq)
            ),
            json!(0),
        );
    }
    assert_eq!(alice.js("window.pageErrors"), json!([]));
}

/// A reply shows a quote of what it answers; the quote jumps to the
/// original 300 messages back, with one page around it (then back to the
/// latest); a
/// deleted original shows as deleted. Replying from the page: the action
/// bar's Reply, a preview that Escape cancels, and the sent reply's quote.
#[test]
fn a_replys_quote_jumps_to_the_original_far_back() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start_with(&["--rate-limit", "0"]);
    let rt = runtime();
    let mut carol = rt.block_on(async {
        let mut carol = Owner::claim(&server, "carol").await;
        for n in 1..=300 {
            said(&mut carol.client, &format!("message {n}"), &format!("c-{n}")).await;
        }
        carol
            .client
            .send_json(json!({"type":"message","message":"yes, about the first one","cid":"c-reply","reply_to":1}))
            .await;
        carol.client.recv_type("message").await;
        carol
    });
    let alice = chrome.open();
    record_sent_frames(&alice);
    join(&alice, &server, "alice");
    let reply = seq_of(&alice, "yes, about the first one");
    assert_eq!(texts(&alice).len(), 100, "the latest hundred");
    let quote = format!("{} .reply-quote", row(reply));
    assert_eq!(
        alice.js(&format!("document.querySelector(\"{quote}\").textContent")),
        json!("In reply to Reply to an earlier message: show it")
    );

    alice.click(&quote);
    alice.wait_for(
        "message 1 in view, focused and highlighted",
        "(() => { const row = document.querySelector(\"#timeline .msg[data-seq='1']\");
                  if (!row) return false;
                  const view = document.getElementById('messages').getBoundingClientRect();
                  const box = row.getBoundingClientRect();
                  return box.top >= view.top && box.bottom <= view.bottom
                      && document.activeElement === row && row.classList.contains('jumped'); })()",
    );
    assert_eq!(
        alice.js("document.querySelector(\"#timeline .msg[data-seq='1'] .text\").textContent"),
        json!("message 1")
    );
    assert_no_duplicate_seqs(&alice);
    // One page around the original, not every page between.
    let asked: Vec<Value> = sent_frames(&alice, "history");
    assert_eq!(
        asked
            .iter()
            .filter(|frame| frame["around"] == json!(1))
            .count(),
        1,
        "one jump asked for: {asked:?}"
    );
    assert!(
        asked.iter().all(|frame| frame.get("before").is_none()),
        "no paging back: {asked:?}"
    );

    // Back to the latest messages, where the reply is.
    alice.click("#jump-latest");
    alice.wait_for(
        "the latest page again",
        &format!(
            "!!document.querySelector(\"{quote}\") && document.getElementById('jump-latest').hidden"
        ),
    );

    // Replying from the page to a message near by.
    let near = seq_of(&alice, "message 299");
    press_action(&alice, near, "reply");
    alice.wait_eq(
        "the reply preview",
        "document.getElementById('composer-context').hidden ? '' : document.getElementById('composer-context-label').textContent",
        json!("Replying to carol"),
    );
    assert_eq!(
        alice.js("document.activeElement.id"),
        json!("message-input")
    );
    alice.type_into("#message-input", ESCAPE);
    alice.wait_for(
        "the preview gone",
        "document.getElementById('composer-context').hidden",
    );
    press_action(&alice, near, "reply");
    alice.wait_for(
        "the preview again",
        "!document.getElementById('composer-context').hidden",
    );
    say(&alice, "count me in");
    let mine = seq_of(&alice, "count me in");
    alice.wait_eq(
        "the sent reply's quote",
        &format!(
            "document.querySelector(\"{} .reply-quote .quote-text\")?.textContent",
            row(mine)
        ),
        json!("message 299"),
    );
    assert_eq!(
        alice.js("document.getElementById('composer-context').hidden"),
        json!(true)
    );
    let stored = store_value(
        &alice,
        &format!(
            "state.rooms.get('lobby').timeline.find(e => e.frame?.seq === {mine}).frame.reply_to"
        ),
    );
    assert_eq!(stored, json!(near), "the server stored what it answers");

    // carol deletes the original: the quote says so.
    rt.block_on(async {
        change(
            &mut carol.client,
            json!({"type":"delete","target":near,"cid":"c-del"}),
        )
        .await;
    });
    alice.wait_eq(
        "the quote of a deleted message",
        &format!(
            "document.querySelector(\"{} .reply-quote .quote-text\").textContent",
            row(mine)
        ),
        json!("message deleted"),
    );
}

/// alice edits her last message with Up (Escape cancels), and deletes
/// another after confirming; bob sees both live, and both pages still show
/// them after a reload. Past the edit window a message offers no Edit.
#[test]
fn edits_and_deletions_show_live_and_after_a_reload() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start_with(&["--edit-window-minutes", "5"]);
    let alice = chrome.open();
    let bob = chrome.open();
    join(&alice, &server, "alice");
    join(&bob, &server, "bob");
    say(&alice, "this one goes");
    say(&alice, "helo wrld");
    let gone = seq_of(&bob, "this one goes");
    let typo = seq_of(&bob, "helo wrld");
    wait_delivered(&alice, "helo wrld");
    assert_eq!(
        store_value(&alice, "state.limits.edit_window_ms"),
        json!(300_000),
        "the window, from welcome"
    );

    // Up in the empty composer edits the last message; Escape cancels.
    alice.type_into("#message-input", ARROW_UP);
    alice.wait_for(
        "edit mode",
        "document.getElementById('composer').classList.contains('editing')
            && document.getElementById('message-input').value === 'helo wrld'",
    );
    alice.type_into("#message-input", ESCAPE);
    alice.wait_for(
        "edit mode over",
        "!document.getElementById('composer').classList.contains('editing')
            && document.getElementById('message-input').value === ''",
    );
    alice.type_into("#message-input", ARROW_UP);
    alice.wait_for(
        "edit mode",
        "document.getElementById('composer').classList.contains('editing')",
    );
    alice.js("document.getElementById('message-input').select()");
    alice.type_into("#message-input", "hello **world**");
    alice.type_into("#message-input", ENTER);
    for page in [&alice, &bob] {
        page.wait_eq(
            "the edit",
            &format!(
                "[document.querySelector(\"{0} .text\").textContent, document.querySelector(\"{0} .text strong\")?.textContent,
                  document.querySelector(\"{0} .edited\")?.textContent]",
                row(typo)
            ),
            json!(["hello world", "world", "(edited)"]),
        );
    }
    assert_eq!(
        alice.js("document.getElementById('message-input').value"),
        json!("")
    );

    // Delete, after the dialog asks (Cancel first).
    press_action(&alice, gone, "delete");
    alice.wait_for(
        "the dialog",
        "document.getElementById('delete-dialog').open",
    );
    assert_eq!(
        alice.js("document.getElementById('delete-preview').textContent"),
        json!("this one goes")
    );
    alice.click("#delete-cancel");
    alice.wait_for(
        "the dialog closed",
        "!document.getElementById('delete-dialog').open",
    );
    assert_eq!(
        alice.js(&format!(
            "document.querySelector(\"{}\").classList.contains('deleted')",
            row(gone)
        )),
        json!(false)
    );
    press_action(&alice, gone, "delete");
    alice.wait_for(
        "the dialog",
        "document.getElementById('delete-dialog').open",
    );
    alice.click("#delete-confirm");
    let tombstone = format!(
        "(() => {{ const r = document.querySelector(\"{}\");
                  return r.classList.contains('deleted') && r.querySelector('.text').textContent === 'message deleted'
                      && !r.querySelector('.actions button'); }})()",
        row(gone)
    );
    for page in [&alice, &bob] {
        page.wait_for("the tombstone", &tombstone);
    }

    for page in [&alice, &bob] {
        page.refresh();
        wait_connected(page);
        page.wait_for("the tombstone after a reload", &tombstone);
        page.wait_eq(
            "the edit after a reload",
            &format!(
                "document.querySelector(\"{} .text\")?.textContent",
                row(typo)
            ),
            json!("hello world"),
        );
    }
    // bob can edit or delete nothing of alice's.
    assert_eq!(
        bob.js(&format!("document.querySelectorAll(\"{} [data-msg-action=edit], {0} [data-msg-action=delete]\").length", row(typo))),
        json!(0)
    );
    assert_eq!(
        alice.js(&format!(
            "document.querySelectorAll(\"{} [data-msg-action=edit]\").length",
            row(typo)
        )),
        json!(1)
    );

    // A refusal shows plainly on the message, with Retry and Dismiss: here
    // an edit of bob's message, which the page itself never offers.
    say(&bob, "bob's own words");
    let bobs = seq_of(&alice, "bob's own words");
    alice.eval_async(
        "const [seq, done] = arguments;
         import('/outbox.js').then(m => done(m.queueChange('edit', 'lobby', seq, { text: 'not yours' })));",
        json!([bobs]),
    );
    alice.wait_for(
        "the refusal on bob's message",
        &format!(
            "document.querySelector(\"{} .change-status.failed\")?.textContent.startsWith('Your edit was not saved: ')",
            row(bobs)
        ),
    );
    alice.click(&format!(
        "{} .change-status [data-action='discard']",
        row(bobs)
    ));
    alice.wait_eq(
        "the refusal dismissed",
        &format!(
            "document.querySelectorAll(\"{} .change-status\").length",
            row(bobs)
        ),
        json!(0),
    );
    assert_eq!(
        outbox_texts(&alice),
        Vec::<String>::new(),
        "nothing left in the outbox"
    );
    bob.wait_eq(
        "bob's message as he wrote it",
        &format!(
            "document.querySelector(\"{} .text\").textContent",
            row(bobs)
        ),
        json!("bob's own words"),
    );

    // A message older than the window offers no Edit, and Up passes it by.
    feed_frame(
        &alice,
        json!({"type":"message","id":"old","seq":typo + 100,"room":"lobby","username":"alice",
               "message":"from long ago","html":"<p>from long ago</p>\n","version":typo + 100,
               "timestamp": 1_000_000_000_000_u64}),
    );
    let old = seq_of(&alice, "from long ago");
    assert_eq!(
        alice.js(&format!(
            "document.querySelectorAll(\"{} [data-msg-action=edit]\").length",
            row(old)
        )),
        json!(0)
    );
    alice.type_into("#message-input", ARROW_UP);
    assert_eq!(
        alice.js("document.getElementById('composer').classList.contains('editing')"),
        json!(false)
    );
}

/// alice mentions bob in a room he is not looking at, picking his name from
/// the `@` suggestions: his room gets a mention badge beside its unread
/// count, the mention is marked in the message, and both clear when he
/// reads it. `@room` in the lobby counts for him too.
#[test]
fn a_mention_badges_the_room_until_it_is_read() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    let alice = chrome.open();
    let bob = chrome.open();
    join(&alice, &server, "alice");
    join(&bob, &server, "bob");
    create_room(&alice, "projects", false);
    bob.goto(&format!("{}#projects", server.url));
    wait_in_room(&bob, "projects");
    open_room(&bob, "lobby");

    alice.type_into("#message-input", "@bo");
    alice.wait_eq(
        "bob suggested",
        "[...document.querySelectorAll('#suggestions [role=option] .suggestion-label')].map(o => o.textContent)",
        json!(["@bob"]),
    );
    alice.type_into("#message-input", ENTER);
    alice.wait_eq(
        "the name put in",
        "document.getElementById('message-input').value",
        json!("@bob "),
    );
    alice.type_into("#message-input", "can you look at this?");
    alice.type_into("#message-input", ENTER);
    wait_delivered(&alice, "@bob can you look at this?");

    let mention_badge = "(() => { const b = document.querySelector(\"#sidebar a[data-room='projects'] .mention-badge\");
                                  return b ? b.firstChild.textContent : ''; })()";
    bob.wait_eq("the mention badge", mention_badge, json!("@1"));
    wait_badge(&bob, "projects", "1");
    say(&alice, "and a word for everyone");
    wait_badge(&bob, "projects", "2");
    assert_eq!(
        bob.js(mention_badge),
        json!("@1"),
        "a message that does not mention bob is not a mention"
    );

    open_room(&bob, "projects");
    let mentioned = "#timeline .msg.mentions-me .mention.me";
    bob.wait_eq(
        "the mention marked",
        &format!("document.querySelector('{mentioned}')?.textContent"),
        json!("@bob"),
    );
    open_room(&bob, "lobby");
    wait_badge(&bob, "projects", "");
    assert_eq!(bob.js(mention_badge), json!(""));

    // @room in the lobby, while bob is in projects.
    open_room(&bob, "projects");
    open_room(&alice, "lobby");
    say(&alice, "@room lunch is here");
    let lobby_badge = "(() => { const b = document.querySelector(\"#sidebar a[data-room='lobby'] .mention-badge\");
                                return b ? b.firstChild.textContent : ''; })()";
    bob.wait_eq("a mention badge on the lobby", lobby_badge, json!("@1"));
    // After a reload too: the server's count.
    bob.refresh();
    wait_connected(&bob);
    bob.wait_eq(
        "the lobby's mention badge after a reload",
        lobby_badge,
        json!("@1"),
    );
    open_room(&bob, "lobby");
    bob.wait_eq("cleared once read", lobby_badge, json!(""));
}

/// alice's page loses its connection while bob edits, deletes and reacts;
/// back, it applies what it missed and shows exactly what a fresh page does.
#[test]
fn after_a_break_the_page_has_the_servers_state() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start_with(&["--rate-limit", "0"]);
    let rt = runtime();
    let mut bob = rt.block_on(Owner::claim(&server, "bob"));
    let seqs: Vec<u64> = rt.block_on(async {
        let mut seqs = Vec::new();
        for n in 1..=6 {
            seqs.push(said(&mut bob.client, &format!("note {n}"), &format!("n-{n}")).await);
        }
        seqs
    });
    // alice's page goes through a proxy that can play a network that is down.
    let proxy = proxy::Proxy::start(server.addr);
    let alice = chrome.open();
    record_sockets(&alice);
    join_at(&alice, &proxy.url(), "alice");
    wait_delivered(&alice, "note 6");
    press_action(&alice, seqs[0], "quick");
    alice.wait_eq(
        "alice's reaction",
        &format!(
            "document.querySelectorAll(\"{} .reaction[data-react]\").length",
            row(seqs[0])
        ),
        json!(1),
    );

    // The page cannot reach the server for a while.
    proxy.set_refusing(true);
    alice.js("window.sockets.at(-1).close()");
    alice.wait_for(
        "the page offline",
        "/^Reconnect/.test(document.getElementById('conn-text').textContent)",
    );
    rt.block_on(async {
        let c = &mut bob.client;
        change(c, json!({"type":"edit","target":seqs[1],"message":"note 2, _edited_","cid":"e-1"})).await;
        change(c, json!({"type":"edit","target":seqs[1],"message":"note 2, edited twice","cid":"e-2"})).await;
        change(c, json!({"type":"delete","target":seqs[2],"cid":"d-1"})).await;
        for (n, on) in [true, false, true, false, true].into_iter().enumerate() {
            change(c, json!({"type":"react","target":seqs[3],"emoji":"🎉","on":on,"cid":format!("r-{n}")})).await;
        }
        change(c, json!({"type":"react","target":seqs[4],"emoji":"👀","on":true,"cid":"r-x"})).await;
        change(c, json!({"type":"react","target":seqs[4],"emoji":"👀","on":false,"cid":"r-y"})).await;
        change(c, json!({"type":"react","target":seqs[0],"emoji":"👍","on":true,"cid":"r-z"})).await;
        change(c, json!({"type":"delete","target":seqs[5],"cid":"d-2"})).await;
        said(c, "note 7", "n-7").await;
    });
    // It tried meanwhile, and could not get through: what it missed comes
    // as a resume, not live.
    alice.wait_for("a failed attempt", "window.closes.length >= 2");
    assert!(proxy.refused() >= 1);
    assert_ne!(
        alice.js("document.getElementById('conn-text').textContent"),
        json!("Connected")
    );
    proxy.set_refusing(false);
    retry_now(&alice);
    let resumed = alice.js("window.sockets.at(-1).url");
    assert!(resumed.as_str().unwrap().contains("?since="), "{resumed}");
    wait_delivered(&alice, "note 7");

    // What the page shows, and what a fresh page shows.
    let shown = |page: &Page| {
        page.js(
            "[...document.querySelectorAll('#timeline .msg[data-seq]')].map(r => [
                r.querySelector('.text')?.textContent, r.classList.contains('deleted'),
                Boolean(r.querySelector('.edited')),
                [...r.querySelectorAll('.reaction[data-react]')].map(c => c.dataset.react + c.querySelector('.reaction-count').textContent)])",
        )
    };
    let after = shown(&alice);
    assert_eq!(
        after,
        json!([
            ["note 1", false, false, ["👍2"]],
            ["note 2, edited twice", false, true, []],
            ["message deleted", true, false, []],
            ["note 4", false, false, ["🎉1"]],
            ["note 5", false, false, []],
            ["message deleted", true, false, []],
            ["note 7", false, false, []]
        ])
    );
    let fresh = chrome.open();
    join(&fresh, &server, "carol");
    wait_delivered(&fresh, "note 7");
    assert_eq!(shown(&fresh), after, "a fresh page shows the same");
    assert_eq!(
        store_value(&alice, "state.rooms.get('lobby').lastSeq"),
        store_value(&fresh, "state.rooms.get('lobby').lastSeq"),
        "and resumes from the same place"
    );
}

/// Screenshots of rich messages for people to look at: light and dark,
/// desktop and phone; the action bar, a reply being written, the picker,
/// an edit.
#[test]
fn screenshots_of_rich_messages() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    let dir = screenshot_dir();
    let alice = chrome.open();
    let scene = rich::build(&alice, &server);
    for scheme in ["light", "dark"] {
        use_scheme(&alice, scheme);
        for layout in ["desktop", "phone"] {
            if layout == "phone" {
                use_phone(&alice);
            } else {
                use_desktop(&alice);
            }
            alice.js("document.getElementById('messages').scrollTop = 1e9");
            rich::start_reply(&alice, scene.reply);
            rich::show_actions(&alice, scene.formatted);
            alice.eval(
                "document.querySelector(arguments[0]).scrollIntoView({block: 'center'})",
                json!([row(scene.formatted)]),
            );
            alice.screenshot(&dir.join(format!("rich-{layout}-{scheme}.png")));
            // Nothing in the timeline is wider than its view.
            let wider = alice.js(
                "(() => { const view = document.getElementById('messages');
                          const right = view.getBoundingClientRect().right;
                          return view.scrollWidth > view.clientWidth
                              ? [...view.querySelectorAll('*')].filter(e => e.getBoundingClientRect().right > right + 1)
                                  .map(e => e.tagName + '.' + e.className).slice(0, 5)
                              : []; })()",
            );
            assert_eq!(
                wider,
                json!([]),
                "wider than the timeline, {layout} {scheme}"
            );
            alice.js("document.getElementById('messages').scrollTop = 1e9");
            rich::open_picker(&alice);
            alice.screenshot(&dir.join(format!("rich-picker-{layout}-{scheme}.png")));
            rich::close_picker(&alice);
            alice.type_into("#message-input", ESCAPE);
            alice.type_into("#message-input", ARROW_UP);
            alice.wait_for(
                "edit mode",
                "document.getElementById('composer').classList.contains('editing')",
            );
            alice.screenshot(&dir.join(format!("rich-edit-{layout}-{scheme}.png")));
            alice.type_into("#message-input", ESCAPE);
            if layout == "phone" {
                alice.click("#rooms-toggle");
                alice.wait_for(
                    "the rooms drawer",
                    "getComputedStyle(document.getElementById('sidebar')).visibility === 'visible'",
                );
                alice.screenshot(&dir.join(format!("rich-rooms-phone-{scheme}.png")));
                alice.click("#sidebar-close");
                alice.wait_for(
                    "the drawer closed",
                    "getComputedStyle(document.getElementById('sidebar')).visibility === 'hidden'",
                );
            }
        }
    }
    assert_eq!(
        alice.js("document.documentElement.scrollWidth"),
        json!(360),
        "nothing wider than a phone"
    );
    let _ = scene.ours;
    for name in [
        "rich-desktop-light",
        "rich-phone-dark",
        "rich-picker-phone-light",
    ] {
        let size = std::fs::metadata(dir.join(format!("{name}.png")))
            .unwrap()
            .len();
        assert!(size > 10_000, "{name}.png looks empty ({size} bytes)");
    }
}

/// Where the middle of the element `css` is on screen.
fn centre_of(page: &Page, css: &str) -> (f64, f64) {
    let point = page.eval(
        "const box = document.querySelector(arguments[0]).getBoundingClientRect();
         return [box.left + box.width / 2, box.top + box.height / 2];",
        json!([css]),
    );
    (point[0].as_f64().unwrap(), point[1].as_f64().unwrap())
}

/// A finger held on `css` until `held` is true on the page (what the
/// long press shows), then lifted.
fn long_press(page: &Page, css: &str, held: &str) {
    let (x, y) = centre_of(page, css);
    page.cdp(
        "Input.dispatchTouchEvent",
        json!({ "type": "touchStart", "touchPoints": [{ "x": x, "y": y }] }),
    );
    page.wait_for(&format!("{held}, under a finger"), held);
    page.cdp(
        "Input.dispatchTouchEvent",
        json!({ "type": "touchEnd", "touchPoints": [] }),
    );
}

/// A tap on `css`: down and straight up.
fn tap(page: &Page, css: &str) {
    let (x, y) = centre_of(page, css);
    for (kind, points) in [
        ("touchStart", json!([{ "x": x, "y": y }])),
        ("touchEnd", json!([])),
    ] {
        page.cdp(
            "Input.dispatchTouchEvent",
            json!({ "type": kind, "touchPoints": points }),
        );
    }
}

/// On a touch screen the action bar comes with a long press on the
/// message, a tap on its buttons works, and a long press on a reaction
/// says who reacted.
#[test]
fn a_long_press_shows_the_action_bar_and_who_reacted() {
    let Some(chrome) = Chrome::start() else {
        return;
    };
    let server = Server::start();
    let alice = chrome.open();
    join(&alice, &server, "alice");
    use_phone(&alice);
    let seq = runtime().block_on(async {
        let mut bob = Owner::claim(&server, "bob").await;
        let seq = said(&mut bob.client, "Anyone seen my keys?", "b-1").await;
        change(
            &mut bob.client,
            json!({"type":"react","target":seq,"emoji":"👀","on":true,"cid":"b-2"}),
        )
        .await;
        seq
    });
    alice.wait_for(
        "bob's reaction",
        &format!(
            "document.querySelector(\"{} .reaction[data-react]\")",
            row(seq)
        ),
    );
    let bar = format!("{} .actions", row(seq));
    let shown = format!("getComputedStyle(document.querySelector(\"{bar}\")).opacity === '1'");
    assert_eq!(alice.js(&shown), json!(false), "no bar before a press");

    long_press(&alice, &format!("{} .bubble", row(seq)), &shown);
    assert_eq!(
        alice.js(&format!(
            "document.querySelector(\"{}\").classList.contains('touched')",
            row(seq)
        )),
        json!(true)
    );
    tap(&alice, &format!("{bar} [data-msg-action='quick']"));
    alice.wait_eq(
        "alice's 👍 beside bob's 👀",
        &format!("[...document.querySelectorAll(\"{} .reaction[data-react]\")].map(c => c.dataset.react)", row(seq)),
        json!(["👀", "👍"]),
    );

    let chip = format!("{} .reaction[data-react='👀']", row(seq));
    alice.wait_eq(
        "the emoji's name in the chip",
        &format!("document.querySelector(\"{chip}\").title"),
        json!("bob reacted with eyes"),
    );
    long_press(
        &alice,
        &chip,
        "!document.getElementById('reaction-who').hidden",
    );
    assert_eq!(
        alice.js("document.getElementById('reaction-who').textContent"),
        json!("bob reacted with eyes")
    );
    // The long press was not also a tap: alice did not add 👀.
    assert_eq!(reactions(&alice, seq)[0], json!(["👀", "1", "false"]));
    // A touch elsewhere puts both away.
    tap(&alice, "#room-name");
    alice.wait_for(
        "the bar and the names gone",
        &format!("document.getElementById('reaction-who').hidden && !({shown})"),
    );
}
