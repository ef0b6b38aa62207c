//! The SFU: one thread that owns every call's WebRTC sessions and the UDP
//! sockets of the RTC port, and forwards each participant's media to the
//! others in its call.
//!
//! It runs on a thread of its own with its own single-threaded runtime, so
//! media never competes with the chat's tasks for a worker, and it shares
//! nothing with them but two channels: [`Command`]s in (bounded: a flood of
//! signalling waits at its sender, it is not queued without end) and [`SfuEvent`]s out
//! (rare: an offer for a page, a participant gone). str0m is sans-I/O: this
//! loop reads datagrams, hands each to the session it belongs to, writes
//! what the sessions want sent, and wakes them when their timers are due.
//! A receiver on a slow link loses packets at its own socket's pace; it
//! never holds up the others, and nothing here waits on a page.

use std::collections::{HashMap, VecDeque};
use std::future::poll_fn;
use std::net::SocketAddr;
use std::task::Poll;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer};
use str0m::media::{MediaData, MediaKind, Mid};
use str0m::net::{Protocol, Receive, Transmit};
use str0m::{Candidate, Input};
use tokio::io::ReadBuf;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use super::peer::{Allowed, CallId, Gone, Happened, Peer, Pid, Source};
use crate::protocol::TrackRole;

/// Signalling waiting for the SFU. A page sends a handful of commands per
/// call (an offer, an answer per change, what it sends, its leaving; its
/// trickled candidates never come here), so thirty joining at once queue
/// about a hundred. When it is full, senders wait for room.
pub const COMMAND_QUEUE: usize = 1024;
/// Largest datagram read: WebRTC keeps under the usual 1500-byte MTU.
const DATAGRAM: usize = 2048;
/// How often throttled keyframe requests and unconnected peers are looked
/// at, at least.
const HOUSEKEEPING: Duration = Duration::from_millis(250);

/// What the signalling side asks of the SFU.
pub enum Command {
    /// A page's offer: a new peer (or a new offer from one), answered on
    /// `reply`.
    Offer {
        pid: Pid,
        call: CallId,
        offer: SdpOffer,
        roles: HashMap<Mid, TrackRole>,
        allowed: Allowed,
        reply: oneshot::Sender<Result<SdpAnswer, String>>,
    },
    /// A page's answer to our offer.
    Answer {
        pid: Pid,
        answer: SdpAnswer,
    },
    /// What of the peer's media may be forwarded now.
    Allow {
        pid: Pid,
        allowed: Allowed,
    },
    Leave {
        pid: Pid,
    },
}

/// What the SFU tells the signalling side.
#[derive(Debug)]
pub enum SfuEvent {
    /// An offer for the page of `pid`.
    Offer { pid: Pid, sdp: String },
    /// The peer is gone, on its own.
    Gone { pid: Pid, why: Gone },
}

/// The SFU's state, owned by its thread.
pub struct Sfu {
    sockets: Vec<UdpSocket>,
    /// Each socket's own address, which str0m needs as a datagram's
    /// destination.
    local: Vec<SocketAddr>,
    candidates: Vec<Candidate>,
    peers: HashMap<Pid, Peer>,
    /// Which peer a remote address belongs to, once a datagram from it was
    /// accepted.
    routes: HashMap<SocketAddr, Pid>,
    /// Datagrams to send, in order.
    outbox: VecDeque<Transmit>,
    events: mpsc::UnboundedSender<SfuEvent>,
}

impl Sfu {
    /// The SFU over `sockets` (bound, non-blocking, inside a runtime).
    pub fn new(
        sockets: Vec<UdpSocket>,
        events: mpsc::UnboundedSender<SfuEvent>,
    ) -> std::io::Result<Sfu> {
        let local = sockets
            .iter()
            .map(UdpSocket::local_addr)
            .collect::<std::io::Result<Vec<_>>>()?;
        let candidates = local
            .iter()
            .filter_map(|addr| Candidate::host(*addr, "udp").ok())
            .collect();
        Ok(Sfu {
            sockets,
            local,
            candidates,
            peers: HashMap::new(),
            routes: HashMap::new(),
            outbox: VecDeque::new(),
            events,
        })
    }

