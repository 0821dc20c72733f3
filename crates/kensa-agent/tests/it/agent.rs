//! The agent without a server: spool, schedule, change detection, state
//! files, and whole cycles against a server address that refuses
//! connections.
//!
//! End-to-end delivery (enrolment, `HEAD` 204/404, `PUT` 202, `401` for a
//! revoked token, `400`/`413` setting an entry aside) needs the real
//! `kensa-server`, and is tested by the server's integration tests, which
//! drive this crate against it. No mock server here, by project rule.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use kensa_agent::schedule::{Backoff, DbWatch, JITTER, jittered, next_collection};
use kensa_agent::spool::Spool;
use kensa_agent::{
    AgentError, CaSource, Config, Credentials, Outcome, Secret, StateDir, Target, Trust,
};

/// A CA, written as PEM, for configurations that need one (the cycles
/// below never get as far as a TLS handshake).
fn test_ca_pem(dir: &Path) -> PathBuf {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).unwrap();
    let path = dir.join("ca.pem");
    fs::write(&path, cert.pem()).unwrap();
    path
}

/// A small Alpine root: the real `installed` fixture and a release file.
fn alpine_root(dir: &Path) -> PathBuf {
    let root = dir.join("root");
    fs::create_dir_all(root.join("lib/apk/db")).unwrap();
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::copy(
        kensa_testkit::data_path("fixtures/apk/alpine/installed"),
        root.join("lib/apk/db/installed"),
    )
    .unwrap();
    fs::write(root.join("etc/alpine-release"), "3.19.1\n").unwrap();
    root
}

/// A local port nothing listens on: bound, then closed, so that a
/// connection is refused at once.
fn refused_server() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("https://127.0.0.1:{port}")
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    cfg: Config,
}

/// An enrolled agent (credentials written as enrolment would) for an
/// Alpine root, reporting to a server that refuses connections.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = alpine_root(dir.path());
    let ca = test_ca_pem(dir.path());
    let server = refused_server();
    let mut cfg = Config::new(&server, CaSource::Pinned(ca), dir.path().join("state"));
    cfg.target = Target::Root(root.clone());
    // Leave the test process's priority and limits alone.
    cfg.nice = None;
    cfg.address_space_limit = None;
    StateDir::open(&cfg.state_dir)
        .unwrap()
        .save_credentials(&Credentials {
            agent_id: "agt_test".into(),
            asset_id: "ast_test".into(),
            token: Secret::new("kat_test"),
            server,
            trust: Trust::Pinned,
            root: None,
        })
        .unwrap();
    Fixture {
        _dir: dir,
        root,
        cfg,
    }
}

fn spool_of(cfg: &Config) -> Spool {
    Spool::open(cfg.state_dir.join("spool"), cfg.spool_limit).unwrap()
}

fn pending(outcome: &Outcome) -> usize {
    match outcome {
        Outcome::Spooled { pending, reason } => {
            assert!(
                reason.contains("127.0.0.1"),
                "the reason names the URL: {reason}"
            );
            *pending
        }
        other => panic!("expected Spooled, got {other:?}"),
    }
}

fn hash(n: u8) -> String {
    format!("sha256:{}", format!("{n:02x}").repeat(32))
}

// ---------------------------------------------------------------- cycles

#[test]
fn unreachable_server_spools_once_and_does_not_duplicate() {
    let f = fixture();
    let first = kensa_agent::run_once(&f.cfg).unwrap();
    assert_eq!(pending(&first), 1);
    assert_eq!(first.exit_code(), 3);
    let entries = spool_of(&f.cfg).entries().unwrap();
    assert_eq!(entries.len(), 1);
    let collected = kensa_inventory::collect(&Target::Root(f.root.clone())).unwrap();
    let expected = collected.content_hash();
    assert_eq!(entries[0].hash, expected);
    // The entry is the gzipped inventory of the root, as its canonical
    // bytes (the server hashes them instead of parsing them).
    let body = entries[0].read().unwrap();
    kensa_agent::codec::verify(&body, &expected).unwrap();
    let json = kensa_agent::codec::gunzip(&body, 1 << 30).unwrap();
    assert_eq!(json, collected.content_bytes());
    let inv: kensa_inventory::Inventory = serde_json::from_slice(&json).unwrap();
    assert!(!inv.packages.is_empty());
    assert_eq!(inv.os.unwrap().id, "alpine");

    // Same root again: still one entry, the same file.
    let second = kensa_agent::run_once(&f.cfg).unwrap();
    assert_eq!(pending(&second), 1);
    assert_eq!(spool_of(&f.cfg).entries().unwrap(), entries);
}

