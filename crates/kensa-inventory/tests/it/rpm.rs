//! The rpm collector on real package databases: the three fixtures (SQLite,
//! BerkeleyDB, NDB) compared exactly with the package lists Syft reads from
//! them, databases written by Debian's rpm from packages built here and
//! compared with what rpm itself lists, BerkeleyDB files of both byte orders
//! and several page sizes written by libdb's `db_load` from rpm's own
//! export, SQLite write-ahead logs, and damaged copies of all of them.
//!
//! rpm (and `rpmbuild`, `rpmdb`) are the oracle here, run as separate
//! processes; the collector never runs them. `db5.3_load` (Debian package
//! `db5.3-util`) writes the BerkeleyDB files.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use kensa_inventory::Found;
use kensa_inventory::fs::DirRoot;
use kensa_inventory::model::{Package, PackageKind};
use kensa_inventory::rpm;
use kensa_testkit::Lcg;

/// The package fields every comparison is about.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Nevra {
    name: String,
    epoch: Option<u32>,
    version: String,
    release: String,
    arch: Option<String>,
}

fn nevra(p: &Package) -> Nevra {
    let release = p.release.clone().expect("rpm packages have a release");
    let version = p
        .version
        .strip_suffix(&format!("-{release}"))
        .expect("version ends with -release")
        .to_owned();
    Nevra {
        name: p.name.clone(),
        epoch: p.epoch,
        version,
        release,
        arch: p.arch.clone(),
    }
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// A temp root with `files` (root-relative path, content) in it.
fn root_with(files: &[(&str, &[u8])]) -> (tempfile::TempDir, DirRoot) {
    let dir = tempfile::tempdir().expect("temp dir");
    for (rel, content) in files {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, content).expect("write");
    }
    let root = DirRoot::new(dir.path()).expect("root");
    (dir, root)
}

fn collect(root: &DirRoot) -> Found {
    let mut found = Found::default();
    rpm::collect(root, &mut found);
    found
}

