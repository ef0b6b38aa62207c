//! Shared test helpers: start the real `lanchat` binary on an ephemeral port,
//! connect real WebSocket clients, and read JSON frames with a timeout.
#![allow(dead_code)] // each test crate uses a different part of this file

pub mod host;
pub mod interop;
pub mod netns;
pub mod nginx;
pub mod owner;
pub mod postgres;
pub mod raw;
pub mod static_build;
pub mod tls;
pub mod tmpfs;
pub mod tus;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tempfile::TempDir;
use tokio::net::TcpStream as AsyncTcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for anything before it fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// Runs statements on the history `db` holds, or stands for under
/// `LANCHAT_TEST_BACKEND=postgres` (its PostgreSQL database), to change
/// what a client cannot, such as a message's age. The server must be
/// stopped.
pub fn alter_history(db: &Path, sql: &str) {
    if postgres::scenarios_on_postgres() {
        postgres::psql_for(db, sql);
    } else {
        let conn = rusqlite::Connection::open(db).expect("open the history file");
        conn.execute_batch(sql).expect("change the history");
    }
}

/// A running `lanchat` process. Killed when dropped.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    /// The URL the server printed as "Local:" (`https://` with `--tls`).
    pub url: String,
    /// With `--tls`: the plain port's address (the trust page).
    pub trust_addr: Option<SocketAddr>,
    /// Everything printed on stdout up to and including the URLs.
    pub banner: String,
    /// Holds the database unless the test gave its own path.
    pub dir: PathBuf,
    _temp: Option<TempDir>,
}

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_lanchat")
}

impl Server {
    /// Starts the server with a fresh database in a temp folder.
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    /// Starts the server with a fresh database and extra flags.
    pub fn start_with(extra: &[&str]) -> Server {
        let temp = TempDir::new().expect("temp dir");
        let db = temp.path().join("lanchat.db");
        let mut server = Server::start_on_db(&db, extra);
        server._temp = Some(temp);
        server
    }

    /// Starts the server on the given history file (kept by the caller), or
    /// in memory if `extra` says `--memory`.
    /// Tests send faster than people type, so the rate limit is off unless
    /// `extra` sets it. With `LANCHAT_TEST_BACKEND=postgres` the history is
    /// a PostgreSQL database that stands for the file (see
    /// [`postgres::database_for`]), so the same scenarios run on it.
    pub fn start_on_db(db: &Path, extra: &[&str]) -> Server {
        let mut args = vec!["--port", "0", "--bind", "127.0.0.1", "--no-qr"];
        let database;
        if extra.contains(&"--memory") || extra.contains(&"--postgres") {
        } else if postgres::scenarios_on_postgres() {
            database = postgres::database_for(db);
            args.extend_from_slice(&["--postgres", &database]);
        } else {
            args.extend_from_slice(&["--db", db.to_str().expect("utf-8 path")]);
        }
        if !extra.contains(&"--rate-limit") {
            args.extend_from_slice(&["--rate-limit", "0"]);
        }
        args.extend_from_slice(extra);
        Server::spawn(&args, db.parent().expect("db has a folder"))
    }

    /// Starts the binary with exactly `args`, in `cwd`, and waits for its
    /// "Local:" line.
    pub fn spawn(args: &[&str], cwd: &Path) -> Server {
        Server::spawn_program(binary(), args, cwd)
    }

    /// Starts `program` (the binary, or a wrapper that runs it, like `ip
    /// netns exec NS lanchat`) with `args`, and waits for its "Local:" line.
    pub fn spawn_program(program: &str, args: &[&str], cwd: &Path) -> Server {
        let mut command = Command::new(program);
        command.args(args).current_dir(cwd);
        Server::launch(command, cwd)
    }

    /// Like [`Server::spawn`], logging everything (`lanchat=debug`) to
    /// the file `log`, for a test that reads what the server logs.
    pub fn spawn_logged(args: &[&str], cwd: &Path, log: &Path) -> Server {
        let file = std::fs::File::create(log).expect("create the log file");
        let mut command = Command::new(binary());
        command.args(args).current_dir(cwd);
        Server::launch_with(command, cwd, "warn,lanchat=debug", Stdio::from(file))
    }

    /// Runs `command` (lanchat, however it is started: another build, in a
    /// chroot...) and waits for its "Local:" line. `dir` is its folder.
    pub fn launch(command: Command, dir: &Path) -> Server {
        let log = std::env::var("LANCHAT_TEST_LOG").unwrap_or_else(|_| "warn".into());
        Server::launch_with(command, dir, &log, Stdio::inherit())
    }

