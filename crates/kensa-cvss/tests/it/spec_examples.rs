//! Worked examples from the specification documents: the CVSS v2 guide
//! (§3.3), the CVSS v3.1 examples document, and the CVSS v4.0
//! specification and examples.

use kensa_cvss::{Cvss, Severity, severity};

fn parse(v: &str) -> Cvss {
    v.parse()
        .unwrap_or_else(|e| panic!("{v} should parse: {e}"))
}

#[track_caller]
fn scores(v: &str, base: f64, temporal: Option<f64>, environmental: Option<f64>) {
    let c = parse(v);
    assert_eq!(
        (c.base_score(), c.temporal_score(), c.environmental_score()),
        (base, temporal, environmental),
        "{v}"
    );
}

#[test]
fn v2_guide_examples() {
    // CVE-2002-0392 (Apache chunked encoding), CVE-2003-0818 (Windows
    // ASN.1), CVE-2003-0062 (NOD32), with the guide's temporal and
    // environmental metrics.
    scores("AV:N/AC:L/Au:N/C:N/I:N/A:C", 7.8, None, None);
    scores(
        "AV:N/AC:L/Au:N/C:N/I:N/A:C/E:F/RL:OF/RC:C",
        7.8,
        Some(6.4),
        None,
    );
    scores(
        "AV:N/AC:L/Au:N/C:N/I:N/A:C/E:F/RL:OF/RC:C/CDP:H/TD:H/CR:M/IR:M/AR:H",
        7.8,
        Some(6.4),
        Some(9.2),
    );
    scores(
        "AV:N/AC:L/Au:N/C:C/I:C/A:C/E:F/RL:OF/RC:C/CDP:H/TD:H/CR:M/IR:M/AR:L",
        10.0,
        Some(8.3),
        Some(9.0),
    );
    scores(
        "AV:L/AC:H/Au:N/C:C/I:C/A:C/E:POC/RL:OF/RC:C/CDP:H/TD:H/CR:M/IR:M/AR:M",
        6.2,
        Some(4.9),
        Some(7.5),
    );
}

#[test]
fn v2_forms() {
    for v in [
        "AV:N/AC:L/Au:N/C:P/I:P/A:P",
        "(AV:N/AC:L/Au:N/C:P/I:P/A:P)",
        "CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P",
        "A:P/I:P/C:P/Au:N/AC:L/AV:N",
        "AV:N/AC:L/Au:N/C:P/I:P/A:P/E:ND/CDP:ND",
    ] {
        let c = parse(v);
        assert_eq!(c.version(), "2.0");
        assert_eq!(c.to_string(), "AV:N/AC:L/Au:N/C:P/I:P/A:P", "{v}");
        assert_eq!(c.base_score(), 7.5);
        assert_eq!(c.temporal_score(), None);
        assert_eq!(c.environmental_score(), None);
    }
}

