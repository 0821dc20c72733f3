//! Shared by the `kensa` binary's integration tests.
#![allow(dead_code)] // each test file uses some of these

use std::path::Path;
use std::sync::OnceLock;

/// The knowledge base, built once per test process from the data folder
/// (`kensa_testkit`'s builder, the import `kensa db import` runs).
pub fn kb() -> &'static Path {
    kensa_testkit::kb::shared()
}

pub fn utf8(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
/// An Alpine 3.4.6 root: the real apk database of the data folder.
pub fn alpine_root() -> &'static Path {
    static ROOT: OnceLock<tempfile::TempDir> = OnceLock::new();
    ROOT.get_or_init(|| {
        let dir = kensa_testkit::process_tempdir();
        let root = dir.path();
        std::fs::create_dir_all(root.join("lib/apk/db")).expect("mkdir");
        std::fs::create_dir_all(root.join("etc")).expect("mkdir");
        std::fs::copy(
            kensa_testkit::data_path("fixtures/apk/alpine/installed"),
            root.join("lib/apk/db/installed"),
        )
        .expect("copy the apk database");
        std::fs::write(root.join("etc/alpine-release"), "3.4.6\n").expect("write");
        dir
    })
    .path()
}

const DEBIAN10_STATUS: &str = "\
Package: putty
Status: install ok installed
Priority: optional
Section: net
Maintainer: Colin Watson <cjwatson@debian.org>
Architecture: amd64
Version: 0.70-6
Description: Telnet/SSH client for X

Package: redis-server
Status: install ok installed
Priority: optional
Section: database
Maintainer: Chris Lamb <lamby@debian.org>
Architecture: amd64
Source: redis
Version: 5:5.0.3-4
Description: Persistent key-value database with network interface

Package: redis-tools
Status: install ok installed
Priority: optional
Section: database
Maintainer: Chris Lamb <lamby@debian.org>
Architecture: amd64
Source: redis
Version: 5:5.0.3-4
Description: Persistent key-value database with network interface (client)
";

/// A Debian 10 root whose packages the data folder's Debian tracker
/// sample names: `putty` (`<no-dsa>`, status `affected`), `redis-server`
/// and `redis-tools` (source `redis`, fixed by DSA-4480-1).
pub fn debian10_root() -> &'static Path {
    static ROOT: OnceLock<tempfile::TempDir> = OnceLock::new();
    ROOT.get_or_init(|| {
        let dir = kensa_testkit::process_tempdir();
        let root = dir.path();
        std::fs::create_dir_all(root.join("var/lib/dpkg")).expect("mkdir");
        std::fs::create_dir_all(root.join("etc")).expect("mkdir");
        std::fs::write(root.join("var/lib/dpkg/status"), DEBIAN10_STATUS).expect("write");
        std::fs::write(
            root.join("etc/os-release"),
            "PRETTY_NAME=\"Debian GNU/Linux 10 (buster)\"\nNAME=\"Debian GNU/Linux\"\n\
             VERSION_ID=\"10\"\nVERSION=\"10 (buster)\"\nVERSION_CODENAME=buster\nID=debian\n",
        )
        .expect("write");
        dir
    })
    .path()
}

pub mod server;