    fn launch_with(mut command: Command, dir: &Path, rust_log: &str, stderr: Stdio) -> Server {
        let mut child = command
            .env("RUST_LOG", rust_log)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start lanchat");
        let stdout = child.stdout.take().expect("stdout");
        let (lines_tx, lines_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + WAIT;
        let mut banner = String::new();
        let url = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match lines_rx.recv_timeout(left) {
                Ok(line) => line,
                Err(_) => {
                    let _ = child.kill();
                    panic!("lanchat printed no Local: URL; it printed:\n{banner}");
                }
            };
            banner.push_str(&line);
            banner.push('\n');
            if let Some(url) = line.trim().strip_prefix("Local:") {
                // The URL, without the key's fragment or a remark after it.
                let url = url.split_whitespace().next().unwrap_or_default();
                break url.split('#').next().unwrap_or_default().to_owned();
            }
        };
        // Keep the banner's remaining lines (Network, History, the QR code
        // and what it carries) too.
        while let Ok(line) = lines_rx.recv_timeout(Duration::from_millis(100)) {
            banner.push_str(&line);
            banner.push('\n');
            if line.trim().starts_with("Press Ctrl-C") {
                break;
            }
        }
        let addr: SocketAddr = url
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .expect("Local: URL has a socket address");
        // "Trust:   http://ip:port/ (…)" or, with a brought certificate,
        // "Plain:   port N redirects…": the plain port's address.
        let trust_addr = banner.lines().find_map(|line| {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("Trust:") {
                let url = rest.split_whitespace().next()?;
                let host_port = url.trim_start_matches("http://").trim_end_matches('/');
                let port: u16 = host_port.rsplit(':').next()?.parse().ok()?;
                Some(SocketAddr::new(addr.ip(), port))
            } else {
                let rest = line.strip_prefix("Plain:")?.trim().strip_prefix("port ")?;
                let port: u16 = rest.split_whitespace().next()?.parse().ok()?;
                Some(SocketAddr::new(addr.ip(), port))
            }
        });
        Server {
            child,
            addr,
            url,
            trust_addr,
            banner,
            dir: dir.to_owned(),
            _temp: None,
        }
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}/ws/{path}", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the exit status, up to `WAIT`.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        signal(self.pid(), "TERM");
        self.wait_exit()
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "lanchat did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// GET `path` and return (status, headers lowercased, body).
    pub fn get(&self, path: &str) -> HttpResponse {
        http_get(self.addr, path)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success());
}

pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

/// A minimal HTTP/1.1 GET, so the tests need no HTTP client crate.
pub fn http_get(addr: SocketAddr, path: &str) -> HttpResponse {
    http_request(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
}

/// Sends `raw` and parses the response (which must close the connection).
pub fn http_request(addr: SocketAddr, raw: &str) -> HttpResponse {
    http_send(addr, raw, &[])
}

/// Sends a request's `head` (ending in a blank line) and `body`, and parses
/// the response (which must close the connection).
pub fn http_send(addr: SocketAddr, head: &str, body: &[u8]) -> HttpResponse {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    // A server may answer from the head alone (413 from `Content-Length`)
    // and close before the body is all sent: the answer is what counts.
    if let Err(err) = stream.write_all(body) {
        assert!(
            matches!(
                err.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            ),
            "sending the body: {err}"
        );
    }
    let mut bytes = Vec::new();
    if let Err(err) = stream.read_to_end(&mut bytes) {
        assert!(
            err.kind() == std::io::ErrorKind::ConnectionReset && !bytes.is_empty(),
            "reading the response: {err}"
        );
    }
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = raw::Head::parse(&String::from_utf8_lossy(&bytes[..split]));
    HttpResponse {
        status: head.status,
        headers: head.headers,
        body: bytes[split + 4..].to_vec(),
    }
}

/// A WebSocket client speaking the lanchat protocol.
pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<AsyncTcpStream>>,
}