fn fixture(rel: &str) -> Vec<u8> {
    let p = kensa_testkit::data_path(&format!("fixtures/rpm/{rel}"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// One package as Syft lists it in a fixture's `expected-packages.json`.
#[derive(Debug)]
struct SyftPackage {
    nevra: Nevra,
    purl: String,
    source_rpm: String,
    vendor: String,
}

fn syft_packages(dir: &str) -> Vec<SyftPackage> {
    let json: serde_json::Value =
        serde_json::from_slice(&fixture(&format!("{dir}/expected-packages.json")))
            .expect("expected-packages.json");
    let text = |p: &serde_json::Value, k: &str| {
        p[k].as_str()
            .unwrap_or_else(|| panic!("{k} in {p}"))
            .to_owned()
    };
    json["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            let epoch = p["epoch"]
                .as_u64()
                .map(|e| u32::try_from(e).expect("epoch"));
            let release = text(p, "release");
            // Syft's version is `[epoch:]version-release`.
            let full = text(p, "version");
            let no_epoch = match epoch {
                Some(e) => full
                    .strip_prefix(&format!("{e}:"))
                    .expect("epoch prefix")
                    .to_owned(),
                None => full,
            };
            let version = no_epoch
                .strip_suffix(&format!("-{release}"))
                .expect("-release suffix")
                .to_owned();
            SyftPackage {
                nevra: Nevra {
                    name: text(p, "name"),
                    epoch,
                    version,
                    release,
                    arch: Some(text(p, "architecture")),
                },
                purl: text(p, "purl"),
                source_rpm: text(p, "sourceRpm"),
                vendor: text(p, "vendor"),
            }
        })
        .collect()
}

/// Compare a collection with Syft's list of the same file: name, epoch,
/// version, release, arch, vendor, source RPM and purl, all exactly.
fn assert_matches_syft(found: &Found, dir: &str, path: &str, count: usize) {
    assert!(found.problems.is_empty(), "{dir}: {:?}", found.problems);
    let syft = syft_packages(dir);
    assert_eq!(syft.len(), count, "{dir}: Syft's count");
    assert_eq!(found.packages.len(), count, "{dir}: package count");
    let ours: BTreeMap<Nevra, &Package> = found.packages.iter().map(|p| (nevra(p), p)).collect();
    assert_eq!(ours.len(), count, "{dir}: duplicate packages");
    assert_eq!(
        ours.keys().cloned().collect::<Vec<_>>(),
        sorted(syft.iter().map(|s| s.nevra.clone()).collect()),
        "{dir}: name, epoch, version, release, arch"
    );
    for s in &syft {
        let p = ours[&s.nevra];
        assert_eq!(p.kind, Some(PackageKind::Rpm));
        assert_eq!(p.path, path);
        assert_eq!(p.purl, s.purl, "{dir}: purl of {}", s.nevra.name);
        assert_eq!(
            p.vendor.as_deref(),
            Some(s.vendor.as_str()),
            "{dir}: vendor of {}",
            s.nevra.name
        );
        let (src_name, src_version) =
            rpm::split_source_rpm(&s.source_rpm).expect("source rpm name");
        assert_eq!(
            p.source_name.as_deref(),
            Some(src_name),
            "{dir}: source of {}",
            s.nevra.name
        );
        assert_eq!(
            p.source_version.as_deref(),
            Some(src_version),
            "{dir}: source of {}",
            s.nevra.name
        );
        assert!(
            p.install_time.is_some_and(|t| t > 1_000_000_000),
            "{dir}: install time of {}",
            s.nevra.name
        );
        assert_eq!(p.layer, None);
    }
}

// ---------------------------------------------------------------------------
// The oracle: rpm itself.

fn tool(name: &str) -> Command {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .any(|d| d.join(name).is_file());
    assert!(
        found,
        "{name} is needed by this test: run scripts/setup (Debian packages rpm, db5.3-util)"
    );
    Command::new(name)
}

fn run(mut cmd: Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// rpm's command line on the database under `root/var/lib/rpm`.
fn rpm_at(root: &Path, program: &str) -> Command {
    let mut cmd = tool(program);
    cmd.arg("--root")
        .arg(root)
        .args(["--dbpath", "/var/lib/rpm"]);
    cmd
}

/// What rpm lists from the database under `root/var/lib/rpm`, without
/// `gpg-pubkey` (signing keys, which the collector leaves out).
fn rpm_list(root: &Path, backend: Option<&str>) -> Vec<Nevra> {
    let mut cmd = rpm_at(root, "rpm");
    if let Some(b) = backend {
        cmd.args(["--define", &format!("_db_backend {b}")]);
    }
    cmd.args([
        "-qa",
        "--qf",
        "%{NAME}|%|EPOCH?{%{EPOCH}}:{-}||%{VERSION}|%{RELEASE}|%|ARCH?{%{ARCH}}:{-}|\\n",
    ]);
    let out = String::from_utf8(run(cmd)).expect("utf-8");
    sorted(
        out.lines()
            .map(|l| {
                let f: Vec<&str> = l.split('|').collect();
                assert_eq!(f.len(), 5, "{l}");
                Nevra {
                    name: f[0].to_owned(),
                    epoch: (f[1] != "-").then(|| f[1].parse().expect("epoch")),
                    version: f[2].to_owned(),
                    release: f[3].to_owned(),
                    arch: (f[4] != "-").then(|| f[4].to_owned()),
                }
            })
            .filter(|n| n.name != "gpg-pubkey")
            .collect(),
    )
}

fn nevras(found: &Found) -> Vec<Nevra> {
    sorted(found.packages.iter().map(nevra).collect())
}

/// rpm's export of a database (`rpmdb --exportdb`): header blobs, each
/// without the 8-byte header magic.
fn export_headers(root: &Path) -> Vec<Vec<u8>> {
    let mut cmd = rpm_at(root, "rpmdb");
    cmd.arg("--exportdb");
    let out = run(cmd);
    let mut blobs = Vec::new();
    let mut at = 0;
    while at < out.len() {
        assert_eq!(
            &out[at..at + 4],
            &[0x8e, 0xad, 0xe8, 0x01],
            "header magic at {at}"
        );
        let be = |o: usize| u32::from_be_bytes(out[o..o + 4].try_into().expect("4 bytes")) as usize;
        let len = 8 + 16 * be(at + 8) + be(at + 12);
        blobs.push(out[at + 8..at + 8 + len].to_vec());
        at += 8 + len;
    }
    blobs
}

/// A BerkeleyDB hash `Packages` written by libdb from header blobs, keyed
/// as rpm keys them (header number in the file's byte order; key 0 holds the
/// next header number).
fn write_bdb(dir: &Path, blobs: &[Vec<u8>], big_endian: bool, page_size: u32) -> PathBuf {
    let key = |n: u32| {
        let b = if big_endian {
            n.to_be_bytes()
        } else {
            n.to_le_bytes()
        };
        hex(&b)
    };
    let mut dump =
        format!("VERSION=3\nformat=bytevalue\ntype=hash\ndb_pagesize={page_size}\nHEADER=END\n");
    dump.push_str(&format!(" {}\n {}\n", key(0), key(blobs.len() as u32 + 1)));
    for (i, b) in blobs.iter().enumerate() {
        dump.push_str(&format!(" {}\n {}\n", key(i as u32 + 1), hex(b)));
    }
    dump.push_str("DATA=END\n");
    std::fs::create_dir_all(dir).expect("mkdir");
    let dump_file = dir.join("dump.txt");
    std::fs::write(&dump_file, dump).expect("write dump");
    let db_dir = dir.join("var/lib/rpm");
    std::fs::create_dir_all(&db_dir).expect("mkdir");
    let db = db_dir.join("Packages");
    let _ = std::fs::remove_file(&db);
    let mut cmd = tool("db5.3_load");
    cmd.args([
        "-c",
        if big_endian {
            "db_lorder=4321"
        } else {
            "db_lorder=1234"
        },
    ]);
    cmd.arg("-f").arg(&dump_file).arg(&db);
    run(cmd);
    db
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

// ---------------------------------------------------------------------------
// The real fixtures.

#[test]
#[ignore = "needs rpm and db5.3-util (scripts/setup); scripts/test runs it"]
fn rpm_sqlite_fixture_matches_syft_and_rpm() {
    let db = fixture("mariner-2.0-sqlite/rpmdb.sqlite");
    let (dir, root) = root_with(&[("var/lib/rpm/rpmdb.sqlite", &db)]);
    let found = collect(&root);
    assert_matches_syft(
        &found,
        "mariner-2.0-sqlite",
        "var/lib/rpm/rpmdb.sqlite",
        129,
    );
    // Three packages have an epoch, none of the others has an EPOCH tag.
    let with_epoch: Vec<_> = found
        .packages
        .iter()
        .filter(|p| p.epoch.is_some())
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(
        sorted(with_epoch),
        [
            "ca-certificates-base",
            "ca-certificates-shared",
            "ca-certificates-tools"
        ]
    );
    assert_eq!(
        nevras(&found),
        rpm_list(dir.path(), None),
        "rpm's own listing"
    );
}

#[test]
#[ignore = "needs rpm and db5.3-util (scripts/setup); scripts/test runs it"]
fn rpm_bdb_fixture_matches_syft_and_rpm() {
    let db = fixture("libuuid-bdb/Packages");
    let (dir, root) = root_with(&[("var/lib/rpm/Packages", &db)]);
    let found = collect(&root);
    assert_matches_syft(&found, "libuuid-bdb", "var/lib/rpm/Packages", 1);
    // rpm's read-only BerkeleyDB backend agrees.
    assert_eq!(nevras(&found), rpm_list(dir.path(), Some("bdb_ro")));
}

#[test]
#[ignore = "needs rpm, Syft or Trivy (scripts/setup); scripts/test runs it"]
fn rpm_ndb_fixture_matches_syft_through_the_sysimage_symlink() {
    let db = fixture("sle15-bci-ndb/Packages.db");
    // As on SUSE: the database in usr/lib/sysimage/rpm, var/lib/rpm a link.
    let (dir, root) = root_with(&[("usr/lib/sysimage/rpm/Packages.db", &db)]);
    std::fs::create_dir_all(dir.path().join("var/lib")).expect("mkdir");
    std::os::unix::fs::symlink("../../usr/lib/sysimage/rpm", dir.path().join("var/lib/rpm"))
        .expect("symlink");
    let found = collect(&root);
    // Read once, under its real path, though both directories reach it.
    assert_matches_syft(
        &found,
        "sle15-bci-ndb",
        "usr/lib/sysimage/rpm/Packages.db",
        35,
    );
}

#[test]
fn rpm_both_locations_are_read_and_links_are_not_double_counted() {
    let ndb = fixture("sle15-bci-ndb/Packages.db");
    let bdb = fixture("libuuid-bdb/Packages");
    // Two real directories with different databases: both are read.
    let (_d, root) = root_with(&[
        ("var/lib/rpm/Packages", &bdb),
        ("usr/lib/sysimage/rpm/Packages.db", &ndb),
    ]);
    let found = collect(&root);
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    assert_eq!(found.packages.len(), 36);
    assert_eq!(
        found
            .packages
            .iter()
            .filter(|p| p.path == "var/lib/rpm/Packages")
            .count(),
        1
    );
    // The other direction of link, absolute: the real path still wins.
    let (dir, root) = root_with(&[("var/lib/rpm/Packages.db", &ndb)]);
    std::fs::create_dir_all(dir.path().join("usr/lib/sysimage")).expect("mkdir");
    std::os::unix::fs::symlink("/var/lib/rpm", dir.path().join("usr/lib/sysimage/rpm"))
        .expect("symlink");
    let found = collect(&root);
    assert_eq!(found.packages.len(), 35);
    assert!(
        found
            .packages
            .iter()
            .all(|p| p.path == "var/lib/rpm/Packages.db")
    );
    // Nothing there: nothing found, no problem.
    let (_d, root) = root_with(&[("etc/os-release", b"ID=debian\n")]);
    let found = collect(&root);
    assert!(found.packages.is_empty() && found.problems.is_empty());
}

#[test]
fn rpm_newest_format_in_a_directory_wins() {
    // A migrated system may keep the old BerkeleyDB beside the live SQLite
    // database; rpm reads only the one its backend names, the newer one.
    let sqlite = fixture("mariner-2.0-sqlite/rpmdb.sqlite");
    let bdb = fixture("libuuid-bdb/Packages");
    let (_d, root) = root_with(&[
        ("var/lib/rpm/rpmdb.sqlite", &sqlite),
        ("var/lib/rpm/Packages", &bdb),
    ]);
    let found = collect(&root);
    assert_eq!(found.packages.len(), 129);
    assert!(
        found
            .packages
            .iter()
            .all(|p| p.path == "var/lib/rpm/rpmdb.sqlite")
    );
}

// ---------------------------------------------------------------------------
// Databases written by rpm from packages built here.

const SPECS: &[(&str, &str)] = &[
    (
        "alpha",
        "Name: kensa-alpha\nVersion: 1.2.3\nRelease: 4.fc99\nEpoch: 2\nSummary: t\nLicense: MIT\nBuildArch: noarch\n\
         Vendor: Kensa Test Vendor\n%description\nt\n\
         %package -n kensa-alpha-libs\nSummary: t\n%description -n kensa-alpha-libs\nt\n\
         %files\n%files -n kensa-alpha-libs\n",
    ),
    (
        "beta",
        "Name: kensa-beta\nVersion: 0.9~rc1\nRelease: 1%{?dist}\nSummary: t\nLicense: MIT\nBuildArch: noarch\n\
         %description\nt\n%files\n",
    ),
    (
        "gamma",
        "Name: kensa-gamma\nVersion: 10.0+git.20240101\nRelease: 0.3.el9_2\nEpoch: 0\nSummary: t\nLicense: MIT\n\
         BuildArch: noarch\n%description\nt\n%files\n",
    ),
];

/// Build the packages of [`SPECS`] and install them (database only) into a
/// fresh rpm database under `root/var/lib/rpm`; also import one signing key,
/// which rpm keeps as a `gpg-pubkey` pseudo-package.
fn build_rpm_root(work: &Path) -> PathBuf {
    let top = work.join("build");
    let mut rpms = Vec::new();
    for (name, spec) in SPECS {
        let spec_file = work.join(format!("{name}.spec"));
        std::fs::write(&spec_file, spec).expect("spec");
        let mut cmd = tool("rpmbuild");
        cmd.arg("--define")
            .arg(format!("_topdir {}", top.display()));
        cmd.arg("--quiet").arg("-bb").arg(&spec_file);
        run(cmd);
    }
    for e in std::fs::read_dir(top.join("RPMS/noarch")).expect("RPMS") {
        rpms.push(e.expect("entry").path());
    }
    assert_eq!(rpms.len(), 4, "{rpms:?}");
    let root = work.join("root");
    std::fs::create_dir_all(&root).expect("mkdir");
    let mut init = rpm_at(&root, "rpm");
    init.arg("--initdb");
    run(init);
    let mut install = rpm_at(&root, "rpm");
    install
        .args(["-i", "--nodeps", "--justdb", "--noscripts"])
        .args(&rpms);
    run(install);
    let key = std::fs::read_dir("/etc/apt/trusted.gpg.d")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "asc"))
        .expect("an armored signing key in /etc/apt/trusted.gpg.d (debian-archive-keyring)");
    let mut import = rpm_at(&root, "rpm");
    import.arg("--import").arg(key);
    run(import);
    root
}

#[test]
#[ignore = "needs rpm and db5.3-util (scripts/setup); scripts/test runs it"]
fn rpm_database_written_by_rpm_matches_rpm() {
    let work = tempfile::tempdir().expect("temp dir");
    let root_dir = build_rpm_root(work.path());
    // Debian's rpm 4.18 writes SQLite (it has no NDB, and BerkeleyDB only
    // read-only); the BerkeleyDB test below covers that format.
    assert!(root_dir.join("var/lib/rpm/rpmdb.sqlite").is_file());
    let root = DirRoot::new(&root_dir).expect("root");
    let found = collect(&root);
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    let expected = rpm_list(&root_dir, None);
    assert_eq!(nevras(&found), expected);
    // The signing key is in the database (rpm lists it) but not collected.
    let mut all = rpm_at(&root_dir, "rpm");
    all.args(["-q", "gpg-pubkey"]);
    assert!(String::from_utf8_lossy(&run(all)).starts_with("gpg-pubkey-"));
    assert!(found.packages.iter().all(|p| p.name != "gpg-pubkey"));
    // Epoch: 2 is Some(2), an explicit Epoch: 0 is Some(0), none is None.
    let by_name: BTreeMap<&str, &Package> = found
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p))
        .collect();
    assert_eq!(by_name["kensa-alpha"].epoch, Some(2));
    assert_eq!(by_name["kensa-alpha-libs"].epoch, Some(2));
    assert_eq!(by_name["kensa-gamma"].epoch, Some(0));
    assert_eq!(by_name["kensa-beta"].epoch, None);
    // The subpackage's source is the main package's source RPM.
    let libs = by_name["kensa-alpha-libs"];
    assert_eq!(libs.source_name.as_deref(), Some("kensa-alpha"));
    assert_eq!(libs.source_version.as_deref(), Some("1.2.3-4.fc99"));
    assert_eq!(libs.vendor.as_deref(), Some("Kensa Test Vendor"));
    assert_eq!(by_name["kensa-beta"].vendor, None);
    assert_eq!(
        by_name["kensa-gamma"].purl,
        "pkg:rpm/kensa-gamma@10.0%2Bgit.20240101-0.3.el9_2?arch=noarch&epoch=0&upstream=kensa-gamma-10.0%2Bgit.20240101-0.3.el9_2.src.rpm"
    );
    // Fields rpm prints, compared one by one.
    let mut q = rpm_at(&root_dir, "rpm");
    q.args([
        "-qa",
        "--qf",
        "%{NAME}|%{SOURCERPM}|%{INSTALLTIME}|%|VENDOR?{%{VENDOR}}:{-}|\\n",
    ]);
    for line in String::from_utf8(run(q)).expect("utf-8").lines() {
        let f: Vec<&str> = line.split('|').collect();
        if f[0] == "gpg-pubkey" {
            continue;
        }
        let p = by_name[f[0]];
        assert_eq!(
            p.purl
                .rsplit_once("upstream=")
                .map(|x| x.1.replace("%2B", "+"))
                .as_deref(),
            Some(f[1])
        );
        assert_eq!(p.install_time, Some(f[2].parse().expect("time")), "{line}");
        assert_eq!(p.vendor.as_deref().unwrap_or("-"), f[3], "{line}");
    }
}

