//! Addresses, CIDR blocks, protocols and port ranges.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::Serialize;

/// IPv4 or IPv6: every check is made once per family, since the two have
/// separate routes (`0.0.0.0/0`, `::/0`), group rules and ACL entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    /// The block meaning "every address" in this family.
    pub fn any(self) -> &'static str {
        match self {
            Family::Ipv4 => "0.0.0.0/0",
            Family::Ipv6 => "::/0",
        }
    }
}

/// An address block. The address is masked when parsed, so equal blocks
/// compare equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    bits: u128,
    prefix: u8,
    family: Family,
}

impl Cidr {
    pub fn family(self) -> Family {
        self.family
    }

    /// `0.0.0.0/0` or `::/0`: the whole internet of its family.
    pub fn is_any(self) -> bool {
        self.prefix == 0
    }

    fn width(self) -> u8 {
        match self.family {
            Family::Ipv4 => 32,
            Family::Ipv6 => 128,
        }
    }

    fn mask(width: u8, prefix: u8) -> u128 {
        if prefix == 0 {
            0
        } else {
            let all = if width == 32 {
                u32::MAX as u128
            } else {
                u128::MAX
            };
            (all << (width - prefix)) & all
        }
    }

    /// Every address of `other` is in `self`.
    pub fn contains(self, other: Cidr) -> bool {
        self.family == other.family
            && self.prefix <= other.prefix
            && other.bits & Self::mask(self.width(), self.prefix) == self.bits
    }

    pub fn contains_addr(self, addr: IpAddr) -> bool {
        self.contains(Cidr::host(addr))
    }

    pub fn host(addr: IpAddr) -> Cidr {
        match addr {
            IpAddr::V4(a) => Cidr {
                bits: u32::from(a) as u128,
                prefix: 32,
                family: Family::Ipv4,
            },
            IpAddr::V6(a) => Cidr {
                bits: u128::from(a),
                prefix: 128,
                family: Family::Ipv6,
            },
        }
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not a CIDR block (address/prefix)"))?;
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?}: {addr:?} is not an IP address"))?;
        let mut c = Cidr::host(addr);
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| *p <= c.width())
            .ok_or_else(|| format!("{s:?}: prefix length {prefix:?} out of range"))?;
        c.prefix = prefix;
        c.bits &= Self::mask(c.width(), prefix);
        Ok(c)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.family {
            Family::Ipv4 => write!(
                f,
                "{}/{}",
                std::net::Ipv4Addr::from(self.bits as u32),
                self.prefix
            ),
            Family::Ipv6 => write!(f, "{}/{}", std::net::Ipv6Addr::from(self.bits), self.prefix),
        }
    }
}

impl Serialize for Cidr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A transport protocol with ports: what a listener uses and what a verdict
/// is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub const ALL: [Protocol; 2] = [Protocol::Tcp, Protocol::Udp];
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        })
    }
}

/// The protocol a rule matches: every protocol, one with ports, or one
/// without (ICMP and the rest, which never open a port).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleProtocol {
    All,
    Port(Protocol),
    /// An IANA protocol number other than TCP and UDP.
    Other(u8),
}

impl RuleProtocol {
    /// AWS writes `-1`, a protocol number, or (in security groups) a name.
    pub fn parse_aws(s: &str) -> Option<RuleProtocol> {
        match s.to_ascii_lowercase().as_str() {
            "-1" | "all" => Some(RuleProtocol::All),
            "tcp" | "6" => Some(RuleProtocol::Port(Protocol::Tcp)),
            "udp" | "17" => Some(RuleProtocol::Port(Protocol::Udp)),
            "icmp" => Some(RuleProtocol::Other(1)),
            "icmpv6" => Some(RuleProtocol::Other(58)),
            n => n.parse().ok().map(RuleProtocol::Other),
        }
    }

    pub fn matches(self, p: Protocol) -> bool {
        match self {
            RuleProtocol::All => true,
            RuleProtocol::Port(q) => q == p,
            RuleProtocol::Other(_) => false,
        }
    }
}

/// An inclusive range of ports, `from <= to` by construction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortRange {
    from: u16,
    to: u16,
}

impl PortRange {
    pub const ALL: PortRange = PortRange { from: 0, to: 65535 };
    /// The ports clients answer on, as the VPC documentation recommends
    /// allowing in network ACLs ("1024-65535").
    pub const EPHEMERAL: PortRange = PortRange {
        from: 1024,
        to: 65535,
    };

    pub fn new(from: u16, to: u16) -> Option<PortRange> {
        (from <= to).then_some(PortRange { from, to })
    }

    pub fn single(port: u16) -> PortRange {
        PortRange {
            from: port,
            to: port,
        }
    }

    pub fn from(self) -> u16 {
        self.from
    }

    pub fn to(self) -> u16 {
        self.to
    }

    pub fn contains(self, port: u16) -> bool {
        self.from <= port && port <= self.to
    }

    pub fn overlaps(self, other: PortRange) -> bool {
        self.from <= other.to && other.from <= self.to
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.from == self.to {
            write!(f, "{}", self.from)
        } else {
            write!(f, "{}-{}", self.from, self.to)
        }
    }
}

impl Serialize for PortRange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_contains() {
        let vpc: Cidr = "10.0.0.0/16".parse().unwrap_or_else(|e| panic!("{e}"));
        let sub: Cidr = "10.0.3.0/24".parse().unwrap_or_else(|e| panic!("{e}"));
        let any: Cidr = "0.0.0.0/0".parse().unwrap_or_else(|e| panic!("{e}"));
        let v6: Cidr = "::/0".parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(vpc.contains(sub) && !sub.contains(vpc));
        assert!(any.contains(vpc) && any.is_any() && !v6.contains(vpc));
        assert_eq!(
            "10.0.3.7/24".parse::<Cidr>().map(|c| c.to_string()),
            Ok("10.0.3.0/24".into())
        );
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("2001:db8::/129".parse::<Cidr>().is_err());
        assert!("10.0.0.0".parse::<Cidr>().is_err());
    }
}
