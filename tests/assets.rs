//! The page's files over HTTP: each in the encoding the request accepts
//! (brotli, gzip or as it is), decoding byte for byte to the file in
//! `web/`, with `Vary` and an ETag of its own per encoding; the docs never
//! served; the service worker's script stamped with the version and the
//! files; `--web-overlay`, which changes both; and with `--tls`, the plain
//! port, which serves the trust page's files the same way and nothing of
//! the app.

mod common;

use std::collections::BTreeSet;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use common::{HttpResponse, Server, binary};
use serde_json::Value;

/// Every file under `web/` as the server should serve it: by its path,
/// documentation left out.
fn web_files() -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    let mut found = Vec::new();
    let mut folders = vec![root.clone()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_none_or(|ext| ext != "md") {
                let name = path
                    .strip_prefix(&root)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_owned();
                found.push((name, path));
            }
        }
    }
    found.sort();
    found
}

/// GET `path` with the given `Accept-Encoding` (none if `None`) and
/// `If-None-Match`.
fn fetch(
    server: &Server,
    path: &str,
    accept: Option<&str>,
    if_none_match: Option<&str>,
) -> HttpResponse {
    fetch_at(server.addr, path, accept, if_none_match)
}

/// [`fetch`] from a port of the server's: the trust page's, with `--tls`.
fn fetch_at(
    addr: SocketAddr,
    path: &str,
    accept: Option<&str>,
    if_none_match: Option<&str>,
) -> HttpResponse {
    let mut head = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n");
    if let Some(accept) = accept {
        head.push_str(&format!("Accept-Encoding: {accept}\r\n"));
    }
    if let Some(tag) = if_none_match {
        head.push_str(&format!("If-None-Match: {tag}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    common::http_request(addr, &head)
}

/// The body decoded as its `Content-Encoding` says.
fn decode(response: &HttpResponse) -> Vec<u8> {
    let mut decoded = Vec::new();
    match response.header("content-encoding") {
        None => decoded.clone_from(&response.body),
        Some("br") => {
            brotli_decompressor::Decompressor::new(&response.body[..], 4096)
                .read_to_end(&mut decoded)
                .expect("valid brotli");
        }
        Some("gzip") => {
            flate2::read::GzDecoder::new(&response.body[..])
                .read_to_end(&mut decoded)
                .expect("valid gzip");
        }
        Some(other) => panic!("unexpected Content-Encoding {other}"),
    }
    decoded
}

/// Every file of the page, asked for in brotli, gzip and as it is, decodes
/// to the file in `web/` byte for byte. Text comes compressed, and smaller
/// in brotli than in gzip; a response that depends on the encoding says so
/// with `Vary`, and each encoding has its own ETag, which revalidates only
/// that encoding.
#[test]
fn every_file_decodes_to_itself_in_every_encoding() {
    let server = Server::start();
    let mut compressed_bytes = [0usize; 3];
    for (name, path) in web_files() {
        if name == "sw.js" {
            continue; // served stamped: see the_worker_names_the_version_and_every_file
        }
        let original = std::fs::read(&path).unwrap();
        let url = format!("/{name}");
        let br = fetch(&server, &url, Some("gzip, deflate, br, zstd"), None);
        let gzip = fetch(&server, &url, Some("gzip, deflate"), None);
        let plain = fetch(&server, &url, None, None);
        let identity = fetch(&server, &url, Some("identity"), None);
        for (asked, response) in [
            ("br", &br),
            ("gzip", &gzip),
            ("none", &plain),
            ("identity", &identity),
        ] {
            assert_eq!(response.status, 200, "{name} asked {asked}");
            assert_eq!(
                decode(response),
                original,
                "{name} asked {asked} decodes to the file"
            );
            assert_eq!(
                response.header("content-length"),
                Some(response.body.len().to_string().as_str()),
                "{name} asked {asked}"
            );
            assert_eq!(response.header("cache-control"), Some("no-cache"));
        }
        assert_eq!(
            plain.header("content-encoding"),
            None,
            "{name}: no header, no encoding"
        );
        assert_eq!(identity.header("content-encoding"), None, "{name}");
        assert_eq!(plain.header("etag"), identity.header("etag"));
        let text = plain
            .header("content-type")
            .unwrap()
            .contains("charset=utf-8");
        if text && original.len() > 1024 {
            assert_eq!(br.header("content-encoding"), Some("br"), "{name}");
            assert_eq!(gzip.header("content-encoding"), Some("gzip"), "{name}");
            assert!(
                br.body.len() <= gzip.body.len(),
                "{name}: brotli is the smaller"
            );
        }
        let varies =
            br.header("content-encoding").is_some() || gzip.header("content-encoding").is_some();
        for response in [&br, &gzip, &plain] {
            assert_eq!(
                response.header("vary"),
                varies.then_some("accept-encoding"),
                "{name}: Vary if and only if there is a choice"
            );
        }
        if br.header("content-encoding") == Some("br") {
            assert_ne!(br.header("etag"), plain.header("etag"), "{name}");
            assert_ne!(br.header("etag"), gzip.header("etag"), "{name}");
        }
        for (i, response) in [&br, &gzip, &plain].into_iter().enumerate() {
            compressed_bytes[i] += response.body.len();
        }
        // Each encoding's tag revalidates that encoding.
        let accepts = [Some("gzip, deflate, br, zstd"), Some("gzip, deflate"), None];
        for (accept, response) in accepts.into_iter().zip([&br, &gzip, &plain]) {
            let tag = response.header("etag").expect("an ETag");
            let again = fetch(&server, &url, accept, Some(tag));
            assert_eq!(again.status, 304, "{name} with its own tag");
            assert!(again.body.is_empty());
            assert_eq!(again.header("etag"), Some(tag));
            assert_eq!(again.header("vary"), response.header("vary"));
        }
        if let Some(gzip_tag) = gzip
            .header("etag")
            .filter(|_| gzip.header("content-encoding").is_some())
        {
            let other = fetch(&server, &url, None, Some(gzip_tag));
            assert_eq!(
                other.status, 200,
                "{name}: the gzip tag does not stand for the file as it is"
            );
            assert_eq!(decode(&other), original);
        }
    }
    let [br, gzip, plain] = compressed_bytes;
    eprintln!("the whole page: {plain} bytes as it is, {gzip} in gzip, {br} in brotli");
    assert!(gzip < plain / 2, "gzip {gzip} of {plain}");
    assert!(br < gzip, "brotli {br}, gzip {gzip}");
}

/// `web/README.md` (the page's reference) is in `web/` but never served.
#[test]
fn the_docs_beside_the_page_are_not_served() {
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("web/README.md")
            .exists()
    );
    let server = Server::start();
    assert_eq!(server.get("/README.md").status, 404);
}

/// The service worker's script starts with the version of the page's files
/// and lists every one of them but itself: exactly `web/` without the docs.
fn worker_build(server: &Server) -> Value {
    let worker = fetch(server, "/sw.js", Some("gzip, deflate, br"), None);
    assert_eq!(worker.status, 200);
    assert!(
        worker
            .header("content-type")
            .unwrap()
            .contains("javascript")
    );
    let script = String::from_utf8(decode(&worker)).unwrap();
    let first = script.lines().next().unwrap();
    let json = first
        .strip_prefix("const BUILD = ")
        .and_then(|rest| rest.strip_suffix(';'))
        .unwrap_or_else(|| panic!("the first line is the stamp: {first}"));
    let template =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("web/sw.js")).unwrap();
    assert!(script.ends_with(&template), "the rest is web/sw.js");
    serde_json::from_str(json).unwrap()
}

/// The worker's stamp: the version (the same for the same files, from one
/// start to the next) and every file of the page but the worker itself.
#[test]
fn the_worker_names_the_version_and_every_file() {
    let server = Server::start();
    let build = worker_build(&server);
    let files: BTreeSet<String> = serde_json::from_value(build["files"].clone()).unwrap();
    let expected: BTreeSet<String> = web_files()
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| name != "sw.js")
        .collect();
    assert_eq!(files, expected);
    let version = build["version"].as_str().unwrap();
    assert_eq!(version.len(), 16, "{version}");
    assert_eq!(worker_build(&Server::start())["version"], version);
}

