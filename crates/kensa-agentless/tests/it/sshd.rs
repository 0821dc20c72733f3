//! The collector against a real OpenSSH server on a loopback port, whose
//! users are chrooted into real roots (kensa_testkit::sshd).

use std::time::{Duration, Instant};

use kensa_agentless::{Reason, ScanOptions, Ssh, SshTarget};
use kensa_inventory::{Inventory, Target};
use kensa_testkit::sshd::{RootKind, Sshd, User};

const NEEDS: &str = "needs sshd (scripts/setup); scripts/test runs it";

fn target(sshd: &Sshd, user: &User) -> SshTarget {
    SshTarget::new(&user.name, "127.0.0.1", sshd.port).expect("a valid target")
}

/// A client with the host key pinned and the accepted key.
fn pinned(sshd: &Sshd) -> Ssh {
    let kh = sshd.dir.join("known_hosts");
    std::fs::write(&kh, sshd.known_hosts_line()).expect("known_hosts");
    let mut ssh = Ssh::new(kh);
    ssh.identity = Some(sshd.client_key.clone());
    ssh.use_ssh_config = false;
    ssh.total_timeout = Duration::from_secs(60);
    ssh
}

fn by_root(sshd: &Sshd, kind: RootKind) -> Inventory {
    let root = sshd.dir.join("roots").join(kind.name());
    kensa_inventory::collect(&Target::Root(root)).expect("inventory --root")
}

fn assert_same(over_ssh: &Inventory, by_root: &Inventory, what: &str) {
    assert!(
        !by_root.packages.is_empty(),
        "{what}: the root has packages"
    );
    assert_eq!(
        over_ssh.packages.len(),
        by_root.packages.len(),
        "{what}: package count"
    );
    for (a, b) in over_ssh.packages.iter().zip(&by_root.packages) {
        assert_eq!(a, b, "{what}: package differs");
    }
    assert_eq!(over_ssh.os, by_root.os, "{what}: os");
    assert_eq!(
        over_ssh.kernels.installed, by_root.kernels.installed,
        "{what}: installed kernels"
    );
    assert_eq!(
        over_ssh.host.machine_id, by_root.host.machine_id,
        "{what}: machine id"
    );
}

