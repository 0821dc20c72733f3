//! The asset register against the real server on loopback (TLS, SQLite
//! and PostgreSQL): CSV and EC2 imports (the fixtures in `testdata/`),
//! management items by PATCH and who may change them, coverage of
//! machines without an agent, an agent adopting its registered machine,
//! and the facts derived from real package databases (the data folder's
//! Alpine and Mariner databases) and the real endoflife.date data.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use kensa_testkit::now_ms;
use kensa_testkit::roots::AlpineRoot;

use crate::support;
use support::{Auth, Fleet, backends, start};

fn testdata(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

impl Fleet {
    /// A request with a raw body; the status and the JSON answer.
    fn send(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<(&str, &str)>,
    ) -> (u16, Value) {
        let r = match body {
            Some((content_type, b)) => self.0.send(
                method,
                path,
                Auth::Bearer(token),
                content_type,
                b.as_bytes(),
            ),
            None => self.call(method, path, Auth::Bearer(token), None),
        };
        (r.status, r.json())
    }

    fn import(&self, format: &str, token: &str, body: &str) -> (u16, Value) {
        self.send(
            "POST",
            &format!("/api/v1/assets/import?format={format}"),
            token,
            Some(("application/octet-stream", body)),
        )
    }

    fn patch(&self, id: i64, token: &str, body: Value) -> (u16, Value) {
        self.send(
            "PATCH",
            &format!("/api/v1/assets/{id}"),
            token,
            Some(("application/json", &body.to_string())),
        )
    }

    fn assets(&self) -> Vec<Value> {
        self.get("/api/v1/assets")["assets"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    fn id_of(&self, name: &str) -> i64 {
        self.assets()
            .iter()
            .find(|a| a["name"] == name)
            .and_then(|a| a["id"].as_i64())
            .unwrap_or_else(|| panic!("no asset named {name}"))
    }

    fn detail(&self, id: i64) -> Value {
        self.get(&format!("/api/v1/assets/{id}"))
    }

    /// `(status, reason)` of one asset, and the counts.
    fn coverage(&self, id: i64) -> ((String, String), Value) {
        let body = self.get("/api/v1/coverage");
        let row = body["assets"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["asset_id"].as_i64() == Some(id))
            .map(|r| {
                (
                    r["status"].as_str().unwrap_or_default().to_owned(),
                    r["reason"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .unwrap_or_else(|| panic!("asset {id} not in coverage: {body}"));
        (row, body["counts"].clone())
    }

    fn token(&self, role: &str) -> String {
        self.api_token(&format!("a {role}"), role)
    }

    fn new_enrollment_token(&self) -> String {
        self.enrollment_token()
    }

    fn evaluated_since(&self, id: i64, since: i64) {
        self.wait_evaluated(id, since)
    }
}

/// The describe-instances fixture merged with the security groups, as
/// `jq -s add` makes it.
fn ec2_with_groups() -> String {
    let mut doc: Value =
        serde_json::from_str(&testdata("ec2-describe-instances.json")).expect("instances JSON");
    let groups: Value =
        serde_json::from_str(&testdata("ec2-describe-security-groups.json")).expect("groups JSON");
    doc["SecurityGroups"] = groups["SecurityGroups"].clone();
    doc.to_string()
}

fn ports(d: &Value) -> Vec<String> {
    d["management"]["exposed_ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            format!(
                "{}/{} {}",
                p["port"],
                p["protocol"].as_str().unwrap_or_default(),
                p["source"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

#[test]
fn imported_machines_appear_with_their_management_items_as_unmanaged() {
    for backend in backends() {
        let fleet = start(&backend);
        let (status, body) = fleet.import("csv", &fleet.admin, &testdata("assets.csv"));
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            (&body["created"], &body["updated"], &body["unchanged"]),
            (&json!(5), &json!(0), &json!(0)),
            "{body}"
        );
        assert_eq!(body["assets"][0]["at"], "line 3");

        let db = fleet.detail(fleet.id_of("billing-db-1"));
        assert_eq!(db["source"], "register");
        assert_eq!(db["agent"], false);
        assert_eq!(db["inventory_at"], Value::Null);
        assert_eq!(
            (&db["os_id"], &db["os_release"]),
            (&json!("rhel"), &json!("9"))
        );
        assert_eq!(db["ip_addresses"], json!(["10.20.5.40"]));
        assert_eq!(
            db["management"],
            json!({
                "operation_start": "2022-11-15",
                "support_end": "2026-11-14",
                "owner": "bob@example.com",
                "team": "payments",
                "environment": "production",
                "tags": ["pci", "database"],
                "internet_exposure": "no",
                "exposed_ports": [],
            })
        );
        assert_eq!(
            db["coverage"],
            json!({ "status": "INACTIVE", "reason": "UNMANAGED" })
        );
        let web2 = fleet.detail(fleet.id_of("web-frontend-2"));
        assert_eq!(web2["exposure"]["internet"], "yes", "ports imply exposure");
        assert_eq!(ports(&web2), ["443/tcp register"]);
        assert_eq!(web2["ip_addresses"], json!(["10.20.1.12", "203.0.113.22"]));
        fleet.id_of("Legacy reporting, rack B4");

        let (status, body) = fleet.import("ec2", &fleet.admin, &ec2_with_groups());
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["created"], 3, "{body}");
        assert_eq!(body["skipped"].as_array().map(Vec::len), Some(1), "{body}");
        assert!(
            body["skipped"][0]
                .as_str()
                .is_some_and(|s| s.contains("i-0d4e5f60718293a4b") && s.contains("terminated")),
            "{body}"
        );
        let web = fleet.detail(fleet.id_of("shop-web-1"));
        assert_eq!(web["instance_id"], "i-0a1b2c3d4e5f60718");
        assert_eq!(web["hostname"], "ip-10-40-1-17.eu-west-1.compute.internal");
        assert_eq!(web["ip_addresses"], json!(["10.40.1.17", "198.51.100.17"]));
        assert_eq!(web["os_pretty"], "Linux/UNIX");
        assert_eq!(web["management"]["owner"], "erin@example.com");
        assert_eq!(web["management"]["team"], "shop");
        assert_eq!(web["management"]["environment"], "production");
        assert_eq!(web["management"]["operation_start"], "2024-02-12");
        assert_eq!(web["management"]["tags"], json!(["CostCenter=4711"]));
        assert_eq!(web["exposure"]["internet"], "yes");
        // SSH is open to the office only: not exposed.
        assert_eq!(
            ports(&web),
            [
                "80/tcp aws-security-group sg-0aaa1111bbbb22223",
                "443/tcp aws-security-group sg-0aaa1111bbbb22223"
            ]
        );
        // Its group opens 443 to the world, but it has no public address.
        let worker = fleet.detail(fleet.id_of("shop-worker-1"));
        assert_eq!(worker["exposure"]["internet"], "no");
        assert_eq!(ports(&worker), Vec::<String>::new());
        let jump = fleet.detail(fleet.id_of("finance-jump-host"));
        assert_eq!(jump["os_pretty"], "Windows");
        assert_eq!(jump["management"]["owner"], "frank@example.com");

        let (_, counts) = fleet.coverage(fleet.id_of("shop-web-1"));
        assert_eq!(counts, json!({ "UNMANAGED": 8 }));

        // The same registers again: nothing changes (the instances without
        // their security groups keep the ports found before).
        let (status, body) = fleet.import("csv", &fleet.admin, &testdata("assets.csv"));
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            (&body["created"], &body["unchanged"]),
            (&json!(0), &json!(5))
        );
        let (status, body) = fleet.import(
            "ec2",
            &fleet.admin,
            &testdata("ec2-describe-instances.json"),
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            (&body["created"], &body["unchanged"]),
            (&json!(0), &json!(3))
        );
        assert_eq!(fleet.assets().len(), 8);
    }
}

#[test]
fn bad_registers_change_nothing_and_only_admins_change_assets() {
    for backend in backends() {
        let fleet = start(&backend);
        let (status, body) = fleet.import("csv", &fleet.admin, &testdata("assets-bad.csv"));
        assert_eq!(status, 400, "{body}");
        let located: Vec<(i64, String)> = body["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                (
                    e["line"].as_i64().unwrap_or_default(),
                    e["column"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            located,
            [(1, "colour".to_owned()), (3, "operation_start".to_owned())],
            "{body}"
        );
        let message = body["error"].as_str().unwrap_or_default();
        assert!(
            message.contains("line 1, column colour") && message.contains("nothing was imported"),
            "{message}"
        );
        assert!(
            body["errors"][1]["message"]
                .as_str()
                .is_some_and(|m| m.contains("2022-11-31")),
            "{body}"
        );
        assert!(fleet.assets().is_empty());

        // Two lines for one machine: the second is named, nothing stored.
        let twice = "name,owner\nweb-1,alice\nWEB-1,bob\n";
        let (status, body) = fleet.import("csv", &fleet.admin, twice);
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["errors"][0]["line"], 3, "{body}");
        assert!(fleet.assets().is_empty());

        for (format, input, expect) in [
            ("xlsx", "name\nweb-1\n", "format"),
            ("ec2", "not json", "not JSON"),
            ("ec2", "{\"Instances\": []}", "Reservations"),
            ("csv", "name,owner\n", "no asset"),
        ] {
            let (status, body) = fleet.import(format, &fleet.admin, input);
            assert_eq!(status, 400, "{format}: {body}");
            assert!(
                body["error"].as_str().is_some_and(|m| m.contains(expect)),
                "{format}: {body}"
            );
        }
        assert!(fleet.assets().is_empty());

        // A viewer reads, but neither imports nor changes management items.
        let viewer = fleet.token("viewer");
        let analyst = fleet.token("analyst");
        for t in [&viewer, &analyst] {
            let (status, body) = fleet.import("csv", t, &testdata("assets.csv"));
            assert_eq!(status, 403, "{body}");
        }
        assert!(fleet.assets().is_empty());
        let (status, _) = fleet.import("csv", &fleet.admin, &testdata("assets.csv"));
        assert_eq!(status, 200);
        let id = fleet.id_of("web-frontend-1");
        let (status, _) = fleet.send("GET", &format!("/api/v1/assets/{id}"), &viewer, None);
        assert_eq!(status, 200);
        for t in [&viewer, &analyst] {
            let (status, body) = fleet.patch(id, t, json!({ "owner": "mallory" }));
            assert_eq!(status, 403, "{body}");
        }
        assert_eq!(fleet.detail(id)["management"]["owner"], "alice@example.com");

        // The admin's mistakes are explained.
        for (body, expect) in [
            (json!({ "support_end": "2026-02-30" }), "support_end"),
            (
                json!({ "colour": "blue" }),
                "unknown management item \"colour\"",
            ),
            (json!({ "tags": "pci" }), "tags"),
            (json!({ "internet_exposure": "maybe" }), "internet_exposure"),
            (json!({ "exposed_ports": ["http"] }), "exposed_ports[0]"),
            (
                json!({ "exposed_ports": [{ "port": 70000 }] }),
                "exposed_ports[0]",
            ),
            (
                json!({ "support_end": "2020-01-01" }),
                "before operation_start",
            ),
            (json!(["owner"]), "JSON object"),
        ] {
            let (status, answer) = fleet.patch(id, &fleet.admin, body.clone());
            assert_eq!(status, 400, "{body}: {answer}");
            assert!(
                answer["error"].as_str().is_some_and(|m| m.contains(expect)),
                "{body}: {answer}"
            );
        }
        let (status, _) = fleet.patch(999_999, &fleet.admin, json!({ "owner": "x" }));
        assert_eq!(status, 404);
        let (status, _) = fleet.send("GET", "/api/v1/assets/abc", &fleet.admin, None);
        assert_eq!(status, 400);

        let (status, d) = fleet.patch(
            id,
            &fleet.admin,
            json!({
                "owner": "zoe@example.com",
                "tags": ["pci"],
                "exposed_ports": ["8443/tcp", { "port": 3478, "protocol": "udp" }],
            }),
        );
        assert_eq!(status, 200, "{d}");
        assert_eq!(d["management"]["owner"], "zoe@example.com");
        assert_eq!(ports(&d), ["8443/tcp api", "3478/udp api"]);
        // Null clears one item; the others stay.
        let (status, d) = fleet.patch(id, &fleet.admin, json!({ "owner": null }));
        assert_eq!(status, 200, "{d}");
        assert_eq!(d["management"]["owner"], Value::Null);
        assert_eq!(d["management"]["tags"], json!(["pci"]));
        assert_eq!(d["management"]["team"], "web");
        assert_eq!(fleet.detail(id)["management"], d["management"]);
    }
}

/// An Alpine 3.4 root from the data folder's real apk database, named as a
/// registered machine, with Alpine 3.4's os-release.
fn alpine_root(dir: &Path, hostname: &str) -> PathBuf {
    AlpineRoot::new()
        .os_release()
        .hostname(hostname)
        .machine_id("5f1c0ae8a3b94b6e9d7f2c4a1e0b3d67")
        .write(&dir.join("alpine"))
}

/// A CBL-Mariner 2.0 root from the data folder's real rpm SQLite database.
fn mariner_root(dir: &Path) -> PathBuf {
    let root = dir.join("mariner");
    std::fs::create_dir_all(root.join("var/lib/rpm")).expect("mkdir");
    std::fs::create_dir_all(root.join("etc")).expect("mkdir");
    std::fs::copy(
        kensa_testkit::data_path("fixtures/rpm/mariner-2.0-sqlite/rpmdb.sqlite"),
        root.join("var/lib/rpm/rpmdb.sqlite"),
    )
    .expect("copy");
    std::fs::write(
        root.join("etc/os-release"),
        "NAME=\"Common Base Linux Mariner\"\nVERSION=\"2.0.20240123\"\nID=mariner\nVERSION_ID=\"2.0\"\nPRETTY_NAME=\"CBL-Mariner/Linux\"\nANSI_COLOR=\"1;34\"\n",
    )
    .expect("write");
    std::fs::write(root.join("etc/hostname"), "build-runner-7\n").expect("write");
    std::fs::write(
        root.join("etc/machine-id"),
        "0b6f3a9c2d1e4f5a8b7c6d5e4f3a2b1c\n",
    )
    .expect("write");
    root
}

#[test]
fn an_agent_adopts_its_registered_machine_and_reports_what_runs_on_it() {
    for backend in backends() {
        let fleet = start(&backend);
        let (status, _) = fleet.import("csv", &fleet.admin, &testdata("assets.csv"));
        assert_eq!(status, 200);
        let id = fleet.id_of("alpine-edge-1");
        assert_eq!(
            fleet.coverage(id).0,
            ("INACTIVE".to_owned(), "UNMANAGED".to_owned())
        );

        let dir = tempfile::tempdir().expect("temp dir");
        // The hostname as the machine has it, in another case than the
        // register's.
        let alpine = alpine_root(dir.path(), "Alpine-Edge-1.corp.example");
        let a = fleet.agent_config(&alpine, &dir.path().join("state-a"));
        let creds = kensa_agent::enroll(&a, &fleet.new_enrollment_token()).expect("enroll");
        assert_eq!(
            creds.asset_id,
            id.to_string(),
            "the registered asset is adopted"
        );
        assert_eq!(fleet.assets().len(), 5);
        let (row, counts) = fleet.coverage(id);
        assert_eq!(
            row,
            ("INACTIVE".to_owned(), "PENDING_INITIAL_SCAN".to_owned())
        );
        assert_eq!(counts["UNMANAGED"], 4);
        assert_eq!(counts["PENDING_INITIAL_SCAN"], 1);

        let t0 = now_ms();
        kensa_agent::run_once(&a).expect("run");
        fleet.evaluated_since(id, t0);
        // Alpine 3.4 ended on 2018-05-01 (endoflife.date): still scanned,
        // so ACTIVE, with the reason said and counted.
        let (row, counts) = fleet.coverage(id);
        assert_eq!(row, ("ACTIVE".to_owned(), "OS_END_OF_LIFE".to_owned()));
        assert_eq!(counts["OS_END_OF_LIFE"], 1);
        let d = fleet.detail(id);
        assert_eq!(d["agent"], true);
        assert_eq!(d["source"], "register");
        assert_eq!(d["name"], "alpine-edge-1", "the register's name stays");
        assert_eq!(d["os_pretty"], "Alpine Linux v3.4");
        assert_eq!(
            (&d["os_id"], &d["os_release"]),
            (&json!("alpine"), &json!("3.4"))
        );
        assert_eq!(d["management"]["owner"], "dave@example.com");
        assert_eq!(d["management"]["environment"], "staging");
        assert_eq!(d["eol"]["product"], "alpine-linux");
        assert_eq!(d["eol"]["cycle"], "3.4");
        assert_eq!(d["eol"]["eol"], "2018-05-01");
        assert_eq!(d["eol"]["status"], "ended");
        assert_eq!(d["end_of_life"], true);
        assert!(d["inventory_at"].as_i64().is_some_and(|t| t >= t0));
        // Nothing in this apk database is server software.
        assert_eq!(d["middleware"], json!([]));

        // A machine nobody registered: its own asset, its software found.
        let mariner = mariner_root(dir.path());
        let b = fleet.agent_config(&mariner, &dir.path().join("state-b"));
        let creds = kensa_agent::enroll(&b, &fleet.new_enrollment_token()).expect("enroll");
        let mid: i64 = creds.asset_id.parse().expect("id");
        assert_ne!(mid, id);
        let t0 = now_ms();
        kensa_agent::run_once(&b).expect("run");
        fleet.evaluated_since(mid, t0);
        let d = fleet.detail(mid);
        assert_eq!(d["source"], "agent");
        assert_eq!(d["os_pretty"], "CBL-Mariner/Linux");
        assert_eq!(
            d["middleware"],
            json!([{ "name": "python", "version": "3.9.9-3.cm2", "package": "python3" }])
        );
        assert_eq!(fleet.assets().len(), 6);
    }
}
