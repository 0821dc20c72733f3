//! Root filesystems for agents and scans, made from the data folder's real
//! package databases: what a test enrols or scans is a real apk database,
//! only edited where the test says so.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Alpine 3.4's `/etc/os-release`, as the release ships it.
const ALPINE_OS_RELEASE: &str = "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.4.6\nPRETTY_NAME=\"Alpine Linux v3.4\"\nHOME_URL=\"http://alpinelinux.org\"\nBUG_REPORT_URL=\"http://bugs.alpinelinux.org\"\n";

/// An Alpine 3.4.6 root: the data folder's real apk database
/// (`fixtures/apk/alpine/installed`) and `/etc/alpine-release`, with what
/// the builder adds.
///
/// ```no_run
/// let dir = tempfile::tempdir().unwrap();
/// let root = kensa_testkit::roots::AlpineRoot::new()
///     .hostname("web-1")
///     .version("busybox", "1.24.2-r11")
///     .write(&dir.path().join("root"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct AlpineRoot {
    hostname: Option<String>,
    machine_id: Option<String>,
    os_release: bool,
    versions: Vec<(String, String)>,
    packages: Vec<(String, String, String)>,
}

impl AlpineRoot {
    pub fn new() -> AlpineRoot {
        AlpineRoot::default()
    }

    /// Writes `/etc/hostname`.
    pub fn hostname(mut self, name: &str) -> AlpineRoot {
        self.hostname = Some(name.to_owned());
        self
    }

    /// Writes `/etc/machine-id`.
    pub fn machine_id(mut self, id: &str) -> AlpineRoot {
        self.machine_id = Some(id.to_owned());
        self
    }

    /// Writes Alpine 3.4's `/etc/os-release` (without it, the release
    /// comes from `/etc/alpine-release` alone).
    pub fn os_release(mut self) -> AlpineRoot {
        self.os_release = true;
        self
    }

    /// Sets an installed package's version (the package must be in the
    /// fixture).
    pub fn version(mut self, package: &str, version: &str) -> AlpineRoot {
        self.versions.push((package.to_owned(), version.to_owned()));
        self
    }

    /// Adds a package (name, version, origin) after the fixture's.
    pub fn package(mut self, name: &str, version: &str, origin: &str) -> AlpineRoot {
        self.packages
            .push((name.to_owned(), version.to_owned(), origin.to_owned()));
        self
    }

    /// Writes the root at `root` (created) and returns it.
    pub fn write(&self, root: &Path) -> PathBuf {
        std::fs::create_dir_all(root.join("lib/apk/db")).expect("mkdir lib/apk/db");
        std::fs::create_dir_all(root.join("etc")).expect("mkdir etc");
        std::fs::copy(
            crate::data_path("fixtures/apk/alpine/installed"),
            root.join("lib/apk/db/installed"),
        )
        .expect("copy the apk database");
        std::fs::write(root.join("etc/alpine-release"), "3.4.6\n").expect("write");
        if self.os_release {
            std::fs::write(root.join("etc/os-release"), ALPINE_OS_RELEASE).expect("write");
        }
        if let Some(h) = &self.hostname {
            std::fs::write(root.join("etc/hostname"), format!("{h}\n")).expect("write");
        }
        if let Some(id) = &self.machine_id {
            std::fs::write(root.join("etc/machine-id"), format!("{id}\n")).expect("write");
        }
        for (package, version) in &self.versions {
            set_apk_version(root, package, version);
        }
        for (name, version, origin) in &self.packages {
            add_apk_package(root, name, version, origin);
        }
        root.to_owned()
    }
}