#[test]
fn each_change_is_spooled_in_order_within_the_bound() {
    let mut f = fixture();
    f.cfg.spool_limit = 3;
    let mut hashes = Vec::new();
    for release in ["3.19.1", "3.19.2", "3.19.3", "3.19.4"] {
        fs::write(f.root.join("etc/alpine-release"), format!("{release}\n")).unwrap();
        let outcome = kensa_agent::run_once(&f.cfg).unwrap();
        assert_eq!(pending(&outcome), hashes.len().min(2) + 1);
        hashes.push(spool_of(&f.cfg).newest().unwrap().unwrap().hash);
    }
    // Four distinct inventories, the oldest dropped beyond the bound of 3.
    let got: Vec<String> = spool_of(&f.cfg)
        .entries()
        .unwrap()
        .into_iter()
        .map(|e| e.hash)
        .collect();
    assert_eq!(got, hashes[1..].to_vec());

    // Back to an earlier state while newer ones wait: spooled again, last,
    // so that the server ends with the truth.
    fs::write(f.root.join("etc/alpine-release"), "3.19.3\n").unwrap();
    kensa_agent::run_once(&f.cfg).unwrap();
    let got: Vec<String> = spool_of(&f.cfg)
        .entries()
        .unwrap()
        .into_iter()
        .map(|e| e.hash)
        .collect();
    assert_eq!(
        got,
        vec![hashes[2].clone(), hashes[3].clone(), hashes[2].clone()]
    );
}

#[test]
fn unchanged_inventory_writes_nothing_and_only_heads() {
    let f = fixture();
    let current = kensa_inventory::collect(&Target::Root(f.root.clone()))
        .unwrap()
        .content_hash();
    let state = StateDir::open(&f.cfg.state_dir).unwrap();
    state.set_last(&current).unwrap();
    let outcome = kensa_agent::run_once(&f.cfg).unwrap();
    // The HEAD could not reach the server: not reported, nothing spooled.
    assert_eq!(pending(&outcome), 0);
    assert_eq!(outcome.exit_code(), 3);
    assert!(spool_of(&f.cfg).entries().unwrap().is_empty());
    assert_eq!(state.last().unwrap().unwrap().hash, current);
}

#[test]
fn a_corrupt_entry_is_moved_aside_and_never_blocks_the_rest() {
    let f = fixture();
    let spool = spool_of(&f.cfg);
    // Older than anything run_once writes, so it is tried first.
    let bad = spool
        .push(&hash(0xab), b"\x1f\x8b not really gzip", 1)
        .unwrap();
    let outcome = kensa_agent::run_once(&f.cfg).unwrap();
    // The good entry is pending (the server is down); the bad one is aside.
    assert_eq!(pending(&outcome), 1);
    assert!(!bad.path.exists());
    let aside = PathBuf::from(format!("{}.bad", bad.path.display()));
    assert!(aside.exists(), "{}", aside.display());
    let left = spool.entries().unwrap();
    assert_eq!(left.len(), 1);
    assert_ne!(left[0].hash, hash(0xab));
}

#[test]
fn not_enrolled_is_an_error_naming_the_file() {
    let f = fixture();
    fs::remove_file(f.cfg.state_dir.join("agent.json")).unwrap();
    let err = kensa_agent::run_once(&f.cfg).unwrap_err();
    assert!(matches!(err, AgentError::NotEnrolled(_)), "{err}");
    assert!(err.to_string().contains("agent.json"), "{err}");
}

#[test]
fn a_changed_server_is_refused_rather_than_sent_the_token() {
    let mut f = fixture();
    f.cfg.server = "https://elsewhere.example".into();
    let err = kensa_agent::run_once(&f.cfg).unwrap_err();
    assert!(err.to_string().contains("enrol again"), "{err}");
    assert!(!err.to_string().contains("kat_test"), "{err}");
}

