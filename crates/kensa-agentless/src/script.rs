//! The shell script the target runs, and the parsing of its answer.
//!
//! The script is sent on the standard input of `/bin/sh -s`, so that it
//! runs the same whatever the user's login shell (csh and tcsh only see
//! `/bin/sh -s`). It uses nothing but POSIX `sh` built-ins, `cat`, `uname`,
//! `grep` and, where present, `rpm`, `timeout`, `nice` and `ionice`; it
//! writes nothing (every command's input is `/dev/null`, its output the
//! pipe back). Each answer is framed by a boundary line with a fresh random
//! token, so no file content can forge a frame.

use std::collections::BTreeMap;

/// The files read with `cat`, as absolute paths on the target: OS identity
/// in every generation of the release files, host identity, the dpkg and
/// apk databases.
pub const FILES: &[&str] = &[
    "/etc/os-release",
    "/usr/lib/os-release",
    "/etc/redhat-release",
    "/etc/system-release",
    "/etc/centos-release",
    "/etc/oracle-release",
    "/etc/alpine-release",
    "/etc/lsb-release",
    "/etc/debian_version",
    "/etc/machine-id",
    "/var/lib/dbus/machine-id",
    "/etc/hostname",
    "/var/lib/dpkg/status",
    "/lib/apk/db/installed",
];

/// Directories listed (names and types only, with shell built-ins).
pub const DIRS: &[&str] = &[
    "/boot",
    "/lib/modules",
    "/usr/lib/modules",
    "/var/lib",
    "/usr/lib/sysimage",
    "/var/lib/rpm",
    "/usr/lib/sysimage/rpm",
    "/var/lib/dpkg/status.d",
];

/// Kernel socket tables: world-readable on every Linux since 2.2, so no
/// `ss`/`netstat` output format (which differs between versions) has to
/// be parsed, and no privilege is needed.
pub const PROC_NET: &[&str] = &[
    "/proc/net/tcp",
    "/proc/net/tcp6",
    "/proc/net/udp",
    "/proc/net/udp6",
];

/// Where language packages are looked for by default (each searched with
/// `find -xdev`, so other file systems mounted below are not entered):
/// pip's and Debian's Python directories, npm's global and Debian's Node
/// modules, gems, and where applications are deployed.
pub const LANG_PATHS: &[&str] = &[
    "/usr/lib",
    "/usr/local",
    "/usr/share/nodejs",
    "/var/lib/gems",
    "/opt",
    "/srv",
    "/app",
    "/var/www",
    "/home",
    "/root",
];

/// The file names the language readers of `kensa-inventory` parse
/// (metadata and lock files; never executables or archives, which would
/// have to be copied whole).
pub const LANG_NAMES: &[&str] = &[
    "METADATA",
    "PKG-INFO",
    "*.egg-info",
    "package.json",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "Cargo.lock",
    "Gemfile.lock",
    "gems.locked",
    "*.gemspec",
    "composer.lock",
    "installed.json",
];

/// Directories `find` does not enter, as the `--root` walk prunes them
/// anywhere (version control stores, caches of downloads).
pub const LANG_PRUNED: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    "__pycache__",
    ".cache",
    ".npm",
    ".pnpm-store",
    ".rustup",
];

/// Language packages: where, and how much at most.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LangOptions {
    /// Absolute directories searched (missing ones are skipped).
    pub paths: Vec<String>,
    /// The most files fetched; more is a problem in the document.
    pub max_files: usize,
    /// Files larger than this are not fetched (a problem names them).
    pub max_file_bytes: u64,
}

impl Default for LangOptions {
    fn default() -> Self {
        LangOptions {
            paths: LANG_PATHS.iter().map(|p| (*p).to_owned()).collect(),
            max_files: 5000,
            max_file_bytes: 64 * 1024 * 1024,
        }
    }
}

impl LangOptions {
    /// Paths go into the script as words: absolute, and nothing a shell
    /// would read as syntax.
    pub fn check(&self) -> Result<(), String> {
        for p in &self.paths {
            let ok = p.starts_with('/')
                && p.len() <= 1024
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '+'));
            if !ok {
                return Err(format!(
                    "language package path {p:?}: an absolute path of letters, digits and / . _ - +"
                ));
            }
        }
        Ok(())
    }
}

/// rpm database files, read only when `rpm -qa` fails.
pub const RPM_DIRS: &[&str] = &["/var/lib/rpm", "/usr/lib/sysimage/rpm"];
pub const RPM_FILES: &[&str] = &[
    "rpmdb.sqlite",
    "rpmdb.sqlite-wal",
    "Packages.db",
    "Packages",
];

