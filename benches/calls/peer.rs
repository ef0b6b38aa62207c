//! One bench participant: a lanchat user (claimed name, WebSocket
//! signalling) with a str0m WebRTC session of its own on a loopback UDP
//! socket. The presenter sends a synthetic screen share: VP8-framed frames
//! of a fixed size at a fixed rate, each carrying its number and the time it
//! was sent, so a viewer reads its delay and counts what it lost without
//! decoding anything (30 viewers fit beside the server on two cores).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, client_async};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A frame's first bytes: the VP8 frame tag's first byte (whose low bit
/// says keyframe or not, all str0m reads of it), the frame's number and when
/// it was sent (µs since the bench's start).
const STAMP: usize = 1 + 8 + 8;
/// The longest a presenter or viewer runs, whatever the bench does: every
/// loop here ends by then.
const LONGEST: Duration = Duration::from_secs(300);
/// Most outputs taken from a session in one go (a few hundred datagrams of
/// a keyframe to thirty viewers is the most it has in practice).
const MOST_OUTPUTS: usize = 100_000;

/// What a viewer saw of the share.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// (frame number, delay in µs) of each frame received, in the order
    /// they came.
    pub frames: Vec<(u64, u64)>,
}

/// The frames the presenter sent while the bench was counting: their
/// numbers, first to last, and the bytes of each.
#[derive(Debug, Clone, Copy)]
pub struct Sent {
    pub first: u64,
    pub last: u64,
    pub frame_bytes: usize,
}

/// What the presenter sends.
#[derive(Debug, Clone, Copy)]
pub struct Share {
    pub kbps: u32,
    pub fps: u32,
}

/// Claims `name` and returns the WebSocket, past `welcome` and history.
pub async fn connect(server: SocketAddr, name: &str) -> anyhow::Result<Ws> {
    let mut request = format!("ws://{server}/ws/{name}").into_client_request()?;
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "lanchat, claim".parse()?);
    let stream = TcpStream::connect(server).await?;
    stream.set_nodelay(true)?;
    let (mut ws, _) = client_async(request, MaybeTlsStream::Plain(stream)).await?;
    expect(&mut ws, "history").await?;
    Ok(ws)
}

pub async fn send(ws: &mut Ws, frame: Value) -> anyhow::Result<()> {
    ws.send(Message::text(frame.to_string())).await?;
    Ok(())
}

/// The next frame of type `kind` within 20 s; an error frame fails.
pub async fn expect(ws: &mut Ws, kind: &str) -> anyhow::Result<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let message = tokio::time::timeout_at(deadline, ws.next())
            .await
            .with_context(|| format!("no {kind} frame in 20 s"))?
            .context("the server closed")??;
        let Message::Text(text) = message else {
            continue;
        };
        let frame: Value = serde_json::from_str(&text)?;
        if frame["type"] == kind {
            return Ok(frame);
        }
        if frame["type"] == "error" {
            bail!("refused while waiting for {kind}: {frame}");
        }
    }
}

/// A client session: not ICE-lite, offering, on its own loopback socket.
fn session(socket: &UdpSocket) -> anyhow::Result<Rtc> {
    let mut rtc = Rtc::builder()
        .set_crypto_provider(crate::crypto::provider())
        .clear_codecs()
        .enable_vp8(true)
        .enable_opus(true, false)
        .build(Instant::now());
    let local = socket.local_addr()?;
    rtc.add_local_candidate(Candidate::host(local, "udp")?);
    Ok(rtc)
}

/// Joins (or starts) `room`'s call and makes the first offer: one sending
/// screen m-line for the presenter, a receive-only placeholder for a viewer.
async fn join_call(
    ws: &mut Ws,
    room: &str,
    rtc: &mut Rtc,
    presenter: bool,
) -> anyhow::Result<(Option<Mid>, SdpPendingOffer)> {
    let kind = if presenter { "call_start" } else { "call_join" };
    send(ws, json!({"type": kind, "room": room})).await?;
    expect(ws, "call_joined").await?;
    let mut change = rtc.sdp_api();
    let (mid, tracks) = if presenter {
        let mid = change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
        (Some(mid), json!({ mid.to_string(): "screen" }))
    } else {
        change.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
        (None, json!({}))
    };
    let (offer, pending) = change.apply().context("nothing to offer")?;
    send(
        ws,
        json!({"type": "call_offer", "room": room, "sdp": offer.to_sdp_string(), "tracks": tracks}),
    )
    .await?;
    if presenter {
        send(
            ws,
            json!({"type": "call_media", "room": room, "audio": false, "video": false, "screen": true}),
        )
        .await?;
    }
    Ok((mid, pending))
}

