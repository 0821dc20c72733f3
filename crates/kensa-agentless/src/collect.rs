//! From the target's answer to the inventory document, through the very
//! parsers `kensa inventory --root` uses.

use std::collections::BTreeMap;

use kensa_inventory::fs::{DirEntry, EntryKind, Root};
use kensa_inventory::model::{self, Inventory, Problem};
use kensa_inventory::rpm::{self, header::RpmInfo};
use kensa_inventory::{Found, InventoryError};

use crate::error::{AgentlessError, Reason, Result};
use crate::script::Answer;
use crate::target::SshTarget;

/// The files and listings fetched from the target, as a read-only root:
/// the collectors cannot tell it from a directory.
#[derive(Debug, Default)]
pub struct FetchedRoot {
    /// Root-relative path (no leading `/`) to content.
    pub files: BTreeMap<String, Vec<u8>>,
    pub dirs: BTreeMap<String, Vec<DirEntry>>,
    pub describe: String,
}

impl Root for FetchedRoot {
    fn read(&self, path: &str, limit: u64) -> kensa_inventory::Result<Option<Vec<u8>>> {
        match self.files.get(path.trim_start_matches('/')) {
            Some(b) if b.len() as u64 > limit => Err(InventoryError::TooLarge {
                path: path.into(),
                size: b.len() as u64,
                limit,
            }),
            Some(b) => Ok(Some(b.clone())),
            None => Ok(None),
        }
    }

    fn read_dir(&self, path: &str) -> kensa_inventory::Result<Vec<DirEntry>> {
        Ok(self
            .dirs
            .get(path.trim_matches('/'))
            .cloned()
            .unwrap_or_default())
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }
}

