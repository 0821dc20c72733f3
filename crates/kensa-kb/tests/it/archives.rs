//! RustSec and endoflife.date read from GitHub's source archives (a zip of
//! the branch, everything under one top-level folder), built here from the
//! real data folder: the same records, skips and errors as the folders.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use kensa_kb::feeds::{eol, rustsec};
use kensa_kb::model::{FeedReport, Record};
use kensa_kb::{mirror, update};
use zip::write::SimpleFileOptions;

/// Files under `dir`, recursively, as (path relative to `dir` with `/`,
/// full path), sorted.
fn tree(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("readable data folder") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("under dir");
                let rel: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push((rel.join("/"), p));
            }
        }
    }
    out.sort();
    out
}

/// Zip `dir` as GitHub does: every entry under `top/` (with directory
/// entries), `under` put between the top folder and the files.
fn zip_dir(dir: &Path, zip: &Path, top: &str, under: &str, stored: bool) {
    let file = std::fs::File::create(zip).expect("create zip");
    let mut w = zip::ZipWriter::new(file);
    let method = if stored {
        zip::CompressionMethod::Stored
    } else {
        zip::CompressionMethod::Deflated
    };
    let opts = SimpleFileOptions::default().compression_method(method);
    w.add_directory(format!("{top}/"), opts).expect("dir entry");
    let mut dirs = std::collections::BTreeSet::new();
    for (rel, path) in tree(dir) {
        let name = format!("{top}/{under}{rel}");
        let mut parent = String::new();
        for part in name
            .split('/')
            .collect::<Vec<_>>()
            .iter()
            .rev()
            .skip(1)
            .rev()
        {
            parent.push_str(part);
            parent.push('/');
            if parent != format!("{top}/") && dirs.insert(parent.clone()) {
                w.add_directory(parent.clone(), opts).expect("dir entry");
            }
        }
        w.start_file(name, opts).expect("file entry");
        w.write_all(&std::fs::read(&path).expect("read data file"))
            .expect("write entry");
    }
    w.finish().expect("finish zip");
}

/// Records as JSON, sorted: order-independent comparison.
fn serialised(records: &[Record]) -> Vec<String> {
    let mut v: Vec<String> = records
        .iter()
        .map(|r| serde_json::to_string(r).expect("serialisable"))
        .collect();
    v.sort();
    v
}

fn skips(r: &FeedReport) -> BTreeMap<String, usize> {
    r.skipped.iter().cloned().collect()
}

/// Errors with the file name made relative: `…/crates/x/y.md` and
/// `…zip!/advisory-db-main/crates/x/y.md` both become `crates/x/y.md`.
fn errors(r: &FeedReport, base: &str) -> Vec<(String, Option<String>, String)> {
    let mut v: Vec<_> = r
        .errors
        .iter()
        .map(|e| {
            let file = match e.file.split_once(".zip!/") {
                Some((_, entry)) => entry.split_once('/').map_or(entry, |(_, r)| r).to_owned(),
                None => e
                    .file
                    .strip_prefix(base)
                    .unwrap_or(&e.file)
                    .trim_start_matches('/')
                    .to_owned(),
            };
            (file, e.record.clone(), e.message.clone())
        })
        .collect();
    v.sort();
    v
}

fn rustsec_of(path: &Path) -> (Vec<Record>, FeedReport) {
    let mut records = Vec::new();
    let report = rustsec::import(path, &mut records).expect("readable feed");
    (records, report)
}

fn eol_of(path: &Path) -> (Vec<Record>, FeedReport) {
    let mut records = Vec::new();
    let report = eol::import(path, &mut records).expect("readable feed");
    (records, report)
}

#[test]
fn rustsec_archive_gives_the_checkout_records() {
    let data = kensa_testkit::data_path("rustsec");
    let tmp = tempfile::tempdir().expect("temp dir");
    let zip = tmp.path().join("advisory-db.zip");
    zip_dir(&data, &zip, "advisory-db-main", "", false);
    let (dir_records, dir_report) = rustsec_of(&data);
    let (zip_records, zip_report) = rustsec_of(&zip);
    assert!(dir_report.records > 500, "{dir_report:?}");
    assert_eq!(zip_report.records, dir_report.records);
    assert_eq!(zip_records.len(), dir_records.len());
    assert_eq!(skips(&zip_report), skips(&dir_report));
    assert!(
        skips(&zip_report).contains_key("rust toolchain advisory"),
        "{zip_report:?}"
    );
    assert_eq!(
        errors(&zip_report, ""),
        errors(&dir_report, &data.display().to_string())
    );
    assert_eq!(serialised(&zip_records), serialised(&dir_records));
}

