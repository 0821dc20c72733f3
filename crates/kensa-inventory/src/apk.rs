//! Alpine's database, `lib/apk/db/installed`: one block per package of
//! single-letter fields (`P` name, `V` version, `A` arch, `o` origin, the
//! source package that Alpine's secdb is keyed by, `m` maintainer, `t`
//! build time).

use crate::Found;
use crate::error::InventoryError;
use crate::fs::Root;
use crate::model::{Package, PackageKind};

pub const INSTALLED: &str = "lib/apk/db/installed";
const LIMIT: u64 = 256 * 1024 * 1024;

pub fn collect(root: &dyn Root, found: &mut Found) {
    match root.read_text(INSTALLED, LIMIT) {
        Ok(Some(text)) => parse_installed(&text, INSTALLED, found),
        Ok(None) => {}
        Err(e) => found.problem(e),
    }
}

pub fn parse_installed(text: &str, path: &str, found: &mut Found) {
    let before = found.packages.len();
    parse_blocks(text, path, found);
    found.check_yield(path, text.as_bytes(), before, "apk");
}

fn parse_blocks(text: &str, path: &str, found: &mut Found) {
    let mut block: Vec<(char, &str)> = Vec::new();
    let mut start = 1;
    for (n, line) in text.lines().chain(std::iter::once("")).enumerate() {
        if line.is_empty() {
            if !block.is_empty() {
                finish(&block, path, start, found);
                block.clear();
            }
            start = n + 2;
            continue;
        }
        let mut chars = line.chars();
        if let (Some(k), Some(':')) = (chars.next(), chars.next()) {
            block.push((k, &line[2..]));
        }
    }
}

fn finish(block: &[(char, &str)], path: &str, line: usize, found: &mut Found) {
    let get = |k: char| {
        block
            .iter()
            .find(|(f, _)| *f == k)
            .map(|(_, v)| *v)
            .filter(|v| !v.is_empty())
    };
    let Some(name) = get('P') else {
        // Blocks of file lists with no package header happen only in
        // corrupt databases.
        return found.problem(InventoryError::parse(
            format!("{path}:{line}"),
            "block has no P: (package name)",
        ));
    };
    let Some(version) = get('V') else {
        return found.problem(InventoryError::parse(
            format!("{path}:{line}"),
            format!("package {name} has no V: (version)"),
        ));
    };
    found.packages.push(Package {
        kind: Some(PackageKind::Apk),
        name: name.to_owned(),
        version: version.to_owned(),
        arch: get('A').map(str::to_owned),
        // Without an origin, the package is its own source.
        source_name: Some(get('o').unwrap_or(name).to_owned()),
        maintainer: get('m').map(str::to_owned),
        path: path.to_owned(),
        ..Package::default()
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_with_origin_and_problems_named() {
        let text = "C:Q1\nP:musl\nV:1.1.14-r10\nA:x86_64\no:musl\nm:Someone <a@b>\nF:lib\nR:libc.so\n\nP:novers\n\nP:libcrypto1.0\nV:1.0.2h-r1\nA:x86_64\no:openssl\n";
        let mut f = Found::default();
        parse_installed(text, INSTALLED, &mut f);
        let got: Vec<_> = f
            .packages
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.version.as_str(),
                    p.source_name.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("musl", "1.1.14-r10", Some("musl")),
                ("libcrypto1.0", "1.0.2h-r1", Some("openssl"))
            ]
        );
        assert_eq!(f.problems.len(), 1);
        assert_eq!(f.problems[0].path, "lib/apk/db/installed:10");
    }
}
