//! Where an operating system stands against its vendor's support dates.
//! `kensa_detect::os_eol` computes it from the knowledge base.

use serde::{Deserialize, Serialize};

/// Where an operating system stands against its vendor's support dates,
/// for the fleet's asset records (the scan's finding says the same to a
/// reader; this says it to a program).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsEol {
    /// endoflife.date's product (`debian`, `alpine-linux`).
    pub product: String,
    pub cycle: String,
    /// End of regular security support, when announced.
    pub eol: Option<String>,
    /// Regular support has ended: the date passed (on the day this was
    /// computed; see [`OsEol::as_of`]), or the vendor says so without a
    /// date.
    pub eol_reached: bool,
    /// The last of the support ends after the regular one (LTS/ESM or
    /// paid extended support), when there is one.
    pub extended_support: Option<String>,
    /// End of the vendor's long-term support (Debian LTS, Ubuntu ESM).
    #[serde(default)]
    pub lts: Option<String>,
    /// End of paid extended support (RHEL's Extended Life Cycle Support),
    /// when it is not the LTS/ESM date.
    #[serde(default)]
    pub extended: Option<String>,
    /// On the day it was computed: `supported`, `extended` (past the
    /// regular end, extended support still running) or `ended`.
    pub status: String,
}

impl OsEol {
    /// Whether regular support has ended by `today` (`YYYY-MM-DD`): dates
    /// move on after the record was computed, so callers ask again.
    pub fn ended_by(&self, today: &str) -> bool {
        self.eol_reached || self.eol.as_deref().is_some_and(|d| d < today)
    }

    /// The same dates with `eol_reached` and `status` as of `today`: a
    /// record computed at an evaluation months ago must not say a release
    /// whose end has passed since is still supported.
    pub fn as_of(&self, today: &str) -> OsEol {
        let ended = self.ended_by(today);
        let status = if !ended {
            "supported"
        } else if self.extended_support.as_deref().is_some_and(|d| d >= today) {
            "extended"
        } else {
            "ended"
        };
        OsEol {
            eol_reached: ended,
            status: status.to_owned(),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::OsEol;

    #[test]
    fn reached_and_status_follow_the_day() {
        // Alpine 3.4 as endoflife.date dates it: `eol: 2018-05-01`.
        let alpine = OsEol {
            product: "alpine-linux".into(),
            cycle: "3.4".into(),
            eol: Some("2018-05-01".into()),
            eol_reached: false,
            extended_support: None,
            lts: None,
            extended: None,
            status: "supported".into(),
        };
        let now = alpine.as_of("2026-12-07");
        assert!(now.eol_reached);
        assert_eq!(now.status, "ended");
        let then = alpine.as_of("2018-05-01");
        assert!(!then.eol_reached);
        assert_eq!(then.status, "supported");
        let debian = OsEol {
            product: "debian".into(),
            cycle: "12".into(),
            eol: Some("2026-07-11".into()),
            extended_support: Some("2028-06-30".into()),
            lts: Some("2028-06-30".into()),
            ..alpine
        };
        let d = debian.as_of("2026-12-07");
        assert!(d.eol_reached);
        assert_eq!(d.status, "extended");
    }
}