#[test]
#[ignore = "needs sshd (scripts/setup); scripts/test runs it"]
fn inventory_over_ssh_equals_inventory_of_the_root() {
    let _ = NEEDS;
    let kinds = [
        RootKind::Bookworm,
        RootKind::Bullseye,
        RootKind::RpmSqlite,
        RootKind::RpmBdb,
        RootKind::RpmNdb,
        RootKind::Alpine,
    ];
    let users: Vec<User> = kinds.iter().map(|k| User::new(k.name(), *k)).collect();
    let sshd = Sshd::start(&users);
    let ssh = pinned(&sshd);
    for u in &users {
        let inv = kensa_agentless::scan(&ssh, &target(&sshd, u), &ScanOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", u.name, sshd.log()));
        let expected = by_root(&sshd, u.root);
        assert_same(&inv, &expected, u.root.name());
        assert_eq!(inv.collection.collector, "kensa-ssh");
        assert!(
            inv.source.path.starts_with("ssh://kagl-"),
            "{}",
            inv.source.path
        );
        assert!(
            inv.kernels.running.is_some(),
            "uname -r gives the running kernel"
        );
        match u.root {
            // Debian's rpm reads SQLite and BerkeleyDB: the packages came
            // from `rpm -qa`, without any problem.
            RootKind::RpmSqlite | RootKind::RpmBdb => {
                assert!(inv.problems.is_empty(), "{:?}", inv.problems);
                assert!(inv.packages.iter().all(|p| p.install_time.is_some()));
            }
            // It has no NDB backend: the database file was read instead,
            // and the document says so.
            RootKind::RpmNdb => assert!(
                inv.problems.iter().any(|p| p.path == "rpm -qa"),
                "{:?}",
                inv.problems
            ),
            _ => assert_eq!(inv.problems, expected.problems),
        }
    }
    // Nothing is left running on the target.
    for u in &users {
        assert_eq!(Sshd::processes_of(&u.name), Vec::<String>::new());
    }
}

#[test]
#[ignore = "needs sshd (scripts/setup); scripts/test runs it"]
fn a_csh_login_shell_still_runs_the_posix_script() {
    let user = User::new("csh", RootKind::Bookworm).shell("/bin/csh");
    let sshd = Sshd::start(std::slice::from_ref(&user));
    let ssh = pinned(&sshd);
    let inv = kensa_agentless::scan(&ssh, &target(&sshd, &user), &ScanOptions::default())
        .unwrap_or_else(|e| panic!("{e}\n{}", sshd.log()));
    assert_same(&inv, &by_root(&sshd, RootKind::Bookworm), "csh");
}

#[test]
#[ignore = "needs sshd (scripts/setup); scripts/test runs it"]
fn a_shell_that_runs_nothing_is_refused_clearly() {
    let user = User::new("nologin", RootKind::Bookworm).shell("/usr/sbin/nologin");
    let sshd = Sshd::start(std::slice::from_ref(&user));
    let ssh = pinned(&sshd);
    let e = kensa_agentless::scan(&ssh, &target(&sshd, &user), &ScanOptions::default())
        .expect_err("nologin runs nothing");
    assert_eq!(e.reason, Reason::UnsupportedOs, "{e}");
}

#[test]
#[ignore = "needs sshd (scripts/setup); scripts/test runs it"]
fn first_contact_needs_confirmation_and_a_changed_key_is_refused() {
    let users = [User::new("keys", RootKind::Bookworm)];
    let sshd = Sshd::start(&users);
    let mut ssh = Ssh::new(sshd.dir.join("kensa_known_hosts"));
    ssh.identity = Some(sshd.client_key.clone());
    ssh.use_ssh_config = false;
    let t = target(&sshd, &users[0]);
    let opts = ScanOptions::default();

    // First contact: refused until someone confirms the key, and the key
    // presented is the server's.
    let e = kensa_agentless::scan(&ssh, &t, &opts).expect_err("unknown host");
    assert_eq!(e.reason, Reason::HostKeyUnknown, "{e}");
    let presented = ssh.scan_host_keys(&t).expect("the presented key");
    assert_eq!(presented.len(), 1);
    assert_eq!(presented[0].fingerprint, sshd.fingerprint());
    // Confirming some other fingerprint pins nothing.
    assert!(
        ssh.trust(&t, "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
            .is_err()
    );
    assert_eq!(
        kensa_agentless::scan(&ssh, &t, &opts)
            .expect_err("still unknown")
            .reason,
        Reason::HostKeyUnknown
    );
    ssh.trust(&t, &sshd.fingerprint()).expect("trust");
    kensa_agentless::scan(&ssh, &t, &opts).expect("pinned: scans");

    // The host is reinstalled: its new key is refused and shown.
    let sshd = sshd.change_host_key(&users);
    let t = target(&sshd, &users[0]);
    let old_pins = std::fs::read_to_string(&ssh.known_hosts).expect("pins");
    // (the port changed with the restart: pin the old key under the new port)
    let old_key = old_pins.split_once(' ').expect("a pin").1;
    std::fs::write(
        &ssh.known_hosts,
        format!("[127.0.0.1]:{} {old_key}", sshd.port),
    )
    .expect("pin");
    let e = kensa_agentless::scan(&ssh, &t, &opts).expect_err("changed key");
    assert_eq!(e.reason, Reason::HostKeyChanged, "{e}");
    assert_eq!(
        e.fingerprint.as_deref(),
        Some(sshd.fingerprint().as_str()),
        "{e}"
    );
}

#[test]
#[ignore = "needs sshd (scripts/setup); scripts/test runs it"]
fn a_wrong_key_is_authentication_failed_and_a_closed_port_unreachable() {
    let users = [User::new("auth", RootKind::Bookworm)];
    let sshd = Sshd::start(&users);
    let mut ssh = pinned(&sshd);
    ssh.identity = Some(sshd.wrong_key.clone());
    let e = kensa_agentless::scan(&ssh, &target(&sshd, &users[0]), &ScanOptions::default())
        .expect_err("wrong key");
    assert_eq!(e.reason, Reason::AuthenticationFailed, "{e}");
    assert_eq!(e.reason.code(), "AUTHENTICATION_FAILED");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let t = SshTarget::new("kagl-auth", "127.0.0.1", port).expect("target");
    let e = kensa_agentless::scan(&ssh, &t, &ScanOptions::default()).expect_err("closed");
    assert_eq!(e.reason, Reason::Unreachable, "{e}");
}

#[test]
#[ignore = "needs sshd (scripts/setup); scripts/test runs it"]
fn a_hanging_rpm_times_out_and_leaves_no_process() {
    let user = User::new("hang", RootKind::HangingRpm);
    let sshd = Sshd::start(std::slice::from_ref(&user));
    let ssh = pinned(&sshd);
    let clock = Instant::now();
    let e = kensa_agentless::scan(
        &ssh,
        &target(&sshd, &user),
        &ScanOptions {
            command_timeout: Duration::from_secs(2),
            sudo: false,
        },
    )
    .expect_err("rpm hangs");
    assert_eq!(e.reason, Reason::TimedOut, "{e}");
    assert!(e.detail.contains("rpm"), "{e}");
    assert!(
        clock.elapsed() < Duration::from_secs(30),
        "{:?}",
        clock.elapsed()
    );
    // The rpm script's child `sleep` too: timeout kills the whole group.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(Sshd::processes_of(&user.name), Vec::<String>::new());
}

#[test]
#[ignore = "needs sshd (scripts/setup); scripts/test runs it"]
fn a_total_timeout_kills_the_client_and_the_target_cleans_up() {
    let user = User::new("slow", RootKind::HangingRpm);
    let sshd = Sshd::start(std::slice::from_ref(&user));
    let mut ssh = pinned(&sshd);
    // The connection is cut (the client killed) while rpm hangs: the
    // target's own per-command limit still ends it.
    ssh.total_timeout = Duration::from_secs(2);
    let e = kensa_agentless::scan(
        &ssh,
        &target(&sshd, &user),
        &ScanOptions {
            command_timeout: Duration::from_secs(4),
            sudo: false,
        },
    )
    .expect_err("slow");
    assert_eq!(e.reason, Reason::TimedOut, "{e}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !Sshd::processes_of(&user.name).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(Sshd::processes_of(&user.name), Vec::<String>::new());
}
