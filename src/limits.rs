//! Admission and rate limits: how many may connect, and how fast they may
//! talk.
//!
//! A [`Gate`] counts WebSocket connections in total and per address and
//! refuses new ones past either cap, before the upgrade. A [`RateLimiter`]
//! keeps one token bucket per username, so reconnecting or opening more tabs
//! does not buy a fresh allowance; each session also keeps its own bucket, so
//! renaming does not either.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use warp::http::StatusCode;

/// A token bucket: `rate` tokens a second, holding at most `burst`.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The refill rate and size of a bucket. A rate of 0 means no limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

impl Rate {
    pub fn is_unlimited(&self) -> bool {
        self.per_second <= 0.0
    }
}

impl Bucket {
    pub fn full(rate: Rate, now: Instant) -> Bucket {
        Bucket {
            tokens: rate.burst,
            updated: now,
        }
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, rate: Rate, now: Instant) -> bool {
        if rate.is_unlimited() {
            return true;
        }
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate.per_second).min(rate.burst);
        self.updated = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// How long until this bucket holds a whole token again.
    pub fn wait(&self, rate: Rate, now: Instant) -> Duration {
        if rate.is_unlimited() {
            return Duration::ZERO;
        }
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        let tokens = (self.tokens + elapsed * rate.per_second).min(rate.burst);
        Duration::from_secs_f64(((1.0 - tokens) / rate.per_second).max(0.0))
    }

    fn is_full(&self, rate: Rate, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens + elapsed * rate.per_second >= rate.burst
    }
}

/// Buckets per username, shared by every connection.
pub struct RateLimiter {
    rate: Rate,
    /// Held only to look up and update one bucket.
    users: Mutex<HashMap<String, Bucket>>,
}

/// Above this many remembered names, full buckets (which carry no state a
/// fresh one would not) are forgotten.
const PRUNE_ABOVE: usize = 4096;

impl RateLimiter {
    pub fn new(rate: Rate) -> Self {
        RateLimiter {
            rate,
            users: Mutex::new(HashMap::new()),
        }
    }

    pub fn rate(&self) -> Rate {
        self.rate
    }

    /// Takes a token from `username`'s bucket, or says how long until
    /// there is one.
    pub fn allow(&self, username: &str, now: Instant) -> Result<(), Duration> {
        if self.rate.is_unlimited() {
            return Ok(());
        }
        let mut users = lock(&self.users);
        if users.len() > PRUNE_ABOVE {
            let rate = self.rate;
            users.retain(|_, bucket| !bucket.is_full(rate, now));
        }
        let bucket = users
            .entry(username.to_lowercase())
            .or_insert_with(|| Bucket::full(self.rate, now));
        if bucket.take(self.rate, now) {
            Ok(())
        } else {
            Err(bucket.wait(self.rate, now))
        }
    }
}

/// Why a connection was refused before the upgrade.
#[derive(Debug)]
pub struct Full {
    pub status: StatusCode,
    pub reason: String,
}

/// Counts WebSocket connections against the caps. 0 means no cap.
#[derive(Debug)]
pub struct Gate {
    max_total: usize,
    max_per_ip: usize,
    /// Held only to bump or drop a count.
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// A place in the gate, given back when dropped.
#[derive(Debug)]
pub struct Admission {
    gate: Arc<Gate>,
    ip: Option<IpAddr>,
}

impl Gate {
    pub fn new(max_total: usize, max_per_ip: usize) -> Arc<Gate> {
        Arc::new(Gate {
            max_total,
            max_per_ip,
            counts: Mutex::new(Counts::default()),
        })
    }

