//! The TLS client configuration: the server's own CA pinned from a PEM
//! file (the default; the root store holds that CA and nothing else), or
//! the operating system's trust store when told to (`--ca system`). Never
//! plain HTTP.
//!
//! Built on the `rustls` that `ureq` itself uses (re-exported as
//! `ureq::rustls`), so that the configuration handed to
//! `ureq::AgentBuilder::tls_config` is always of the same version, with the
//! same `ring` provider.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ureq::rustls;
use ureq::rustls::pki_types::CertificateDer;
use ureq::rustls::pki_types::pem::PemObject;

use crate::error::{AgentError, Result};

/// Which certificate authorities the agent trusts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaSource {
    /// Only the CA(s) in this PEM file: the server's own CA, which
    /// `kensa server` creates at first start and prints the path of.
    Pinned(PathBuf),
    /// The operating system's trust store (`/etc/ssl/certs`, honouring
    /// `SSL_CERT_FILE` / `SSL_CERT_DIR`), for a server behind a certificate
    /// from a public or corporate CA.
    System,
}

/// Read every certificate of a PEM file. An unreadable file, one with no
/// `CERTIFICATE` block, or a block that is not valid base64 is an error
/// naming the file.
pub fn read_pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    // Read it first so that a missing file is an I/O error with its path.
    let bytes = std::fs::read(path).map_err(|e| AgentError::io(path, e))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| AgentError::Tls {
            path: path.to_path_buf(),
            message: format!("not a PEM certificate file: {e}"),
        })?;
    if certs.is_empty() {
        return Err(AgentError::Tls {
            path: path.to_path_buf(),
            message: "no certificate (no \"BEGIN CERTIFICATE\" block) in this file".into(),
        });
    }
    Ok(certs)
}

/// A root store holding exactly the CA certificates of `path`.
pub fn pinned_roots(path: &Path) -> Result<rustls::RootCertStore> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in read_pem_certs(path)? {
        roots.add(cert).map_err(|e| AgentError::Tls {
            path: path.to_path_buf(),
            message: format!("not a usable CA certificate: {e}"),
        })?;
    }
    Ok(roots)
}

/// The operating system's trust store. Certificates that do not parse are
/// skipped (the store always has a few); an empty result is an error.
pub fn system_roots() -> Result<rustls::RootCertStore> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = found
            .errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        return Err(AgentError::Tls {
            path: PathBuf::from("/etc/ssl/certs"),
            message: format!("no usable certificate in the system trust store {why}"),
        });
    }
    Ok(roots)
}

/// The client configuration for `ca`: TLS 1.2 and 1.3 with rustls' safe
/// defaults and the `ring` provider, no client certificate.
pub fn client_config(ca: &CaSource) -> Result<Arc<rustls::ClientConfig>> {
    let (roots, path) = match ca {
        CaSource::Pinned(p) => (pinned_roots(p)?, p.clone()),
        CaSource::System => (system_roots()?, PathBuf::from("/etc/ssl/certs")),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| AgentError::Tls {
            path,
            message: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
