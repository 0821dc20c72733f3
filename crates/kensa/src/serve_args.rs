//! The settings `kensa server` and `kensa up` share: where exports may go
//! (path, S3, encryption key) and who reads `/metrics`. One definition, so
//! that `up` takes exactly what `server` takes.

use std::path::PathBuf;

#[derive(clap::Args, Clone, Debug, Default)]
pub struct ExportArgs {
    /// The only directory export jobs may write files to (default:
    /// <data>/exports). S3 destinations use KENSA_S3_ENDPOINT,
    /// AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
    #[arg(long)]
    pub export_dir: Option<PathBuf>,
    /// The key-encryption key for client-side encrypted exports: 32
    /// raw bytes or 64 hex digits.
    #[arg(long, env = "KENSA_EXPORT_KEK_FILE")]
    pub export_kek_file: Option<PathBuf>,
}

impl ExportArgs {
    /// The export configuration, the S3 store read from the environment.
    pub fn config(self) -> kensa_server::export::ExportConfig {
        kensa_server::export::ExportConfig {
            dir: self.export_dir,
            kek_file: self.export_kek_file,
            s3: kensa_server::export::S3Config::from_env(),
        }
    }
}

#[derive(clap::Args, Clone, Debug, Default)]
pub struct ObserveArgs {
    /// A file holding the bearer token Prometheus sends to read /metrics
    /// (at least 16 characters; admins' credentials work too). Without
    /// it, /metrics on the main listener is for admins only
    /// (docs/operations.md).
    #[arg(long, env = "KENSA_METRICS_TOKEN_FILE")]
    pub metrics_token_file: Option<PathBuf>,
    /// Also serve /metrics, /healthz and /readyz on this address, in
    /// plain HTTP, for a private network (the metrics token is asked for
    /// there too when one is set).
    #[arg(long, env = "KENSA_METRICS_LISTEN")]
    pub metrics_listen: Option<std::net::SocketAddr>,
}

impl ObserveArgs {
    pub fn config(self) -> Result<kensa_server::observe::ObserveConfig, String> {
        let metrics_token = self
            .metrics_token_file
            .as_deref()
            .map(kensa_server::observe::ObserveConfig::token_from_file)
            .transpose()
            .map_err(|e| e.to_string())?;
        Ok(kensa_server::observe::ObserveConfig {
            metrics_token,
            metrics_listen: self.metrics_listen,
        })
    }
}
