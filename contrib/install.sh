#!/bin/sh
# Installs the Kensa agent on this host from the Kensa server that served
# this script, enrols it and starts it (docs/agent-install.md):
#
#   curl -fsS --cacert ca.pem https://kensa.example:8443/install.sh | sh -s -- --ca ca.pem --token ket_…   # as root
#
# Options:
#   --token TOKEN      the enrolment token (required unless already enrolled)
#   --ca FILE          the server's CA certificate (default /etc/kensa/ca.pem)
#   --ca-sha256 HEX    no CA file yet: fetch /ca.pem from the server without
#                      checking it, and go on only if its SHA-256 (of the file,
#                      as `sha256sum ca.pem` prints it) is HEX
#   --server URL       the server (default: the one that served this script)
#   --method M         deb, rpm or binary (default: dpkg, else rpm, else binary)
#   --no-start         install and enrol, do not start the service
#
# POSIX sh (dash, busybox ash, bash). Running it again changes nothing on a
# host that is installed, enrolled and running. Exit status: 0 done, 1
# failed (the message says what to do), 2 bad usage, 3 unsupported system,
# 4 CA fingerprint mismatch (nothing was sent).
set -u

SERVER='@KENSA_SERVER@'
TOKEN=
CA=
CA_SHA256=
METHOD=
START=yes
STATE=/var/lib/kensa-agent
CA_DEST=/etc/kensa/ca.pem

say() { printf 'kensa-install: %s\n' "$*"; }
die() { # status, message, what to do...
  code=$1; shift
  printf 'kensa-install: ERROR: %s\n' "$1" >&2; shift
  for line in "$@"; do printf '  %s\n' "$line" >&2; done
  exit "$code"
}

while [ $# -gt 0 ]; do
  case $1 in
    --token) [ $# -ge 2 ] || die 2 "--token needs a value"; TOKEN=$2; shift 2 ;;
    --ca) [ $# -ge 2 ] || die 2 "--ca needs a file"; CA=$2; shift 2 ;;
    --ca-sha256) [ $# -ge 2 ] || die 2 "--ca-sha256 needs a fingerprint"; CA_SHA256=$2; shift 2 ;;
    --server) [ $# -ge 2 ] || die 2 "--server needs a URL"; SERVER=$2; shift 2 ;;
    --method) [ $# -ge 2 ] || die 2 "--method needs deb, rpm or binary"; METHOD=$2; shift 2 ;;
    --no-start) START=no; shift ;;
    -h | --help) sed -n '2,22p' "$0" 2>/dev/null || echo "see docs/agent-install.md"; exit 0 ;;
    *) die 2 "unknown option: $1" "options: --token T [--ca FILE | --ca-sha256 HEX] [--server URL] [--method deb|rpm|binary] [--no-start]" ;;
  esac
done
SERVER=${SERVER%/}
case $SERVER in
  https://?*) ;;
  *) die 2 "no server URL (--server https://kensa.example:8443)" ;;
esac
case $METHOD in '' | deb | rpm | binary) ;; *) die 2 "--method: deb, rpm or binary, not $METHOD" ;; esac

[ "$(id -u)" = 0 ] || die 1 "this installs a system service and must run as root" \
  "run it as root: curl … | sudo sh -s -- …"
# The supported floor: the agent is built for x86_64 and aarch64, against
# glibc 2.17, for Linux 3.2 or newer.
case $(uname -m) in
  x86_64 | amd64) ARCH=x86_64 DEBARCH=amd64 ;;
  aarch64 | arm64) ARCH=aarch64 DEBARCH=arm64 ;;
  *) die 3 "no agent build for the architecture $(uname -m) (x86_64 and aarch64 only)" \
    "cover this host without an agent: docs/agentless.md (kensa inventory --ssh, or the asset register)" ;;
