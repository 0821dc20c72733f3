//! A PostgreSQL cluster of a test's own, for tests that stop and restart
//! the database (the shared `KENSA_TEST_PG` server must stay up for every
//! other test): `initdb` in a temporary directory, run as the `postgres`
//! user (the binaries `scripts/setup` installs), listening on 127.0.0.1
//! on a free port only, with the default configuration
//! (`max_connections=100`). Stopped and removed when dropped.
//!
//! ```no_run
//! let pg = kensa_testkit::pg::Cluster::start();
//! let url = pg.url(); // postgres://kensa@127.0.0.1:PORT/kensa
//! pg.stop();
//! pg.start_again();
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e} (scripts/setup installs PostgreSQL)"));
    assert!(
        out.status.success(),
        "{what}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Cluster {
    /// A new cluster with the role `kensa` and its database `kensa`.
    pub fn start() -> Cluster {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("initdb").exists())
            .max()
            .expect(
                "PostgreSQL binaries in /usr/lib/postgresql/*/bin (scripts/setup installs them)",
            );
        let dir = tempfile::Builder::new()
            .prefix("kensa-pg-cluster-")
            .tempdir()
            .expect("temp dir");
        run(
            Command::new("chown").arg("postgres:").arg(dir.path()),
            "chown the cluster directory to postgres",
        );
        let c = Cluster {
            bin,
            port: crate::free_port(),
            dir,
        };
        run(
            c.as_postgres("initdb").arg("-D").arg(c.data()).args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-instructions",
            ]),
            "initdb",
        );
        c.start_again();
        run(
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(c.bin.join("psql"))
                .args(["-q", "-h", "127.0.0.1", "-p", &c.port.to_string()])
                .args(["-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1"])
                .args(["-c", "CREATE ROLE kensa LOGIN"])
                .args(["-c", "CREATE DATABASE kensa OWNER kensa"]),
            "create the kensa role and database",
        );
        c
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn as_postgres(&self, tool: &str) -> Command {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(self.bin.join(tool));
        c
    }

    /// The database's URL, for `kensa server --database`.
    pub fn url(&self) -> String {
        format!("postgres://kensa@127.0.0.1:{}/kensa", self.port)
    }

    /// Starts the (stopped) cluster and waits until it accepts connections.
    pub fn start_again(&self) {
        let log = self.dir.path().join("server.log");
        run(
            self.as_postgres("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .arg("-l")
                .arg(&log)
                .arg("-w")
                .arg("-o")
                .arg(format!(
                    "-p {} -k {} -c listen_addresses=127.0.0.1",
                    self.port,
                    self.dir.path().display()
                ))
                .arg("start"),
            "pg_ctl start",
        );
    }

    /// Stops the cluster (fast shutdown: clients are disconnected) and
    /// waits until it is down.
    pub fn stop(&self) {
        run(
            self.as_postgres("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .args(["-m", "fast", "-w", "stop"]),
            "pg_ctl stop",
        );
    }

    /// Turns TLS on with this certificate and key (PEM) and restarts the
    /// cluster. With `tls_only`, TCP clients must use TLS (`hostssl` only
    /// in `pg_hba.conf`), so a client that connects at all proves it did.
    pub fn enable_tls(&self, cert_pem: &str, key_pem: &str, tls_only: bool) {
        let data = self.data();
        std::fs::write(data.join("server.crt"), cert_pem).expect("write server.crt");
        std::fs::write(data.join("server.key"), key_pem).expect("write server.key");
        run(
            Command::new("chown")
                .arg("postgres:")
                .arg(data.join("server.crt"))
                .arg(data.join("server.key")),
            "chown the certificate",
        );
        run(
            Command::new("chmod")
                .arg("0600")
                .arg(data.join("server.key")),
            "chmod the key",
        );
        let conf = data.join("postgresql.conf");
        let mut c = std::fs::read_to_string(&conf).expect("read postgresql.conf");
        c.push_str("\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
        std::fs::write(&conf, c).expect("write postgresql.conf");
        if tls_only {
            std::fs::write(
                data.join("pg_hba.conf"),
                "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
            )
            .expect("write pg_hba.conf");
        }
        self.stop();
        self.start_again();
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .as_postgres("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "stop"])
            .output();
    }
}