fn parse_listing(text: &str) -> Vec<DirEntry> {
    let mut out: Vec<DirEntry> = text
        .lines()
        .filter_map(|l| {
            let (t, name) = l.split_once(' ')?;
            let kind = match t {
                "f" => EntryKind::File,
                "d" => EntryKind::Dir,
                "l" => EntryKind::Symlink,
                "o" => EntryKind::Other,
                _ => return None,
            };
            Some(DirEntry {
                name: name.into(),
                kind,
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// One line of `rpm -qa --qf` ([`script::RPM_QF`]).
pub fn parse_rpm_line(line: &str) -> Result<Option<RpmInfo>, String> {
    let f: Vec<&str> = line.split('\t').collect();
    if f.len() != 8 && f.len() != 9 {
        return Err(format!("{} fields, expected 8 or 9", f.len()));
    }
    let opt = |s: &str| (s != "(none)" && !s.is_empty()).then(|| s.to_owned());
    let num = |what: &str, s: &str| -> Result<Option<u32>, String> {
        opt(s)
            .map(|v| {
                v.parse::<u32>()
                    .map_err(|_| format!("{what} {v:?} is not a number"))
            })
            .transpose()
    };
    let name = opt(f[0]).ok_or("no name")?;
    if name == rpm::header::GPG_PUBKEY {
        return Ok(None);
    }
    Ok(Some(RpmInfo {
        name,
        epoch: num("epoch", f[1])?,
        version: opt(f[2]).ok_or("no version")?,
        release: opt(f[3]).ok_or("no release")?,
        arch: opt(f[4]),
        source_rpm: opt(f[5]),
        vendor: opt(f[6]),
        install_time: num("install time", f[7])?,
        modularity_label: f.get(8).and_then(|s| opt(s)),
    }))
}

/// The rpm database `rpm -qa` read, named as `kensa inventory --root`
/// names it: the first of `rpmdb.sqlite`, `Packages.db`, `Packages` in a
/// database directory, real directories before symlinks to them.
fn rpm_db_path(root: &FetchedRoot) -> String {
    let mut dirs: Vec<(&str, bool)> = rpm::DB_DIRS
        .iter()
        .map(|d| {
            let (parent, name) = d.rsplit_once('/').unwrap_or(("", d));
            let link = root
                .read_dir(parent)
                .unwrap_or_default()
                .iter()
                .any(|e| e.name == name && e.kind == EntryKind::Symlink);
            (*d, link)
        })
        .collect();
    dirs.sort_by_key(|&(_, link)| link);
    for (dir, _) in &dirs {
        let listing = root.read_dir(dir).unwrap_or_default();
        for backend in rpm::Backend::ALL {
            if listing.iter().any(|e| e.name == backend.file_name()) {
                return format!("{dir}/{}", backend.file_name());
            }
        }
    }
    "var/lib/rpm".into()
}

/// Sections whose failure would make the inventory incomplete: the scan
/// fails rather than report a host without its packages (which would close
/// its findings).
fn required(name: &str) -> bool {
    name.starts_with("file /var/lib/dpkg/")
        || name.starts_with("file /lib/apk/")
        || name.starts_with("file /etc/")
        || name == "file /usr/lib/os-release"
}

/// Give the fetched language package files the directory entries the
/// `--root` walk finds them by: each file and its ancestors are added to
/// the listings (real listings fetched for other reasons keep their
/// entries).
fn add_lang_tree(root: &mut FetchedRoot, files: &[String]) {
    for path in files {
        let rel = path.trim_start_matches('/');
        if !root.files.contains_key(rel) {
            continue;
        }
        let mut parent = String::new();
        let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
        for (i, part) in parts.iter().enumerate() {
            let kind = if i + 1 == parts.len() {
                EntryKind::File
            } else {
                EntryKind::Dir
            };
            let listing = root.dirs.entry(parent.clone()).or_default();
            if let Err(at) = listing.binary_search_by(|e| e.name.as_str().cmp(part)) {
                listing.insert(
                    at,
                    DirEntry {
                        name: (*part).to_owned(),
                        kind,
                    },
                );
            }
            if !parent.is_empty() {
                parent.push('/');
            }
            parent.push_str(part);
        }
    }
}

/// Problems the language file search reports: files over the size cap,
/// and more files than were fetched.
fn lang_problems(answer: &Answer, problems: &mut Vec<Problem>) {
    let Some(list) = answer.sections.get("lang-find") else {
        return;
    };
    let text = String::from_utf8_lossy(&list.output);
    let mut listed = 0;
    for line in text.lines().filter(|l| !l.is_empty()) {
        match line.strip_prefix("big ") {
            Some(path) => problems.push(Problem::partial(
                path,
                "over the size cap for language package files over SSH: not fetched",
            )),
            None => listed += 1,
        }
    }
    if listed > answer.lang_files.len() {
        problems.push(Problem::partial(
            "language packages",
            format!(
                "more language package files than the cap: the first {} were read",
                answer.lang_files.len()
            ),
        ));
    }
}

/// Build the inventory from the target's answer.
pub fn inventory(target: &SshTarget, answer: &Answer) -> Result<Inventory> {
    let fail = |reason, detail: String| AgentlessError::new(target, reason, detail);
    let mut root = FetchedRoot {
        describe: target.to_string(),
        ..FetchedRoot::default()
    };
    let mut found = Found::default();
    let mut problems = Vec::new();
    let mut listeners = Vec::new();
    let mut running = None;
    let mut hostname = None;
    let mut rpm_lines = None;
    let mut rpm_failed = None;
    for (name, section) in &answer.sections {
        let timed_out = answer.bounded && (section.status == 137 || section.status == 124);
        if timed_out {
            return Err(fail(
                Reason::TimedOut,
                format!("{name}: killed after the per-command time limit"),
            ));
        }
        if name == "rpm" && (section.status != 0 || section.output.is_empty()) {
            rpm_failed = Some(section.status);
            continue;
        }
        if section.status != 0 {
            let msg = format!("{name}: exited with status {}", section.status);
            if required(name) {
                return Err(fail(Reason::UnsupportedOs, msg));
            }
            problems.push(Problem::partial(
                name.clone(),
                format!("exited with status {}", section.status),
            ));
            continue;
        }
        let text = || String::from_utf8_lossy(&section.output);
        if let Some(run) = name.strip_prefix("ss ") {
            let (proto, family) = run.split_at(run.len().saturating_sub(1));
            listeners.extend(crate::sockets::parse_ss(&text(), proto, family == "6"));
        } else if name == "netstat" {
            listeners.extend(crate::sockets::parse_netstat(&text()));
        } else if name == "lang-find" || name == "lang-files" {
            // Read below, after every file is in the root.
        } else if let Some(path) = name.strip_prefix("file /proc/net/") {
            let v6 = path.ends_with('6');
            let proto = path.trim_end_matches('6');
            listeners.extend(kensa_inventory::net::parse_table(
                &text(),
                proto,
                v6,
                &Default::default(),
            ));
        } else if let Some(path) = name.strip_prefix("file /") {
            root.files.insert(path.into(), section.output.clone());
        } else if let Some(path) = name.strip_prefix("dir /") {
            root.dirs.insert(path.into(), parse_listing(&text()));
        } else if name == "uname-r" {
            running = Some(text().trim().to_owned()).filter(|s| !s.is_empty());
        } else if name == "uname-n" {
            hostname = Some(text().trim().to_owned()).filter(|s| !s.is_empty());
        } else if name == "rpm" {
            rpm_lines = Some(text().into_owned());
        }
    }
    if let Some(status) = rpm_failed {
        let fetched = root.files.keys().any(|f| {
            rpm::DB_DIRS.iter().any(|d| {
                f.strip_prefix(d).is_some_and(|rest| {
                    rpm::Backend::ALL
                        .iter()
                        .any(|b| rest == format!("/{}", b.file_name()))
                })
            })
        });
        if !fetched && status == 0 {
            // rpm is installed but keeps no database here (Debian with
            // the rpm tool): no rpm packages.
        } else if !fetched {
            return Err(fail(
                Reason::UnsupportedOs,
                format!(
                    "rpm -qa exited with status {status} and no rpm database file could be read instead"
                ),
            ));
        } else {
            problems.push(Problem::partial(
                "rpm -qa",
                format!(
                    "exited with status {status} and listed nothing; the database file was read instead"
                ),
            ));
        }
    }
    if let Some(lines) = rpm_lines {
        let path = rpm_db_path(&root);
        for (n, line) in lines.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
            match parse_rpm_line(line) {
                Ok(Some(info)) => found.packages.push(rpm::package(info, &path)),
                Ok(None) => {}
                Err(e) => {
                    return Err(fail(
                        Reason::BadOutput,
                        format!("rpm -qa line {}: {e}", n + 1),
                    ));
                }
            }
        }
    }
    add_lang_tree(&mut root, &answer.lang_files);
    lang_problems(answer, &mut problems);
    let mut inv = kensa_inventory::collect_root_with(&root, false, found);
    inv.kernels.running = running;
    if hostname.is_some() {
        inv.host.hostname = hostname;
    }
    listeners.sort();
    listeners.dedup();
    inv.listeners = listeners;
    inv.problems.extend(problems);
    inv.source = model::Source {
        kind: model::SourceKind::Host,
        path: format!("ssh://{target}"),
        image: None,
    };
    inv.normalise();
    Ok(inv)
}
