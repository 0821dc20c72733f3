//! The rules file for networks Kensa has no cloud data for: what a firewall
//! lets in, written by people. One allow rule a line:
//!
//! ```text
//! # SOURCE      PORTS       PROTOCOL  TARGET
//! 0.0.0.0/0     22          tcp       bastion-1
//! ::/0          80-443      tcp       tag:web
//! 10.0.0.0/8    5432        tcp       db-1
//! 0.0.0.0/0     *           udp       tag:voip
//! ```
//!
//! Fields are separated by spaces or tabs; `#` starts a comment. SOURCE is
//! a CIDR block (`0.0.0.0/0` and `::/0` are the internet); PORTS a port, a
//! range `FROM-TO` or `*`; PROTOCOL `tcp`, `udp` or `any`; TARGET an asset
//! name or `tag:TAG` for every asset with that tag. The file is taken as
//! complete for the assets it names: a port no rule lets in is not
//! reachable. Assets it does not name are left to other data (or unknown).

use crate::error::Error;
use crate::net::{Cidr, PortRange, Protocol};

#[derive(Debug, Clone, PartialEq)]
pub struct RulesFile {
    pub source_name: String,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// 1-based line in the file.
    pub line: usize,
    pub source: Cidr,
    pub ports: PortRange,
    /// `None`: both TCP and UDP.
    pub protocol: Option<Protocol>,
    pub target: RuleTarget,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleTarget {
    Asset(String),
    Tag(String),
}

impl Rule {
    pub fn applies_to(&self, name: &str, tags: &[String]) -> bool {
        match &self.target {
            RuleTarget::Asset(a) => a == name,
            RuleTarget::Tag(t) => tags.iter().any(|x| x == t),
        }
    }

    pub fn allows(&self, protocol: Protocol, port: u16) -> bool {
        self.protocol.is_none_or(|p| p == protocol) && self.ports.contains(port)
    }
}

impl RulesFile {
    pub fn parse(source_name: &str, text: &str) -> Result<RulesFile, Error> {
        let mut rules = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let err = |message: String| Error::Rules {
                source_name: source_name.to_owned(),
                line,
                message,
            };
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let fields: Vec<&str> = content.split_whitespace().collect();
            let [source, ports, protocol, target] = fields[..] else {
                return Err(err(format!(
                    "expected 4 fields (SOURCE PORTS PROTOCOL TARGET), found {}",
                    fields.len()
                )));
            };
            let source: Cidr = source
                .parse()
                .map_err(|e: String| err(format!("SOURCE: {e}")))?;
            let ports = parse_ports(ports).ok_or_else(|| {
                err(format!(
                    "PORTS: {ports:?} is not a port (0-65535), a range FROM-TO or *"
                ))
            })?;
            let protocol = match protocol.to_ascii_lowercase().as_str() {
                "tcp" => Some(Protocol::Tcp),
                "udp" => Some(Protocol::Udp),
                "any" | "*" => None,
                _ => {
                    return Err(err(format!(
                        "PROTOCOL: {protocol:?}: expected tcp, udp or any"
                    )));
                }
            };
            let target = match target.strip_prefix("tag:") {
                Some("") => return Err(err("TARGET: empty tag after tag:".into())),
                Some(t) => RuleTarget::Tag(t.to_owned()),
                None => RuleTarget::Asset(target.to_owned()),
            };
            rules.push(Rule {
                line,
                source,
                ports,
                protocol,
                target,
            });
        }
        Ok(RulesFile {
            source_name: source_name.to_owned(),
            rules,
        })
    }

    /// Whether the file says anything about this asset.
    pub fn covers(&self, name: &str, tags: &[String]) -> bool {
        self.rules.iter().any(|r| r.applies_to(name, tags))
    }
}

fn parse_ports(s: &str) -> Option<PortRange> {
    if s == "*" {
        return Some(PortRange::ALL);
    }
    match s.split_once('-') {
        Some((a, b)) => PortRange::new(a.parse().ok()?, b.parse().ok()?),
        None => s.parse().ok().map(PortRange::single),
    }
}