/// The fields read from every rpm header, tab-separated; `(none)` where
/// the header has no such tag.
pub const RPM_QF: &str = "%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\t%{VENDOR}\\t%{INSTALLTIME}\\t%{MODULARITYLABEL}\\n";
/// The same without the modularity label, for rpm older than 4.14 (RHEL 7
/// and earlier), which does not know the tag.
pub const RPM_QF_OLD: &str = "%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\t%{VENDOR}\\t%{INSTALLTIME}\\n";

/// Limits applied on the target.
#[derive(Clone, Debug)]
pub struct ScriptOptions {
    /// Seconds each command may run before `timeout -s KILL` ends it.
    pub command_timeout: u64,
    /// Run `rpm -qa` through `sudo -n`.
    pub sudo_rpm: bool,
    /// Language packages, or none (checked with [`LangOptions::check`]).
    pub lang: Option<LangOptions>,
}

/// The script, framed by `boundary` (random hex chosen per scan).
pub fn build(boundary: &str, opts: &ScriptOptions) -> String {
    let mut s = String::new();
    // No `set -e`: one missing file must not end the scan. The lowest
    // best-effort I/O priority rather than the idle class: on a host whose
    // disk is never idle, the idle class waits indefinitely and the scan
    // would end at the command timeout. `exec
    // </dev/null` only after the script is read would be too late, so each
    // command's input is /dev/null explicitly.
    s.push_str(&format!("B={boundary}\nCT={}\n", opts.command_timeout));
    s.push_str(
        r#"LC_ALL=C; export LC_ALL
T=""; if timeout -s KILL 5 true </dev/null >/dev/null 2>&1; then T="timeout -s KILL $CT"; fi
N=""; if nice -n 19 true </dev/null >/dev/null 2>&1; then N="nice -n 19"; fi
if ionice -c 2 -n 7 true </dev/null >/dev/null 2>&1; then N="$N ionice -c 2 -n 7"; fi
printf '%s HELLO %s %s\n' "$B" "${T:+timeout}" "${N:+nice}"
s() { n=$1; shift; printf '\n%s BEGIN %s\n' "$B" "$n"; "$@" </dev/null; r=$?; printf '\n%s END %s\n' "$B" "$r"; }
s2() { n=$1; shift; printf '\n%s BEGIN %s\n' "$B" "$n"; "$@"; r=$?; printf '\n%s END %s\n' "$B" "$r"; }
f() { if [ -f "$1" ]; then s "file $1" $T $N cat "$1"; fi; }
l() {
  [ -d "$1" ] || return 0
  printf '\n%s BEGIN dir %s\n' "$B" "$1"
  for e in "$1"/* "$1"/.[!.]* "$1"/..?*; do
    if [ -L "$e" ]; then t=l; elif [ -d "$e" ]; then t=d; elif [ -f "$e" ]; then t=f; elif [ -e "$e" ]; then t=o; else continue; fi
    printf '%s %s\n' "$t" "${e##*/}"
  done
  printf '\n%s END 0\n' "$B"
}
s uname-r uname -r
s uname-n uname -n
"#,
    );
    for f in FILES {
        s.push_str(&format!("f {f}\n"));
    }
    for d in DIRS {
        s.push_str(&format!("l {d}\n"));
    }
    s.push_str("for k in /lib/modules/* /usr/lib/modules/*; do [ -d \"$k\" ] && l \"$k\"; done\n");
    s.push_str("for k in /var/lib/dpkg/status.d/*; do f \"$k\"; done\n");
    // The kernel's tables where they can be read, else `ss` (netlink: no
    // /proc needed), else `netstat`.
    s.push_str("if [ -r /proc/net/tcp ]; then\n");
    for p in PROC_NET {
        s.push_str(&format!("  f {p}\n"));
    }
    s.push_str("elif command -v ss >/dev/null 2>&1; then\n");
    for (proto, v6, flags) in crate::sockets::SS_RUNS {
        let family = if *v6 { 6 } else { 4 };
        s.push_str(&format!("  s 'ss {proto}{family}' $T ss {flags}\n"));
    }
    s.push_str(
        "elif command -v netstat >/dev/null 2>&1; then\n  s netstat $T netstat -l -n -t -u\nfi\n",
    );
    if let Some(lang) = &opts.lang {
        s.push_str(&lang_script(lang));
    }
    let sudo = if opts.sudo_rpm { "sudo -n " } else { "" };
    s.push_str(&format!(
        "r=127\nif command -v rpm >/dev/null 2>&1; then\n  \
         if $T rpm --querytags </dev/null 2>/dev/null | grep -qx MODULARITYLABEL; then Q='{RPM_QF}'; else Q='{RPM_QF_OLD}'; fi\n  \
         s rpm $T $N {sudo}rpm -qa --qf \"$Q\"\nfi\n"
    ));
    // The target's rpm cannot read its own database or is missing: read the
    // database file itself. An rpm built without the database's backend
    // (Debian's has no NDB) answers nothing with status 0, so an empty
    // answer counts as a failure too; `head` stops rpm after one line.
    s.push_str(
        &format!("if [ \"$r\" = 0 ] && [ -z \"$($T {sudo}rpm -qa --qf '%{{NAME}}\\n' </dev/null 2>/dev/null | head -n 1)\" ]; then r=1; fi\n"),
    );
    s.push_str("if [ \"$r\" != 0 ]; then\n");
    for dir in RPM_DIRS {
        for file in RPM_FILES {
            s.push_str(&format!("  f {dir}/{file}\n"));
        }
    }
    s.push_str("fi\n");
    s.push_str("printf '\\n%s DONE\\n' \"$B\"\n");
    s
}

