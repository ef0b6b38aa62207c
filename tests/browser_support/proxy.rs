//! A TCP proxy between the browser and the server that counts every byte
//! the browser sends, and can hold the upload to a given bandwidth, like a
//! slow Wi-Fi link. The resume tests measure with it: a file that resumes
//! is sent about once, one that starts over is sent again. It can also
//! refuse new connections for a while, as a network that is down.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Bytes forwarded at a time; the bandwidth is kept at this grain.
const PIECE: usize = 16 * 1024;

pub struct Proxy {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

struct Shared {
    upstream: SocketAddr,
    /// Bytes from the browser to the server, on every connection.
    sent: AtomicU64,
    /// Bytes per second from the browser, all connections together; 0: no limit.
    rate: AtomicU64,
    /// When the next piece may go, under the rate.
    next_slot: Mutex<Instant>,
    /// New connections are closed at once, as if the server were unreachable.
    refusing: AtomicBool,
    /// Connections refused so far.
    refused: AtomicU64,
    stop: AtomicBool,
}

impl Proxy {
    /// Listens on 127.0.0.1 and forwards each connection to `upstream`.
    pub fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let shared = Arc::new(Shared {
            upstream,
            sent: AtomicU64::new(0),
            rate: AtomicU64::new(0),
            next_slot: Mutex::new(Instant::now()),
            refusing: AtomicBool::new(false),
            refused: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let accepting = Arc::clone(&shared);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if accepting.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                if accepting.refusing.load(Ordering::SeqCst) {
                    accepting.refused.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
                let shared = Arc::clone(&accepting);
                std::thread::spawn(move || serve(client, &shared));
            }
        });
        Proxy { addr, shared }
    }

    /// The page's address through the proxy.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Bytes the browser sent so far, headers and WebSocket frames included.
    pub fn bytes_up(&self) -> u64 {
        self.shared.sent.load(Ordering::SeqCst)
    }

    /// Closes every new connection at once while `refusing` (the ones open
    /// stay open).
    pub fn set_refusing(&self, refusing: bool) {
        self.shared.refusing.store(refusing, Ordering::SeqCst);
    }

    /// How many connections were refused so far.
    pub fn refused(&self) -> u64 {
        self.shared.refused.load(Ordering::SeqCst)
    }

    /// Holds the browser's sending to `bytes_per_second` (0: as fast as it goes).
    pub fn set_rate(&self, bytes_per_second: u64) {
        self.shared.rate.store(bytes_per_second, Ordering::SeqCst);
        *self.shared.next_slot.lock().unwrap() = Instant::now();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees `stop`.
        let _ = TcpStream::connect(self.addr);
    }
}

/// One connection: both directions until either side closes. A server
/// that is down closes the browser's connection at once, as a real one
/// would refuse it.
fn serve(client: TcpStream, shared: &Arc<Shared>) {
    let Ok(server) = TcpStream::connect(shared.upstream) else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (Ok(client_reader), Ok(server_writer)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let up = Arc::clone(shared);
    let upward = std::thread::spawn(move || pipe(client_reader, server_writer, Some(&up)));
    pipe(server, client, None);
    let _ = upward.join();
}

/// Copies `from` to `to` until `from` ends, then closes `to` for writing.
/// Counted (and held to the rate) when `shared` is given.
fn pipe(mut from: TcpStream, mut to: TcpStream, shared: Option<&Shared>) {
    let mut buffer = vec![0u8; PIECE];
    loop {
        let read = match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        if let Some(shared) = shared {
            shared.wait_for_slot(read);
            shared.sent.fetch_add(read as u64, Ordering::SeqCst);
        }
        if to.write_all(&buffer[..read]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}

impl Shared {
    /// Waits until `bytes` more may go under the rate: the link's speed,
    /// not a wait for an event.
    fn wait_for_slot(&self, bytes: usize) {
        let rate = self.rate.load(Ordering::SeqCst);
        if rate == 0 {
            return;
        }
        let slot = {
            let mut next = self.next_slot.lock().unwrap();
            let now = Instant::now();
            let start = (*next).max(now);
            *next = start + Duration::from_secs_f64(bytes as f64 / rate as f64);
            start
        };
        let now = Instant::now();
        if slot > now {
            std::thread::sleep(slot - now);
        }
    }
}
