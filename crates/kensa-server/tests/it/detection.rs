//! Never a false "clean" in the fleet (issue 16), through the HTTP API of
//! a real server on SQLite and PostgreSQL: a report whose OS package
//! database could not be read (the data folder's real Alpine root with
//! its `lib/apk/db/installed` replaced by random bytes) makes the asset's
//! coverage `INVENTORY_FAILED`, and its previous inventory and findings
//! stay as they were (before, the empty package list became the asset's
//! inventory and closed every finding). The same through an agent and
//! through `POST /api/v1/inventories` (what `kensa inventory push` and
//! agentless collection send). And the API's end-of-life dates are those
//! of today, with LTS/ESM apart from the regular end.

use std::path::Path;

use kensa_agent::Outcome;
use serde_json::Value;

use kensa_testkit::now_ms;
use kensa_testkit::roots::AlpineRoot;

use crate::support;
use support::{Auth, Fleet, backends, start};

fn corrupt_apk_database(root: &Path) {
    let mut rng = kensa_testkit::Lcg(7);
    let bytes: Vec<u8> = (0..8192).map(|_| rng.below(256) as u8).collect();
    std::fs::write(root.join("lib/apk/db/installed"), bytes).expect("write");
}

impl Fleet {
    fn coverage_row(&self, asset: &str) -> Value {
        let body = self.0.get("/api/v1/coverage");
        body["assets"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["asset_id"].as_i64().map(|i| i.to_string()).as_deref() == Some(asset))
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// (vulnerability, status) of every finding of the asset.
    fn finding_states(&self, asset: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut cursor = String::new();
        loop {
            let body = self.0.get(&format!(
                "/api/v1/findings?asset_id={asset}&limit=100{cursor}"
            ));
            for f in body["findings"].as_array().into_iter().flatten() {
                out.push((
                    format!(
                        "{} {}",
                        f["package_name"].as_str().unwrap_or_default(),
                        f["vulnerability_id"].as_str().unwrap_or_default()
                    ),
                    f["status"].as_str().unwrap_or_default().to_owned(),
                ));
            }
            match body["next_cursor"].as_str() {
                Some(c) => cursor = format!("&cursor={c}"),
                None => break,
            }
        }
        out.sort();
        out
    }

    fn asset_detail(&self, asset: &str) -> Value {
        self.0.get(&format!("/api/v1/assets/{asset}"))
    }

    fn wait_for_evaluation(&self, asset: &str, since: i64) {
        let id: i64 = asset.parse().expect("asset id");
        self.0.wait_evaluated(id, since);
    }

    fn push_inventory(&self, name: &str, inv: &kensa_inventory::Inventory) -> (u16, Value) {
        let r = self.0.send(
            "POST",
            &format!("/api/v1/inventories?asset={name}"),
            Auth::Bearer(&self.admin),
            "application/json",
            &serde_json::to_vec(inv).expect("json"),
        );
        (r.status, r.json())
    }
}

#[test]
fn an_unreadable_package_database_is_inventory_failed_and_keeps_the_findings() {
    for backend in backends() {
        let fleet = start(&backend);
        let dir = tempfile::tempdir().expect("temp dir");
        let root = AlpineRoot::new().write(&dir.path().join("root"));
        let cfg = fleet.agent_config(&root, &dir.path().join("state"));
        let creds = kensa_agent::enroll(&cfg, &fleet.enrollment_token()).expect("enroll");
        let asset = creds.asset_id.clone();

        let t0 = now_ms();
        assert!(matches!(
            kensa_agent::run_once(&cfg).expect("run"),
            Outcome::Delivered { .. }
        ));
        fleet.wait_for_evaluation(&asset, t0);
        let before = fleet.finding_states(&asset);
        assert!(
            before.len() > 5 && before.iter().all(|(_, s)| s == "ACTIVE"),
            "{}: {before:?}",
            backend.label()
        );
        let hash = fleet.asset_detail(&asset)["inventory_hash"].clone();
        assert!(hash.is_string());
        assert_eq!(fleet.coverage_row(&asset)["reason"], "OS_END_OF_LIFE");

        // The database becomes unreadable: the agent still reports (the
        // inventory says what it could not read).
        corrupt_apk_database(&root);
        assert!(matches!(
            kensa_agent::run_once(&cfg).expect("run"),
            Outcome::Delivered { .. }
        ));
        let cov = fleet.coverage_row(&asset);
        assert_eq!(
            (cov["status"].as_str(), cov["reason"].as_str()),
            (Some("INACTIVE"), Some("INVENTORY_FAILED")),
            "{}: {cov}",
            backend.label()
        );
        let why = cov["inventory_failure"]["reason"]
            .as_str()
            .unwrap_or_default();
        assert!(why.contains("lib/apk/db/installed"), "{cov}");
        let detail = fleet.asset_detail(&asset);
        assert_eq!(detail["coverage"]["reason"], "INVENTORY_FAILED");
        assert_eq!(
            detail["inventory_hash"], hash,
            "the previous inventory stays"
        );
        // Nothing queued closes the findings: give a worker the time it
        // would take, then check them.
        std::thread::sleep(std::time::Duration::from_millis(500));
        assert_eq!(fleet.finding_states(&asset), before, "{}", backend.label());
        let counts = fleet.0.get("/api/v1/coverage")["counts"].clone();
        assert_eq!(counts["INVENTORY_FAILED"], 1, "{counts}");

        // Readable again (the same content as the stored inventory): the
        // failure is over.
        let fresh = dir.path().join("fresh");
        AlpineRoot::new().write(&fresh);
        std::fs::copy(
            fresh.join("lib/apk/db/installed"),
            root.join("lib/apk/db/installed"),
        )
        .expect("restore");
        kensa_agent::run_once(&cfg).expect("run");
        let cov = fleet.coverage_row(&asset);
        assert_eq!(cov["reason"], "OS_END_OF_LIFE", "{cov}");
        assert!(cov["inventory_failure"].is_null(), "{cov}");
        assert_eq!(fleet.finding_states(&asset), before);

        // Pushed (as `kensa inventory push` and agentless collection
        // deliver): the same rule.
        let good = kensa_inventory::collect(&kensa_inventory::Target::Root(fresh.clone()))
            .expect("inventory");
        let t1 = now_ms();
        let (status, body) = fleet.push_inventory("pushed-1", &good);
        assert_eq!(status, 202, "{body}");
        let pushed = body["asset_id"].as_str().expect("asset id").to_owned();
        fleet.wait_for_evaluation(&pushed, t1);
        let pushed_before = fleet.finding_states(&pushed);
        assert!(!pushed_before.is_empty());
        corrupt_apk_database(&fresh);
        let bad = kensa_inventory::collect(&kensa_inventory::Target::Root(fresh.clone()))
            .expect("inventory of an unreadable database");
        assert!(
            bad.os_packages_unread().next().is_some(),
            "{:?}",
            bad.problems
        );
        let (status, body) = fleet.push_inventory("pushed-1", &bad);
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["evaluation_queued"], false, "{body}");
        assert_eq!(fleet.coverage_row(&pushed)["reason"], "INVENTORY_FAILED");
        std::thread::sleep(std::time::Duration::from_millis(500));
        assert_eq!(fleet.finding_states(&pushed), pushed_before);
    }
}

