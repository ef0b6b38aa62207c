//! The chat beside a call: lobby messages among 20 clients, 100 a second,
//! each carrying the time it was sent; the p99 of the time to every
//! recipient.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::client_async;
use tokio_tungstenite::tungstenite::Message;

const CLIENTS: usize = 20;
const SENDERS: usize = 5;
const RATE: f64 = 100.0;

/// How long a client may take to connect and have its history.
const CONNECT: Duration = Duration::from_secs(20);

/// The p99 delivery time in ms over `duration` of sending, by clients
/// named `chat-<tag>-<n>`.
pub async fn p99(server: SocketAddr, duration: Duration, tag: &str) -> anyhow::Result<f64> {
    let start = Arc::new(Instant::now());
    let mut sockets = Vec::new();
    for index in 0..CLIENTS {
        let stream = TcpStream::connect(server).await?;
        stream.set_nodelay(true)?;
        let url = format!("ws://{server}/ws/chat-{tag}-{index}");
        let (mut ws, _) = tokio::time::timeout(CONNECT, client_async(url, stream))
            .await
            .context("no upgrade for a chat client")??;
        // Welcome, then history.
        let deadline = tokio::time::Instant::now() + CONNECT;
        loop {
            let Ok(Some(Ok(Message::Text(text)))) =
                tokio::time::timeout_at(deadline, ws.next()).await
            else {
                anyhow::bail!("no history for a chat client in {CONNECT:?}");
            };
            if text.contains("\"type\":\"history\"") {
                break;
            }
        }
        sockets.push(ws);
    }
    let mut readers = Vec::new();
    let mut writers = Vec::new();
    for (index, ws) in sockets.into_iter().enumerate() {
        let (write, mut read) = ws.split();
        if index < SENDERS {
            writers.push(write);
        }
        let start = start.clone();
        readers.push(tokio::spawn(async move {
            let mut delays = Vec::new();
            while let Some(Ok(message)) = read.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let Ok(frame) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                if frame["type"] != "message" {
                    continue;
                }
                let Some(sent) = frame["message"]
                    .as_str()
                    .and_then(|m| m.strip_prefix("t="))
                    .and_then(|t| t.parse::<u64>().ok())
                else {
                    continue;
                };
                if sent == u64::MAX {
                    break;
                }
                let now = start.elapsed().as_micros() as u64;
                delays.push(now.saturating_sub(sent));
            }
            delays
        }));
    }
    let gap = Duration::from_secs_f64(SENDERS as f64 / RATE);
    let mut tick = tokio::time::interval(gap);
    let until = Instant::now() + duration;
    let mut count = 0u64;
    while Instant::now() < until {
        tick.tick().await;
        for write in &mut writers {
            count += 1;
            let text = format!("t={}", start.elapsed().as_micros());
            write
                .send(Message::text(
                    json!({"type": "message", "message": text, "cid": format!("c{count}")})
                        .to_string(),
                ))
                .await?;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The last word: every reader stops at it.
    writers[0]
        .send(Message::text(
            json!({"type": "message", "message": format!("t={}", u64::MAX), "cid": "end"})
                .to_string(),
        ))
        .await?;
    let mut delays = Vec::new();
    for reader in readers {
        delays.extend(tokio::time::timeout(Duration::from_secs(10), reader).await??);
    }
    delays.sort_unstable();
    let at = ((delays.len() as f64 - 1.0) * 0.99) as usize;
    Ok(delays.get(at).copied().unwrap_or(0) as f64 / 1000.0)
}
