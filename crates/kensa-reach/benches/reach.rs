//! Reachability of a large estate: 10,000 instances and 2,000 security
//! groups (plus 50 VPCs with public and private subnets, route tables,
//! custom network ACLs, and 20 internet-facing load balancers), generated
//! deterministically in the AWS CLI's JSON shapes. The target is under 5 s
//! for parsing and evaluating all of it.
//!
//! `cargo bench -p kensa-reach --bench reach`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kensa_reach::{Asset, AwsData, Listener, Network, Protocol};
use serde_json::{Value, json};

const INSTANCES: usize = 10_000;
const GROUPS: usize = 2_000;
const VPCS: usize = 50;
const BALANCERS: usize = 20;

/// A fixed linear congruential generator: the same estate every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

const PORTS: [u16; 12] = [
    22, 80, 443, 3306, 5432, 6379, 8080, 8443, 9000, 9200, 11211, 27017,
];

fn estate() -> (Vec<u8>, Vec<Asset>) {
    let mut r = Lcg(0x6b656e7361);
    let vpc = |v: usize| format!("vpc-{v:017x}");
    let subnet = |v: usize, public: bool| format!("subnet-{:017x}", v * 2 + usize::from(public));
    let mut groups = Vec::new();
    for g in 0..GROUPS {
        let mut perms = Vec::new();
        for _ in 0..1 + r.next(5) {
            let from = PORTS[r.next(PORTS.len() as u64) as usize];
            let to = if r.next(10) == 0 { from + 100 } else { from };
            let source = match r.next(4) {
                0 => {
                    json!({"IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [{"CidrIpv6": "::/0"}], "UserIdGroupPairs": []})
                }
                1 => {
                    json!({"IpRanges": [], "Ipv6Ranges": [], "UserIdGroupPairs": [{"GroupId": format!("sg-{:017x}", r.next(GROUPS as u64)), "UserId": "111122223333"}]})
                }
                _ => {
                    json!({"IpRanges": [{"CidrIp": "10.0.0.0/8"}], "Ipv6Ranges": [], "UserIdGroupPairs": []})
                }
            };
            let mut p =
                json!({"IpProtocol": "tcp", "FromPort": from, "ToPort": to, "PrefixListIds": []});
            if let (Some(p), Value::Object(s)) = (p.as_object_mut(), source) {
                p.extend(s);
            }
            perms.push(p);
        }
        groups.push(json!({"GroupId": format!("sg-{g:017x}"), "GroupName": format!("g{g}"), "Description": "",
            "IpPermissions": perms, "IpPermissionsEgress": [], "OwnerId": "111122223333", "VpcId": vpc(g % VPCS)}));
    }
    let mut tables = Vec::new();
    let mut acls = Vec::new();
    for v in 0..VPCS {
        let local = json!({"DestinationCidrBlock": format!("10.{v}.0.0/16"), "GatewayId": "local", "State": "active"});
        tables.push(json!({"RouteTableId": format!("rtb-{:017x}", v * 2), "VpcId": vpc(v),
            "Associations": [{"Main": false, "SubnetId": subnet(v, true)}],
            "Routes": [local, {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": format!("igw-{v:017x}"), "State": "active"},
                       {"DestinationIpv6CidrBlock": "::/0", "GatewayId": format!("igw-{v:017x}"), "State": "active"}]}));
        tables.push(json!({"RouteTableId": format!("rtb-{:017x}", v * 2 + 1), "VpcId": vpc(v),
            "Associations": [{"Main": true}],
            "Routes": [local, {"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": format!("nat-{v:017x}"), "State": "active"}]}));
        let mut entries = vec![
            json!({"RuleNumber": 100, "Egress": false, "Protocol": "6", "RuleAction": "deny", "CidrBlock": "0.0.0.0/0", "PortRange": {"From": 3306, "To": 3306}}),
            json!({"RuleNumber": 200, "Egress": false, "Protocol": "-1", "RuleAction": "allow", "CidrBlock": "0.0.0.0/0"}),
            json!({"RuleNumber": 32767, "Egress": false, "Protocol": "-1", "RuleAction": "deny", "CidrBlock": "0.0.0.0/0"}),
            json!({"RuleNumber": 100, "Egress": true, "Protocol": "6", "RuleAction": "allow", "CidrBlock": "0.0.0.0/0", "PortRange": {"From": 1024, "To": 65535}}),
            json!({"RuleNumber": 32767, "Egress": true, "Protocol": "-1", "RuleAction": "deny", "CidrBlock": "0.0.0.0/0"}),
        ];
        entries.extend([101, 32768].map(|n| json!({"RuleNumber": n, "Egress": false, "Protocol": "-1", "RuleAction": if n == 101 {"allow"} else {"deny"}, "Ipv6CidrBlock": "::/0"})));
        entries.extend([101, 32768].map(|n| json!({"RuleNumber": n, "Egress": true, "Protocol": "-1", "RuleAction": if n == 101 {"allow"} else {"deny"}, "Ipv6CidrBlock": "::/0"})));
        acls.push(json!({"NetworkAclId": format!("acl-{v:017x}"), "VpcId": vpc(v), "IsDefault": true, "Associations": [], "Entries": entries}));
    }
    let gateways: Vec<Value> = (0..VPCS)
        .map(|v| json!({"InternetGatewayId": format!("igw-{v:017x}"), "Attachments": [{"State": "available", "VpcId": vpc(v)}]}))
        .collect();
    let mut instances = Vec::new();
    let mut assets = Vec::new();
    for i in 0..INSTANCES {
        let v = (r.next(VPCS as u64)) as usize;
        let public = r.next(3) == 0;
        let gs: Vec<Value> = (0..1 + r.next(3))
            .map(|_| {
                let g = (r.next((GROUPS / VPCS) as u64) as usize) * VPCS + v;
                json!({"GroupId": format!("sg-{g:017x}"), "GroupName": format!("g{g}")})
            })
            .collect();
        let id = format!("i-{i:017x}");
        let mut eni = json!({"NetworkInterfaceId": format!("eni-{i:017x}"), "SubnetId": subnet(v, public), "Groups": gs,
            "PrivateIpAddress": format!("10.{v}.{}.{}", i / 250 % 250, i % 250 + 1), "Ipv6Addresses": []});
        if public {
            eni["Association"] =
                json!({"PublicIp": format!("198.51.{}.{}", i / 250 % 250, i % 250 + 1)});
            if r.next(4) == 0 {
                eni["Ipv6Addresses"] = json!([{"Ipv6Address": format!("2001:db8:{v:x}::{i:x}")}]);
            }
        }
        instances.push(json!({"InstanceId": id, "VpcId": vpc(v), "SubnetId": subnet(v, public), "State": {"Code": 16, "Name": "running"},
            "NetworkInterfaces": [eni]}));
        let listeners = (0..1 + r.next(4))
            .map(|_| Listener {
                protocol: Protocol::Tcp,
                address: if r.next(5) == 0 {
                    "127.0.0.1"
                } else {
                    "0.0.0.0"
                }
                .parse()
                .unwrap_or_else(|_| unreachable!()),
                port: PORTS[r.next(PORTS.len() as u64) as usize],
                process: Some("server".into()),
            })
            .collect();
        assets.push(Asset {
            name: id.clone(),
            instance_id: Some(id),
            tags: Vec::new(),
            listeners: Some(listeners),
        });
    }
    let (mut lbs, mut listeners, mut tgs) = (Vec::new(), Vec::new(), Vec::new());
    let mut health = Vec::new();
    for b in 0..BALANCERS {
        let v = b % VPCS;
        let lb = format!(
            "arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/app/lb{b}/{b:016x}"
        );
        let tg = format!(
            "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/tg{b}/{b:016x}"
        );
        lbs.push(json!({"LoadBalancerArn": lb, "LoadBalancerName": format!("lb{b}"), "Scheme": "internet-facing", "Type": "application",
            "VpcId": vpc(v), "State": {"Code": "active"}, "AvailabilityZones": [{"ZoneName": "eu-west-1a", "SubnetId": subnet(v, true)}],
            "SecurityGroups": [format!("sg-{v:017x}")], "IpAddressType": "ipv4"}));
        listeners.push(json!({"ListenerArn": format!("{lb}/l443"), "LoadBalancerArn": lb, "Port": 443, "Protocol": "HTTPS",
            "DefaultActions": [{"Type": "forward", "TargetGroupArn": tg}]}));
        tgs.push(json!({"TargetGroupArn": tg, "TargetGroupName": format!("tg{b}"), "Protocol": "HTTP", "Port": 8080, "VpcId": vpc(v), "TargetType": "instance"}));
        for t in 0..50 {
            health.push(json!({"TargetGroupArn": tg, "Target": {"Id": format!("i-{:017x}", (t * VPCS + v) % INSTANCES), "Port": 8080},
                "TargetHealth": {"State": "healthy"}}));
        }
    }
    let doc = json!({"Reservations": [{"Instances": instances}], "SecurityGroups": groups, "RouteTables": tables,
        "NetworkAcls": acls, "InternetGateways": gateways, "LoadBalancers": lbs, "Listeners": listeners,
        "TargetGroups": tgs, "TargetHealthDescriptions": health});
    (
        serde_json::to_vec(&doc).unwrap_or_else(|e| panic!("{e}")),
        assets,
    )
}

fn bench(c: &mut Criterion) {
    let (bytes, assets) = estate();
    let mut aws = AwsData::new();
    aws.add_json("estate.json", &bytes)
        .unwrap_or_else(|e| panic!("{e}"));
    let network = Network::new(aws, Vec::new());
    let rows: usize = network
        .evaluate(&assets)
        .iter()
        .map(|a| a.ports.len())
        .sum();
    eprintln!(
        "estate: {} bytes of JSON, {} assets, {rows} port rows",
        bytes.len(),
        assets.len()
    );
    let mut g = c.benchmark_group("reach");
    g.sample_size(10);
    g.bench_function("parse 10k instances, 2k groups", |b| {
        b.iter(|| {
            let mut aws = AwsData::new();
            aws.add_json("estate.json", black_box(&bytes))
                .unwrap_or_else(|e| panic!("{e}"));
            aws
        })
    });
    g.bench_function("evaluate 10k instances, 2k groups", |b| {
        b.iter(|| network.evaluate(black_box(&assets)))
    });
    g.bench_function("parse and evaluate", |b| {
        b.iter(|| {
            let mut aws = AwsData::new();
            aws.add_json("estate.json", black_box(&bytes))
                .unwrap_or_else(|e| panic!("{e}"));
            Network::new(aws, Vec::new()).evaluate(&assets)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