#[test]
fn the_loop_collects_on_start_and_on_a_database_change_then_stops() {
    let mut f = fixture();
    f.cfg.interval = Duration::from_secs(3600);
    f.cfg.poll = Duration::from_millis(50);
    let stop = Arc::new(AtomicBool::new(false));
    let cfg = f.cfg.clone();
    let flag = stop.clone();
    let daemon = std::thread::spawn(move || kensa_agent::run(&cfg, &flag));
    let spool = spool_of(&f.cfg);
    let wait_for = |n: usize| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while spool.entries().unwrap().len() < n {
            assert!(Instant::now() < deadline, "no spool entry {n}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait_for(1);
    // A package is "installed": the database changes; once it has settled
    // the loop collects again, long before the hour is up.
    let db = f.root.join("lib/apk/db/installed");
    let mut text = fs::read_to_string(&db).unwrap();
    // (The fixture does not end with a newline: a blank line separates
    // the new record.)
    text.push_str("\n\nP:kensa-test\nV:1.0-r0\nA:x86_64\no:kensa-test\n");
    fs::write(&db, text).unwrap();
    wait_for(2);
    stop.store(true, Ordering::Relaxed);
    let stopped = Instant::now();
    daemon.join().unwrap().unwrap();
    assert!(stopped.elapsed() < Duration::from_secs(3), "stops promptly");
    assert_eq!(spool.entries().unwrap().len(), 2);
}

// ---------------------------------------------------------------- spool

#[test]
fn spool_is_bounded_and_ordered_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path().join("spool"), 3).unwrap();
    for n in 0..5u8 {
        spool.push(&hash(n), &[n], 1000 + u64::from(n)).unwrap();
    }
    let entries = spool.entries().unwrap();
    let got: Vec<&str> = entries.iter().map(|e| e.hash.as_str()).collect();
    assert_eq!(got, [hash(2), hash(3), hash(4)]);
    assert_eq!(entries[0].read().unwrap(), vec![2]);
    // Entries are private files.
    let mode = fs::metadata(&entries[0].path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // A clock that went backwards still appends after the newest.
    let e = spool.push(&hash(9), b"x", 5).unwrap();
    assert!(e.millis > entries[2].millis);
    assert_eq!(spool.newest().unwrap().unwrap().hash, hash(9));
}

#[test]
fn a_half_written_entry_is_never_seen_and_is_cleaned_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spool");
    let spool = Spool::open(&path, 10).unwrap();
    spool.push(&hash(1), b"whole", 1).unwrap();
    // What a crash between create and rename leaves: a temporary file, even
    // one already named like an entry after its prefix.
    let temp = path.join(format!(".tmp-2-{}.json.gz", "cd".repeat(32)));
    fs::write(&temp, b"half").unwrap();
    assert_eq!(spool.entries().unwrap().len(), 1, "ignored by listings");
    let spool = Spool::open(&path, 10).unwrap();
    assert!(!temp.exists(), "removed when the spool is opened");
    assert_eq!(spool.entries().unwrap().len(), 1);
}

// ---------------------------------------------------------------- schedule

/// A deterministic stream of well-spread 64-bit numbers (SplitMix64).
fn randoms(seed: u64) -> impl Iterator<Item = u64> {
    let mut x = seed;
    std::iter::repeat_with(move || {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    })
}

#[test]
fn schedule_jitter_stays_within_ten_percent_and_spreads() {
    assert!((JITTER - 0.10).abs() < f64::EPSILON);
    let hour = Duration::from_secs(3600);
    let (mut lo, mut hi) = (hour * 2, Duration::ZERO);
    for r in randoms(7).take(10_000) {
        let d = next_collection(hour, r);
        assert!(
            d >= Duration::from_secs(3240) && d <= Duration::from_secs(3960),
            "{d:?}"
        );
        lo = lo.min(d);
        hi = hi.max(d);
    }
    assert!(
        lo < Duration::from_secs(3260) && hi > Duration::from_secs(3940),
        "{lo:?}..{hi:?}"
    );
    assert_eq!(jittered(hour, 0.0, 12345), hour);
}

