//! The agentless benchmark (scripts/bench-agentless): N targets, users of
//! one loopback sshd each chrooted into one of the real roots, scanned with
//! C at a time. Prints the wall time and the CPU time the targets spent:
//! the sshd's children's user+system time (`cutime`+`cstime` of the
//! listening sshd in /proc, which collects every session's and every
//! command's time as they are reaped): key exchange, the shell, cat, rpm.
//!
//!   bench_agentless [TARGETS] [CONCURRENCY]   (needs root and sshd)

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kensa_agentless::{ScanOptions, Ssh, SshTarget};
use kensa_testkit::sshd::{RootKind, Sshd, User};

/// (own, reaped children's) user+system time of a process, from
/// /proc/PID/stat: utime, stime, cutime, cstime are its fields 14 to 17.
fn times(pid: &str) -> (Duration, Duration) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name (which may hold spaces): the
    // first is field 3.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|v| v.parse::<u64>().unwrap_or(0))
        .collect();
    let at = |field: usize| f.get(field - 3).copied().unwrap_or(0);
    let hz = rustix::param::clock_ticks_per_second() as f64;
    let d = |ticks: u64| Duration::from_secs_f64(ticks as f64 / hz);
    (d(at(14) + at(15)), d(at(16) + at(17)))
}

fn children_cpu(pid: u32) -> Duration {
    times(&pid.to_string()).1
}

/// This process's time (the collector: parsing) and its reaped children's
/// (the `ssh` clients).
fn own_cpu() -> (Duration, Duration) {
    times("self")
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    let concurrency: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let kinds = [
        RootKind::Bookworm,
        RootKind::Bullseye,
        RootKind::RpmSqlite,
        RootKind::Alpine,
    ];
    let users: Vec<User> = (0..n)
        .map(|i| User::new(&format!("b{i:03}"), kinds[i % kinds.len()]))
        .collect();
    eprintln!("bench-agentless: starting sshd with {n} users");
    let sshd = Sshd::start(&users);
    let pid = sshd.pid().expect("sshd runs");
    let kh = sshd.dir.join("known_hosts");
    std::fs::write(&kh, sshd.known_hosts_line()).expect("known_hosts");
    let mut ssh = Ssh::new(kh);
    ssh.identity = Some(sshd.client_key.clone());
    ssh.use_ssh_config = false;
    let opts = ScanOptions::default();
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let packages = AtomicUsize::new(0);
    let cpu_before = children_cpu(pid);
    let (me_before, kids_before) = own_cpu();
    let clock = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..concurrency {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(u) = users.get(i) else { break };
                    let t = SshTarget::new(&u.name, "127.0.0.1", sshd.port).expect("target");
                    match kensa_agentless::scan(&ssh, &t, &opts) {
                        Ok(inv) => {
                            packages.fetch_add(inv.packages.len(), Ordering::Relaxed);
                        }
                        Err(e) => failures.lock().expect("lock").push(e.to_string()),
                    }
                }
            });
        }
    });
    let wall = clock.elapsed();
    // Sessions are reaped a moment after their client exits.
    std::thread::sleep(Duration::from_millis(500));
    let cpu = children_cpu(pid).saturating_sub(cpu_before);
    let (me, kids) = own_cpu();
    let (me, kids) = (
        me.saturating_sub(me_before),
        kids.saturating_sub(kids_before),
    );
    let failures = failures.into_inner().expect("lock");
    println!(
        "targets {n}, concurrency {concurrency}: wall {:.1} s, failed {}, packages {}",
        wall.as_secs_f64(),
        failures.len(),
        packages.load(Ordering::Relaxed)
    );
    println!(
        "target-side CPU (sshd and everything the sessions ran): {:.2} s total, {:.0} ms per target",
        cpu.as_secs_f64(),
        cpu.as_secs_f64() * 1000.0 / n as f64
    );
    println!(
        "scanner-side CPU: collector {:.2} s, ssh clients {:.2} s ({:.0} ms per target)",
        me.as_secs_f64(),
        kids.as_secs_f64(),
        (me + kids).as_secs_f64() * 1000.0 / n as f64
    );
    for f in failures.iter().take(5) {
        println!("failure: {f}");
    }
    if !failures.is_empty() {
        std::process::exit(1);
    }
}
