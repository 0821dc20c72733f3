//! The register against the real server on loopback (TLS, SQLite and
//! PostgreSQL): a register of 20 servers imported as users import it, two
//! of them adopted by real agents reporting the data folder's real Alpine
//! database (evaluated against the knowledge base built from the data
//! folder), the others known from the register only, with the real
//! endoflife.date data deciding their OS's end of life.
//!
//! `GET /api/v1/assets` is checked against the store, every column of
//! every asset, with the open findings tallied here from the findings
//! list (not from the statement the server counts them with); the CSV
//! and XLSX exports are checked against the API, the XLSX read back with
//! `calamine`, a real reader of the format.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;
use std::time::{Duration, Instant};

use calamine::{Data, Reader, Xlsx};
use kensa_store::{Db, Filter, FindingQuery, Sort, Timestamp};
use kensa_testkit::roots::AlpineRoot;
use serde_json::{Value, json};

use crate::support::{Auth, Backend, TestServer, backends};

/// `YYYY-MM-DD`, `days` from today (UTC).
fn day(days: i64) -> String {
    let t = Timestamp::from_unix_ms(Timestamp::now().unix_ms() + days * 86_400_000);
    t.to_rfc3339()[..10].to_owned()
}

/// The register: 20 servers. `web-02`'s hardware support ends in 30 days
/// (written from today, so that it stays "soon"); `db-01`'s ended in 2024;
/// `legacy-01` runs CentOS 7, past its end of life; `app-03` and `app-04`
/// will be adopted by agents; `ops-05`'s owner is a formula, which the CSV
/// must not let a spreadsheet run.
pub(crate) fn register_csv() -> String {
    let soon = day(30);
    let mut csv = String::from(
        "name,hostname,ip_addresses,os,os_release,operation_start,support_end,owner,team,environment,tags,internet_exposure,exposed_ports\n",
    );
    let rows = [
        "web-01,web-01.corp.example,10.1.0.1;203.0.113.1,debian,12,2023-06-01,2028-03-31,alice@example.com,web,production,pci;frontend,yes,443/tcp;80/tcp".to_owned(),
        format!(
            "web-02,web-02.corp.example,10.1.0.2,debian,12,2023-06-01,{soon},alice@example.com,web,production,pci;frontend,yes,443/tcp"
        ),
        "db-01,db-01.corp.example,10.1.1.1,rhel,9,2019-07-01,2024-06-30,bob@example.com,payments,production,pci;database,no,".into(),
        "legacy-01,legacy-01.corp.example,10.1.9.1,centos,7,2016-03-01,2027-01-31,carol@example.com,finance,production,legacy,no,".into(),
        "app-03,app-03,10.1.2.3,,,2021-09-01,2029-08-31,dave@example.com,platform,staging,,unknown,".into(),
        "app-04,app-04,10.1.2.4,,,2021-09-01,2029-08-31,dave@example.com,platform,staging,,no,".into(),
        "\"=cmd|' /C calc'!A0\",ops-05.corp.example,10.1.3.5,debian,11,2020-01-15,2026-01-14,@ops,ops,production,,no,".into(),
        "ops-06,ops-06.corp.example,10.1.3.6,ubuntu,22.04,2022-05-01,2027-04-30,erin@example.com,ops,production,,no,".into(),
        "ops-07,ops-07.corp.example,10.1.3.7,ubuntu,20.04,2020-05-01,2025-04-30,erin@example.com,ops,staging,,no,".into(),
        "search-08,search-08.corp.example,10.1.4.8,rocky,9,2023-01-10,2028-01-09,frank@example.com,search,production,,yes,9200/tcp".into(),
        "search-09,search-09.corp.example,10.1.4.9,rocky,8,2021-01-10,2026-01-09,frank@example.com,search,production,,no,".into(),
        "mail-10,mail-10.corp.example,10.1.5.10,debian,11,2021-04-01,2026-03-31,grace@example.com,it,production,,yes,25/tcp;587/tcp".into(),
        "vpn-11,vpn-11.corp.example,10.1.5.11,alpine,3.19,2024-02-01,2029-01-31,grace@example.com,it,production,edge,yes,1194/udp".into(),
        "ci-12,ci-12.corp.example,10.1.6.12,amzn,2023,2024-03-01,2029-02-28,heidi@example.com,platform,ci,,no,".into(),
        "ci-13,ci-13.corp.example,10.1.6.13,amzn,2,2019-03-01,2024-02-29,heidi@example.com,platform,ci,,no,".into(),
        "bi-14,bi-14.corp.example,10.1.7.14,,,2022-08-01,,ivan@example.com,data,production,,unknown,".into(),
        "bi-15,bi-15.corp.example,10.1.7.15,debian,10,2019-08-01,2025-07-31,ivan@example.com,data,production,legacy,no,".into(),
        "lab-16,,10.1.8.16,,,,,,,lab,,,".into(),
        "lab-17,lab-17.corp.example,10.1.8.17,ubuntu,24.04,2025-01-01,2030-12-31,judy@example.com,research,lab,,no,".into(),
        "hr-18,hr-18.corp.example,10.1.9.18,rhel,8,2020-10-01,2026-09-30,kim@example.com,hr,production,pci,no,".into(),
    ];
    for r in rows {
        csv.push_str(&r);
        csv.push('\n');
    }
    csv
}