#[test]
#[ignore = "needs rpm and db5.3-util (scripts/setup); scripts/test runs it"]
fn rpm_bdb_written_by_libdb_matches_rpm_and_sqlite() {
    let work = tempfile::tempdir().expect("temp dir");
    // The 129 Mariner headers and the 5 built here (with a gpg-pubkey).
    let mariner = work.path().join("mariner");
    std::fs::create_dir_all(mariner.join("var/lib/rpm")).expect("mkdir");
    std::fs::write(
        mariner.join("var/lib/rpm/rpmdb.sqlite"),
        fixture("mariner-2.0-sqlite/rpmdb.sqlite"),
    )
    .expect("copy");
    let built = build_rpm_root(work.path());
    for source in [mariner, built] {
        let blobs = export_headers(&source);
        let from_sqlite = collect(&DirRoot::new(&source).expect("root"));
        assert!(from_sqlite.problems.is_empty());
        // Small pages: many buckets, every header spread over overflow
        // chains; large pages: few buckets, long pages.
        for (big_endian, page_size) in [
            (false, 4096),
            (true, 4096),
            (false, 512),
            (true, 512),
            (true, 65536),
        ] {
            let dir = work.path().join(format!("bdb-{big_endian}-{page_size}"));
            write_bdb(&dir, &blobs, big_endian, page_size);
            let raw = std::fs::read(dir.join("var/lib/rpm/Packages")).expect("read");
            let magic = &raw[12..16];
            assert_eq!(
                magic,
                if big_endian {
                    [0, 6, 0x15, 0x61]
                } else {
                    [0x61, 0x15, 6, 0]
                }
            );
            let found = collect(&DirRoot::new(&dir).expect("root"));
            let what = format!("{} {big_endian} {page_size}", source.display());
            assert!(found.problems.is_empty(), "{what}: {:?}", found.problems);
            assert_eq!(
                nevras(&found),
                rpm_list(&dir, Some("bdb_ro")),
                "{what}: rpm's bdb_ro"
            );
            assert_eq!(
                canonical(&found.packages),
                canonical(&from_sqlite.packages),
                "{what}: every field as read from SQLite"
            );
        }
    }
}

