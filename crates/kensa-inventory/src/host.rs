//! Who the host is: machine id, hostname, addresses, cloud instance id.
//! Only local files and the interface list: no metadata-service call (an
//! inventory must not touch the network).

use crate::fs::Root;
use crate::model::Host;

const LIMIT: u64 = 4096;

fn first_line(root: &dyn Root, path: &str) -> Option<String> {
    let text = root.read_text(path, LIMIT).ok()??;
    let line = text.lines().next()?.trim().to_owned();
    (!line.is_empty()).then_some(line)
}

/// Identity from the root's files; with `live`, from the running kernel
/// and interfaces too.
pub fn identify(root: &dyn Root, live: bool) -> Host {
    let machine_id =
        first_line(root, "etc/machine-id").or_else(|| first_line(root, "var/lib/dbus/machine-id"));
    let hostname = if live {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|s| s.trim().to_owned())
    } else {
        first_line(root, "etc/hostname")
    };
    let mut ips = Vec::new();
    let mut cloud_instance_id = None;
    if live {
        if let Ok(ifaces) = if_addrs::get_if_addrs() {
            ips = ifaces
                .iter()
                .filter(|i| !i.is_loopback())
                .map(|i| i.ip().to_string())
                .collect();
        }
        // EC2 (Nitro) puts the instance id in the board asset tag; other
        // clouds' ids are not exposed locally in a standard place.
        cloud_instance_id = std::fs::read_to_string("/sys/devices/virtual/dmi/id/board_asset_tag")
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| s.starts_with("i-"));
    }
    Host {
        machine_id,
        hostname: hostname.filter(|h| !h.is_empty()),
        ips,
        cloud_instance_id,
    }
}
