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

/// Whether a package is a kernel image package, by distribution naming.
pub fn is_kernel_package(p: &Package) -> bool {
    match p.kind {
        Some(PackageKind::Deb) => p.name.starts_with("linux-image-") && !p.name.contains("-dbg"),
        Some(PackageKind::Rpm) => matches!(
            p.name.as_str(),
            "kernel" | "kernel-core" | "kernel-default" | "kernel-uek" | "kernel-rt"
        ),
        Some(PackageKind::Apk) => {
            p.name.starts_with("linux-")
                && !p.name.contains("firmware")
                && !p.name.contains("headers")
        }
        _ => false,
    }
}

/// The running kernel of this host (live collection only).
pub fn running() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

pub fn collect(root: &dyn Root, live: bool) -> crate::Result<Kernels> {
    Ok(Kernels {
        installed: installed(root)?,
        running: if live { running() } else { None },
    })
}
