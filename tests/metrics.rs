//! `/metrics`: it parses as the Prometheus text format (read back with
//! `prometheus_client`'s own parser, pinned in `tests/python/requirements.txt`
//! and installed in `target/interop-venv`), its counters rise by exactly
//! what a small load did, refusals and cut-offs are counted, it needs the
//! access key, and `--metrics-bind` serves it on an address of its own.
//!
//! Without that parser the tests print a loud `SKIPPING` notice and pass;
//! with `LANCHAT_REQUIRE_INTEROP=1` (set by `.ci/run`) they fail instead.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use socket2::{Domain, Socket, Type};

use common::interop::{python_with, repo};
use common::owner::Owner;
use common::postgres::Cluster;
use common::raw::RawSocket;
use common::tus::Tus;
use common::{Client, HttpResponse, Server, WAIT, http_request};

/// GET /metrics at `addr`, with the access key if given.
fn get_metrics(addr: SocketAddr, key: Option<&str>) -> HttpResponse {
    let auth = key
        .map(|key| format!("Authorization: Bearer {key}\r\n"))
        .unwrap_or_default();
    http_request(
        addr,
        &format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n"),
    )
}

/// One scrape, as the parser read it: each sample's value by its name and
/// labels (`name` alone, or `name{le="1"}` with labels in name order).
struct Scrape {
    families: Vec<Value>,
    samples: BTreeMap<String, f64>,
}

impl Scrape {
    /// Scrapes `addr` (with `key`) and parses it, or `None` with no parser
    /// here (skipped; a failure under `LANCHAT_REQUIRE_INTEROP=1`).
    fn take(addr: SocketAddr, key: Option<&str>) -> Option<Scrape> {
        let response = get_metrics(addr, key);
        assert_eq!(response.status, 200, "{}", response.text());
        assert_eq!(
            response.header("content-type"),
            Some("text/plain; version=0.0.4; charset=utf-8")
        );
        Scrape::parse(&response.text())
    }

    fn parse(text: &str) -> Option<Scrape> {
        let python = parser()?;
        let mut child = Command::new(python)
            .arg(repo("tests/python/parse_metrics.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run the parser");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "prometheus_client could not parse /metrics: {}\n{text}",
            String::from_utf8_lossy(&output.stderr)
        );
        let families: Vec<Value> = serde_json::from_slice(&output.stdout).expect("JSON");
        let mut samples = BTreeMap::new();
        for family in &families {
            assert_ne!(family["type"], "unknown", "no TYPE line: {family}");
            assert!(
                !family["help"].as_str().unwrap_or_default().is_empty(),
                "no HELP line: {family}"
            );
            for sample in family["samples"].as_array().unwrap() {
                let labels = sample["labels"].as_object().unwrap();
                let key = if labels.is_empty() {
                    sample["name"].as_str().unwrap().to_owned()
                } else {
                    let labels: Vec<String> = labels
                        .iter()
                        .map(|(name, value)| format!("{name}=\"{}\"", value.as_str().unwrap()))
                        .collect();
                    format!(
                        "{}{{{}}}",
                        sample["name"].as_str().unwrap(),
                        labels.join(",")
                    )
                };
                samples.insert(key, sample["value"].as_f64().unwrap());
            }
        }
        let scrape = Scrape { families, samples };
        scrape.check_histograms();
        Some(scrape)
    }

    /// Every histogram's buckets only grow, and its `+Inf` bucket holds
    /// every observation.
    fn check_histograms(&self) {
        for family in self.families.iter().filter(|f| f["type"] == "histogram") {
            let name = family["name"].as_str().unwrap();
            let buckets: Vec<f64> = family["samples"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["name"] == format!("{name}_bucket"))
                .map(|s| s["value"].as_f64().unwrap())
                .collect();
            assert!(buckets.len() > 1, "{name} has no buckets");
            assert!(
                buckets.windows(2).all(|pair| pair[0] <= pair[1]),
                "{name}'s buckets shrink: {buckets:?}"
            );
            assert_eq!(
                self.value(&format!("{name}_bucket{{le=\"+Inf\"}}")),
                self.value(&format!("{name}_count")),
                "{name}: +Inf bucket and count"
            );
        }
    }

