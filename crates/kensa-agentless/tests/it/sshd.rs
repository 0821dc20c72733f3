//! The collector against a real OpenSSH server on a loopback port, whose
//! users are chrooted into real roots (kensa_testkit::sshd).

use std::time::{Duration, Instant};

use kensa_agentless::{Reason, ScanOptions, Ssh, SshTarget};
use kensa_inventory::model::PackageKind;
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
            ..ScanOptions::default()
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
            ..ScanOptions::default()
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

#[test]
#[ignore = "needs sshd (scripts/setup); scripts/test runs it"]
fn listeners_come_from_ss_where_proc_net_cannot_be_read() {
    // Sockets this test holds open, on both families and protocols: the
    // target shares this machine's network, and its chroot has no /proc.
    let tcp4 = std::net::TcpListener::bind("127.0.0.1:0").expect("tcp4");
    let tcp6 = std::net::TcpListener::bind("[::1]:0").expect("tcp6");
    let udp4 = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp4");
    let port = |a: std::io::Result<std::net::SocketAddr>| a.expect("addr").port();
    let user = User::new("ss", RootKind::WithSs);
    let sshd = Sshd::start(std::slice::from_ref(&user));
    let ssh = pinned(&sshd);
    let inv = kensa_agentless::scan(&ssh, &target(&sshd, &user), &ScanOptions::default())
        .unwrap_or_else(|e| panic!("{e}\n{}", sshd.log()));
    let has = |proto: &str, address: &str, p: u16| {
        inv.listeners
            .iter()
            .any(|l| l.protocol == proto && l.address == address && l.port == p && l.loopback)
    };
    assert!(
        has("tcp", "127.0.0.1", port(tcp4.local_addr())),
        "{:?}",
        inv.listeners
    );
    assert!(
        has("tcp", "::1", port(tcp6.local_addr())),
        "{:?}",
        inv.listeners
    );
    assert!(
        has("udp", "127.0.0.1", port(udp4.local_addr())),
        "{:?}",
        inv.listeners
    );
    assert!(has("tcp", "127.0.0.1", sshd.port), "the sshd itself");
    // The same sockets as the kernel's tables read on this machine say,
    // for the ones this test controls (others come and go meanwhile).
    let here = kensa_inventory::net::listeners(std::path::Path::new("/proc"));
    for l in inv.listeners.iter().filter(|l| {
        [
            port(tcp4.local_addr()),
            port(tcp6.local_addr()),
            port(udp4.local_addr()),
        ]
        .contains(&l.port)
    }) {
        assert!(
            here.iter().any(|h| h.protocol == l.protocol
                && h.address == l.address
                && h.port == l.port
                && h.all_interfaces == l.all_interfaces
                && h.loopback == l.loopback),
            "{l:?} not in /proc/net"
        );
    }
    // The packages are those of the root, as ever.
    assert_same(&inv, &by_root(&sshd, RootKind::WithSs), "with ss");
}

#[test]
#[ignore = "needs sshd (scripts/setup); scripts/test runs it"]
fn language_packages_over_ssh_equal_those_of_the_root() {
    let user = User::new("lang", RootKind::WithLang);
    let sshd = Sshd::start(std::slice::from_ref(&user));
    let ssh = pinned(&sshd);
    let inv = kensa_agentless::scan(&ssh, &target(&sshd, &user), &ScanOptions::default())
        .unwrap_or_else(|e| panic!("{e}\n{}", sshd.log()));
    let expected = by_root(&sshd, RootKind::WithLang);
    let lang = |i: &Inventory, eco: &str| {
        let kind = match eco {
            "py" => PackageKind::Python,
            _ => PackageKind::Npm,
        };
        i.packages
            .iter()
            .filter(|p| p.kind.as_ref() == Some(&kind))
            .count()
    };
    assert!(lang(&expected, "py") > 0, "the root has Python packages");
    assert!(lang(&expected, "npm") > 0, "the root has npm packages");
    assert_same(&inv, &expected, "language packages");
    assert_eq!(inv.problems, expected.problems);

    // The caps: one file at most, and files over 100 bytes are left.
    let small = ScanOptions {
        lang: Some(kensa_agentless::script::LangOptions {
            max_files: 1,
            max_file_bytes: 100,
            ..Default::default()
        }),
        ..ScanOptions::default()
    };
    let capped = kensa_agentless::scan(&ssh, &target(&sshd, &user), &small).expect("scan");
    assert!(
        capped
            .problems
            .iter()
            .any(|p| p.message.contains("size cap")),
        "{:?}",
        capped.problems
    );
    assert!(
        lang(&capped, "py") + lang(&capped, "npm") < lang(&expected, "py") + lang(&expected, "npm")
    );
    // Without language packages: the OS packages alone.
    let none = ScanOptions {
        lang: None,
        ..ScanOptions::default()
    };
    let os_only = kensa_agentless::scan(&ssh, &target(&sshd, &user), &none).expect("scan");
    assert_eq!(lang(&os_only, "py") + lang(&os_only, "npm"), 0);
}

