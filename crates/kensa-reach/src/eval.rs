//! The computation: per asset, protocol and port range, whether the
//! internet reaches it, through what, or which piece of data is missing to
//! say.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use serde::Serialize;

use crate::aws::{
    AclEntry, AwsData, Instance, Interface, LoadBalancer, NetworkAcl, RouteTable, Target,
    lb_protocols,
};
use crate::net::{Cidr, Family, PortRange, Protocol};
use crate::rules::RulesFile;

/// What the caller knows about one asset.
#[derive(Debug, Clone, PartialEq)]
pub struct Asset {
    /// The caller's key, echoed in the result (and matched by rules files).
    pub name: String,
    /// The EC2 instance id, to find it in the AWS data.
    pub instance_id: Option<String>,
    /// Tags, matched by `tag:` targets of rules files.
    pub tags: Vec<String>,
    /// The sockets the agent or a scan saw; `None` when never collected.
    pub listeners: Option<Vec<Listener>>,
}

/// A listening socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listener {
    pub protocol: Protocol,
    pub address: IpAddr,
    pub port: u16,
    pub process: Option<String>,
}

impl Listener {
    /// Bound to something other than loopback: `0.0.0.0`, `::` or an
    /// interface address, which traffic from outside the host can reach.
    pub fn beyond_loopback(&self) -> bool {
        !self.address.is_loopback()
    }
}

/// The network data: AWS documents and rules files.
#[derive(Debug, Default, Clone)]
pub struct Network {
    pub aws: AwsData,
    pub rules: Vec<RulesFile>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssetReachability {
    pub asset: String,
    /// Ordered by protocol, then port. Ranges not listed are not reachable
    /// and have no listener.
    pub ports: Vec<PortReachability>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PortReachability {
    pub protocol: Protocol,
    pub ports: PortRange,
    pub verdict: Verdict,
    pub service: Service,
}

impl PortReachability {
    pub fn exposure(&self) -> Exposure {
        match (&self.verdict, &self.service) {
            (Verdict::Reachable { .. }, Service::Listening { .. }) => Exposure::Exposed,
            (Verdict::Reachable { .. }, Service::NothingListens | Service::LoopbackOnly { .. }) => {
                Exposure::OpenNothingListens
            }
            (Verdict::Reachable { .. }, Service::NotCollected) => {
                Exposure::ReachableListenersUnknown
            }
            (Verdict::Unknown { .. }, _) => Exposure::Unknown,
            (Verdict::NotReachable { .. }, _) => Exposure::NotExposed,
        }
    }
}

/// Whether the internet reaches a port.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Every path found (at least one).
    Reachable { via: Vec<Path> },
    /// Every way in was looked at and each is closed, with why.
    NotReachable { why: Vec<String> },
    /// No open path was found and at least one could not be decided for
    /// lack of data: what is missing.
    Unknown { missing: Vec<Missing> },
}

/// Who, if anyone, answers on a port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "service", rename_all = "snake_case")]
pub enum Service {
    Listening {
        listeners: Vec<Listener>,
    },
    /// Only loopback listeners: the network does not reach them.
    LoopbackOnly {
        listeners: Vec<Listener>,
    },
    NothingListens,
    /// The asset's sockets were never collected.
    NotCollected,
}

/// The verdict and the service together, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exposure {
    /// Reachable, and a process listens beyond loopback.
    Exposed,
    /// Reachable, listeners unknown.
    ReachableListenersUnknown,
    /// Reachable, nothing listens (or only on loopback): a lower finding.
    OpenNothingListens,
    Unknown,
    NotExposed,
}

/// A way in, from the internet to the asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Path(pub Vec<Hop>);

impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|h| h.to_string()).collect();
        f.write_str(&parts.join(" → "))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "hop", rename_all = "snake_case")]
pub enum Hop {
    InternetGateway {
        id: String,
    },
    PublicAddress {
        address: IpAddr,
    },
    Route {
        table: String,
        destination: Cidr,
    },
    NetworkAcl {
        id: String,
        inbound_rule: u32,
        outbound_rule: u32,
    },
    SecurityGroup {
        id: String,
        rule: usize,
        source: String,
    },
    LoadBalancer {
        name: String,
        port: u16,
        protocol: String,
    },
    TargetGroup {
        name: String,
        port: u16,
        health: Option<String>,
    },
    RulesFile {
        file: String,
        line: usize,
    },
}

