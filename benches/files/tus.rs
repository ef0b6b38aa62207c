//! lanchat as a tus client sees it: an owned name's token, claimed over the
//! WebSocket, and a tus 1.0 upload streamed from [`Content`] in PATCHes of
//! a chosen size, plus the download of the finished file.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::content::Content;
use crate::http::{self, Connection};

const TUS: (&str, &str) = ("Tus-Resumable", "1.0.0");
/// Frames read while waiting for `welcome`.
const FRAMES_BEFORE_WELCOME: usize = 100;

/// Claims `name` (free, in a fresh server) and returns its token, from the
/// `welcome` frame of a WebSocket that offers `lanchat, claim`. The
/// connection is closed again: uploads need only the token.
pub async fn claim(addr: SocketAddr, name: &str) -> anyhow::Result<String> {
    let mut request = format!("ws://{addr}/ws/{name}").into_client_request()?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("lanchat, claim"),
    );
    let tcp = TcpStream::connect(addr).await?;
    let (mut ws, _) = tokio_tungstenite::client_async(request, tcp)
        .await
        .context("the WebSocket handshake failed")?;
    for _ in 0..FRAMES_BEFORE_WELCOME {
        let Some(frame) = ws.next().await else { break };
        let Message::Text(text) = frame? else {
            continue;
        };
        let frame: serde_json::Value = serde_json::from_str(&text)?;
        if frame["type"] == "welcome" {
            let token = frame["token"]
                .as_str()
                .with_context(|| format!("{name}: welcome without a token: {text}"))?;
            let _ = ws.close(None).await;
            return Ok(token.to_owned());
        }
    }
    bail!("{name}: no welcome frame")
}

/// An owned name's credentials for the file routes.
#[derive(Clone)]
pub struct Uploader {
    pub addr: SocketAddr,
    pub token: String,
}

/// How an upload is sent.
#[derive(Debug, Clone, Copy)]
pub struct Plan<'a> {
    /// Bytes per PATCH.
    pub patch: u64,
    /// At most this many bytes per second, if set: a LAN's speed rather
    /// than loopback's.
    pub pace: Option<f64>,
    /// Stop early, giving the upload up (DELETE), once this is set.
    pub stop: Option<&'a AtomicBool>,
    /// Every byte written to the socket is counted here too.
    pub written: Option<&'a AtomicU64>,
}

impl Plan<'_> {
    /// As fast as it goes, `patch` bytes per PATCH.
    pub fn patches(patch: u64) -> Plan<'static> {
        Plan {
            patch,
            pace: None,
            stop: None,
            written: None,
        }
    }
}

/// How far an upload got.
#[derive(Debug, Clone, Copy)]
pub struct Sent {
    /// The offset the server acknowledged last.
    pub acknowledged: u64,
    pub complete: bool,
}

impl Uploader {
    fn headers(&self) -> Vec<(&'static str, String)> {
        vec![
            (TUS.0, TUS.1.to_owned()),
            ("Lanchat-Token", self.token.clone()),
        ]
    }

    /// Uploads `size` bytes of `content` as `name` on one connection, as
    /// `plan` says; returns the file's id and how far it got.
    pub async fn upload(
        &self,
        content: &Content,
        name: &str,
        size: u64,
        plan: &Plan<'_>,
    ) -> anyhow::Result<(String, Sent)> {
        let mut conn = Connection::open(self.addr).await?;
        let mut headers = self.headers();
        headers.push(("Upload-Length", size.to_string()));
        let filename = base64::engine::general_purpose::STANDARD.encode(name);
        headers.push(("Upload-Metadata", format!("filename {filename}")));
        let created = conn.request("POST", "/api/uploads", &headers, b"").await?;
        if created.head.status != 201 {
            bail!(
                "POST /api/uploads: {} {}",
                created.head.status,
                created.text.trim()
            );
        }
        let location = created
            .head
            .header("location")
            .context("201 without a Location")?
            .to_owned();
        let id = location.rsplit('/').next().unwrap_or_default().to_owned();
        let stopped = || plan.stop.is_some_and(|stop| stop.load(Ordering::Relaxed));
        let started = Instant::now();
        let mut sent = Sent {
            acknowledged: 0,
            complete: size == 0,
        };
        while sent.acknowledged < size {
            let (start, end) = (
                sent.acknowledged,
                (sent.acknowledged + plan.patch).min(size),
            );
            let mut headers = self.headers();
            headers.push(("Upload-Offset", start.to_string()));
            headers.push(("Content-Type", "application/offset+octet-stream".to_owned()));
            headers.push(("Content-Length", (end - start).to_string()));
            conn.send_head("PATCH", &location, &headers).await?;
            let mut at = start;
            for slice in content.slices(start, end) {
                if stopped() {
                    // Breaking the body off, then giving the upload up,
                    // so it counts against no limit.
                    drop(conn);
                    self.cancel(&location).await?;
                    return Ok((id, sent));
                }
                if let Some(rate) = plan.pace {
                    let due = started + Duration::from_secs_f64(at as f64 / rate);
                    tokio::time::sleep_until(due.into()).await;
                }
                conn.write(slice).await?;
                at += slice.len() as u64;
                if let Some(written) = plan.written {
                    written.fetch_add(slice.len() as u64, Ordering::Relaxed);
                }
            }
            let answer = conn.response(false).await?;
            let offset = answer
                .head
                .header("upload-offset")
                .and_then(|o| o.parse().ok());
            if answer.head.status != 204 || offset != Some(end) {
                bail!(
                    "PATCH at {start}: {} (Upload-Offset {offset:?}, expected {end}) {}",
                    answer.head.status,
                    answer.text.trim()
                );
            }
            sent.acknowledged = end;
        }
        sent.complete = true;
        Ok((id, sent))
    }

    /// DELETEs an unfinished upload.
    async fn cancel(&self, location: &str) -> anyhow::Result<()> {
        let mut conn = Connection::open(self.addr).await?;
        let answer = conn
            .request("DELETE", location, &self.headers(), b"")
            .await?;
        if answer.head.status != 204 {
            bail!(
                "DELETE {location}: {} {}",
                answer.head.status,
                answer.text.trim()
            );
        }
        Ok(())
    }

    /// Downloads a shared file, counting its bytes.
    pub async fn download(&self, id: &str, name: &str) -> anyhow::Result<http::Response> {
        let token = [("Lanchat-Token", self.token.clone())];
        http::get(self.addr, &format!("/files/{id}/{name}"), &token).await
    }
}
