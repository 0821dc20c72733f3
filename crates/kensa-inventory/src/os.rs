//! Which operating system a root holds, normalised to the distribution id
//! and release that vendors key their advisories by.
//!
//! `/etc/os-release` (or `/usr/lib/os-release`) first; for systems older
//! than os-release, the distribution's own release files.

use crate::error::Result;
use crate::fs::Root;
use crate::model::Os;

const LIMIT: u64 = 64 * 1024;

/// Identify the OS of `root`; `Ok(None)` when nothing says (scratch images).
pub fn identify(root: &dyn Root) -> Result<Option<Os>> {
    for file in ["etc/os-release", "usr/lib/os-release"] {
        if let Some(text) = root.read_text(file, LIMIT)?
            && let Some(os) = from_os_release(&text, file, root)?
        {
            return Ok(Some(os));
        }
    }
    fallback(root)
}

/// `KEY=value` lines, values optionally quoted (shell-like, as
/// os-release(5) specifies).
pub fn parse_env(text: &str) -> Vec<(&str, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        out.push((k.trim(), unquote(v.trim())));
    }
    out
}

fn unquote(v: &str) -> String {
    let bytes = v.as_bytes();
    if bytes.len() >= 2
        && (bytes[0] == b'"' || bytes[0] == b'\'')
        && bytes[bytes.len() - 1] == bytes[0]
    {
        let inner = &v[1..v.len() - 1];
        if bytes[0] == b'"' {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                } else {
                    out.push(c);
                }
            }
            return out;
        }
        return inner.to_owned();
    }
    v.to_owned()
}

fn get<'a>(kv: &'a [(&str, String)], key: &str) -> Option<&'a str> {
    kv.iter()
        .rev()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn major(v: &str) -> String {
    v.split('.').next().unwrap_or(v).to_owned()
}

fn major_minor(v: &str) -> String {
    let mut it = v.split('.');
    match (it.next(), it.next()) {
        (Some(a), Some(b)) => format!("{a}.{b}"),
        (Some(a), None) => a.to_owned(),
        _ => v.to_owned(),
    }
}

fn from_os_release(text: &str, file: &str, root: &dyn Root) -> Result<Option<Os>> {
    let kv = parse_env(text);
    let Some(raw_id) = get(&kv, "ID") else {
        return Ok(None);
    };
    let id = raw_id.to_ascii_lowercase();
    let version_id = get(&kv, "VERSION_ID").map(str::to_owned);
    let codename = get(&kv, "VERSION_CODENAME").map(str::to_owned);
    let pretty = get(&kv, "PRETTY_NAME").map(str::to_owned);
    let variant = pretty
        .as_deref()
        .filter(|p| p.to_ascii_lowercase().contains("distroless"))
        .map(|_| "distroless".to_owned());
    let (id, release, version) = match id.as_str() {
        "debian" => {
            // Testing and unstable have no VERSION_ID; debian_version says
            // "trixie/sid", and stable point releases "12.5".
            let dv = root
                .read_text("etc/debian_version", LIMIT)?
                .map(|t| t.trim().to_owned());
            let release = match (&version_id, &dv) {
                (Some(v), _) => major(v),
                (None, Some(d)) if d.contains('/') => "sid".to_owned(),
                (None, Some(d)) => major(d),
                (None, None) => "unknown".to_owned(),
            };
            let version = dv.filter(|d| !d.contains('/')).or(version_id.clone());
            ("debian".to_owned(), release, version)
        }
        "ubuntu" => (
            "ubuntu".to_owned(),
            version_id.clone().unwrap_or_default(),
            version_id.clone(),
        ),
        "amzn" => {
            // Amazon Linux 2 says "2", 2023 says "2023", the old AMI "2018.03".
            let v = version_id.clone().unwrap_or_default();
            let release = if v.starts_with("2018") || v.starts_with("2017") {
                "1".to_owned()
            } else {
                major(&v)
            };
            ("amzn".to_owned(), release, version_id.clone())
        }
        "rhel" | "centos" | "rocky" | "almalinux" | "ol" | "fedora" | "cloudlinux"
        | "eurolinux" => {
            let v = version_id.clone().unwrap_or_default();
            (id.clone(), major(&v), version_id.clone())
        }
        "alpine" => {
            let v = version_id.clone().unwrap_or_default();
            // Edge builds carry "_alpha" or "_git" snapshot versions.
            let release = if v.contains('_') || v.is_empty() {
                "edge".to_owned()
            } else {
                major_minor(&v)
            };
            ("alpine".to_owned(), release, version_id.clone())
        }
        "sles" | "sled" | "sles_sap" | "opensuse-leap" | "opensuse-leap-micro" | "sle-micro" => (
            id.clone(),
            version_id.clone().unwrap_or_default(),
            version_id.clone(),
        ),
        "opensuse-tumbleweed" | "wolfi" | "chainguard" | "arch" | "gentoo" => {
            (id.clone(), "rolling".to_owned(), version_id.clone())
        }
        "photon" | "mariner" | "azurelinux" => {
            let v = version_id.clone().unwrap_or_default();
            (id.clone(), major_minor(&v), version_id.clone())
        }
        _ => (
            id.clone(),
            version_id.clone().unwrap_or_default(),
            version_id.clone(),
        ),
    };
    Ok(Some(Os {
        id,
        release,
        version,
        codename,
        pretty_name: pretty,
        variant,
        source_file: file.to_owned(),
    }))
}