/// Packages in their canonical order, without the database path.
fn canonical(packages: &[Package]) -> Vec<Package> {
    let mut v: Vec<Package> = packages
        .iter()
        .map(|p| Package {
            path: String::new(),
            ..p.clone()
        })
        .collect();
    v.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    v
}

// ---------------------------------------------------------------------------
// SQLite write-ahead log.

#[test]
#[ignore = "needs rpm and db5.3-util (scripts/setup); scripts/test runs it"]
fn rpm_sqlite_committed_wal_frames_are_read_and_torn_ones_ignored() {
    let work = tempfile::tempdir().expect("temp dir");
    let db = work.path().join("rpmdb.sqlite");
    std::fs::write(&db, fixture("mariner-2.0-sqlite/rpmdb.sqlite")).expect("copy");
    // Delete bash in a transaction that stays in the log: the connection is
    // still open (so not checkpointed) when the files are copied.
    let copy = work.path().join("copy");
    let script = r#"
import shutil, sqlite3, sys
db, out = sys.argv[1], sys.argv[2]
c = sqlite3.connect(db, isolation_level=None)
c.execute("PRAGMA wal_autocheckpoint=0")
assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
(hnum,) = c.execute("SELECT hnum FROM Name WHERE key = 'bash'").fetchone()
c.execute("DELETE FROM Packages WHERE hnum = ?", (hnum,))
shutil.copy(db, out)
shutil.copy(db + "-wal", out + "-wal")
"#;
    let mut py = tool("python3");
    py.arg("-c").arg(script).arg(&db).arg(&copy);
    run(py);
    let main = std::fs::read(&copy).expect("db");
    let wal = std::fs::read(work.path().join("copy-wal")).expect("wal");
    assert!(!wal.is_empty());
    let names = |found: &Found| found.packages.iter().any(|p| p.name == "bash");

    // Without its log the main file still has bash.
    let (_d, root) = root_with(&[("var/lib/rpm/rpmdb.sqlite", &main)]);
    let found = collect(&root);
    assert!(names(&found) && found.packages.len() == 129);

    // With the log the deletion is committed; rpm agrees.
    let (d, root) = root_with(&[
        ("var/lib/rpm/rpmdb.sqlite", &main),
        ("var/lib/rpm/rpmdb.sqlite-wal", &wal),
    ]);
    let found = collect(&root);
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    assert!(!names(&found) && found.packages.len() == 128);
    assert_eq!(nevras(&found), rpm_list(d.path(), None));

    // A torn last frame (bad checksum) voids its transaction, as in SQLite.
    let mut torn = wal.clone();
    let last = torn.len() - 100;
    torn[last] ^= 0xff;
    let (_d, root) = root_with(&[
        ("var/lib/rpm/rpmdb.sqlite", &main),
        ("var/lib/rpm/rpmdb.sqlite-wal", &torn),
    ]);
    let found = collect(&root);
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    assert!(names(&found) && found.packages.len() == 129);

    // A log that is not one is ignored, and said so.
    let (_d, root) = root_with(&[
        ("var/lib/rpm/rpmdb.sqlite", &main),
        ("var/lib/rpm/rpmdb.sqlite-wal", b"garbage that is not a log"),
    ]);
    let found = collect(&root);
    assert_eq!(found.packages.len(), 129);
    assert_eq!(found.problems.len(), 1);
    assert!(
        found.problems[0]
            .message
            .contains("write-ahead log ignored"),
        "{:?}",
        found.problems
    );
}