/// `--web-overlay DIR` serves its files over the page's: a replaced
/// `index.html` and an added file are served, and the worker carries a
/// new version that lists the added file. A folder that cannot be read,
/// or a file where a route of the server is, stops the start with one
/// clear line.
#[test]
fn an_overlay_changes_the_page_and_the_worker() {
    let dir = tempfile::TempDir::new().unwrap();
    let overlay = dir.path().join("web");
    std::fs::create_dir_all(overlay.join("extra")).unwrap();
    let page = "<!doctype html><title>changed</title>";
    std::fs::write(overlay.join("index.html"), page).unwrap();
    std::fs::write(overlay.join("extra/note.txt"), "an added file").unwrap();
    let plain = Server::start();
    let changed = Server::start_with(&["--web-overlay", overlay.to_str().unwrap()]);
    let index = fetch(&changed, "/", Some("gzip, br"), None);
    assert_eq!(decode(&index), page.as_bytes());
    assert_eq!(changed.get("/extra/note.txt").text(), "an added file");
    assert_eq!(
        decode(&fetch(&changed, "/script.js", Some("br"), None)),
        decode(&plain.get("/script.js"))
    );
    let (before, after) = (worker_build(&plain), worker_build(&changed));
    assert_ne!(before["version"], after["version"]);
    let files: Vec<String> = serde_json::from_value(after["files"].clone()).unwrap();
    assert!(files.contains(&"extra/note.txt".to_owned()), "{files:?}");

    std::fs::create_dir_all(overlay.join("api")).unwrap();
    std::fs::write(overlay.join("api/emoji"), "[]").unwrap();
    let missing = dir.path().join("nowhere");
    for (folder, words) in [
        (&overlay, "api/emoji"),
        (&missing, "cannot read the web overlay"),
    ] {
        let output = std::process::Command::new(binary())
            .args([
                "--port",
                "0",
                "--bind",
                "127.0.0.1",
                "--memory",
                "--web-overlay",
            ])
            .arg(folder)
            .output()
            .unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("lanchat: ") && stderr.contains(words),
            "{stderr}"
        );
    }
}

