//! Language packages: what pip, npm, Go, Cargo, Maven, RubyGems and
//! Composer installed or locked, found by walking the root once and
//! dispatching each file by its name.
//!
//! | ecosystem | files | module |
//! |---|---|---|
//! | Python | `*.dist-info/METADATA`, `*.egg-info/PKG-INFO`, `*.egg-info` files, `*.egg/EGG-INFO/PKG-INFO`, directly in a `site-packages` or `dist-packages` directory | [`python`] |
//! | Node | `node_modules/[@scope/]name/package.json`; `package-lock.json`, `npm-shrinkwrap.json` (v1–v3) and `yarn.lock` (classic and Berry) outside `node_modules` | [`node`] |
//! | Go | ELF executables with Go build info (`.go.buildinfo`) | [`golang`] |
//! | Rust | `Cargo.lock` (v1–v4); ELF executables built with cargo-auditable (`.dep-v0`) | [`rust`] |
//! | Java | `*.jar`, `*.war`, `*.ear`, `*.jpi`, `*.hpi`, and the archives nested one level inside them | [`java`] |
//! | Ruby | `Gemfile.lock`, `gems.locked`; `specifications/[default/]*.gemspec` | [`ruby`] |
//! | PHP | `composer.lock`; `vendor/composer/installed.json` | [`php`] |
//!
//! Every package's `path` is the file it was read from (for an archive
//! nested in another, `outer.war!/WEB-INF/lib/inner.jar`).
//!
//! # What the walk skips
//!
//! Directories that hold no installed software, or only caches of
//! downloads, are pruned: everything under them is neither listed nor
//! read (see [`pruned`]).
//!
//! - at the root: `proc`, `sys`, `dev`, `run` (kernel and runtime state);
//!   `var/lib/docker`, `var/lib/containerd`, `var/lib/containers` (other
//!   images' layers, inventoried as images of their own); `var/lib/dpkg`,
//!   `var/lib/rpm`, `var/lib/apt`, `var/cache/apt`, `var/log`,
//!   `usr/share/{doc,man,info,locale,i18n,zoneinfo,terminfo,icons,fonts,mime}`,
//!   `usr/share/{help,gtk-doc,backgrounds,wallpapers,sounds,pixmaps,themes}`,
//!   `usr/include`, `usr/lib/modules`, `lib/modules`, `usr/lib/firmware`,
//!   `lib/firmware`, `usr/src` (package databases, documentation, kernel
//!   modules and headers: thousands of files, none a language package);
//! - anywhere: `.git`, `.hg`, `.svn` (version control stores),
//!   `__pycache__`, `.cache` (pip, Go build and other XDG caches), `.npm`,
//!   `.yarn/cache`, `.pnpm-store` (npm, Yarn and pnpm download caches),
//!   `.cargo/registry`, `.cargo/git` (crate sources downloaded by Cargo,
//!   whose own `Cargo.lock` files are not installed software), `.rustup`
//!   (Rust toolchains and their documentation), `.m2/repository`,
//!   `.gradle/caches`, `.ivy2/cache` (Maven, Gradle and Ivy download
//!   caches), `go/pkg/mod` (the Go module cache: sources, not binaries).
//!
//! Directory symlinks are never followed, and the walk stops 64 levels deep.
//! A directory that cannot be listed is a problem; the walk carries on.
//! Symlinks to files are not read either: the file is reported at its own
//! path when it is inside the root.
//!
//! Go and Rust executables may have any name, so every other regular file
//! is opened to look for the ELF magic, except those whose name says they
//! are not executables: dotfiles, the extensions of sources, text, data,
//! archives and images (`.py`, `.json`, `.gz`, `.png`, ... see
//! `may_be_binary`), upper-case documentation names (`LICENSE`, `README`)
//! and the files of Python metadata directories. On a debootstrapped Debian
//! root (5,300 files) that is about 1,000 files, 700 of them ELF; the whole
//! collection takes ~17 ms there.
//!
//! # Caps
//!
//! | file | read at most |
//! |---|---|
//! | Python `METADATA`/`PKG-INFO` | the first 256 KiB (the headers come first) |
//! | `package.json`, `installed.json` | 16 MiB |
//! | lockfiles (`package-lock.json`, `yarn.lock`, `Cargo.lock`, `Gemfile.lock`, `composer.lock`) | 64 MiB |
//! | `*.gemspec` | 1 MiB |
//! | ELF binaries | the first 4 KiB (header and, usually, program headers; ≤ 1024 of them), the section headers (≤ 8192) with the 4 KiB before them (where linkers put the section names; else the names, ≤ 1 MiB, separately), then only the `.go.buildinfo` section (≤ 16 MiB; pre-1.18 strings ≤ 16 MiB each; without a section table, 64 KiB of the data segment) and the `.dep-v0` section (≤ 8 MiB compressed, 32 MiB inflated) |
//! | Java archives | 2 GiB on disk, read piecewise (the central directory and the entries below, never the whole archive); `pom.properties` and `MANIFEST.MF` 1 MiB each; ≤ 4096 nested archives of ≤ 128 MiB each and 1 GiB in all per outer archive |
//!
//! A file over its cap, or one that does not parse, is a problem naming
//! the file; the other files are read as usual.

