//! Search over the real binary: the query language, snippets, privacy, the
//! index following edits and deletions, bad and pathological queries, and
//! a 100,000-message history written through the normal path. Also the
//! history pages a search result opens (`around`, `at`, `after`).

mod common;

use std::collections::BTreeSet;

use common::owner::Owner;
use common::tus::Tus;
use common::{Client, Server};
use serde_json::{Value, json};
use tempfile::TempDir;

/// Sends `frame` and returns the answer: `search_results`, or an `error`.
async fn answer(client: &mut Client, frame: Value) -> Value {
    client.send_json(frame).await;
    loop {
        let reply = client.recv().await;
        if reply["type"] == "search_results" || reply["type"] == "error" {
            return reply;
        }
    }
}

/// Searches `query` and returns the results frame, failing on an error.
async fn search(client: &mut Client, query: &str) -> Value {
    let reply = answer(client, json!({"type":"search","query":query,"limit":50})).await;
    assert_eq!(reply["type"], "search_results", "{query}: {reply}");
    assert_eq!(reply["query"], query);
    reply
}

/// The texts found for `query`, newest first, checking `total` agrees.
async fn found(client: &mut Client, query: &str) -> Vec<String> {
    let reply = search(client, query).await;
    let texts: Vec<String> = reply["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(reply["total"], texts.len(), "{query}: {reply}");
    texts
}

/// Searching `query` is refused as a bad request, naming what is wrong.
async fn refused(client: &mut Client, query: &str, words: &str) {
    let reply = answer(client, json!({"type":"search","query":query})).await;
    assert_eq!(reply["type"], "error", "{query:.40}: {reply}");
    assert_eq!(reply["code"], "bad_request", "{query:.40}");
    let message = reply["message"].as_str().unwrap();
    assert!(message.contains(words), "{query:.40}: {message}");
}

/// Waits for a `room` frame whose `key` is `value`; returns its id.
async fn room_where(client: &mut Client, key: &str, value: &str) -> String {
    loop {
        let room = client.recv_type("room").await;
        if room[key] == value {
            return room["room"].as_str().unwrap().to_owned();
        }
    }
}

/// Today's date (UTC) shifted by `days`, as the query language writes it.
fn date(days: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // Howard Hinnant's civil_from_days.
    let z = now.div_euclid(86_400) + days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Every filter of the query language narrows to what it names; words match
/// as substrings in any letter case, CJK included, and operators people
/// type mean nothing.
#[tokio::test]
async fn every_filter_narrows_to_what_it_names() {
    let server = Server::start();
    let mut alice = Owner::claim(&server, "alice").await;
    let mut bob = Owner::claim(&server, "bob").await;
    alice
        .send(json!({"type":"create_room","room":"projects"}))
        .await;
    alice.client.recv_type("room").await;
    bob.send(json!({"type":"join_room","room":"projects"}))
        .await;
    bob.client.recv_type("room").await;

    alice
        .say_in("lobby", "the wifi password is lanparty2026")
        .await;
    bob.say_in("lobby", "WiFi is down again").await;
    bob.say_in(
        "projects",
        "project wifi notes at https://example.com/notes",
    )
    .await;
    let tus = Tus {
        addr: server.addr,
        token: alice.token.trim_start_matches("token.").to_owned(),
    };
    let id = tus.upload("wifi-map.png", "projects", b"not really a png");
    alice
        .send(
            json!({"type":"message","room":"projects","message":"here is the map",
                     "cid":"map","files":[id]}),
        )
        .await;
    alice.client.recv_type("message").await;
    bob.say_in("lobby", "@alice can you check the router").await;
    alice.say_in("lobby", "无线网络密码是一二三").await;
    alice.say_in("lobby", "100% sure").await;
    alice.say_in("lobby", "100 percent").await;
    let me = &mut alice.client;

    let wifi = found(me, "wifi").await;
    assert_eq!(
        wifi,
        [
            "here is the map",
            "project wifi notes at https://example.com/notes",
            "WiFi is down again",
            "the wifi password is lanparty2026",
        ],
        "newest first, file names included"
    );
    assert_eq!(found(me, "WIFI").await, wifi, "any letter case");
    assert_eq!(found(me, "wifi-map").await, ["here is the map"]);
    assert_eq!(found(me, "wifi from:bob").await.len(), 2);
    assert_eq!(found(me, "from:@BOB").await.len(), 3);
    assert_eq!(found(me, "wifi in:#projects").await.len(), 2);
    assert_eq!(found(me, "in:#nowhere").await.len(), 0);
    assert_eq!(found(me, "has:file").await, ["here is the map"]);
    assert_eq!(
        found(me, "has:link").await,
        ["project wifi notes at https://example.com/notes"]
    );
    assert_eq!(
        found(me, "mentions:me").await,
        ["@alice can you check the router"]
    );
    assert!(found(&mut bob.client, "mentions:me").await.is_empty());
    assert_eq!(found(me, "\"password is\"").await.len(), 1);
    assert_eq!(found(me, "lanparty password").await.len(), 1, "all words");
    assert!(
        found(me, "\"lanparty password\"").await.is_empty(),
        "in order"
    );
    assert_eq!(found(me, "密码").await, ["无线网络密码是一二三"]);
    assert_eq!(found(me, "网络密码").await, ["无线网络密码是一二三"]);
    assert_eq!(found(me, "0%").await, ["100% sure"], "% is taken literally");

    // FTS5 would read these as operators; here they are only text.
    // As text, "OR" is found inside "password".
    assert_eq!(
        found(me, "wifi OR password").await,
        ["the wifi password is lanparty2026"]
    );
    assert!(found(me, "wifi*").await.is_empty());
    assert!(found(me, "NEAR(wifi down)").await.is_empty());

    let all = found(me, "from:alice").await.len() + found(me, "from:bob").await.len();
    assert_eq!(found(me, &format!("on:{}", date(0))).await.len(), all);
    assert_eq!(found(me, &format!("after:{}", date(-1))).await.len(), all);
    assert!(found(me, &format!("before:{}", date(0))).await.is_empty());
    assert!(found(me, &format!("after:{}", date(0))).await.is_empty());
    assert!(found(me, &format!("on:{}", date(1))).await.is_empty());

    refused(me, "before:yesterday", "not a date").await;
    refused(me, "has:cats", "has:").await;
    refused(me, "   ", "search for something").await;

    // What alice wrote is still hers under a new name.
    alice
        .send(json!({"type":"rename","username":"alicia"}))
        .await;
    alice.client.recv_type("rename").await;
    let mine = found(&mut alice.client, "from:alicia").await;
    assert_eq!(mine.len(), 5, "{mine:?}");

    // A guest reads only the lobby.
    let (mut guest, _, _) = Client::join(&server, "guest").await;
    assert_eq!(
        found(&mut guest, "wifi").await,
        ["WiFi is down again", "the wifi password is lanparty2026"]
    );
    assert!(found(&mut guest, "mentions:me").await.is_empty());
}

/// A snippet marks what matched, in the message's own letter case, cut
/// around the first match in a long message, and is data, never HTML.
#[tokio::test]
async fn snippets_mark_what_matched() {
    let server = Server::start();
    let mut alice = Owner::claim(&server, "alice").await;
    let long = format!(
        "{} the Needle is here {}",
        "hay ".repeat(100),
        "stack ".repeat(100)
    );
    alice
        .send(json!({"type":"message","message":long,"cid":"long"}))
        .await;
    let sent = alice.client.recv_type("message").await;
    alice.say_in("lobby", "<b>bold</b> needle").await;

    let reply = search(&mut alice.client, "needle").await;
    let results = reply["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    let html = &results[0]["snippet"];
    let parts: Vec<(String, bool)> = html
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["text"].as_str().unwrap().to_owned(), p["match"] == true))
        .collect();
    assert_eq!(
        parts,
        [
            ("<b>bold</b> ".to_owned(), false),
            ("needle".to_owned(), true)
        ],
        "markup stays text"
    );

    let far = &results[1];
    assert_eq!(far["seq"], sent["seq"]);
    assert_eq!(far["room"], "lobby");
    assert_eq!(far["message"], long.as_str(), "the whole message comes too");
    let parts = far["snippet"].as_array().unwrap();
    let marked: Vec<&str> = parts
        .iter()
        .filter(|p| p["match"] == true)
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert_eq!(marked, ["Needle"]);
    let shown: String = parts.iter().map(|p| p["text"].as_str().unwrap()).collect();
    assert!(shown.starts_with('…') && shown.ends_with('…'), "{shown}");
    assert!(shown.chars().count() < 220, "{}", shown.chars().count());
}

/// Only what the searcher can read now is searched: another user's direct
/// messages, private rooms one is not in, and public rooms one has not
/// joined are neither returned nor counted.
#[tokio::test]
async fn search_never_reaches_rooms_one_cannot_read() {
    let server = Server::start();
    let mut alice = Owner::claim(&server, "alice").await;
    let mut bob = Owner::claim(&server, "bob").await;
    let mut carol = Owner::claim(&server, "carol").await;

    bob.send(json!({"type":"dm","username":"carol"})).await;
    let dm = bob.client.recv_type("room").await["room"]
        .as_str()
        .unwrap()
        .to_owned();
    bob.say_in(&dm, "zebrafish in the dm").await;
    carol
        .send(json!({"type":"create_room","room":"secret","private":true}))
        .await;
    let secret = room_where(&mut carol.client, "kind", "private").await;
    carol.say_in(&secret, "zebrafish plans").await;
    carol
        .send(json!({"type":"create_room","room":"quiet"}))
        .await;
    room_where(&mut carol.client, "room", "quiet").await;
    carol.say_in("quiet", "zebrafish in public").await;

    for query in [
        "zebrafish".to_owned(),
        format!("zebrafish in:{secret}"),
        format!("in:{dm}"),
        "in:#secret".to_owned(),
        "in:@carol".to_owned(),
        "from:carol".to_owned(),
    ] {
        let reply = search(&mut alice.client, &query).await;
        assert_eq!(reply["total"], 0, "{query}: {reply}");
        assert_eq!(reply["results"], json!([]), "{query}");
    }
    assert_eq!(
        found(&mut bob.client, "zebrafish").await,
        ["zebrafish in the dm"]
    );
    assert_eq!(
        found(&mut bob.client, "in:@carol").await,
        ["zebrafish in the dm"]
    );
    assert_eq!(found(&mut carol.client, "zebrafish").await.len(), 3);
    assert_eq!(
        found(&mut carol.client, "zebrafish in:#secret").await,
        ["zebrafish plans"],
        "a private room by its name"
    );

    // Leaving a private room ends reading it.
    carol.send(json!({"type":"leave_room","room":secret})).await;
    carol.client.recv_type("room_left").await;
    assert_eq!(
        found(&mut carol.client, "zebrafish").await,
        ["zebrafish in public", "zebrafish in the dm"]
    );
    let (mut guest, _, _) = Client::join(&server, "guest").await;
    assert_eq!(search(&mut guest, "zebrafish").await["total"], 0);
}

/// The index follows the log: an edited message is found by its new words
/// only, and a deleted one is never found again, across a restart too.
#[tokio::test]
async fn edits_and_deletions_reach_the_index() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("chat.db");
    let mut server = Server::start_on_db(&db, &[]);
    let mut alice = Owner::claim(&server, "alice").await;
    // (`say_in` would put the words in the cid, which the server keeps.)
    let mut say = async |text: &str, cid: &str| {
        alice
            .send(json!({"type":"message","message":text,"cid":cid}))
            .await;
        alice.client.recv_type("message").await
    };
    let gone = say("temporary launch codes", "c1").await;
    let fixed = say("meet at the old gate", "c2").await;
    assert_eq!(found(&mut alice.client, "launch codes").await.len(), 1);

    alice
        .send(json!({"type":"delete","target":gone["seq"],"cid":"d1"}))
        .await;
    alice.client.recv_type("delete").await;
    alice
        .send(json!({"type":"edit","target":fixed["seq"],"message":"meet at the new gate","cid":"e1"}))
        .await;
    alice.client.recv_type("edit").await;

    for _ in 0..2 {
        let me = &mut alice.client;
        assert!(found(me, "launch").await.is_empty());
        assert!(found(me, "temporary").await.is_empty());
        assert!(found(me, "old gate").await.is_empty());
        assert_eq!(found(me, "new gate").await, ["meet at the new gate"]);
        assert_eq!(found(me, "from:alice").await, ["meet at the new gate"]);
        let token = alice.token.clone();
        drop(alice);
        assert!(server.terminate().success());
        server = Server::start_on_db(&db, &[]);
        alice = Owner::with_token(&server, "alice", &token).await;
    }
    // Nor are the deleted words anywhere in the files: not in the
    // messages, not in the index's pages.
    drop(alice);
    assert!(server.terminate().success());
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            for needle in ["launch codes", "old gate"] {
                let found = bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
                assert!(!found, "{needle:?} is still in {}", path.display());
            }
        }
    }
}

