//! The knowledge base tests evaluate against, built from the data folder
//! as `kensa db import --mirror DATA` builds it.

use std::path::Path;
use std::sync::OnceLock;

/// The data folder's knowledge base, built once per test process.
pub fn shared() -> &'static Path {
    static KB: OnceLock<tempfile::TempDir> = OnceLock::new();
    KB.get_or_init(|| {
        let dir = crate::process_tempdir();
        build(dir.path(), Vec::new());
        dir
    })
    .path()
}

/// A knowledge base generation in `dir` (a new one beside any already
/// there, as an update makes it): the data folder's feeds plus `extra`
/// records.
pub fn build(dir: &Path, extra: Vec<kensa_kb::model::Record>) {
    use kensa_kb::model::Sink;
    let mut b = kensa_kb::base::KnowledgeBaseBuilder::create(dir)
        .unwrap_or_else(|e| panic!("knowledge base in {}: {e}", dir.display()));
    let imported = kensa_kb::mirror::import(&crate::data_dir(), &mut b)
        .unwrap_or_else(|e| panic!("importing {}: {e}", crate::data_dir().display()));
    // The import reports go into the store's metadata as `kensa db import`
    // puts them: a scan reads the records they say were dropped.
    for i in imported {
        b.report(&i.feed, i.report);
    }
    for r in extra {
        b.record(r);
    }
    b.finish().expect("finish the knowledge base");
}