impl Client {
    /// Connects to `/ws/<path>` (path may carry `?since=`).
    pub async fn connect(server: &Server, path: &str) -> Client {
        let (ws, _) =
            tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(server.ws_url(path)))
                .await
                .expect("connect timed out")
                .expect("websocket connect");
        Client { ws }
    }

    /// Connects to `/ws/<path>` at `addr` (a proxy, say) from the local
    /// address `from`; the handshake's error if it is refused.
    pub async fn connect_from(
        addr: SocketAddr,
        path: &str,
        from: std::net::IpAddr,
    ) -> Result<Client, tokio_tungstenite::tungstenite::Error> {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(from, 0))?;
        let stream = socket.connect(addr).await?;
        let url = format!("ws://{addr}/ws/{path}");
        let connecting = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream));
        let (ws, _) = tokio::time::timeout(WAIT, connecting)
            .await
            .expect("connect timed out")?;
        Ok(Client { ws })
    }

    /// Connects offering subprotocols (`lanchat` is always offered first).
    pub async fn connect_offering(server: &Server, path: &str, protocols: &[&str]) -> Client {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = server.ws_url(path).into_client_request().expect("request");
        let offered = std::iter::once("lanchat")
            .chain(protocols.iter().copied())
            .collect::<Vec<_>>()
            .join(", ");
        request.headers_mut().insert(
            "sec-websocket-protocol",
            offered.parse().expect("header value"),
        );
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
            .await
            .expect("connect timed out")
            .expect("websocket connect");
        Client { ws }
    }

    /// Connects and consumes `welcome` and the first `history`, returning both.
    pub async fn join(server: &Server, name: &str) -> (Client, Value, Value) {
        let mut client = Client::connect(server, name).await;
        let welcome = client.recv_type("welcome").await;
        let history = client.recv_type("history").await;
        (client, welcome, history)
    }

    pub async fn send_json(&mut self, value: Value) {
        self.ws
            .send(Message::text(value.to_string()))
            .await
            .expect("send");
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.ws.send(message).await.expect("send");
    }

    pub async fn say(&mut self, text: &str, cid: &str) {
        self.send_json(serde_json::json!({"type":"message","message":text,"cid":cid}))
            .await;
    }

    /// The next text frame as JSON. Panics on timeout or close.
    pub async fn recv(&mut self) -> Value {
        match self.next_event().await {
            Event::Frame(value) => value,
            Event::Closed(frame) => panic!("connection closed: {frame:?}"),
        }
    }

    /// Skips frames until one of type `kind` arrives.
    pub async fn recv_type(&mut self, kind: &str) -> Value {
        loop {
            let value = self.recv().await;
            if value["type"] == kind {
                return value;
            }
        }
    }

    /// The next text frame or the close.
    pub async fn next_event(&mut self) -> Event {
        loop {
            let item = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("timed out waiting for a frame");
            match item {
                Some(Ok(Message::Text(text))) => {
                    return Event::Frame(serde_json::from_str(&text).expect("server sent JSON"));
                }
                Some(Ok(Message::Close(frame))) => return Event::Closed(frame),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Event::Closed(None),
            }
        }
    }

    /// Reads until the server closes, returning the close frame.
    pub async fn expect_close(&mut self) -> Option<CloseFrame> {
        loop {
            if let Event::Closed(frame) = self.next_event().await {
                return frame;
            }
        }
    }

    /// Every frame the server queued for this client before it read a
    /// `ping` of ours, up to the `pong`. A barrier: once whatever a test
    /// waits on has happened (its sender was answered), anything it caused
    /// for this client is in here, so "X never arrived" needs no quiet
    /// period.
    pub async fn caught_up(&mut self) -> Vec<Value> {
        self.send_json(serde_json::json!({"type":"ping"})).await;
        let mut seen = Vec::new();
        loop {
            let frame = self.recv().await;
            if frame["type"] == "pong" {
                return seen;
            }
            seen.push(frame);
        }
    }
}

pub enum Event {
    Frame(Value),
    Closed(Option<CloseFrame>),
}

/// Polls `condition` until it holds, failing the test after `WAIT`.
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// The server process's resident memory (KiB) and open file count.
pub fn process_usage(pid: u32) -> (u64, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
    (rss, fds)
}

/// Whether `program` can be run here. If not, the test named `test` is
/// skipped with a notice, unless the variable `require` is set (as in CI),
/// which fails it.
pub fn have_command(program: &str, require: &str, test: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()));
    if !found {
        let required = std::env::var_os(require).is_some_and(|v| !v.is_empty() && v != "0");
        assert!(!required, "{require} is set but {program} is not installed");
        eprintln!("SKIPPED {test}: {program} is not installed");
    }
    found
}

/// Waits (up to `WAIT`) for a file another process writes, and returns
/// what it holds. The writer should move it into place whole.
pub fn wait_for_file(path: &Path) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