#[test]
fn v31_examples_document() {
    for (v, base) in [
        ("AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1), // CVE-2013-1937
        ("AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4), // CVE-2013-0375
        ("AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N", 3.1), // CVE-2014-3566
        ("AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9), // CVE-2012-1516
        ("AV:L/AC:L/PR:H/UI:N/S:U/C:L/I:L/A:L", 4.2), // CVE-2009-0783
        ("AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5), // CVE-2014-0160
        ("AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8), // CVE-2014-6271
        ("AV:N/AC:H/PR:N/UI:N/S:C/C:N/I:H/A:N", 6.8), // CVE-2008-1447
        ("AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 6.8), // CVE-2014-2005
        ("AV:A/AC:L/PR:N/UI:N/S:C/C:H/I:N/A:H", 9.3), // CVE-2013-6014
    ] {
        for minor in ["3.0", "3.1"] {
            let c = parse(&format!("CVSS:{minor}/{v}"));
            assert_eq!(c.version(), minor);
            assert_eq!(c.base_score(), base, "CVSS:{minor}/{v}");
            assert_eq!(c.overall_score(), base);
        }
    }
}

#[test]
fn v3_temporal() {
    scores(
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C",
        9.8,
        Some(8.8),
        None,
    );
    scores(
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:U",
        9.8,
        Some(7.8),
        None,
    );
}

#[test]
fn v30_and_v31_modified_impact_differ() {
    // Scope changed, no environmental change (CR:M weighs 1): 3.1's
    // 7.52 × (MISS − 0.029) − 3.25 × (MISS × 0.9731 − 0.02)^13 gives 10.0
    // where 3.0's (MISS − 0.02)^15 (the base equation) gives 9.9.
    let tail = "AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H/CR:M";
    scores(&format!("CVSS:3.0/{tail}"), 9.9, None, Some(9.9));
    scores(&format!("CVSS:3.1/{tail}"), 9.9, None, Some(10.0));
    let tail = "AV:N/AC:L/PR:L/UI:N/S:U/C:L/I:L/A:N/CR:H/IR:H/AR:H/MS:C/MC:H/MI:H";
    scores(&format!("CVSS:3.0/{tail}"), 5.4, None, Some(9.9));
    scores(&format!("CVSS:3.1/{tail}"), 5.4, None, Some(10.0));
}

#[test]
fn v3_canonical_order_and_rewrite() {
    let mut c: kensa_cvss::v3::Vector = "CVSS:3.1/S:U/AV:N/MAV:X/A:H/I:H/C:H/UI:N/PR:N/AC:L/E:X"
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        c.to_string(),
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    );
    assert_eq!(c.minor(), 1);
    assert_eq!(c.get("AV"), Some("N"));
    assert_eq!(c.get("MAV"), None);
    assert_eq!(c.get("Nope"), None);
    c.set("MAV", "L").unwrap_or_else(|e| panic!("{e}"));
    c.set("MPR", "H").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.get("MAV"), Some("L"));
    assert_eq!(
        c.to_string(),
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/MAV:L/MPR:H"
    );
    assert_eq!(c.environmental_score(), Some(6.7));
    c.set("MAV", "X").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.get("MAV"), None);
    assert!(c.set("AV", "X").is_err());
    assert!(c.set("MAV", "Q").is_err());
    assert!(c.set("XX", "L").is_err());
}

#[test]
fn v40_examples() {
    for (v, score) in [
        (
            "AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            9.3,
        ),
        (
            "AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N",
            8.7,
        ),
        (
            "AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            8.5,
        ),
        (
            "AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H",
            10.0,
        ),
        (
            "AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N",
            0.0,
        ),
        (
            "AV:P/AC:H/AT:P/PR:H/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N",
            1.0,
        ),
    ] {
        let c = parse(&format!("CVSS:4.0/{v}"));
        assert_eq!(c.version(), "4.0");
        assert_eq!(c.base_score(), score, "{v}");
        assert_eq!(c.temporal_score(), None);
        assert_eq!(c.environmental_score(), None);
    }
}

#[test]
fn v40_nomenclature() {
    // CVSS-B ignores threat and environmental metrics, CVSS-BT adds E,
    // CVSS-BTE adds both; supplemental metrics never change the score.
    let c =
        parse("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U/S:P/AU:Y/U:Red");
    assert_eq!(c.base_score(), 9.3);
    assert_eq!(c.temporal_score(), Some(8.1));
    assert_eq!(c.environmental_score(), None);
    assert_eq!(c.overall_score(), 8.1);
    let c = parse(
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/MSI:S/AR:L/IR:L/CR:L/E:P",
    );
    assert_eq!(
        c.to_string(),
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:P/CR:L/IR:L/AR:L/MSI:S"
    );
    assert_eq!(c.environmental_score(), Some(9.3));
}

#[test]
fn severity_scale() {
    assert_eq!(severity(0.0), Severity::None);
    assert_eq!(severity(0.1), Severity::Low);
    assert_eq!(severity(3.9), Severity::Low);
    assert_eq!(severity(4.0), Severity::Medium);
    assert_eq!(severity(6.9), Severity::Medium);
    assert_eq!(severity(7.0), Severity::High);
    assert_eq!(severity(8.9), Severity::High);
    assert_eq!(severity(9.0), Severity::Critical);
    assert_eq!(severity(10.0), Severity::Critical);
    assert_eq!(Severity::Critical.as_str(), "CRITICAL");
    assert_eq!(Severity::None.as_str(), "NONE");
    assert_eq!(
        parse("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").severity(),
        Severity::Critical
    );
}
