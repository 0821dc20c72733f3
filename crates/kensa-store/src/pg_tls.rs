//! TLS to PostgreSQL, for servers that reach their database over a
//! network.
//!
//! The connection string takes libpq's `sslmode` and `sslrootcert`
//! parameters (in a URL's query or as `key=value` words), read here
//! because `postgres::Config` knows neither `verify-ca` nor `verify-full`
//! nor a root certificate file. The modes differ from libpq's in one
//! deliberate way: Kensa never accepts a server certificate it has not
//! verified, so `require` checks the chain as libpq's `require` does when a
//! root certificate is present (libpq's documented `verify-ca` behaviour),
//! and `allow`/`prefer`, which would fall back to an unverified or plain
//! connection, are refused with a message saying what to write instead.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

use crate::{Result, StoreError};

/// How the connection to PostgreSQL is protected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TlsMode {
    /// No TLS (no `sslmode`, or `sslmode=disable`): a Unix socket or a
    /// loopback address, as before TLS was supported.
    Disable,
    /// TLS required; the server's chain verified against the root
    /// certificates, its name not checked (`require`, `verify-ca`).
    VerifyChain(Roots),
    /// TLS required; chain and host name verified (`verify-full`).
    VerifyFull(Roots),
}

/// Where the trusted root certificates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Roots {
    /// `sslrootcert=FILE`: PEM certificates.
    File(PathBuf),
    /// No `sslrootcert`: the operating system's trust store.
    System,
}

/// A connection string split into what `postgres::Config` reads and the
/// TLS settings it does not.
#[derive(Debug)]
pub(crate) struct PgTarget {
    pub(crate) config: String,
    pub(crate) tls: TlsMode,
}

impl PgTarget {
    /// Splits `sslmode` and `sslrootcert` off a `postgres://` URL or a
    /// `key=value` connection string.
    pub(crate) fn parse(conn: &str) -> Result<PgTarget> {
        let mut mode: Option<String> = None;
        let mut root: Option<String> = None;
        let config = if conn.starts_with("postgres://") || conn.starts_with("postgresql://") {
            match conn.split_once('?') {
                None => conn.to_owned(),
                Some((base, query)) => {
                    let mut kept = Vec::new();
                    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
                        match &*k {
                            "sslmode" => mode = Some(v.into_owned()),
                            "sslrootcert" => root = Some(v.into_owned()),
                            _ => kept.push((k.into_owned(), v.into_owned())),
                        }
                    }
                    if kept.is_empty() {
                        base.to_owned()
                    } else {
                        let q = url::form_urlencoded::Serializer::new(String::new())
                            .extend_pairs(kept)
                            .finish();
                        format!("{base}?{q}")
                    }
                }
            }
        } else {
            let mut kept = Vec::new();
            for word in conn.split_whitespace() {
                match word.split_once('=') {
                    Some(("sslmode", v)) => mode = Some(v.to_owned()),
                    Some(("sslrootcert", v)) => root = Some(v.to_owned()),
                    _ => kept.push(word),
                }
            }
            kept.join(" ")
        };
        let roots = || match &root {
            Some(f) if !f.is_empty() => Roots::File(PathBuf::from(f)),
            _ => Roots::System,
        };
        let tls = match mode.as_deref() {
            None | Some("disable") => {
                if root.is_some() {
                    return Err(StoreError::InvalidArgument(
                        "sslrootcert is set but sslmode is not: add sslmode=verify-full \
                         (or verify-ca) to use TLS"
                            .into(),
                    ));
                }
                TlsMode::Disable
            }
            Some("require" | "verify-ca") => TlsMode::VerifyChain(roots()),
            Some("verify-full") => TlsMode::VerifyFull(roots()),
            Some(m @ ("allow" | "prefer")) => {
                return Err(StoreError::InvalidArgument(format!(
                    "sslmode={m} could connect without TLS or with an unverified server: \
                     use sslmode=verify-full (with sslrootcert=FILE for a private CA), \
                     verify-ca, require, or disable"
                )));
            }
            Some(m) => {
                return Err(StoreError::InvalidArgument(format!(
                    "sslmode={m} is not a mode: disable, require, verify-ca or verify-full"
                )));
            }
        };
        Ok(PgTarget { config, tls })
    }

    /// Connects, over TLS when the mode asks for it.
    pub(crate) fn connect(&self) -> std::result::Result<postgres::Client, ConnectError> {
        let mut config: postgres::Config = self
            .config
            .parse()
            .map_err(|e| ConnectError::Db(crate::DbError::from(e)))?;
        match &self.tls {
            TlsMode::Disable => config
                .ssl_mode(postgres::config::SslMode::Disable)
                .connect(postgres::NoTls)
                .map_err(|e| ConnectError::Db(e.into())),
            TlsMode::VerifyChain(roots) | TlsMode::VerifyFull(roots) => {
                let check_name = matches!(self.tls, TlsMode::VerifyFull(_));
                let tls = client_config(roots, check_name).map_err(ConnectError::Config)?;
                config
                    .ssl_mode(postgres::config::SslMode::Require)
                    .connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
                    .map_err(|e| ConnectError::Db(e.into()))
            }
        }
    }
}