/// Queries built to be slow or to break the parser answer promptly, with
/// results or an error, and the connection stays usable.
#[tokio::test]
async fn pathological_queries_answer_and_the_connection_stays_usable() {
    let server = Server::start();
    let mut alice = Owner::claim(&server, "alice").await;
    for i in 0..300 {
        alice
            .send(json!({"type":"message","message":format!("a b c d e f g {i} lorem ipsum dolor"),"cid":format!("m{i}")}))
            .await;
    }
    alice.say_in("lobby", "last one").await;
    let me = &mut alice.client;

    refused(me, &"a ".repeat(2000), "at most").await;
    refused(me, &"\"".repeat(10_000), "at most").await;
    refused(
        me,
        &(0..21)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" "),
        "at most",
    )
    .await;
    let letters: Vec<String> = ('a'..='t').map(String::from).collect();
    let hard = [
        letters.join(" "),
        ["lor", "rem", "ips", "sum", "dol", "olo"]
            .repeat(3)
            .join(" "),
        "\"\" \"\"\" \" a".to_owned(),
        "%_\\ %% __".to_owned(),
        "\u{202e}\u{0}\u{feff} \u{2066}x\u{2069}".to_owned(),
    ];
    for query in &hard {
        let reply = answer(me, json!({"type":"search","query":query})).await;
        match reply["type"].as_str() {
            // What it found, all of it or (cut short) the newest part.
            Some("search_results") => assert!(reply["total"].as_u64().is_some(), "{reply}"),
            Some("error") => assert_eq!(reply["code"], "bad_request", "{reply}"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(found(me, "last one").await, ["last one"]);
    assert!(me.caught_up().await.iter().all(|f| f["type"] != "error"));
}

/// Searches count against the sender's rate limit, like messages.
#[tokio::test]
async fn search_is_rate_limited() {
    let server = Server::start_with(&["--rate-limit", "0.5", "--rate-burst", "2"]);
    let mut alice = Owner::claim(&server, "alice").await;
    let mut codes = Vec::new();
    for _ in 0..4 {
        let reply = answer(&mut alice.client, json!({"type":"search","query":"hello"})).await;
        codes.push(reply["code"].as_str().unwrap_or("ok").to_owned());
    }
    assert_eq!(codes[..2], ["ok", "ok"]);
    assert!(codes[2..].iter().all(|c| c == "rate_limited"), "{codes:?}");
    assert!(alice.client.caught_up().await.is_empty(), "still connected");
}

/// A `history` request opens the page around a message (the jump to a
/// search result), around a date, and pages forward from there.
#[tokio::test]
async fn history_opens_around_a_message_and_a_date() {
    let server = Server::start();
    let mut alice = Owner::claim(&server, "alice").await;
    let mut sent = Vec::new();
    for i in 1..=400 {
        alice
            .send(json!({"type":"message","message":format!("number {i}"),"cid":format!("n{i}")}))
            .await;
    }
    while sent.len() < 400 {
        let frame = alice.client.recv_type("message").await;
        sent.push((
            frame["seq"].as_u64().unwrap(),
            frame["timestamp"].as_i64().unwrap(),
        ));
    }
    let seqs = |page: &Value| -> Vec<u64> {
        page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["seq"].as_u64().unwrap())
            .collect()
    };
    let mut history = async |frame: Value| -> Value {
        alice.send(frame).await;
        alice.client.recv_type("history").await
    };

    // Far back, where the page comes from disk.
    let page = history(json!({"type":"history","around":50,"limit":20})).await;
    assert_eq!(seqs(&page), (40..60).collect::<Vec<_>>());
    assert_eq!(page["has_more"], true);
    assert_eq!(page["has_newer"], true);
    let newer = history(json!({"type":"history","after":59,"limit":20})).await;
    assert_eq!(seqs(&newer), (60..80).collect::<Vec<_>>());
    assert_eq!(newer["has_newer"], true);
    // Near the end, from memory.
    let end = history(json!({"type":"history","around":399,"limit":20})).await;
    assert_eq!(seqs(&end), (389..=400).collect::<Vec<_>>());
    assert_eq!(end["has_newer"], false);
    let last = history(json!({"type":"history","after":390,"limit":20})).await;
    assert_eq!(seqs(&last), (391..=400).collect::<Vec<_>>());
    assert_eq!(last["has_newer"], false);

    // A date: the first message at or after it opens the second half of
    // the page. (The first message of its millisecond, so it is that one.)
    let k = (100..400).find(|&k| sent[k].1 > sent[k - 1].1).unwrap();
    let (seq, ts) = sent[k];
    let page = history(json!({"type":"history","at":ts,"limit":10})).await;
    assert_eq!(seqs(&page), (seq - 5..seq + 5).collect::<Vec<_>>());
    let future = history(json!({"type":"history","at":ts + 86_400_000,"limit":10})).await;
    assert_eq!(
        seqs(&future),
        (391..=400).collect::<Vec<_>>(),
        "the newest page"
    );
}

/// Deterministic words for the big fixture: common ones in every message,
/// and planted ones with known frequencies.
struct Words(u64);

impl Words {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        self.0 >> 33
    }

    fn sentence(&mut self, i: usize) -> String {
        const COMMON: [&str; 24] = [
            "the", "meeting", "moved", "tomorrow", "bring", "laptop", "lunch", "room", "slides",
            "review", "deploy", "coffee", "bug", "fixed", "network", "printer", "kiwi", "mango",
            "quick", "question", "thanks", "later", "agenda", "notes",
        ];
        let count = 4 + self.next() % 9;
        let mut words: Vec<&str> = (0..count)
            .map(|_| COMMON[(self.next() % COMMON.len() as u64) as usize])
            .collect();
        if i.is_multiple_of(997) {
            words.push("zanzibar");
        }
        if i.is_multiple_of(333) {
            words.push("ox");
        }
        words.join(" ")
    }
}