/// Runs the presenter until `stop` (or [`LONGEST`]): sends the share,
/// answers the server. `ready` hears when its call is going, so viewers can
/// join it. Returns the range of frames it sent while `counting` was set.
pub async fn present(
    server: SocketAddr,
    room: &str,
    share: Share,
    start: Instant,
    counting: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    ready: oneshot::Sender<()>,
) -> anyhow::Result<Sent> {
    let give_up = Instant::now() + LONGEST;
    let mut ws = connect(server, "presenter").await?;
    send(&mut ws, json!({"type": "create_room", "room": room})).await?;
    expect(&mut ws, "room").await?;
    let socket = UdpSocket::bind("127.0.0.1:0").await?;
    let mut rtc = session(&socket)?;
    let (mid, pending) = join_call(&mut ws, room, &mut rtc, true).await?;
    let mid = mid.expect("the presenter sends");
    let answer = expect(&mut ws, "call_answer").await?;
    rtc.sdp_api().accept_answer(
        pending,
        SdpAnswer::from_sdp_string(answer["sdp"].as_str().unwrap_or(""))?,
    )?;
    let _ = ready.send(());

    let frame_bytes = (share.kbps as usize * 1000 / 8 / share.fps as usize).max(STAMP + 1);
    let gap = Duration::from_secs_f64(1.0 / share.fps as f64);
    let mut next_frame = Instant::now();
    let mut number: u64 = 0;
    let mut keyframe_wanted = true;
    let mut last_keyframe = Instant::now();
    let (mut first_counted, mut last_counted) = (u64::MAX, 0);
    let mut buf = vec![0u8; 2048];
    while !stop.load(Ordering::Relaxed) && Instant::now() < give_up {
        let now = Instant::now();
        if now >= next_frame && rtc.is_connected() {
            number += 1;
            // A keyframe when asked, and every two seconds anyway.
            let key = keyframe_wanted || now.duration_since(last_keyframe) > Duration::from_secs(2);
            if key {
                keyframe_wanted = false;
                last_keyframe = now;
            }
            let mut frame = vec![0u8; frame_bytes];
            frame[0] = if key { 0x00 } else { 0x01 };
            frame[1..9].copy_from_slice(&number.to_be_bytes());
            let sent = start.elapsed().as_micros() as u64;
            frame[9..17].copy_from_slice(&sent.to_be_bytes());
            if let Some(writer) = rtc.writer(mid) {
                let pt = writer.payload_params().next().map(|p| p.pt());
                if let Some(pt) = pt {
                    let time = MediaTime::from_90khz(number * 90_000 / share.fps as u64);
                    writer.write(pt, now, time, frame)?;
                }
            }
            if counting.load(Ordering::Relaxed) {
                first_counted = first_counted.min(number);
                last_counted = number;
            }
            next_frame += gap;
        }
        let timeout = drive(&mut rtc, &socket, |event| {
            if matches!(event, Event::KeyframeRequest(_)) {
                keyframe_wanted = true;
            }
        })
        .await?;
        let wake = if rtc.is_connected() {
            timeout.min(next_frame)
        } else {
            timeout
        };
        tokio::select! {
            received = socket.recv_from(&mut buf) => {
                if let Ok((len, source)) = received {
                    feed(&mut rtc, &socket, &buf[..len], source)?;
                }
            }
            message = ws.next() => {
                if message.is_none() { bail!("the server closed the presenter's connection") }
            }
            _ = tokio::time::sleep_until(wake.into()) => {}
        }
    }
    if first_counted > last_counted {
        bail!("the presenter sent nothing while the bench counted");
    }
    Ok(Sent {
        first: first_counted,
        last: last_counted,
        frame_bytes,
    })
}