    /// Serves until every command sender is gone (the server stopped).
    pub async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut buf = vec![0u8; DATAGRAM];
        let mut housekeeping = Instant::now() + HOUSEKEEPING;
        loop {
            self.flush().await;
            let deadline = self.next_timeout().min(housekeeping);
            let woke = {
                let sockets = &self.sockets;
                let received = recv_any(sockets, &mut buf);
                tokio::select! {
                    command = commands.recv() => Woke::Command(command),
                    received = received => Woke::Datagram(received),
                    _ = tokio::time::sleep_until(deadline.into()) => Woke::Timer,
                }
            };
            let now = Instant::now();
            match woke {
                Woke::Command(None) => break,
                Woke::Command(Some(command)) => self.command(command, now),
                Woke::Datagram(Some((len, source, socket))) => {
                    let destination = self.local[socket];
                    self.receive(&buf[..len], source, destination, now);
                }
                Woke::Datagram(None) => {}
                Woke::Timer => {}
            }
            self.wake_due(now);
            if now >= housekeeping {
                for peer in self.peers.values_mut() {
                    peer.flush_keyframes(now);
                }
                let pids: Vec<Pid> = self.peers.keys().copied().collect();
                self.poll(&pids, now);
                housekeeping = now + HOUSEKEEPING;
            }
        }
        log::debug!("the SFU stopped");
    }

    fn command(&mut self, command: Command, now: Instant) {
        match command {
            Command::Offer {
                pid,
                call,
                offer,
                roles,
                allowed,
                reply,
            } => {
                let answer = self.offer(pid, call, offer, roles, allowed, now);
                let _ = reply.send(answer.map_err(|err| err.to_string()));
                self.poll(&[pid], now);
            }
            Command::Answer { pid, answer } => {
                let Some(peer) = self.peers.get_mut(&pid) else {
                    return;
                };
                match peer.accept_answer(answer) {
                    Ok(opened) => self.keyframes_for(&opened, now),
                    Err(err) => log::debug!("call peer {pid}: bad answer: {err}"),
                }
                self.poll(&[pid], now);
            }
            Command::Allow { pid, allowed } => {
                if let Some(peer) = self.peers.get_mut(&pid) {
                    peer.allowed = allowed;
                }
            }
            Command::Leave { pid } => self.remove(pid),
        }
    }

    fn offer(
        &mut self,
        pid: Pid,
        call: CallId,
        offer: SdpOffer,
        roles: HashMap<Mid, TrackRole>,
        allowed: Allowed,
        now: Instant,
    ) -> Result<SdpAnswer, str0m::RtcError> {
        if let Some(peer) = self.peers.get_mut(&pid) {
            return peer.rtc.sdp_api().accept_offer(offer);
        }
        let (mut peer, answer) =
            Peer::accept(pid, call, offer, roles, allowed, &self.candidates, now)?;
        // Whatever the others in the call already send.
        let sending: Vec<(Source, TrackRole, MediaKind)> = self
            .peers
            .values()
            .filter(|other| other.call == call)
            .flat_map(|other| {
                other
                    .sending
                    .iter()
                    .filter(|(_, (role, _))| other.allowed.role(*role))
                    .map(|(mid, (role, kind))| {
                        let source = Source {
                            pid: other.pid,
                            mid: *mid,
                        };
                        (source, *role, *kind)
                    })
            })
            .collect();
        peer.want(sending);
        self.peers.insert(pid, peer);
        Ok(answer)
    }

    /// Hands a datagram to the peer it belongs to.
    fn receive(&mut self, buf: &[u8], source: SocketAddr, destination: SocketAddr, now: Instant) {
        let Ok(contents) = buf.try_into() else {
            return;
        };
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source,
                destination,
                contents,
            },
        );
        let pid = match self.routes.get(&source) {
            Some(pid) if self.peers.get(pid).is_some_and(|p| p.rtc.accepts(&input)) => *pid,
            _ => {
                let Some(peer) = self.peers.values().find(|peer| peer.rtc.accepts(&input)) else {
                    return;
                };
                self.routes.insert(source, peer.pid);
                peer.pid
            }
        };
        if let Some(peer) = self.peers.get_mut(&pid)
            && let Err(err) = peer.handle_input(input)
        {
            log::debug!("call peer {pid}: {err}");
            peer.rtc.disconnect();
        }
        self.poll(&[pid], now);
    }

    /// Gives every peer whose timer is due its timeout.
    fn wake_due(&mut self, now: Instant) {
        let due: Vec<Pid> = self
            .peers
            .values()
            .filter(|peer| peer.timeout <= now || peer.connect_deadline().is_some_and(|d| d <= now))
            .map(|peer| peer.pid)
            .collect();
        for pid in &due {
            if let Some(peer) = self.peers.get_mut(pid)
                && let Err(err) = peer.handle_input(Input::Timeout(now))
            {
                log::debug!("call peer {pid}: {err}");
                peer.rtc.disconnect();
            }
        }
        self.poll(&due, now);
    }

    /// Polls `pids` (and whoever their media reaches) until all are quiet,
    /// then sends each the offer its changes need.
    fn poll(&mut self, pids: &[Pid], now: Instant) {
        let mut queue: VecDeque<Pid> = pids.iter().copied().collect();
        let mut touched: Vec<Pid> = Vec::new();
        while let Some(pid) = queue.pop_front() {
            let Some(peer) = self.peers.get_mut(&pid) else {
                continue;
            };
            let outbox = &mut self.outbox;
            let happened = peer.poll(now, &mut |datagram| outbox.push_back(datagram));
            touched.push(pid);
            for item in happened {
                match item {
                    Happened::Media(role, data) => {
                        queue.extend(self.forward(pid, role, &data));
                    }
                    Happened::Keyframe(source, kind) => {
                        if let Some(sender) = self.peers.get_mut(&source.pid) {
                            sender.request_keyframe(source.mid, kind, now);
                            queue.push_back(source.pid);
                        }
                    }
                    Happened::Gone(why) => {
                        let _ = self.events.send(SfuEvent::Gone { pid, why });
                        self.remove(pid);
                    }
                }
            }
        }
        touched.sort_unstable();
        touched.dedup();
        for pid in touched {
            self.negotiate(pid);
        }
    }

    /// Forwards media from `from` to the others in its call; returns those
    /// that were written to.
    fn forward(&mut self, from: Pid, role: TrackRole, data: &MediaData) -> Vec<Pid> {
        let Some(call) = self.peers.get(&from).map(|peer| peer.call) else {
            return Vec::new();
        };
        let source = Source {
            pid: from,
            mid: data.mid,
        };
        let mut written = Vec::new();
        for peer in self.peers.values_mut() {
            if peer.call != call || peer.pid == from {
                continue;
            }
            if peer.forward(source, role, data) {
                written.push(peer.pid);
            }
        }
        written
    }

    /// Asks the senders of newly opened video tracks for keyframes, so
    /// their new viewers see a picture at once.
    fn keyframes_for(&mut self, sources: &[Source], now: Instant) {
        for source in sources {
            if let Some(sender) = self.peers.get_mut(&source.pid) {
                sender.request_keyframe(source.mid, str0m::media::KeyframeRequestKind::Fir, now);
            }
        }
        let senders: Vec<Pid> = sources.iter().map(|source| source.pid).collect();
        if !senders.is_empty() {
            self.poll(&senders, now);
        }
    }

    fn negotiate(&mut self, pid: Pid) {
        let Some(peer) = self.peers.get_mut(&pid) else {
            return;
        };
        if let Some(offer) = peer.negotiate() {
            let sdp = offer.to_sdp_string();
            let _ = self.events.send(SfuEvent::Offer { pid, sdp });
        }
    }

    /// Drops a peer; the others stop receiving its tracks.
    fn remove(&mut self, pid: Pid) {
        let Some(peer) = self.peers.remove(&pid) else {
            return;
        };
        self.routes.retain(|_, routed| *routed != pid);
        let others: Vec<Pid> = self
            .peers
            .values_mut()
            .filter(|other| other.call == peer.call)
            .map(|other| {
                other.forget(pid);
                other.pid
            })
            .collect();
        for other in others {
            self.negotiate(other);
        }
    }

    fn next_timeout(&self) -> Instant {
        let far = Instant::now() + Duration::from_secs(3600);
        self.peers
            .values()
            .flat_map(|peer| [Some(peer.timeout), peer.connect_deadline()])
            .flatten()
            .min()
            .unwrap_or(far)
    }

    /// Sends what the sessions queued. A full socket buffer waits for room
    /// rather than dropping: the link out of this machine is the limit then,
    /// for everyone alike.
    async fn flush(&mut self) {
        while let Some(datagram) = self.outbox.pop_front() {
            let Some(socket) = self
                .local
                .iter()
                .position(|addr| *addr == datagram.source)
                .map(|at| &self.sockets[at])
            else {
                continue;
            };
            match socket.try_send_to(&datagram.contents, datagram.destination) {
                Ok(_) => {}
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                    let _ = socket
                        .send_to(&datagram.contents, datagram.destination)
                        .await;
                }
                // A receiver that went away (ICMP unreachable) is found out
                // by its session's timeouts.
                Err(_) => {}
            }
        }
    }
}

enum Woke {
    Command(Option<Command>),
    /// A datagram's length, its sender, and which socket it came in on.
    Datagram(Option<(usize, SocketAddr, usize)>),
    Timer,
}

/// The next datagram on any of `sockets`. An error reading (such as an ICMP
/// "unreachable" reported for an earlier send) yields `None`.
async fn recv_any(sockets: &[UdpSocket], buf: &mut [u8]) -> Option<(usize, SocketAddr, usize)> {
    poll_fn(|cx| {
        for (at, socket) in sockets.iter().enumerate() {
            let mut read = ReadBuf::new(&mut *buf);
            match socket.poll_recv_from(cx, &mut read) {
                Poll::Ready(Ok(source)) => {
                    return Poll::Ready(Some((read.filled().len(), source, at)));
                }
                Poll::Ready(Err(_)) => return Poll::Ready(None),
                Poll::Pending => {}
            }
        }
        Poll::Pending
    })
    .await
}