#[test]
#[ignore = "needs sshd (scripts/setup); scripts/test runs it"]
fn a_bastion_is_reached_with_the_same_key_and_pinned_host_keys() {
    // The sshd is its own bastion: the jump user forwards to the target
    // user of the same server.
    let users = [
        User::new("via", RootKind::Bookworm),
        User::new("jump", RootKind::Bookworm),
    ];
    let sshd = Sshd::start(&users);
    let mut ssh = pinned(&sshd);
    ssh.bastion = Some(target(&sshd, &users[1]));
    let inv = kensa_agentless::scan(&ssh, &target(&sshd, &users[0]), &ScanOptions::default())
        .unwrap_or_else(|e| panic!("{e}\n{}", sshd.log()));
    assert_same(
        &inv,
        &by_root(&sshd, RootKind::Bookworm),
        "through the bastion",
    );
    let log = sshd.log();
    assert!(log.contains("Accepted publickey for kagl-jump"), "{log}");
    assert!(log.contains("Accepted publickey for kagl-via"), "{log}");
    // The target's key is learnt through the bastion too.
    let keys = ssh
        .scan_host_keys(&target(&sshd, &users[0]))
        .expect("keys through the bastion");
    assert_eq!(keys[0].fingerprint, sshd.fingerprint());

    // A bastion whose key is not pinned is refused, as a host would be:
    // its connection checks the same known-hosts file strictly.
    let mut unpinned = ssh.clone();
    unpinned.known_hosts = sshd.dir.join("empty_known_hosts");
    std::fs::write(&unpinned.known_hosts, "").expect("empty");
    let e = kensa_agentless::scan(
        &unpinned,
        &target(&sshd, &users[0]),
        &ScanOptions::default(),
    )
    .expect_err("unpinned bastion");
    assert_eq!(e.reason, Reason::HostKeyUnknown, "{e}");
    // A bastion refusing the key: authentication failed.
    let mut wrong = ssh.clone();
    wrong.identity = Some(sshd.wrong_key.clone());
    let e = kensa_agentless::scan(&wrong, &target(&sshd, &users[0]), &ScanOptions::default())
        .expect_err("wrong key");
    assert_eq!(e.reason, Reason::AuthenticationFailed, "{e}");
}

#[test]
#[ignore = "needs sshd (scripts/setup); scripts/test runs it"]
fn sudo_reads_a_root_only_rpm_database_and_nothing_else() {
    // A real sudo inside the chroot, allowed to run /usr/bin/rpm as root
    // without a password and nothing else; the rpm database is root's.
    let user = User::new("sudo", RootKind::RpmSudo);
    let sshd = Sshd::start(std::slice::from_ref(&user));
    let ssh = pinned(&sshd);
    let t = target(&sshd, &user);
    let e = kensa_agentless::scan(&ssh, &t, &ScanOptions::default())
        .expect_err("the user cannot read the database");
    assert_eq!(e.reason, Reason::UnsupportedOs, "{e}");
    assert!(e.detail.contains("rpm"), "{e}");
    let with_sudo = ScanOptions {
        sudo: true,
        ..ScanOptions::default()
    };
    let inv = kensa_agentless::scan(&ssh, &t, &with_sudo)
        .unwrap_or_else(|e| panic!("{e}\n{}", sshd.log()));
    assert_same(&inv, &by_root(&sshd, RootKind::RpmSudo), "sudo rpm");
    assert!(inv.problems.is_empty(), "{:?}", inv.problems);
    // The sudoers rule is what it says: rpm yes, anything else no.
    let out = ssh
        .run(
            &t,
            "sudo -n /bin/cat /etc/shadow >/dev/null 2>&1; echo cat=$?\n\
             sudo -n /usr/bin/rpm --version >/dev/null 2>&1; echo rpm=$?\n",
        )
        .expect("run");
    let out = String::from_utf8_lossy(&out);
    assert!(out.contains("cat=1"), "{out}");
    assert!(out.contains("rpm=0"), "{out}");
}
