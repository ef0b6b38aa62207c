//! Names people own: claiming, using a claimed name, renaming, moving to
//! another device, and release after long disuse.

mod common;

use common::Server;
use common::owner::{expect_refused, first_frame};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// The first claim issues a token; the name then needs it, in any case of
/// letters; the server stores only the token's hash; claims survive a restart.
#[tokio::test]
async fn a_claimed_name_needs_its_token() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("chat.db");
    let mut server = Server::start_on_db(&db, &[]);
    let (alice, welcome) = first_frame(&server, "alice", &["claim"]).await;
    assert_eq!(welcome["type"], "welcome");
    assert_eq!(welcome["claimed"], true);
    let token = welcome["token"].as_str().expect("a token").to_owned();
    assert_eq!(token.len(), 64);
    drop(alice);

    expect_refused(&server, "alice", &[], "name_taken").await;
    expect_refused(&server, "ALICE", &[], "name_taken").await;
    expect_refused(&server, "alice", &["token.0000"], "name_taken").await;
    expect_refused(&server, "alice", &["claim"], "name_taken").await;
    let with_token = format!("token.{token}");
    let (_tab1, welcome) = first_frame(&server, "alice", &[&with_token]).await;
    assert_eq!(welcome["claimed"], true);
    assert!(
        welcome.get("token").is_none(),
        "no new token for a known one"
    );
    let (_tab2, welcome) = first_frame(&server, "alice", &[&with_token]).await;
    assert_eq!(
        welcome["users"],
        serde_json::json!(["alice"]),
        "two tabs, one user"
    );

    // An unclaimed name still works without any of this (v1 clients).
    let (_bob, welcome) = first_frame(&server, "bob", &[]).await;
    assert_eq!(welcome["claimed"], false);

    drop((_tab1, _tab2, _bob));
    assert!(server.terminate().success());
    let conn = rusqlite::Connection::open(&db).unwrap();
    let stored: Vec<u8> = conn
        .query_row(
            "SELECT token_hash FROM claims WHERE name_key = 'alice'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        stored,
        Sha256::digest(token.as_bytes()).to_vec(),
        "only the hash is kept"
    );
    drop(conn);

    let server = Server::start_on_db(&db, &[]);
    expect_refused(&server, "alice", &[], "name_taken").await;
    let (_alice, welcome) = first_frame(&server, "alice", &[&with_token]).await;
    assert_eq!(welcome["type"], "welcome");
}

/// Renaming moves the claim: the new name needs the token, the old one is free.
/// Nobody can rename onto a claimed name.
#[tokio::test]
async fn renaming_moves_the_claim() {
    let server = Server::start();
    let (mut alice, welcome) = first_frame(&server, "alice", &["claim"]).await;
    let token = format!("token.{}", welcome["token"].as_str().unwrap());
    alice.recv_type("history").await;
    alice
        .send_json(serde_json::json!({"type":"rename","username":"alicia"}))
        .await;
    assert_eq!(alice.recv_type("rename").await["to"], "alicia");
    drop(alice);

    expect_refused(&server, "alicia", &[], "name_taken").await;
    let (_free, welcome) = first_frame(&server, "alice", &[]).await;
    assert_eq!(welcome["claimed"], false, "the old name is free again");
    let (_alicia, welcome) = first_frame(&server, "alicia", &[&token]).await;
    assert_eq!(welcome["claimed"], true);

    let (mut mallory, _) = first_frame(&server, "mallory", &[]).await;
    mallory.recv_type("history").await;
    mallory
        .send_json(serde_json::json!({"type":"rename","username":"ALICIA"}))
        .await;
    assert_eq!(mallory.recv_type("error").await["code"], "name_taken");
}