#[test]
fn eol_archive_gives_the_folder_records() {
    let data = kensa_testkit::data_path("eol/products");
    let tmp = tempfile::tempdir().expect("temp dir");
    let zip = tmp.path().join("endoflife.date.zip");
    zip_dir(&data, &zip, "endoflife.date-master", "products/", false);
    let (dir_records, dir_report) = eol_of(&data);
    let (zip_records, zip_report) = eol_of(&zip);
    assert!(dir_report.records > 1000, "{dir_report:?}");
    assert_eq!(zip_report.records, dir_report.records);
    assert_eq!(zip_records.len(), dir_records.len());
    assert_eq!(skips(&zip_report), skips(&dir_report));
    assert_eq!(
        errors(&zip_report, ""),
        errors(
            &dir_report,
            &data.parent().expect("eol/").display().to_string()
        )
    );
    assert_eq!(serialised(&zip_records), serialised(&dir_records));
}

/// Bad files (not TOML/YAML, a bad requirement, not UTF-8) give the same
/// per-record errors from the archive as from the folder.
#[test]
fn bad_records_give_the_same_errors() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("advisory-db");
    let crates = dir.join("crates/demo");
    std::fs::create_dir_all(&crates).expect("mkdir");
    let good = tree(&kensa_testkit::data_path("rustsec/crates"));
    for (rel, path) in good.iter().take(5) {
        let to = dir.join("crates").join(rel);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(path, to).expect("copy");
    }
    std::fs::write(crates.join("RUSTSEC-0000-0001.md"), "no front matter\n").expect("write");
    std::fs::write(
        crates.join("RUSTSEC-0000-0002.md"),
        "```toml\n[advisory]\nid = \"RUSTSEC-0000-0002\"\npackage = \"demo\"\ndate = \"2020-01-01\"\n\n[versions]\npatched = [\"not a requirement\"]\n```\n\n# Demo\n",
    )
    .expect("write");
    std::fs::write(
        crates.join("RUSTSEC-0000-0003.md"),
        b"```toml\n\xff\xfe\n```\n",
    )
    .expect("write");
    let zip = tmp.path().join("advisory-db.zip");
    zip_dir(&dir, &zip, "advisory-db-main", "", false);
    let (dir_records, dir_report) = rustsec_of(&dir);
    let (zip_records, zip_report) = rustsec_of(&zip);
    assert_eq!(dir_report.errors.len(), 3, "{dir_report:?}");
    assert_eq!(
        errors(&zip_report, ""),
        errors(&dir_report, &dir.display().to_string())
    );
    assert!(
        zip_report.errors.iter().all(|e| e
            .file
            .contains("advisory-db.zip!/advisory-db-main/crates/demo/")),
        "{zip_report:?}"
    );
    assert_eq!(serialised(&zip_records), serialised(&dir_records));

    let products = tmp.path().join("products");
    std::fs::create_dir_all(&products).expect("mkdir");
    for (rel, path) in tree(&kensa_testkit::data_path("eol/products"))
        .iter()
        .take(5)
    {
        std::fs::copy(path, products.join(rel)).expect("copy");
    }
    std::fs::write(products.join("bad-yaml.md"), "---\nreleases: [\n---\n").expect("write");
    std::fs::write(
        products.join("bad-eol.md"),
        "---\nreleases:\n  - releaseCycle: \"1\"\n    eol: soon\n  - eol: true\n---\n",
    )
    .expect("write");
    std::fs::write(products.join("binary.md"), b"---\n\xff\n---\n").expect("write");
    let zip = tmp.path().join("endoflife.date.zip");
    zip_dir(&products, &zip, "endoflife.date-master", "products/", false);
    let (dir_records, dir_report) = eol_of(&products);
    let (zip_records, zip_report) = eol_of(&zip);
    assert_eq!(dir_report.errors.len(), 4, "{dir_report:?}");
    assert_eq!(
        errors(&zip_report, ""),
        errors(&dir_report, &tmp.path().display().to_string())
    );
    assert_eq!(serialised(&zip_records), serialised(&dir_records));
}

/// The data of entry `entry` inside the stored zip `bytes`: its offset.
fn data_offset(bytes: &[u8], content: &[u8]) -> usize {
    bytes
        .windows(content.len())
        .position(|w| w == content)
        .expect("stored entry data in the zip")
}

/// A real advisory that imports as a record: (path in the checkout, id).
fn some_advisory(data: &Path) -> (String, PathBuf) {
    let (records, _) = rustsec_of(data);
    let mut ids: Vec<(String, String)> = records
        .iter()
        .filter_map(|r| match r {
            Record::Advisory(a) => Some((a.id.clone(), a.affected[0].package.clone())),
            _ => None,
        })
        .collect();
    ids.sort();
    let (id, package) = &ids[ids.len() / 2];
    let rel = format!("crates/{package}/{id}.md");
    let path = data.join(&rel);
    assert!(path.is_file(), "{}", path.display());
    (rel, path)
}

