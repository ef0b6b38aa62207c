//! A small W3C WebDriver client for the browser tests: starts Debian's
//! `chromedriver`, opens headless Chromium sessions, and speaks JSON over
//! plain HTTP/1.1 with the standard library. It covers only what the tests
//! use: navigate, run a script, type, click, screenshot, and a Chrome DevTools
//! command for emulating a phone or dark mode.
#![allow(dead_code)] // not every test uses every command

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use tempfile::TempDir;

/// How long a page gets to reach an expected state. Generous: the machine
/// may be busy with other builds.
pub const PAGE_WAIT: Duration = Duration::from_secs(30);

/// WebDriver's key codes.
pub const ENTER: &str = "\u{E007}";
pub const SHIFT: &str = "\u{E008}";
pub const BACKSPACE: &str = "\u{E003}";
pub const ESCAPE: &str = "\u{E00C}";
pub const ARROW_LEFT: &str = "\u{E012}";
pub const ARROW_UP: &str = "\u{E013}";
pub const ARROW_RIGHT: &str = "\u{E014}";
pub const ARROW_DOWN: &str = "\u{E015}";

/// The key W3C WebDriver uses for an element reference in JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Flags for a quiet, reproducible headless Chromium.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-dev-shm-usage",
    "--force-device-scale-factor=1",
    "--lang=en-US",
    "--window-size=1280,800",
];

/// A running `chromedriver`. Sessions opened from it are closed before it is
/// stopped, as long as each `Page` is dropped first (declare it later).
pub struct Chrome {
    child: Child,
    port: u16,
    chromium: PathBuf,
}

impl Chrome {
    /// Starts chromedriver, or returns `None` after a loud message when the
    /// browser is not installed. With `LANCHAT_REQUIRE_BROWSER=1` (as in CI)
    /// a missing browser fails the test instead.
    pub fn start() -> Option<Chrome> {
        Chrome::start_with_env(&[])
    }

    /// Starts chromedriver as [`Chrome::start`] does, with `env` set for it
    /// and the browsers it opens (say a `HOME` whose NSS database trusts a
    /// test's CA).
    pub fn start_with_env(env: &[(&str, &Path)]) -> Option<Chrome> {
        let found = find_program("LANCHAT_CHROMIUM", &["chromium", "chromium-browser"])
            .zip(find_program("LANCHAT_CHROMEDRIVER", &["chromedriver"]));
        let Some((chromium, chromedriver)) = found else {
            let message = "Chromium or chromedriver was not found. Install them with \
                           `apt-get install chromium chromium-driver`, or point \
                           LANCHAT_CHROMIUM and LANCHAT_CHROMEDRIVER at them.";
            if std::env::var("LANCHAT_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
                panic!("LANCHAT_REQUIRE_BROWSER=1: {message}");
            }
            // Straight to stderr, past the test harness's output capture, once.
            static SKIP_NOTICE: std::sync::Once = std::sync::Once::new();
            SKIP_NOTICE.call_once(|| {
                let line = "=".repeat(72);
                let _ = writeln!(
                    std::io::stderr(),
                    "\n{line}\nSKIPPING the browser tests. {message}\n{line}"
                );
            });
            return None;
        };
        let port = free_port();
        let child = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", chromedriver.display()));
        let chrome = Chrome {
            child,
            port,
            chromium,
        };
        let deadline = Instant::now() + PAGE_WAIT;
        loop {
            let status = request(port, "GET", "/status", None).unwrap_or_default();
            if status["ready"] == true {
                return Some(chrome);
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Opens a new browser with its own empty profile: a separate user.
    pub fn open(&self) -> Page {
        self.open_with(&[])
    }

    /// Opens a new browser as [`Chrome::open`] does, with `extra` flags.
    pub fn open_with(&self, extra: &[&str]) -> Page {
        let profile = TempDir::new().expect("profile dir");
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    // Leave a dialog open, so a test can see that one fired.
                    "unhandledPromptBehavior": "ignore",
                    "goog:chromeOptions": {
                        "binary": self.chromium,
                        "args": args,
                    }
                }
            }
        });
        let value = request(self.port, "POST", "/session", Some(&capabilities))
            .unwrap_or_else(|err| panic!("cannot open a Chromium session: {err}"));
        let id = value["sessionId"]
            .as_str()
            .expect("new session has an id")
            .to_owned();
        let page = Page {
            port: self.port,
            session: format!("/session/{id}"),
            _profile: profile,
        };
        // The window's size includes browser chrome; make the page 1280×800.
        page.set_viewport(1280, 800, false);
        // Every uncaught error of every page this browser opens, so a test
        // can tell a script that broke from one that is slow.
        page.cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": "window.pageErrors = [];
                addEventListener('error', e => window.pageErrors.push(String(e.message)));
                addEventListener('unhandledrejection', e => window.pageErrors.push(String(e.reason)));" }),
        );
        page
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session with one tab.
pub struct Page {
    port: u16,
    /// `/session/<id>`, the prefix of every command.
    session: String,
    _profile: TempDir,
}