/// The test server with the register imported and two agents reporting.
pub(crate) struct Register {
    pub srv: TestServer,
    pub db: Db,
}

impl Register {
    pub(crate) fn start(backend: &Backend) -> Register {
        Register::with(TestServer::start(backend), backend)
    }

    pub(crate) fn with(srv: TestServer, backend: &Backend) -> Register {
        let r = srv.send(
            "POST",
            "/api/v1/assets/import?format=csv",
            Auth::Bearer(&srv.admin),
            "text/csv",
            register_csv().as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["created"], 20, "{}", r.text());
        let store = match backend.url() {
            Some(url) => kensa_store::Backend::Postgres(url),
            None => kensa_store::Backend::Sqlite(srv.server_dir().join("kensa.db")),
        };
        let db = Db::open(&store).expect("the server's database");
        let reg = Register { srv, db };
        for (n, host) in ["app-03", "app-04"].iter().enumerate() {
            let dir = reg.srv.data_dir().join(host);
            let root = AlpineRoot::new()
                .hostname(host)
                .machine_id(&format!("{:032x}", n + 1))
                .write(&dir.join("root"));
            let cfg = reg.srv.agent_config(&root, &dir.join("state"));
            kensa_agent::enroll(&cfg, &reg.srv.enrollment_token()).expect("enroll");
            let since = kensa_testkit::now_ms();
            kensa_agent::run_once(&cfg).expect("report");
            reg.srv.wait_evaluated(reg.id_of(host), since);
        }
        // Two of app-03's findings overdue: their due date set back by
        // hand, as an analyst does.
        let app03 = reg.id_of("app-03");
        let page = reg.srv.get(&format!(
            "/api/v1/findings?filter=asset_id%3D{app03}&limit=2&sort=vulnerability_id"
        ));
        let ids: Vec<i64> = page["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter_map(|f| f["id"].as_i64())
            .collect();
        assert_eq!(ids.len(), 2, "{page}");
        for (id, due) in ids.iter().zip(["2025-03-01", "2025-01-15"]) {
            let r = reg.srv.call(
                "POST",
                &format!("/api/v1/findings/{id}/triage"),
                Auth::Bearer(&reg.srv.admin),
                Some(json!({ "due_date": due })),
            );
            assert_eq!(r.status, 200, "{}", r.text());
        }
        // The register's OS end-of-life checks run as jobs.
        let deadline = Instant::now() + Duration::from_secs(60);
        while reg
            .db
            .asset(kensa_store::AssetId(reg.id_of("legacy-01")))
            .expect("asset")
            .and_then(|a| a.eol)
            .is_none()
        {
            assert!(
                Instant::now() < deadline,
                "no end of life for CentOS 7 in 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        reg
    }

    pub(crate) fn id_of(&self, name: &str) -> i64 {
        self.db
            .assets()
            .expect("assets")
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.id.0)
            .unwrap_or_else(|| panic!("no asset {name}"))
    }

    fn list(&self, query: &str) -> Value {
        self.srv.get(&format!("/api/v1/assets?{query}"))
    }

    fn names(&self, query: &str) -> Vec<String> {
        self.list(query)["assets"]
            .as_array()
            .expect("assets")
            .iter()
            .map(|a| a["name"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

fn enc(s: &str) -> String {
    serde_urlencoded::to_string([("filter", s)]).expect("encode")
}

/// An open finding: severity, due (ms), id, vulnerability.
type Open = (String, Option<i64>, i64, String);

/// Every open finding of each asset, from the findings list, page by
/// page: the counts the register must agree with, made another way.
fn open_findings(db: &Db) -> BTreeMap<i64, Vec<Open>> {
    let mut out: BTreeMap<i64, Vec<_>> = BTreeMap::new();
    let mut cursor = None;
    loop {
        let page = db
            .query_findings(&FindingQuery {
                filter: Filter::parse("status=ACTIVE").expect("filter"),
                sort: Sort::default(),
                limit: Some(1000),
                cursor,
            })
            .expect("findings");
        for f in &page.findings {
            out.entry(f.asset_id.0).or_default().push((
                f.severity.clone(),
                f.due_at.map(Timestamp::unix_ms),
                f.id.0,
                f.vulnerability_id.clone(),
            ));
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

#[test]
fn the_assets_api_shows_every_column_of_every_asset_as_the_store_holds_it() {
    for backend in backends() {
        let reg = Register::start(&backend);
        let list = reg.list("");
        let rows = list["assets"].as_array().expect("assets").clone();
        let stored = reg.db.assets().expect("assets");
        assert_eq!(rows.len(), 20, "{list}");
        assert_eq!(list["total"], 20);
        assert_eq!(list["next_page"], Value::Null);
        let ids: Vec<i64> = rows.iter().filter_map(|r| r["id"].as_i64()).collect();
        let stored_ids: Vec<i64> = stored.iter().map(|a| a.id.0).collect();
        assert_eq!(ids, stored_ids, "every asset once, by id");

        let open = open_findings(&reg.db);
        let now = Timestamp::now().unix_ms();
        let agents: BTreeSet<i64> = reg.srv.get("/api/v1/agents")["agents"]
            .as_array()
            .expect("agents")
            .iter()
            .filter(|a| a["revoked_at"].is_null())
            .filter_map(|a| a["asset_id"].as_i64())
            .collect();
        assert_eq!(agents.len(), 2);
        let coverage: BTreeMap<i64, (Value, Value)> = reg.srv.get("/api/v1/coverage")["assets"]
            .as_array()
            .expect("coverage")
            .iter()
            .map(|c| {
                (
                    c["asset_id"].as_i64().expect("id"),
                    (c["status"].clone(), c["reason"].clone()),
                )
            })
            .collect();
        for (row, a) in rows.iter().zip(&stored) {
            let label = format!("[{}] {}", backend.label(), a.name);
            // The asset's own record, as the store holds it.
            let mut want = serde_json::to_value(a).expect("asset JSON");
            // The OS's dates as of today, as every asset answer says them.
            want["eol"] = json!(a.eol.as_ref().map(|e| e.as_of(&day(0))));
            for (k, v) in want.as_object().expect("object") {
                assert_eq!(&row[k], v, "{label}: {k}");
            }
            assert_eq!(row["agent"], json!(agents.contains(&a.id.0)), "{label}");
            assert_eq!(
                row["scan_method"],
                if agents.contains(&a.id.0) {
                    "agent"
                } else {
                    "none"
                },
                "{label}"
            );
            let (status, reason) = &coverage[&a.id.0];
            assert_eq!(&row["coverage"]["status"], status, "{label}");
            assert_eq!(&row["coverage"]["reason"], reason, "{label}");
            assert_eq!(
                row["exposure"]["internet"],
                json!(a.management.internet_exposure.unwrap_or_default()),
                "{label}"
            );
            assert_eq!(
                row["os_support"]["eol"],
                json!(a.eol.as_ref().and_then(|e| e.eol.clone())),
                "{label}"
            );
            // Open findings, tallied from the findings list.
            let mine = open.get(&a.id.0).cloned().unwrap_or_default();
            let count = |sev: &str| mine.iter().filter(|f| f.0 == sev).count() as u64;
            let f = &row["findings"];
            for (key, sev) in [
                ("critical", "CRITICAL"),
                ("high", "HIGH"),
                ("medium", "MEDIUM"),
                ("low", "LOW"),
                ("informational", "INFORMATIONAL"),
                ("untriaged", "UNTRIAGED"),
            ] {
                assert_eq!(f[key], count(sev), "{label}: {key}");
            }
            assert_eq!(f["total"], mine.len() as u64, "{label}");
            let mut overdue: Vec<_> = mine
                .iter()
                .filter(|x| x.1.is_some_and(|d| d < now))
                .collect();
            overdue.sort_by_key(|x| (x.1, x.2));
            assert_eq!(f["overdue"], overdue.len() as u64, "{label}");
            match overdue.first() {
                Some(o) => {
                    assert_eq!(f["oldest_overdue"]["id"], o.2, "{label}");
                    assert_eq!(f["oldest_overdue"]["vulnerability_id"], o.3, "{label}");
                    assert_eq!(f["oldest_overdue"]["due_at"], json!(o.1), "{label}");
                }
                None => assert_eq!(f["oldest_overdue"], Value::Null, "{label}"),
            }
        }

        // What the register says of the servers it was written for.
        let by_name: BTreeMap<String, &Value> = rows
            .iter()
            .map(|r| (r["name"].as_str().unwrap_or_default().to_owned(), r))
            .collect();
        assert_eq!(by_name["db-01"]["support_end_state"], "past");
        assert_eq!(by_name["web-02"]["support_end_state"], "soon");
        assert_eq!(by_name["web-01"]["support_end_state"], "ok");
        assert_eq!(by_name["bi-14"]["support_end_state"], Value::Null);
        assert_eq!(by_name["legacy-01"]["os_support"]["state"], "ended");
        assert_eq!(by_name["legacy-01"]["os_support"]["eol_state"], "past");
        assert_eq!(
            by_name["app-03"]["os_support"]["state"], "ended",
            "Alpine 3.4"
        );
        assert_eq!(by_name["app-03"]["coverage"]["reason"], "OS_END_OF_LIFE");
        assert_eq!(by_name["lab-16"]["os_support"]["state"], "unknown");
        assert_eq!(by_name["lab-16"]["coverage"]["reason"], "UNMANAGED");
        assert_eq!(by_name["app-03"]["findings"]["overdue"], 2);
        assert_eq!(
            by_name["app-03"]["findings"]["oldest_overdue"]["due_at"],
            json!(
                Timestamp::parse_rfc3339("2025-01-15T23:59:59.999Z")
                    .map(Timestamp::unix_ms)
                    .ok()
            ),
            "the due date's end of day"
        );
        assert!(by_name["app-04"]["findings"]["total"].as_u64() > Some(0));
        assert_eq!(by_name["app-04"]["findings"]["overdue"], 0);
        assert_eq!(
            by_name["lab-17"]["findings"]["total"], 0,
            "no findings, listed all the same"
        );

        // One asset reads the same alone.
        let one = reg
            .srv
            .get(&format!("/api/v1/assets/{}", reg.id_of("app-03")));
        assert_eq!(one, *by_name["app-03"]);
    }
}

#[test]
fn assets_filter_sort_and_page_as_the_filter_language_says() {
    for backend in backends() {
        let reg = Register::start(&backend);
        let all = reg.list("")["assets"].as_array().expect("assets").clone();
        let today = day(0);
        let soon = day(90);
        let names_where = |pred: &dyn Fn(&Value) -> bool| -> BTreeSet<String> {
            all.iter()
                .filter(|r| pred(r))
                .map(|r| r["name"].as_str().unwrap_or_default().to_owned())
                .collect()
        };
        let got =
            |filter: &str| -> BTreeSet<String> { reg.names(&enc(filter)).into_iter().collect() };
        let m = |r: &Value, k: &str| r["management"][k].as_str().map(str::to_owned);
        for (filter, want) in [
            (
                "team=payments,web",
                names_where(&|r| matches!(m(r, "team").as_deref(), Some("payments" | "web"))),
            ),
            (
                &*format!("support_end<{today}"),
                names_where(&|r| m(r, "support_end").is_some_and(|d| d < today)),
            ),
            (
                "support_end<today",
                names_where(&|r| m(r, "support_end").is_some_and(|d| d < today)),
            ),
            (
                "support_end<=+90d support_end>=today",
                names_where(&|r| m(r, "support_end").is_some_and(|d| d >= today && d <= soon)),
            ),
            (
                "os_eol<=+90d",
                names_where(&|r| {
                    r["os_support"]["eol"]
                        .as_str()
                        .is_some_and(|d| d <= soon.as_str())
                }),
            ),
            (
                "internet_exposure=yes",
                names_where(&|r| r["exposure"]["internet"] == "yes"),
            ),
            (
                "exposure=unknown",
                names_where(&|r| r["exposure"]["internet"] == "unknown"),
            ),
            ("agent=true", names_where(&|r| r["agent"] == true)),
            (
                "agent=false tag=pci",
                names_where(&|r| {
                    r["agent"] == false
                        && r["management"]["tags"]
                            .as_array()
                            .is_some_and(|t| t.contains(&json!("pci")))
                }),
            ),
            (
                "severity=CRITICAL,HIGH status=ACTIVE",
                names_where(&|r| {
                    r["findings"]["critical"].as_u64() > Some(0)
                        || r["findings"]["high"].as_u64() > Some(0)
                }),
            ),
            (
                "os=debian os_release=12",
                names_where(&|r| r["os_id"] == "debian" && r["os_release"] == "12"),
            ),
            (
                "port=443",
                names_where(&|r| {
                    r["management"]["exposed_ports"]
                        .as_array()
                        .is_some_and(|p| p.iter().any(|p| p["port"] == 443))
                }),
            ),
            (
                "source=register",
                names_where(&|r| r["source"] == "register"),
            ),
            (
                "asset_name^=web-",
                names_where(&|r| r["name"].as_str().is_some_and(|n| n.starts_with("web-"))),
            ),
        ] {
            assert!(
                !want.is_empty() || filter.starts_with("support_end<=+90d"),
                "{filter}: a test that selects nothing tests nothing"
            );
            assert_eq!(got(filter), want, "[{}] {filter}", backend.label());
        }
        assert_eq!(got("agent=true").len(), 2);
        assert!(got("support_end<=+90d support_end>=today").contains("web-02"));

        // Sorts: by name (case folded), either way; counts most first;
        // dates with the undated last.
        let mut by_name: Vec<String> = all
            .iter()
            .map(|r| r["name"].as_str().unwrap_or_default().to_owned())
            .collect();
        by_name.sort_by_key(|n| (n.to_lowercase(), n.clone()));
        assert_eq!(reg.names("sort=name"), by_name);
        let mut reversed = by_name.clone();
        reversed.reverse();
        assert_eq!(reg.names("sort=-name"), reversed);
        let crit: Vec<(u64, u64)> = reg.list("sort=critical:desc")["assets"]
            .as_array()
            .expect("assets")
            .iter()
            .map(|r| {
                (
                    r["findings"]["critical"].as_u64().unwrap_or(0),
                    r["findings"]["high"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        assert!(crit.windows(2).all(|w| w[0] >= w[1]), "{crit:?}");
        assert!(
            crit[0] > (0, 0),
            "the real Alpine database has critical or high findings"
        );
        let ends: Vec<Option<String>> = reg.list("sort=support_end")["assets"]
            .as_array()
            .expect("assets")
            .iter()
            .map(|r| m(r, "support_end"))
            .collect();
        let dated = ends.iter().take_while(|d| d.is_some()).count();
        assert!(
            ends[dated..].iter().all(Option::is_none),
            "undated last: {ends:?}"
        );
        assert!(ends[..dated].windows(2).all(|w| w[0] <= w[1]), "{ends:?}");

        // Pages: disjoint, in order, and together the whole list.
        let mut paged = Vec::new();
        for page in 0..3 {
            let p = reg.list(&format!("sort=name&limit=7&page={page}"));
            assert_eq!(p["total"], 20);
            assert_eq!(
                p["next_page"],
                if page < 2 {
                    json!(page + 1)
                } else {
                    Value::Null
                }
            );
            paged.extend(
                p["assets"]
                    .as_array()
                    .expect("assets")
                    .iter()
                    .map(|r| r["name"].as_str().unwrap_or_default().to_owned()),
            );
        }
        assert_eq!(paged, by_name);

        // Mistakes are named; nobody without a user token reads the list.
        for (query, want) in [
            ("filter=colour%3Dred", "unknown key \"colour\""),
            ("filter=support_end%3Dsoon", "is not a date"),
            ("sort=colour", "assets sort by"),
            ("limit=0", "1 to 1000"),
            ("limit=1001", "1 to 1000"),
        ] {
            let r = reg.srv.call(
                "GET",
                &format!("/api/v1/assets?{query}"),
                Auth::Bearer(&reg.srv.admin),
                None,
            );
            assert_eq!(r.status, 400, "{query}");
            assert!(
                r.json()["error"].as_str().is_some_and(|e| e.contains(want)),
                "{query}: {}",
                r.text()
            );
        }
        let viewer = reg.srv.api_token("auditor", "viewer");
        assert_eq!(
            reg.srv
                .call("GET", "/api/v1/assets", Auth::Bearer(&viewer), None)
                .status,
            200
        );
        assert_eq!(
            reg.srv
                .call("GET", "/api/v1/assets", Auth::None, None)
                .status,
            401
        );
        assert_eq!(
            reg.srv
                .call("GET", "/api/v1/assets/export?format=csv", Auth::None, None)
                .status,
            401
        );
        let r = reg.srv.call(
            "GET",
            "/api/v1/assets/export?format=pdf",
            Auth::Bearer(&viewer),
            None,
        );
        assert_eq!(r.status, 400, "{}", r.text());
    }
}

/// What the export's cell of `key` holds for an API row.
fn expected_cell(r: &Value, key: &str) -> String {
    let s = |v: &Value| match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let m = &r["management"];
    let list = |v: &Value, sep: &str| {
        v.as_array()
            .into_iter()
            .flatten()
            .map(s)
            .collect::<Vec<_>>()
            .join(sep)
    };
    match key {
        "id" | "name" | "kind" | "hostname" | "instance_id" | "os_release" => s(&r[key]),
        "ip_addresses" => list(&r["ip_addresses"], " "),
        "os" => s(if r["os_pretty"].is_null() {
            &r["os_id"]
        } else {
            &r["os_pretty"]
        }),
        "os_eol" => s(&r["os_support"]["eol"]),
        "os_eol_state" => s(&r["os_support"]["eol_state"]),
        "os_support" => s(&r["os_support"]["state"]),
        "os_extended_support" => s(&r["os_support"]["extended_support"]),
        "middleware" => r["middleware"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|mw| format!("{} {}", s(&mw["name"]), s(&mw["version"])))
            .collect::<Vec<_>>()
            .join("; "),
        "operation_start" | "support_end" | "owner" | "team" | "environment" => s(&m[key]),
        "support_end_state" => s(&r["support_end_state"]),
        "internet_exposure" => s(&r["exposure"]["internet"]),
        "exposed_ports" => m["exposed_ports"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| match p["to_port"].as_u64() {
                Some(to) if Some(to) != p["port"].as_u64() => {
                    format!("{}-{to}/{}", p["port"], s(&p["protocol"]))
                }
                _ => format!("{}/{}", p["port"], s(&p["protocol"])),
            })
            .collect::<Vec<_>>()
            .join(" "),
        "tags" => list(&m["tags"], "; "),
        "coverage_status" => s(&r["coverage"]["status"]),
        "coverage_reason" => s(&r["coverage"]["reason"]),
        "scan_method" => s(&r["scan_method"]),
        "last_report" => r["inventory_at"]
            .as_i64()
            .map(|t| {
                let t = Timestamp::from_unix_ms(t).to_rfc3339();
                format!("{} {}", &t[..10], &t[11..16])
            })
            .unwrap_or_default(),
        "critical" | "high" | "medium" | "low" | "informational" | "untriaged" | "overdue" => {
            s(&r["findings"][key])
        }
        "open" => s(&r["findings"]["total"]),
        "oldest_overdue" => match &r["findings"]["oldest_overdue"] {
            Value::Null => String::new(),
            o => format!("{} {}", s(&o["vulnerability_id"]), s(&o["package_name"])),
        },
        "oldest_overdue_due" => r["findings"]["oldest_overdue"]["due_at"]
            .as_i64()
            .map(|t| Timestamp::from_unix_ms(t).to_rfc3339()[..10].to_owned())
            .unwrap_or_default(),
        other => panic!("a column the test does not know: {other}"),
    }
}

#[test]
fn the_register_exports_as_csv_and_xlsx_with_every_column_in_both_languages() {
    use kensa_server::asset_list::COLUMNS;
    for backend in backends() {
        let reg = Register::start(&backend);
        let rows: BTreeMap<String, Value> = reg.list("")["assets"]
            .as_array()
            .expect("assets")
            .iter()
            .map(|r| (r["id"].to_string(), r.clone()))
            .collect();
        let filter = "environment=production,staging,ci,lab";

        // CSV, English headers.
        let r = reg.srv.call(
            "GET",
            &format!(
                "/api/v1/assets/export?format=csv&lang=en&sort=name&{}",
                enc(filter)
            ),
            Auth::Bearer(&reg.srv.admin),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
        assert!(
            r.header("content-disposition")
                .is_some_and(|d| d.contains("kensa-assets-") && d.ends_with(".csv\""))
        );
        let mut csv = csv::Reader::from_reader(r.body.as_slice());
        let header: Vec<String> = csv
            .headers()
            .expect("header")
            .iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(header, COLUMNS.iter().map(|c| c.1).collect::<Vec<_>>());
        let mut seen = Vec::new();
        for rec in csv.records() {
            let rec = rec.expect("record");
            let row = &rows[&rec[0]];
            for (i, (key, _, _)) in COLUMNS.iter().enumerate() {
                let want = expected_cell(row, key);
                // Cells a spreadsheet would run as a formula start with '.
                let want = if want.starts_with(['=', '+', '-', '@']) {
                    format!("'{want}")
                } else {
                    want
                };
                assert_eq!(&rec[i], want, "[{}] {} {key}", backend.label(), row["name"]);
            }
            seen.push(row["name"].as_str().unwrap_or_default().to_owned());
        }
        let mut want: Vec<String> = rows
            .values()
            .filter(|r| r["management"]["environment"].is_string())
            .map(|r| r["name"].as_str().unwrap_or_default().to_owned())
            .collect();
        want.sort_by_key(|n| (n.to_lowercase(), n.clone()));
        assert_eq!(seen, want, "the filter's assets, in the sort's order");
        assert!(seen.contains(&"=cmd|' /C calc'!A0".to_owned()));

        // XLSX, Japanese headers, read back with a real reader.
        let r = reg.srv.call(
            "GET",
            "/api/v1/assets/export?format=xlsx&lang=ja",
            Auth::Bearer(&reg.srv.admin),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(
            r.header("content-type"),
            Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        );
        let mut book: Xlsx<_> = Xlsx::new(Cursor::new(r.body.clone())).expect("an XLSX file");
        assert_eq!(book.sheet_names(), ["資産台帳"]);
        let range = book.worksheet_range("資産台帳").expect("the sheet");
        let cell = |d: &Data| match d {
            Data::Empty => String::new(),
            Data::String(s) => s.clone(),
            Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
            Data::Int(i) => i.to_string(),
            other => panic!("unexpected cell {other:?}"),
        };
        let mut it = range.rows();
        let header: Vec<String> = it.next().expect("header").iter().map(cell).collect();
        assert_eq!(header, COLUMNS.iter().map(|c| c.2).collect::<Vec<_>>());
        let mut n = 0;
        for line in it {
            let cells: Vec<String> = line.iter().map(cell).collect();
            let row = &rows[&cells[0]];
            for (i, (key, _, _)) in COLUMNS.iter().enumerate() {
                // A string cell is text, never a formula: written as is.
                let got = cells.get(i).cloned().unwrap_or_default();
                assert_eq!(
                    got,
                    expected_cell(row, key),
                    "[{}] {} {key}",
                    backend.label(),
                    row["name"]
                );
            }
            // Counts are numbers, not text.
            let open = COLUMNS.iter().position(|c| c.0 == "open").expect("open");
            assert!(
                matches!(line[open], Data::Float(_) | Data::Int(_)),
                "{:?}",
                line[open]
            );
            n += 1;
        }
        assert_eq!(n, 20);
        let formulas = book.worksheet_formula("資産台帳").expect("formulas");
        assert!(
            formulas.used_cells().all(|(_, _, f)| f.is_empty()),
            "no formula in the file"
        );
    }
}
