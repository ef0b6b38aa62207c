//! A conversation with every kind of rich message, for the screenshots and
//! the accessibility audit: formatting, big emoji, reactions (one of them
//! ours), a reply, an edit, a tombstone, a mention of us, and a mention
//! badge on another room.

use serde_json::{Value, json};

use crate::browser_support::{create_room, join, open_room, runtime, say, wait_delivered};
use crate::common::Server;
use crate::common::owner::Owner;
use crate::webdriver::{ARROW_UP, ESCAPE, Page};

/// Seqs of the scene's messages that the tests point at.
pub struct Scene {
    pub formatted: u64,
    pub reply: u64,
    pub ours: u64,
    /// bob and carol stay online while the scene is looked at.
    pub people: Vec<Owner>,
}

pub const FORMATTED: &str = "Release checklist for **Friday**:\n\n- run `cargo test`\n- tag _v0.3_\n\n\
```\ngit tag -s v0.3 -m \"v0.3\"\n```\n\n> ship it when green\n\nNotes: https://example.com/release";

/// Sends `frame` as `owner` and waits for what comes back with its cid.
async fn send(owner: &mut Owner, frame: Value) -> Value {
    let cid = frame["cid"].clone();
    owner.client.send_json(frame).await;
    loop {
        let answer = owner.client.recv().await;
        if answer["cid"] == cid {
            return answer;
        }
    }
}

/// Joins `page` as alice and builds the conversation around her.
pub fn build(page: &Page, server: &Server) -> Scene {
    let rt = runtime();
    let (mut bob, mut carol) = rt.block_on(async {
        (
            Owner::claim(server, "bob").await,
            Owner::claim(server, "carol").await,
        )
    });
    join(page, server, "alice");
    create_room(page, "design", false);
    open_room(page, "lobby");
    let (formatted, reply) = rt.block_on(async {
        let formatted = send(
            &mut bob,
            json!({"type":"message","message":FORMATTED,"cid":"s-1"}),
        )
        .await;
        let formatted = formatted["seq"].as_u64().unwrap();
        send(
            &mut carol,
            json!({"type":"message","message":"🎉🚀","cid":"s-2"}),
        )
        .await;
        let oops = send(
            &mut bob,
            json!({"type":"message","message":"oops, wrong room","cid":"s-3"}),
        )
        .await;
        send(
            &mut bob,
            json!({"type":"delete","target":oops["seq"],"cid":"s-4"}),
        )
        .await;
        let reply = send(
            &mut carol,
            json!({"type":"message",
            "message":"All green here. @alice can you tag it?","cid":"s-5","reply_to":formatted}),
        )
        .await;
        send(
            &mut carol,
            json!({"type":"react","target":formatted,"emoji":"👍","on":true,"cid":"s-6"}),
        )
        .await;
        send(
            &mut bob,
            json!({"type":"react","target":formatted,"emoji":"🚀","on":true,"cid":"s-7"}),
        )
        .await;
        bob.client
            .send_json(json!({"type":"join_room","room":"design"}))
            .await;
        bob.client.recv_type("room").await;
        (formatted, reply["seq"].as_u64().unwrap())
    });
    wait_delivered(page, "All green here. @alice can you tag it?");
    say(page, "On it");
    wait_delivered(page, "On it");
    // Edited with Up, as a person would.
    page.type_into("#message-input", ARROW_UP);
    page.wait_for(
        "edit mode",
        "document.getElementById('composer').classList.contains('editing')",
    );
    page.js("document.getElementById('message-input').select()");
    page.type_into("#message-input", "On it, tagging in 5 minutes");
    page.type_into("#message-input", crate::webdriver::ENTER);
    page.wait_for(
        "the edit",
        "[...document.querySelectorAll('#timeline .edited')].length === 1",
    );
    let ours = page.js(
        "Number([...document.querySelectorAll('#timeline .msg.own[data-seq]')].pop().dataset.seq)",
    );
    let ours = ours.as_u64().unwrap();
    rt.block_on(async {
        send(
            &mut bob,
            json!({"type":"react","target":ours,"emoji":"🙏","on":true,"cid":"s-9"}),
        )
        .await;
        send(
            &mut bob,
            json!({"type":"message","room":"design",
            "message":"@alice thoughts on the new logo?","cid":"s-10"}),
        )
        .await;
    });
    // Our own reaction, from the action bar.
    page.eval(
        "document.querySelector(arguments[0]).focus();",
        json!([format!(
            "#timeline .msg[data-seq='{formatted}'] .actions button"
        )]),
    );
    page.click(&format!(
        "#timeline .msg[data-seq='{formatted}'] [data-msg-action='quick']"
    ));
    page.wait_for(
        "our reaction",
        &format!("document.querySelector(\"#timeline .msg[data-seq='{formatted}'] .reaction[aria-pressed=true]\")"),
    );
    page.wait_for(
        "the mention badge on #design",
        "document.querySelector(\"#sidebar a[data-room='design'] .mention-badge\")",
    );
    page.type_into("#message-input", ESCAPE);
    Scene {
        formatted,
        reply,
        ours,
        people: vec![bob, carol],
    }
}

/// Shows message `seq`'s action bar, as the keyboard does.
pub fn show_actions(page: &Page, seq: u64) {
    page.eval(
        "document.querySelector(arguments[0]).focus();",
        json!([format!("#timeline .msg[data-seq='{seq}'] .actions button")]),
    );
}

/// Starts a reply to `seq` from its action bar.
pub fn start_reply(page: &Page, seq: u64) {
    show_actions(page, seq);
    page.click(&format!(
        "#timeline .msg[data-seq='{seq}'] [data-msg-action='reply']"
    ));
    page.wait_for(
        "the reply preview",
        "!document.getElementById('composer-context').hidden",
    );
}

/// Opens the composer's emoji picker, loaded.
pub fn open_picker(page: &Page) {
    page.click("#emoji-button");
    page.wait_for(
        "the picker",
        "!document.getElementById('picker').hidden && document.querySelectorAll('#picker-grid [role=option]').length > 1000",
    );
}

pub fn close_picker(page: &Page) {
    page.type_into("#picker-search", ESCAPE);
    page.wait_for(
        "the picker closed",
        "document.getElementById('picker').hidden",
    );
}
