//! The server's own certificate authority: created at first start in the
//! data directory, it signs the server's certificate, and agents pin it
//! (`--ca`). A private CA rather than the system roots because most fleets
//! run the server on an internal name no public CA will certify, and
//! pinning one CA means a stolen public certificate cannot impersonate the
//! server.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose,
    SanType,
};

use crate::error::{Result, ServerError};

/// Where the CA and the server's certificate live.
pub struct TlsFiles {
    pub ca_cert: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

impl TlsFiles {
    pub fn in_dir(dir: &Path) -> TlsFiles {
        TlsFiles {
            ca_cert: dir.join("ca.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
        }
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> ServerError + '_ {
    move |e| ServerError::Io {
        path: path.display().to_string(),
        source: e,
    }
}

fn tls_err(what: &str) -> impl Fn(rcgen::Error) -> ServerError + '_ {
    move |e| ServerError::Tls(format!("{what}: {e}"))
}

/// Write `contents` to `path` readable by its owner only, atomically.
fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io(&tmp))?;
    f.write_all(contents.as_bytes()).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// Create the CA and a server certificate for `names` (DNS names or IP
/// addresses) when they are missing; keep them otherwise.
pub fn ensure(files: &TlsFiles, names: &[String]) -> Result<()> {
    if files.ca_cert.exists() && files.server_cert.exists() && files.server_key.exists() {
        return Ok(());
    }
    let ca_key = KeyPair::generate().map_err(tls_err("CA key"))?;
    let mut ca = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "Kensa server CA");
    ca.distinguished_name = dn;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_after = rcgen::date_time_ymd(2046, 1, 1);
    let ca_cert = ca.self_signed(&ca_key).map_err(tls_err("CA certificate"))?;
    let issuer = rcgen::Issuer::new(ca, ca_key);

    let key = KeyPair::generate().map_err(tls_err("server key"))?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "Kensa server");
    params.distinguished_name = dn;
    params.subject_alt_names = names
        .iter()
        .map(|n| match n.parse::<std::net::IpAddr>() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => n
                .clone()
                .try_into()
                .map(SanType::DnsName)
                .map_err(tls_err("server name")),
        })
        .collect::<Result<_>>()?;
    params.not_after = rcgen::date_time_ymd(2036, 1, 1);
    let cert = params
        .signed_by(&key, &issuer)
        .map_err(tls_err("server certificate"))?;

    write_private(&files.server_key, &key.serialize_pem())?;
    std::fs::write(&files.server_cert, cert.pem()).map_err(io(&files.server_cert))?;
    std::fs::write(&files.ca_cert, ca_cert.pem()).map_err(io(&files.ca_cert))?;
    Ok(())
}

/// The rustls configuration serving the server's certificate.
pub fn server_config(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(&files.server_cert)
        .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| ServerError::Tls(format!("{}: {e}", files.server_cert.display())))?;
    let key = PrivateKeyDer::from_pem_file(&files.server_key)
        .map_err(|e| ServerError::Tls(format!("{}: {e}", files.server_key.display())))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| ServerError::Tls(e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| ServerError::Tls(e.to_string()))?;
    Ok(Arc::new(config))
}