// ---------------------------------------------------------------------------
// Damaged databases.

/// Truncated and corrupted copies of a database: never a panic, every
/// problem names the file, and a truncated file is always a problem.
fn damaged_copies(backend: rpm::Backend, name: &str, original: &[u8]) {
    let path = format!("var/lib/rpm/{}", backend.file_name());
    let len = original.len();
    let mut complaints = 0;
    let mut check = |data: &[u8], what: &str, must_complain: bool| {
        let mut found = Found::default();
        rpm::read_database(backend, &path, data, None, &mut found);
        for p in &found.problems {
            assert_eq!(p.path, path, "{name} {what}: problem names the file");
            assert!(!p.message.is_empty());
        }
        if must_complain {
            assert!(
                !found.problems.is_empty(),
                "{name} {what}: no problem reported"
            );
        }
        complaints += usize::from(!found.problems.is_empty());
    };
    // Truncations: the last page or blob is always cut.
    for cut in [
        0,
        1,
        8,
        16,
        31,
        64,
        99,
        100,
        511,
        512,
        4095,
        4096,
        4097,
        len / 3,
        len / 2,
        len - 16,
        len - 1,
    ] {
        check(
            &original[..cut.min(len - 1)],
            &format!("truncated to {cut}"),
            true,
        );
    }
    // Corruptions.
    let mut rng = Lcg(len as u64);
    for round in 0..400 {
        let mut data = original.to_vec();
        let flips = 1 + rng.draw() % 8;
        for _ in 0..flips {
            let at = (rng.draw() as usize) % len;
            // Half the rounds in the first pages (metadata, slots, schema,
            // b-tree pages), where a flip changes structure rather than text.
            let at = if round % 2 == 0 {
                at % 8192.min(len)
            } else {
                at
            };
            data[at] = (rng.draw() & 0xff) as u8;
        }
        check(&data, &format!("corruption round {round}"), false);
    }
    // Every 4-byte word of the first page set to all ones.
    for at in (0..4096.min(len)).step_by(4) {
        let mut data = original.to_vec();
        data[at..at + 4].copy_from_slice(&[0xff; 4]);
        check(&data, &format!("word {at} set"), false);
    }
    // Not vacuous: damage is noticed well beyond the truncations.
    assert!(
        complaints > 30,
        "{name}: only {complaints} damaged copies reported"
    );
    // And through a root, as the collector meets it.
    let (_d, root) = root_with(&[(path.as_str(), &original[..len / 2])]);
    let found = collect(&root);
    assert!(
        !found.problems.is_empty() && found.problems.iter().all(|p| p.path == path),
        "{:?}",
        found.problems
    );
}

