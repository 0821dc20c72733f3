//! CA pinning: the configuration built from a PEM file trusts that CA and
//! nothing else. Checked with real TLS handshakes between the agent's
//! `rustls` client configuration and a `rustls` server configuration, over
//! in-memory buffers (a TLS handshake, not an HTTP server: the protocol is
//! tested against the real `kensa-server` by its integration tests).

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kensa_agent::tls::{client_config, read_pem_certs};
use kensa_agent::{AgentError, CaSource};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use ureq::rustls;
use ureq::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};

const HOST: &str = "kensa.test";

struct Pki {
    ca_pem: String,
    server: Arc<rustls::ServerConfig>,
}

/// A CA and a server certificate for [`HOST`] signed by it.
fn pki(name: &str) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, name);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec![HOST.to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone(), ca.der().clone()], key)
        .unwrap();
    Pki {
        ca_pem: ca.pem(),
        server: Arc::new(server),
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    p
}

/// Run a TLS handshake in memory; the client's error if it fails.
fn handshake(
    client: Arc<rustls::ClientConfig>,
    server: Arc<rustls::ServerConfig>,
) -> Result<(), String> {
    let mut c = rustls::ClientConnection::new(client, ServerName::try_from(HOST).unwrap()).unwrap();
    let mut s = rustls::ServerConnection::new(server).unwrap();
    for _ in 0..20 {
        let mut buf = Vec::new();
        while c.wants_write() {
            c.write_tls(&mut buf).unwrap();
        }
        let mut rd = &buf[..];
        while !rd.is_empty() {
            s.read_tls(&mut rd).unwrap();
        }
        if let Err(e) = s.process_new_packets() {
            return Err(format!("server: {e}"));
        }
        let mut buf = Vec::new();
        while s.wants_write() {
            s.write_tls(&mut buf).unwrap();
        }
        let mut rd = &buf[..];
        while !rd.is_empty() {
            c.read_tls(&mut rd).unwrap();
        }
        if let Err(e) = c.process_new_packets() {
            return Err(format!("client: {e}"));
        }
        if !c.is_handshaking() && !s.is_handshaking() {
            return Ok(());
        }
    }
    Err("handshake did not finish".into())
}

#[test]
fn the_pinned_ca_is_trusted_and_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let ours = pki("Kensa test CA");
    let theirs = pki("Some other CA");
    let ca = write(dir.path(), "ca.pem", &ours.ca_pem);
    assert_eq!(read_pem_certs(&ca).unwrap().len(), 1);
    let config = client_config(&CaSource::Pinned(ca)).unwrap();

    handshake(config.clone(), ours.server.clone()).unwrap();
    let err = handshake(config, theirs.server.clone()).unwrap_err();
    assert!(
        err.contains("client") && err.contains("UnknownIssuer"),
        "{err}"
    );
}

#[test]
fn a_bundle_of_cas_pins_each() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (pki("CA a"), pki("CA b"));
    let bundle = write(
        dir.path(),
        "bundle.pem",
        &format!("{}\n{}", a.ca_pem, b.ca_pem),
    );
    let config = client_config(&CaSource::Pinned(bundle)).unwrap();
    handshake(config.clone(), a.server).unwrap();
    handshake(config, b.server).unwrap();
}

#[test]
fn a_garbage_ca_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("garbage.pem", "this is not a certificate\n"),
        ("empty.pem", ""),
        (
            "broken.pem",
            "-----BEGIN CERTIFICATE-----\n!!!! not base64 !!!!\n-----END CERTIFICATE-----\n",
        ),
    ] {
        let path = write(dir.path(), name, text);
        let err = client_config(&CaSource::Pinned(path.clone())).unwrap_err();
        assert!(matches!(err, AgentError::Tls { .. }), "{name}: {err:?}");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{name}: {err}"
        );
    }
    // A key is not a CA certificate either.
    let key = KeyPair::generate().unwrap().serialize_pem();
    let path = write(dir.path(), "key.pem", &key);
    let err = client_config(&CaSource::Pinned(path.clone())).unwrap_err();
    assert!(err.to_string().contains("key.pem"), "{err}");
}

#[test]
fn a_missing_ca_file_is_an_error_naming_it() {
    let path = PathBuf::from("/nonexistent/kensa/ca.pem");
    let err = client_config(&CaSource::Pinned(path)).unwrap_err();
    assert!(matches!(err, AgentError::Io { .. }), "{err:?}");
    assert!(
        err.to_string().contains("/nonexistent/kensa/ca.pem"),
        "{err}"
    );
}

#[test]
fn a_certificate_that_is_not_x509_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    // Valid PEM and base64, but the DER inside is not a certificate.
    let path = write(
        dir.path(),
        "notx509.pem",
        "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n",
    );
    let err = client_config(&CaSource::Pinned(path)).unwrap_err();
    assert!(err.to_string().contains("notx509.pem"), "{err}");
}

#[test]
fn the_system_store_loads_when_the_host_has_one() {
    // Debian's ca-certificates: present on developer machines and CI.
    if !Path::new("/etc/ssl/certs/ca-certificates.crt").exists() {
        return;
    }
    client_config(&CaSource::System).unwrap();
}

#[test]
fn plain_http_is_refused() {
    let err = kensa_agent::Client::new("http://k.example", &CaSource::System).unwrap_err();
    assert!(err.to_string().contains("https://"), "{err}");
}
