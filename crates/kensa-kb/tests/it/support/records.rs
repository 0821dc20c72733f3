//! Finding things in imported records, shared by the importer tests.
#![allow(dead_code)] // each test file uses some of these

use kensa_kb::model::{Advisory, Affected, Record};

/// Every record as an advisory; any other kind fails the test.
pub fn advisories(records: Vec<Record>) -> Vec<Advisory> {
    records
        .into_iter()
        .map(|r| match r {
            Record::Advisory(a) => a,
            other => panic!("unexpected record {other:?}"),
        })
        .collect()
}

pub fn find<'a>(advs: &'a [Advisory], id: &str) -> &'a Advisory {
    advs.iter()
        .find(|a| a.id == id)
        .unwrap_or_else(|| panic!("{id} missing"))
}

pub fn aff<'a>(a: &'a Advisory, namespace: &str, package: &str) -> &'a Affected {
    a.affected
        .iter()
        .find(|x| x.namespace == namespace && x.package == package)
        .unwrap_or_else(|| panic!("{} has no {namespace} {package}: {:?}", a.id, a.affected))
}
