//! The rules file for networks without cloud data (`testdata/rules.txt`):
//! allow rules by source, ports, protocol and asset or tag.

use kensa_reach::{Asset, Error, Exposure, Hop, Missing, Network, Protocol::*, RulesFile, Verdict};

use crate::support::{at, listen, read};

fn rules() -> RulesFile {
    let text = String::from_utf8(read("rules.txt")).expect("utf-8");
    RulesFile::parse("rules.txt", &text).unwrap_or_else(|e| panic!("{e}"))
}

fn asset(name: &str, tags: &[&str], listeners: Vec<kensa_reach::Listener>) -> Asset {
    Asset {
        name: name.into(),
        instance_id: None,
        tags: tags.iter().map(|t| t.to_string()).collect(),
        listeners: Some(listeners),
    }
}

#[test]
fn rules_make_verdicts_by_name_and_tag() {
    let net = Network::new(Default::default(), vec![rules()]);
    let out = net.evaluate(&[
        asset(
            "gw-office",
            &[],
            vec![
                listen(Tcp, "0.0.0.0", 22, "sshd"),
                listen(Tcp, "0.0.0.0", 8080, "java"),
            ],
        ),
        asset("web-7", &["dmz"], vec![listen(Tcp, "::", 443, "nginx")]),
        asset(
            "db-office",
            &[],
            vec![listen(Tcp, "0.0.0.0", 5432, "postgres")],
        ),
        asset("voip-1", &[], vec![]),
        asset("unnamed", &[], vec![listen(Tcp, "0.0.0.0", 22, "sshd")]),
    ]);
    let ssh = at(&out[0], Tcp, 22).expect("22");
    assert_eq!(ssh.exposure(), Exposure::Exposed);
    assert_eq!(
        ssh.verdict,
        Verdict::Reachable {
            via: vec![kensa_reach::Path(vec![Hop::RulesFile {
                file: "rules.txt".into(),
                line: 3
            }])]
        }
    );
    // The file is complete for the assets it names: 8080 is let in by no rule.
    assert_eq!(
        at(&out[0], Tcp, 8080).map(|p| p.exposure()),
        Some(Exposure::NotExposed)
    );
    assert_eq!(
        at(&out[1], Tcp, 443).map(|p| p.exposure()),
        Some(Exposure::Exposed)
    );
    // The range row around the listener: 80-442 open, nothing listens.
    let open = at(&out[1], Tcp, 80).expect("80");
    assert_eq!(
        (open.ports.to_string(), open.exposure()),
        ("80-442".into(), Exposure::OpenNothingListens)
    );
    // 10.0.0.0/8 is not the internet.
    assert_eq!(
        at(&out[2], Tcp, 5432).map(|p| p.exposure()),
        Some(Exposure::NotExposed)
    );
    let udp = at(&out[3], Udp, 5060).expect("udp");
    assert_eq!(
        (udp.ports.to_string(), udp.exposure()),
        ("0-65535".into(), Exposure::OpenNothingListens)
    );
    assert!(at(&out[3], Tcp, 5060).is_none());
    // Named by no data at all: unknown, not "not reachable".
    assert_eq!(
        at(&out[4], Tcp, 22).map(|p| p.verdict.clone()),
        Some(Verdict::Unknown {
            missing: vec![Missing::NetworkData]
        })
    );
}

#[test]
fn errors_name_the_line() {
    let cases = [
        ("0.0.0.0/0 22 tcp a\n10.0.0.300/8 22 tcp b\n", 2, "SOURCE"),
        ("# c\n\n0.0.0.0/0 22-21 tcp a\n", 3, "PORTS"),
        ("0.0.0.0/0 70000 tcp a\n", 1, "PORTS"),
        ("0.0.0.0/0 22 sctp a\n", 1, "PROTOCOL"),
        ("0.0.0.0/0 22 tcp\n", 1, "expected 4 fields"),
        ("0.0.0.0/0 22 tcp tag:\n", 1, "empty tag"),
        ("0.0.0.0 22 tcp a\n", 1, "not a CIDR"),
    ];
    for (text, line, needle) in cases {
        match RulesFile::parse("net.rules", text) {
            Err(e @ Error::Rules { line: l, .. }) => {
                assert_eq!(l, line, "{text:?}: {e}");
                let msg = e.to_string();
                assert!(
                    msg.starts_with(&format!("net.rules, line {line}: ")),
                    "{msg}"
                );
                assert!(msg.contains(needle), "{msg}");
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }
}