esac
version_ge() { # A B: is the numeric major.minor A >= B?
  a1=${1%%.*}; a2=${1#*.}; a2=${a2%%.*}
  b1=${2%%.*}; b2=${2#*.}; b2=${b2%%.*}
  case "$a1$a2" in '' | *[!0-9]*) return 1 ;; esac
  [ "$a1" -gt "$b1" ] || { [ "$a1" -eq "$b1" ] && [ "$a2" -ge "$b2" ]; }
}
GLIBC=$(getconf GNU_LIBC_VERSION 2>/dev/null | sed -n 's/^glibc //p')
if [ -z "$GLIBC" ]; then
  die 3 "no glibc found (getconf GNU_LIBC_VERSION answers nothing: a musl system such as Alpine?); the agent needs glibc 2.17 or newer" \
    "cover this host without an agent: docs/agentless.md"
fi
version_ge "$GLIBC" 2.17 || die 3 "this system has glibc $GLIBC; the agent needs glibc 2.17 or newer" \
  "cover this host without an agent: docs/agentless.md"
KERNEL=$(uname -r | sed 's/[^0-9.].*//')
version_ge "$KERNEL" 3.2 || die 3 "this system runs Linux $(uname -r); the agent needs Linux 3.2 or newer" \
  "cover this host without an agent: docs/agentless.md"

# Downloads: curl, else GNU wget (Debian's standard install has wget and
# no curl). BusyBox wget cannot pin a CA file, and the agent cannot fetch
# itself before it is installed, so there is no third way.
if command -v curl >/dev/null 2>&1; then
  FETCH=curl
elif wget --version 2>/dev/null | grep -q '^GNU Wget'; then
  FETCH=wget
else
  die 1 "curl or GNU wget is needed to download the agent" \
    "install one (apt-get install curl / yum install curl) and run this again"
fi
fetch() { # CA file or "insecure", seconds, URL, output file
  if [ "$FETCH" = curl ]; then
    if [ "$1" = insecure ]; then
      curl -fsSk --max-time "$2" -o "$4" "$3"
    else
      curl -fsS --cacert "$1" --max-time "$2" -o "$4" "$3"
    fi
  else
    if [ "$1" = insecure ]; then
      wget -q --tries=1 --max-redirect=0 -T "$2" --no-check-certificate -O "$4" "$3"
    else
      wget -q --tries=1 --max-redirect=0 -T "$2" --ca-certificate="$1" -O "$4" "$3"
    fi
  fi
}

sha256_of() { # file -> lowercase hex
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  elif command -v openssl >/dev/null 2>&1; then
    openssl dgst -sha256 "$1" | sed 's/^.*= *//'
  else
    return 1
  fi
}
sha256_of /dev/null >/dev/null 2>&1 || die 1 "neither sha256sum nor openssl is here to check downloads" \
  "install coreutils or openssl and run this again"

WORK=$(mktemp -d /tmp/kensa-install.XXXXXX) || die 1 "cannot make a temporary directory in /tmp"
trap 'rm -rf "$WORK"' EXIT
trap 'exit 1' INT TERM HUP

# The CA. With --ca-sha256 the first request is the only one made without
# a pinned CA, and nothing but that request happens before its fingerprint
# has been checked.
if [ -n "$CA_SHA256" ]; then
  want=$(printf '%s' "$CA_SHA256" | tr -d ': ' | tr 'A-F' 'a-f')
  case $want in
    *[!0-9a-f]* | '') die 2 "--ca-sha256: 64 hex digits, not $CA_SHA256" ;;
  esac
  [ ${#want} -eq 64 ] || die 2 "--ca-sha256: 64 hex digits, not $CA_SHA256"
  fetch insecure 60 "$SERVER/ca.pem" "$WORK/ca.pem" \
    || die 1 "cannot fetch $SERVER/ca.pem" "check the server URL and that this host can reach it"
  got=$(sha256_of "$WORK/ca.pem")
  if [ "$got" != "$want" ]; then
    die 4 "ABORTED: the CA certificate served by $SERVER has SHA-256 $got, not $want as given." \
      "Nothing was downloaded, installed or sent. Either the fingerprint was mistyped (copy it again" \
      "from the console's enrollment section), or someone between this host and the server is" \
      "intercepting the connection: do not go on until you know which."
  fi
  CA=$WORK/ca.pem
  say "the server's CA matches the SHA-256 fingerprint given"
elif [ -z "$CA" ]; then
  [ -f "$CA_DEST" ] || die 2 "no CA certificate: give --ca FILE (the server's ca.pem) or --ca-sha256 HEX (its fingerprint, from the console)"
  CA=$CA_DEST
fi
[ -r "$CA" ] || die 1 "cannot read the CA certificate $CA"
get() { # path, output file
  fetch "$CA" 600 "$SERVER$1" "$2"
}

# The server's artefacts: names and checksums from its SHA256SUMS.
get /agent/SHA256SUMS "$WORK/SHA256SUMS" || die 1 "the server has no agent artefacts to download ($SERVER/agent/SHA256SUMS)" \
  "an admin builds them with scripts/release and starts the server with --agent-dist DIR (docs/agent-install.md)"
SORT=sort
if sort -V </dev/null >/dev/null 2>&1; then SORT="sort -V"; fi
pick() { # regex of the file name -> the newest version's
  sed -n 's/^[0-9a-f]\{64\}  \**//p' "$WORK/SHA256SUMS" | grep -E "$1" | $SORT | tail -n 1
}
if [ -z "$METHOD" ]; then
  if command -v dpkg >/dev/null 2>&1 && [ -f /var/lib/dpkg/status ]; then
    METHOD=deb
  elif command -v rpm >/dev/null 2>&1 && [ -d /var/lib/rpm ]; then
    METHOD=rpm
  else
    METHOD=binary
  fi
fi
case $METHOD in
  deb) FILE=$(pick "^kensa-agent_[0-9][^_]*_${DEBARCH}\.deb\$") ;;
  rpm) FILE=$(pick "^kensa-agent-[0-9].*\.${ARCH}\.rpm\$") ;;
  binary) FILE=$(pick "^kensa-[0-9][^-]*-${ARCH}-linux-gnu\$") ;;