/// Alpine 3.4 ended on 2018-05-01 (endoflife.date, in the data folder):
/// the API said `eol_reached: false` because it copied the page's
/// `eol: true` flag, which is only set for releases ended without a date.
#[test]
fn the_api_says_a_release_past_its_end_has_reached_it() {
    for backend in backends() {
        let fleet = start(&backend);
        let dir = tempfile::tempdir().expect("temp dir");
        let root = AlpineRoot::new().write(&dir.path().join("root"));
        let inv =
            kensa_inventory::collect(&kensa_inventory::Target::Root(root)).expect("inventory");
        let t0 = now_ms();
        let (status, body) = fleet.push_inventory("alpine-34", &inv);
        assert_eq!(status, 202, "{body}");
        let asset = body["asset_id"].as_str().expect("asset id").to_owned();
        fleet.wait_for_evaluation(&asset, t0);
        let eol = fleet.asset_detail(&asset)["eol"].clone();
        assert_eq!(eol["cycle"], "3.4", "{eol}");
        assert_eq!(eol["eol"], "2018-05-01", "{eol}");
        assert_eq!(eol["eol_reached"], true, "{}: {eol}", backend.label());
        assert_eq!(eol["status"], "ended", "{eol}");
        let listed = fleet.0.get("/api/v1/assets");
        let row = listed["assets"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["id"].as_i64().map(|i| i.to_string()) == Some(asset.clone()))
            .cloned()
            .expect("listed");
        assert_eq!(row["eol"]["eol_reached"], true, "{row}");
        assert_eq!(fleet.coverage_row(&asset)["eol"]["eol_reached"], true);
    }
}

const DEBIAN12: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n\
VERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n";

