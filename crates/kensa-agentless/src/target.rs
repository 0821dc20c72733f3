//! `user@host[:port]`, checked so that nothing in it can be read by `ssh`
//! as an option or by a shell as syntax.

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SshTarget {
    pub user: String,
    /// A DNS name, an IPv4 address or an IPv6 address (without brackets).
    pub host: String,
    pub port: u16,
}

impl SshTarget {
    /// The host as `ssh` and known-hosts files write it: `host` on port
    /// 22, `[host]:port` otherwise.
    pub fn known_hosts_name(&self) -> String {
        if self.port == 22 {
            self.host.clone()
        } else {
            format!("[{}]:{}", self.host, self.port)
        }
    }

    /// Check the parts one by one (the server builds targets from register
    /// rows, not from one string).
    pub fn new(user: &str, host: &str, port: u16) -> Result<Self, String> {
        let ok_user = !user.is_empty()
            && !user.starts_with('-')
            && user.len() <= 64
            && user
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !ok_user {
            return Err(format!(
                "user {user:?}: only letters, digits, '.', '_' and '-', not starting with '-'"
            ));
        }
        let ok_host = !host.is_empty()
            && !host.starts_with('-')
            && host.len() <= 253
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'));
        if !ok_host {
            return Err(format!(
                "host {host:?}: a DNS name or an IP address, not starting with '-'"
            ));
        }
        if port == 0 {
            return Err("port 0 is not a port".into());
        }
        Ok(SshTarget {
            user: user.into(),
            host: host.into(),
            port,
        })
    }
}

impl SshTarget {
    /// A bastion, `[user@]host[:port]` (the user defaults to `user`, the
    /// target's).
    pub fn parse_jump(s: &str, user: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.contains('@') {
            s.parse()
        } else {
            format!("{user}@{s}").parse()
        }
    }
}

impl FromStr for SshTarget {
    type Err = String;

    /// `user@host`, `user@host:port`, `user@[v6addr]:port`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (user, rest) = s
            .split_once('@')
            .ok_or_else(|| format!("{s:?}: expected user@host[:port]"))?;
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("{s:?}: '[' without ']'"))?;
            match after.strip_prefix(':') {
                Some(p) => (host, Some(p)),
                None if after.is_empty() => (host, None),
                None => return Err(format!("{s:?}: unexpected {after:?} after ']'")),
            }
        } else if rest.matches(':').count() == 1 {
            let (h, p) = rest.split_once(':').unwrap_or((rest, ""));
            (h, Some(p))
        } else {
            (rest, None)
        };
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .map_err(|_| format!("{s:?}: port {p:?} is not a number from 1 to 65535"))?,
            None => 22,
        };
        SshTarget::new(user, host, port).map_err(|e| format!("{s:?}: {e}"))
    }
}

impl fmt::Display for SshTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "{}@[{}]:{}", self.user, self.host, self.port)
        } else {
            write!(f, "{}@{}:{}", self.user, self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        let t: SshTarget = "scan@db1.example:2222".parse().expect("valid");
        assert_eq!(
            (t.user.as_str(), t.host.as_str(), t.port),
            ("scan", "db1.example", 2222)
        );
        assert_eq!(t.known_hosts_name(), "[db1.example]:2222");
        let t: SshTarget = "scan@[::1]:22".parse().expect("valid");
        assert_eq!(t.host, "::1");
        assert_eq!(t.known_hosts_name(), "::1");
        assert_eq!("a@h".parse::<SshTarget>().expect("valid").port, 22);
        let j = SshTarget::parse_jump("bastion.example:2200", "scan").expect("valid");
        assert_eq!(j.to_string(), "scan@bastion.example:2200");
        let j = SshTarget::parse_jump("ops@10.0.0.1", "scan").expect("valid");
        assert_eq!(j.to_string(), "ops@10.0.0.1:22");
        assert!(SshTarget::parse_jump("-oProxyCommand=x", "scan").is_err());
        for bad in [
            "host",
            "a@-oProxyCommand=x",
            "-l@h",
            "a@h:0",
            "a@h:99999",
            "a@h;reboot",
            "a b@h",
            "a@[::1",
            "a@",
        ] {
            assert!(bad.parse::<SshTarget>().is_err(), "{bad} accepted");
        }
    }
}
