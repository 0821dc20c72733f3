//! A real OpenSSH server on a loopback port, with users whose sessions are
//! chrooted into real roots: the target of the agentless tests.
//!
//! Needs root (chroot, `useradd`) and Debian's `openssh-server`
//! (`scripts/setup`). Roots are hard-link copies (`cp -al`) of the
//! debootstrapped roots in the cache, made in a root-owned directory,
//! `/var/cache/kensa-test-sshd` (sshd refuses a chroot below a directory
//! others can write, such as `/tmp`, and a clone of this repository may
//! live anywhere; `/var/cache` is root's and on the cache's file system,
//! which hard links need); files the tests change are unlinked and
//! written anew, never modified in place, so the cache is never touched.
//! Host users are named `kagl-*`, created once, locked to key logins.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The roots a user can be chrooted into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RootKind {
    /// Debian 12, debootstrapped.
    Bookworm,
    /// Debian 11, debootstrapped.
    Bullseye,
    /// Debian 12 userland with Debian's `rpm`, a CBL-Mariner 2.0
    /// os-release and the real Mariner SQLite rpm database (fixtures).
    RpmSqlite,
    /// The same with RHEL 8's BerkeleyDB database (fixtures).
    RpmBdb,
    /// The same with SUSE's NDB database (fixtures), which Debian's rpm
    /// cannot read.
    RpmNdb,
    /// Debian 12 userland with an Alpine os-release and a real Alpine
    /// `lib/apk/db/installed` (fixtures): no Alpine root exists offline.
    Alpine,
    /// Debian 12 whose `rpm` hangs (a shell script sleeping in a child).
    HangingRpm,
    /// Debian 12 with this machine's `ss` (iproute2) copied in. The
    /// chroot has no `/proc` mounted, so the kernel's socket tables cannot
    /// be read there, but `ss` asks the kernel over netlink.
    WithSs,
    /// Debian 12 with language packages: this machine's Python
    /// `*.dist-info` and `*.egg-info` metadata in
    /// `usr/lib/python3/dist-packages`, and the npm project of the oracles
    /// (`package-lock.json` and its `node_modules`) in `srv/app`.
    WithLang,
    /// RHEL 8's BerkeleyDB rpm database readable by root only, and
    /// Debian 12's real `sudo` (the package unpacked from the cache) with
    /// a sudoers file that lets every user run `/usr/bin/rpm` as root
    /// without a password, and nothing else.
    RpmSudo,
}

impl RootKind {
    pub fn name(self) -> &'static str {
        match self {
            RootKind::Bookworm => "bookworm",
            RootKind::Bullseye => "bullseye",
            RootKind::RpmSqlite => "rpm-sqlite",
            RootKind::RpmBdb => "rpm-bdb",
            RootKind::RpmNdb => "rpm-ndb",
            RootKind::Alpine => "alpine",
            RootKind::HangingRpm => "hanging-rpm",
            RootKind::WithSs => "with-ss",
            RootKind::WithLang => "with-lang",
            RootKind::RpmSudo => "rpm-sudo",
        }
    }
}

/// One user of the server.
#[derive(Clone, Debug)]
pub struct User {
    pub name: String,
    pub root: RootKind,
    /// The login shell (`/bin/sh`, `/bin/csh`, `/usr/sbin/nologin`).
    pub shell: String,
}

impl User {
    pub fn new(name: &str, root: RootKind) -> Self {
        User {
            name: format!("kagl-{name}"),
            root,
            shell: "/bin/sh".into(),
        }
    }

    pub fn shell(mut self, shell: &str) -> Self {
        self.shell = shell.into();
        self
    }
}

/// A running sshd; stopped (and its directory removed) on drop.
pub struct Sshd {
    pub dir: PathBuf,
    pub port: u16,
    /// The key every user accepts.
    pub client_key: PathBuf,
    /// A key no user accepts.
    pub wrong_key: PathBuf,
    /// The server's public host key.
    pub host_key_pub: PathBuf,
    child: Option<Child>,
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("run a setup command");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn keygen(path: &Path) {
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "kensa-test", "-f"])
        .arg(path));
}

fn sshd_program() -> PathBuf {
    let p = PathBuf::from("/usr/sbin/sshd");
    assert!(
        p.exists(),
        "/usr/sbin/sshd is missing: run scripts/setup (installs openssh-server)"
    );
    p
}

/// Copy a host file into `root` at the same path (a new file: the root's
/// own files are hard links into the cache).
fn install_host_file(root: &Path, file: &str) {
    let dest = root.join(file.trim_start_matches('/'));
    if dest.exists() {
        return;
    }
    std::fs::create_dir_all(dest.parent().expect("a parent")).expect("mkdir");
    run(Command::new("cp").arg("-L").arg(file).arg(&dest));
}