/// Why a connection could not be made: the database (unreachable,
/// refused, a failed handshake) or the TLS settings themselves.
pub(crate) enum ConnectError {
    Db(crate::DbError),
    Config(String),
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn client_config(
    roots: &Roots,
    check_name: bool,
) -> std::result::Result<rustls::ClientConfig, String> {
    let mut store = rustls::RootCertStore::empty();
    match roots {
        Roots::File(path) => {
            use rustls::pki_types::pem::PemObject;
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
                .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            if certs.is_empty() {
                return Err(format!(
                    "sslrootcert {}: no certificate in it",
                    path.display()
                ));
            }
            for c in certs {
                store
                    .add(c)
                    .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            }
        }
        Roots::System => {
            let found = rustls_native_certs::load_native_certs();
            for c in found.certs {
                // A system store may hold a certificate rustls cannot use;
                // the others still serve.
                let _ = store.add(c);
            }
            if store.is_empty() {
                return Err("no sslrootcert given and the system trust store is empty: \
                            set sslrootcert=FILE"
                    .into());
            }
        }
    }
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let store = Arc::new(store);
    let config = if check_name {
        builder.with_root_certificates(store).with_no_client_auth()
    } else {
        let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(store, provider)
            .build()
            .map_err(|e| e.to_string())?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ChainOnly(inner)))
            .with_no_client_auth()
    };
    Ok(config)
}

/// `verify-ca`: the chain must lead to a trusted root, whatever name the
/// certificate carries (a database reached by an address its certificate
/// does not list). Everything but the name check is webpki's.
#[derive(Debug)]
struct ChainOnly(Arc<rustls::client::WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_settings_are_split_off_both_forms() {
        let t = PgTarget::parse(
            "postgres://kensa@db:5432/kensa?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=k",
        )
        .expect("parses");
        assert_eq!(
            t.config,
            "postgres://kensa@db:5432/kensa?application_name=k"
        );
        assert_eq!(
            t.tls,
            TlsMode::VerifyFull(Roots::File("/etc/ca.pem".into()))
        );

        let t = PgTarget::parse("host=db user=kensa sslmode=require dbname=kensa").expect("parses");
        assert_eq!(t.config, "host=db user=kensa dbname=kensa");
        assert_eq!(t.tls, TlsMode::VerifyChain(Roots::System));

        let t = PgTarget::parse("postgres://kensa@127.0.0.1/kensa").expect("parses");
        assert_eq!(t.tls, TlsMode::Disable);
    }

    #[test]
    fn modes_that_could_skip_verification_are_refused_with_the_alternative() {
        for m in ["prefer", "allow"] {
            let e = PgTarget::parse(&format!("postgres://k@db/k?sslmode={m}"))
                .expect_err("refused")
                .to_string();
            assert!(
                e.contains(&format!("sslmode={m}")) && e.contains("verify-full"),
                "{e}"
            );
        }
        let e = PgTarget::parse("postgres://k@db/k?sslmode=strict").expect_err("refused");
        assert!(
            e.to_string().contains("sslmode=strict is not a mode"),
            "{e}"
        );
        let e = PgTarget::parse("postgres://k@db/k?sslrootcert=/ca.pem").expect_err("refused");
        assert!(
            e.to_string()
                .contains("sslrootcert is set but sslmode is not"),
            "{e}"
        );
    }
}