/// A transfer code moves the name to a new device once; the old token stops
/// working; a wrong or reused code is refused.
#[tokio::test]
async fn a_transfer_code_moves_the_name_to_another_device() {
    let server = Server::start();
    let (mut laptop, welcome) = first_frame(&server, "alice", &["claim"]).await;
    let old_token = format!("token.{}", welcome["token"].as_str().unwrap());
    laptop
        .send_json(serde_json::json!({"type":"transfer_code"}))
        .await;
    let reply = laptop.recv_type("transfer_code").await;
    let code = reply["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 9, "shown as XXXX-XXXX: {code}");
    assert!(reply["expires"].as_i64().unwrap() > 0);
    drop(laptop);

    expect_refused(&server, "alice", &["code.WRONG-CODE"], "invalid_code").await;
    let typed = format!("code.{}", code.to_lowercase());
    let (_phone, welcome) = first_frame(&server, "alice", &[&typed]).await;
    assert_eq!(welcome["claimed"], true);
    let new_token = welcome["token"].as_str().expect("the phone gets a token");
    assert_ne!(format!("token.{new_token}"), old_token);
    expect_refused(&server, "alice", &[&typed], "invalid_code").await;
    expect_refused(&server, "alice", &[&old_token], "name_taken").await;

    let (mut anon, _) = first_frame(&server, "bob", &[]).await;
    anon.send_json(serde_json::json!({"type":"transfer_code"}))
        .await;
    assert_eq!(anon.recv_type("error").await["code"], "bad_request");
}

/// A claim unused for longer than --claim-ttl-days is released at start-up.
#[tokio::test]
async fn unused_claims_are_released() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("chat.db");
    let mut server = Server::start_on_db(&db, &[]);
    let (alice, _) = first_frame(&server, "alice", &["claim"]).await;
    let (carol, _) = first_frame(&server, "carol", &["claim"]).await;
    drop((alice, carol));
    assert!(server.terminate().success());

    let conn = rusqlite::Connection::open(&db).unwrap();
    let forty_days_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 40 * 86_400_000;
    conn.execute(
        "UPDATE claims SET last_seen = ?1 WHERE name_key = 'alice'",
        [forty_days_ago],
    )
    .unwrap();
    drop(conn);

    let server = Server::start_on_db(&db, &["--claim-ttl-days", "30"]);
    let (_alice, welcome) = first_frame(&server, "alice", &[]).await;
    assert_eq!(welcome["type"], "welcome", "alice was released");
    expect_refused(&server, "carol", &[], "name_taken").await;
}

/// Names that look like one online or owned (fullwidth letters, a Cyrillic
/// о, other letter case) are refused with `name_taken`, on connect, claim
/// and rename; a fullwidth name is the ordinary one.
#[tokio::test]
async fn look_alike_names_are_refused() {
    let server = Server::start();
    let (_bob, welcome) = first_frame(&server, "bob", &["claim"]).await;
    assert_eq!(welcome["claimed"], true);
    let (_ana, _) = first_frame(&server, "ana", &[]).await;

    // Owned: bob. Online without a claim: ana.
    for (name, protocols) in [
        ("%EF%BD%82%EF%BD%8F%EF%BD%82", &[][..]), // ｂｏｂ, which is bob
        ("b%D0%BEb", &[][..]),                    // bоb, Cyrillic о
        ("b%D0%BEb", &["claim"][..]),
        ("B%CE%BFB", &[][..]), // BοB, Greek omicron
        ("%D0%B0na", &[][..]), // аna, Cyrillic а
        ("Ana", &["claim"][..]),
    ] {
        expect_refused(&server, name, protocols, "name_taken").await;
    }

    let (mut carol, _) = first_frame(&server, "carol", &[]).await;
    carol.recv_type("history").await;
    for to in ["b\u{043E}b", "ANA", "\u{FF41}na"] {
        carol
            .send_json(serde_json::json!({"type":"rename","username":to}))
            .await;
        let error = carol.recv_type("error").await;
        assert_eq!(error["code"], "name_taken", "rename to {to:?}");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("looks too much like")
                || error["message"].as_str().unwrap().contains("in use"),
            "{error}"
        );
    }
    // Her own name in another case is still hers to take.
    carol
        .send_json(serde_json::json!({"type":"rename","username":"Carol"}))
        .await;
    assert_eq!(carol.recv_type("rename").await["to"], "Carol");

    // Once nobody holds it, the fullwidth form is simply the name.
    let (_, welcome) = first_frame(&server, "%EF%BD%84%EF%BD%81%EF%BD%96%EF%BD%85", &[]).await;
    assert_eq!(welcome["username"], "dave");
}