impl std::fmt::Display for Hop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Hop::InternetGateway { id } => write!(f, "{id}"),
            Hop::PublicAddress { address } => write!(f, "{address}"),
            Hop::Route { table, destination } => write!(f, "{table} ({destination})"),
            Hop::NetworkAcl {
                id,
                inbound_rule,
                outbound_rule,
            } => {
                write!(f, "{id} (in #{inbound_rule}, out #{outbound_rule})")
            }
            Hop::SecurityGroup { id, rule, source } => {
                write!(f, "{id} (IpPermissions[{rule}] from {source})")
            }
            Hop::LoadBalancer {
                name,
                port,
                protocol,
            } => write!(f, "load balancer {name} {protocol}:{port}"),
            Hop::TargetGroup { name, port, health } => match health {
                Some(h) => write!(f, "target group {name} port {port} ({h})"),
                None => write!(f, "target group {name} port {port}"),
            },
            Hop::RulesFile { file, line } => write!(f, "{file} line {line}"),
        }
    }
}

/// A piece of data whose absence stops a verdict, named with what to import.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "missing", content = "id", rename_all = "snake_case")]
pub enum Missing {
    /// No network data mentions the asset (no instance id, no rules file).
    NetworkData,
    /// The instance id is not in `describe-instances`.
    Instance(String),
    /// The instance (or its interface) has no subnet.
    Subnet(String),
    /// An interface lists no security group.
    InterfaceGroups(String),
    /// The addresses of an instance with neither IPv4 nor IPv6 addresses.
    Addresses(String),
    SecurityGroup(String),
    PrefixList(String),
    /// No route table for this subnet (nor a main one for its VPC).
    RouteTable(String),
    /// No network ACL for this subnet (nor a default one for its VPC).
    NetworkAcl(String),
    InternetGateway(String),
    /// A route to a transit gateway, peering, appliance, ...: where the
    /// traffic goes next is not in the data.
    RouteTarget(String),
    TargetGroup(String),
    /// `describe-target-health` of this target group.
    TargetHealth(String),
    /// The address block of the load balancer's subnet (`describe-subnets`)
    /// or its VPC (the route table's local route).
    SubnetCidr(String),
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Missing::NetworkData => write!(f, "no network data names this asset"),
            Missing::Instance(i) => write!(f, "instance {i} (aws ec2 describe-instances)"),
            Missing::Subnet(i) => write!(f, "the subnet of {i}"),
            Missing::InterfaceGroups(i) => write!(f, "the security groups of {i}"),
            Missing::Addresses(i) => write!(f, "the addresses of {i}"),
            Missing::SecurityGroup(g) => {
                write!(f, "security group {g} (aws ec2 describe-security-groups)")
            }
            Missing::PrefixList(p) => write!(f, "prefix list {p} (its entries are not imported)"),
            Missing::RouteTable(s) => {
                write!(f, "the route table of {s} (aws ec2 describe-route-tables)")
            }
            Missing::NetworkAcl(s) => {
                write!(f, "the network ACL of {s} (aws ec2 describe-network-acls)")
            }
            Missing::InternetGateway(g) => write!(
                f,
                "internet gateway {g} (aws ec2 describe-internet-gateways)"
            ),
            Missing::RouteTarget(t) => write!(f, "where traffic through {t} goes (not modelled)"),
            Missing::TargetGroup(t) => {
                write!(f, "target group {t} (aws elbv2 describe-target-groups)")
            }
            Missing::TargetHealth(t) => {
                write!(f, "the targets of {t} (aws elbv2 describe-target-health)")
            }
            Missing::SubnetCidr(s) => {
                write!(f, "the address block of {s} (aws ec2 describe-subnets)")
            }
        }
    }
}

