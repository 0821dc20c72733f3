//! The fixtures' network (testdata/README.md draws it), evaluated per asset
//! and port. Every expectation was written by hand from the AWS
//! documentation's rules, quoted above each, before the code ran.

use kensa_reach::{Exposure, Hop, Missing, Protocol::Tcp, Service, Verdict};

use crate::support::{at, instance, listen, network};

const BASTION: &str = "i-0a1b2c3d4e5f60001";
const SHOP_APP: &str = "i-0a1b2c3d4e5f60002";
const WORKER: &str = "i-0a1b2c3d4e5f60003";
const LEGACY: &str = "i-0a1b2c3d4e5f60004";
const V6_WEB: &str = "i-0a1b2c3d4e5f60005";
const ORPHAN: &str = "i-0a1b2c3d4e5f60006";

fn via(v: &Verdict) -> Vec<Vec<Hop>> {
    match v {
        Verdict::Reachable { via } => via.iter().map(|p| p.0.clone()).collect(),
        other => panic!("expected reachable, got {other:?}"),
    }
}

fn why(v: &Verdict) -> String {
    match v {
        Verdict::NotReachable { why } => why.join("; "),
        other => panic!("expected not reachable, got {other:?}"),
    }
}

/// "To enable access to or from the internet for instances in a subnet in a
/// VPC ... attach an internet gateway to your VPC ... add a route to your
/// subnet's route table that directs internet-bound traffic to the internet
/// gateway ... ensure that instances in your subnet have a public IPv4
/// address or an IPv6 address ... ensure that your network access control
/// lists and security group rules allow the relevant traffic to flow to and
/// from your instance." (Amazon VPC User Guide, "Enable internet access for
/// a VPC using an internet gateway",
/// https://docs.aws.amazon.com/vpc/latest/userguide/VPC_Internet_Gateway.html)
///
/// The bastion: public subnet (rtb 0.0.0.0/0 → igw), 198.51.100.11, the
/// default network ACL (rule 100 allows all in and out), its group allows
/// 22/tcp from 0.0.0.0/0. sshd on 0.0.0.0:22 → exposed.
#[test]
fn public_instance_with_open_ssh_is_exposed() {
    let net = network(&[]);
    let r = &net.evaluate(&[instance(
        "bastion",
        BASTION,
        Some(vec![
            listen(Tcp, "0.0.0.0", 22, "sshd"),
            listen(Tcp, "127.0.0.1", 5432, "postgres"),
        ]),
    )])[0];
    let ssh = at(r, Tcp, 22).expect("22/tcp listed");
    assert_eq!(ssh.exposure(), Exposure::Exposed);
    let paths = via(&ssh.verdict);
    let p = &paths[0];
    assert!(
        p.contains(&Hop::InternetGateway {
            id: "igw-0c1d2e3f4a5b6c7d8".into()
        }),
        "{p:?}"
    );
    assert!(p.contains(&Hop::PublicAddress {
        address: "198.51.100.11".parse().expect("ip")
    }));
    assert!(p.contains(&Hop::NetworkAcl {
        id: "acl-0a1d2e3f4a5b6c7d8".into(),
        inbound_rule: 100,
        outbound_rule: 100
    }));
    assert!(p.contains(&Hop::SecurityGroup {
        id: "sg-0a11a11a11a11a11a".into(),
        rule: 0,
        source: "0.0.0.0/0".into()
    }));
    // "Security groups are stateful" and only allow: 23/tcp has no rule.
    assert!(at(r, Tcp, 23).is_none(), "{r:?}");
    // PostgreSQL only on loopback: listed (a listener is there) but not reachable.
    let pg = at(r, Tcp, 5432).expect("5432 listed for its listener");
    assert!(matches!(pg.service, Service::LoopbackOnly { .. }));
    assert_eq!(pg.exposure(), Exposure::NotExposed);
    assert!(why(&pg.verdict).contains("no inbound rule of sg-0a11a11a11a11a11a allows 5432/tcp"));
}

