//! Go executables: the build information the Go linker embeds (Go 1.13
//! and later), as `go version -m` prints it.
//!
//! The blob starts with the 14-byte magic `\xff Go buildinf:`, 16-byte
//! aligned, at the start of the `.go.buildinfo` section (or, without a
//! section table, in the first 64 KiB of the first writable segment).
//! Byte 14 is the pointer size, byte 15 the flags: with bit 2 set (Go
//! 1.18 and later), the Go version and the module information follow the
//! 32-byte header as two strings prefixed with their unsigned varint
//! length; without it (Go 1.13–1.17), bytes 16.. hold the addresses of two
//! Go string headers (pointer, length) in the byte order of bit 1, which
//! are followed through the loadable segments. The module information is
//! framed by two 16-byte sentinels and made of tab-separated lines
//! (tabs shown as two spaces):
//!
//! ```text
//! path  github.com/anchore/syft/cmd/syft
//! mod  github.com/anchore/syft  (devel)
//! dep  dario.cat/mergo  v1.0.1  h1:...
//! dep  example.com/old  v1.0.0
//! =>  example.com/new  v1.1.0  h1:...
//! build  -ldflags="-X main.version=1.18.1"
//! ```
//!
//! What is reported, as Syft and Trivy do:
//!
//! - the main module (`mod`). Builds from a checkout say `(devel)`; then
//!   the version given to the linker with `-X <pkg>.version=1.2.3` (or
//!   `Version`, `gitVersion`, `buildVersion`, `tag`, in a package named
//!   `main`, `version`, `build`, `buildinfo` or `cmd`) is used when it
//!   looks like a release; otherwise the version stays `(devel)`;
//! - every dependency (`dep`), replaced by its replacement (`=>`) when
//!   there is one, since the replacement is what was compiled in; a
//!   replacement by a local directory (`=>  ../fork  (devel)`) has no
//!   version, and the package is reported under its original path with
//!   the version `(devel)` (Syft reports the directory as the name);
//! - the Go standard library, as the package `stdlib`, versioned like a
//!   module (`go1.22.3` → `v1.22.3`, `go1.21rc2` → `v1.21.0-rc.2`) so that
//!   it orders with the Go vulnerability database's ranges.
//!
//! purls are `pkg:golang/<module path>@<version>` with the module path's
//! last segment as the name.

use crate::Found;
use crate::error::{InventoryError, Result};
use crate::fs::Root;
use crate::model::{Package, PackageKind};
use crate::purl::purl;

use super::elf::Elf;

pub const MAGIC: &[u8; 14] = b"\xff Go buildinf:";
/// The largest `.go.buildinfo` section read (real ones are a few KiB).
const MAX_SECTION: u64 = 16 * 1024 * 1024;
/// Without a section table, how far into the data segment the blob is
/// looked for (as `debug/buildinfo` does).
const SEARCH: u64 = 64 * 1024;
/// The longest Go version or module information string followed.
const MAX_STRING: u64 = 16 * 1024 * 1024;

/// The Go version and module information of a Go binary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuildInfo {
    /// `go1.22.3`, as the binary says.
    pub go_version: String,
    /// The module information text without its sentinels (may be empty).
    pub modinfo: String,
}

/// One module of the module information.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Module {
    pub path: String,
    pub version: String,
    pub replace: Option<Box<Module>>,
}

/// The module information, parsed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModInfo {
    /// The main package's import path (`path` line).
    pub path: String,
    pub main: Option<Module>,
    pub deps: Vec<Module>,
    /// `build` settings as `(key, value)`.
    pub settings: Vec<(String, String)>,
}

/// Find and report the Go packages of an ELF file.
pub fn collect_elf(root: &dyn Root, path: &str, elf: &Elf, found: &mut Found) {
    match read_build_info(root, path, elf) {
        Ok(Some(info)) => report(&info, path, found),
        Ok(None) => {}
        Err(e) => found.problem(e),
    }
}

