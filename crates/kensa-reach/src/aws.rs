//! The AWS CLI's JSON: `aws ec2 describe-instances`, `describe-security-groups`,
//! `describe-network-acls`, `describe-route-tables`, `describe-internet-gateways`,
//! `describe-nat-gateways`, `describe-subnets` (optional: the subnets' address
//! blocks) and `aws elbv2 describe-load-balancers`, `describe-listeners`,
//! `describe-target-groups`, `describe-target-health`.
//!
//! Each document is read whole before anything is kept, so a document with an
//! error changes nothing. Documents can be added one by one or merged first
//! (`jq -s add a.json b.json ...`): the top-level keys say what a document
//! holds. A later document replaces what an earlier one said about the same
//! id. Only the fields reachability needs are read; every other field is
//! ignored.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use serde_json::Value;

use crate::error::Error;
use crate::net::{Cidr, Family, PortRange, Protocol, RuleProtocol};

/// Everything imported so far, indexed by id.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct AwsData {
    pub instances: BTreeMap<String, Instance>,
    pub security_groups: HashMap<String, SecurityGroup>,
    pub network_acls: HashMap<String, NetworkAcl>,
    pub route_tables: HashMap<String, RouteTable>,
    pub internet_gateways: HashMap<String, InternetGateway>,
    pub nat_gateways: HashMap<String, NatGateway>,
    pub subnets: HashMap<String, Subnet>,
    pub load_balancers: HashMap<String, LoadBalancer>,
    pub listeners: HashMap<String, LbListener>,
    pub target_groups: HashMap<String, TargetGroup>,
    /// Target group ARN → its targets, as `describe-target-health` lists them.
    pub target_health: HashMap<String, Vec<Target>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub id: String,
    pub vpc_id: Option<String>,
    pub state: Option<String>,
    pub interfaces: Vec<Interface>,
    /// The `Name` tag.
    pub name: Option<String>,
    /// `PrivateDnsName` (`ip-10-0-0-5.eu-west-1.compute.internal`), by
    /// which a host that reports only its hostname is found.
    pub private_dns: Option<String>,
}

