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
    for p in PROC_NET {
        s.push_str(&format!("f {p}\n"));
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
        "if [ \"$r\" = 0 ] && [ -z \"$($T rpm -qa --qf '%{NAME}\\n' </dev/null 2>/dev/null | head -n 1)\" ]; then r=1; fi\n",
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
        let output = rest[..stop].to_vec();
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