/// The build info of an ELF file, `None` if it is not a Go binary (or one
/// from before Go 1.13).
pub fn read_build_info(root: &dyn Root, path: &str, elf: &Elf) -> Result<Option<BuildInfo>> {
    let data = if let Some(s) = elf.section(".go.buildinfo") {
        elf.read_section(root, path, s, MAX_SECTION)?
    } else if elf.sections.is_empty() {
        let Some(start) = elf.data_start() else {
            return Ok(None);
        };
        match elf.read_vaddr(root, path, start, SEARCH)? {
            Some(d) => d,
            None => return Ok(None),
        }
    } else {
        return Ok(None);
    };
    let Some(at) = find_magic(&data) else {
        return Ok(None);
    };
    let blob = &data[at..];
    let bad = |m: &str| InventoryError::parse(path, format!("malformed Go build info: {m}"));
    if blob.len() < 32 {
        return Err(bad("truncated header"));
    }
    let ptr_size = blob[14];
    let flags = blob[15];
    let (vers, modinfo) = if flags & 2 != 0 {
        let (vers, rest) =
            decode_string(&blob[32..]).ok_or_else(|| bad("bad Go version string"))?;
        let (modinfo, _) =
            decode_string(rest).ok_or_else(|| bad("bad module information string"))?;
        (vers.to_vec(), modinfo.to_vec())
    } else {
        let big_endian = flags & 1 != 0;
        let read_ptr = |b: &[u8]| -> Option<u64> {
            match ptr_size {
                4 => {
                    let a: [u8; 4] = b.get(..4)?.try_into().ok()?;
                    Some(u64::from(if big_endian {
                        u32::from_be_bytes(a)
                    } else {
                        u32::from_le_bytes(a)
                    }))
                }
                8 => {
                    let a: [u8; 8] = b.get(..8)?.try_into().ok()?;
                    Some(if big_endian {
                        u64::from_be_bytes(a)
                    } else {
                        u64::from_le_bytes(a)
                    })
                }
                _ => None,
            }
        };
        let ps = usize::from(ptr_size);
        let (Some(vers_addr), Some(mod_addr)) = (
            read_ptr(&blob[16..]),
            blob.get(16 + ps..).and_then(read_ptr),
        ) else {
            return Err(bad(&format!("pointer size {ptr_size}")));
        };
        let read_string = |addr: u64| -> Result<Vec<u8>> {
            let Some(hdr) = elf.read_vaddr(root, path, addr, 2 * u64::from(ptr_size))? else {
                return Ok(Vec::new());
            };
            let (Some(data), Some(len)) = (read_ptr(&hdr), hdr.get(ps..).and_then(read_ptr)) else {
                return Ok(Vec::new());
            };
            if len > MAX_STRING {
                return Err(bad(&format!("a {len}-byte string")));
            }
            Ok(elf
                .read_vaddr(root, path, data, len)?
                .filter(|d| d.len() as u64 == len)
                .unwrap_or_default())
        };
        (read_string(vers_addr)?, read_string(mod_addr)?)
    };
    if vers.is_empty() {
        return Err(bad("no Go version"));
    }
    Ok(Some(BuildInfo {
        go_version: String::from_utf8_lossy(&vers).into_owned(),
        modinfo: unframe(&modinfo),
    }))
}

/// The first 16-byte aligned magic with a whole 32-byte header after it.
fn find_magic(data: &[u8]) -> Option<usize> {
    let mut at = 0;
    while at + 32 <= data.len() {
        if data[at..].starts_with(MAGIC) {
            return Some(at);
        }
        at += 16;
    }
    None
}