/// Debian 12's regular security support ended on 2026-07-11; its LTS
/// runs to 2028-06-30 (endoflife.date's `eoes`, headed "Debian LTS").
/// The console's "assets past end of life" listed it with the first date
/// alone; it now names the regular, LTS/ESM and extended ends apart, in
/// English and Japanese.
#[test]
fn the_console_tells_regular_support_from_lts() {
    for backend in backends() {
        let fleet = start(&backend);
        let dir = tempfile::tempdir().expect("temp dir");
        // A Debian 12 os-release over the data folder's real dpkg status.
        let root = dir.path().join("debian12");
        std::fs::create_dir_all(root.join("etc")).expect("mkdir");
        std::fs::create_dir_all(root.join("var/lib/dpkg")).expect("mkdir");
        std::fs::write(root.join("etc/os-release"), DEBIAN12).expect("write");
        std::fs::copy(
            kensa_testkit::data_path("fixtures/dpkg/status"),
            root.join("var/lib/dpkg/status"),
        )
        .expect("copy");
        let inv =
            kensa_inventory::collect(&kensa_inventory::Target::Root(root)).expect("inventory");
        let t0 = now_ms();
        let (status, body) = fleet.push_inventory("bookworm-1", &inv);
        assert_eq!(status, 202, "{body}");
        let asset = body["asset_id"].as_str().expect("asset id").to_owned();
        fleet.wait_for_evaluation(&asset, t0);
        let eol = fleet.asset_detail(&asset)["eol"].clone();
        assert_eq!(eol["eol"], "2026-07-11", "{eol}");
        assert_eq!(eol["lts"], "2028-06-30", "{eol}");
        assert!(eol["extended"].is_null(), "{eol}");
        // The machine's clock is past 2026-07-11: the dashboard lists it.
        let r = fleet.0.call(
            "POST",
            "/api/v1/session",
            Auth::None,
            Some(serde_json::json!({"name": "admin", "password": fleet.admin_password})),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        let session = r
            .header("set-cookie")
            .and_then(|c| c.split(';').next())
            .expect("cookie")
            .to_owned();
        for (lang, words) in [
            (
                "en",
                [
                    "regular support until 2026-07-11",
                    "LTS/ESM until 2028-06-30",
                    "extended support until none",
                ],
            ),
            (
                "ja",
                [
                    "通常サポート終了日 2026-07-11",
                    "LTS/ESM 終了日 2028-06-30",
                    "延長サポート終了日 なし",
                ],
            ),
        ] {
            let cookie = format!("{session}; kensa_lang={lang}");
            let page = fleet.0.call("GET", "/", Auth::Cookie(&cookie, None), None);
            assert_eq!(page.status, 200, "{}", page.text());
            let html = page.text();
            let card = html
                .split("id=\"card-eol\"")
                .nth(1)
                .and_then(|rest| rest.split("</div>").next())
                .unwrap_or_default();
            assert!(card.contains("bookworm-1"), "{lang}: {card}");
            for w in words {
                assert!(card.contains(w), "{lang}: {w:?} not in {card}");
            }
            let page = fleet.0.call(
                "GET",
                &format!("/assets/{asset}"),
                Auth::Cookie(&cookie, None),
                None,
            );
            assert!(page.text().contains(words[1]), "{lang}: {}", page.text());
        }
    }
}

/// The data folder's Alpine 3.4 secdb lists `icu`'s fixes under the key
/// `57-1-r2`, which is not an apk version: the import drops CVE-2016-7415
/// for `icu`. An asset with `icu-libs` installed says so in its API
/// answer (`scan_warnings`, kind `dropped-record`), as `kensa scan` does;
/// once the package is gone, so is the warning. Checked failing before:
/// the server's evaluation kept the scan's warnings to itself, and the
/// answer had no `scan_warnings` at all.
#[test]
fn a_dropped_record_about_an_installed_package_is_in_the_assets_answer() {
    let dropped = |detail: &Value| -> Vec<(String, String)> {
        detail["scan_warnings"]
            .as_array()
            .unwrap_or_else(|| panic!("no scan_warnings in {detail}"))
            .iter()
            .filter(|w| w["kind"] == "dropped-record")
            .map(|w| {
                (
                    w["package"].as_str().unwrap_or_default().to_owned(),
                    w["message"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };
    for backend in backends() {
        let fleet = start(&backend);
        let dir = tempfile::tempdir().expect("temp dir");
        let root = AlpineRoot::new()
            .package("icu-libs", "57.1-r1", "icu")
            .write(&dir.path().join("root"));
        let cfg = fleet.agent_config(&root, &dir.path().join("state"));
        let creds = kensa_agent::enroll(&cfg, &fleet.enrollment_token()).expect("enroll");
        let asset = creds.asset_id.clone();
        let t0 = now_ms();
        assert!(matches!(
            kensa_agent::run_once(&cfg).expect("run"),
            Outcome::Delivered { .. }
        ));
        fleet.wait_for_evaluation(&asset, t0);
        let got = dropped(&fleet.asset_detail(&asset));
        assert_eq!(got.len(), 1, "{}: {got:?}", backend.label());
        let (package, message) = &got[0];
        assert_eq!(package, "icu-libs");
        for part in [
            "icu in alpine:3.4",
            "57-1-r2",
            "CVE-2016-7415",
            "v3.4/main.json",
        ] {
            assert!(message.contains(part), "{part:?} not in {message}");
        }

        // icu removed: the next evaluation has nothing dropped to report.
        std::fs::remove_file(root.join("lib/apk/db/installed")).expect("rm");
        AlpineRoot::new().write(&root);
        let t1 = now_ms();
        assert!(matches!(
            kensa_agent::run_once(&cfg).expect("run"),
            Outcome::Delivered { .. }
        ));
        fleet.wait_for_evaluation(&asset, t1);
        let detail = fleet.asset_detail(&asset);
        assert!(dropped(&detail).is_empty(), "{}: {detail}", backend.label());
    }
}
