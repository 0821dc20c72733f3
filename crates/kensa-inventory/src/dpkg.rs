//! dpkg's database: `var/lib/dpkg/status`, and the per-package files of
//! distroless images in `var/lib/dpkg/status.d/`.
//!
//! Only packages whose status is really "installed" count: `deinstall ok
//! config-files` (removed, configuration left) or `half-installed` are not
//! software on the host. The `Source:` field is kept with its optional
//! version, because Debian and Ubuntu advisories are keyed by source
//! package and a binNMU'd binary can carry a different version than its
//! source.

use crate::Found;
use crate::error::{InventoryError, Result};
use crate::fs::{EntryKind, Root};
use crate::model::{Package, PackageKind};

pub const STATUS: &str = "var/lib/dpkg/status";
pub const STATUS_D: &str = "var/lib/dpkg/status.d";
const LIMIT: u64 = 256 * 1024 * 1024;

pub fn collect(root: &dyn Root, found: &mut Found) {
    match root.read_text(STATUS, LIMIT) {
        Ok(Some(text)) => parse_status(&text, STATUS, found),
        Ok(None) => {}
        Err(e) => found.problem(e),
    }
    let entries = match root.read_dir(STATUS_D) {
        Ok(e) => e,
        Err(e) => return found.problem(e),
    };
    for e in entries {
        // status.d also holds `<pkg>.md5sums` files beside each paragraph.
        if e.kind != EntryKind::File || e.name.ends_with(".md5sums") {
            continue;
        }
        let path = format!("{STATUS_D}/{}", e.name);
        match root.read_text(&path, LIMIT) {
            Ok(Some(text)) => parse_status(&text, &path, found),
            Ok(None) => {}
            Err(e) => found.problem(e),
        }
    }
}

/// Parse a status file's paragraphs into installed packages; a paragraph
/// that lacks a required field is a problem naming the file and its line.
pub fn parse_status(text: &str, path: &str, found: &mut Found) {
    let before = found.packages.len();
    let mut not_installed = 0;
    for para in paragraphs(text) {
        match package(&para, path) {
            Ok(Some(p)) => found.packages.push(p),
            Ok(None) => not_installed += 1,
            Err(e) => found.problem(e),
        }
    }
    // Paragraphs of removed packages are a database with nothing
    // installed, not one that could not be read.
    if not_installed == 0 {
        found.check_yield(path, text.as_bytes(), before, "dpkg status");
    }
}

/// One control paragraph: its first line number and its fields.
struct Paragraph<'a> {
    line: usize,
    fields: Vec<(&'a str, &'a str)>,
}

impl<'a> Paragraph<'a> {
    fn get(&self, name: &str) -> Option<&'a str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
            .filter(|v| !v.is_empty())
    }
}

fn paragraphs(text: &str) -> Vec<Paragraph<'_>> {
    let mut out = Vec::new();
    let mut current = Paragraph {
        line: 1,
        fields: Vec::new(),
    };
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            if !current.fields.is_empty() {
                out.push(std::mem::replace(
                    &mut current,
                    Paragraph {
                        line: n + 2,
                        fields: Vec::new(),
                    },
                ));
            } else {
                current.line = n + 2;
            }
            continue;
        }
        // Continuation lines (descriptions, conffiles) belong to the
        // previous field; none of the fields read here are multi-line.
        if line.starts_with([' ', '\t']) {
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            current.fields.push((k.trim(), v.trim()));
        }
    }
    if !current.fields.is_empty() {
        out.push(current);
    }
    out
}

fn package(p: &Paragraph<'_>, path: &str) -> Result<Option<Package>> {
    let at = |msg: String| InventoryError::parse(format!("{path}:{}", p.line), msg);
    let Some(name) = p.get("Package") else {
        return Err(at("paragraph has no Package field".into()));
    };
    // Status is "want flag state"; only the state matters. Distroless
    // status.d files omit Status: their packages are installed by
    // construction.
    if let Some(status) = p.get("Status") {
        let state = status.split_whitespace().nth(2);
        if state != Some("installed") {
            return Ok(None);
        }
    }
    let Some(version) = p.get("Version") else {
        return Err(at(format!("package {name} has no Version field")));
    };
    if let Err(e) = kensa_version::dpkg::validate(version) {
        return Err(at(format!("package {name}: {e}")));
    }
    let (source_name, source_version) = match p.get("Source") {
        Some(src) => match src.split_once('(') {
            Some((n, v)) => (
                n.trim().to_owned(),
                Some(v.trim_end_matches(')').trim().to_owned()),
            ),
            None => (src.trim().to_owned(), None),
        },
        // No Source field: the source package has the binary's name.
        None => (name.to_owned(), None),
    };
    Ok(Some(Package {
        kind: Some(PackageKind::Deb),
        name: name.to_owned(),
        version: version.to_owned(),
        arch: p.get("Architecture").map(str::to_owned),
        source_name: Some(source_name),
        source_version,
        maintainer: p.get("Maintainer").map(str::to_owned),
        // Only packages built outside the distribution usually set it
        // (`Origin: Docker`); detection uses it to keep third-party
        // packages away from the distribution's advisories.
        vendor: p.get("Origin").map(str::to_owned),
        path: path.to_owned(),
        ..Package::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_only_with_source_and_version() {
        let text = "Package: a\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\nSource: asrc (1.0-0.1)\nDescription: x\n long text\n\n\
                    Package: b\nStatus: deinstall ok config-files\nVersion: 2\n\n\
                    Package: c\nStatus: hold ok installed\nVersion: 1:3~rc1\nSource: csrc\n";
        let mut f = Found::default();
        parse_status(text, STATUS, &mut f);
        assert!(f.problems.is_empty(), "{:?}", f.problems);
        let got: Vec<_> = f
            .packages
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.version.as_str(),
                    p.source_name.as_deref(),
                    p.source_version.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("a", "1.0-1", Some("asrc"), Some("1.0-0.1")),
                ("c", "1:3~rc1", Some("csrc"), None)
            ]
        );
    }

    #[test]
    fn broken_paragraphs_are_problems_with_line_numbers() {
        let text = "Package: ok\nStatus: install ok installed\nVersion: 1\n\nStatus: install ok installed\nVersion: 1\n\nPackage: nover\nStatus: install ok installed\n\nPackage: badver\nStatus: install ok installed\nVersion: 1:\n";
        let mut f = Found::default();
        parse_status(text, STATUS, &mut f);
        assert_eq!(f.packages.len(), 1);
        let msgs: Vec<_> = f
            .problems
            .iter()
            .map(|p| format!("{} {}", p.path, p.message))
            .collect();
        assert_eq!(msgs.len(), 3, "{msgs:?}");
        assert!(msgs[0].starts_with("var/lib/dpkg/status:5 "), "{msgs:?}");
        assert!(
            msgs[1].contains(":8 ") && msgs[1].contains("nover"),
            "{msgs:?}"
        );
        assert!(
            msgs[2].contains("badver") && msgs[2].contains("nothing after colon"),
            "{msgs:?}"
        );
    }
}
