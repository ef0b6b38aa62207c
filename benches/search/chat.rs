//! The bench's chat clients: owners who write a room's history through the
//! WebSocket, as people do, and a searcher who times its searches. The rich
//! bench's people use them too: to edit, delete, react and resume.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// No single answer should take anywhere near this.
const WAIT: Duration = Duration::from_secs(60);

/// A connection as an owned name.
pub struct Owner {
    ws: Ws,
    pub token: String,
    /// Bytes of text frames read so far.
    pub received: usize,
}

/// What a connection got before it was ready.
#[allow(dead_code)] // the rich bench reads them
pub struct Arrival {
    pub welcome: Value,
    /// The lobby's `history` frame: the newest page, or with `since` the
    /// resume.
    pub history: Value,
}

impl Owner {
    /// Claims `name`, or comes back with `token`; reads past `welcome` and
    /// the lobby's history.
    pub async fn connect(
        addr: SocketAddr,
        name: &str,
        token: Option<&str>,
    ) -> anyhow::Result<Owner> {
        Ok(Self::arrive(addr, name, token, None).await?.0)
    }

    /// As [`Owner::connect`], resuming the lobby from `since` if given, and
    /// returns the `welcome` and `history` frames too.
    pub async fn arrive(
        addr: SocketAddr,
        name: &str,
        token: Option<&str>,
        since: Option<u64>,
    ) -> anyhow::Result<(Owner, Arrival)> {
        let query = since.map_or(String::new(), |seq| format!("?since={seq}"));
        let mut request = format!("ws://{addr}/ws/{name}{query}").into_client_request()?;
        let credential = match token {
            Some(token) => format!("token.{token}"),
            None => "claim".to_owned(),
        };
        request.headers_mut().insert(
            "sec-websocket-protocol",
            format!("lanchat, {credential}").parse()?,
        );
        let (ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .with_context(|| format!("cannot connect as {name}"))?;
        let mut owner = Owner {
            ws,
            token: token.unwrap_or_default().to_owned(),
            received: 0,
        };
        let welcome = owner.until("welcome").await?;
        if let Some(token) = welcome["token"].as_str() {
            owner.token = token.to_owned();
        }
        let history = owner.until("history").await?;
        Ok((owner, Arrival { welcome, history }))
    }

    async fn send(&mut self, frame: &Value) -> anyhow::Result<()> {
        self.ws.send(WsMessage::text(frame.to_string())).await?;
        Ok(())
    }

    /// The next text frame.
    async fn next(&mut self) -> anyhow::Result<Value> {
        Ok(serde_json::from_str(&self.next_text().await?)?)
    }

    /// The next text frame, as it came.
    pub async fn next_text(&mut self) -> anyhow::Result<String> {
        loop {
            let item = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .context("the server went quiet")?;
            match item {
                Some(Ok(WsMessage::Text(text))) => {
                    self.received += text.len();
                    return Ok(text.as_str().to_owned());
                }
                Some(Ok(WsMessage::Close(close))) => bail!("closed: {close:?}"),
                Some(Ok(_)) => continue,
                Some(Err(err)) => return Err(err.into()),
                None => bail!("the connection ended"),
            }
        }
    }

    /// Skips frames until one of `kind`; an `error` fails.
    async fn until(&mut self, kind: &str) -> anyhow::Result<Value> {
        loop {
            let frame = self.next().await?;
            if frame["type"] == kind {
                return Ok(frame);
            }
            if frame["type"] == "error" {
                bail!("refused: {frame}");
            }
        }
    }

    /// Sends `frame` and returns the first answer of type `kind`.
    #[allow(dead_code)] // used by the rich bench
    pub async fn ask(&mut self, frame: &Value, kind: &str) -> anyhow::Result<Value> {
        self.send(frame).await?;
        self.until(kind).await
    }

    /// Sends `frame`, which has a `cid`, and returns the server's answer
    /// to it: the broadcast of the change, the sender's copy.
    #[allow(dead_code)] // used by the rich bench
    pub async fn act(&mut self, frame: &Value) -> anyhow::Result<Value> {
        self.send(frame).await?;
        loop {
            let answer = self.next().await?;
            if answer["cid"] == frame["cid"] {
                if answer["type"] == "error" {
                    bail!("refused: {answer} for {frame}");
                }
                return Ok(answer);
            }
        }
    }

    /// Creates room `room` (or joins it if it exists).
    pub async fn enter(&mut self, room: &str) -> anyhow::Result<()> {
        self.send(&json!({"type":"create_room","room":room}))
            .await?;
        let answer = loop {
            let frame = self.next().await?;
            if frame["type"] == "room" || frame["type"] == "error" {
                break frame;
            }
        };
        if answer["type"] == "error" {
            self.send(&json!({"type":"join_room","room":room})).await?;
            self.until("room").await?;
        }
        Ok(())
    }

    /// Sends `texts` to `room`, keeping up to `window` unacknowledged, and
    /// returns when the last is acknowledged (stored).
    pub async fn write(
        &mut self,
        room: &str,
        texts: &[String],
        window: usize,
    ) -> anyhow::Result<()> {
        let frames: Vec<String> = texts
            .iter()
            .enumerate()
            .map(|(i, text)| {
                json!({"type":"message","room":room,"message":text,"cid":i.to_string()}).to_string()
            })
            .collect();
        let (mut sent, mut acked) = (0, 0);
        while acked < frames.len() {
            while sent < frames.len() && sent - acked < window {
                self.ws.feed(WsMessage::text(frames[sent].clone())).await?;
                sent += 1;
            }
            self.ws.flush().await?;
            let frame = self.next().await?;
            match frame["type"].as_str() {
                Some("message") if frame["cid"].is_string() => acked += 1,
                Some("error") => bail!("refused: {frame}"),
                _ => {}
            }
        }
        Ok(())
    }

    /// Runs one search; returns how long the answer took and the answer.
    pub async fn search(&mut self, query: &str) -> anyhow::Result<(Duration, Value)> {
        let frame = json!({"type":"search","query":query,"limit":20});
        let started = Instant::now();
        self.send(&frame).await?;
        loop {
            let answer = self.next().await?;
            if answer["type"] == "search_results" || answer["type"] == "error" {
                return Ok((started.elapsed(), answer));
            }
        }
    }
}