/// The same group opens 8443/tcp to 0.0.0.0/0 and nothing listens there:
/// the lower "open but nothing listens" verdict, as one row.
#[test]
fn open_port_without_listener_is_the_lower_verdict() {
    let net = network(&[]);
    let r = &net.evaluate(&[instance(
        "bastion",
        BASTION,
        Some(vec![listen(Tcp, "0.0.0.0", 22, "sshd")]),
    )])[0];
    let open = at(r, Tcp, 8443).expect("8443 listed");
    assert_eq!(open.service, Service::NothingListens);
    assert_eq!(open.exposure(), Exposure::OpenNothingListens);
    assert_eq!(open.ports.to_string(), "8443");
    // Without collected listeners the same port is reachable, listeners unknown.
    let r = &net.evaluate(&[instance("bastion", BASTION, None)])[0];
    assert_eq!(
        at(r, Tcp, 8443).map(|p| p.exposure()),
        Some(Exposure::ReachableListenersUnknown)
    );
}

/// "You must ensure that your load balancer can communicate with registered
/// targets on both the listener port and the health check port" and "restrict
/// the security groups associated with your targets to accept traffic solely
/// from the load balancer ... setting the load balancer's security group as
/// the source in the ingress rule of the target's security group."
/// (ELB, "Security groups for your Application Load Balancer",
/// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-update-security-groups.html)
///
/// shop-app: private subnet, no public address; the internet-facing ALB
/// shop-public (sg allows 443 from 0.0.0.0/0, public subnets) listens on
/// HTTPS 443 and forwards to target group shop-app, where the instance is a
/// healthy target on 8080; the instance's group allows 8080 from the ALB's
/// group. Reachable on 8080 through the listener, not on 443 itself.
#[test]
fn private_instance_behind_internet_facing_alb() {
    let net = network(&[]);
    let r = &net.evaluate(&[instance(
        "shop-app",
        SHOP_APP,
        Some(vec![listen(Tcp, "0.0.0.0", 8080, "java")]),
    )])[0];
    let app = at(r, Tcp, 8080).expect("8080 listed");
    assert_eq!(app.exposure(), Exposure::Exposed);
    let paths = via(&app.verdict);
    assert_eq!(paths.len(), 1, "only the load balancer path: {paths:?}");
    let p = &paths[0];
    assert_eq!(
        p[0],
        Hop::LoadBalancer {
            name: "shop-public".into(),
            port: 443,
            protocol: "HTTPS".into()
        }
    );
    assert!(p.contains(&Hop::TargetGroup {
        name: "shop-app".into(),
        port: 8080,
        health: Some("healthy".into())
    }));
    assert!(p.contains(&Hop::SecurityGroup {
        id: "sg-0c33c33c33c33c33c".into(),
        rule: 0,
        source: "sg-0b22b22b22b22b22b".into()
    }));
    // 22 is allowed from the VPC only and the instance has no public address.
    assert!(at(r, Tcp, 22).is_none(), "{r:?}");
    assert!(at(r, Tcp, 443).is_none(), "{r:?}");
}

/// "You can use a NAT gateway so that instances in a private subnet can
/// connect to services outside your VPC but external services can't
/// initiate a connection with those instances." (Amazon VPC User Guide,
/// "NAT gateways", https://docs.aws.amazon.com/vpc/latest/userguide/vpc-nat-gateway.html)
///
/// batch-worker's group allows 22/tcp from 0.0.0.0/0, sshd listens, but its
/// subnet's only default route goes to the NAT gateway and it has no public
/// address: not reachable, and the reasons say so.
#[test]
fn private_instance_with_only_nat_is_not_reachable() {
    let net = network(&[]);
    let r = &net.evaluate(&[instance(
        "batch-worker",
        WORKER,
        Some(vec![listen(Tcp, "0.0.0.0", 22, "sshd")]),
    )])[0];
    let ssh = at(r, Tcp, 22).expect("listed for its listener");
    assert_eq!(ssh.exposure(), Exposure::NotExposed);
    let why = why(&ssh.verdict);
    assert!(why.contains("no public IPv4 address"), "{why}");
    assert!(why.contains("no IPv6 address"), "{why}");
}