/// With `--tls` the plain port serves the trust page's files as the HTTPS
/// port serves the page's (compressed, the same ETags, 304), `/` being the
/// trust page; the app's files, the manifest and the service worker among
/// them, are only on HTTPS: asked for here, they are redirected there, so
/// the app is never kept or installed from the plain origin.
#[test]
fn the_plain_port_serves_the_trust_page_and_sends_the_app_to_https() {
    let server = Server::start_with(&["--tls"]);
    let trust = server.trust_addr.expect("a trust port");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    for (path, file) in [
        ("/", "trust.html"),
        ("/trust.js", "trust.js"),
        ("/trust.css", "trust.css"),
        ("/css/base.css", "css/base.css"),
        ("/i18n.js", "i18n.js"),
        ("/storage.js", "storage.js"),
        ("/i18n/pt-BR.json", "i18n/pt-BR.json"),
        ("/favicon.svg", "favicon.svg"),
    ] {
        let original = std::fs::read(root.join(file)).unwrap();
        let gzip = fetch_at(trust, path, Some("gzip, deflate"), None);
        assert_eq!(gzip.status, 200, "{path}");
        assert_eq!(decode(&gzip), original, "{path} decodes to {file}");
        assert_eq!(gzip.header("cache-control"), Some("no-cache"), "{path}");
        if original.len() > 1024 {
            assert_eq!(gzip.header("content-encoding"), Some("gzip"), "{path}");
            assert_eq!(gzip.header("vary"), Some("accept-encoding"), "{path}");
        }
        let tag = gzip.header("etag").expect("an ETag");
        let again = fetch_at(trust, path, Some("gzip, deflate"), Some(tag));
        assert_eq!(again.status, 304, "{path} with its own tag");
        let plain = fetch_at(trust, path, None, None);
        assert_eq!(plain.body, original, "{path} as it is");
    }
    for path in [
        "/sw.js",
        "/manifest.json",
        "/index.html",
        "/script.js",
        "/icons/icon-192.png",
    ] {
        let response = fetch_at(trust, path, Some("gzip, br"), None);
        assert_eq!(response.status, 307, "{path} is the app's, on HTTPS");
        assert_eq!(
            response.header("location"),
            Some(format!("https://127.0.0.1:{}{path}", server.addr.port()).as_str()),
            "{path}"
        );
    }
}