/// One network interface: each has its own subnet, groups and addresses.
/// An instance listed without `NetworkInterfaces` gets one made of its
/// top-level `SubnetId`, `SecurityGroups` and addresses.
#[derive(Debug, Clone, PartialEq)]
pub struct Interface {
    pub id: Option<String>,
    pub subnet_id: Option<String>,
    pub groups: Vec<String>,
    pub private_ipv4: Option<IpAddr>,
    pub public_ipv4: Option<IpAddr>,
    pub ipv6: Vec<IpAddr>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SecurityGroup {
    pub id: String,
    pub vpc_id: Option<String>,
    pub inbound: Vec<GroupRule>,
}

/// One `IpPermissions` entry: a protocol and port range, from any of its
/// sources.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRule {
    pub protocol: RuleProtocol,
    pub ports: PortRange,
    pub cidrs: Vec<Cidr>,
    /// Other security groups (`UserIdGroupPairs[].GroupId`).
    pub groups: Vec<String>,
    /// Managed prefix lists (`PrefixListIds[].PrefixListId`): their entries
    /// are not in these documents.
    pub prefix_lists: Vec<String>,
    /// Where it came from, for paths: `IpPermissions[2]`.
    pub index: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NetworkAcl {
    pub id: String,
    pub vpc_id: Option<String>,
    pub is_default: bool,
    pub subnets: Vec<String>,
    /// Sorted by rule number.
    pub inbound: Vec<AclEntry>,
    pub outbound: Vec<AclEntry>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AclEntry {
    pub number: u32,
    pub protocol: RuleProtocol,
    /// `None` when the protocol has no ports (or the entry is for all
    /// protocols): every port.
    pub ports: Option<PortRange>,
    pub cidr: Cidr,
    pub allow: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RouteTable {
    pub id: String,
    pub vpc_id: Option<String>,
    pub main: bool,
    pub subnets: Vec<String>,
    pub routes: Vec<Route>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub destination: Cidr,
    /// `igw-…`, `nat-…`, `eigw-…`, `local`, `tgw-…`, `pcx-…`, `eni-…`, ...
    pub target: String,
    /// `State`: `active` or `blackhole`.
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InternetGateway {
    pub id: String,
    /// VPCs it is attached to (attachment state `available` or `attached`).
    pub vpcs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NatGateway {
    pub id: String,
    pub subnet_id: Option<String>,
    pub vpc_id: Option<String>,
    pub public: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Subnet {
    pub id: String,
    pub vpc_id: Option<String>,
    pub cidrs: Vec<Cidr>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LoadBalancer {
    pub arn: String,
    pub name: String,
    pub internet_facing: bool,
    /// `application`, `network`, `gateway`.
    pub kind: String,
    pub vpc_id: Option<String>,
    pub active: bool,
    pub subnets: Vec<String>,
    /// `None`: the balancer has no security groups (a network load balancer
    /// created without), so clients' addresses reach the targets.
    pub security_groups: Option<Vec<String>>,
    /// `ipv4`, `dualstack`, `dualstack-without-public-ipv4`.
    pub families: Vec<Family>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LbListener {
    pub arn: String,
    pub load_balancer: String,
    pub port: u16,
    /// `HTTP`, `HTTPS`, `TCP`, `TLS`, `UDP`, `TCP_UDP`.
    pub protocol: String,
    /// Target groups its default actions forward to.
    pub target_groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TargetGroup {
    pub arn: String,
    pub name: String,
    pub port: Option<u16>,
    pub protocol: Option<String>,
    /// `instance`, `ip`, `lambda`, `alb`.
    pub target_type: String,
    pub vpc_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub id: String,
    pub port: Option<u16>,
    /// `TargetHealth.State`: `healthy`, `unhealthy`, `initial`, `unused`, ...
    pub state: Option<String>,
}

/// Protocols a load balancer or target group protocol name carries.
pub fn lb_protocols(name: &str) -> &'static [Protocol] {
    match name {
        "HTTP" | "HTTPS" | "TCP" | "TLS" => &[Protocol::Tcp],
        "UDP" => &[Protocol::Udp],
        "TCP_UDP" => &[Protocol::Tcp, Protocol::Udp],
        _ => &[],
    }
}

/// The top-level keys this module reads, with the command that writes each.
pub const KEYS: &[(&str, &str)] = &[
    ("Reservations", "aws ec2 describe-instances"),
    ("SecurityGroups", "aws ec2 describe-security-groups"),
    ("NetworkAcls", "aws ec2 describe-network-acls"),
    ("RouteTables", "aws ec2 describe-route-tables"),
    ("InternetGateways", "aws ec2 describe-internet-gateways"),
    ("NatGateways", "aws ec2 describe-nat-gateways"),
    ("Subnets", "aws ec2 describe-subnets"),
    ("LoadBalancers", "aws elbv2 describe-load-balancers"),
    ("Listeners", "aws elbv2 describe-listeners"),
    ("TargetGroups", "aws elbv2 describe-target-groups"),
    (
        "TargetHealthDescriptions",
        "aws elbv2 describe-target-health",
    ),
];

/// `path.key`, or `key` at the top.
fn join(path: &str, key: &str) -> String {
    if path == "$" {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Walks a document keeping the JSON path for errors.
struct Doc<'a> {
    source: &'a str,
}

type R<T> = Result<T, Error>;

impl Doc<'_> {
    fn err(&self, path: &str, message: impl Into<String>) -> Error {
        Error::Field {
            source_name: self.source.to_owned(),
            path: path.to_owned(),
            message: message.into(),
        }
    }

    fn obj<'v>(&self, v: &'v Value, path: &str) -> R<&'v serde_json::Map<String, Value>> {
        v.as_object()
            .ok_or_else(|| self.err(path, "expected an object"))
    }

    /// An optional array; absent and `null` are empty.
    fn arr<'v>(&self, v: &'v Value, key: &str, path: &str) -> R<&'v [Value]> {
        match v.get(key) {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(a)) => Ok(a),
            Some(_) => Err(self.err(&join(path, key), "expected an array")),
        }
    }

    fn opt_str<'v>(&self, v: &'v Value, key: &str, path: &str) -> R<Option<&'v str>> {
        match v.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.err(&join(path, key), "expected a string")),
        }
    }

    fn str<'v>(&self, v: &'v Value, key: &str, path: &str) -> R<&'v str> {
        self.opt_str(v, key, path)?
            .ok_or_else(|| self.err(&join(path, key), "missing"))
    }

    fn opt_bool(&self, v: &Value, key: &str, path: &str) -> R<Option<bool>> {
        match v.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.err(&join(path, key), "expected true or false")),
        }
    }

    fn opt_int(&self, v: &Value, key: &str, path: &str) -> R<Option<i64>> {
        match v.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(n) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.err(&join(path, key), "expected an integer")),
        }
    }

    fn opt_port(&self, v: &Value, key: &str, path: &str) -> R<Option<u16>> {
        self.opt_int(v, key, path)?
            .map(|n| {
                u16::try_from(n)
                    .map_err(|_| self.err(&join(path, key), format!("port {n} out of range")))
            })
            .transpose()
    }

    fn cidr(&self, s: &str, path: &str) -> R<Cidr> {
        s.parse().map_err(|e: String| self.err(path, e))
    }

    fn addr(&self, v: &Value, key: &str, path: &str) -> R<Option<IpAddr>> {
        self.opt_str(v, key, path)?
            .map(|s| {
                s.parse()
                    .map_err(|_| self.err(&join(path, key), format!("{s:?} is not an IP address")))
            })
            .transpose()
    }

    fn strings(&self, v: &Value, key: &str, path: &str, inner: Option<&str>) -> R<Vec<String>> {
        let mut out = Vec::new();
        for (i, x) in self.arr(v, key, path)?.iter().enumerate() {
            let p = format!("{path}.{key}[{i}]");
            match inner {
                Some(k) => out.push(self.str(x, k, &p)?.to_owned()),
                None => out.push(
                    x.as_str()
                        .ok_or_else(|| self.err(&p, "expected a string"))?
                        .to_owned(),
                ),
            }
        }
        Ok(out)
    }

    fn tag(&self, v: &Value, name: &str, path: &str) -> R<Option<String>> {
        for (i, t) in self.arr(v, "Tags", path)?.iter().enumerate() {
            let p = format!("{path}.Tags[{i}]");
            if self.opt_str(t, "Key", &p)? == Some(name) {
                return Ok(self.opt_str(t, "Value", &p)?.map(str::to_owned));
            }
        }
        Ok(None)
    }

    fn protocol(&self, v: &Value, key: &str, path: &str) -> R<RuleProtocol> {
        let s = match v.get(key) {
            Some(Value::Number(n)) => n.to_string(),
            _ => self.str(v, key, path)?.to_owned(),
        };
        RuleProtocol::parse_aws(&s)
            .ok_or_else(|| self.err(&join(path, key), format!("unknown protocol {s:?}")))
    }
}