#[test]
fn backoff_grows_exponentially_caps_at_the_interval_and_resets() {
    let cap = Duration::from_secs(3600);
    let mut b = Backoff::new(Duration::from_secs(30), cap);
    let mut steps = Vec::new();
    for r in randoms(3).take(12) {
        let d = b.fail(r);
        let step = b.step();
        assert!(
            d >= step / 2 && d <= step,
            "{d:?} within [{:?}, {step:?}]",
            step / 2
        );
        steps.push(step.as_secs());
    }
    assert_eq!(
        steps,
        [
            30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600, 3600, 3600
        ]
    );
    for _ in 0..100 {
        assert!(b.fail(u64::MAX) <= cap);
    }
    b.reset();
    assert_eq!(b.failures(), 0);
    assert!(b.fail(0) <= Duration::from_secs(30));
}

#[test]
fn a_package_database_change_triggers_once_settled() {
    let dir = tempfile::tempdir().unwrap();
    let root = alpine_root(dir.path());
    fs::create_dir_all(root.join("var/lib/rpm")).unwrap();
    let mut watch = DbWatch::new(&root);
    assert!(!watch.poll(), "nothing changed");

    let db = root.join("lib/apk/db/installed");
    let set_mtime = |p: &Path, secs: u64| {
        let f = fs::File::options().write(true).open(p).unwrap();
        f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
            .unwrap();
    };
    set_mtime(&db, 1_000_000);
    assert!(!watch.poll(), "changed, but may still be changing");
    assert!(watch.poll(), "settled: collect");
    watch.collected();
    assert!(!watch.poll(), "collected: nothing new");

    // A new file in an rpm database directory counts too.
    fs::write(root.join("var/lib/rpm/rpmdb.sqlite"), b"x").unwrap();
    assert!(!watch.poll());
    assert!(watch.poll());
    watch.collected();
    // A change that keeps changing does not trigger until it stops.
    for secs in 2_000_000..2_000_005 {
        set_mtime(&db, secs);
        assert!(!watch.poll());
    }
    assert!(watch.poll());
    // Unrelated files do not count.
    watch.collected();
    fs::write(root.join("etc/motd"), b"hello").unwrap();
    assert!(!watch.poll());
    assert!(!watch.poll());
}

// ---------------------------------------------------------------- state

#[test]
fn state_files_are_private_and_a_readable_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    let state = StateDir::open(&state_dir).unwrap();
    assert_eq!(
        fs::metadata(&state_dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let creds = Credentials {
        agent_id: "agt_1".into(),
        asset_id: "ast_1".into(),
        token: Secret::new("kat_secret"),
        server: "https://k".into(),
        trust: Trust::Pinned,
        root: None,
    };
    state.save_credentials(&creds).unwrap();
    state.set_last(&hash(1)).unwrap();
    for f in ["agent.json", "last.json"] {
        let mode = fs::metadata(state_dir.join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
    assert_eq!(state.credentials().unwrap(), creds);
    // Replacing keeps the mode and leaves no temporary file.
    state.save_credentials(&creds).unwrap();
    let names: Vec<String> = fs::read_dir(&state_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with(".tmp-")), "{names:?}");

    fs::set_permissions(state.credentials_path(), fs::Permissions::from_mode(0o644)).unwrap();
    let err = state.credentials().unwrap_err().to_string();
    assert!(err.contains("agent.json") && err.contains("0644"), "{err}");
    assert!(!err.contains("kat_secret"));
}

#[test]
fn process_limits_lower_priority_and_cap_the_address_space() {
    // In a thread of its own: on Linux the nice value is per thread.
    std::thread::spawn(|| {
        let big = 1u64 << 45; // far above what a test needs, below any hard limit
        kensa_agent::hygiene::apply(Some(10), Some(big)).unwrap();
        assert!(thread_nice() >= 10);
        // Asking for a lower nice value never raises the priority.
        kensa_agent::hygiene::apply(Some(5), None).unwrap();
        assert!(thread_nice() >= 10);
    })
    .join()
    .unwrap();
}

fn thread_nice() -> i32 {
    // /proc/thread-self/stat field 19 is the nice value.
    let stat = fs::read_to_string("/proc/thread-self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    after.split(' ').nth(16).unwrap().parse().unwrap()
}