pub mod golang;
pub mod java;
pub mod node;
pub mod php;
pub mod python;
pub mod ruby;
pub mod rust;

mod elf;

use crate::Found;
use crate::fs::{EntryKind, Root};
use crate::model::{Package, PackageKind};

/// Maximum directory depth walked.
const MAX_DEPTH: usize = 64;

/// Collect the language packages of the whole root.
pub fn collect(root: &dyn Root, found: &mut Found) {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_THREADS);
    let mut files = find_files(root, threads, found);
    // Threads finish in any order; the document must not.
    files.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    // Reading the files splits evenly: each thread takes every n-th file
    // and its own `Found`, merged in thread order.
    let parts: Vec<Found> = std::thread::scope(|scope| {
        let files = &files;
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let mut part = Found::default();
                    for (path, kind) in files.iter().skip(t).step_by(threads) {
                        collect_file(root, *kind, path, &mut part);
                    }
                    part
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    for part in parts {
        found.packages.extend(part.packages);
        found.problems.extend(part.problems);
    }
}

/// The most threads a collection uses: the walk is bound by system calls,
/// which stop scaling well before the core count of a large host, and an
/// inventory must stay a light guest on the machine it reads.
const MAX_THREADS: usize = 4;

/// What a file is, by its name and where it sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `METADATA`, `PKG-INFO` or an `.egg-info` file.
    Python,
    NodePackage,
    NodeLock,
    YarnLock,
    CargoLock,
    /// A regular file that may be an ELF executable (Go or cargo-auditable).
    Binary,
    JavaArchive,
    GemfileLock,
    Gemspec,
    ComposerLock,
    ComposerInstalled,
}

/// Read one file of a known kind into `found` (what [`collect`] does for
/// each file the walk dispatched).
pub fn collect_file(root: &dyn Root, kind: Kind, path: &str, found: &mut Found) {
    match kind {
        Kind::Python => python::collect_file(root, path, found),
        Kind::NodePackage => node::collect_package_json(root, path, found),
        Kind::NodeLock => node::collect_package_lock(root, path, found),
        Kind::YarnLock => node::collect_yarn_lock(root, path, found),
        Kind::CargoLock => rust::collect_lock(root, path, found),
        Kind::Binary => collect_binary(root, path, found),
        Kind::JavaArchive => java::collect_archive(root, path, found),
        Kind::GemfileLock => ruby::collect_lock(root, path, found),
        Kind::Gemspec => ruby::collect_gemspec(root, path, found),
        Kind::ComposerLock => php::collect_lock(root, path, found),
        Kind::ComposerInstalled => php::collect_installed(root, path, found),
    }
}

/// An ELF binary: its Go build info and its cargo-auditable dependency
/// list, reading only the headers and those two sections.
pub fn collect_binary(root: &dyn Root, path: &str, found: &mut Found) {
    let elf = match elf::Elf::open(root, path) {
        Ok(Some(elf)) => elf,
        Ok(None) => return,
        Err(e) => return found.problem(e),
    };
    golang::collect_elf(root, path, &elf, found);
    rust::collect_elf(root, path, &elf, found);
}

