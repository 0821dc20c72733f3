//! `kensa findings export` and `kensa findings decrypt`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use kensa_agent::CaSource;

use crate::FindingsCommand;

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("kensa findings: {e}");
    ExitCode::from(2)
}

pub fn run(c: FindingsCommand) -> ExitCode {
    match c {
        FindingsCommand::Export {
            server,
            ca,
            token,
            format,
            filter,
            sort,
            output,
        } => match export(
            &server,
            ca,
            &token,
            &format,
            &filter,
            sort.as_deref(),
            output.as_deref(),
        ) {
            Ok(n) => {
                if output.is_some() {
                    eprintln!("kensa findings: {n} bytes written");
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        FindingsCommand::Decrypt {
            kek_file,
            input,
            output,
        } => match decrypt(&kek_file, &input, &output) {
            Ok(n) => {
                eprintln!(
                    "kensa findings: {n} bytes decrypted to {}",
                    output.display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
    }
}

pub(crate) fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b));
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Streams the export into the output, never holding it whole; the bytes
/// written. A file is written beside its final name and renamed once
/// complete, so that a cut connection never leaves a short export looking
/// whole.
fn export(
    server: &str,
    ca: Option<PathBuf>,
    token: &str,
    format: &str,
    filter: &str,
    sort: Option<&str>,
    output: Option<&Path>,
) -> Result<u64, String> {
    if !matches!(format, "csv" | "json") {
        return Err(format!("--format {format:?}: csv or json"));
    }
    let ca = match ca {
        Some(p) => CaSource::Pinned(p),
        None => CaSource::System,
    };
    let tls = kensa_agent::tls::client_config(&ca).map_err(|e| e.to_string())?;
    let agent = ureq::AgentBuilder::new()
        .tls_config(tls)
        .timeout_connect(Duration::from_secs(30))
        .timeout_read(Duration::from_secs(300))
        .build();
    let mut url = format!(
        "{}/api/v1/findings/export?format={format}&filter={}",
        server.trim_end_matches('/'),
        enc(filter)
    );
    if let Some(s) = sort {
        url.push_str(&format!("&sort={}", enc(s)));
    }
    let res = agent
        .get(&url)
        .set("Authorization", &format!("Bearer {token}"))
        .call()
        .map_err(|e| match e {
            ureq::Error::Status(code, r) => {
                let body = r.into_string().unwrap_or_default();
                let msg = serde_json::from_str::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v["error"].as_str().map(str::to_owned))
                    .unwrap_or(body);
                format!("{server}: HTTP {code}: {msg}")
            }
            e => format!("{server}: {e}"),
        })?;
    let mut body = res.into_reader();
    match output {
        None => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            let n = std::io::copy(&mut body, &mut out).map_err(|e| format!("export: {e}"))?;
            out.flush().map_err(|e| format!("standard output: {e}"))?;
            Ok(n)
        }
        Some(path) => {
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let io = |e: std::io::Error| format!("{}: {e}", path.display());
            let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
            let n = std::io::copy(&mut body, &mut std::io::BufWriter::new(tmp.as_file_mut()))
                .map_err(|e| {
                    format!(
                        "export cut short ({e}); nothing written to {}",
                        path.display()
                    )
                })?;
            tmp.as_file().sync_all().map_err(io)?;
            tmp.persist(path).map_err(|e| io(e.error))?;
            Ok(n)
        }
    }
}

fn decrypt(kek: &Path, input: &Path, output: &Path) -> Result<u64, String> {
    let kek = kensa_server::export::Kek::from_file(kek).map_err(|e| e.to_string())?;
    let file = std::fs::File::open(input).map_err(|e| format!("{}: {e}", input.display()))?;
    let dir = output
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let io = |e: std::io::Error| format!("{}: {e}", output.display());
    let tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    let n = kensa_server::export::decrypt(
        std::io::BufReader::new(file).take(u64::MAX),
        std::io::BufWriter::new(tmp.as_file()),
        &kek,
    )
    .map_err(|e| format!("{}: {e}", input.display()))?;
    tmp.persist(output).map_err(|e| io(e.error))?;
    Ok(n)
}