/// What a search should find: case-insensitive substrings, all required.
fn matches(text: &str, terms: &[&str]) -> bool {
    let text = text.to_lowercase();
    terms.iter().all(|term| text.contains(term))
}

/// 100,000 messages from two people, written through the WebSocket like
/// any other; searches over them find exactly what they should, count it
/// (up to the cap), and page through it with cursors, no result twice.
#[tokio::test]
async fn a_hundred_thousand_messages_are_searched_exactly() {
    const PER_SENDER: usize = 50_000;
    let server = Server::start();
    let names = ["ana", "ben"];
    let mut senders = Vec::new();
    for (n, name) in names.iter().enumerate() {
        let owner = Owner::claim(&server, name).await;
        senders.push(tokio::spawn(flood(owner, n, PER_SENDER)));
    }
    // (seq, ts, text, sender)
    let mut sent: Vec<(u64, i64, String, usize)> = Vec::new();
    let mut owners = Vec::new();
    for (n, task) in senders.into_iter().enumerate() {
        let (owner, acks) = task.await.unwrap();
        sent.extend(acks.into_iter().map(|(seq, ts, text)| (seq, ts, text, n)));
        owners.push(owner);
    }
    assert_eq!(sent.len(), 2 * PER_SENDER);
    // One room, so newest stored first is highest seq first.
    sent.sort_by_key(|(seq, ..)| std::cmp::Reverse(*seq));
    let expect = |terms: &[&str], from: Option<usize>| -> Vec<u64> {
        sent.iter()
            .filter(|(_, _, text, who)| matches(text, terms) && from.is_none_or(|f| f == *who))
            .map(|(seq, ..)| *seq)
            .collect()
    };
    let me = &mut owners[0].client;

    // A rare word, paged through 50 at a time. SQLite finds it through its
    // index, whole, within the time limit. PostgreSQL reads the history in
    // windows, and on a busy machine may run out of time and answer
    // partial: going on from `next` must then still give every match once.
    let on_postgres = common::postgres::scenarios_on_postgres();
    let wanted = expect(&["zanzibar"], None);
    assert!(wanted.len() > 90, "{}", wanted.len());
    let mut seen = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let mut frame = json!({"type":"search","query":"zanzibar","limit":50});
        if let Some(cursor) = &before {
            frame["before"] = json!(cursor);
        }
        let reply = answer(me, frame).await;
        let partial = reply.get("partial").is_some();
        assert!(on_postgres || !partial, "{reply:.300}");
        if before.is_none() && !partial {
            assert_eq!(reply["total"], wanted.len(), "{reply:.300}");
        } else if before.is_some() {
            assert!(reply.get("total").is_none(), "only a first page counts");
        }
        seen.extend(
            reply["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["seq"].as_u64().unwrap()),
        );
        match reply["next"].as_str() {
            Some(next) => before = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, wanted, "every match once, newest first");
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), seen.len());

    // Filters and a term too short for the index, combined. A scan may run
    // out of time on a busy machine and come back partial; going on from
    // `next` must still give every match exactly once.
    for (query, terms, from) in [
        ("zanzibar from:ben", vec!["zanzibar"], Some(1)),
        ("ox zanzibar", vec!["ox", "zanzibar"], None),
        ("ox from:ana", vec!["ox"], Some(0)),
    ] {
        assert_eq!(
            every_match(me, query).await,
            expect(&terms, from),
            "{query}"
        );
    }

    // A common word: counted up to the cap (what a partial answer has
    // counted so far is less), the newest first.
    let reply = search(me, "kiwi").await;
    if reply.get("partial").is_none() {
        assert_eq!(reply["total"], 1000, "the count stops at the cap");
    } else {
        assert!(on_postgres, "{reply:.300}");
    }
    let first: Vec<u64> = reply["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(first, expect(&["kiwi"], None)[..50]);
}