impl Page {
    /// Sends a command; panics with WebDriver's error if it fails.
    pub fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("{}{path}", self.session);
        request(self.port, method, &path, body.as_ref())
            .unwrap_or_else(|err| panic!("WebDriver {method} {path}: {err}"))
    }

    pub fn goto(&self, url: &str) {
        self.command("POST", "/url", Some(json!({ "url": url })));
    }

    pub fn refresh(&self) {
        self.command("POST", "/refresh", Some(json!({})));
    }

    /// Runs `script` as a function body (use `return`) with `arguments`.
    pub fn eval(&self, script: &str, args: Value) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// Runs `script` as an async function body: it ends by calling the last
    /// of its `arguments` with the result (WebDriver's execute/async).
    pub fn eval_async(&self, script: &str, args: Value) -> Value {
        self.command(
            "POST",
            "/execute/async",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// Closes the current tab; switch to another before the next command.
    pub fn close_tab(&self) {
        self.command("DELETE", "/window", None);
    }

    /// Evaluates a JavaScript expression.
    pub fn js(&self, expression: &str) -> Value {
        self.eval(&format!("return ({expression});"), json!([]))
    }

    /// Polls `expression` until it is truthy and returns its value. Panics
    /// with `what` and the last value seen if that takes longer than
    /// `PAGE_WAIT`, and at once if the page's script threw.
    pub fn wait_for(&self, what: &str, expression: &str) -> Value {
        let deadline = Instant::now() + PAGE_WAIT;
        loop {
            let value = self.js(expression);
            let errors = self.js("window.pageErrors ?? []");
            assert_eq!(
                errors,
                json!([]),
                "the page's script threw while waiting for {what}"
            );
            if truthy(&value) {
                return value;
            }
            if Instant::now() >= deadline {
                let text = self.js("document.body.innerText");
                panic!(
                    "timed out waiting for {what}\n  `{expression}` was {value}\n  page text:\n{}",
                    text.as_str().unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until `expression` equals `expected`, and says what it was if not.
    pub fn wait_eq(&self, what: &str, expression: &str, expected: Value) {
        let check = format!(
            "JSON.stringify({expression}) === {}",
            json!(expected.to_string())
        );
        self.wait_for(what, &check);
    }

    /// The element matching a CSS selector.
    pub fn find(&self, css: &str) -> String {
        let value = self.command(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        );
        value[ELEMENT_KEY]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {value}"))
            .to_owned()
    }

    /// Types into an element, as keystrokes (so key handlers run).
    pub fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.command(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        );
    }

    pub fn click(&self, css: &str) {
        let element = self.find(css);
        self.command(
            "POST",
            &format!("/element/{element}/click"),
            Some(json!({})),
        );
    }

    pub fn window_handle(&self) -> String {
        let value = self.command("GET", "/window", None);
        value.as_str().expect("window handle").to_owned()
    }

    /// Opens a new tab (not switching to it) and returns its handle.
    pub fn new_tab(&self) -> String {
        let value = self.command("POST", "/window/new", Some(json!({ "type": "tab" })));
        value["handle"].as_str().expect("new tab handle").to_owned()
    }

    /// Makes `handle` the current tab, as a person clicking on it would.
    pub fn switch_to_window(&self, handle: &str) {
        self.command("POST", "/window", Some(json!({ "handle": handle })));
    }

    /// Sets a permission (`notifications`, …) for the current page's origin,
    /// as the person would in the browser's prompt (W3C Permissions'
    /// WebDriver extension).
    pub fn set_permission(&self, name: &str, state: &str) {
        self.command(
            "POST",
            "/permissions",
            Some(json!({ "descriptor": { "name": name }, "state": state })),
        );
    }

    /// The text of an open alert, confirm or prompt, if one is open.
    pub fn dialog_text(&self) -> Option<String> {
        let path = format!("{}/alert/text", self.session);
        match request(self.port, "GET", &path, None) {
            Ok(value) => Some(value.as_str().unwrap_or_default().to_owned()),
            Err(err) if err.contains("no such alert") => None,
            Err(err) => panic!("WebDriver GET {path}: {err}"),
        }
    }

    /// Runs a Chrome DevTools Protocol command through chromedriver.
    pub fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.command(
            "POST",
            "/goog/cdp/execute",
            Some(json!({ "cmd": cmd, "params": params })),
        )
    }

    /// Sets the viewport size in CSS pixels; `mobile` also emulates touch.
    pub fn set_viewport(&self, width: u32, height: u32, mobile: bool) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile }),
        );
        self.cdp(
            "Emulation.setTouchEmulationEnabled",
            json!({ "enabled": mobile, "maxTouchPoints": if mobile { 5 } else { 1 } }),
        );
    }

    /// Emulates the system colour scheme (`prefers-color-scheme: dark` or
    /// `light`), with reduced motion so screenshots never catch a transition.
    pub fn set_color_scheme(&self, scheme: &str) {
        self.cdp(
            "Emulation.setEmulatedMedia",
            json!({ "features": [
                { "name": "prefers-color-scheme", "value": scheme },
                { "name": "prefers-reduced-motion", "value": "reduce" },
            ] }),
        );
    }

    /// Saves a PNG of the viewport.
    pub fn screenshot(&self, path: &Path) {
        let value = self.command("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(value.as_str().expect("base64 screenshot"))
            .expect("valid base64");
        std::fs::create_dir_all(path.parent().expect("folder")).expect("create folder");
        std::fs::write(path, png).expect("write screenshot");
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        let _ = request(self.port, "DELETE", &self.session, None);
    }
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// An env override, else the first of `names` on the `PATH`.
fn find_program(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        let path = PathBuf::from(path);
        return path.is_file().then_some(path);
    }
    let dirs = std::env::var_os("PATH")?;
    std::env::split_paths(&dirs)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|path| path.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("free port")
        .port()
}

