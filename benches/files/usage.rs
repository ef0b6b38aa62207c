//! What a transfer cost, from `/proc`: a server's peak memory (VmHWM, reset
//! before each transfer through `clear_refs`, and VmRSS polled as a check),
//! and the CPU time the server, this generator, the kernel's own threads
//! (writeback, the journal) and everything else used meanwhile.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::target::{Usage, lanchat_binary, machine_busy_s};

/// How often VmRSS is read during a transfer.
const POLL: Duration = Duration::from_millis(10);

/// A process's memory now and at its peak since the last reset, in KiB.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    pub rss_kib: u64,
    pub hwm_kib: u64,
}

impl Memory {
    pub fn of(pid: u32) -> Option<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let field = |name: &str| -> Option<u64> {
            let line = status.lines().find_map(|line| line.strip_prefix(name))?;
            line.trim().trim_end_matches("kB").trim().parse().ok()
        };
        Some(Memory {
            rss_kib: field("VmRSS:")?,
            hwm_kib: field("VmHWM:")?,
        })
    }
}

/// Resets a process's VmHWM to its VmRSS (Linux's `clear_refs` 5).
fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// The lanchat this bench started: its child running lanchat's binary.
/// (`target::Server` keeps its `Child` to itself.)
pub fn lanchat_pid() -> Option<u32> {
    let binary = std::fs::canonicalize(lanchat_binary()).ok()?;
    let me = std::process::id();
    std::fs::read_dir("/proc").ok()?.find_map(|entry| {
        let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
        (exe == binary && parent(pid) == Some(me)).then_some(pid)
    })
}

fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 2..]
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// CPU seconds used so far by the kernel's threads (the children of
/// kthreadd, pid 2): writeback and the journal among them.
fn kernel_threads_cpu_s() -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    entries
        .filter_map(|entry| {
            let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            (pid == 2 || parent(pid) == Some(2)).then_some(())?;
            cpu_s(pid)
        })
        .sum()
}

/// A process's user and system time, in seconds (`target::Usage` wants a
/// VmRSS, which kernel threads lack).
fn cpu_s(pid: u32) -> Option<f64> {
    cpu_fields(&pid.to_string(), 2)
}

/// This generator's CPU time, with that of the children it has waited for
/// (`dd`).
fn generator_cpu_s() -> f64 {
    cpu_fields("self", 4).unwrap_or(0.0)
}

/// The sum of `count` fields of `/proc/<pid>/stat` from utime on (utime,
/// stime, cutime, cstime), in seconds.
fn cpu_fields(pid: &str, count: usize) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which may hold spaces: utime is the
    // 14th field, in clock ticks of 1/100 s.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split_whitespace().collect();
    let mut ticks = 0;
    for field in fields.get(11..11 + count)? {
        ticks += field.parse::<u64>().ok()?;
    }
    Some(ticks as f64 / 100.0)
}

/// What a transfer cost.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cost {
    /// The server's peak RSS over its RSS at the start, from VmHWM.
    pub server_growth_kib: Option<u64>,
    /// The same from VmRSS polled every [`POLL`].
    pub server_polled_growth_kib: Option<u64>,
    pub server_cpu_s: Option<f64>,
    /// This process (clients, the raw write loop) and `dd`.
    pub generator_cpu_s: f64,
    pub kernel_threads_cpu_s: f64,
    /// Everything else on the machine: the disturbance.
    pub others_cpu_s: f64,
}

/// Watches a server (or nothing, for the raw disk) while a transfer runs.
pub struct Meter {
    pid: Option<u32>,
    start: Option<Memory>,
    server: Option<Usage>,
    generator: f64,
    kernel: f64,
    busy: Option<f64>,
    polled_max: Arc<AtomicU64>,
    polling: Arc<AtomicBool>,
    poller: Option<tokio::task::JoinHandle<()>>,
}

impl Meter {
    pub fn start(pid: Option<u32>) -> Meter {
        let start = pid.and_then(|pid| {
            reset_peak(pid);
            Memory::of(pid)
        });
        let polled_max = Arc::new(AtomicU64::new(start.map_or(0, |m| m.rss_kib)));
        let polling = Arc::new(AtomicBool::new(true));
        let poller = pid.map(|pid| {
            let (max, polling) = (polled_max.clone(), polling.clone());
            tokio::spawn(async move {
                while polling.load(Ordering::Relaxed) {
                    if let Some(memory) = Memory::of(pid) {
                        max.fetch_max(memory.rss_kib, Ordering::Relaxed);
                    }
                    tokio::time::sleep(POLL).await;
                }
            })
        });
        Meter {
            pid,
            start,
            server: pid.and_then(Usage::of),
            generator: generator_cpu_s(),
            kernel: kernel_threads_cpu_s(),
            busy: machine_busy_s(),
            polled_max,
            polling,
            poller,
        }
    }

    pub async fn stop(mut self) -> Cost {
        self.polling.store(false, Ordering::Relaxed);
        if let Some(poller) = self.poller.take() {
            let _ = poller.await;
        }
        let end = self.pid.and_then(Memory::of);
        let server = self.pid.and_then(Usage::of);
        let server_cpu_s = server.zip(self.server).map(|(a, b)| a.cpu_since(&b));
        let generator_cpu_s = generator_cpu_s() - self.generator;
        let kernel_threads_cpu_s = (kernel_threads_cpu_s() - self.kernel).max(0.0);
        let busy = machine_busy_s().zip(self.busy).map_or(0.0, |(a, b)| a - b);
        let others_cpu_s =
            (busy - server_cpu_s.unwrap_or(0.0) - generator_cpu_s - kernel_threads_cpu_s).max(0.0);
        let start_rss = self.start.map(|m| m.rss_kib);
        Cost {
            server_growth_kib: end
                .zip(start_rss)
                .map(|(end, start)| end.hwm_kib.saturating_sub(start)),
            server_polled_growth_kib: start_rss.map(|start| {
                self.polled_max
                    .load(Ordering::Relaxed)
                    .saturating_sub(start)
            }),
            server_cpu_s,
            generator_cpu_s,
            kernel_threads_cpu_s,
            others_cpu_s,
        }
    }
}
