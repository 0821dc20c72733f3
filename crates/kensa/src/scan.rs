//! `kensa scan`: inventory (or a saved one), match against the knowledge
//! base, filter, render, and exit with a status a CI job can gate on.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use kensa_detect::report::{self, Format};
use kensa_detect::{Band, Exposure, Finding, Options, Status, Summary};
use kensa_inventory::{Inventory, Target};
use kensa_kb::base::KnowledgeBase;

/// What `kensa scan` was asked.
pub struct Args {
    pub ssh: crate::ssh::SshArgs,
    pub root: Option<PathBuf>,
    pub image: Option<PathBuf>,
    pub inventory: Option<PathBuf>,
    pub store: PathBuf,
    pub format: Format,
    pub output: Option<PathBuf>,
    pub severity: Vec<Band>,
    pub ignore_unfixed: bool,
    pub only_fixed: bool,
    pub kev: bool,
    pub exposure: Exposure,
    pub exit_code: u8,
    pub today: Option<String>,
}

/// Keep the findings the filters allow.
pub fn filter(findings: &mut Vec<Finding>, args: &Args) {
    findings.retain(|f| {
        (args.severity.is_empty() || args.severity.contains(&f.severity))
            && !(args.ignore_unfixed && f.status == Status::Affected)
            && !(args.only_fixed && f.fixed_version.is_none())
            && !(args.kev && f.kev.is_none())
    });
}

fn load_inventory(path: &Path) -> Result<Inventory, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let inv: Inventory = serde_json::from_reader(std::io::BufReader::new(file)).map_err(|e| {
        format!(
            "{}: not a Kensa inventory document (line {}, column {}): {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })?;
    if inv.schema_version != kensa_inventory::model::SCHEMA_VERSION {
        return Err(format!(
            "{}: inventory schema {} is not this version's {}",
            path.display(),
            inv.schema_version,
            kensa_inventory::model::SCHEMA_VERSION
        ));
    }
    Ok(inv)
}

pub fn run(args: Args) -> ExitCode {
    // Open the knowledge base first: a missing one should fail before a
    // long inventory.
    let store = match KnowledgeBase::open(&args.store) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "kensa: no usable knowledge base at {}: {e}\nkensa: build one with `kensa db update` (or `kensa db import --mirror DIR`)",
                args.store.display()
            );
            return ExitCode::from(2);
        }
    };
    let inventory = match (&args.inventory, &args.image, &args.root, &args.ssh.ssh) {
        (_, _, _, Some(target)) => crate::ssh::collect(&args.ssh, target),
        (Some(path), _, _, None) => load_inventory(path),
        (None, Some(image), _, None) => {
            kensa_inventory::collect(&Target::Image(image.clone())).map_err(|e| e.to_string())
        }
        (None, None, Some(root), None) => {
            kensa_inventory::collect(&Target::Root(root.clone())).map_err(|e| e.to_string())
        }
        (None, None, None, None) => {
            kensa_inventory::collect(&Target::Host).map_err(|e| e.to_string())
        }
    };
    let inventory = match inventory {
        Ok(i) => i,
        Err(e) => {
            eprintln!("kensa: {e}");
            return ExitCode::from(2);
        }
    };
    let opts = Options {
        exposure: args.exposure,
        today: args.today.clone(),
        scanned_at: None,
        reachable: None,
    };
    let mut report = match kensa_detect::scan(&inventory, &store, &opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("kensa: {e}");
            return ExitCode::from(2);
        }
    };
    filter(&mut report.findings, &args);
    report.summary = Summary::of(&report.findings);

    let written = match &args.output {
        Some(path) => std::fs::File::create(path)
            .map_err(|e| format!("{}: {e}", path.display()))
            .and_then(|f| {
                let mut w = std::io::BufWriter::new(f);
                report::write(&report, args.format, &mut w, false)
                    .map_err(|e| e.to_string())
                    .and_then(|()| w.flush().map_err(|e| format!("{}: {e}", path.display())))
            }),
        None => {
            let stdout = std::io::stdout();
            let color = args.format == Format::Table
                && std::io::IsTerminal::is_terminal(&stdout)
                && std::env::var_os("NO_COLOR").is_none();
            let mut w = std::io::BufWriter::new(stdout.lock());
            report::write(&report, args.format, &mut w, color)
                .map_err(|e| e.to_string())
                .and_then(|()| w.flush().map_err(|e| e.to_string()))
        }
    };
    // The process ends here: freeing tens of thousands of findings one
    // string at a time took an eighth of a big scan's time, for memory
    // the exit gives back anyway.
    let report = std::mem::ManuallyDrop::new(report);
    std::mem::forget(inventory);
    std::mem::forget(store);
    if let Err(e) = written {
        eprintln!("kensa: {e}");
        return ExitCode::from(2);
    }
    // The report is written first: it names what could not be read.
    if report.os_packages_unread() {
        for w in report
            .warnings
            .iter()
            .filter(|w| w.kind == kensa_detect::OS_PACKAGES_UNREAD)
        {
            eprintln!("kensa: {}", w.message);
        }
        return ExitCode::from(2);
    }
    if args.exit_code != 0 && (!report.findings.is_empty() || report.inventory_incomplete()) {
        if report.findings.is_empty() {
            eprintln!(
                "kensa: no findings, but the inventory skipped something (see the warnings): exit {}",
                args.exit_code
            );
        }
        return ExitCode::from(args.exit_code);
    }
    ExitCode::SUCCESS
}
