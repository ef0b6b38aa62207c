//! The stock warp design, as a peer: the shape the design card gives and
//! warp's own chat example has, written for the bench. Each client gets one
//! task reading its socket, one task writing it, and one unbounded channel
//! between them; the channels' senders live in an `Arc<Mutex<HashMap>>`.
//! Every text frame a client sends goes, unchanged, to every client (the
//! sender too, so the generator times it as it times lanchat); nothing is
//! kept. warp's own `ws()` filter does the handshake, with its default
//! buffers.
//!
//! It runs as a child process of the bench binary (`fanout serve-warp`), so
//! its CPU and memory are read from `/proc` apart from the generator's.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use warp::Filter;
use warp::ws::{Message, WebSocket};

/// Every connected client's queue, by id.
type Clients = Arc<Mutex<HashMap<usize, mpsc::UnboundedSender<Message>>>>;

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// Serves `/chat` on an ephemeral loopback port until killed; prints
/// "listening on PORT" once it accepts connections.
pub fn serve() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        println!("listening on {}", listener.local_addr()?.port());
        let clients = Clients::default();
        let clients = warp::any().map(move || clients.clone());
        let chat = warp::path("chat").and(warp::ws()).and(clients).map(
            |ws: warp::ws::Ws, clients: Clients| {
                ws.on_upgrade(move |socket| connected(socket, clients))
            },
        );
        warp::serve(chat).incoming(listener).run().await;
        Ok(())
    })
}

/// One client, from its upgrade until it goes.
async fn connected(socket: WebSocket, clients: Clients) {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let (mut sink, mut stream) = socket.split();
    let (queue, mut queued) = mpsc::unbounded_channel::<Message>();
    // The writer: everything queued goes out, flushed when the queue is
    // empty for a moment (what `forward` does in warp's example).
    tokio::spawn(async move {
        let mut queued = futures_util::stream::poll_fn(move |cx| queued.poll_recv(cx)).map(Ok);
        let _ = sink.send_all(&mut queued).await;
    });
    // A first frame tells the client it is registered, like lanchat's
    // welcome and the ws peer's hello.
    let _ = queue.send(Message::text(r#"{"type":"hello"}"#));
    clients.lock().unwrap().insert(id, queue);
    while let Some(Ok(message)) = stream.next().await {
        if !message.is_text() {
            continue;
        }
        for client in clients.lock().unwrap().values() {
            let _ = client.send(message.clone());
        }
    }
    clients.lock().unwrap().remove(&id);
}
