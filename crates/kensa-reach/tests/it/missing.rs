//! Partial data: the piece that is missing is named, and the verdict is
//! never "not reachable" for want of data, unless a piece that is there
//! closes the path for certain.

use kensa_reach::{Asset, AwsData, Missing, Network, Protocol::Tcp, Verdict};
use serde_json::json;

use crate::support::{at, instance, json, listen, merged_bytes, network};

const BASTION: &str = "i-0a1b2c3d4e5f60001";
const SHOP_APP: &str = "i-0a1b2c3d4e5f60002";
const WORKER: &str = "i-0a1b2c3d4e5f60003";
const TG: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/shop-app/73e2d6bc24d8a067";

fn verdict(net: &Network, id: &str, port: u16) -> Verdict {
    let r = &net.evaluate(&[instance(
        id,
        id,
        Some(vec![listen(Tcp, "0.0.0.0", port, "x")]),
    )])[0];
    at(r, Tcp, port)
        .map(|p| p.verdict.clone())
        .unwrap_or_else(|| panic!("{port}: {r:?}"))
}

fn unknown(m: Missing) -> Verdict {
    Verdict::Unknown { missing: vec![m] }
}

#[test]
fn missing_pieces_are_named() {
    let net = network(&["ec2-describe-route-tables.json"]);
    assert_eq!(
        verdict(&net, BASTION, 22),
        unknown(Missing::RouteTable("subnet-0a1a1a1a1a1a1a1a1".into()))
    );
    let net = network(&["ec2-describe-network-acls.json"]);
    assert_eq!(
        verdict(&net, BASTION, 22),
        unknown(Missing::NetworkAcl("subnet-0a1a1a1a1a1a1a1a1".into()))
    );
    let net = network(&["ec2-describe-internet-gateways.json"]);
    assert_eq!(
        verdict(&net, BASTION, 22),
        unknown(Missing::InternetGateway("igw-0c1d2e3f4a5b6c7d8".into()))
    );
    let net = network(&["elbv2-describe-target-health.json"]);
    assert_eq!(
        verdict(&net, SHOP_APP, 8080),
        unknown(Missing::TargetHealth(TG.into()))
    );
    let net = network(&[
        "elbv2-describe-target-groups.json",
        "elbv2-describe-target-health.json",
    ]);
    assert_eq!(
        verdict(&net, SHOP_APP, 8080),
        unknown(Missing::TargetGroup(TG.into()))
    );
}

#[test]
fn a_closed_path_needs_no_more_data() {
    // Without any security group the worker's path is still closed: no
    // public address, and its subnet routes to a NAT gateway.
    let net = network(&["ec2-describe-security-groups.json"]);
    assert!(matches!(
        verdict(&net, WORKER, 22),
        Verdict::NotReachable { .. }
    ));
    // The bastion's is not: its group could allow anything.
    assert_eq!(
        verdict(&net, BASTION, 22),
        unknown(Missing::SecurityGroup("sg-0a11a11a11a11a11a".into()))
    );
}

#[test]
fn instance_in_no_subnet_or_without_addresses() {
    let mut doc: serde_json::Value = serde_json::from_slice(&merged_bytes(&[])).expect("json");
    let bastion = &mut doc["Reservations"][0]["Instances"][0];
    bastion.as_object_mut().expect("object").remove("SubnetId");
    bastion["NetworkInterfaces"][0]
        .as_object_mut()
        .expect("object")
        .remove("SubnetId");
    // An IPv6-only instance whose addresses the document lacks.
    let v6 = &mut doc["Reservations"][1]["Instances"][1];
    v6["NetworkInterfaces"] = json!([]);
    for k in ["Ipv6Address", "PrivateIpAddress"] {
        v6.as_object_mut().expect("object").remove(k);
    }
    let mut aws = AwsData::new();
    aws.add_json("edited.json", &serde_json::to_vec(&doc).expect("json"))
        .unwrap_or_else(|e| panic!("{e}"));
    let net = Network::new(aws, Vec::new());
    assert_eq!(
        verdict(&net, BASTION, 22),
        unknown(Missing::Subnet(BASTION.into()))
    );
    assert_eq!(
        verdict(&net, "i-0a1b2c3d4e5f60005", 443),
        unknown(Missing::Addresses("i-0a1b2c3d4e5f60005".into()))
    );
}

#[test]
fn assets_the_data_does_not_know() {
    let net = network(&[]);
    assert_eq!(
        verdict(&net, "i-0ffffffffffffffff", 22),
        unknown(Missing::Instance("i-0ffffffffffffffff".into()))
    );
    let r = &net.evaluate(&[Asset {
        name: "laptop".into(),
        instance_id: None,
        tags: vec![],
        listeners: None,
    }])[0];
    assert_eq!(r.ports.len(), 2, "one unknown row per protocol: {r:?}");
    assert!(r.ports.iter().all(|p| p.verdict == unknown(Missing::NetworkData) && p.ports.to_string() == "0-65535"));
}

/// Merging with jq keeps the last document's key: uploading the same kind
/// twice in one merge loses the first, which is why one-by-one uploads
/// exist. Here the later upload replaces the group by id.
#[test]
fn later_documents_replace_by_id() {
    let mut aws = AwsData::new();
    aws.add_json("all.json", &merged_bytes(&[])).expect("all");
    let mut groups = json("ec2-describe-security-groups.json");
    groups["SecurityGroups"] = json!([groups["SecurityGroups"][0].clone()]);
    groups["SecurityGroups"][0]["IpPermissions"] = json!([]);
    aws.add_json("g.json", &serde_json::to_vec(&groups).expect("json"))
        .expect("groups");
    assert_eq!(aws.security_groups.len(), 5);
    let net = Network::new(aws, Vec::new());
    assert!(matches!(
        verdict(&net, BASTION, 22),
        Verdict::NotReachable { .. }
    ));
}
