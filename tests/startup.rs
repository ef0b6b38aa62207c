//! Start-up scenarios: what the binary prints, where it listens, which files
//! it touches, and how it fails.

mod common;

use common::{Server, binary};

/// `--port 0` prints a Local: URL, and that URL answers with the page.
#[test]
fn port_zero_prints_a_url_that_answers() {
    let server = Server::start();
    assert!(
        server.url.starts_with("http://127.0.0.1:"),
        "{}",
        server.url
    );
    let page = server.get("/");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("<html") || page.text().contains("<!doctype html"));
    assert!(server.banner.contains("History:"), "{}", server.banner);
}

/// `--help` and `--version` work and exit 0.
#[test]
fn help_and_version() {
    let help = std::process::Command::new(binary())
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--port",
        "--bind",
        "--db",
        "--memory",
        "--history",
        "LANCHAT_PORT",
    ] {
        assert!(text.contains(flag), "--help lacks {flag}:\n{text}");
    }
    let version = std::process::Command::new(binary())
        .arg("--version")
        .output()
        .unwrap();
    assert!(version.status.success());
    assert!(String::from_utf8_lossy(&version.stdout).contains(env!("CARGO_PKG_VERSION")));
}