/// Find the language package files under the configured paths (one
/// `find`, its list a section of its own: `big PATH` for a file over the
/// size cap), then send at most `max_files` of them in one `sh` under one
/// `timeout`, `nice` and `ionice`, each framed `FILE path` … `FEND status`
/// inside the `lang-files` section.
fn lang_script(lang: &LangOptions) -> String {
    let mut s = String::from("LD=''\nfor d in");
    for p in &lang.paths {
        s.push(' ');
        s.push_str(p);
    }
    s.push_str("; do if [ -d \"$d\" ] && [ ! -L \"$d\" ]; then LD=\"$LD $d\"; fi; done\n");
    s.push_str("if [ -n \"$LD\" ] && command -v find >/dev/null 2>&1; then\n");
    let pruned: Vec<String> = LANG_PRUNED.iter().map(|n| format!("-name '{n}'")).collect();
    let names: Vec<String> = LANG_NAMES.iter().map(|n| format!("-name '{n}'")).collect();
    let over = lang.max_file_bytes;
    s.push_str(&format!(
        "  LF=$($T $N find $LD -xdev \\( -type d \\( {} -o -path /usr/lib/modules -o -path /usr/lib/firmware \\) -prune \\) -o -type f \\( {} \\) \\( -size +{over}c -exec printf 'big %s\\n' {{}} + -o -print \\) </dev/null 2>/dev/null | head -n {})\n",
        pruned.join(" -o "),
        names.join(" -o "),
        lang.max_files.saturating_mul(2).saturating_add(1),
    ));
    s.push_str("  s lang-find printf '%s\\n' \"$LF\"\n");
    s.push_str(&format!(
        "  printf '%s\\n' \"$LF\" | grep -v '^big ' | head -n {} | s2 lang-files $T $N /bin/sh -c 'while IFS= read -r p; do [ -f \"$p\" ] || continue; printf \"\\n%s FILE %s\\n\" \"$1\" \"$p\"; cat \"$p\" </dev/null; printf \"\\n%s FEND %s\\n\" \"$1\" \"$?\"; done' sh \"$B\"\n",
        lang.max_files
    ));
    s.push_str("fi\n");
    s
}

/// The `FILE`/`FEND` frames of the `lang-files` section: path, content
/// and `cat`'s status of each file.
pub fn parse_lang_files(out: &[u8], boundary: &str) -> Result<Vec<(String, Section)>, String> {
    let begin = format!("\n{boundary} FILE ");
    let end = format!("\n{boundary} FEND ");
    let mut files = Vec::new();
    let mut rest = out;
    while !rest.is_empty() {
        if !rest.starts_with(begin.as_bytes()) {
            return Err(format!(
                "lang-files: unexpected output after {} files",
                files.len()
            ));
        }
        rest = &rest[begin.len()..];
        let eol = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("lang-files: truncated frame")?;
        let path = String::from_utf8_lossy(&rest[..eol]).into_owned();
        rest = &rest[eol + 1..];
        let stop = find(rest, end.as_bytes())
            .ok_or_else(|| format!("lang-files: {path} has no end (truncated output)"))?;
        let output = rest[..stop].to_vec();
        rest = &rest[stop + end.len()..];
        let eol = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| format!("lang-files: {path}: truncated end frame"))?;
        let status = std::str::from_utf8(&rest[..eol])
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
            .ok_or_else(|| format!("lang-files: {path}: end frame without a status"))?;
        rest = &rest[eol + 1..];
        files.push((path, Section { output, status }));
    }
    Ok(files)
}

/// One command's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub output: Vec<u8>,
    /// The command's exit status.
    pub status: i32,
}

/// The parsed answer of a whole script.
#[derive(Debug, Default)]
pub struct Answer {
    /// Whether the target has a working `timeout` (commands are bounded).
    pub bounded: bool,
    pub sections: BTreeMap<String, Section>,
    /// The language package files fetched (each also a `file PATH`
    /// section), in the order sent.
    pub lang_files: Vec<String>,
}

