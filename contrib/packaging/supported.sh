# Refuse, saying why, a system the portable binary cannot run on: glibc
# older than 2.17 (CentOS 6 era) or a kernel older than 3.2. Such hosts are
# covered without an agent (see docs/agent-install.md).
kensa_version_ge() { # A B: is version A >= B (numeric major.minor)?
  a1=${1%%.*}; a2=${1#*.}; a2=${a2%%.*}
  b1=${2%%.*}; b2=${2#*.}; b2=${b2%%.*}
  case "$a1$a2" in '' | *[!0-9]*) return 0 ;; esac # unknown: do not block
  [ "$a1" -gt "$b1" ] || { [ "$a1" -eq "$b1" ] && [ "$a2" -ge "$b2" ]; }
}
kensa_glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | sed -n 's/^glibc //p')
kensa_kernel=$(uname -r 2>/dev/null | sed 's/[^0-9.].*//')
if [ -n "$kensa_glibc" ] && ! kensa_version_ge "$kensa_glibc" 2.17; then
  echo "kensa-agent: this system has glibc $kensa_glibc; the agent needs glibc 2.17 or newer." >&2
  echo "  Not installed. Cover this host without an agent (docs/agent-install.md, \"Below the floor\")." >&2
  exit 1
fi
if [ -n "$kensa_kernel" ] && ! kensa_version_ge "$kensa_kernel" 3.2; then
  echo "kensa-agent: this system runs Linux $kensa_kernel; the agent needs Linux 3.2 or newer." >&2
  echo "  Not installed. Cover this host without an agent (docs/agent-install.md, \"Below the floor\")." >&2
  exit 1
fi