/// One WebDriver call: returns the response's `value`, or the error text.
fn request(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .map_err(|e| e.to_string())?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Content-Type: application/json; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body.as_bytes()))
        .map_err(|e| e.to_string())?;
    // chromedriver may keep the connection open, so read by Content-Length.
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let split = loop {
        if let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break split;
        }
        let n = stream.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed before the response headers".into());
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("response has no status")?;
    let length = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|n| n.trim().parse::<usize>().ok());
    let mut body = raw.split_off(split + 4);
    match length {
        Some(length) => {
            while body.len() < length {
                let n = stream.read(&mut buf).map_err(|e| e.to_string())?;
                if n == 0 {
                    return Err("connection closed inside the response body".into());
                }
                body.extend_from_slice(&buf[..n]);
            }
            body.truncate(length);
        }
        None => {
            stream.read_to_end(&mut body).map_err(|e| e.to_string())?;
            if head.contains("transfer-encoding: chunked") {
                body = dechunk(&body)?;
            }
        }
    }
    let json: Value = serde_json::from_slice(&body)
        .map_err(|e| format!("status {status}, body is not JSON: {e}"))?;
    let value = json.get("value").cloned().unwrap_or(Value::Null);
    if status == 200 {
        Ok(value)
    } else {
        Err(format!(
            "{} ({status}): {}",
            value["error"].as_str().unwrap_or("error"),
            value["message"].as_str().unwrap_or_default()
        ))
    }
}

fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("bad chunk")?;
        let size_text = String::from_utf8_lossy(&body[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|e| e.to_string())?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(body.get(..size).ok_or("short chunk")?);
        body = body.get(size + 2..).ok_or("short chunk")?;
    }
}