/// Systems without os-release (CentOS 6, Amazon Linux AMI, old Debian and
/// Ubuntu, old Alpine).
fn fallback(root: &dyn Root) -> Result<Option<Os>> {
    for file in [
        "etc/redhat-release",
        "etc/system-release",
        "etc/centos-release",
        "etc/oracle-release",
    ] {
        if let Some(text) = root.read_text(file, LIMIT)?
            && let Some(os) = from_release_line(text.trim(), file)
        {
            return Ok(Some(os));
        }
    }
    if let Some(text) = root.read_text("etc/alpine-release", LIMIT)? {
        let v = text.trim().to_owned();
        return Ok(Some(Os {
            id: "alpine".into(),
            release: major_minor(&v),
            version: Some(v),
            source_file: "etc/alpine-release".into(),
            ..Os::default()
        }));
    }
    if let Some(text) = root.read_text("etc/lsb-release", LIMIT)? {
        let kv = parse_env(&text);
        if let (Some(id), Some(rel)) = (get(&kv, "DISTRIB_ID"), get(&kv, "DISTRIB_RELEASE")) {
            return Ok(Some(Os {
                id: id.to_ascii_lowercase(),
                release: rel.to_owned(),
                version: Some(rel.to_owned()),
                codename: get(&kv, "DISTRIB_CODENAME").map(str::to_owned),
                pretty_name: get(&kv, "DISTRIB_DESCRIPTION").map(str::to_owned),
                variant: None,
                source_file: "etc/lsb-release".into(),
            }));
        }
    }
    if let Some(text) = root.read_text("etc/debian_version", LIMIT)? {
        let v = text.trim().to_owned();
        let release = if v.contains('/') {
            "sid".to_owned()
        } else {
            major(&v)
        };
        return Ok(Some(Os {
            id: "debian".into(),
            release,
            version: Some(v),
            source_file: "etc/debian_version".into(),
            ..Os::default()
        }));
    }
    Ok(None)
}

