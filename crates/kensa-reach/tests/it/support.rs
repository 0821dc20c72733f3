//! Loading the fixtures of `testdata/` (see its README for where each
//! shape comes from).

use std::path::PathBuf;

use kensa_reach::{
    Asset, AssetReachability, AwsData, Listener, Network, PortReachability, Protocol,
};

pub const FILES: &[&str] = &[
    "ec2-describe-instances.json",
    "ec2-describe-security-groups.json",
    "ec2-describe-network-acls.json",
    "ec2-describe-route-tables.json",
    "ec2-describe-internet-gateways.json",
    "ec2-describe-nat-gateways.json",
    "ec2-describe-subnets.json",
    "elbv2-describe-load-balancers.json",
    "elbv2-describe-listeners.json",
    "elbv2-describe-target-groups.json",
    "elbv2-describe-target-health.json",
];

pub fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

pub fn read(name: &str) -> Vec<u8> {
    let p = testdata(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub fn json(name: &str) -> serde_json::Value {
    serde_json::from_slice(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// What `jq -s add a.json b.json ...` makes of objects: one object with
/// every top-level key (a later file's key replaces an earlier one's).
pub fn jq_add(docs: impl IntoIterator<Item = serde_json::Value>) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for d in docs {
        let serde_json::Value::Object(m) = d else {
            panic!("not an object")
        };
        out.extend(m);
    }
    serde_json::Value::Object(out)
}

/// Every fixture, merged into one upload.
pub fn merged_bytes(skip: &[&str]) -> Vec<u8> {
    let doc = jq_add(FILES.iter().filter(|f| !skip.contains(f)).map(|f| json(f)));
    serde_json::to_vec(&doc).unwrap_or_else(|e| panic!("{e}"))
}

pub fn network(skip: &[&str]) -> Network {
    let mut aws = AwsData::new();
    aws.add_json("upload.json", &merged_bytes(skip))
        .unwrap_or_else(|e| panic!("{e}"));
    Network::new(aws, Vec::new())
}

pub fn listen(protocol: Protocol, address: &str, port: u16, process: &str) -> Listener {
    Listener {
        protocol,
        address: address.parse().unwrap_or_else(|e| panic!("{address}: {e}")),
        port,
        process: Some(process.to_owned()),
    }
}

pub fn instance(name: &str, id: &str, listeners: Option<Vec<Listener>>) -> Asset {
    Asset {
        name: name.to_owned(),
        instance_id: Some(id.to_owned()),
        tags: Vec::new(),
        listeners,
    }
}

/// The row covering a port.
pub fn at(r: &AssetReachability, protocol: Protocol, port: u16) -> Option<&PortReachability> {
    r.ports
        .iter()
        .find(|p| p.protocol == protocol && p.ports.contains(port))
}