esac
[ -n "$FILE" ] || die 1 "the server has no $METHOD artefact for $ARCH" \
  "an admin builds it with scripts/release --arch $ARCH (docs/agent-install.md); or try --method binary"
SUM=$(grep -E "^[0-9a-f]{64}  \*?$FILE\$" "$WORK/SHA256SUMS" | cut -d' ' -f1)
VERSION=$(printf '%s\n' "$FILE" | sed -e 's/^kensa-agent_\([^_]*\)_.*/\1/' -e 's/^kensa-agent-\(.*\)-[^-]*\.[^.]*\.rpm$/\1/' -e 's/^kensa-\([^-]*\)-.*/\1/')

# Installed already at this version?
case $METHOD in
  deb) have=$(dpkg-query -W -f '${Status} ${Version}' kensa-agent 2>/dev/null | sed -n 's/^install ok installed //p') ;;
  rpm) have=$(rpm -q --qf '%{VERSION}' kensa-agent 2>/dev/null) || have= ;;
  binary)
    have=
    if [ -x /usr/local/bin/kensa ] && [ "$(sha256_of /usr/local/bin/kensa)" = "$SUM" ]; then have=$VERSION; fi
    ;;
esac
if [ "$have" = "$VERSION" ]; then
  say "kensa-agent $VERSION is installed already ($METHOD)"
else
  say "downloading $FILE from $SERVER"
  get "/agent/$FILE" "$WORK/$FILE" || die 1 "cannot download $SERVER/agent/$FILE"
  [ "$(sha256_of "$WORK/$FILE")" = "$SUM" ] || die 1 "$FILE: the download does not match the server's SHA256SUMS" \
    "run this again; if it persists, the server's artefacts directory is inconsistent (rerun scripts/release)"
  case $METHOD in
    deb) dpkg -i "$WORK/$FILE" || die 1 "dpkg -i $FILE failed (see above)" ;;
    rpm) rpm -U --replacepkgs "$WORK/$FILE" || die 1 "rpm -U $FILE failed (see above)" ;;
    binary)
      mkdir -p /usr/local/bin "$STATE" && chmod 0700 "$STATE" || die 1 "cannot create /usr/local/bin or $STATE"
      install -m 0755 "$WORK/$FILE" /usr/local/bin/kensa.new && mv -f /usr/local/bin/kensa.new /usr/local/bin/kensa \
        || die 1 "cannot install /usr/local/bin/kensa"
      if [ -d /run/systemd/system ]; then
        get /agent/kensa-agent.service "$WORK/unit" && install -m 0644 "$WORK/unit" /etc/systemd/system/kensa-agent.service \
          || die 1 "cannot install the systemd unit"
        systemctl daemon-reload
      else
        get /agent/kensa-agent.init "$WORK/init" && mkdir -p /etc/init.d && install -m 0755 "$WORK/init" /etc/init.d/kensa-agent \
          || die 1 "cannot install /etc/init.d/kensa-agent"
      fi
      ;;
  esac
  say "installed kensa-agent $VERSION ($METHOD)"