fn install_binary(root: &Path, binary: &str) {
    install_host_file(root, binary);
    let out = Command::new("ldd").arg(binary).output().expect("ldd");
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some(lib) = line.split_whitespace().find(|w| w.starts_with('/')) {
            install_host_file(root, lib);
        }
    }
}

/// Replace a file of the copy by new content without touching the cache's
/// inode it may be linked to.
fn replace(root: &Path, file: &str, content: &[u8]) {
    let p = root.join(file);
    let _ = std::fs::remove_file(&p);
    std::fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
    std::fs::write(&p, content).expect("write");
}

fn remove(root: &Path, file: &str) {
    let _ = std::fs::remove_file(root.join(file));
}

/// Build a root of `kind` in `dir/kind` (once per directory).
pub fn build_root(dir: &Path, kind: RootKind) -> PathBuf {
    let root = dir.join(kind.name());
    if root.exists() {
        return root;
    }
    std::fs::create_dir_all(dir).expect("the roots directory");
    let base = match kind {
        RootKind::Bullseye => crate::debian_root("bullseye"),
        _ => crate::debian_root("bookworm"),
    };
    run(Command::new("cp").arg("-al").arg(&base).arg(&root));
    let rpm_root = |db_dir: &str, file: &str, backend: &str, os_release: &str| {
        remove(&root, "var/lib/dpkg/status");
        remove(&root, "etc/debian_version");
        remove(&root, "usr/lib/os-release");
        replace(&root, "etc/os-release", os_release.as_bytes());
        install_binary(&root, "/usr/bin/rpm");
        run(Command::new("cp")
            .arg("-a")
            .arg("/usr/lib/rpm")
            .arg(root.join("usr/lib/")));
        // What an rpm distribution configures; Debian's rpm defaults to
        // ~/.rpmdb.
        replace(
            &root,
            "etc/rpm/macros",
            format!("%_dbpath /var/lib/rpm\n%_db_backend {backend}\n").as_bytes(),
        );
        let src = crate::data_path(&format!("fixtures/rpm/{db_dir}/{file}"));
        let dest = root.join("var/lib/rpm").join(file);
        std::fs::create_dir_all(dest.parent().expect("a parent")).expect("mkdir");
        std::fs::copy(&src, &dest).expect("copy the rpm database");
        // On a real host root's rpm has opened the database before, which
        // leaves SQLite's shared-memory and WAL files that let other users
        // read it; without them rpm as a user cannot open a WAL database.
        if backend == "sqlite" {
            run(Command::new("chroot")
                .arg(&root)
                .args(["/usr/bin/rpm", "-qa"]));
        }
    };
    match kind {
        RootKind::Bookworm | RootKind::Bullseye => {}
        RootKind::RpmSqlite => rpm_root(
            "mariner-2.0-sqlite",
            "rpmdb.sqlite",
            "sqlite",
            "NAME=\"Common Base Linux Mariner\"\nVERSION=\"2.0.20220226\"\nID=mariner\nVERSION_ID=\"2.0\"\nPRETTY_NAME=\"CBL-Mariner/Linux\"\n",
        ),
        RootKind::RpmBdb | RootKind::RpmSudo => rpm_root(
            "libuuid-bdb",
            "Packages",
            "bdb_ro",
            "NAME=\"Red Hat Enterprise Linux\"\nVERSION=\"8.8 (Ootpa)\"\nID=\"rhel\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"8.8\"\nPRETTY_NAME=\"Red Hat Enterprise Linux 8.8 (Ootpa)\"\n",
        ),
        RootKind::RpmNdb => rpm_root(
            "sle15-bci-ndb",
            "Packages.db",
            "ndb",
            "NAME=\"SLES\"\nVERSION=\"15-SP3\"\nVERSION_ID=\"15.3\"\nID=\"sles\"\nID_LIKE=\"suse\"\nPRETTY_NAME=\"SUSE Linux Enterprise Server 15 SP3\"\n",
        ),
        RootKind::Alpine => {
            remove(&root, "var/lib/dpkg/status");
            remove(&root, "etc/debian_version");
            remove(&root, "usr/lib/os-release");
            replace(
                &root,
                "etc/os-release",
                b"NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n",
            );
            replace(&root, "etc/alpine-release", b"3.19.1\n");
            let installed = std::fs::read(crate::data_path("fixtures/apk/alpine/installed"))
                .expect("the apk fixture");
            replace(&root, "lib/apk/db/installed", &installed);
        }
        RootKind::HangingRpm => {
            replace(&root, "usr/bin/rpm", b"#!/bin/sh\nsleep 1000\n");
            run(Command::new("chmod")
                .arg("755")
                .arg(root.join("usr/bin/rpm")));
        }
        RootKind::WithSs => {
            let ss = ["/usr/bin/ss", "/bin/ss", "/usr/sbin/ss", "/sbin/ss"]
                .into_iter()
                .find(|p| Path::new(p).exists())
                .expect("ss (iproute2) on this machine: run scripts/setup");
            install_binary(&root, ss);
            // The chroot proves the fallback only if its tables are absent.
            assert!(!root.join("proc/net/tcp").exists());
        }
        RootKind::WithLang => {
            let site = root.join("usr/lib/python3/dist-packages");
            std::fs::create_dir_all(&site).expect("mkdir");
            let mut copied = 0;
            for e in std::fs::read_dir("/usr/lib/python3/dist-packages").expect("dist-packages") {
                let p = e.expect("entry").path();
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if name.ends_with(".dist-info") || name.ends_with(".egg-info") {
                    run(Command::new("cp").arg("-a").arg(&p).arg(&site));
                    copied += 1;
                }
            }
            assert!(copied > 0, "no Python package metadata to copy");
            let oracles = crate::cache_dir().join("oracles");
            assert!(
                oracles.join("package-lock.json").exists(),
                "{}: missing: run scripts/setup",
                oracles.display()
            );
            let app = root.join("srv/app");
            std::fs::create_dir_all(&app).expect("mkdir");
            for f in ["package.json", "package-lock.json", "node_modules"] {
                if oracles.join(f).exists() {
                    run(Command::new("cp").arg("-a").arg(oracles.join(f)).arg(&app));
                }
            }
        }
    }
    if kind == RootKind::RpmSudo {
        run(Command::new("chmod")
            .arg("600")
            .arg(root.join("var/lib/rpm/Packages")));
        let deb = crate::cache_dir().join("debs/sudo.deb");
        assert!(
            deb.exists(),
            "{}: missing: run scripts/setup",
            deb.display()
        );
        // Unpacked beside the root, then copied in: extracting into the
        // root would replace its merged-/usr `lib` symlink by the
        // package's `lib/` directory. Files are replaced, never written
        // through: the root's own are hard links into the cache.
        let unpacked = dir.join("sudo-deb");
        let _ = std::fs::remove_dir_all(&unpacked);
        run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&unpacked));
        for part in ["usr", "etc"] {
            run(Command::new("cp")
                .args(["-a", "--remove-destination"])
                .arg(unpacked.join(part))
                .arg(&root));
        }
        run(Command::new("chmod")
            .arg("4755")
            .arg(root.join("usr/bin/sudo")));
        replace(
            &root,
            "etc/sudoers",
            b"Defaults !lecture\nALL ALL=(root) NOPASSWD: /usr/bin/rpm\n",
        );
        run(Command::new("chmod")
            .arg("440")
            .arg(root.join("etc/sudoers")));
        let _ = std::fs::remove_dir_all(root.join("etc/sudoers.d"));
    }
    root
}