/// The directories the walk does not enter (root-relative paths).
pub fn pruned(path: &str) -> bool {
    const AT_ROOT: &[&str] = &[
        "proc",
        "sys",
        "dev",
        "run",
        "var/lib/docker",
        "var/lib/containerd",
        "var/lib/containers",
        "var/lib/dpkg",
        "var/lib/rpm",
        "var/lib/apt",
        "var/cache/apt",
        "var/log",
        "usr/share/doc",
        "usr/share/man",
        "usr/share/info",
        "usr/share/locale",
        "usr/share/i18n",
        "usr/share/zoneinfo",
        "usr/share/terminfo",
        "usr/share/icons",
        "usr/share/fonts",
        "usr/share/mime",
        "usr/share/help",
        "usr/share/gtk-doc",
        "usr/share/backgrounds",
        "usr/share/wallpapers",
        "usr/share/sounds",
        "usr/share/pixmaps",
        "usr/share/themes",
        "usr/include",
        "usr/lib/modules",
        "lib/modules",
        "usr/lib/firmware",
        "lib/firmware",
        "usr/src",
    ];
    const ANYWHERE: &[&str] = &[
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        ".cache",
        ".npm",
        ".pnpm-store",
        ".rustup",
    ];
    const PARENT_CHILD: &[(&str, &str)] = &[
        (".yarn", "cache"),
        (".cargo", "registry"),
        (".cargo", "git"),
        (".m2", "repository"),
        (".gradle", "caches"),
        (".ivy2", "cache"),
        ("pkg", "mod"),
    ];
    if AT_ROOT.contains(&path) {
        return true;
    }
    let (parent, name) = split_last(path);
    if ANYWHERE.contains(&name) {
        return true;
    }
    let parent_name = split_last(parent).1;
    if PARENT_CHILD.contains(&(parent_name, name)) {
        // `pkg/mod` only as GOPATH's module cache (`go/pkg/mod`).
        return name != "mod" || split_last(split_last(parent).0).1 == "go";
    }
    false
}