fi
KENSA=/usr/bin/kensa
[ "$METHOD" = binary ] && KENSA=/usr/local/bin/kensa
"$KENSA" --version >/dev/null 2>&1 || die 1 "$KENSA does not run on this system" \
  "run '$KENSA --version' to see why; cover this host without an agent if it cannot (docs/agentless.md)"

# The CA where the unit's comment and the docs put it.
mkdir -p "${CA_DEST%/*}" || die 1 "cannot create ${CA_DEST%/*}"
if [ "$CA" != "$CA_DEST" ] && [ "$(sha256_of "$CA")" != "$(sha256_of "$CA_DEST" 2>/dev/null)" ]; then
  install -m 0644 "$CA" "$CA_DEST" || die 1 "cannot write $CA_DEST"
fi

# Enrol, once: a host enrolled with this server keeps its agent, as long
# as the server still accepts its credential. `kensa agent status` asks
# it (GET /api/v1/agent/self, nothing reported): an agent an admin
# revoked is enrolled again, with a new token; the server then hands it
# its asset back only because no live agent reports for it any more.
enrolled=no
if [ -f "$STATE/agent.json" ] && grep -qF "\"server\": \"$SERVER\"" "$STATE/agent.json"; then
  status=$("$KENSA" agent status 2>&1)
  case $? in
    0)
      enrolled=yes
      say "enrolled already with $SERVER, which accepts this agent ($STATE/agent.json)"
      ;;
    4)
      [ -n "$TOKEN" ] || die 2 "this host's agent is enrolled with $SERVER, but the server no longer accepts its credential (an admin revoked it)" \
        "$status" \
        "enrol it again: run this again with --token (a new enrolment token from the console)"
      say "the server no longer accepts this agent's credential (revoked): enrolling again"
      ;;
    *)
      die 1 "cannot check this host's enrolment with $SERVER (kensa agent status):" "$status" \
        "run '$KENSA agent status' to see why, and run this again once it answers"
      ;;
  esac
fi
RESTART=no
if [ "$enrolled" = no ]; then
  [ -n "$TOKEN" ] || die 2 "not enrolled yet: give --token (an enrolment token from the console or POST /api/v1/enrollment-tokens)"
  "$KENSA" agent enroll --server "$SERVER" --ca "$CA_DEST" --token "$TOKEN" \
    || die 1 "enrolment failed (the reason is above)" \
      "an expired, used-up or revoked token: ask an admin for a new one; a 409: this machine id has a live agent already"
  # An agent already running holds the credential it started with.
  RESTART=yes
fi

# Start, and start at boot.
if [ "$START" = no ]; then
  say "not started (--no-start): systemctl enable --now kensa-agent, or /etc/init.d/kensa-agent start"
  exit 0
fi
if [ -d /run/systemd/system ]; then
  systemctl enable kensa-agent.service >/dev/null 2>&1 || die 1 "systemctl enable kensa-agent failed"
  if systemctl is-active --quiet kensa-agent.service; then
    if [ "$RESTART" = yes ]; then
      systemctl restart kensa-agent.service || die 1 "systemctl restart kensa-agent failed" "see: journalctl -u kensa-agent"
      say "kensa-agent restarted with its new credential (systemd)"
    else
      say "kensa-agent is running (systemd)"
    fi
  else
    systemctl start kensa-agent.service || die 1 "systemctl start kensa-agent failed" "see: journalctl -u kensa-agent"
    say "kensa-agent started (systemd)"
  fi
else
  init=/etc/init.d/kensa-agent
  [ -x "$init" ] || init=/etc/rc.d/init.d/kensa-agent
  [ -x "$init" ] || die 1 "no init script and no systemd: start it yourself with '$KENSA agent run' (e.g. from cron: '$KENSA agent run --once')"
  if command -v update-rc.d >/dev/null 2>&1; then
    update-rc.d kensa-agent defaults >/dev/null 2>&1 || true
  elif command -v chkconfig >/dev/null 2>&1; then
    chkconfig --add kensa-agent >/dev/null 2>&1 || true
  fi
  if [ "$RESTART" = yes ]; then
    "$init" stop >/dev/null 2>&1 || true
  fi
  "$init" start || die 1 "$init start failed" "see /var/log/kensa-agent.log"
fi
say "done: this host reports to $SERVER"
