#![no_main]
//! The reachability parsers on arbitrary bytes: AWS CLI JSON and rules
//! files never panic; a document that fails adds nothing; whatever parses
//! can be evaluated, and every asset's rows are ordered, disjoint, and a
//! reachable verdict always has a path.

use kensa_reach::{Asset, AwsData, Network, RulesFile, Verdict};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut aws = AwsData::new();
    let before = aws.clone();
    if aws.add_json("fuzz.json", data).is_err() {
        assert_eq!(aws, before, "a failed document changed the data");
    }
    let rules = std::str::from_utf8(data)
        .ok()
        .and_then(|t| RulesFile::parse("fuzz.rules", t).ok());
    let mut assets: Vec<Asset> = aws
        .instances
        .keys()
        .take(8)
        .map(|id| Asset {
            name: id.clone(),
            instance_id: Some(id.clone()),
            tags: vec!["web".into()],
            listeners: Some(Vec::new()),
        })
        .collect();
    if let Some(r) = &rules {
        assets.extend(r.rules.iter().take(8).map(|rule| Asset {
            name: match &rule.target {
                kensa_reach::rules::RuleTarget::Asset(a) => a.clone(),
                kensa_reach::rules::RuleTarget::Tag(_) => "tagged".into(),
            },
            instance_id: None,
            tags: vec!["web".into()],
            listeners: None,
        }));
    }
    let net = Network::new(aws, rules.into_iter().collect());
    for a in net.evaluate(&assets) {
        for w in a.ports.windows(2) {
            assert!(
                (w[0].protocol, w[0].ports.to()) < (w[1].protocol, w[1].ports.from()),
                "rows overlap or are out of order: {:?}",
                a.ports
            );
        }
        for p in &a.ports {
            if let Verdict::Reachable { via } = &p.verdict {
                assert!(!via.is_empty());
            }
        }
    }
});
