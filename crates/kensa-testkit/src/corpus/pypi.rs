//! PyPI versions: every version named in the PyPA advisory database's OSV
//! records (`osv/PyPI/all.zip`: `affected[].versions` and range events).
//! Some are not PEP 440 at all (legacy versions such as `0.3m1` or
//! `0.7.10p1`, and commit hashes from `GIT` ranges), which keeps the
//! rejection path under test.

pub fn versions() -> Vec<String> {
    super::osv_versions("PyPI", "PyPI")
        .into_iter()
        .filter(|v| !v.contains(['\t', '\n']))
        .collect()
}