/// Rewrites one installed package's version in the root's apk database.
/// Panics if the package is not there: a test that edits nothing proves
/// nothing.
pub fn set_apk_version(root: &Path, package: &str, version: &str) {
    let path = root.join("lib/apk/db/installed");
    let text = std::fs::read_to_string(&path).expect("read the apk database");
    let mut out = String::with_capacity(text.len());
    let mut in_pkg = false;
    let mut seen = false;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("P:") {
            in_pkg = name == package;
        }
        if in_pkg && line.starts_with("V:") {
            let _ = writeln!(out, "V:{version}");
            seen = true;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    assert!(seen, "{package} is not in {}", path.display());
    std::fs::write(&path, out).expect("write the apk database");
}

/// Appends a package stanza (name, version, origin) to the root's apk
/// database.
pub fn add_apk_package(root: &Path, name: &str, version: &str, origin: &str) {
    let path = root.join("lib/apk/db/installed");
    let mut db = std::fs::read_to_string(&path).expect("read the apk database");
    // A stanza ends with a blank line; the data folder's database ends
    // without even a newline after its last line, and one newline only
    // would glue the new stanza onto the last package.
    while !db.is_empty() && !db.ends_with("\n\n") {
        db.push('\n');
    }
    let _ = write!(
        db,
        "P:{name}\nV:{version}\nA:x86_64\nS:1\nI:1\nT:test package\no:{origin}\n\n"
    );
    std::fs::write(&path, db).expect("write the apk database");
}

/// Copies the host's program `bin` (an absolute path) into `root` at the
/// same path, with each shared library `ldd` names that the root lacks:
/// for a debootstrapped root of the host's own Debian release, which lacks
/// a tool every real server has (`curl` is not in `minbase`). The
/// libraries are the host's real ones, and the root's own are never
/// replaced, so the root's glibc is what runs.
pub fn host_tool(root: &Path, bin: &str) {
    let o = std::process::Command::new("ldd")
        .arg(bin)
        .output()
        .expect("ldd runs");
    assert!(
        o.status.success(),
        "ldd {bin}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let libs: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| {
            // `libx.so.1 => /lib/x86_64-linux-gnu/libx.so.1 (0x…)`, or
            // `/lib64/ld-linux-x86-64.so.2 (0x…)`.
            let path = l.split("=>").last()?.split_whitespace().next()?;
            path.starts_with('/').then(|| path.to_owned())
        })
        .collect();
    for file in std::iter::once(bin.to_owned()).chain(libs) {
        let rel = file.trim_start_matches('/');
        let dest = root.join(rel);
        // The root's own copy wins; `/lib` is a symlink to `usr/lib` in
        // current Debian, so look at the resolved target too.
        if dest.exists() || root.join("usr").join(rel).exists() {
            continue;
        }
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir in root");
        std::fs::copy(&file, &dest)
            .unwrap_or_else(|e| panic!("copy {file} into {}: {e}", root.display()));
    }
}

/// Copies the host's program `bin` (an absolute path) into `root` as a
/// self-contained bundle: the program, every shared library `ldd` names
/// and the host's dynamic loader in `/opt/host-NAME/`, started through a
/// wrapper `/usr/local/bin/NAME` that runs the bundled loader on the
/// bundled libraries. For a root of an *older* release than the host
/// (Debian 11 on a Debian 12 host), where [`host_tool`]'s way (the root's
/// own glibc) cannot run a program built against the host's newer glibc:
/// the bundle brings its glibc with it, and only the program itself runs
/// on it; everything else in the root still runs on the root's glibc.
pub fn bundle_host_tool(root: &Path, bin: &str) {
    let name = Path::new(bin)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_else(|| panic!("{bin}: no file name"));
    let o = std::process::Command::new("ldd")
        .arg(bin)
        .output()
        .expect("ldd runs");
    assert!(
        o.status.success(),
        "ldd {bin}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let libs: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| {
            let path = l.split("=>").last()?.split_whitespace().next()?;
            path.starts_with('/').then(|| path.to_owned())
        })
        .collect();
    let loader = libs
        .iter()
        .find(|l| l.contains("/ld-linux"))
        .unwrap_or_else(|| panic!("ldd {bin} names no dynamic loader"))
        .clone();
    let rel = format!("opt/host-{name}");
    let dir = root.join(&rel);
    std::fs::create_dir_all(dir.join("lib")).expect("mkdir the bundle");
    std::fs::copy(bin, dir.join(name)).unwrap_or_else(|e| panic!("copy {bin}: {e}"));
    for lib in &libs {
        let file = Path::new(lib).file_name().expect("a library file name");
        std::fs::copy(lib, dir.join("lib").join(file))
            .unwrap_or_else(|e| panic!("copy {lib} into {}: {e}", dir.display()));
    }
    let loader = Path::new(&loader)
        .file_name()
        .and_then(|n| n.to_str())
        .expect("the loader's file name");
    let wrapper = root.join("usr/local/bin").join(name);
    std::fs::create_dir_all(wrapper.parent().expect("parent")).expect("mkdir usr/local/bin");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\n# {bin} of the test host, bundled with its own glibc (kensa-testkit)\n\
             exec /{rel}/lib/{loader} --library-path /{rel}/lib /{rel}/{name} \"$@\"\n"
        ),
    )
    .expect("write the wrapper");
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod the wrapper");
}