/// "Rules are evaluated starting with the lowest numbered rule. As soon as
/// a rule matches traffic, it's applied regardless of any higher-numbered
/// rule that might contradict it." and "Network ACLs are stateless, which
/// means that responses to allowed inbound traffic are subject to the rules
/// for outbound traffic" (Amazon VPC User Guide, "Control subnet traffic
/// with network access control lists",
/// https://docs.aws.amazon.com/vpc/latest/userguide/vpc-network-acls.html)
///
/// legacy-web: public subnet with a custom ACL: inbound #100 denies 22/tcp,
/// #110 allows 443/tcp, #120 allows 0-1023/tcp, then `*` denies; outbound
/// #100 allows 1024-65535/tcp. Its groups allow 22 and 8443 (ssh-open) and
/// 443 (web-public) from 0.0.0.0/0. So 22 is denied by #100 although #120
/// would allow it, 8443 falls to the implicit deny, 443 passes by #110.
#[test]
fn nacl_denies_what_the_group_allows() {
    let net = network(&[]);
    let r = &net.evaluate(&[instance(
        "legacy-web",
        LEGACY,
        Some(vec![
            listen(Tcp, "0.0.0.0", 22, "sshd"),
            listen(Tcp, "::", 443, "nginx"),
        ]),
    )])[0];
    let ssh = at(r, Tcp, 22).expect("22 listed");
    assert_eq!(ssh.exposure(), Exposure::NotExposed);
    assert!(
        why(&ssh.verdict)
            .contains("acl-0b9c8d7e6f5a4b3c2 inbound rule #100 denies 22/tcp from 0.0.0.0/0")
    );
    assert!(
        at(r, Tcp, 8443).is_none(),
        "8443 falls to the implicit deny: {r:?}"
    );
    let https = at(r, Tcp, 443).expect("443 listed");
    assert_eq!(https.exposure(), Exposure::Exposed);
    assert!(via(&https.verdict)[0].contains(&Hop::NetworkAcl {
        id: "acl-0b9c8d7e6f5a4b3c2".into(),
        inbound_rule: 110,
        outbound_rule: 100
    }));
}

/// The same guide: instances need "a public IPv4 address or an IPv6
/// address", and the route for IPv6 is `::/0` to the internet gateway;
/// security group rules and ACL entries name `::/0` separately from
/// `0.0.0.0/0`.
///
/// v6-web: no public IPv4 address, 2001:db8:1234:1a30::15; route ::/0 → igw;
/// the default ACL's IPv6 rule #101 allows; web-public allows 443 from ::/0.
#[test]
fn ipv6_any_reaches_an_instance_without_public_ipv4() {
    let net = network(&[]);
    let r = &net.evaluate(&[instance(
        "v6-web",
        V6_WEB,
        Some(vec![listen(Tcp, "::", 443, "nginx")]),
    )])[0];
    let https = at(r, Tcp, 443).expect("443 listed");
    assert_eq!(https.exposure(), Exposure::Exposed);
    let p = &via(&https.verdict)[0];
    assert!(p.contains(&Hop::PublicAddress {
        address: "2001:db8:1234:1a30::15".parse().expect("ip")
    }));
    assert!(p.contains(&Hop::Route {
        table: "rtb-0a2b4c6d8e0f1a3b5".into(),
        destination: "::/0".parse().expect("cidr")
    }));
    assert!(p.contains(&Hop::NetworkAcl {
        id: "acl-0a1d2e3f4a5b6c7d8".into(),
        inbound_rule: 101,
        outbound_rule: 101
    }));
    assert!(p.contains(&Hop::SecurityGroup {
        id: "sg-0e55e55e55e55e55e".into(),
        rule: 0,
        source: "::/0".into()
    }));
}

