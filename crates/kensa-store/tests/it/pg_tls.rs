//! TLS to PostgreSQL against a real cluster that accepts TCP clients over
//! TLS only (`hostssl`), so that every connection that succeeds proves it
//! was encrypted, and every refusal shows what Kensa would not accept.

use kensa_store::{Backend, Db};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};

struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn ca_file(&self) -> String {
        self.dir.path().join("ca.pem").display().to_string()
    }
    fn other_ca_file(&self) -> String {
        self.dir.path().join("other-ca.pem").display().to_string()
    }
}

fn ca(name: &str) -> (rcgen::Certificate, rcgen::Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().expect("CA key");
    let mut p = CertificateParams::default();
    p.distinguished_name.push(DnType::CommonName, name);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cert = p.self_signed(&key).expect("CA certificate");
    (cert, rcgen::Issuer::new(p, key))
}

/// A CA, a server certificate it signed for `localhost` only, and a
/// second CA that signed nothing the server has.
fn pki(cluster: &kensa_testkit::pg::Cluster) -> Pki {
    let (ca_cert, issuer) = ca("Kensa test database CA");
    let (other_cert, _) = ca("Some other CA");
    let key = KeyPair::generate().expect("server key");
    let mut p = CertificateParams::default();
    p.distinguished_name.push(DnType::CommonName, "localhost");
    p.subject_alt_names = vec![SanType::DnsName("localhost".try_into().expect("name"))];
    let cert = p.signed_by(&key, &issuer).expect("server certificate");
    cluster.enable_tls(&cert.pem(), &key.serialize_pem(), true);
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("ca.pem"), ca_cert.pem()).expect("write ca");
    std::fs::write(dir.path().join("other-ca.pem"), other_cert.pem()).expect("write ca");
    Pki { dir }
}

/// Opens the database; on failure the whole error chain as text (the
/// handshake's reason is in the sources).
fn open(url: &str) -> Result<Db, String> {
    let backend: Backend = url.parse().map_err(|e| format!("{e}"))?;
    Db::open(&backend).map_err(|e| {
        let mut s = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(c) = src {
            s.push_str(": ");
            s.push_str(&c.to_string());
            src = c.source();
        }
        s
    })
}

#[test]
#[ignore = "needs PostgreSQL binaries (scripts/setup); scripts/test runs it"]
fn postgres_over_tls_verifies_the_server_and_refuses_what_it_cannot_verify() {
    let cluster = kensa_testkit::pg::Cluster::start();
    let pki = pki(&cluster);
    let port = cluster.port;
    let ip = format!("postgres://kensa@127.0.0.1:{port}/kensa");
    let name = format!("postgres://kensa@localhost:{port}/kensa");
    let ca = pki.ca_file();

    // Without TLS the server turns the client away: the cluster really
    // requires TLS, so the successes below were encrypted.
    let e = open(&ip).err().expect("plain TCP is refused by hostssl");
    assert!(
        e.contains("no encryption") || e.contains("pg_hba.conf"),
        "{e}"
    );

    // verify-full: the chain and the name.
    let db = open(&format!("{name}?sslmode=verify-full&sslrootcert={ca}"))
        .unwrap_or_else(|e| panic!("verify-full by name: {e}"));
    assert!(
        db.schema_version().expect("schema version") > 0,
        "migrations ran over TLS"
    );
    drop(db);
    let e = open(&format!("{ip}?sslmode=verify-full&sslrootcert={ca}"))
        .err()
        .expect("the certificate does not name 127.0.0.1");
    assert!(e.to_lowercase().contains("certificate"), "{e}");

    // verify-ca and require: the chain only, so an address works.
    for mode in ["verify-ca", "require"] {
        open(&format!("{ip}?sslmode={mode}&sslrootcert={ca}"))
            .unwrap_or_else(|e| panic!("{mode} by address: {e}"));
    }

    // A chain to another CA is never accepted, whatever the mode.
    for mode in ["verify-ca", "verify-full", "require"] {
        let e = open(&format!(
            "{name}?sslmode={mode}&sslrootcert={}",
            pki.other_ca_file()
        ))
        .err()
        .expect("unknown issuer");
        assert!(e.to_lowercase().contains("certificate"), "{mode}: {e}");
    }

    // The root certificate file is named when it cannot be read, and modes
    // that could fall back to an unverified server are refused up front.
    let e = open(&format!(
        "{name}?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"
    ))
    .err()
    .expect("missing file");
    assert!(e.contains("/nonexistent/ca.pem"), "{e}");
    let e = open(&format!("{name}?sslmode=prefer"))
        .err()
        .expect("prefer");
    assert!(e.contains("sslmode=prefer"), "{e}");
}