/// One hop or a whole path: open, closed (why), or undecided (what is missing).
#[derive(Debug, Clone)]
enum Outcome {
    Open(Vec<Hop>),
    Closed(String),
    Undecided(Vec<Missing>),
}

/// Every part must be open; a closed part closes the path even when others
/// are undecided (a definite block needs no more data).
fn all(parts: impl IntoIterator<Item = Outcome>) -> Outcome {
    let mut hops = Vec::new();
    let mut missing = Vec::new();
    for p in parts {
        match p {
            Outcome::Open(h) => hops.extend(h),
            Outcome::Closed(why) => return Outcome::Closed(why),
            Outcome::Undecided(m) => missing.extend(m),
        }
    }
    if missing.is_empty() {
        Outcome::Open(hops)
    } else {
        Outcome::Undecided(missing)
    }
}

/// The first open alternative, else undecided if any is, else closed.
fn any(alts: impl IntoIterator<Item = Outcome>) -> Outcome {
    let mut why = Vec::new();
    let mut missing = Vec::new();
    for a in alts {
        match a {
            Outcome::Open(h) => return Outcome::Open(h),
            Outcome::Closed(w) => why.push(w),
            Outcome::Undecided(m) => missing.extend(m),
        }
    }
    if !missing.is_empty() {
        Outcome::Undecided(missing)
    } else {
        Outcome::Closed(why.join("; "))
    }
}

/// Where traffic comes from, as rules see it.
#[derive(Clone, Copy)]
enum Source<'a> {
    /// Anyone on the internet: rules for `0.0.0.0/0` / `::/0` only.
    Internet(Family),
    /// A load balancer: its security groups, or its subnets' blocks.
    Balancer {
        groups: &'a [String],
        cidrs: &'a [Cidr],
    },
}

/// Lookups built once per evaluation.
struct Index<'a> {
    aws: &'a AwsData,
    table_of_subnet: HashMap<&'a str, &'a RouteTable>,
    main_table: HashMap<&'a str, &'a RouteTable>,
    acl_of_subnet: HashMap<&'a str, &'a NetworkAcl>,
    default_acl: HashMap<&'a str, &'a NetworkAcl>,
    vpc_cidrs: HashMap<&'a str, Vec<Cidr>>,
    /// Instance id → the load balancer paths that end at it.
    lb_targets: HashMap<&'a str, Vec<LbPath<'a>>>,
    /// VPC → paths whose targets are unknown (missing data).
    lb_unknown: HashMap<&'a str, Vec<(LbPath<'a>, Missing)>>,
}

#[derive(Clone)]
struct LbPath<'a> {
    lb: &'a LoadBalancer,
    port: u16,
    protocol: &'a str,
    tg_name: &'a str,
    /// The port on the instance, when known.
    target_port: Option<u16>,
    health: Option<&'a str>,
    lb_cidrs: Vec<Cidr>,
}