/// Create the host user (once) with `shell`, key logins only.
pub fn ensure_user(name: &str, shell: &str) {
    let exists = Command::new("id")
        .arg(name)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("id")
        .success();
    if !exists {
        // Several test processes may race to create the same user.
        let _ = Command::new("useradd")
            .args(["-M", "-N", "-d", "/", "-p", "*", "-s", shell, name])
            .output();
    }
    run(Command::new("usermod").args(["-p", "*", "-s", shell, name]));
}

impl Sshd {
    /// Start a server for `users`; roots are built in `roots_dir` (shared
    /// between servers of one test) or in the server's own directory.
    pub fn start(users: &[User]) -> Sshd {
        let base = PathBuf::from("/var/cache/kensa-test-sshd");
        std::fs::create_dir_all(&base).expect("/var/cache/kensa-test-sshd");
        run(Command::new("chmod").arg("755").arg(&base));
        let dir = tempfile::Builder::new()
            .prefix("kensa-sshd-")
            .tempdir_in(&base)
            .expect("a directory")
            .keep();
        run(Command::new("chmod").arg("755").arg(&dir));
        let sshd = Sshd {
            client_key: dir.join("client"),
            wrong_key: dir.join("wrong"),
            host_key_pub: dir.join("host_key.pub"),
            dir,
            port: 0,
            child: None,
        };
        keygen(&sshd.dir.join("host_key"));
        keygen(&sshd.client_key);
        keygen(&sshd.wrong_key);
        sshd.configure_and_start(users)
    }