#[test]
fn a_corrupt_entry_is_one_error_and_the_rest_import() {
    let data = kensa_testkit::data_path("rustsec");
    let (rel, path) = some_advisory(&data);
    let tmp = tempfile::tempdir().expect("temp dir");
    let zip = tmp.path().join("advisory-db.zip");
    zip_dir(&data, &zip, "advisory-db-main", "", true);
    let mut bytes = std::fs::read(&zip).expect("zip");
    let content = std::fs::read(&path).expect("advisory");
    let at = data_offset(&bytes, &content) + content.len() / 2;
    bytes[at] ^= 0x20;
    std::fs::write(&zip, &bytes).expect("write zip");

    let (_, dir_report) = rustsec_of(&data);
    let (records, report) = rustsec_of(&zip);
    let name = format!("advisory-db.zip!/advisory-db-main/{rel}");
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert!(
        report.errors[0].file.ends_with(&name),
        "{:?}",
        report.errors
    );
    assert_eq!(report.records, dir_report.records - 1);
    assert_eq!(records.len(), report.records);
}

#[test]
fn a_truncated_archive_imports_what_precedes_the_damage() {
    let data = kensa_testkit::data_path("rustsec");
    let (rel, path) = some_advisory(&data);
    let tmp = tempfile::tempdir().expect("temp dir");
    let zip = tmp.path().join("advisory-db.zip");
    zip_dir(&data, &zip, "advisory-db-main", "", true);
    let bytes = std::fs::read(&zip).expect("zip");
    let content = std::fs::read(&path).expect("advisory");
    let cut = data_offset(&bytes, &content) + content.len() / 2;
    std::fs::write(&zip, &bytes[..cut]).expect("write zip");

    let (_, dir_report) = rustsec_of(&data);
    let (records, report) = rustsec_of(&zip);
    let name = format!("advisory-db.zip!/advisory-db-main/{rel}");
    assert!(
        report.errors.iter().any(|e| e.file.ends_with(&name)),
        "{:?}",
        report.errors
    );
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.file.ends_with("advisory-db.zip")
                && e.message.contains("central directory")),
        "{:?}",
        report.errors
    );
    // Entries are stored in path order: everything before the cut imports.
    let partial = tmp.path().join("partial");
    for (r, p) in tree(&data.join("crates")) {
        if format!("crates/{r}") < rel {
            let to = partial.join("crates").join(&r);
            std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
            std::fs::copy(p, to).expect("copy");
        }
    }
    let (before, before_report) = rustsec_of(&partial);
    assert!(before_report.records > 100, "{before_report:?}");
    assert_eq!(report.records, before_report.records);
    assert_eq!(serialised(&records), serialised(&before));
    assert!(report.records < dir_report.records);
}

#[test]
fn the_mirror_prefers_the_archives_and_update_downloads_them() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let m = tmp.path();
    std::fs::create_dir_all(m.join("rustsec/crates")).expect("mkdir");
    std::fs::create_dir_all(m.join("eol/products")).expect("mkdir");
    zip_dir(
        &kensa_testkit::data_path("rustsec"),
        &m.join("rustsec/advisory-db.zip"),
        "advisory-db-main",
        "",
        false,
    );
    zip_dir(
        &kensa_testkit::data_path("eol/products"),
        &m.join("eol/endoflife.date.zip"),
        "endoflife.date-master",
        "products/",
        false,
    );
    let mut sink = Vec::new();
    let got = mirror::import(m, &mut sink).expect("mirror");
    let feed = |name: &str| {
        got.iter()
            .find(|i| i.feed == name)
            .unwrap_or_else(|| panic!("{name} in {got:?}"))
    };
    assert_eq!(
        feed("rustsec").path,
        m.join("rustsec/advisory-db.zip"),
        "{got:?}"
    );
    assert_eq!(feed("eol").path, m.join("eol/endoflife.date.zip"));
    let (_, r) = rustsec_of(&kensa_testkit::data_path("rustsec"));
    assert_eq!(feed("rustsec").report.records, r.records);
    let (_, e) = eol_of(&kensa_testkit::data_path("eol/products"));
    assert_eq!(feed("eol").report.records, e.records);

    // Without the archives, the folders as before.
    std::fs::remove_file(m.join("rustsec/advisory-db.zip")).expect("rm");
    std::fs::remove_file(m.join("eol/endoflife.date.zip")).expect("rm");
    let got = mirror::import(m, &mut Vec::new()).expect("mirror");
    let paths: Vec<&Path> = got.iter().map(|i| i.path.as_path()).collect();
    assert!(paths.contains(&m.join("rustsec").as_path()), "{got:?}");
    assert!(paths.contains(&m.join("eol/products").as_path()), "{got:?}");

    let table = update::upstream(&[], &[]);
    for (path, url) in [
        ("rustsec/advisory-db.zip", update::RUSTSEC_ZIP),
        ("eol/endoflife.date.zip", update::EOL_ZIP),
    ] {
        let r = table
            .iter()
            .find(|r| r.path == path)
            .unwrap_or_else(|| panic!("{path} in {table:?}"));
        assert_eq!(r.url, url);
        assert!(r.url.ends_with(".zip") && r.url.starts_with("https://github.com/"));
    }
    assert_eq!(update::feed_of("rustsec/advisory-db.zip"), "rustsec");
    assert_eq!(update::feed_of("eol/endoflife.date.zip"), "eol");
}
