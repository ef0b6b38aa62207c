//! Every close is heard: when the server closes a connection that is still
//! sending, the client gets the close frame (and the frames before it) and a
//! clean end of stream, never a TCP reset that would throw them away.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::raw::{CLOSE, Ending, RawSocket, TEXT, masked_frame};
use common::{Server, WAIT};
use serde_json::json;

/// What a well-behaved client does on a close frame: answers it and stops
/// sending. Returns how the server's side then ended.
fn answer_close(socket: &mut RawSocket, code: u16) -> Ending {
    let _ = socket.write(&masked_frame(CLOSE, true, &code.to_be_bytes()));
    let _ = socket.stream.shutdown(std::net::Shutdown::Write);
    socket.ending()
}

fn message(i: usize) -> Vec<u8> {
    let text = json!({"type":"message","message":format!("m{i}"),"cid":format!("c{i}")});
    masked_frame(TEXT, true, text.to_string().as_bytes())
}

/// A flood past the rate limit: the refusals, their `retry_after_ms` and the
/// 1008 close all arrive, and the connection ends with FIN.
#[test]
fn a_flood_hears_its_refusals_and_1008() {
    let server = Server::start_with(&["--rate-limit", "5", "--rate-burst", "10"]);
    let mut socket = RawSocket::join(server.addr, "flooder");
    let burst: Vec<u8> = (0..60).flat_map(message).collect();
    socket.write(&burst).unwrap();
    let (frames, code) = socket.read_until_close();
    assert_eq!(code, Some(1008), "after {} frames", frames.len());
    let refusals: Vec<_> = frames
        .iter()
        .filter(|f| f["code"] == "rate_limited")
        .collect();
    assert!(refusals.len() >= 20, "{} refusals", refusals.len());
    assert!(
        refusals
            .iter()
            .all(|f| f["retry_after_ms"].as_u64().is_some_and(|ms| ms <= 200)),
        "{refusals:?}"
    );
    assert_eq!(answer_close(&mut socket, 1008), Ending::Fin);
}

/// A 70 KiB frame, over the 64 KiB limit: refused from its header with 1009,
/// while its body is still arriving.
#[test]
fn an_oversized_frame_hears_1009() {
    let server = Server::start();
    let mut socket = RawSocket::join(server.addr, "sender");
    socket
        .write(&masked_frame(TEXT, true, &vec![b'a'; 70 * 1024]))
        .unwrap();
    assert_eq!(socket.close_code(), Some(1009));
    assert_eq!(answer_close(&mut socket, 1009), Ending::Fin);
}

/// Shutdown while a client is sending as fast as it can: 1001, then FIN.
#[test]
fn shutdown_while_sending_hears_1001() {
    let mut server = Server::start();
    let mut socket = RawSocket::join(server.addr, "busy");
    let mut writer = socket.stream.try_clone().unwrap();
    let closed = Arc::new(AtomicBool::new(false));
    let sending = std::thread::spawn({
        let closed = closed.clone();
        move || {
            use std::io::Write;
            let started = Instant::now();
            for i in 0..100_000 {
                if closed.load(Ordering::Relaxed)
                    || started.elapsed() > WAIT
                    || writer.write_all(&message(i)).is_err()
                {
                    return i;
                }
            }
            100_000
        }
    });
    // The server is busy with what we send.
    let first = socket.read_frame().unwrap();
    assert_eq!(first.json()["type"], "message");
    common::signal(server.pid(), "TERM");
    let code = socket.close_code();
    closed.store(true, Ordering::Relaxed);
    let sent = sending.join().unwrap();
    assert_eq!(code, Some(1001), "after sending {sent} frames");
    assert_eq!(answer_close(&mut socket, 1001), Ending::Fin);
    assert!(server.wait_exit().success());
}

/// A client that never answers our close frame still gets FIN, within the
/// drain period, not a reset and not a connection left open.
#[test]
fn a_client_that_never_answers_still_gets_fin() {
    let server = Server::start();
    let mut socket = RawSocket::join(server.addr, "mute");
    socket
        .write(&masked_frame(TEXT, true, &vec![b'a'; 70 * 1024]))
        .unwrap();
    assert_eq!(socket.close_code(), Some(1009));
    socket
        .stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    assert_eq!(socket.ending(), Ending::Fin);
}