/// Every match of `query`, newest first, paging (and going on after a
/// partial answer) until there is no `next`.
async fn every_match(client: &mut Client, query: &str) -> Vec<u64> {
    let mut seqs = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let mut frame = json!({"type":"search","query":query,"limit":50});
        if let Some(cursor) = &before {
            frame["before"] = json!(cursor);
        }
        let reply = answer(client, frame).await;
        assert_eq!(reply["type"], "search_results", "{reply}");
        let page = reply["results"].as_array().unwrap();
        seqs.extend(page.iter().map(|r| r["seq"].as_u64().unwrap()));
        match reply["next"].as_str() {
            Some(next) => before = Some(next.to_owned()),
            None => return seqs,
        }
    }
}

/// Sends `count` generated messages to the lobby as `owner`, up to 200 at a
/// time, and returns the owner and what was acknowledged: (seq, ts, text).
async fn flood(mut owner: Owner, sender: usize, count: usize) -> (Owner, Vec<(u64, i64, String)>) {
    let mut words = Words(sender as u64 + 1);
    let mut acks = Vec::with_capacity(count);
    let mut next = 0;
    let cid = |i: usize| format!("f{sender}-{i}");
    while acks.len() < count {
        while next < count && next - acks.len() < 200 {
            let text = words.sentence(next * 2 + sender);
            owner
                .send(json!({"type":"message","message":text,"cid":cid(next)}))
                .await;
            next += 1;
        }
        let frame = owner.client.recv().await;
        assert_ne!(frame["type"], "error", "{frame}");
        if frame["type"] == "message" && frame["username"] == owner.welcome["username"] {
            acks.push((
                frame["seq"].as_u64().unwrap(),
                frame["timestamp"].as_i64().unwrap(),
                frame["message"].as_str().unwrap().to_owned(),
            ));
        }
    }
    (owner, acks)
}

