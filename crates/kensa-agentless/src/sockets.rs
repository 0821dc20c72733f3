//! Listening sockets from `ss` or `netstat` output: the fallback when the
//! target's `/proc/net/*` tables cannot be read (a chroot without `/proc`,
//! a restricted shell, `/proc` mounted with `hidepid`). `ss` asks the
//! kernel over netlink and needs no `/proc`; `netstat` is the last resort
//! of hosts without iproute2. Lines that do not parse are skipped, as
//! `kensa_inventory::net` does with the kernel's tables: a partial answer
//! beats none.

use std::net::IpAddr;

use kensa_inventory::model::Listener;

/// The `ss` runs of the script: protocol, address family, the flags.
pub const SS_RUNS: &[(&str, bool, &str)] = &[
    ("tcp", false, "-l -n -t -4"),
    ("tcp", true, "-l -n -t -6"),
    ("udp", false, "-l -n -u -4"),
    ("udp", true, "-l -n -u -6"),
];

/// A listener from `address:port` as `ss` and `netstat` print it
/// (`0.0.0.0:22`, `[::]:22`, `:::22`, `127.0.0.53%lo:53`, `*:22`). `*` is
/// the unspecified address of the family the run asked for.
fn listener(proto: &str, v6: bool, local: &str) -> Option<Listener> {
    let (addr, port) = local.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let addr = addr.trim_start_matches('[').trim_end_matches(']');
    // A scope (`%lo`, `%eth0`) names the interface, not the address.
    let addr = addr.split('%').next().unwrap_or(addr);
    let ip: IpAddr = match addr {
        "*" | "" if v6 => IpAddr::from([0u16; 8]),
        "*" | "" => IpAddr::from([0u8; 4]),
        a => a.parse().ok()?,
    };
    let loopback = match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|m| m.is_loopback()),
    };
    Some(Listener {
        protocol: proto.to_owned(),
        address: ip.to_string(),
        port,
        all_interfaces: ip.is_unspecified(),
        loopback,
        process: None,
        pid: None,
    })
}

/// One `ss -l -n` run for `proto` and one family ([`SS_RUNS`]). With one
/// protocol asked, `ss` prints no `Netid` column, but some versions print
/// it anyway: a leading `tcp`/`udp` word is skipped.
pub fn parse_ss(text: &str, proto: &str, v6: bool) -> Vec<Listener> {
    let state = if proto == "tcp" { "LISTEN" } else { "UNCONN" };
    text.lines()
        .filter_map(|line| {
            let mut w: Vec<&str> = line.split_whitespace().collect();
            if matches!(w.first(), Some(&"tcp" | &"udp")) {
                w.remove(0);
            }
            if w.first() != Some(&state) {
                return None;
            }
            listener(proto, v6, w.get(3)?)
        })
        .collect()
}

/// `netstat -l -n -t -u`: `Proto Recv-Q Send-Q Local Foreign [State]`,
/// the protocol `tcp`, `tcp6`, `udp` or `udp6`.
pub fn parse_netstat(text: &str) -> Vec<Listener> {
    text.lines()
        .filter_map(|line| {
            let w: Vec<&str> = line.split_whitespace().collect();
            let (proto, v6) = match *w.first()? {
                "tcp" => ("tcp", false),
                "tcp6" => ("tcp", true),
                "udp" => ("udp", false),
                "udp6" => ("udp", true),
                _ => return None,
            };
            if proto == "tcp" && w.last() != Some(&"LISTEN") {
                return None;
            }
            listener(proto, v6, w.get(3)?)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(l: &[Listener]) -> Vec<(String, String, u16, bool, bool)> {
        l.iter()
            .map(|l| {
                (
                    l.protocol.clone(),
                    l.address.clone(),
                    l.port,
                    l.all_interfaces,
                    l.loopback,
                )
            })
            .collect()
    }

    /// The forms iproute2 prints, from Debian 12's `ss` (with the Netid
    /// column) and CentOS 6's (without), and a scoped address.
    #[test]
    fn ss_lines_of_old_and_new_iproute2() {
        let new = "Netid State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n\
                   tcp   LISTEN 0      4096   [::]:22            [::]:*\n\
                   tcp   LISTEN 0      128    [::ffff:127.0.0.1]:631 *:*\n";
        assert_eq!(
            addrs(&parse_ss(new, "tcp", true)),
            [
                ("tcp".into(), "::".into(), 22, true, false),
                ("tcp".into(), "::ffff:127.0.0.1".into(), 631, false, true)
            ]
        );
        let old = "State      Recv-Q Send-Q        Local Address:Port          Peer Address:Port \n\
                   LISTEN     0      128                      *:22                       *:*     \n\
                   ESTAB      0      0                10.0.0.5:22                 10.0.0.9:5122 \n";
        assert_eq!(
            addrs(&parse_ss(old, "tcp", false)),
            [("tcp".into(), "0.0.0.0".into(), 22, true, false)]
        );
        let udp = "State  Recv-Q Send-Q Local Address:Port Peer Address:Port\n\
                   UNCONN 0      0      127.0.0.53%lo:53   0.0.0.0:*\n";
        assert_eq!(
            addrs(&parse_ss(udp, "udp", false)),
            [("udp".into(), "127.0.0.53".into(), 53, false, true)]
        );
        assert!(parse_ss("garbage\nLISTEN 0 0 nonsense\n", "tcp", false).is_empty());
    }

    #[test]
    fn netstat_lines() {
        let text = "Active Internet connections (only servers)\n\
                    Proto Recv-Q Send-Q Local Address           Foreign Address         State\n\
                    tcp        0      0 127.0.0.1:631           0.0.0.0:*               LISTEN\n\
                    tcp6       0      0 :::22                   :::*                    LISTEN\n\
                    udp        0      0 0.0.0.0:68              0.0.0.0:*\n\
                    udp6       0      0 fe80::1%eth0:546        :::*\n";
        assert_eq!(
            addrs(&parse_netstat(text)),
            [
                ("tcp".into(), "127.0.0.1".into(), 631, false, true),
                ("tcp".into(), "::".into(), 22, true, false),
                ("udp".into(), "0.0.0.0".into(), 68, true, false),
                ("udp".into(), "fe80::1".into(), 546, false, false)
            ]
        );
    }
}