#[test]
fn rpm_damaged_sqlite_is_a_problem_naming_the_file() {
    let db = fixture("mariner-2.0-sqlite/rpmdb.sqlite");
    damaged_copies(rpm::Backend::Sqlite, "sqlite", &db);
    // Not a database at all.
    let (_d, root) = root_with(&[("var/lib/rpm/rpmdb.sqlite", b"hello")]);
    let found = collect(&root);
    assert_eq!(found.problems.len(), 1);
    assert!(
        found.problems[0]
            .message
            .contains("not an SQLite 3 database"),
        "{:?}",
        found.problems
    );
}

#[test]
#[ignore = "needs rpm and db5.3-util (scripts/setup); scripts/test runs it"]
fn rpm_damaged_bdb_is_a_problem_naming_the_file() {
    let db = fixture("libuuid-bdb/Packages");
    damaged_copies(rpm::Backend::Bdb, "bdb", &db);
    // A BerkeleyDB written here, with many buckets and both byte orders.
    let work = tempfile::tempdir().expect("temp dir");
    let built = build_rpm_root(work.path());
    let blobs = export_headers(&built);
    for big_endian in [false, true] {
        let dir = work.path().join(format!("bdb-{big_endian}"));
        let file = write_bdb(&dir, &blobs, big_endian, 512);
        damaged_copies(
            rpm::Backend::Bdb,
            "built bdb",
            &std::fs::read(file).expect("read"),
        );
    }
}