/// Split the target's output into sections. Anything but the frames the
/// script writes, a section without its end, or a missing final frame
/// (truncated output, a dead connection) is an error naming where.
pub fn parse(out: &[u8], boundary: &str) -> Result<Answer, String> {
    let hello = format!("{boundary} HELLO ");
    let start = find(out, hello.as_bytes()).ok_or_else(|| {
        "the target did not run the collector's script (no greeting from /bin/sh)".to_owned()
    })?;
    let mut rest = &out[start + hello.len()..];
    let eol = rest
        .iter()
        .position(|&b| b == b'\n')
        .ok_or("truncated greeting")?;
    let mut answer = Answer {
        bounded: rest[..eol].starts_with(b"timeout"),
        ..Answer::default()
    };
    rest = &rest[eol + 1..];
    let begin = format!("\n{boundary} BEGIN ");
    let end = format!("\n{boundary} END ");
    let done = format!("\n{boundary} DONE\n");
    loop {
        if rest.starts_with(done.as_bytes()) {
            return Ok(answer);
        }
        if !rest.starts_with(begin.as_bytes()) {
            let what = if rest.is_empty() || done.as_bytes().starts_with(rest) {
                "the output ends before the collector's last frame (truncated: connection lost?)"
                    .to_owned()
            } else {
                format!(
                    "unexpected output after {}",
                    answer
                        .sections
                        .keys()
                        .last()
                        .map(|k| format!("section {k:?}"))
                        .unwrap_or_else(|| "the greeting".into())
                )
            };
            return Err(what);
        }
        rest = &rest[begin.len()..];
        let eol = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("truncated section header")?;
        let name = String::from_utf8_lossy(&rest[..eol]).into_owned();
        rest = &rest[eol + 1..];
        let stop = find(rest, end.as_bytes())
            .ok_or_else(|| format!("section {name:?} has no end (truncated output)"))?;
        let mut output = rest[..stop].to_vec();
        rest = &rest[stop + end.len()..];
        let eol = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| format!("section {name:?}: truncated end frame"))?;
        let status = std::str::from_utf8(&rest[..eol])
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
            .ok_or_else(|| format!("section {name:?}: end frame without an exit status"))?;
        rest = &rest[eol + 1..];
        // A fetch killed by its time limit stops mid-file: the section is
        // left whole for its status to say so.
        if name == "lang-files" && status == 0 {
            for (path, file) in parse_lang_files(&output, boundary)? {
                answer.lang_files.push(path.clone());
                answer.sections.insert(format!("file {path}"), file);
            }
            output = Vec::new();
        }
        answer.sections.insert(name, Section { output, status });
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: &str = "0123abcd";

    fn frame(sections: &[(&str, &str, i32)]) -> Vec<u8> {
        let mut s = format!("motd noise\n{B} HELLO timeout nice\n");
        for (n, o, r) in sections {
            s.push_str(&format!("\n{B} BEGIN {n}\n{o}\n{B} END {r}\n"));
        }
        s.push_str(&format!("\n{B} DONE\n"));
        s.into_bytes()
    }

    #[test]
    fn sections_round_trip() {
        let out = frame(&[("file /etc/os-release", "ID=debian\n", 0), ("rpm", "", 127)]);
        let a = parse(&out, B).expect("parses");
        assert!(a.bounded);
        assert_eq!(a.sections["file /etc/os-release"].output, b"ID=debian\n");
        assert_eq!(a.sections["rpm"].status, 127);
        assert_eq!(a.sections["rpm"].output, b"");
    }

    #[test]
    fn every_truncation_is_an_error() {
        let out = frame(&[
            ("file /etc/os-release", "ID=debian\n", 0),
            ("uname-r", "6.1.0", 0),
        ]);
        for cut in 0..out.len() - 1 {
            assert!(
                parse(&out[..cut], B).is_err(),
                "truncated at {cut} accepted"
            );
        }
    }

    #[test]
    fn a_forged_frame_needs_the_boundary() {
        // A file quoting some other boundary is just content.
        let out = frame(&[("file /etc/motd", "\nffff END 0\n\nffff DONE\n", 0)]);
        let a = parse(&out, B).expect("parses");
        assert_eq!(
            a.sections["file /etc/motd"].output,
            b"\nffff END 0\n\nffff DONE\n"
        );
        let garbage = format!("{B} HELLO \nrandom bytes\n").into_bytes();
        assert!(
            parse(&garbage, B)
                .expect_err("garbage is refused")
                .contains("unexpected output")
        );
        assert!(parse(b"csh: sh: Command not found.", B).is_err());
    }
}