/// Every file a collector reads, with its kind: the root walked by
/// `threads` workers sharing a queue of directories, skipping [`pruned`]
/// ones. Unlistable directories are problems; the walk carries on.
fn find_files(root: &dyn Root, threads: usize, found: &mut Found) -> Vec<(String, Kind)> {
    use std::sync::{Condvar, Mutex, PoisonError};
    struct Queue {
        dirs: Vec<(String, usize)>,
        busy: usize,
    }
    let queue = Mutex::new(Queue {
        dirs: vec![(String::new(), 0)],
        busy: 0,
    });
    let wake = Condvar::new();
    let parts: Vec<(Vec<(String, Kind)>, Found)> = std::thread::scope(|scope| {
        let (queue, wake) = (&queue, &wake);
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(move || {
                    let mut files = Vec::new();
                    let mut part = Found::default();
                    loop {
                        let (dir, depth) = {
                            let mut q = queue.lock().unwrap_or_else(PoisonError::into_inner);
                            loop {
                                if let Some(next) = q.dirs.pop() {
                                    q.busy += 1;
                                    break next;
                                }
                                if q.busy == 0 {
                                    wake.notify_all();
                                    return (files, part);
                                }
                                q = wake.wait(q).unwrap_or_else(PoisonError::into_inner);
                            }
                        };
                        let subdirs = list_dir(root, &dir, depth, &mut files, &mut part);
                        let mut q = queue.lock().unwrap_or_else(PoisonError::into_inner);
                        q.dirs.extend(subdirs);
                        q.busy -= 1;
                        wake.notify_all();
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut files = Vec::new();
    for (f, part) in parts {
        files.extend(f);
        found.problems.extend(part.problems);
    }
    files
}

/// One directory of the walk: its files that a collector reads go to
/// `files`; its subdirectories to walk are returned.
fn list_dir(
    root: &dyn Root,
    dir: &str,
    depth: usize,
    files: &mut Vec<(String, Kind)>,
    found: &mut Found,
) -> Vec<(String, usize)> {
    // Binaries are opened to look for the ELF magic: where the root can
    // tell the permission bits, a file nobody may execute is skipped
    // unopened (Go and cargo-auditable programs are executables).
    let binary = |name: &str| classify(dir, name) == Some(Kind::Binary);
    let entries = match root.read_dir_modes(dir, &binary) {
        Ok(e) => e,
        Err(e) => {
            found.problem(e);
            return Vec::new();
        }
    };
    let join = |name: &str| {
        if dir.is_empty() {
            name.to_owned()
        } else {
            format!("{dir}/{name}")
        }
    };
    let mut subdirs = Vec::new();
    for (e, mode) in &entries {
        match e.kind {
            EntryKind::File if mode.is_some_and(|m| m & 0o111 == 0) => {}
            EntryKind::File => {
                if let Some(kind) = classify(dir, &e.name) {
                    files.push((join(&e.name), kind));
                }
            }
            EntryKind::Dir if depth < MAX_DEPTH => {
                let p = join(&e.name);
                if !pruned(&p) {
                    subdirs.push((p, depth + 1));
                }
            }
            _ => {}
        }
    }
    subdirs
}

/// The kind of a file by its directory and name, `None` for files no
/// collector reads.
pub fn classify(dir: &str, name: &str) -> Option<Kind> {
    let (parent_dir, parent) = split_last(dir);
    let grandparent = split_last(parent_dir).1;
    let site = |d: &str| d == "site-packages" || d == "dist-packages";
    match name {
        "METADATA" if parent.ends_with(".dist-info") && site(grandparent) => {
            return Some(Kind::Python);
        }
        "PKG-INFO" if parent.ends_with(".egg-info") && site(grandparent) => {
            return Some(Kind::Python);
        }
        "PKG-INFO" if parent == "EGG-INFO" && grandparent.ends_with(".egg") => {
            return site(split_last(split_last(parent_dir).0).1).then_some(Kind::Python);
        }
        "package.json" => {
            let in_modules = (grandparent == "node_modules" && !parent.starts_with('@'))
                || (grandparent.starts_with('@')
                    && split_last(split_last(parent_dir).0).1 == "node_modules");
            return (in_modules && !parent.starts_with('.')).then_some(Kind::NodePackage);
        }
        "package-lock.json" | "npm-shrinkwrap.json" => {
            return (!in_node_modules(dir)).then_some(Kind::NodeLock);
        }
        "yarn.lock" => return (!in_node_modules(dir)).then_some(Kind::YarnLock),
        "Cargo.lock" => return Some(Kind::CargoLock),
        "Gemfile.lock" | "gems.locked" => return Some(Kind::GemfileLock),
        "composer.lock" => return Some(Kind::ComposerLock),
        "installed.json" if parent == "composer" => return Some(Kind::ComposerInstalled),
        _ => {}
    }
    let ext = match name.rfind('.') {
        Some(0) | None => "",
        Some(i) => &name[i + 1..],
    };
    match ext {
        "egg-info" if site(parent) => Some(Kind::Python),
        "gemspec"
            if parent == "specifications"
                || (parent == "default" && grandparent == "specifications") =>
        {
            Some(Kind::Gemspec)
        }
        _ if java::is_archive_name(name) => Some(Kind::JavaArchive),
        _ if may_be_binary(parent, name, ext) => Some(Kind::Binary),
        _ => None,
    }
}

fn in_node_modules(dir: &str) -> bool {
    dir.split('/').any(|c| c == "node_modules")
}

/// Whether a file may be an executable or shared library worth opening
/// to look for the ELF magic: not a dotfile, not in a package's metadata
/// directory, not one of the upper-case documentation names (`LICENSE`,
/// `README`, ...) and not one of the extensions of sources, text, data,
/// archives and images, which are never ELF files.
fn may_be_binary(parent: &str, name: &str, ext: &str) -> bool {
    const NOT_BINARY: &[&str] = &[
        "S",
        "a",
        "aff",
        "al",
        "am",
        "asc",
        "awk",
        "bash",
        "bat",
        "bc",
        "bmp",
        "bz2",
        "c",
        "categories",
        "cc",
        "cfg",
        "cjs",
        "class",
        "cmake",
        "conf",
        "conffiles",
        "control",
        "cpp",
        "crt",
        "cs",
        "css",
        "csv",
        "cts",
        "cur",
        "d",
        "db",
        "deb",
        "debug",
        "def",
        "desktop",
        "dic",
        "dict",
        "diff",
        "docbook",
        "done",
        "dtd",
        "el",
        "elc",
        "enc",
        "entities",
        "eps",
        "erb",
        "erl",
        "ex",
        "exs",
        "gemspec",
        "gen",
        "gif",
        "go",
        "golden",
        "gpg",
        "gradle",
        "gz",
        "h",
        "hpp",
        "hrl",
        "hs",
        "htm",
        "html",
        "hyb",
        "icc",
        "ico",
        "in",
        "inc",
        "ini",
        "jar",
        "java",
        "jmod",
        "jpeg",
        "jpg",
        "js",
        "json",
        "jsonl",
        "kbd",
        "key",
        "kt",
        "kts",
        "la",
        "lang",
        "less",
        "list",
        "lm",
        "lock",
        "log",
        "lua",
        "m4",
        "map",
        "md",
        "md5sums",
        "mjs",
        "mk",
        "mo",
        "mod",
        "mp3",
        "mpi",
        "msg",
        "mts",
        "o",
        "ogg",
        "orig",
        "otf",
        "page",
        "patch",
        "pc",
        "pdf",
        "pem",
        "ph",
        "php",
        "pl",
        "pm",
        "png",
        "po",
        "pod",
        "pom",
        "postinst",
        "postrm",
        "pot",
        "ppd",
        "preinst",
        "prerm",
        "properties",
        "proto",
        "ps",
        "ps1",
        "pub",
        "py",
        "pyc",
        "pyi",
        "pyo",
        "qm",
        "qml",
        "rake",
        "rb",
        "rbs",
        "rdoc",
        "rej",
        "rpm",
        "rs",
        "rst",
        "s",
        "sass",
        "scala",
        "scm",
        "scss",
        "service",
        "sh",
        "shlibs",
        "sig",
        "socket",
        "sql",
        "sum",
        "svg",
        "svgz",
        "swift",
        "symbols",
        "tablet",
        "tar",
        "target",
        "tcl",
        "templates",
        "tex",
        "tgz",
        "tif",
        "tiff",
        "timer",
        "tmpl",
        "toml",
        "tpl",
        "tree",
        "triggers",
        "ts",
        "tsx",
        "ttc",
        "ttf",
        "txt",
        "typed",
        "ui",
        "vim",
        "vue",
        "war",
        "wav",
        "webp",
        "whl",
        "woff",
        "woff2",
        "xml",
        "xpm",
        "xsd",
        "xsl",
        "xz",
        "yaml",
        "yml",
        "zip",
        "zst",
    ];
    const NOT_BINARY_NAMES: &[&str] = &[
        "Makefile",
        "Dockerfile",
        "Gemfile",
        "Rakefile",
        "copyright",
        "changelog",
    ];
    if name.starts_with('.')
        || NOT_BINARY.binary_search(&ext).is_ok()
        || NOT_BINARY_NAMES.contains(&name)
    {
        return false;
    }
    if parent.ends_with(".dist-info") || parent.ends_with(".egg-info") {
        return false;
    }
    // LICENSE, README, CHANGELOG, AUTHORS, NOTICE, COPYING, ...
    !name
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// `(parent, last component)` of a `/`-separated path.
fn split_last(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    }
}

/// A language package found in `path`.
fn package(kind: PackageKind, name: &str, version: &str, purl: String, path: &str) -> Package {
    Package {
        kind: Some(kind),
        name: name.to_owned(),
        version: version.to_owned(),
        purl,
        path: path.to_owned(),
        ..Package::default()
    }
}

/// Read a whole file as text with a cap, recording a problem on failure.
fn read_text(root: &dyn Root, path: &str, limit: u64, found: &mut Found) -> Option<String> {
    match root.read_text(path, limit) {
        Ok(t) => t,
        Err(e) => {
            found.problem(e);
            None
        }
    }
}

/// The first `len` bytes of a file as text, recording a problem on failure.
fn read_head(root: &dyn Root, path: &str, len: u64, found: &mut Found) -> Option<String> {
    match root.read_at(path, 0, len) {
        Ok(Some(c)) => Some(
            String::from_utf8(c.data)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        ),
        Ok(None) => None,
        Err(e) => {
            found.problem(e);
            None
        }
    }
}