/// "CentOS Linux release 7.9.2009 (Core)", "Red Hat Enterprise Linux Server
/// release 6.10 (Santiago)", "Amazon Linux AMI release 2018.03", ...
fn from_release_line(line: &str, file: &str) -> Option<Os> {
    let lower = line.to_ascii_lowercase();
    let version = line
        .split_whitespace()
        .skip_while(|w| *w != "release")
        .nth(1)
        .map(str::to_owned)?;
    let id = if lower.starts_with("centos") {
        "centos"
    } else if lower.starts_with("red hat") {
        "rhel"
    } else if lower.starts_with("rocky") {
        "rocky"
    } else if lower.starts_with("almalinux") {
        "almalinux"
    } else if lower.starts_with("oracle") {
        "ol"
    } else if lower.starts_with("fedora") {
        "fedora"
    } else if lower.starts_with("amazon linux ami") {
        return Some(Os {
            id: "amzn".into(),
            release: "1".into(),
            version: Some(version),
            pretty_name: Some(line.to_owned()),
            source_file: file.into(),
            ..Os::default()
        });
    } else if lower.starts_with("amazon linux") {
        "amzn"
    } else {
        return None;
    };
    Some(Os {
        id: id.into(),
        release: major(&version),
        version: Some(version),
        codename: line
            .rsplit_once('(')
            .map(|(_, c)| c.trim_end_matches(')').to_owned()),
        pretty_name: Some(line.to_owned()),
        variant: None,
        source_file: file.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::DirRoot;

    fn root_with(files: &[(&str, &str)]) -> (tempfile::TempDir, DirRoot) {
        let dir = tempfile::tempdir().expect("temp dir");
        for (path, text) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
        let root = DirRoot::new(dir.path()).expect("root");
        (dir, root)
    }

    fn os(files: &[(&str, &str)]) -> Os {
        let (_d, root) = root_with(files);
        identify(&root).expect("readable").expect("identified")
    }

    // Real os-release contents of each distribution, as they ship them.
    #[test]
    fn os_release_of_each_distribution() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n",
                "debian",
                "12",
            ),
            (
                "NAME=\"Ubuntu\"\nVERSION=\"22.04.4 LTS (Jammy Jellyfish)\"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"22.04\"\nVERSION_CODENAME=jammy\n",
                "ubuntu",
                "22.04",
            ),
            (
                "NAME=\"Amazon Linux\"\nVERSION=\"2\"\nID=\"amzn\"\nID_LIKE=\"centos rhel fedora\"\nVERSION_ID=\"2\"\n",
                "amzn",
                "2",
            ),
            (
                "NAME=\"Amazon Linux\"\nVERSION=\"2023\"\nID=\"amzn\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"2023\"\n",
                "amzn",
                "2023",
            ),
            (
                "NAME=\"Rocky Linux\"\nVERSION=\"9.3 (Blue Onyx)\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.3\"\n",
                "rocky",
                "9",
            ),
            (
                "NAME=\"AlmaLinux\"\nVERSION=\"8.9 (Midnight Oncilla)\"\nID=\"almalinux\"\nVERSION_ID=\"8.9\"\n",
                "almalinux",
                "8",
            ),
            (
                "NAME=\"Red Hat Enterprise Linux\"\nID=\"rhel\"\nVERSION_ID=\"9.4\"\n",
                "rhel",
                "9",
            ),
            (
                "NAME=\"Oracle Linux Server\"\nID=\"ol\"\nVERSION_ID=\"7.9\"\n",
                "ol",
                "7",
            ),
            (
                "NAME=\"CentOS Linux\"\nVERSION=\"7 (Core)\"\nID=\"centos\"\nVERSION_ID=\"7\"\n",
                "centos",
                "7",
            ),
            (
                "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\n",
                "alpine",
                "3.19",
            ),
            (
                "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.0_alpha20240329\n",
                "alpine",
                "edge",
            ),
            (
                "NAME=\"SLES\"\nVERSION=\"15-SP5\"\nVERSION_ID=\"15.5\"\nID=\"sles\"\n",
                "sles",
                "15.5",
            ),
            (
                "NAME=\"Fedora Linux\"\nVERSION_ID=39\nID=fedora\n",
                "fedora",
                "39",
            ),
            (
                "NAME=\"VMware Photon OS\"\nVERSION=\"5.0\"\nID=photon\nVERSION_ID=5.0\n",
                "photon",
                "5.0",
            ),
            (
                "ID=wolfi\nNAME=\"Wolfi\"\nPRETTY_NAME=\"Wolfi\"\nVERSION_ID=\"20230201\"\n",
                "wolfi",
                "rolling",
            ),
            (
                "NAME=\"Common Base Linux Mariner\"\nVERSION=\"2.0.20240123\"\nID=mariner\nVERSION_ID=\"2.0\"\n",
                "mariner",
                "2.0",
            ),
        ];
        for (text, id, release) in cases {
            let o = os(&[("etc/os-release", text)]);
            assert_eq!(
                (o.id.as_str(), o.release.as_str()),
                (*id, *release),
                "{text}"
            );
        }
    }

    #[test]
    fn distroless_is_debian_with_a_variant() {
        let o = os(&[(
            "etc/os-release",
            "PRETTY_NAME=\"Distroless\"\nNAME=\"Debian GNU/Linux\"\nID=\"debian\"\nVERSION_ID=\"12\"\nVERSION=\"Debian GNU/Linux 12 (bookworm)\"\n",
        )]);
        assert_eq!(
            (o.id.as_str(), o.release.as_str(), o.variant.as_deref()),
            ("debian", "12", Some("distroless"))
        );
    }

    #[test]
    fn debian_testing_and_point_releases() {
        let o = os(&[
            ("etc/os-release", "ID=debian\nVERSION_CODENAME=trixie\n"),
            ("etc/debian_version", "trixie/sid\n"),
        ]);
        assert_eq!(o.release, "sid");
        let o = os(&[
            ("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n"),
            ("etc/debian_version", "12.5\n"),
        ]);
        assert_eq!(
            (o.release.as_str(), o.version.as_deref()),
            ("12", Some("12.5"))
        );
    }

    #[test]
    fn usr_lib_os_release_through_a_symlinked_etc() {
        let (dir, _) = root_with(&[("usr/lib/os-release", "ID=fedora\nVERSION_ID=40\n")]);
        let root = DirRoot::new(dir.path()).expect("root");
        assert_eq!(
            identify(&root).expect("ok").expect("found").source_file,
            "usr/lib/os-release"
        );
    }

    #[test]
    fn fallbacks_for_old_systems() {
        let o = os(&[("etc/redhat-release", "CentOS release 6.10 (Final)\n")]);
        assert_eq!(
            (o.id.as_str(), o.release.as_str(), o.codename.as_deref()),
            ("centos", "6", Some("Final"))
        );
        let o = os(&[(
            "etc/redhat-release",
            "Red Hat Enterprise Linux Server release 6.10 (Santiago)\n",
        )]);
        assert_eq!((o.id.as_str(), o.release.as_str()), ("rhel", "6"));
        let o = os(&[("etc/system-release", "Amazon Linux AMI release 2018.03\n")]);
        assert_eq!((o.id.as_str(), o.release.as_str()), ("amzn", "1"));
        let o = os(&[("etc/alpine-release", "3.11.6\n")]);
        assert_eq!((o.id.as_str(), o.release.as_str()), ("alpine", "3.11"));
        let o = os(&[(
            "etc/lsb-release",
            "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=14.04\nDISTRIB_CODENAME=trusty\n",
        )]);
        assert_eq!((o.id.as_str(), o.release.as_str()), ("ubuntu", "14.04"));
        let o = os(&[("etc/debian_version", "8.11\n")]);
        assert_eq!((o.id.as_str(), o.release.as_str()), ("debian", "8"));
    }

    #[test]
    fn nothing_to_identify() {
        let (_d, root) = root_with(&[("bin/app", "x")]);
        assert_eq!(identify(&root).expect("ok"), None);
    }
}