impl<'a> Index<'a> {
    fn new(aws: &'a AwsData) -> Index<'a> {
        let mut ix = Index {
            aws,
            table_of_subnet: HashMap::new(),
            main_table: HashMap::new(),
            acl_of_subnet: HashMap::new(),
            default_acl: HashMap::new(),
            vpc_cidrs: HashMap::new(),
            lb_targets: HashMap::new(),
            lb_unknown: HashMap::new(),
        };
        for t in aws.route_tables.values() {
            for s in &t.subnets {
                ix.table_of_subnet.insert(s, t);
            }
            if let Some(vpc) = &t.vpc_id {
                if t.main {
                    ix.main_table.insert(vpc, t);
                }
                for r in t.routes.iter().filter(|r| r.target == "local") {
                    let v = ix.vpc_cidrs.entry(vpc.as_str()).or_default();
                    if !v.contains(&r.destination) {
                        v.push(r.destination);
                    }
                }
            }
        }
        for a in aws.network_acls.values() {
            for s in &a.subnets {
                ix.acl_of_subnet.insert(s, a);
            }
            if let (true, Some(vpc)) = (a.is_default, &a.vpc_id) {
                ix.default_acl.insert(vpc, a);
            }
        }
        let mut listeners: Vec<_> = aws.listeners.values().collect();
        listeners.sort_by(|a, b| (&a.load_balancer, a.port).cmp(&(&b.load_balancer, b.port)));
        for l in listeners {
            let Some(lb) = aws.load_balancers.get(&l.load_balancer) else {
                continue;
            };
            if !lb.internet_facing {
                continue;
            }
            let lb_cidrs: Vec<Cidr> = lb
                .subnets
                .iter()
                .filter_map(|s| aws.subnets.get(s))
                .flat_map(|s| s.cidrs.iter().copied())
                .collect();
            for arn in &l.target_groups {
                let base = LbPath {
                    lb,
                    port: l.port,
                    protocol: &l.protocol,
                    tg_name: arn,
                    target_port: None,
                    health: None,
                    lb_cidrs: lb_cidrs.clone(),
                };
                let vpc = lb.vpc_id.as_deref().unwrap_or("");
                let Some(tg) = aws.target_groups.get(arn) else {
                    ix.lb_unknown
                        .entry(vpc)
                        .or_default()
                        .push((base, Missing::TargetGroup(arn.clone())));
                    continue;
                };
                if tg.target_type != "instance" {
                    continue;
                }
                let base = LbPath {
                    tg_name: &tg.name,
                    target_port: tg.port,
                    ..base
                };
                let Some(targets) = aws.target_health.get(arn) else {
                    ix.lb_unknown
                        .entry(tg.vpc_id.as_deref().unwrap_or(vpc))
                        .or_default()
                        .push((base, Missing::TargetHealth(arn.clone())));
                    continue;
                };
                for Target { id, port, state } in targets {
                    ix.lb_targets.entry(id).or_default().push(LbPath {
                        target_port: port.or(tg.port),
                        health: state.as_deref(),
                        ..base.clone()
                    });
                }
            }
        }
        ix
    }

    fn route(&self, subnet: &str, vpc: Option<&str>, family: Family) -> Outcome {
        let table = self
            .table_of_subnet
            .get(subnet)
            .or_else(|| vpc.and_then(|v| self.main_table.get(v)));
        let Some(table) = table else {
            return Outcome::Undecided(vec![Missing::RouteTable(subnet.to_owned())]);
        };
        let Some(route) = table
            .routes
            .iter()
            .find(|r| r.destination.family() == family && r.destination.is_any())
        else {
            return Outcome::Closed(format!("{}: no route for {}", table.id, family.any()));
        };
        let hop = Hop::Route {
            table: table.id.clone(),
            destination: route.destination,
        };
        if !route.active {
            return Outcome::Closed(format!(
                "{}: the route for {} is a blackhole",
                table.id,
                family.any()
            ));
        }
        let t = route.target.as_str();
        if t.starts_with("igw-") {
            let Some(igw) = self.aws.internet_gateways.get(t) else {
                return Outcome::Undecided(vec![Missing::InternetGateway(t.to_owned())]);
            };
            let vpc = vpc.or(table.vpc_id.as_deref());
            if vpc.is_some_and(|v| !igw.vpcs.iter().any(|x| x == v)) {
                return Outcome::Closed(format!("{t} is not attached to {}", vpc.unwrap_or("")));
            }
            Outcome::Open(vec![Hop::InternetGateway { id: t.to_owned() }, hop])
        } else if t.starts_with("nat-") || t.starts_with("eigw-") {
            Outcome::Closed(format!(
                "{}: the route for {} goes to {t}, which carries only connections started from inside",
                table.id,
                family.any()
            ))
        } else {
            Outcome::Undecided(vec![Missing::RouteTarget(t.to_owned())])
        }
    }

    fn acl(
        &self,
        subnet: &str,
        vpc: Option<&str>,
        sources: &[Source],
        p: Protocol,
        port: u16,
    ) -> Outcome {
        let acl = self
            .acl_of_subnet
            .get(subnet)
            .or_else(|| vpc.and_then(|v| self.default_acl.get(v)));
        let Some(acl) = acl else {
            return Outcome::Undecided(vec![Missing::NetworkAcl(subnet.to_owned())]);
        };
        any(sources.iter().flat_map(|s| source_cidrs(*s)).map(|src| {
            let matches = |e: &AclEntry| {
                e.cidr.family() == src.family()
                    && (e.cidr.is_any() || (!src.is_any() && e.cidr.contains(src)))
                    && e.protocol.matches(p)
            };
            // Inbound: the first entry, by rule number, that matches decides;
            // none matching is the implicit deny (`*`).
            let inbound = acl
                .inbound
                .iter()
                .find(|e| matches(e) && e.ports.is_none_or(|r| r.contains(port)));
            let inbound = match inbound {
                Some(e) if e.allow => e.number,
                Some(e) => {
                    return Outcome::Closed(format!(
                        "{} inbound rule #{} denies {port}/{p} from {src}",
                        acl.id, e.number
                    ));
                }
                None => {
                    return Outcome::Closed(format!(
                        "{}: no inbound rule allows {port}/{p} from {src} (implicit deny)",
                        acl.id
                    ));
                }
            };
            // Outbound: the answers go to the client's ephemeral port; open
            // if the first matching entry of any port in 1024-65535 allows.
            let mut uncovered = vec![PortRange::EPHEMERAL];
            let mut outbound = None;
            for e in acl.outbound.iter().filter(|e| matches(e)) {
                let r = e.ports.unwrap_or(PortRange::ALL);
                if e.allow && uncovered.iter().any(|u| u.overlaps(r)) {
                    outbound = Some(e.number);
                    break;
                }
                uncovered = uncovered.into_iter().flat_map(|u| subtract(u, r)).collect();
                if uncovered.is_empty() {
                    break;
                }
            }
            match outbound {
                Some(n) => Outcome::Open(vec![Hop::NetworkAcl {
                    id: acl.id.clone(),
                    inbound_rule: inbound,
                    outbound_rule: n,
                }]),
                None => Outcome::Closed(format!(
                    "{}: no outbound rule allows the answers to {src} on ports 1024-65535",
                    acl.id
                )),
            }
        }))
    }

    fn groups(
        &self,
        who: &str,
        groups: &[String],
        source: Source,
        p: Protocol,
        port: u16,
    ) -> Outcome {
        if groups.is_empty() {
            return Outcome::Undecided(vec![Missing::InterfaceGroups(who.to_owned())]);
        }
        let mut missing = Vec::new();
        for gid in groups {
            let Some(g) = self.aws.security_groups.get(gid) else {
                missing.push(Missing::SecurityGroup(gid.clone()));
                continue;
            };
            for r in &g.inbound {
                if !r.protocol.matches(p) || !r.ports.contains(port) {
                    continue;
                }
                let from = match source {
                    Source::Internet(f) => r
                        .cidrs
                        .iter()
                        .find(|c| c.family() == f && c.is_any())
                        .map(|c| c.to_string()),
                    Source::Balancer { groups, cidrs } => r
                        .groups
                        .iter()
                        .find(|x| groups.contains(x))
                        .cloned()
                        .or_else(|| {
                            r.cidrs
                                .iter()
                                .find(|c| c.is_any() || cidrs.iter().any(|s| c.contains(*s)))
                                .map(|c| c.to_string())
                        }),
                };
                if let Some(source) = from {
                    return Outcome::Open(vec![Hop::SecurityGroup {
                        id: gid.clone(),
                        rule: r.index,
                        source,
                    }]);
                }
                missing.extend(
                    r.prefix_lists
                        .iter()
                        .map(|p| Missing::PrefixList(p.clone())),
                );
            }
        }
        if !missing.is_empty() {
            // A group that is not imported could hold the allowing rule.
            return Outcome::Undecided(missing);
        }
        let from = match source {
            Source::Internet(f) => f.any().to_owned(),
            Source::Balancer { .. } => "the load balancer".to_owned(),
        };
        Outcome::Closed(format!(
            "no inbound rule of {} allows {port}/{p} from {from}",
            groups.join(", ")
        ))
    }

    fn direct(&self, inst: &Instance, e: &Interface, p: Protocol, port: u16) -> Outcome {
        let Some(subnet) = e.subnet_id.as_deref() else {
            return Outcome::Undecided(vec![Missing::Subnet(inst.id.clone())]);
        };
        let vpc = inst.vpc_id.as_deref();
        if e.public_ipv4.is_none() && e.ipv6.is_empty() && e.private_ipv4.is_none() {
            return Outcome::Undecided(vec![Missing::Addresses(inst.id.clone())]);
        }
        let mut alts = Vec::new();
        for (family, addr) in [
            (Family::Ipv4, e.public_ipv4),
            (Family::Ipv6, e.ipv6.first().copied()),
        ] {
            let Some(addr) = addr else {
                alts.push(Outcome::Closed(match family {
                    Family::Ipv4 => format!("{}: no public IPv4 address", inst.id),
                    Family::Ipv6 => format!("{}: no IPv6 address", inst.id),
                }));
                continue;
            };
            let src = [Source::Internet(family)];
            alts.push(all([
                self.route(subnet, vpc, family),
                Outcome::Open(vec![Hop::PublicAddress { address: addr }]),
                self.acl(subnet, vpc, &src, p, port),
                self.groups(&inst.id, &e.groups, src[0], p, port),
            ]));
        }
        any(alts)
    }

    fn through_lb(
        &self,
        inst: &Instance,
        e: &Interface,
        lp: &LbPath,
        p: Protocol,
        port: u16,
    ) -> Option<Outcome> {
        if lp.target_port.is_some_and(|t| t != port) || !lb_protocols(lp.protocol).contains(&p) {
            return None;
        }
        let lb = lp.lb;
        if !lb.active {
            return Some(Outcome::Closed(format!(
                "load balancer {} is not active",
                lb.name
            )));
        }
        let lb_vpc = lb.vpc_id.as_deref();
        let front = any(lb.families.iter().map(|&f| {
            let src = [Source::Internet(f)];
            all([
                match &lb.security_groups {
                    Some(g) => self.groups(&lb.name, g, src[0], p, lp.port),
                    None => Outcome::Open(vec![]),
                },
                any(lb.subnets.iter().map(|s| {
                    all([
                        self.route(s, lb_vpc, f),
                        self.acl(s, lb_vpc, &src, p, lp.port),
                    ])
                })),
            ])
        }));
        let Some(subnet) = e.subnet_id.as_deref() else {
            return Some(Outcome::Undecided(vec![Missing::Subnet(inst.id.clone())]));
        };
        let vpc_cidrs: &[Cidr] = self
            .vpc_cidrs
            .get(lb_vpc.or(inst.vpc_id.as_deref()).unwrap_or(""))
            .map_or(&[], Vec::as_slice);
        let lb_cidrs: &[Cidr] = if lp.lb_cidrs.is_empty() {
            vpc_cidrs
        } else {
            &lp.lb_cidrs
        };
        let lb_groups: &[String] = lb.security_groups.as_deref().unwrap_or(&[]);
        let back_source = match lb.security_groups {
            Some(_) => vec![Source::Balancer {
                groups: lb_groups,
                cidrs: lb_cidrs,
            }],
            // Without security groups a network load balancer keeps the
            // client's address: the instance sees the internet.
            None => lb.families.iter().map(|f| Source::Internet(*f)).collect(),
        };
        let back_acl = if lb.subnets.iter().any(|s| s == subnet) {
            // The same subnet: no network ACL is crossed.
            Outcome::Open(vec![])
        } else if back_source
            .iter()
            .all(|s| matches!(s, Source::Balancer { cidrs: [], .. }))
        {
            Outcome::Undecided(
                lb.subnets
                    .iter()
                    .map(|s| Missing::SubnetCidr(s.clone()))
                    .collect(),
            )
        } else {
            self.acl(subnet, inst.vpc_id.as_deref(), &back_source, p, port)
        };
        let back_groups = any(back_source
            .iter()
            .map(|s| self.groups(&inst.id, &e.groups, *s, p, port)));
        Some(all([
            Outcome::Open(vec![Hop::LoadBalancer {
                name: lb.name.clone(),
                port: lp.port,
                protocol: lp.protocol.to_owned(),
            }]),
            front,
            Outcome::Open(vec![Hop::TargetGroup {
                name: lp.tg_name.to_owned(),
                port,
                health: lp.health.map(str::to_owned),
            }]),
            back_acl,
            back_groups,
        ]))
    }
}

fn source_cidrs(s: Source) -> Vec<Cidr> {
    match s {
        Source::Internet(f) => vec![f.any().parse().unwrap_or_else(|_| unreachable!("constant"))],
        Source::Balancer { cidrs, .. } => cidrs.to_vec(),
    }
}

fn subtract(a: PortRange, b: PortRange) -> Vec<PortRange> {
    if !a.overlaps(b) {
        return vec![a];
    }
    let mut out = Vec::new();
    if a.from() < b.from() {
        out.extend(PortRange::new(a.from(), b.from() - 1));
    }
    if b.to() < a.to() {
        out.extend(PortRange::new(b.to() + 1, a.to()));
    }
    out
}

impl Network {
    pub fn new(aws: AwsData, rules: Vec<RulesFile>) -> Network {
        Network { aws, rules }
    }

