//! Two network namespaces joined by a veth pair, made by the test, for what
//! must not touch the machine's own network (mDNS): a small LAN of two
//! hosts, 10.77.0.1 and 10.77.0.2, that disappears with the test.
//!
//! Making them needs root and iproute2's `ip`. Where that fails the tests
//! print a loud `SKIPPING` notice and pass; with `LANCHAT_REQUIRE_NETNS=1`
//! (set by `.ci/run`) they fail instead.

use std::fs::File;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// One host of the [`Lan`].
pub struct Host {
    /// The namespace's name, under `/run/netns`.
    pub namespace: String,
    /// Its address on the LAN, on interface `eth0`.
    pub addr: Ipv4Addr,
}

impl Host {
    /// A command that runs `program` inside this host's namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.namespace, program]);
        command
    }

    /// Gives this host one more address on `eth0` (`cidr`, like
    /// `10.77.0.20/24`).
    pub fn add_address(&self, cidr: &str) {
        ip(&["-n", &self.namespace, "addr", "add", cidr, "dev", "eth0"])
            .unwrap_or_else(|why| panic!("{why}"));
    }

    /// Runs `work` on a thread of its own inside this host's namespace:
    /// the sockets it opens, and the threads it starts, are this host's.
    pub fn run<T: Send>(&self, work: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{}", self.namespace);
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let namespace = File::open(&path).expect("open the namespace");
                    rustix::thread::move_into_link_name_space(
                        std::os::fd::AsFd::as_fd(&namespace),
                        Some(rustix::thread::LinkNameSpaceType::Network),
                    )
                    .expect("enter the namespace");
                    work()
                })
                .join()
                .expect("the work inside the namespace panicked")
        })
    }
}

/// Two hosts, `a` and `b`, on one link. Removed when dropped.
pub struct Lan {
    pub a: Host,
    pub b: Host,
}

impl Lan {
    /// Makes the two namespaces and the link between them, or `None`
    /// (after a loud notice) where this machine cannot.
    pub fn create(test: &str) -> Option<Lan> {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let prefix = format!(
            "lanchat-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        );
        let lan = Lan {
            a: Host {
                namespace: format!("{prefix}-a"),
                addr: Ipv4Addr::new(10, 77, 0, 1),
            },
            b: Host {
                namespace: format!("{prefix}-b"),
                addr: Ipv4Addr::new(10, 77, 0, 2),
            },
        };
        match lan.set_up() {
            Ok(()) => Some(lan),
            Err(why) => {
                let message = format!("cannot make network namespaces here: {why}");
                assert!(
                    std::env::var("LANCHAT_REQUIRE_NETNS").as_deref() != Ok("1"),
                    "LANCHAT_REQUIRE_NETNS=1: {message}"
                );
                let line = "=".repeat(72);
                eprintln!(
                    "\n{line}\nSKIPPING {test}: {message} (it needs root and iproute2)\n{line}"
                );
                None
            }
        }
    }

    fn set_up(&self) -> Result<(), String> {
        let (a, b) = (&self.a.namespace, &self.b.namespace);
        ip(&["netns", "add", a])?;
        ip(&["netns", "add", b])?;
        for host in [&self.a, &self.b] {
            // IPv4 only: the servers listen on 0.0.0.0, and the hosts
            // need no time for IPv6 address detection.
            let sysctl = host
                .command("sysctl")
                .args(["-qw", "net.ipv6.conf.all.disable_ipv6=1"])
                .arg("net.ipv6.conf.default.disable_ipv6=1")
                .status()
                .map_err(|err| format!("sysctl: {err}"))?;
            if !sysctl.success() {
                return Err(format!("sysctl in {} failed", host.namespace));
            }
        }
        ip(&[
            "-n", a, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", b,
        ])?;
        for host in [&self.a, &self.b] {
            let ns = host.namespace.as_str();
            let addr = format!("{}/24", host.addr);
            ip(&["-n", ns, "addr", "add", &addr, "dev", "eth0"])?;
            ip(&["-n", ns, "link", "set", "eth0", "up"])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        Ok(())
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        // Deleting a namespace deletes its end of the veth, and so the pair.
        for host in [&self.a, &self.b] {
            let _ = ip(&["netns", "del", &host.namespace]);
        }
    }
}

/// Runs `ip` with `args`; its complaint if it fails.
fn ip(args: &[&str]) -> Result<(), String> {
    let output = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|err| format!("cannot run ip: {err}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}