/// A security group referenced by an instance but absent from the import
/// could hold any rule: the verdict is unknown, naming the group, on every
/// port (never "not reachable").
#[test]
fn missing_security_group_is_unknown() {
    let net = network(&[]);
    let r = &net.evaluate(&[instance(
        "orphan",
        ORPHAN,
        Some(vec![listen(Tcp, "0.0.0.0", 22, "sshd")]),
    )])[0];
    for port in [22, 80, 65535] {
        let row = at(r, Tcp, port).unwrap_or_else(|| panic!("{port} listed: {r:?}"));
        assert_eq!(
            row.verdict,
            Verdict::Unknown {
                missing: vec![Missing::SecurityGroup("sg-0f66f66f66f66f66f".into())]
            },
            "{port}"
        );
        assert_eq!(row.exposure(), Exposure::Unknown);
    }
}

/// Uploading the documents one by one gives the same answers as one merged
/// upload (`jq -s add`), provided the target-health document names its
/// target group as docs/reachability.md says.
#[test]
fn one_by_one_equals_merged() {
    use crate::support::{FILES, json};
    let mut aws = kensa_reach::AwsData::new();
    for f in FILES {
        let mut doc = json(f);
        if *f == "elbv2-describe-target-health.json" {
            // What `jq --arg tg "$TG" '. + {TargetGroupArn: $tg}'` adds.
            doc["TargetGroupArn"] = serde_json::Value::String(
                "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/shop-app/73e2d6bc24d8a067".into(),
            );
        }
        aws.add_json(f, &serde_json::to_vec(&doc).expect("json"))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let one = kensa_reach::Network::new(aws, Vec::new());
    let merged = network(&[]);
    let assets: Vec<_> = [BASTION, SHOP_APP, WORKER, LEGACY, V6_WEB, ORPHAN]
        .iter()
        .map(|id| instance(id, id, Some(vec![listen(Tcp, "0.0.0.0", 22, "sshd")])))
        .collect();
    assert_eq!(one.evaluate(&assets), merged.evaluate(&assets));
}

/// The merge done by jq itself, exactly as the documentation tells users.
#[test]
#[ignore = "needs jq (scripts/setup); scripts/test runs it"]
fn merged_with_real_jq() {
    use crate::support::{FILES, testdata};
    let out = std::process::Command::new("jq")
        .arg("-s")
        .arg("add")
        .args(FILES.iter().map(|f| testdata(f)))
        .output()
        .expect("jq runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut aws = kensa_reach::AwsData::new();
    aws.add_json("jq.json", &out.stdout)
        .unwrap_or_else(|e| panic!("{e}"));
    let net = kensa_reach::Network::new(aws, Vec::new());
    let assets = [instance("shop-app", SHOP_APP, None)];
    assert_eq!(net.evaluate(&assets), network(&[]).evaluate(&assets));
    assert_eq!(
        at(&net.evaluate(&assets)[0], Tcp, 8080).map(|p| p.exposure()),
        Some(Exposure::ReachableListenersUnknown)
    );
}

/// The rule number decides, not the order entries are listed in: the same
/// ACL with its entries reversed gives the same answers.
#[test]
fn nacl_order_is_by_rule_number_not_listing() {
    use crate::support::{FILES, jq_add, json};
    let mut docs: Vec<_> = FILES.iter().map(|f| json(f)).collect();
    for acl in docs[2]["NetworkAcls"].as_array_mut().expect("acls") {
        acl["Entries"].as_array_mut().expect("entries").reverse();
    }
    let mut aws = kensa_reach::AwsData::new();
    aws.add_json(
        "reversed.json",
        &serde_json::to_vec(&jq_add(docs)).expect("json"),
    )
    .expect("add");
    let net = kensa_reach::Network::new(aws, Vec::new());
    let assets = [instance(
        "legacy-web",
        LEGACY,
        Some(vec![listen(Tcp, "0.0.0.0", 22, "sshd")]),
    )];
    assert_eq!(net.evaluate(&assets), network(&[]).evaluate(&assets));
    assert!(
        why(&at(&net.evaluate(&assets)[0], Tcp, 22).expect("22").verdict)
            .contains("rule #100 denies")
    );
}