/// An unsigned-varint-prefixed string and the bytes after it.
fn decode_string(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut len: u64 = 0;
    let mut shift = 0;
    let mut i = 0;
    loop {
        let b = *data.get(i)?;
        i += 1;
        if shift >= 64 || (shift == 63 && b > 1) {
            return None;
        }
        len |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let len = usize::try_from(len).ok()?;
    let end = i.checked_add(len)?;
    Some((data.get(i..end)?, data.get(end..)?))
}

/// The module information without its 16-byte sentinels (empty when the
/// framing is not there, as Go's reader does).
fn unframe(m: &[u8]) -> String {
    if m.len() >= 33 && m[m.len() - 17] == b'\n' {
        String::from_utf8_lossy(&m[16..m.len() - 16]).into_owned()
    } else {
        String::new()
    }
}

/// Parse module information text. Lines that do not fit the format are
/// returned as errors (their 1-based numbers) and otherwise ignored.
pub fn parse_modinfo(text: &str) -> (ModInfo, Vec<usize>) {
    let mut info = ModInfo::default();
    let mut bad = Vec::new();
    // Where the last `mod`/`dep` went, for a following `=>`.
    #[derive(Clone, Copy)]
    enum Last {
        None,
        Main,
        Dep,
    }
    let mut last = Last::None;
    for (n, line) in text.lines().enumerate() {
        let Some((key, rest)) = line.split_once('\t') else {
            if !line.is_empty() {
                bad.push(n + 1);
            }
            continue;
        };
        let module = |rest: &str| -> Option<Module> {
            let f: Vec<&str> = rest.split('\t').collect();
            match f.as_slice() {
                [p, v] | [p, v, _] if !p.is_empty() => Some(Module {
                    path: (*p).to_owned(),
                    version: (*v).to_owned(),
                    replace: None,
                }),
                _ => None,
            }
        };
        match key {
            "path" => info.path = rest.to_owned(),
            "mod" => match module(rest) {
                Some(m) => {
                    info.main = Some(m);
                    last = Last::Main;
                }
                None => bad.push(n + 1),
            },
            "dep" => match module(rest) {
                Some(m) => {
                    info.deps.push(m);
                    last = Last::Dep;
                }
                None => bad.push(n + 1),
            },
            "=>" => {
                let target = match last {
                    Last::Main => info.main.as_mut(),
                    Last::Dep => info.deps.last_mut(),
                    Last::None => None,
                };
                let f: Vec<&str> = rest.split('\t').collect();
                match (target, f.as_slice()) {
                    (Some(t), [p, v, _]) if t.replace.is_none() && !p.is_empty() => {
                        t.replace = Some(Box::new(Module {
                            path: (*p).to_owned(),
                            version: (*v).to_owned(),
                            replace: None,
                        }));
                    }
                    _ => bad.push(n + 1),
                }
                last = Last::None;
            }
            "build" => {
                let (k, v) = rest.split_once('=').unwrap_or((rest, ""));
                info.settings.push((k.to_owned(), unquote(v)));
            }
            _ => bad.push(n + 1),
        }
    }
    (info, bad)
}

/// A `build` setting's value, unquoted if Go quoted it (`strconv.Quote`).
fn unquote(v: &str) -> String {
    let Some(inner) = v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return v.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(c) => out.push(c),
            None => {}
        }
    }
    out
}

/// The packages of one binary's build info.
pub fn packages(info: &BuildInfo, path: &str, found: &mut Found) -> Vec<Package> {
    let (mi, bad) = parse_modinfo(&info.modinfo);
    if let Some(n) = bad.first() {
        found.problem(InventoryError::parse(
            path,
            format!(
                "malformed Go module information line {n} ({} bad lines ignored)",
                bad.len()
            ),
        ));
    }
    let mut out = Vec::new();
    if let Some(main) = &mi.main {
        let m = main
            .replace
            .as_deref()
            .filter(|r| !is_local(r))
            .unwrap_or(main);
        let mut version = m.version.clone();
        if version == "(devel)" || version.is_empty() {
            version = ldflags_version(&mi).unwrap_or_else(|| "(devel)".to_owned());
        }
        out.push(module_package(&m.path, &version, path));
    }
    for dep in &mi.deps {
        let (p, v) = match dep.replace.as_deref() {
            Some(r) if !is_local(r) => (&r.path, r.version.as_str()),
            Some(_) => (&dep.path, "(devel)"),
            None => (&dep.path, dep.version.as_str()),
        };
        out.push(module_package(p, v, path));
    }
    if let Some(v) = stdlib_version(&info.go_version) {
        out.push(super::package(
            PackageKind::Go,
            "stdlib",
            &v,
            purl("golang", None, "stdlib", &v, &[]),
            path,
        ));
    }
    out
}