/// Runs a viewer until `stop` (or [`LONGEST`]): answers the server's
/// offers, and notes each frame of the share it receives. `first_frame`
/// hears when the first one came.
pub async fn watch(
    server: SocketAddr,
    room: &str,
    name: String,
    start: Instant,
    stop: Arc<AtomicBool>,
    first_frame: mpsc::UnboundedSender<String>,
) -> anyhow::Result<Seen> {
    let give_up = Instant::now() + LONGEST;
    let mut ws = connect(server, &name).await?;
    send(&mut ws, json!({"type": "join_room", "room": room})).await?;
    expect(&mut ws, "room").await?;
    let socket = UdpSocket::bind("127.0.0.1:0").await?;
    let mut rtc = session(&socket)?;
    let (_, pending) = join_call(&mut ws, room, &mut rtc, false).await?;
    let mut pending = Some(pending);
    let mut seen = Seen::default();
    let mut told = false;
    let mut buf = vec![0u8; 2048];
    while !stop.load(Ordering::Relaxed) && Instant::now() < give_up {
        let mut frames = Vec::new();
        let timeout = drive(&mut rtc, &socket, |event| {
            if let Event::MediaData(data) = event
                && data.data.len() >= STAMP
            {
                let number = u64::from_be_bytes(data.data[1..9].try_into().unwrap());
                let sent = u64::from_be_bytes(data.data[9..17].try_into().unwrap());
                frames.push((number, sent));
            }
        })
        .await?;
        let now = start.elapsed().as_micros() as u64;
        for (number, sent) in frames {
            if !told {
                told = true;
                let _ = first_frame.send(name.clone());
            }
            seen.frames.push((number, now.saturating_sub(sent)));
        }
        tokio::select! {
            received = socket.recv_from(&mut buf) => {
                if let Ok((len, source)) = received {
                    feed(&mut rtc, &socket, &buf[..len], source)?;
                }
            }
            message = ws.next() => {
                let Some(Ok(Message::Text(text))) = message else {
                    if message.is_none() { bail!("the server closed {name}'s connection") }
                    continue;
                };
                let frame: Value = serde_json::from_str(&text)?;
                match frame["type"].as_str() {
                    Some("call_answer") => {
                        let answer = SdpAnswer::from_sdp_string(frame["sdp"].as_str().unwrap_or(""))?;
                        if let Some(pending) = pending.take() {
                            rtc.sdp_api().accept_answer(pending, answer)?;
                        }
                    }
                    Some("call_offer") => {
                        let offer = SdpOffer::from_sdp_string(frame["sdp"].as_str().unwrap_or(""))?;
                        let answer = rtc.sdp_api().accept_offer(offer)?;
                        send(&mut ws, json!({"type": "call_answer", "room": room, "sdp": answer.to_sdp_string()})).await?;
                    }
                    Some("error") => bail!("{name} was refused: {frame}"),
                    _ => {}
                }
            }
            _ = tokio::time::sleep_until(timeout.into()) => {}
        }
    }
    Ok(seen)
}

/// Gives a datagram to the session and sends what it answers.
fn feed(rtc: &mut Rtc, socket: &UdpSocket, buf: &[u8], source: SocketAddr) -> anyhow::Result<()> {
    let Ok(contents) = buf.try_into() else {
        return Ok(());
    };
    let input = Input::Receive(
        Instant::now(),
        Receive {
            proto: Protocol::Udp,
            source,
            destination: socket.local_addr()?,
            contents,
        },
    );
    if rtc.accepts(&input) {
        rtc.handle_input(input)?;
    }
    Ok(())
}

/// Polls the session until it waits: sends its datagrams, hands its events
/// to `on_event`, and returns when it next needs waking. A timeout already
/// due is given at once: str0m's pacer (even the null one) releases one
/// packet per timeout, so a frame's packets would otherwise leave one per
/// turn of the caller's loop.
async fn drive(
    rtc: &mut Rtc,
    socket: &UdpSocket,
    mut on_event: impl FnMut(&Event),
) -> anyhow::Result<Instant> {
    rtc.handle_input(Input::Timeout(Instant::now()))?;
    for _ in 0..MOST_OUTPUTS {
        match rtc.poll_output()? {
            Output::Timeout(at) => {
                let now = Instant::now();
                if at > now {
                    return Ok(at);
                }
                rtc.handle_input(Input::Timeout(now))?;
            }
            Output::Transmit(datagram) => {
                let _ = socket
                    .send_to(&datagram.contents, datagram.destination)
                    .await;
            }
            Output::Event(event) => on_event(&event),
        }
    }
    bail!("a session had more than {MOST_OUTPUTS} outputs at once")
}