/// With `--no-search` nothing is indexed and searches are refused; the
/// index left from before is emptied, and turning search on again rebuilds
/// it with everything said meanwhile.
#[tokio::test]
async fn search_can_be_turned_off_and_on_again() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("chat.db");
    let mut server = Server::start_on_db(&db, &[]);
    let mut alice = Owner::claim(&server, "alice").await;
    alice
        .send(json!({"type":"message","message":"before the switch","cid":"c1"}))
        .await;
    alice.client.recv_type("message").await;
    let token = alice.token.clone();
    drop(alice);
    assert!(server.terminate().success());

    server = Server::start_on_db(&db, &["--no-search"]);
    let mut alice = Owner::with_token(&server, "alice", &token).await;
    alice
        .send(json!({"type":"message","message":"while it was off","cid":"c2"}))
        .await;
    alice.client.recv_type("message").await;
    let reply = answer(&mut alice.client, json!({"type":"search","query":"switch"})).await;
    assert_eq!(reply["code"], "unavailable", "{reply}");
    assert!(reply["message"].as_str().unwrap().contains("turned off"));
    drop(alice);
    assert!(server.terminate().success());
    let conn = rusqlite::Connection::open(&db).unwrap();
    let indexed: i64 = conn
        .query_row("SELECT count(*) FROM search", [], |row| row.get(0))
        .unwrap();
    assert_eq!(indexed, 0, "nothing searchable is left behind");
    drop(conn);

    let server = Server::start_on_db(&db, &[]);
    let mut alice = Owner::with_token(&server, "alice", &token).await;
    assert_eq!(
        found(&mut alice.client, "switch").await,
        ["before the switch"]
    );
    assert_eq!(
        found(&mut alice.client, "it was off").await,
        ["while it was off"]
    );
}
