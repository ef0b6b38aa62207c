//! How fast one connection may talk, and when it is not a person any more.
//!
//! Every frame takes a token from the connection's frame bucket; every
//! message (and rename) also takes one from the connection's message bucket
//! and from its user's, shared by all the user's tabs (see
//! [`crate::limits::RateLimiter`]). A refusal says how long to wait. A
//! connection refused too often in a short time is closed.

use std::time::{Duration, Instant};

use crate::limits::{Bucket, Rate, RateLimiter};

/// Frames of any kind (typing, paging, bad frames) a connection may send,
/// as a multiple of the message rate: room for a person, not for a flood.
const FRAMES_PER_MESSAGE: f64 = 4.0;
/// Refusals for rate within `STRIKE_WINDOW` after which a connection is
/// closed: it is not a person typing fast.
const MAX_STRIKES: u32 = 20;
const STRIKE_WINDOW: Duration = Duration::from_secs(10);

pub struct Flood {
    /// This connection's own message allowance, on top of its user's, so a
    /// rename does not buy a fresh one.
    messages: Bucket,
    frames: Bucket,
    /// Rate refusals since `strikes_since`.
    strikes: u32,
    strikes_since: Instant,
}

impl Flood {
    pub fn new(rate: Rate, now: Instant) -> Flood {
        Flood {
            messages: Bucket::full(rate, now),
            frames: Bucket::full(frame_rate(rate), now),
            strikes: 0,
            strikes_since: now,
        }
    }

    /// Takes a token for any frame, or says how long until there is one.
    pub fn allow_frame(&mut self, rate: Rate, now: Instant) -> Result<(), Duration> {
        let rate = frame_rate(rate);
        if self.frames.take(rate, now) {
            Ok(())
        } else {
            Err(self.frames.wait(rate, now))
        }
    }

    /// Takes a message token from this connection and from `username`'s
    /// bucket, or says how long until both have one.
    pub fn allow_message(
        &mut self,
        limiter: &RateLimiter,
        username: &str,
        now: Instant,
    ) -> Result<(), Duration> {
        let rate = limiter.rate();
        if !self.messages.take(rate, now) {
            return Err(self.messages.wait(rate, now));
        }
        limiter.allow(username, now)
    }

    /// Counts one refusal for rate; true once they come too often.
    pub fn strike(&mut self, now: Instant) -> bool {
        if now.duration_since(self.strikes_since) > STRIKE_WINDOW {
            self.strikes = 0;
            self.strikes_since = now;
        }
        self.strikes += 1;
        self.strikes > MAX_STRIKES
    }
}

fn frame_rate(message_rate: Rate) -> Rate {
    Rate {
        per_second: message_rate.per_second * FRAMES_PER_MESSAGE,
        burst: message_rate.burst * FRAMES_PER_MESSAGE,
    }
}
