//! A small WebDriver BiDi client for Firefox, which speaks the protocol
//! itself (`--remote-debugging-port`), so no geckodriver is needed (Debian
//! has none). It covers what `tests/browser_tls.rs` uses: open a session,
//! navigate, evaluate a script (awaiting its promise), and set a
//! permission. One JSON command at a time over a WebSocket.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long one command may take (a navigation, or the first session of a
/// Firefox starting, on a busy machine).
const COMMAND_WAIT: Duration = Duration::from_secs(120);

/// Debian's Firefox ESR, if installed (or `LANCHAT_FIREFOX`).
pub fn firefox_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("LANCHAT_FIREFOX") {
        return Some(PathBuf::from(path));
    }
    let dirs = std::env::var_os("PATH")?;
    std::env::split_paths(&dirs)
        .flat_map(|dir| ["firefox-esr", "firefox"].map(|name| dir.join(name)))
        .find(|path| path.is_file())
}

/// A headless Firefox with a profile of its own, and a BiDi session on it.
pub struct Firefox {
    child: Child,
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// The one tab's browsing context.
    pub context: String,
    _profile: TempDir,
}

impl Firefox {
    /// Starts Firefox on `profile` (made by the caller: say an NSS database
    /// that trusts a CA), and opens a session that accepts certificates it
    /// does not trust (`accept_insecure`, WebDriver's `acceptInsecureCerts`,
    /// which Firefox treats as an exception for every site) or not.
    pub async fn start(binary: &Path, profile: TempDir, accept_insecure: bool) -> Firefox {
        let mut child = Command::new(binary)
            .args(["--headless", "--no-remote", "--remote-debugging-port", "0"])
            .arg("--profile")
            .arg(profile.path())
            .env("MOZ_CRASHREPORTER_DISABLE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start Firefox");
        // It says where BiDi listens on stderr.
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.split_whitespace().find(|w| w.starts_with("ws://")) {
                    let _ = tx.send(url.to_owned());
                }
            }
        });
        let url = rx
            .recv_timeout(COMMAND_WAIT)
            .expect("Firefox said where WebDriver BiDi listens");
        let (socket, _) = tokio_tungstenite::connect_async(format!("{url}/session"))
            .await
            .expect("connect to WebDriver BiDi");
        let mut firefox = Firefox {
            child,
            socket,
            next_id: 0,
            context: String::new(),
            _profile: profile,
        };
        firefox
            .command(
                "session.new",
                json!({ "capabilities": { "alwaysMatch": { "acceptInsecureCerts": accept_insecure } } }),
            )
            .await
            .expect("a BiDi session");
        let tree = firefox
            .command("browsingContext.getTree", json!({}))
            .await
            .expect("the tabs");
        firefox.context = tree["contexts"][0]["context"]
            .as_str()
            .expect("a tab")
            .to_owned();
        firefox
    }

    /// Sends one command and returns its result, or its error as text.
    pub async fn command(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        let text = json!({ "id": id, "method": method, "params": params }).to_string();
        self.socket
            .send(Message::text(text))
            .await
            .map_err(|e| e.to_string())?;
        let answer = async {
            while let Some(message) = self.socket.next().await {
                let Ok(Message::Text(text)) = message else {
                    continue;
                };
                let value: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
                if value["id"] == id {
                    return match value["type"].as_str() {
                        Some("success") => Ok(value["result"].clone()),
                        _ => Err(format!("{}: {}", value["error"], value["message"])),
                    };
                }
            }
            Err("the BiDi socket closed".to_owned())
        };
        tokio::time::timeout(COMMAND_WAIT, answer)
            .await
            .map_err(|_| format!("{method} timed out"))?
    }

    /// Navigates the tab and waits for the page to load.
    pub async fn navigate(&mut self, url: &str) -> Result<Value, String> {
        let context = self.context.clone();
        self.command(
            "browsingContext.navigate",
            json!({ "context": context, "url": url, "wait": "complete" }),
        )
        .await
    }

    /// Evaluates `expression` in the tab, awaiting a promise; returns a
    /// string result (have the script return `JSON.stringify(…)`).
    pub async fn evaluate(&mut self, expression: &str) -> Result<String, String> {
        let context = self.context.clone();
        let result = self
            .command(
                "script.evaluate",
                json!({
                    "expression": expression,
                    "target": { "context": context },
                    "awaitPromise": true,
                    "userActivation": true,
                }),
            )
            .await?;
        match result["type"].as_str() {
            Some("success") => Ok(result["result"]["value"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| result["result"].to_string())),
            _ => Err(result["exceptionDetails"]["text"].to_string()),
        }
    }

    /// Grants or denies a permission to `origin`.
    pub async fn set_permission(&mut self, name: &str, origin: &str, state: &str) {
        self.command(
            "permissions.setPermission",
            json!({ "descriptor": { "name": name }, "state": state, "origin": origin }),
        )
        .await
        .unwrap_or_else(|err| panic!("permission {name}: {err}"));
    }
}

impl Drop for Firefox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