impl AwsData {
    pub fn new() -> AwsData {
        AwsData::default()
    }

    /// Reads one document (one command's output, or several merged with
    /// `jq -s add`) and adds what it holds. `source_name` names it in
    /// errors. On error nothing is added.
    pub fn add_json(&mut self, source_name: &str, bytes: &[u8]) -> Result<(), Error> {
        let doc: Value = serde_json::from_slice(bytes).map_err(|e| Error::Json {
            source_name: source_name.to_owned(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        let mut new = AwsData::default();
        new.read(
            &Doc {
                source: source_name,
            },
            &doc,
        )?;
        self.merge(new);
        Ok(())
    }

    fn merge(&mut self, new: AwsData) {
        self.instances.extend(new.instances);
        self.security_groups.extend(new.security_groups);
        self.network_acls.extend(new.network_acls);
        self.route_tables.extend(new.route_tables);
        self.internet_gateways.extend(new.internet_gateways);
        self.nat_gateways.extend(new.nat_gateways);
        self.subnets.extend(new.subnets);
        self.load_balancers.extend(new.load_balancers);
        self.listeners.extend(new.listeners);
        self.target_groups.extend(new.target_groups);
        self.target_health.extend(new.target_health);
    }

    fn read(&mut self, d: &Doc, doc: &Value) -> R<()> {
        let top = d.obj(doc, "$")?;
        let mut known = 0;
        for key in top.keys() {
            if KEYS.iter().any(|(k, _)| k == key) {
                known += 1;
            } else if !matches!(
                key.as_str(),
                "NextToken" | "ResponseMetadata" | "TargetGroupArn"
            ) {
                return Err(d.err(
                    key,
                    "not a key Kensa reads: expected the output of one of the commands in docs/reachability.md",
                ));
            }
        }
        if known == 0 {
            return Err(d.err(
                "$",
                format!(
                    "no known key: expected one of {}",
                    KEYS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        for (i, r) in d.arr(doc, "Reservations", "$")?.iter().enumerate() {
            let rp = format!("Reservations[{i}]");
            for (j, inst) in d.arr(r, "Instances", &rp)?.iter().enumerate() {
                let p = format!("{rp}.Instances[{j}]");
                let i = read_instance(d, inst, &p)?;
                self.instances.insert(i.id.clone(), i);
            }
        }
        for (i, g) in d.arr(doc, "SecurityGroups", "$")?.iter().enumerate() {
            let g = read_group(d, g, &format!("SecurityGroups[{i}]"))?;
            self.security_groups.insert(g.id.clone(), g);
        }
        for (i, a) in d.arr(doc, "NetworkAcls", "$")?.iter().enumerate() {
            let a = read_acl(d, a, &format!("NetworkAcls[{i}]"))?;
            self.network_acls.insert(a.id.clone(), a);
        }
        for (i, t) in d.arr(doc, "RouteTables", "$")?.iter().enumerate() {
            let t = read_route_table(d, t, &format!("RouteTables[{i}]"))?;
            self.route_tables.insert(t.id.clone(), t);
        }
        for (i, g) in d.arr(doc, "InternetGateways", "$")?.iter().enumerate() {
            let p = format!("InternetGateways[{i}]");
            let id = d.str(g, "InternetGatewayId", &p)?.to_owned();
            let mut vpcs = Vec::new();
            for (k, a) in d.arr(g, "Attachments", &p)?.iter().enumerate() {
                let ap = format!("{p}.Attachments[{k}]");
                let state = d.opt_str(a, "State", &ap)?;
                if matches!(state, Some("available" | "attached")) {
                    vpcs.push(d.str(a, "VpcId", &ap)?.to_owned());
                }
            }
            self.internet_gateways
                .insert(id.clone(), InternetGateway { id, vpcs });
        }
        for (i, n) in d.arr(doc, "NatGateways", "$")?.iter().enumerate() {
            let p = format!("NatGateways[{i}]");
            let id = d.str(n, "NatGatewayId", &p)?.to_owned();
            let gw = NatGateway {
                id: id.clone(),
                subnet_id: d.opt_str(n, "SubnetId", &p)?.map(str::to_owned),
                vpc_id: d.opt_str(n, "VpcId", &p)?.map(str::to_owned),
                public: d.opt_str(n, "ConnectivityType", &p)? != Some("private"),
            };
            self.nat_gateways.insert(id, gw);
        }
        for (i, s) in d.arr(doc, "Subnets", "$")?.iter().enumerate() {
            let p = format!("Subnets[{i}]");
            let id = d.str(s, "SubnetId", &p)?.to_owned();
            let mut cidrs = Vec::new();
            if let Some(c) = d.opt_str(s, "CidrBlock", &p)? {
                cidrs.push(d.cidr(c, &format!("{p}.CidrBlock"))?);
            }
            for (k, a) in d
                .arr(s, "Ipv6CidrBlockAssociationSet", &p)?
                .iter()
                .enumerate()
            {
                let ap = format!("{p}.Ipv6CidrBlockAssociationSet[{k}]");
                if let Some(c) = d.opt_str(a, "Ipv6CidrBlock", &ap)? {
                    cidrs.push(d.cidr(c, &format!("{ap}.Ipv6CidrBlock"))?);
                }
            }
            let vpc_id = d.opt_str(s, "VpcId", &p)?.map(str::to_owned);
            self.subnets
                .insert(id.clone(), Subnet { id, vpc_id, cidrs });
        }
        for (i, lb) in d.arr(doc, "LoadBalancers", "$")?.iter().enumerate() {
            let lb = read_load_balancer(d, lb, &format!("LoadBalancers[{i}]"))?;
            self.load_balancers.insert(lb.arn.clone(), lb);
        }
        for (i, l) in d.arr(doc, "Listeners", "$")?.iter().enumerate() {
            let l = read_listener(d, l, &format!("Listeners[{i}]"))?;
            self.listeners.insert(l.arn.clone(), l);
        }
        let groups_here = d.arr(doc, "TargetGroups", "$")?;
        for (i, t) in groups_here.iter().enumerate() {
            let p = format!("TargetGroups[{i}]");
            let arn = d.str(t, "TargetGroupArn", &p)?.to_owned();
            let tg = TargetGroup {
                arn: arn.clone(),
                name: d
                    .opt_str(t, "TargetGroupName", &p)?
                    .unwrap_or(&arn)
                    .to_owned(),
                port: d.opt_port(t, "Port", &p)?,
                protocol: d.opt_str(t, "Protocol", &p)?.map(str::to_owned),
                target_type: d
                    .opt_str(t, "TargetType", &p)?
                    .unwrap_or("instance")
                    .to_owned(),
                vpc_id: d.opt_str(t, "VpcId", &p)?.map(str::to_owned),
            };
            self.target_groups.insert(arn, tg);
        }
        // describe-target-health does not name the target group it was asked
        // about, so the document must: a top-level `TargetGroupArn` (added
        // with jq, see docs/reachability.md), one on each description, or a
        // document with exactly one target group in it.
        let doc_arn = match top.get("TargetGroupArn") {
            None => None,
            Some(v) => Some(
                v.as_str()
                    .ok_or_else(|| d.err("TargetGroupArn", "expected a string"))?
                    .to_owned(),
            ),
        }
        .or_else(|| match groups_here {
            [only] => only
                .get("TargetGroupArn")
                .and_then(Value::as_str)
                .map(str::to_owned),
            _ => None,
        });
        if let Some(Value::Array(_)) = top.get("TargetHealthDescriptions")
            && let Some(arn) = &doc_arn
        {
            // An empty list still says "this group has no targets".
            self.target_health.entry(arn.clone()).or_default();
        }
        for (i, h) in d
            .arr(doc, "TargetHealthDescriptions", "$")?
            .iter()
            .enumerate()
        {
            let p = format!("TargetHealthDescriptions[{i}]");
            let arn = match d.opt_str(h, "TargetGroupArn", &p)? {
                Some(a) => a.to_owned(),
                None => doc_arn.clone().ok_or_else(|| {
                    d.err(
                        &p,
                        "which target group? describe-target-health does not say: add \
                         \"TargetGroupArn\" at the top of its output (docs/reachability.md)",
                    )
                })?,
            };
            let target = h
                .get("Target")
                .ok_or_else(|| d.err(&format!("{p}.Target"), "missing"))?;
            let tp = format!("{p}.Target");
            let hp = format!("{p}.TargetHealth");
            let t = Target {
                id: d.str(target, "Id", &tp)?.to_owned(),
                port: d.opt_port(target, "Port", &tp)?,
                state: match h.get("TargetHealth") {
                    Some(th) => d.opt_str(th, "State", &hp)?.map(str::to_owned),
                    None => None,
                },
            };
            self.target_health.entry(arn).or_default().push(t);
        }
        Ok(())
    }
}

fn read_instance(d: &Doc, v: &Value, p: &str) -> R<Instance> {
    d.obj(v, p)?;
    let id = d.str(v, "InstanceId", p)?.to_owned();
    let state = match v.get("State") {
        Some(s) => d
            .opt_str(s, "Name", &format!("{p}.State"))?
            .map(str::to_owned),
        None => None,
    };
    let mut interfaces = Vec::new();
    for (i, e) in d.arr(v, "NetworkInterfaces", p)?.iter().enumerate() {
        let ep = format!("{p}.NetworkInterfaces[{i}]");
        let public_ipv4 = match e.get("Association") {
            Some(a) => d.addr(a, "PublicIp", &format!("{ep}.Association"))?,
            None => None,
        };
        let mut ipv6 = Vec::new();
        for (k, a) in d.arr(e, "Ipv6Addresses", &ep)?.iter().enumerate() {
            if let Some(a) = d.addr(a, "Ipv6Address", &format!("{ep}.Ipv6Addresses[{k}]"))? {
                ipv6.push(a);
            }
        }
        interfaces.push(Interface {
            id: d.opt_str(e, "NetworkInterfaceId", &ep)?.map(str::to_owned),
            subnet_id: d.opt_str(e, "SubnetId", &ep)?.map(str::to_owned),
            groups: d.strings(e, "Groups", &ep, Some("GroupId"))?,
            private_ipv4: d.addr(e, "PrivateIpAddress", &ep)?,
            public_ipv4,
            ipv6,
        });
    }
    if interfaces.is_empty() {
        let mut ipv6 = Vec::new();
        if let Some(a) = d.addr(v, "Ipv6Address", p)? {
            ipv6.push(a);
        }
        interfaces.push(Interface {
            id: None,
            subnet_id: d.opt_str(v, "SubnetId", p)?.map(str::to_owned),
            groups: d.strings(v, "SecurityGroups", p, Some("GroupId"))?,
            private_ipv4: d.addr(v, "PrivateIpAddress", p)?,
            public_ipv4: d.addr(v, "PublicIpAddress", p)?,
            ipv6,
        });
    } else if let Some(public) = d.addr(v, "PublicIpAddress", p)?
        && interfaces.iter().all(|i| i.public_ipv4.is_none())
    {
        // The primary interface carries the instance's public address.
        interfaces[0].public_ipv4 = Some(public);
    }
    Ok(Instance {
        name: d.tag(v, "Name", p)?,
        private_dns: d
            .opt_str(v, "PrivateDnsName", p)?
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        vpc_id: d.opt_str(v, "VpcId", p)?.map(str::to_owned),
        state,
        interfaces,
        id,
    })
}

fn read_group(d: &Doc, v: &Value, p: &str) -> R<SecurityGroup> {
    d.obj(v, p)?;
    let id = d.str(v, "GroupId", p)?.to_owned();
    let mut inbound = Vec::new();
    for (i, r) in d.arr(v, "IpPermissions", p)?.iter().enumerate() {
        let rp = format!("{p}.IpPermissions[{i}]");
        let protocol = d.protocol(r, "IpProtocol", &rp)?;
        let ports = match protocol {
            RuleProtocol::Port(_) => {
                let from = d.opt_port(r, "FromPort", &rp)?;
                let to = d.opt_port(r, "ToPort", &rp)?;
                match (from, to) {
                    (Some(f), Some(t)) => PortRange::new(f, t).ok_or_else(|| {
                        d.err(
                            &format!("{rp}.ToPort"),
                            format!("{t} is below FromPort {f}"),
                        )
                    })?,
                    // AWS writes no ports, or -1, for "all ports".
                    _ => PortRange::ALL,
                }
            }
            _ => PortRange::ALL,
        };
        let mut cidrs = Vec::new();
        for (k, c) in d.arr(r, "IpRanges", &rp)?.iter().enumerate() {
            let cp = format!("{rp}.IpRanges[{k}]");
            cidrs.push(d.cidr(d.str(c, "CidrIp", &cp)?, &format!("{cp}.CidrIp"))?);
        }
        for (k, c) in d.arr(r, "Ipv6Ranges", &rp)?.iter().enumerate() {
            let cp = format!("{rp}.Ipv6Ranges[{k}]");
            cidrs.push(d.cidr(d.str(c, "CidrIpv6", &cp)?, &format!("{cp}.CidrIpv6"))?);
        }
        inbound.push(GroupRule {
            protocol,
            ports,
            cidrs,
            groups: d.strings(r, "UserIdGroupPairs", &rp, Some("GroupId"))?,
            prefix_lists: d.strings(r, "PrefixListIds", &rp, Some("PrefixListId"))?,
            index: i,
        });
    }
    Ok(SecurityGroup {
        vpc_id: d.opt_str(v, "VpcId", p)?.map(str::to_owned),
        id,
        inbound,
    })
}

fn read_acl(d: &Doc, v: &Value, p: &str) -> R<NetworkAcl> {
    d.obj(v, p)?;
    let id = d.str(v, "NetworkAclId", p)?.to_owned();
    let mut inbound = Vec::new();
    let mut outbound = Vec::new();
    for (i, e) in d.arr(v, "Entries", p)?.iter().enumerate() {
        let ep = format!("{p}.Entries[{i}]");
        let number = d
            .opt_int(e, "RuleNumber", &ep)?
            .ok_or_else(|| d.err(&format!("{ep}.RuleNumber"), "missing"))?;
        let number = u32::try_from(number).map_err(|_| {
            d.err(
                &format!("{ep}.RuleNumber"),
                format!("{number} out of range"),
            )
        })?;
        let protocol = d.protocol(e, "Protocol", &ep)?;
        let ports = match (protocol, e.get("PortRange")) {
            (RuleProtocol::Port(_), Some(r)) => {
                let rp = format!("{ep}.PortRange");
                let from = d.opt_port(r, "From", &rp)?.unwrap_or(0);
                let to = d.opt_port(r, "To", &rp)?.unwrap_or(65535);
                Some(PortRange::new(from, to).ok_or_else(|| {
                    d.err(&format!("{rp}.To"), format!("{to} is below From {from}"))
                })?)
            }
            _ => None,
        };
        let cidr = match (
            d.opt_str(e, "CidrBlock", &ep)?,
            d.opt_str(e, "Ipv6CidrBlock", &ep)?,
        ) {
            (Some(c), _) => d.cidr(c, &format!("{ep}.CidrBlock"))?,
            (None, Some(c)) => d.cidr(c, &format!("{ep}.Ipv6CidrBlock"))?,
            (None, None) => return Err(d.err(&ep, "neither CidrBlock nor Ipv6CidrBlock")),
        };
        let allow = match d.str(e, "RuleAction", &ep)? {
            "allow" => true,
            "deny" => false,
            other => {
                return Err(d.err(
                    &format!("{ep}.RuleAction"),
                    format!("{other:?}: expected allow or deny"),
                ));
            }
        };
        let egress = d
            .opt_bool(e, "Egress", &ep)?
            .ok_or_else(|| d.err(&format!("{ep}.Egress"), "missing"))?;
        let entry = AclEntry {
            number,
            protocol,
            ports,
            cidr,
            allow,
        };
        if egress {
            outbound.push(entry);
        } else {
            inbound.push(entry);
        }
    }
    inbound.sort_by_key(|e| e.number);
    outbound.sort_by_key(|e| e.number);
    let mut subnets = Vec::new();
    for (i, a) in d.arr(v, "Associations", p)?.iter().enumerate() {
        if let Some(s) = d.opt_str(a, "SubnetId", &format!("{p}.Associations[{i}]"))? {
            subnets.push(s.to_owned());
        }
    }
    Ok(NetworkAcl {
        vpc_id: d.opt_str(v, "VpcId", p)?.map(str::to_owned),
        is_default: d.opt_bool(v, "IsDefault", p)?.unwrap_or(false),
        id,
        subnets,
        inbound,
        outbound,
    })
}

fn read_route_table(d: &Doc, v: &Value, p: &str) -> R<RouteTable> {
    d.obj(v, p)?;
    let id = d.str(v, "RouteTableId", p)?.to_owned();
    let mut main = false;
    let mut subnets = Vec::new();
    for (i, a) in d.arr(v, "Associations", p)?.iter().enumerate() {
        let ap = format!("{p}.Associations[{i}]");
        if d.opt_bool(a, "Main", &ap)? == Some(true) {
            main = true;
        }
        if let Some(s) = d.opt_str(a, "SubnetId", &ap)? {
            subnets.push(s.to_owned());
        }
    }
    let mut routes = Vec::new();
    for (i, r) in d.arr(v, "Routes", p)?.iter().enumerate() {
        let rp = format!("{p}.Routes[{i}]");
        let destination = match (
            d.opt_str(r, "DestinationCidrBlock", &rp)?,
            d.opt_str(r, "DestinationIpv6CidrBlock", &rp)?,
        ) {
            (Some(c), _) => d.cidr(c, &format!("{rp}.DestinationCidrBlock"))?,
            (None, Some(c)) => d.cidr(c, &format!("{rp}.DestinationIpv6CidrBlock"))?,
            // A route to a prefix list: its addresses are not in these documents.
            (None, None) => continue,
        };
        let target = [
            "GatewayId",
            "NatGatewayId",
            "EgressOnlyInternetGatewayId",
            "TransitGatewayId",
            "VpcPeeringConnectionId",
            "NetworkInterfaceId",
            "InstanceId",
            "LocalGatewayId",
            "CarrierGatewayId",
            "CoreNetworkArn",
        ]
        .iter()
        .find_map(|k| r.get(*k).and_then(Value::as_str))
        .ok_or_else(|| d.err(&rp, "no target (GatewayId, NatGatewayId, ...)"))?
        .to_owned();
        routes.push(Route {
            destination,
            target,
            active: d.opt_str(r, "State", &rp)? != Some("blackhole"),
        });
    }
    Ok(RouteTable {
        vpc_id: d.opt_str(v, "VpcId", p)?.map(str::to_owned),
        id,
        main,
        subnets,
        routes,
    })
}

fn read_load_balancer(d: &Doc, v: &Value, p: &str) -> R<LoadBalancer> {
    d.obj(v, p)?;
    let arn = d.str(v, "LoadBalancerArn", p)?.to_owned();
    let scheme = d.str(v, "Scheme", p)?;
    let internet_facing = match scheme {
        "internet-facing" => true,
        "internal" => false,
        other => {
            return Err(d.err(
                &format!("{p}.Scheme"),
                format!("{other:?}: expected internet-facing or internal"),
            ));
        }
    };
    let active = match v.get("State") {
        Some(s) => d
            .opt_str(s, "Code", &format!("{p}.State"))?
            .is_none_or(|c| c == "active"),
        None => true,
    };
    let families = match d.opt_str(v, "IpAddressType", p)? {
        None | Some("ipv4") => vec![Family::Ipv4],
        Some("dualstack") => vec![Family::Ipv4, Family::Ipv6],
        Some("dualstack-without-public-ipv4") => vec![Family::Ipv6],
        Some(other) => {
            return Err(d.err(
                &format!("{p}.IpAddressType"),
                format!("unknown address type {other:?}"),
            ));
        }
    };
    Ok(LoadBalancer {
        name: d
            .opt_str(v, "LoadBalancerName", p)?
            .unwrap_or(&arn)
            .to_owned(),
        kind: d.opt_str(v, "Type", p)?.unwrap_or("application").to_owned(),
        vpc_id: d.opt_str(v, "VpcId", p)?.map(str::to_owned),
        subnets: d.strings(v, "AvailabilityZones", p, Some("SubnetId"))?,
        security_groups: match v.get("SecurityGroups") {
            None | Some(Value::Null) => None,
            Some(_) => Some(d.strings(v, "SecurityGroups", p, None)?).filter(|g| !g.is_empty()),
        },
        arn,
        internet_facing,
        active,
        families,
    })
}

fn read_listener(d: &Doc, v: &Value, p: &str) -> R<LbListener> {
    d.obj(v, p)?;
    let mut target_groups = Vec::new();
    for (i, a) in d.arr(v, "DefaultActions", p)?.iter().enumerate() {
        let ap = format!("{p}.DefaultActions[{i}]");
        if d.str(a, "Type", &ap)? != "forward" {
            continue;
        }
        if let Some(t) = d.opt_str(a, "TargetGroupArn", &ap)? {
            target_groups.push(t.to_owned());
        }
        if let Some(fc) = a.get("ForwardConfig") {
            for t in d.strings(
                fc,
                "TargetGroups",
                &format!("{ap}.ForwardConfig"),
                Some("TargetGroupArn"),
            )? {
                if !target_groups.contains(&t) {
                    target_groups.push(t);
                }
            }
        }
    }
    Ok(LbListener {
        arn: d.str(v, "ListenerArn", p)?.to_owned(),
        load_balancer: d.str(v, "LoadBalancerArn", p)?.to_owned(),
        port: d
            .opt_port(v, "Port", p)?
            .ok_or_else(|| d.err(&format!("{p}.Port"), "missing"))?,
        protocol: d.str(v, "Protocol", p)?.to_owned(),
        target_groups,
    })
}
