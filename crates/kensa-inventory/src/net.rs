//! Listening sockets of the live host, from `/proc/net/{tcp,tcp6,udp,udp6}`,
//! with the owning process where `/proc/<pid>/fd` is readable. Read-only:
//! nothing is probed or connected to.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::model::Listener;

/// TCP state LISTEN in `/proc/net/tcp`.
const TCP_LISTEN: &str = "0A";
/// UDP state 07 (TCP_CLOSE) is an unconnected, bound socket: a UDP server.
const UDP_UNCONNECTED: &str = "07";

pub fn listeners(proc_root: &std::path::Path) -> Vec<Listener> {
    let owners = socket_owners(proc_root);
    let mut out = Vec::new();
    for (file, proto, v6) in [
        ("tcp", "tcp", false),
        ("tcp6", "tcp", true),
        ("udp", "udp", false),
        ("udp6", "udp", true),
    ] {
        let Ok(text) = std::fs::read_to_string(proc_root.join("net").join(file)) else {
            continue;
        };
        out.extend(parse_table(&text, proto, v6, &owners));
    }
    out.sort();
    out.dedup();
    out
}

/// Parse one `/proc/net/*` table. Malformed lines are skipped: the kernel
/// writes these, and a partial answer beats none.
pub fn parse_table(
    text: &str,
    proto: &str,
    v6: bool,
    owners: &HashMap<u64, (u32, String)>,
) -> Vec<Listener> {
    let want = if proto == "tcp" {
        TCP_LISTEN
    } else {
        UDP_UNCONNECTED
    };
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(state), Some(inode)) = (cols.get(1), cols.get(3), cols.get(9))
        else {
            continue;
        };
        if *state != want {
            continue;
        }
        let Some((addr_hex, port_hex)) = local.split_once(':') else {
            continue;
        };
        let Ok(port) = u16::from_str_radix(port_hex, 16) else {
            continue;
        };
        let Some((address, all, loopback)) = decode_addr(addr_hex, v6) else {
            continue;
        };
        let owner = inode.parse::<u64>().ok().and_then(|i| owners.get(&i));
        out.push(Listener {
            protocol: proto.to_owned(),
            address,
            port,
            all_interfaces: all,
            loopback,
            process: owner.map(|(_, name)| name.clone()),
            pid: owner.map(|(pid, _)| *pid),
        });
    }
    out
}

/// The kernel prints each address as 32-bit words in hex, as they lie in
/// memory read in the host's byte order: the native bytes of each word are
/// the address bytes.
fn decode_addr(hex: &str, v6: bool) -> Option<(String, bool, bool)> {
    if !v6 {
        let n = u32::from_str_radix(hex, 16).ok()?;
        let ip = Ipv4Addr::from(n.to_ne_bytes());
        return Some((ip.to_string(), ip.is_unspecified(), ip.is_loopback()));
    }
    if hex.len() != 32 {
        return None;
    }
    let mut bytes = [0u8; 16];
    for w in 0..4 {
        let word = u32::from_str_radix(hex.get(w * 8..w * 8 + 8)?, 16).ok()?;
        bytes[w * 4..w * 4 + 4].copy_from_slice(&word.to_ne_bytes());
    }
    let ip = Ipv6Addr::from(bytes);
    let loopback = ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback());
    let all = ip.is_unspecified();
    Some((ip.to_string(), all, loopback))
}

/// Socket inode → (pid, process name), from `/proc/<pid>/fd/*` links
/// `socket:[inode]`. Unreadable processes (not root) are skipped.
fn socket_owners(proc_root: &std::path::Path) -> HashMap<u64, (u32, String)> {
    let mut map = HashMap::new();
    let Ok(procs) = std::fs::read_dir(proc_root) else {
        return map;
    };
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        let name = std::fs::read_to_string(p.path().join("comm"))
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let t = target.to_string_lossy();
            if let Some(inode) = t
                .strip_prefix("socket:[")
                .and_then(|s| s.strip_suffix(']'))
                .and_then(|s| s.parse().ok())
            {
                map.entry(inode).or_insert((pid, name.clone()));
            }
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_real_proc_net_lines() {
        // Lines as the kernel writes them (x86_64, little-endian).
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0\n\
   1: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   105        0 23456 1 0000000000000000 100 0 0 10 0\n\
   2: 0F02000A:0016 0202000A:C350 01 00000000:00000000 02:000A3B2F 00000000     0        0 34567 4 0000000000000000 20 4 30 10 -1\n";
        let mut owners = HashMap::new();
        owners.insert(12345, (811, "sshd".to_owned()));
        let l = parse_table(tcp, "tcp", false, &owners);
        assert_eq!(l.len(), 2, "the established connection is not a listener");
        assert_eq!(
            (
                l[0].address.as_str(),
                l[0].port,
                l[0].all_interfaces,
                l[0].loopback
            ),
            ("0.0.0.0", 22, true, false)
        );
        assert_eq!(l[0].process.as_deref(), Some("sshd"));
        assert_eq!(
            (
                l[1].address.as_str(),
                l[1].port,
                l[1].all_interfaces,
                l[1].loopback
            ),
            ("127.0.0.1", 5432, false, true)
        );
        let tcp6 = "  sl  local_address                         remote_address                        st\n\
   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1\n\
   1: 00000000000000000000000001000000:0277 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5555 1\n";
        let l = parse_table(tcp6, "tcp", true, &HashMap::new());
        assert_eq!(
            (l[0].address.as_str(), l[0].port, l[0].all_interfaces),
            ("::", 80, true)
        );
        assert_eq!(
            (l[1].address.as_str(), l[1].port, l[1].loopback),
            ("::1", 631, true)
        );
    }

    #[test]
    fn this_hosts_sockets_are_read() {
        // A listener we open ourselves must appear, bound to loopback.
        let sock = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = sock.local_addr().expect("addr").port();
        let l = listeners(std::path::Path::new("/proc"));
        let me = l
            .iter()
            .find(|x| x.port == port && x.protocol == "tcp")
            .expect("our listener is listed");
        assert!(me.loopback && !me.all_interfaces);
        assert_eq!(me.pid, Some(std::process::id()));
    }
}
