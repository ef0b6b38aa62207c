//! The least a broadcast to N clients can cost on this machine's loopback:
//! one small WebSocket text frame written to each of N connected sockets
//! with plain blocking writes, from one thread and then from one per core,
//! with nothing reading meanwhile; then from one thread while another reads
//! each frame back in the same order (no polling, so still cheaper than any
//! real client), timed until the last frame is read. The fan-out bench's
//! 10k-client latency is read against this.
//!
//! `cargo bench --bench loopback_floor [-- N]` (default 9,000 sockets, as
//! both ends count against the 20,000 open files a process may have here).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

const ROUNDS: usize = 5;
/// A ~150-byte chat frame, as lanchat sends it: FIN + text, 16-bit length.
const PAYLOAD: usize = 150;

fn main() -> std::io::Result<()> {
    let sockets: usize = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(9_000);
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let mut readers = Vec::with_capacity(sockets);
    let mut writers = Vec::with_capacity(sockets);
    for _ in 0..sockets {
        let reader = TcpStream::connect(addr)?;
        let (writer, _) = listener.accept()?;
        writer.set_nodelay(true)?;
        readers.push(reader);
        writers.push(writer);
    }
    let mut frame = vec![0x81, 126];
    frame.extend_from_slice(&(PAYLOAD as u16).to_be_bytes());
    frame.resize(frame.len() + PAYLOAD, b'x');
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "{sockets} loopback sockets, {}-byte frames, {cores} cores",
        frame.len()
    );
    for threads in [1, cores] {
        let best = (0..ROUNDS)
            .map(|_| broadcast(&mut writers, &frame, threads))
            .collect::<std::io::Result<Vec<_>>>()?
            .into_iter()
            .min()
            .expect("at least one round");
        println!(
            "{threads} thread(s): best of {ROUNDS}: {:.1} ms for {sockets} writes, {:.2} µs each, {:.1} ms per 10k",
            best.as_secs_f64() * 1e3,
            best.as_secs_f64() * 1e6 / sockets as f64,
            best.as_secs_f64() * 1e3 * 10_000.0 / sockets as f64,
        );
    }
    for reader in readers.iter_mut() {
        drain(reader, 2 * ROUNDS * frame.len())?;
    }
    let best = (0..ROUNDS)
        .map(|_| broadcast_and_read(&mut writers, &mut readers, &frame))
        .collect::<std::io::Result<Vec<_>>>()?
        .into_iter()
        .min()
        .expect("at least one round");
    println!(
        "1 writer + 1 reader thread: best of {ROUNDS}: {:.1} ms until the last of {sockets} frames is read, {:.1} ms per 10k",
        best.as_secs_f64() * 1e3,
        best.as_secs_f64() * 1e3 * 10_000.0 / sockets as f64,
    );
    Ok(())
}

/// Writes `frame` to every socket on this thread while another thread
/// reads each one back, in the same order; returns when the last is read.
fn broadcast_and_read(
    writers: &mut [TcpStream],
    readers: &mut [TcpStream],
    frame: &[u8],
) -> std::io::Result<Duration> {
    let started = Instant::now();
    std::thread::scope(|scope| {
        let reading = scope.spawn(|| readers.iter_mut().try_for_each(|r| drain(r, frame.len())));
        writers.iter_mut().try_for_each(|w| w.write_all(frame))?;
        reading.join().expect("reader thread panicked")
    })?;
    Ok(started.elapsed())
}

fn drain(reader: &mut TcpStream, bytes: usize) -> std::io::Result<()> {
    let mut buf = vec![0; bytes];
    reader.read_exact(&mut buf)
}

/// Writes `frame` once to every socket, split across `threads`.
fn broadcast(writers: &mut [TcpStream], frame: &[u8], threads: usize) -> std::io::Result<Duration> {
    let chunk = writers.len().div_ceil(threads);
    let started = Instant::now();
    std::thread::scope(|scope| {
        let handles: Vec<_> = writers
            .chunks_mut(chunk)
            .map(|part| scope.spawn(move || part.iter_mut().try_for_each(|w| w.write_all(frame))))
            .collect();
        handles
            .into_iter()
            .try_for_each(|handle| handle.join().expect("writer thread panicked"))
    })?;
    Ok(started.elapsed())
}
