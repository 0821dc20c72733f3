//! Bad AWS documents: a clear error naming the JSON path, and nothing of
//! the bad document kept.

use kensa_reach::{AwsData, Error};
use serde_json::{Value, json};

use crate::support::{json, read};

fn add(doc: &Value) -> Result<(), Error> {
    AwsData::new().add_json("upload.json", &serde_json::to_vec(doc).expect("json"))
}

fn path_of(e: Error) -> (String, String) {
    match e {
        Error::Field { ref path, .. } => (path.clone(), e.to_string()),
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn not_json_names_the_line() {
    let e = AwsData::new()
        .add_json("g.json", b"{\n  \"SecurityGroups\": [\n    {,\n")
        .expect_err("refused");
    assert!(matches!(e, Error::Json { line: 3, .. }), "{e:?}");
    assert!(e.to_string().starts_with("g.json: not JSON (line 3"), "{e}");
}

#[test]
fn field_errors_name_the_json_path() {
    let mut groups = json("ec2-describe-security-groups.json");
    groups["SecurityGroups"][1]["IpPermissions"][0]["IpRanges"][0]["CidrIp"] = json!("0.0.0.0/33");
    let (path, msg) = path_of(add(&groups).expect_err("refused"));
    assert_eq!(
        path, "SecurityGroups[1].IpPermissions[0].IpRanges[0].CidrIp",
        "{msg}"
    );
    assert!(msg.contains("prefix length"), "{msg}");

    let mut groups = json("ec2-describe-security-groups.json");
    groups["SecurityGroups"][0]["IpPermissions"][1]["ToPort"] = json!(70000);
    let (path, msg) = path_of(add(&groups).expect_err("refused"));
    assert_eq!(path, "SecurityGroups[0].IpPermissions[1].ToPort", "{msg}");

    let mut acls = json("ec2-describe-network-acls.json");
    acls["NetworkAcls"][1]["Entries"][2]["RuleAction"] = json!("maybe");
    let (path, _) = path_of(add(&acls).expect_err("refused"));
    assert_eq!(path, "NetworkAcls[1].Entries[2].RuleAction");

    let mut inst = json("ec2-describe-instances.json");
    inst["Reservations"][1]["Instances"][0]
        .as_object_mut()
        .expect("object")
        .remove("InstanceId");
    let (path, msg) = path_of(add(&inst).expect_err("refused"));
    assert_eq!(path, "Reservations[1].Instances[0].InstanceId", "{msg}");
    assert!(msg.ends_with("missing"), "{msg}");

    let mut routes = json("ec2-describe-route-tables.json");
    routes["RouteTables"][0]["Routes"][2]["DestinationCidrBlock"] = json!("default");
    let (path, _) = path_of(add(&routes).expect_err("refused"));
    assert_eq!(path, "RouteTables[0].Routes[2].DestinationCidrBlock");

    let mut lbs = json("elbv2-describe-load-balancers.json");
    lbs["LoadBalancers"][0]["Scheme"] = json!("public");
    let (path, _) = path_of(add(&lbs).expect_err("refused"));
    assert_eq!(path, "LoadBalancers[0].Scheme");

    let (path, _) = path_of(add(&json!({"Reservations": {}})).expect_err("refused"));
    assert_eq!(path, "Reservations");
}

#[test]
fn documents_kensa_does_not_read_are_refused_by_key() {
    let (path, msg) = path_of(add(&json!({"Vpcs": []})).expect_err("refused"));
    assert_eq!(path, "Vpcs", "{msg}");
    let (path, msg) = path_of(add(&json!({})).expect_err("refused"));
    assert_eq!(path, "$");
    assert!(msg.contains("SecurityGroups"), "{msg}");
    let (path, _) = path_of(add(&json!([1, 2])).expect_err("refused"));
    assert_eq!(path, "$");
}

/// `describe-target-health` does not say which target group it describes.
#[test]
fn target_health_without_its_group_is_refused() {
    let raw = read("elbv2-describe-target-health.json");
    let (path, msg) = path_of(
        AwsData::new()
            .add_json("th.json", &raw)
            .expect_err("refused"),
    );
    assert_eq!(path, "TargetHealthDescriptions[0]");
    assert!(msg.contains("TargetGroupArn"), "{msg}");
}

/// All or nothing: a document that fails halfway adds none of what came
/// before the error, and what was imported earlier stays.
#[test]
fn a_failed_document_changes_nothing() {
    let mut aws = AwsData::new();
    aws.add_json("i.json", &read("ec2-describe-instances.json"))
        .expect("instances");
    let before = aws.clone();
    let mut doc = crate::support::jq_add([
        json("ec2-describe-security-groups.json"),
        json("ec2-describe-network-acls.json"),
    ]);
    doc["NetworkAcls"][1]["Entries"][0]["RuleNumber"] = json!(-5);
    let e = aws
        .add_json("bad.json", &serde_json::to_vec(&doc).expect("json"))
        .expect_err("refused");
    assert!(
        e.to_string()
            .contains("NetworkAcls[1].Entries[0].RuleNumber"),
        "{e}"
    );
    assert_eq!(aws, before);
    assert!(aws.security_groups.is_empty());
    assert_eq!(aws.instances.len(), 6);
}
