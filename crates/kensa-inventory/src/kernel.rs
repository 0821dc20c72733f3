//! Kernels: which are installed, and on a live host which one runs, so that
//! detection can tell "fixed package installed, host not rebooted" (only the
//! running kernel is exposed).

use crate::fs::{EntryKind, Root};
use crate::model::{Kernels, Package, PackageKind};

/// Installed kernels, as `uname -r` names them: the module trees in
/// `lib/modules` (`usr/lib/modules` on merged-/usr systems) that hold a
/// kernel image or `modules.dep`, and `boot/vmlinuz-*`.
pub fn installed(root: &dyn Root) -> crate::Result<Vec<String>> {
    let mut out = Vec::new();
    for dir in ["lib/modules", "usr/lib/modules"] {
        for e in root.read_dir(dir)? {
            if e.kind != EntryKind::Dir {
                continue;
            }
            let has = |f: &str| -> crate::Result<bool> {
                Ok(root
                    .read_dir(&format!("{dir}/{}", e.name))?
                    .iter()
                    .any(|x| x.name == f))
            };
            // A directory left behind by a removed kernel has neither.
            if has("vmlinuz")? || has("modules.dep")? {
                out.push(e.name);
            }
        }
    }
    for e in root.read_dir("boot")? {
        if let Some(release) = e.name.strip_prefix("vmlinuz-")
            && matches!(e.kind, EntryKind::File | EntryKind::Symlink)
        {
            out.push(release.to_owned());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The kernel release (as `uname -r` prints it) that a kernel image
/// package installs, by each distribution's naming; `None` for any other
/// package, including meta-packages such as Debian's `linux-image-amd64`.
pub fn release_of_package(p: &Package) -> Option<String> {
    match p.kind? {
        // linux-image-6.1.0-18-amd64, linux-image-5.15.0-91-generic
        PackageKind::Deb => {
            let release = p.name.strip_prefix("linux-image-")?;
            let unsigned = release.strip_suffix("-unsigned").unwrap_or(release);
            (unsigned.starts_with(|c: char| c.is_ascii_digit()) && !unsigned.ends_with("-dbg"))
                .then(|| unsigned.to_owned())
        }
        // kernel-core 5.14.0-362.8.1.el9_3 x86_64 → 5.14.0-362.8.1.el9_3.x86_64
        PackageKind::Rpm => {
            let flavour = match p.name.as_str() {
                "kernel" | "kernel-core" | "kernel-uek" | "kernel-uek-core" => "",
                "kernel-rt" | "kernel-rt-core" => "+rt",
                "kernel-64k" | "kernel-64k-core" => "+64k",
                _ => return None,
            };
            let arch = p.arch.as_deref()?;
            Some(format!("{}.{arch}{flavour}", p.version))
        }
        // linux-lts 6.6.31-r0 → 6.6.31-0-lts; linux-virt → -virt
        PackageKind::Apk => {
            let flavour = p.name.strip_prefix("linux-")?;
            if !matches!(flavour, "lts" | "virt" | "edge" | "rpi" | "stable") {
                return None;
            }
            let (version, rev) = p.version.rsplit_once("-r")?;
            Some(format!("{version}-{rev}-{flavour}"))
        }
        _ => None,
    }
}

/// The running kernel of this host (live collection only).
pub fn running() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// Installed kernels from the module trees and from the kernel packages
/// already collected, and the running one on a live host.
pub fn collect(root: &dyn Root, packages: &[Package], live: bool) -> crate::Result<Kernels> {
    let mut installed = installed(root)?;
    installed.extend(packages.iter().filter_map(release_of_package));
    installed.sort();
    installed.dedup();
    Ok(Kernels {
        installed,
        running: if live { running() } else { None },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(kind: PackageKind, name: &str, version: &str, arch: &str) -> Package {
        Package {
            kind: Some(kind),
            name: name.into(),
            version: version.into(),
            arch: Some(arch.into()),
            ..Package::default()
        }
    }

    #[test]
    fn kernel_packages_name_their_uname_release() {
        let cases = [
            (
                pkg(
                    PackageKind::Deb,
                    "linux-image-6.1.0-18-amd64",
                    "6.1.76-1",
                    "amd64",
                ),
                Some("6.1.0-18-amd64"),
            ),
            (
                pkg(
                    PackageKind::Deb,
                    "linux-image-5.15.0-91-generic",
                    "5.15.0-91.101",
                    "amd64",
                ),
                Some("5.15.0-91-generic"),
            ),
            (
                pkg(PackageKind::Deb, "linux-image-amd64", "6.1.76-1", "amd64"),
                None,
            ),
            (
                pkg(
                    PackageKind::Deb,
                    "linux-image-6.1.0-18-amd64-dbg",
                    "6.1.76-1",
                    "amd64",
                ),
                None,
            ),
            (
                pkg(
                    PackageKind::Rpm,
                    "kernel-core",
                    "5.14.0-362.8.1.el9_3",
                    "x86_64",
                ),
                Some("5.14.0-362.8.1.el9_3.x86_64"),
            ),
            (
                pkg(
                    PackageKind::Rpm,
                    "kernel",
                    "4.14.336-257.562.amzn2",
                    "x86_64",
                ),
                Some("4.14.336-257.562.amzn2.x86_64"),
            ),
            (
                pkg(
                    PackageKind::Rpm,
                    "kernel-headers",
                    "5.14.0-362.8.1.el9_3",
                    "x86_64",
                ),
                None,
            ),
            (
                pkg(PackageKind::Apk, "linux-lts", "6.6.31-r0", "x86_64"),
                Some("6.6.31-0-lts"),
            ),
            (
                pkg(PackageKind::Apk, "linux-firmware", "20240513-r0", "noarch"),
                None,
            ),
        ];
        for (p, want) in cases {
            assert_eq!(release_of_package(&p).as_deref(), want, "{}", p.name);
        }
    }
}