    /// Reachability of every given asset, in the order given.
    pub fn evaluate(&self, assets: &[Asset]) -> Vec<AssetReachability> {
        let ix = Index::new(&self.aws);
        assets.iter().map(|a| self.evaluate_one(&ix, a)).collect()
    }

    fn evaluate_one(&self, ix: &Index, asset: &Asset) -> AssetReachability {
        let inst = asset
            .instance_id
            .as_deref()
            .map(|id| (id, self.aws.instances.get(id)));
        let rules: Vec<_> = self
            .rules
            .iter()
            .flat_map(|f| f.rules.iter().map(move |r| (f, r)))
            .filter(|(_, r)| r.applies_to(&asset.name, &asset.tags))
            .collect();
        let covered = self
            .rules
            .iter()
            .any(|f| f.covers(&asset.name, &asset.tags));
        let mut out = Vec::new();
        for p in Protocol::ALL {
            // Port boundaries where any rule's answer can change: within a
            // segment every rule either covers all of it or none of it, so
            // one port decides the segment.
            let mut cuts = BTreeSet::from([0u32]);
            let mut cut = |r: PortRange| {
                cuts.insert(u32::from(r.from()));
                cuts.insert(u32::from(r.to()) + 1);
            };
            for l in asset.listeners.iter().flatten().filter(|l| l.protocol == p) {
                cut(PortRange::single(l.port));
            }
            for (_, r) in &rules {
                cut(r.ports);
            }
            let lb_paths: &[LbPath] = asset
                .instance_id
                .as_deref()
                .and_then(|id| ix.lb_targets.get(id))
                .map_or(&[], Vec::as_slice);
            let mut unknown_lb: Vec<&(LbPath, Missing)> = Vec::new();
            if let Some((_, Some(i))) = inst {
                for lp in lb_paths {
                    if let Some(t) = lp.target_port {
                        cut(PortRange::single(t));
                    }
                }
                if let Some(u) = i.vpc_id.as_deref().and_then(|v| ix.lb_unknown.get(v)) {
                    for x in u {
                        if let Some(t) = x.0.target_port {
                            cut(PortRange::single(t));
                        }
                        unknown_lb.push(x);
                    }
                }
                for e in &i.interfaces {
                    for g in e
                        .groups
                        .iter()
                        .filter_map(|g| self.aws.security_groups.get(g))
                    {
                        for r in g.inbound.iter().filter(|r| r.protocol.matches(p)) {
                            cut(r.ports);
                        }
                    }
                    let acl = e.subnet_id.as_deref().and_then(|s| {
                        ix.acl_of_subnet
                            .get(s)
                            .or_else(|| i.vpc_id.as_deref().and_then(|v| ix.default_acl.get(v)))
                    });
                    for en in acl.iter().flat_map(|a| a.inbound.iter()) {
                        if let Some(r) = en.ports {
                            cut(r);
                        }
                    }
                }
            }
            let cuts: Vec<u32> = cuts.into_iter().filter(|c| *c <= 65535).collect();
            for (k, &start) in cuts.iter().enumerate() {
                let end = cuts.get(k + 1).map_or(65535, |n| n - 1);
                let (Ok(start), Ok(end)) = (u16::try_from(start), u16::try_from(end)) else {
                    continue;
                };
                let Some(range) = PortRange::new(start, end) else {
                    continue;
                };
                let port = start;
                let mut alts = Vec::new();
                match inst {
                    Some((_, Some(i))) => {
                        if let Some(s) = i
                            .state
                            .as_deref()
                            .filter(|s| !matches!(*s, "running" | "pending"))
                        {
                            alts.push(Outcome::Closed(format!("{} is {s}", i.id)));
                        } else {
                            for e in &i.interfaces {
                                alts.push(ix.direct(i, e, p, port));
                                for lp in lb_paths {
                                    alts.extend(ix.through_lb(i, e, lp, p, port));
                                }
                                for (lp, m) in &unknown_lb {
                                    if ix.through_lb(i, e, lp, p, port).is_some() {
                                        alts.push(Outcome::Undecided(vec![m.clone()]));
                                    }
                                }
                            }
                        }
                    }
                    Some((id, None)) if !covered => {
                        alts.push(Outcome::Undecided(vec![Missing::Instance(id.to_owned())]))
                    }
                    _ => {}
                }
                if covered {
                    alts.push(
                        rules
                            .iter()
                            .find(|(_, r)| r.source.is_any() && r.allows(p, port))
                            .map(|(f, r)| {
                                Outcome::Open(vec![Hop::RulesFile {
                                    file: f.source_name.clone(),
                                    line: r.line,
                                }])
                            })
                            .unwrap_or_else(|| {
                                Outcome::Closed(format!(
                                    "no rule lets {port}/{p} in from the internet"
                                ))
                            }),
                    );
                }
                if alts.is_empty() {
                    alts.push(Outcome::Undecided(vec![Missing::NetworkData]));
                }
                let verdict = verdict(alts);
                let service = service(asset, p, range);
                if matches!(verdict, Verdict::NotReachable { .. })
                    && !matches!(
                        service,
                        Service::Listening { .. } | Service::LoopbackOnly { .. }
                    )
                {
                    continue;
                }
                let row = PortReachability {
                    protocol: p,
                    ports: range,
                    verdict,
                    service,
                };
                match out.last_mut() {
                    Some(PortReachability {
                        protocol,
                        ports,
                        verdict,
                        service,
                    }) if *protocol == p
                        && ports.to().checked_add(1) == Some(start)
                        && *verdict == row.verdict
                        && *service == row.service
                        && !matches!(
                            service,
                            Service::Listening { .. } | Service::LoopbackOnly { .. }
                        ) =>
                    {
                        *ports = PortRange::new(ports.from(), end).unwrap_or(*ports);
                    }
                    _ => out.push(row),
                }
            }
        }
        AssetReachability {
            asset: asset.name.clone(),
            ports: out,
        }
    }
}

fn verdict(alts: Vec<Outcome>) -> Verdict {
    let mut via = Vec::new();
    let mut why = Vec::new();
    let mut missing = BTreeSet::new();
    for a in alts {
        match a {
            Outcome::Open(h) => via.push(Path(h)),
            Outcome::Closed(w) => why.push(w),
            Outcome::Undecided(m) => missing.extend(m),
        }
    }
    if !via.is_empty() {
        Verdict::Reachable { via }
    } else if !missing.is_empty() {
        Verdict::Unknown {
            missing: missing.into_iter().collect(),
        }
    } else {
        why.dedup();
        Verdict::NotReachable { why }
    }
}

fn service(asset: &Asset, p: Protocol, range: PortRange) -> Service {
    let Some(listeners) = &asset.listeners else {
        return Service::NotCollected;
    };
    let here: Vec<Listener> = listeners
        .iter()
        .filter(|l| l.protocol == p && range.contains(l.port))
        .cloned()
        .collect();
    if here.is_empty() {
        Service::NothingListens
    } else if here.iter().any(Listener::beyond_loopback) {
        Service::Listening {
            listeners: here.into_iter().filter(Listener::beyond_loopback).collect(),
        }
    } else {
        Service::LoopbackOnly { listeners: here }
    }
}