#[test]
fn rpm_damaged_ndb_is_a_problem_naming_the_file() {
    let db = fixture("sle15-bci-ndb/Packages.db");
    damaged_copies(rpm::Backend::Ndb, "ndb", &db);
    // One flipped byte in a blob is caught by its checksum: that package is
    // a problem, the other 34 are still read.
    let mut data = db.clone();
    let first_blob = u32::from_le_bytes(data[40..44].try_into().expect("4 bytes")) as usize * 16;
    data[first_blob + 100] ^= 0x01;
    let (_d, root) = root_with(&[("var/lib/rpm/Packages.db", &data)]);
    let found = collect(&root);
    assert_eq!(found.packages.len(), 34);
    assert_eq!(found.problems.len(), 1);
    assert!(
        found.problems[0].message.contains("checksum"),
        "{:?}",
        found.problems
    );
}

/// The same rpm-built database as Syft and Trivy read it (a root with an
/// AlmaLinux os-release, so that Trivy's OS analyzers accept it).
#[test]
#[ignore = "needs rpm and db5.3-util (scripts/setup); scripts/test runs it"]
fn rpm_database_written_by_rpm_matches_syft_and_trivy() {
    use std::collections::BTreeSet;
    let work = tempfile::tempdir().expect("temp dir");
    let root_dir = build_rpm_root(work.path());
    std::fs::create_dir_all(root_dir.join("etc")).expect("mkdir etc");
    std::fs::write(
        root_dir.join("etc/os-release"),
        "NAME=\"AlmaLinux\"\nVERSION=\"9.4 (Seafoam Ocelot)\"\nID=\"almalinux\"\nVERSION_ID=\"9.4\"\n",
    )
    .expect("os-release");
    let found = collect(&DirRoot::new(&root_dir).expect("root"));
    let ours: BTreeSet<(String, String, String)> = found
        .packages
        .iter()
        .map(|p| {
            let epoch = p.epoch.map(|e| format!("{e}:")).unwrap_or_default();
            (
                p.name.clone(),
                format!("{epoch}{}", p.version),
                p.arch.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(ours.len(), 4);

    let theirs = kensa_testkit::peers::syft_packages(&format!("dir:{}", root_dir.display()), "rpm");
    // Syft also lists the imported signing key as a package `gpg-pubkey`;
    // it is not installed software, and Kensa leaves it out.
    let theirs: BTreeSet<_> = theirs
        .into_iter()
        .filter(|(n, _, _)| n != "gpg-pubkey")
        .collect();
    assert_eq!(ours, theirs, "kensa vs syft");

    let doc = kensa_testkit::peers::trivy_rootfs(&root_dir, "json");
    let theirs: BTreeSet<(String, String, String)> = doc["Results"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["Packages"].as_array().cloned().unwrap_or_default())
        .map(|p| {
            let epoch = p["Epoch"]
                .as_u64()
                .filter(|e| *e > 0)
                .map(|e| format!("{e}:"))
                .unwrap_or_default();
            (
                p["Name"].as_str().unwrap_or_default().to_owned(),
                format!(
                    "{epoch}{}-{}",
                    p["Version"].as_str().unwrap_or_default(),
                    p["Release"].as_str().unwrap_or_default()
                ),
                p["Arch"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    // Trivy lists the signing key too, and keeps the epoch as a number, so
    // an explicit `Epoch: 0` and no epoch look the same to it.
    let theirs: BTreeSet<_> = theirs
        .into_iter()
        .filter(|(n, _, _)| n != "gpg-pubkey")
        .collect();
    let ours_no_zero: BTreeSet<_> = ours
        .iter()
        .map(|(n, v, a)| {
            (
                n.clone(),
                v.strip_prefix("0:").unwrap_or(v).to_owned(),
                a.clone(),
            )
        })
        .collect();
    assert_eq!(ours_no_zero, theirs, "kensa vs trivy");
}
