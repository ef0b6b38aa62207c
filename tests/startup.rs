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

/// Runs the binary to completion with `args` in `cwd`; returns (success, stderr).
fn run_to_exit(args: &[&str], cwd: &std::path::Path) -> (bool, String) {
    let output = std::process::Command::new(binary())
        .args(args)
        .current_dir(cwd)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Started from an empty folder with no flags but the port, the binary serves
/// the page and its script with the right types, and keeps history and files
/// in a `lanchat-data` folder there, which the banner names.
#[test]
fn runs_from_an_empty_folder() {
    let dir = tempfile::TempDir::new().unwrap();
    let server = Server::spawn(
        &["--port", "0", "--bind", "127.0.0.1", "--no-qr"],
        dir.path(),
    );
    let index = server.get("/");
    assert_eq!(index.status, 200);
    assert_eq!(
        index.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let script = server.get("/script.js");
    assert_eq!(script.status, 200);
    assert!(
        script
            .header("content-type")
            .unwrap()
            .starts_with("text/javascript")
    );
    let data = dir.path().join("lanchat-data");
    assert!(data.join("lanchat.db").is_file());
    assert!(data.join("lanchat-files").is_dir());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "only lanchat-data"
    );
    let history_line = history_line(&server);
    assert!(
        history_line.ends_with(&format!(
            "{} (SQLite, with the shared files)",
            data.display()
        )),
        "{history_line}"
    );
}

fn history_line(server: &Server) -> String {
    let line = server.banner.lines().find(|l| l.contains("History:"));
    line.expect("a History: line").trim().to_owned()
}

/// `--data DIR` (or `LANCHAT_DATA`), a folder that does not exist yet: it is
/// made, and gets the history and the files, and a message sent is kept in
/// it across a restart.
#[tokio::test]
async fn a_fresh_data_folder_gets_everything() {
    let dir = tempfile::TempDir::new().unwrap();
    let args = ["--port", "0", "--bind", "127.0.0.1", "--no-qr"];
    let mut flagged = args.to_vec();
    flagged.extend(["--data", "chat/kept"]);
    let mut server = Server::spawn(&flagged, dir.path());
    let data = dir.path().join("chat/kept");
    assert!(data.join("lanchat.db").is_file());
    assert!(data.join("lanchat-files").is_dir());
    assert!(history_line(&server).contains(data.to_str().unwrap()));
    let (mut alice, _, _) = common::Client::join(&server, "alice").await;
    alice.say("kept in the folder", "c1").await;
    alice.recv_type("message").await;
    assert!(server.terminate().success());

    let mut command = std::process::Command::new(binary());
    command
        .args(args)
        .current_dir(dir.path())
        .env("LANCHAT_DATA", &data);
    let server = Server::launch(command, dir.path());
    let (_, _, history) = common::Client::join(&server, "bob").await;
    assert_eq!(history["messages"][0]["message"], "kept in the folder");
    assert!(!dir.path().join("lanchat-data").exists());
}

/// A history from before the data folder (`lanchat.db` and `lanchat-files`
/// in the starting folder) is found and used where it is, with one line
/// saying so; nothing is moved or made beside it.
#[tokio::test]
async fn an_earlier_layout_is_picked_up_where_it_is() {
    let dir = tempfile::TempDir::new().unwrap();
    let db = dir.path().join("lanchat.db");
    let mut server = Server::spawn(
        &[
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--no-qr",
            "--db",
            db.to_str().unwrap(),
        ],
        dir.path(),
    );
    let (mut alice, _, _) = common::Client::join(&server, "alice").await;
    alice.say("from an earlier version", "c1").await;
    alice.recv_type("message").await;
    assert!(server.terminate().success());
    let before: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert!(
        before.iter().any(|name| name == "lanchat-files"),
        "{before:?}"
    );

    let server = Server::spawn(
        &["--port", "0", "--bind", "127.0.0.1", "--no-qr"],
        dir.path(),
    );
    assert_eq!(
        history_line(&server),
        format!(
            "History: {} (lanchat.db and lanchat-files, where earlier versions kept them)",
            dir.path().display()
        )
    );
    let (_, _, history) = common::Client::join(&server, "bob").await;
    assert_eq!(history["messages"][0]["message"], "from an earlier version");
    assert!(!dir.path().join("lanchat-data").exists());
    assert!(db.is_file());
}

/// A data folder that cannot be made or written (a read-only disk, or a
/// file where the folder should be) is one clear line and a non-zero exit.
#[test]
fn an_unwritable_data_folder_is_one_clear_line() {
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let mut cases = vec![(file.join("chat"), "cannot make the data folder")];
    let read_only = common::tmpfs::Tmpfs::mount_read_only("an_unwritable_data_folder");
    if let Some(read_only) = &read_only {
        cases.push((read_only.path.clone(), "cannot write in the data folder"));
        cases.push((read_only.path.join("chat"), "cannot make the data folder"));
    }
    for (data, words) in cases {
        let (ok, stderr) = run_to_exit(
            &["--port", "0", "--data", data.to_str().unwrap()],
            dir.path(),
        );
        assert!(!ok, "{} was accepted", data.display());
        assert!(stderr.starts_with("lanchat: "), "{stderr}");
        assert!(stderr.contains(words), "{stderr}");
        assert!(stderr.contains(data.to_str().unwrap()), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one clear line: {stderr}");
    }
}

/// `--open` opens the Local URL, key and all, with the desktop's opener
/// (xdg-open here, which runs `$BROWSER` when there is no desktop), once the
/// server answers it.
#[test]
fn open_opens_the_local_url_in_a_browser() {
    if !common::have_command(
        "xdg-open",
        "LANCHAT_REQUIRE_BROWSER",
        "open_opens_the_local_url",
    ) {
        return;
    }
    let dir = tempfile::TempDir::new().unwrap();
    let opened = dir.path().join("opened");
    let browser = dir.path().join("browser");
    std::fs::write(
        &browser,
        format!(
            "#!/bin/sh\nprintf '%s' \"$1\" > {0}.part && mv {0}.part {0}\n",
            opened.display()
        ),
    )
    .unwrap();
    let mut permissions = std::fs::metadata(&browser).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&browser, permissions).unwrap();
    let mut command = std::process::Command::new(binary());
    command
        .args(["--port", "0", "--bind", "127.0.0.1", "--no-qr", "--memory"])
        .args(["--password", "k&y", "--open"])
        .current_dir(dir.path())
        .env("BROWSER", &browser)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY");
    let server = Server::launch(command, dir.path());
    let local = server
        .banner
        .lines()
        .find_map(|l| l.trim().strip_prefix("Local:"));
    let local = local.expect("a Local: line").trim();
    assert!(local.ends_with("#key=k%26y"), "{local}");
    let url = common::wait_for_file(&opened);
    assert_eq!(url, local);
    assert_eq!(server.get("/").status, 200);
}

/// Assets carry an ETag and answer a matching If-None-Match with 304;
/// unknown paths are 404; every response has the security headers.
#[test]
fn assets_are_cacheable_and_unknown_paths_are_404() {
    let server = Server::start();
    let script = server.get("/script.js");
    let etag = script.header("etag").expect("etag").to_owned();
    assert_eq!(script.header("cache-control"), Some("no-cache"));
    let raw = format!(
        "GET /script.js HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\nConnection: close\r\n\r\n"
    );
    let again = common::http_request(server.addr, &raw);
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    for path in ["/nope", "/ws", "/../Cargo.toml", "/src/main.rs"] {
        let response = server.get(path);
        assert_eq!(response.status, 404, "{path}");
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
        assert!(
            response
                .header("content-security-policy")
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
    }
    assert_eq!(server.get("/ws/alice").status, 400, "not an upgrade");
}

/// GET /healthz reports version, uptime and open connections.
#[tokio::test]
async fn healthz_reports_connections() {
    let server = Server::start();
    let health = server.get("/healthz").json();
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(health["connections"], 0);
    assert!(health["uptime_seconds"].is_u64());
    let _alice = common::Client::join(&server, "alice").await;
    assert_eq!(server.get("/healthz").json()["connections"], 1);
}

/// A port that was asked for and is busy is a clear error.
#[test]
fn busy_requested_port_is_an_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let dir = tempfile::TempDir::new().unwrap();
    let (ok, stderr) = run_to_exit(
        &["--port", &port, "--bind", "127.0.0.1", "--memory"],
        dir.path(),
    );
    assert!(!ok);
    assert!(stderr.contains("already in use"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one clear line: {stderr}");
}

/// With no port given and 8080 busy, the server takes a free port and says so.
#[test]
fn busy_default_port_falls_back_to_a_free_one() {
    // Either we hold 8080 now or something else already does.
    let _held = std::net::TcpListener::bind("127.0.0.1:8080");
    let dir = tempfile::TempDir::new().unwrap();
    let server = Server::spawn(&["--bind", "127.0.0.1", "--memory", "--no-qr"], dir.path());
    assert_ne!(server.addr.port(), 8080);
    assert!(
        server.banner.contains("port 8080 is busy"),
        "{}",
        server.banner
    );
    assert_eq!(server.get("/healthz").status, 200);
}

/// Bad flags give one clear line and a non-zero exit.
#[test]
fn bad_flags_are_refused() {
    let dir = tempfile::TempDir::new().unwrap();
    for args in [
        &["--port", "nope"][..],
        &["--bind", "somewhere"],
        &["--history", "-3"],
        &["--memory", "--db", "x.db"],
        &["--ping-interval", "60", "--idle-timeout", "30"],
    ] {
        let (ok, stderr) = run_to_exit(args, dir.path());
        assert!(!ok, "{args:?} was accepted");
        assert!(stderr.starts_with("lanchat: "), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one clear line: {stderr}");
    }
}

/// A file that is not our database is refused and left byte-for-byte alone:
/// plain text, a corrupt SQLite file, and another program's database.
#[test]
fn foreign_or_corrupt_database_is_refused_and_untouched() {
    let dir = tempfile::TempDir::new().unwrap();

    let text = dir.path().join("notes.db");
    std::fs::write(&text, "my precious notes, not a database\n".repeat(200)).unwrap();

    let foreign = dir.path().join("other.db");
    {
        let conn = rusqlite::Connection::open(&foreign).unwrap();
        conn.execute_batch(
            "CREATE TABLE accounts (id INTEGER, owner TEXT); INSERT INTO accounts VALUES (1, 'x');",
        )
        .unwrap();
    }

    let corrupt = dir.path().join("corrupt.db");
    {
        let conn = rusqlite::Connection::open(&corrupt).unwrap();
        conn.execute_batch("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('hello');")
            .unwrap();
    }
    let mut bytes = std::fs::read(&corrupt).unwrap();
    for byte in &mut bytes[100..] {
        *byte ^= 0x5A;
    }
    std::fs::write(&corrupt, &bytes).unwrap();

    for (path, words) in [
        (&text, "not a lanchat history file"),
        (&foreign, "belongs to another program"),
        (&corrupt, ""),
    ] {
        let before = std::fs::read(path).unwrap();
        let (ok, stderr) =
            run_to_exit(&["--port", "0", "--db", path.to_str().unwrap()], dir.path());
        assert!(!ok, "{} was accepted", path.display());
        assert!(stderr.contains(words), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one clear line: {stderr}");
        assert_eq!(
            std::fs::read(path).unwrap(),
            before,
            "{} was modified",
            path.display()
        );
        assert!(
            !dir.path()
                .join(format!(
                    "{}-wal",
                    path.file_name().unwrap().to_str().unwrap()
                ))
                .exists()
        );
    }
}

/// A directory where the file should be, or an unreadable folder, is a clear error.
#[test]
fn unopenable_database_is_an_error() {
    let dir = tempfile::TempDir::new().unwrap();
    let (ok, stderr) = run_to_exit(
        &["--port", "0", "--db", dir.path().to_str().unwrap()],
        dir.path(),
    );
    assert!(!ok);
    assert!(stderr.contains("is a directory"), "{stderr}");
    let missing = dir.path().join("no/such/folder/chat.db");
    let (ok, stderr) = run_to_exit(
        &["--port", "0", "--db", missing.to_str().unwrap()],
        dir.path(),
    );
    assert!(!ok);
    assert!(stderr.contains("cannot open"), "{stderr}");
}
