#![no_main]
//! The CVSS parser on arbitrary text: never panics; whatever it accepts
//! prints canonically, parses back to the same vector, and scores within
//! 0.0–10.0 in one-decimal steps.

use kensa_cvss::Cvss;
use libfuzzer_sys::fuzz_target;

fn check(score: f64) {
    assert!((0.0..=10.0).contains(&score), "score {score}");
    assert_eq!((score * 10.0).round() / 10.0, score, "score {score}");
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(cvss) = text.parse::<Cvss>() else {
        return;
    };
    let canonical = cvss.to_string();
    let again: Cvss = match canonical.parse() {
        Ok(c) => c,
        Err(e) => panic!("{text:?} printed as {canonical:?}, which does not parse: {e}"),
    };
    assert_eq!(again, cvss, "{text:?} round-trips through {canonical:?}");
    assert_eq!(again.to_string(), canonical);
    assert_eq!(again.version(), cvss.version());
    for s in [cvss.base_score(), cvss.overall_score()]
        .into_iter()
        .chain(cvss.temporal_score())
        .chain(cvss.environmental_score())
    {
        check(s);
    }
    assert_eq!(again.overall_score(), cvss.overall_score());
});
