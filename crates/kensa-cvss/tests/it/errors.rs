//! Bad vectors are rejected with an error that names the vector and the
//! offending metric or value.

use kensa_cvss::{Cvss, CvssError};

fn err(v: &str) -> CvssError {
    match v.parse::<Cvss>() {
        Ok(c) => panic!("{v:?} should be rejected, parsed as {c}"),
        Err(e) => e,
    }
}

#[test]
fn missing_base_metric() {
    for (v, metric) in [
        ("AV:N/AC:L/Au:N/C:P/I:P", "A"),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/C:H/I:H/A:H", "S"),
        ("CVSS:3.0/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/MAV:N", "AV"),
        (
            "CVSS:4.0/AV:N/AC:L/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            "AT",
        ),
    ] {
        let e = err(v);
        assert_eq!(
            e,
            CvssError::Missing {
                vector: v.to_owned(),
                metric
            }
        );
        let msg = e.to_string();
        assert!(msg.contains(v) && msg.contains(metric), "{msg}");
    }
}

#[test]
fn unknown_value() {
    for (v, metric, value) in [
        ("AV:Q/AC:L/Au:N/C:P/I:P/A:P", "AV", "Q"),
        ("AV:N/AC:L/Au:N/C:P/I:P/A:P/E:X", "E", "X"),
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:ND",
            "E",
            "ND",
        ),
        ("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "AV", "X"),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:h", "A", "h"),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:S/SI:N/SA:N",
            "SC",
            "S",
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/MSC:S",
            "MSC",
            "S",
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/U:red",
            "U",
            "red",
        ),
    ] {
        let e = err(v);
        assert_eq!(
            e,
            CvssError::InvalidValue {
                vector: v.to_owned(),
                metric,
                value: value.to_owned()
            }
        );
        let msg = e.to_string();
        assert!(msg.contains(metric) && msg.contains(value), "{msg}");
    }
}

#[test]
fn unknown_metric() {
    for (v, metric) in [
        ("AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "PR"),
        ("CVSS:3.1/AV:N/AC:L/Au:N/PR:N/UI:N/S:U/C:H/I:H/A:H", "Au"),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/RL:O",
            "RL",
        ),
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/CVSS:3.1",
            "CVSS",
        ),
    ] {
        assert_eq!(
            err(v),
            CvssError::UnknownMetric {
                vector: v.to_owned(),
                metric: metric.to_owned()
            }
        );
    }
}

#[test]
fn duplicate_metric() {
    for (v, metric) in [
        ("AV:N/AC:L/Au:N/C:P/I:P/A:P/AV:N", "AV"),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:X/E:H", "E"),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/SA:N",
            "SA",
        ),
    ] {
        let e = err(v);
        assert_eq!(
            e,
            CvssError::Duplicate {
                vector: v.to_owned(),
                metric: metric.to_owned()
            }
        );
        assert!(e.to_string().contains(metric));
    }
}

#[test]
fn malformed() {
    for v in [
        "",
        "CVSS:3.1/",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/",
        "CVSS:3.1//AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A",
        "(AV:N/AC:L/Au:N/C:P/I:P/A:P",
        " AV:N/AC:L/Au:N/C:P/I:P/A:P",
        "AV:N:N/AC:L/Au:N/C:P/I:P/A:P",
    ] {
        let _ = err(v);
    }
    for v in ["CVSS:3.2/AV:N", "CVSS:4.1/AV:N", "CVSS:5/AV:N", "CVSS:3.1"] {
        assert_eq!(
            err(v),
            CvssError::UnknownVersion {
                vector: v.to_owned()
            }
        );
    }
}

#[test]
fn set_validates() {
    let v3 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
    let mut c: kensa_cvss::v3::Vector = v3.parse().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        c.set("MAV", "Q"),
        Err(CvssError::InvalidValue {
            vector: v3.to_owned(),
            metric: "MAV",
            value: "Q".to_owned()
        })
    );
    assert_eq!(
        c.set("Au", "N"),
        Err(CvssError::UnknownMetric {
            vector: v3.to_owned(),
            metric: "Au".to_owned()
        })
    );
    assert_eq!(c.to_string(), v3, "a rejected set changes nothing");

    let mut c: kensa_cvss::v2::Vector = "AV:N/AC:L/Au:N/C:P/I:P/A:P"
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.get("Au"), Some("N"));
    assert!(c.set("E", "POC").is_ok());
    assert!(c.set("E", "X").is_err());
    assert_eq!(c.to_string(), "AV:N/AC:L/Au:N/C:P/I:P/A:P/E:POC");
    assert_eq!(c.temporal_score(), Some(6.8));
    assert!(c.set("E", "ND").is_ok());
    assert_eq!(c.get("E"), None);

    let mut c: kensa_cvss::v4::Vector =
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
    assert!(c.set("MSI", "S").is_ok());
    assert!(c.set("SI", "S").is_err());
    assert_eq!(c.get("MSI"), Some("S"));
    assert_eq!(c.environmental_score(), Some(10.0));
}