    /// Admits a connection from `ip` if both caps allow it.
    pub fn admit(self: &Arc<Self>, ip: Option<IpAddr>) -> Result<Admission, Full> {
        let mut counts = lock(&self.counts);
        if self.max_total > 0 && counts.total >= self.max_total {
            return Err(Full {
                status: StatusCode::SERVICE_UNAVAILABLE,
                reason: format!(
                    "the server is full ({} connections); try again later",
                    self.max_total
                ),
            });
        }
        if let Some(ip) = ip {
            let from_ip = counts.per_ip.entry(ip).or_insert(0);
            if self.max_per_ip > 0 && *from_ip >= self.max_per_ip {
                return Err(Full {
                    status: StatusCode::TOO_MANY_REQUESTS,
                    reason: format!(
                        "too many connections from {ip} (limit {}); close some tabs",
                        self.max_per_ip
                    ),
                });
            }
            *from_ip += 1;
        }
        counts.total += 1;
        Ok(Admission {
            gate: self.clone(),
            ip,
        })
    }

    #[cfg(test)]
    fn total(&self) -> usize {
        lock(&self.counts).total
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut counts = lock(&self.gate.counts);
        counts.total -= 1;
        if let Some(ip) = self.ip
            && let Some(count) = counts.per_ip.get_mut(&ip)
        {
            *count -= 1;
            if *count == 0 {
                counts.per_ip.remove(&ip);
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Each critical section leaves the counts consistent.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The connection cap that fits this process's open-file limit, leaving room
/// for the database, the listener and plain HTTP requests.
pub fn default_max_connections() -> usize {
    const RESERVED: u64 = 256;
    let limit = open_file_limit().unwrap_or(1024);
    limit.saturating_sub(RESERVED).max(16) as usize
}

#[cfg(target_os = "linux")]
fn open_file_limit() -> Option<u64> {
    // "Max open files  <soft>  <hard>  files"
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

#[cfg(not(target_os = "linux"))]
fn open_file_limit() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIVE_A_SECOND: Rate = Rate {
        per_second: 5.0,
        burst: 10.0,
    };

    #[test]
    fn bucket_allows_a_burst_then_the_rate() {
        let start = Instant::now();
        let mut bucket = Bucket::full(FIVE_A_SECOND, start);
        assert_eq!(
            (0..20)
                .filter(|_| bucket.take(FIVE_A_SECOND, start))
                .count(),
            10
        );
        let later = start + Duration::from_secs(1);
        assert_eq!(
            (0..20)
                .filter(|_| bucket.take(FIVE_A_SECOND, later))
                .count(),
            5
        );
        let unlimited = Rate {
            per_second: 0.0,
            burst: 0.0,
        };
        assert!((0..1000).all(|_| bucket.take(unlimited, later)));
    }

    #[test]
    fn limiter_is_per_name_and_ignores_case() {
        let limiter = RateLimiter::new(FIVE_A_SECOND);
        let now = Instant::now();
        let allowed = (0..20).filter(|_| limiter.allow("Alice", now).is_ok());
        assert_eq!(allowed.count(), 10);
        let wait = limiter
            .allow("alice", now)
            .expect_err("same user, other case");
        assert_eq!(wait.as_millis(), 200, "one token at 5/s");
        assert!(limiter.allow("bob", now).is_ok());
    }

    #[test]
    fn gate_caps_total_and_per_ip_and_frees_on_drop() {
        let gate = Gate::new(3, 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = gate.admit(Some(a)).unwrap();
        let _second = gate.admit(Some(a)).unwrap();
        assert_eq!(
            gate.admit(Some(a)).unwrap_err().status,
            StatusCode::TOO_MANY_REQUESTS
        );
        let _third = gate.admit(Some(b)).unwrap();
        assert_eq!(
            gate.admit(Some(b)).unwrap_err().status,
            StatusCode::SERVICE_UNAVAILABLE
        );
        drop(first);
        let _again = gate.admit(Some(a)).expect("a place was freed");
        assert_eq!(gate.total(), 3);
    }

    #[test]
    fn default_cap_stays_below_the_file_limit() {
        let cap = default_max_connections();
        if let Some(limit) = open_file_limit() {
            assert!((cap as u64) < limit);
        }
        assert!(cap >= 16);
    }
}