    /// A sample's value; fails the test if it is not there.
    fn value(&self, sample: &str) -> f64 {
        *self
            .samples
            .get(sample)
            .unwrap_or_else(|| panic!("no sample {sample} in {:?}", self.samples.keys()))
    }

    fn has_family(&self, name: &str) -> bool {
        self.families.iter().any(|f| f["name"] == name)
    }
}

/// A Python with `prometheus_client`, or `None` after a loud notice.
fn parser() -> Option<PathBuf> {
    python_with("prometheus_client.parser", "Python's prometheus_client")
}

/// Scrapes until `done` holds for the scrape (what a session counts after
/// its write may land a moment after the client read it), failing after
/// [`WAIT`] with the last values seen.
fn scrape_until(addr: SocketAddr, what: &str, done: impl Fn(&Scrape) -> bool) -> Scrape {
    let deadline = Instant::now() + WAIT;
    loop {
        let scrape = Scrape::take(addr, None).expect("the parser was there a moment ago");
        if done(&scrape) {
            return scrape;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting until {what}: {:?}",
            scrape.samples
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Reads frames until `count` chat messages have arrived.
async fn receive_messages(client: &mut Client, count: usize) {
    for _ in 0..count {
        client.recv_type("message").await;
    }
}

/// Three people chat, one resumes, one searches, one uploads: every figure
/// says exactly what happened, the histograms agree with the counters, and
/// there are no PostgreSQL metrics on SQLite.
#[tokio::test]
async fn metrics_parse_and_count_a_small_load() {
    let server = Server::start();
    let Some(before) = Scrape::take(server.addr, None) else {
        return;
    };
    assert_eq!(before.value("lanchat_connections"), 0.0);
    assert_eq!(before.value("lanchat_messages_received_total"), 0.0);
    assert_eq!(
        before.value(&format!(
            "lanchat_build_info{{version=\"{}\"}}",
            env!("CARGO_PKG_VERSION")
        )),
        1.0
    );
    if !common::postgres::scenarios_on_postgres() {
        assert!(!before.has_family("lanchat_postgres_notices"));
        assert!(!before.has_family("lanchat_postgres_pool_wait_seconds"));
    }

    let (mut ann, _, _) = Client::join(&server, "ann").await;
    let (mut bob, _, _) = Client::join(&server, "bob").await;
    let (mut cat, _, _) = Client::join(&server, "cat").await;
    for i in 0..20 {
        ann.say(&format!("hello {i}"), &format!("a{i}")).await;
    }
    for i in 0..10 {
        bob.say(&format!("hi {i}"), &format!("b{i}")).await;
    }
    for client in [&mut ann, &mut bob, &mut cat] {
        receive_messages(client, 30).await;
    }
    // 30 messages, each written to 3 connections.
    let chatted = scrape_until(server.addr, "90 deliveries", |s| {
        s.value("lanchat_deliveries_total") >= 90.0
    });
    assert_eq!(chatted.value("lanchat_deliveries_total"), 90.0);
    assert_eq!(chatted.value("lanchat_messages_received_total"), 30.0);
    assert_eq!(chatted.value("lanchat_connections"), 3.0);
    assert_eq!(chatted.value("lanchat_users"), 3.0);
    assert_eq!(chatted.value("lanchat_commit_batch_size_sum"), 30.0);
    let commits = chatted.value("lanchat_commit_seconds_count");
    assert!(commits >= 1.0, "no commit timed");
    assert_eq!(chatted.value("lanchat_commit_batch_size_count"), commits);
    assert!(chatted.value("lanchat_commit_seconds_sum") > 0.0);
    assert_eq!(chatted.value("lanchat_resume_messages_count"), 0.0);

    // Dan comes back after seq 25: five messages replayed.
    let mut dan = Client::connect(&server, "dan?since=25").await;
    dan.recv_type("welcome").await;
    let history = dan.recv_type("history").await;
    assert_eq!(history["messages"].as_array().unwrap().len(), 5);
    cat.send_json(json!({"type":"search","query":"hello"}))
        .await;
    let results = cat.recv_type("search_results").await;
    assert_eq!(results["total"], 20);
    let resumed = Scrape::take(server.addr, None).unwrap();
    assert_eq!(resumed.value("lanchat_resume_messages_count"), 1.0);
    assert_eq!(resumed.value("lanchat_resume_messages_sum"), 5.0);
    assert_eq!(
        resumed.value("lanchat_resume_messages_bucket{le=\"1\"}"),
        0.0
    );
    assert_eq!(
        resumed.value("lanchat_resume_messages_bucket{le=\"10\"}"),
        1.0
    );
    assert_eq!(resumed.value("lanchat_search_seconds_count"), 1.0);
    assert_eq!(resumed.value("lanchat_connections"), 4.0);

    // Eve uploads 400 of 1000 bytes, then the rest.
    let eve = Owner::claim(&server, "eve").await;
    let tus = Tus {
        addr: server.addr,
        token: eve.token.trim_start_matches("token.").to_owned(),
    };
    let upload = tus.start("notes.txt", "lobby", 1000);
    assert_eq!(tus.patch(&upload, 0, &[b'x'; 400]).status, 204);
    let half = Scrape::take(server.addr, None).unwrap();
    assert_eq!(half.value("lanchat_uploads_in_progress"), 1.0);
    assert_eq!(half.value("lanchat_upload_bytes_total"), 400.0);
    assert_eq!(tus.patch(&upload, 400, &[b'y'; 600]).status, 204);
    let done = Scrape::take(server.addr, None).unwrap();
    assert_eq!(done.value("lanchat_uploads_in_progress"), 0.0);
    assert_eq!(done.value("lanchat_upload_bytes_total"), 1000.0);

    drop((ann, bob, cat, dan, eve));
    scrape_until(server.addr, "everyone has left", |s| {
        s.value("lanchat_connections") == 0.0 && s.value("lanchat_users") == 0.0
    });
}

/// A connection whose socket takes almost nothing before it stops reading
/// (a 4 KiB receive buffer), so a few large messages fill it.
fn stalled_reader(addr: SocketAddr, name: &str) -> RawSocket {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&addr.into()).unwrap();
    let (head, mut raw) = RawSocket::upgrade_on(socket.into(), addr, &format!("/ws/{name}"), &[]);
    assert_eq!(head.status, 101);
    raw.read_frame().expect("welcome");
    raw
}

/// Sends large messages from `sender` until the server has one connection
/// left: the stalled one was cut off.
async fn send_until_cut_off(server: &Server, sender: &mut Client) {
    let big = "s".repeat(3900);
    let started = Instant::now();
    for i in 0.. {
        sender.say(&big, &format!("s{i}")).await;
        sender.recv_type("message").await;
        if i % 10 == 9 && server.get("/healthz").json()["connections"] == 1 {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the stalled client was never cut off"
        );
    }
}

/// A client that stops reading is counted as a backlog cut-off under a
/// small backlog limit, and as a write stall under a short write timeout.
#[tokio::test]
async fn slow_clients_cut_off_are_counted() {
    let by_backlog =
        Server::start_with(&["--memory", "--history", "0", "--max-backlog-bytes", "65536"]);
    if Scrape::take(by_backlog.addr, None).is_none() {
        return;
    }
    let (mut sender, _, _) = Client::join(&by_backlog, "sender").await;
    let _stalled = stalled_reader(by_backlog.addr, "stalled");
    send_until_cut_off(&by_backlog, &mut sender).await;
    let scrape = Scrape::take(by_backlog.addr, None).unwrap();
    assert_eq!(scrape.value("lanchat_backlog_cutoffs_total"), 1.0);
    assert_eq!(scrape.value("lanchat_write_stalls_total"), 0.0);

    let by_timeout = Server::start_with(&[
        "--memory",
        "--history",
        "0",
        "--write-timeout",
        "1",
        "--max-backlog-bytes",
        "1000000000",
        "--max-backlog-frames",
        "1000000",
    ]);
    let (mut sender, _, _) = Client::join(&by_timeout, "sender").await;
    let _stalled = stalled_reader(by_timeout.addr, "stalled");
    send_until_cut_off(&by_timeout, &mut sender).await;
    let scrape = Scrape::take(by_timeout.addr, None).unwrap();
    assert_eq!(scrape.value("lanchat_write_stalls_total"), 1.0);
    assert_eq!(scrape.value("lanchat_backlog_cutoffs_total"), 0.0);
}

/// A second connection from an address at its cap is counted as refused;
/// every `rate_limited` refusal a flooding client hears is counted, and so
/// is the close that ends the flood.
#[tokio::test]
async fn refusals_are_counted() {
    let server = Server::start_with(&[
        "--rate-limit",
        "1",
        "--rate-burst",
        "1",
        "--max-connections-per-ip",
        "1",
    ]);
    if Scrape::take(server.addr, None).is_none() {
        return;
    }
    let (mut flooder, _, _) = Client::join(&server, "flooder").await;
    let (head, _) = RawSocket::upgrade(server.addr, "/ws/second", &[]);
    assert_eq!(head.status, 429);
    for _ in 0..40 {
        flooder
            .send_json(json!({"type":"typing","active":true}))
            .await;
    }
    let mut refusals = 0;
    let close = loop {
        match flooder.next_event().await {
            common::Event::Frame(frame) if frame["code"] == "rate_limited" => refusals += 1,
            common::Event::Frame(_) => {}
            common::Event::Closed(close) => break close,
        }
    };
    assert_eq!(u16::from(close.expect("a close frame").code), 1008);
    assert!(refusals > 0);
    let scrape = Scrape::take(server.addr, None).unwrap();
    assert_eq!(
        scrape.value("lanchat_rate_limited_total"),
        f64::from(refusals)
    );
    assert_eq!(scrape.value("lanchat_flood_closes_total"), 1.0);
    assert_eq!(scrape.value("lanchat_connections_refused_total"), 1.0);
}

/// With an access key, `/metrics` is refused without it, like `/healthz`.
#[test]
fn metrics_need_the_access_key() {
    let server = Server::start_with(&["--password", "s3cret"]);
    let refused = get_metrics(server.addr, None);
    assert_eq!(refused.status, 401);
    assert_eq!(get_metrics(server.addr, Some("wrong")).status, 401);
    assert!(!refused.text().contains("lanchat_"));
    let Some(scrape) = Scrape::take(server.addr, Some("s3cret")) else {
        return;
    };
    assert_eq!(scrape.value("lanchat_connections"), 0.0);
}

/// `--metrics-bind` serves `/metrics` (still behind the key) on its own
/// address, printed in the banner, and only there: the chat's port answers
/// 404, and the metrics address serves nothing else.
#[test]
fn metrics_bind_serves_them_on_their_own_address() {
    let server = Server::start_with(&["--metrics-bind", "127.0.0.1:0", "--password", "k"]);
    let url = server
        .banner
        .lines()
        .find_map(|line| line.trim().strip_prefix("Metrics:"))
        .unwrap_or_else(|| panic!("no Metrics: line in\n{}", server.banner))
        .trim()
        .to_owned();
    let metrics: SocketAddr = url
        .strip_prefix("http://")
        .and_then(|rest| rest.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("{url} is not a metrics URL"))
        .parse()
        .unwrap();
    assert_ne!(metrics.port(), server.addr.port());
    assert_eq!(get_metrics(server.addr, Some("k")).status, 404);
    assert_eq!(get_metrics(metrics, None).status, 401);
    let healthz = http_request(
        metrics,
        &format!(
            "GET /healthz HTTP/1.1\r\nHost: {metrics}\r\nAuthorization: Bearer k\r\n\
             Connection: close\r\n\r\n"
        ),
    );
    assert_eq!(healthz.status, 404);
    let Some(scrape) = Scrape::take(metrics, Some("k")) else {
        return;
    };
    assert_eq!(scrape.value("lanchat_connections"), 0.0);
}

/// With `--tls`, `/metrics` is served over HTTPS beside the chat; the
/// plain port sends it there (307) like every other path, so neither the
/// figures nor the key cross the network in clear.
#[test]
fn with_tls_metrics_are_served_over_https() {
    let server = Server::start_with(&["--tls", "--memory"]);
    let ca = common::tls::fetch_ca(&server);
    let response = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(common::tls::https_get(server.addr, "/metrics", &[ca]));
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let trust = server.trust_addr.expect("a trust port");
    let plain = get_metrics(trust, None);
    assert_eq!(plain.status, 307);
    let to = format!("https://127.0.0.1:{}/metrics", server.addr.port());
    assert_eq!(plain.header("location"), Some(to.as_str()));
    assert!(!plain.text().contains("lanchat_"), "{}", plain.text());
    let Some(scrape) = Scrape::parse(&response.text()) else {
        return;
    };
    assert_eq!(scrape.value("lanchat_connections"), 0.0);
}

/// A `--metrics-bind` address that is busy, or not an address, is one
/// clear line and a non-zero exit.
#[test]
fn bad_metrics_bind_is_refused() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap().to_string();
    let dir = tempfile::TempDir::new().unwrap();
    for (bind, says) in [
        (busy.as_str(), "cannot listen for --metrics-bind"),
        ("localhost", "--metrics-bind"),
    ] {
        let output = Command::new(common::binary())
            .args(["--port", "0", "--bind", "127.0.0.1", "--memory"])
            .args(["--metrics-bind", bind])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{bind} was accepted");
        assert!(stderr.starts_with("lanchat: "), "{bind}: {stderr}");
        assert!(stderr.contains(says), "{bind}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one clear line: {stderr}");
    }
}

/// With two instances on PostgreSQL, the one that hears of a message said
/// on the other counts the notice, and the store's pool waits are timed.
#[tokio::test]
async fn postgres_notices_and_pool_waits_are_counted() {
    let Some(cluster) = Cluster::shared("postgres_notices_and_pool_waits_are_counted") else {
        return;
    };
    let url = cluster.create_database();
    let a = Server::start_with(&["--postgres", &url]);
    let b = Server::start_with(&["--postgres", &url]);
    let Some(before) = Scrape::take(b.addr, None) else {
        return;
    };
    let (mut ann, _, _) = Client::join(&a, "ann").await;
    let (mut bob, _, _) = Client::join(&b, "bob").await;
    ann.say("across", "x1").await;
    let heard = bob.recv_type("message").await;
    assert_eq!(heard["message"], "across");
    let after = scrape_until(b.addr, "b counts a notice", |s| {
        s.value("lanchat_postgres_notices_total") > before.value("lanchat_postgres_notices_total")
    });
    assert!(after.value("lanchat_postgres_pool_wait_seconds_count") >= 1.0);
    let on_a = Scrape::take(a.addr, None).unwrap();
    assert!(on_a.value("lanchat_postgres_pool_wait_seconds_count") >= 1.0);
    assert_eq!(on_a.value("lanchat_messages_received_total"), 1.0);
}