    fn configure_and_start(mut self, users: &[User]) -> Sshd {
        let keys = self.dir.join("authorized");
        std::fs::create_dir_all(&keys).expect("mkdir");
        let public = std::fs::read(self.dir.join("client.pub")).expect("client key");
        let mut config = String::new();
        for u in users {
            ensure_user(&u.name, &u.shell);
            std::fs::write(keys.join(&u.name), &public).expect("authorized key");
            let root = build_root(&self.dir.join("roots"), u.root);
            if u.shell.contains("csh") {
                install_binary(&root, &u.shell);
            }
            if u.root == RootKind::RpmSudo {
                // sudo looks its user up in the chroot's passwd file, and
                // PAM's account check (pam_unix) in its shadow file.
                for db in ["passwd", "shadow"] {
                    let out = Command::new("getent")
                        .args([db, &u.name])
                        .output()
                        .expect("getent");
                    let file = format!("etc/{db}");
                    let mut text = std::fs::read(root.join(&file)).expect("passwd");
                    if !String::from_utf8_lossy(&text).contains(&format!("\n{}:", u.name)) {
                        text.extend_from_slice(&out.stdout);
                        replace(&root, &file, &text);
                        if db == "shadow" {
                            run(Command::new("chmod").arg("640").arg(root.join(&file)));
                        }
                    }
                }
            }
            config.push_str(&format!(
                "Match User {}\n  ChrootDirectory {}\n",
                u.name,
                root.display()
            ));
        }
        std::fs::create_dir_all("/run/sshd").expect("/run/sshd");
        for attempt in 0..5 {
            // A restart (a new host key) keeps its address when it can:
            // the same host, reinstalled.
            if attempt > 0 || self.port == 0 {
                self.port = crate::free_port();
            }
            let head = format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {dir}/host_key\nPidFile {dir}/sshd.pid\n\
                 AuthorizedKeysFile {dir}/authorized/%u\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPermitRootLogin no\n\
                 AllowUsers kagl-*\nMaxStartups 200:30:400\nMaxSessions 50\nLogLevel VERBOSE\n",
                port = self.port,
                dir = self.dir.display()
            );
            std::fs::write(self.dir.join("sshd_config"), head + &config).expect("sshd_config");
            let log = std::fs::File::create(self.dir.join("sshd.log")).expect("log");
            let child = Command::new(sshd_program())
                .args(["-D", "-e", "-f"])
                .arg(self.dir.join("sshd_config"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start sshd");
            self.child = Some(child);
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                    return self;
                }
                if let Some(c) = &mut self.child
                    && let Ok(Some(_)) = c.try_wait()
                {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            self.stop();
        }
        panic!("sshd did not start: {}", self.log());
    }

    /// Restart with a new host key (a reinstalled host), on the same port
    /// unless it was taken meanwhile.
    pub fn change_host_key(mut self, users: &[User]) -> Sshd {
        self.stop();
        let _ = std::fs::remove_file(self.dir.join("host_key"));
        let _ = std::fs::remove_file(self.dir.join("host_key.pub"));
        keygen(&self.dir.join("host_key"));
        self.configure_and_start(users)
    }

    /// Let `user` log in with the key `private` (its `.pub` beside it)
    /// instead of this server's client key: a bastion that accepts the
    /// key of another server's users. Read at each login: no restart.
    pub fn authorize(&self, user: &str, private: &Path) {
        let public = std::fs::read(private.with_extension("pub")).expect("public key");
        std::fs::write(self.dir.join("authorized").join(user), public).expect("authorized key");
    }

    /// `ssh-keygen -l` of the host key: what an admin reads on the host.
    pub fn fingerprint(&self) -> String {
        let out = Command::new("ssh-keygen")
            .args(["-l", "-E", "sha256", "-f"])
            .arg(&self.host_key_pub)
            .output()
            .expect("ssh-keygen");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .nth(1)
            .expect("a fingerprint")
            .to_owned()
    }

    /// Pin the host key in a known-hosts file, as an admin who checked
    /// it would.
    pub fn known_hosts_line(&self) -> String {
        let key = std::fs::read_to_string(&self.host_key_pub).expect("host key");
        let mut parts = key.split_whitespace();
        format!(
            "[127.0.0.1]:{} {} {}\n",
            self.port,
            parts.next().expect("type"),
            parts.next().expect("key")
        )
    }

    /// The listening sshd's process id: its children's CPU time (every
    /// session, and all they ran) is added to its own counters when they
    /// are reaped.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("sshd.log")).unwrap_or_default()
    }

    /// The processes running as `user` (to prove none is left behind).
    /// Zombies are not running: they are dead processes whose parent (here
    /// PID 1 of the test machine, which may not be an init that reaps)
    /// has not collected their status yet.
    pub fn processes_of(user: &str) -> Vec<String> {
        let out = Command::new("ps")
            .args(["-u", user, "-o", "stat=,pid=,args="])
            .output()
            .expect("ps");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty() && !l.starts_with('Z'))
            .collect()
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