/// A replacement by a directory (`../fork`, `/src/fork`) rather than by
/// another module version, as `golang.org/x/mod/modfile` tells them apart.
fn is_local(m: &Module) -> bool {
    m.path.starts_with("./")
        || m.path.starts_with("../")
        || m.path.starts_with('/')
        || m.path == "."
        || m.path == ".."
        || m.version.is_empty()
        || m.version == "(devel)"
}

fn report(info: &BuildInfo, path: &str, found: &mut Found) {
    let pkgs = packages(info, path, found);
    found.packages.extend(pkgs);
}

fn module_package(module: &str, version: &str, path: &str) -> Package {
    let (ns, name) = match module.rfind('/') {
        Some(i) => (Some(&module[..i]), &module[i + 1..]),
        None => (None, module),
    };
    super::package(
        PackageKind::Go,
        module,
        version,
        purl("golang", ns, name, version, &[]),
        path,
    )
}

/// The Go toolchain version as a module version: `go1.22.3` → `v1.22.3`,
/// `go1.20` → `v1.20.0`, `go1.21rc2` → `v1.21.0-rc.2`; anything after a
/// space (`X:boringcrypto`) is dropped. `None` for development builds.
pub fn stdlib_version(go: &str) -> Option<String> {
    let v = go.split_whitespace().next()?.strip_prefix("go")?;
    let split = v
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(v.len());
    let (nums, pre) = v.split_at(split);
    let parts: Vec<&str> = nums.split('.').collect();
    if parts.is_empty() || parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let num = |i: usize| parts.get(i).copied().unwrap_or("0");
    let mut out = format!("v{}.{}.{}", num(0), num(1), num(2));
    if !pre.is_empty() {
        let kind = pre.trim_end_matches(|c: char| c.is_ascii_digit());
        let n = &pre[kind.len()..];
        if !matches!(kind, "rc" | "beta" | "alpha") || n.is_empty() {
            return None;
        }
        out.push_str(&format!("-{kind}.{n}"));
    }
    Some(out)
}

/// The main module's version given to the linker (`-X main.version=1.2.3`),
/// when it looks like a release version.
fn ldflags_version(mi: &ModInfo) -> Option<String> {
    let flags = &mi.settings.iter().find(|(k, _)| k == "-ldflags")?.1;
    let mut words = flags
        .split_whitespace()
        .map(|w| w.trim_matches(|c| c == '\'' || c == '"'));
    while let Some(w) = words.next() {
        let assign = if w == "-X" || w == "--X" {
            words.next()?.trim_matches(|c| c == '\'' || c == '"')
        } else if let Some(a) = w.strip_prefix("-X=").or_else(|| w.strip_prefix("--X=")) {
            a
        } else {
            continue;
        };
        let Some((sym, value)) = assign.split_once('=') else {
            continue;
        };
        let Some((pkg, var)) = sym.rsplit_once('.') else {
            continue;
        };
        let pkg = pkg.rsplit('/').next().unwrap_or(pkg);
        let var_ok = matches!(
            var,
            "version"
                | "Version"
                | "gitVersion"
                | "GitVersion"
                | "buildVersion"
                | "BuildVersion"
                | "tag"
                | "Tag"
        );
        let pkg_ok = matches!(pkg, "main" | "version" | "build" | "buildinfo" | "cmd");
        if var_ok && pkg_ok {
            let v = value.strip_prefix('v').unwrap_or(value);
            let mut nums = v.split(['-', '+']).next().unwrap_or("").split('.');
            let release = nums.clone().count() >= 2
                && nums.all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            if release {
                return Some(format!("v{v}"));
            }
        }
    }
    None
}
