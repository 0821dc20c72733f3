//! Test support for Kensa: where the real data lives, version corpora
//! harvested from it, oracles (independent implementations run as one
//! batched child process), root filesystems made from the real package
//! databases ([`roots`]), and, with the `server` feature, the one test
//! server ([`server::TestServer`]), the fleet databases it runs on
//! ([`db::backends`]) and the knowledge-base builder ([`kb`]).
//!
//! Panics are this crate's error reporting: it only runs inside tests and
//! benchmarks, where a missing file or a failed oracle must stop the run
//! with a message that says what to install or set.
#![allow(clippy::unwrap_used)]

pub mod corpus;
#[cfg(feature = "server")]
pub mod db;
#[cfg(feature = "server")]
pub mod kb;
pub mod oracle;
pub mod peers;
pub mod pg;
pub mod roots;
#[cfg(feature = "server")]
pub mod server;
pub mod sshd;

use std::path::{Path, PathBuf};

/// The real-data folder: `$KENSA_TEST_DATA`, else `../shared/data` beside
/// the repository. Never written to (it is read-only in CI).
pub fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("KENSA_TEST_DATA") {
        return PathBuf::from(dir);
    }
    repo_root().join("../shared/data")
}

/// Now, in unix milliseconds (the API's timestamps).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// A free loopback port (bound, then released), for a server started as a
/// process with `--listen`.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// A small deterministic generator (Knuth's MMIX constants): generated test
/// data that is the same on every run, without a dependency.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn draw(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    /// A value in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.draw() % n.max(1)
    }

    /// A value in `0..n`, small ones likelier (the smaller of two draws),
    /// as real fleets share a few packages and vulnerabilities.
    pub fn skewed(&mut self, n: u64) -> u64 {
        let a = self.below(n);
        let b = self.below(n);
        a.min(b)
    }
}

/// Reference facts beside the data (Inspector's report columns, the
/// vocabularies): `$KENSA_TEST_REFERENCE`, else `reference` beside the
/// data folder.
pub fn reference_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("KENSA_TEST_REFERENCE") {
        return PathBuf::from(dir);
    }
    data_dir().join("../reference")
}

/// A temporary directory for state a test process keeps for its whole
/// life (a knowledge base built once in a `static`). Statics are never
/// dropped, so such a `TempDir` is never removed by its owner: its name
/// carries the process id, and each call removes the directories of
/// processes that are gone. Without this, every test run left its
/// knowledge bases behind in `/tmp` (tens of GB over a day).
pub fn process_tempdir() -> tempfile::TempDir {
    let tmp = std::env::temp_dir();
    if let Ok(entries) = std::fs::read_dir(&tmp) {
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(rest) = name.to_str().and_then(|n| n.strip_prefix("kensa-test-")) else {
                continue;
            };
            let pid = rest.split('-').next().unwrap_or("");
            if !pid.is_empty() && !Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    tempfile::Builder::new()
        .prefix(&format!("kensa-test-{}-", std::process::id()))
        .tempdir()
        .expect("a temporary directory")
}

/// Where `scripts/setup` puts what the tests need beyond the repository
/// (oracles, peer tools, debootstrapped roots): `$KENSA_CACHE`, else
/// `/var/tmp/kensa-cache`, outside the clone so that CI runs on the same
/// machine reuse it.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("KENSA_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/kensa-cache"))
}

/// A Debian root filesystem made by `debootstrap --variant=minbase SUITE`
/// in `scripts/setup`.
pub fn debian_root(suite: &str) -> PathBuf {
    let p = cache_dir().join("roots").join(suite);
    assert!(
        p.join("var/lib/dpkg/status").exists(),
        "{} is missing: run scripts/setup (it debootstraps {suite})",
        p.display()
    );
    p
}

/// The repository's root (the workspace directory).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A path inside the real-data folder, which must exist: a test that needs
/// real data fails loudly rather than passing on nothing.
pub fn data_path(rel: &str) -> PathBuf {
    let p = data_dir().join(rel);
    assert!(
        p.exists(),
        "real test data {} is missing: set KENSA_TEST_DATA to the shared data folder (default ../shared/data)",
        p.display()
    );
    p
}

/// Deterministic pairs from a version list: every version with itself, each
/// version with its neighbours in input order (where near-equal versions of
/// one package sit together), then pseudo-random pairs until `target` pairs
/// exist (or every pair is used). Duplicates are removed from the input first.
pub fn pairs(versions: &[String], target: usize) -> Vec<(String, String)> {
    let mut uniq: Vec<&String> = Vec::with_capacity(versions.len());
    let mut seen = std::collections::HashSet::new();
    for v in versions {
        if seen.insert(v.as_str()) {
            uniq.push(v);
        }
    }
    let n = uniq.len();
    let mut out = Vec::with_capacity(target);
    let mut used = std::collections::HashSet::new();
    let mut push = |i: usize, j: usize, out: &mut Vec<(String, String)>| {
        if used.insert((i, j)) {
            out.push((uniq[i].clone(), uniq[j].clone()));
        }
    };
    for i in 0..n.min(target / 10 + 1) {
        push(i, i, &mut out);
    }
    for i in 0..n.saturating_sub(1) {
        if out.len() >= target / 2 {
            break;
        }
        push(i, i + 1, &mut out);
    }
    let total = n * n;
    // A fixed-seed xorshift keeps runs reproducible without a rand dependency.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut tries = 0usize;
    while out.len() < target && out.len() < total && tries < target * 20 {
        tries += 1;
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let i = (state % n as u64) as usize;
        let j = ((state >> 32) % n as u64) as usize;
        push(i, j, &mut out);
    }
    out
}
