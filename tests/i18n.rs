//! The page's languages stay complete: `tests/i18n/check.mjs` under Node
//! checks the catalogs (`web/i18n/*.json`) against each other, against
//! Node's `Intl.PluralRules`, and against the keys the page's code and HTML
//! use; `tests/i18n/emoji_names.mjs` checks that the emoji names in each
//! language (`web/i18n/emoji/`) are what Unicode's CLDR annotations (pinned
//! in `tests/npm`) make of the emoji this server lists.
//!
//! Without Node (or the CLDR packages, for the second) the tests print a
//! loud `SKIPPING` notice and pass; with `LANCHAT_REQUIRE_NODE=1` (set by
//! `.ci/run`) they fail instead. `LANCHAT_NODE` points at another Node.
//! `LANCHAT_I18N_WRITE=1` makes the second write the names instead of
//! checking them (after the server's emoji or the CLDR packages change).

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::Server;

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Says loudly that a test is skipped, or fails under `LANCHAT_REQUIRE_NODE=1`.
fn missing(what: &str, how: &str) -> Option<PathBuf> {
    let message = format!("{what} was not found. {how}");
    if std::env::var("LANCHAT_REQUIRE_NODE").is_ok_and(|v| v == "1") {
        panic!("LANCHAT_REQUIRE_NODE=1: {message}");
    }
    let line = "=".repeat(72);
    let _ = writeln!(
        std::io::stderr(),
        "\n{line}\nSKIPPING an i18n check. {message}\n{line}"
    );
    None
}

/// `node`, or `LANCHAT_NODE`.
fn node() -> Option<PathBuf> {
    let node = std::env::var_os("LANCHAT_NODE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("node"));
    let runs = Command::new(&node)
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if runs {
        Some(node)
    } else {
        missing(
            "Node",
            "Install it (apt-get install nodejs npm), or set LANCHAT_NODE.",
        )
    }
}

/// Runs a Node script of `tests/i18n/`, failing with what it printed.
fn run(node: &PathBuf, script: &str, args: &[&str]) {
    let output = Command::new(node)
        .arg(repo(&format!("tests/i18n/{script}")))
        .args(args)
        .output()
        .expect("run node");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{script} failed:\n{said}");
    print!("{said}");
}

/// Every language has every key, the same placeholders, the plural
/// categories it needs; every key used is in English, every English key used.
#[test]
fn catalogs_are_complete_and_used() {
    let Some(node) = node() else { return };
    run(&node, "check.mjs", &[]);
}

/// The emoji names the page searches in Portuguese and Spanish are CLDR's,
/// for exactly the emoji this server lists.
#[test]
fn emoji_names_are_cldrs_for_the_servers_emoji() {
    let Some(node) = node() else { return };
    if !repo("tests/npm/node_modules/cldr-annotations-full/package.json").is_file() {
        missing(
            "cldr-annotations-full",
            "Install it with `npm ci --prefix tests/npm`.",
        );
        return;
    }
    let server = Server::start();
    let emoji = server.get("/api/emoji");
    assert_eq!(emoji.status, 200);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let listed = dir.path().join("emoji.json");
    std::fs::write(&listed, &emoji.body).expect("write the list");
    let listed = listed.to_str().expect("a UTF-8 path");
    let write = std::env::var("LANCHAT_I18N_WRITE").is_ok_and(|v| v == "1");
    let mode = if write { "--write" } else { "--check" };
    run(&node, "emoji_names.mjs", &["--emoji", listed, mode]);
}
