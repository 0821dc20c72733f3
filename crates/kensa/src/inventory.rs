//! `kensa inventory`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use kensa_inventory::{Inventory, Target};

use crate::Format;

pub fn run(
    root: Option<PathBuf>,
    image: Option<PathBuf>,
    ssh: crate::ssh::SshArgs,
    format: Format,
) -> ExitCode {
    let result = match (root, image, &ssh.ssh) {
        (_, _, Some(target)) => crate::ssh::collect(&ssh, target),
        (_, Some(image), None) => {
            kensa_inventory::collect(&Target::Image(image)).map_err(|e| e.to_string())
        }
        (Some(root), None, None) => {
            kensa_inventory::collect(&Target::Root(root)).map_err(|e| e.to_string())
        }
        (None, None, None) => kensa_inventory::collect(&Target::Host).map_err(|e| e.to_string()),
    };
    let inv = match result {
        Ok(inv) => inv,
        Err(e) => {
            eprintln!("kensa: {e}");
            return ExitCode::from(2);
        }
    };
    for p in &inv.problems {
        eprintln!("kensa: warning: {}: {}", p.path, p.message);
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = match format {
        Format::Json => serde_json::to_writer_pretty(&mut out, &inv)
            .map_err(std::io::Error::other)
            .and_then(|()| writeln!(out)),
        Format::Table => table(&inv, &mut out),
    };
    if written.and_then(|()| out.flush()).is_err() {
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}

fn table(inv: &Inventory, out: &mut impl Write) -> std::io::Result<()> {
    match &inv.os {
        Some(os) => writeln!(
            out,
            "OS        {} {} ({})",
            os.id,
            os.release,
            os.pretty_name.as_deref().unwrap_or("")
        )?,
        None => writeln!(out, "OS        unknown")?,
    }
    writeln!(
        out,
        "Host      {}",
        inv.host.hostname.as_deref().unwrap_or("-")
    )?;
    writeln!(out, "Packages  {}", inv.packages.len())?;
    if let Some(k) = &inv.kernels.running {
        writeln!(out, "Kernel    {k} (running)")?;
    }
    writeln!(out, "Listeners {}", inv.listeners.len())?;
    writeln!(out)?;
    let w = inv
        .packages
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let vw = inv
        .packages
        .iter()
        .map(|p| p.version.len())
        .max()
        .unwrap_or(7)
        .max(7);
    writeln!(
        out,
        "{:<8} {:<w$} {:<vw$} {:<8} SOURCE",
        "KIND", "NAME", "VERSION", "ARCH"
    )?;
    for p in &inv.packages {
        let kind = p
            .kind
            .map(|k| format!("{k:?}").to_lowercase())
            .unwrap_or_default();
        writeln!(
            out,
            "{:<8} {:<w$} {:<vw$} {:<8} {}",
            kind,
            p.name,
            p.version,
            p.arch.as_deref().unwrap_or("-"),
            p.source_name
                .as_deref()
                .filter(|s| *s != p.name)
                .unwrap_or("")
        )?;
    }
    Ok(())
}

/// `kensa inventory push`: the document is checked here first (a file
/// that is not an inventory never leaves the machine), then sent as is.
pub fn push(
    server: &str,
    ca: Option<PathBuf>,
    token: &str,
    asset: &str,
    file: &std::path::Path,
) -> ExitCode {
    match push_inner(server, ca, token, asset, file) {
        Ok(v) => {
            eprintln!(
                "kensa: {} pushed as asset {} ({})",
                file.display(),
                v["asset_id"].as_str().unwrap_or("?"),
                if v["evaluation_queued"] == true {
                    "evaluation queued"
                } else {
                    "unchanged since the last inventory"
                }
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("kensa: {e}");
            ExitCode::from(2)
        }
    }
}

fn push_inner(
    server: &str,
    ca: Option<PathBuf>,
    token: &str,
    asset: &str,
    file: &std::path::Path,
) -> Result<serde_json::Value, String> {
    let body = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let inv: Inventory = serde_json::from_slice(&body).map_err(|e| {
        format!(
            "{}: not a Kensa inventory document (line {}, column {}): {e}",
            file.display(),
            e.line(),
            e.column()
        )
    })?;
    if inv.schema_version != kensa_inventory::model::SCHEMA_VERSION {
        return Err(format!(
            "{}: inventory schema {} is not this version's {}",
            file.display(),
            inv.schema_version,
            kensa_inventory::model::SCHEMA_VERSION
        ));
    }
    let ca = match ca {
        Some(p) => kensa_agent::CaSource::Pinned(p),
        None => kensa_agent::CaSource::System,
    };
    let tls = kensa_agent::tls::client_config(&ca).map_err(|e| e.to_string())?;
    let agent = ureq::AgentBuilder::new()
        .tls_config(tls)
        .timeout(std::time::Duration::from_secs(300))
        .build();
    let url = format!(
        "{}/api/v1/inventories?asset={}",
        server.trim_end_matches('/'),
        crate::findings::enc(asset)
    );
    let res = agent
        .post(&url)
        .set("Authorization", &format!("Bearer {token}"))
        .set("Content-Type", "application/json")
        .send_bytes(&body)
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
    let text = res.into_string().map_err(|e| format!("{server}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{server}: unexpected answer: {e}"))
}
