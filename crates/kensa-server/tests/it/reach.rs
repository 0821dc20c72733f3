//! Network reachability through the real server (issue 18), on SQLite and
//! PostgreSQL: agents push host inventories with listening sockets as the
//! agent does (enrolment, then `PUT /api/v1/agent/inventory/{hash}` of the
//! canonical bytes), an admin imports kensa-reach's AWS CLI fixtures one
//! document at a time, and without any new inventory the
//! NETWORK_REACHABILITY findings open and the package findings are
//! re-scored; replacing the security groups without the SSH rule closes
//! the SSH finding. The inventories are collected from a real Alpine root
//! (the data folder's apk database) with a real Python package
//! (`vantage6-server` 4.1.0, PYSEC-2024-34, CVSS 9.8) added; the
//! collector reads no sockets from a root, so the listeners an agent on
//! that host would report are added to the document.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use kensa_testkit::roots::AlpineRoot;

use crate::support::{Auth, Fleet, backends, start};

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../kensa-reach/testdata")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The AWS documents, one per command, as `aws … > file.json` writes them.
const AWS_FILES: &[&str] = &[
    "ec2-describe-instances.json",
    "ec2-describe-security-groups.json",
    "ec2-describe-network-acls.json",
    "ec2-describe-route-tables.json",
    "ec2-describe-internet-gateways.json",
    "ec2-describe-nat-gateways.json",
    "ec2-describe-subnets.json",
    "elbv2-describe-load-balancers.json",
    "elbv2-describe-listeners.json",
    "elbv2-describe-target-groups.json",
    "elbv2-describe-target-health.json",
];

const SSH_GROUP: &str = "sg-0a11a11a11a11a11a";

/// A document as uploaded: `describe-target-health` named with its target
/// group, as docs/reachability.md tells (`jq '. + {TargetGroupArn: $tg}'`).
fn document(name: &str) -> Vec<u8> {
    let bytes = fixture(name);
    if name != "elbv2-describe-target-health.json" {
        return bytes;
    }
    let groups: Value =
        serde_json::from_slice(&fixture("elbv2-describe-target-groups.json")).expect("json");
    let tg = groups["TargetGroups"][0]["TargetGroupArn"]
        .as_str()
        .expect("a target group");
    let mut doc: Value = serde_json::from_slice(&bytes).expect("json");
    doc["TargetGroupArn"] = json!(tg);
    serde_json::to_vec(&doc).expect("json")
}

/// The security groups with the SSH group's port-22 rule removed.
fn groups_without_ssh() -> Vec<u8> {
    let mut doc: Value =
        serde_json::from_slice(&fixture("ec2-describe-security-groups.json")).expect("json");
    let groups = doc["SecurityGroups"].as_array_mut().expect("groups");
    let ssh = groups
        .iter_mut()
        .find(|g| g["GroupId"] == SSH_GROUP)
        .expect("the SSH group");
    let rules = ssh["IpPermissions"].as_array_mut().expect("rules");
    let before = rules.len();
    rules.retain(|r| r["FromPort"] != 22);
    assert_eq!(rules.len() + 1, before, "one rule for port 22: {ssh}");
    serde_json::to_vec(&doc).expect("json")
}

struct Host<'a> {
    hostname: &'a str,
    ips: &'a [&'a str],
    instance: Option<&'a str>,
    /// (port, process)
    listeners: &'a [(u16, &'a str)],
}

impl Fleet {
    fn enrol(&self, machine: &str) -> (String, i64) {
        let r = self.call(
            "POST",
            "/api/v1/agents/enroll",
            Auth::None,
            Some(json!({"enrollment_token": self.enrollment_token(),
                        "hostname": machine, "machine_id": machine})),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        let b = r.json();
        (
            b["token"].as_str().expect("token").to_owned(),
            b["asset_id"].as_str().expect("asset").parse().expect("id"),
        )
    }

    /// Enrols an agent for `h` and pushes its host inventory; the asset id.
    fn push_host(&self, root: &Path, h: &Host) -> i64 {
        let (token, asset) = self.enrol(h.hostname);
        let mut inv = kensa_inventory::collect(&kensa_agent::Target::Root(root.to_owned()))
            .expect("inventory");
        inv.source.kind = kensa_inventory::model::SourceKind::Host;
        inv.source.path = "/".into();
        inv.host.hostname = Some(h.hostname.into());
        inv.host.machine_id = Some(h.hostname.into());
        inv.host.ips = h.ips.iter().map(|s| (*s).to_owned()).collect();
        inv.host.cloud_instance_id = h.instance.map(str::to_owned);
        inv.listeners = h
            .listeners
            .iter()
            .map(|(port, process)| kensa_inventory::model::Listener {
                protocol: "tcp".into(),
                address: "0.0.0.0".into(),
                port: *port,
                all_interfaces: true,
                loopback: false,
                process: Some((*process).into()),
                pid: Some(1000 + u32::from(*port)),
            })
            .collect();
        let hash = inv.content_hash();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&inv.content_bytes()).expect("gzip");
        let body = gz.finish().expect("gzip");
        let res = self
            .client
            .put(&format!(
                "{}/api/v1/agent/inventory/{}",
                self.base,
                hash.replace(':', "%3A")
            ))
            .set("Authorization", &format!("Bearer {token}"))
            .set("Content-Type", "application/json")
            .set("Content-Encoding", "gzip")
            .send_bytes(&body);
        let status = match res {
            Ok(r) => r.status(),
            Err(ureq::Error::Status(s, r)) => {
                panic!("{s}: {}", r.into_string().unwrap_or_default())
            }
            Err(e) => panic!("{e}"),
        };
        assert_eq!(status, 202);
        asset
    }

    fn upload(&self, kind: &str, name: &str, body: &[u8], token: &str) -> (u16, Value) {
        let r = self.send(
            "POST",
            &format!("/api/v1/network/{kind}?name={name}"),
            Auth::Bearer(token),
            "application/octet-stream",
            body,
        );
        (r.status, r.json())
    }

    fn findings_of(&self, asset: i64, filter: &str) -> Vec<Value> {
        let r = self.call(
            "GET",
            &format!(
                "/api/v1/findings?asset_id={asset}&limit=500&filter={}",
                percent(filter)
            ),
            Auth::Bearer(&self.admin),
            None,
        );
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["findings"].as_array().cloned().unwrap_or_default()
    }

    fn finding_detail(&self, id: i64) -> Value {
        self.get(&format!("/api/v1/findings/{id}"))["finding"].clone()
    }

    /// The asset's finding of `package` (its detail), once `ok` holds.
    fn wait_for(&self, what: &str, mut ok: impl FnMut() -> Option<Value>) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(v) = ok() {
                return v;
            }
            assert!(Instant::now() < deadline, "not in 60 s: {what}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn package_finding(&self, asset: i64, package: &str) -> Value {
        let f = self.findings_of(asset, &format!("package={package}"));
        assert_eq!(f.len(), 1, "{package} on asset {asset}: {f:?}");
        self.finding_detail(f[0]["id"].as_i64().expect("id"))
    }
}

fn percent(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// An Alpine 3.4 root (the data folder's apk database) with
/// `vantage6-server` 4.1.0 installed in its Python site-packages.
fn root(dir: &Path) -> PathBuf {
    let root = AlpineRoot::new().write(&dir.join("root"));
    let meta = root.join("usr/lib/python3.5/site-packages/vantage6_server-4.1.0.dist-info");
    std::fs::create_dir_all(&meta).expect("mkdir");
    std::fs::write(
        meta.join("METADATA"),
        "Metadata-Version: 2.1\nName: vantage6-server\nVersion: 4.1.0\nSummary: Vantage6 server\n",
    )
    .expect("write");
    root
}

fn adjustments(f: &Value) -> Vec<(String, String)> {
    f["finding"]["score"]["adjustments"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            (
                a["metric"].as_str().unwrap_or_default().to_owned(),
                a["value"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn inventory_at(fleet: &Fleet, asset: i64) -> (Option<i64>, Option<String>) {
    let a = fleet.get(&format!("/api/v1/assets/{asset}"));
    (
        a["inventory_at"].as_i64(),
        a["inventory_hash"].as_str().map(str::to_owned),
    )
}

#[test]
fn imported_network_data_opens_reachability_findings_and_rescores_without_a_new_inventory() {
    for backend in backends() {
        let fleet = start(&backend);
        let dir = tempfile::tempdir().expect("temp dir");
        let root = root(dir.path());
        let since = kensa_testkit::now_ms();
        // bastion: public, the SSH group open to 0.0.0.0/0; found by its
        // private address.
        let bastion = fleet.push_host(
            &root,
            &Host {
                hostname: "bastion",
                ips: &["10.20.0.11"],
                instance: None,
                listeners: &[(22, "sshd")],
            },
        );
        // shop-app: private, behind the internet-facing ALB (443 → 8080);
        // found by its private DNS name.
        let shop = fleet.push_host(
            &root,
            &Host {
                hostname: "ip-10-20-10-12.eu-west-1.compute.internal",
                ips: &[],
                instance: None,
                listeners: &[(8080, "vantage6-server")],
            },
        );
        // batch-worker: private, a NAT gateway only; found by the instance
        // id its DMI asset tag reports.
        let batch = fleet.push_host(
            &root,
            &Host {
                hostname: "batch-worker",
                ips: &[],
                instance: Some("i-0a1b2c3d4e5f60003"),
                listeners: &[(8080, "vantage6-server")],
            },
        );
        for a in [bastion, shop, batch] {
            fleet.wait_evaluated(a, since);
        }
        // Before network data: exposure unknown, the vector as published.
        let before = fleet.package_finding(shop, "vantage6-server");
        assert_eq!(before["vulnerability_id"], "CVE-2024-21653", "{before}");
        assert!(
            before["finding"]["aliases"]
                .as_array()
                .is_some_and(|a| a.contains(&json!("PYSEC-2024-34"))),
            "{before}"
        );
        assert_eq!(before["score"], 9.8, "{before}");
        assert!(adjustments(&before).is_empty(), "{before}");
        assert!(fleet.findings_of(shop, "reachable=true").is_empty());
        let pushed: Vec<_> = [bastion, shop, batch]
            .iter()
            .map(|a| inventory_at(&fleet, *a))
            .collect();

        // Imported one by one, as `aws … > file.json` writes them.
        for name in AWS_FILES {
            let (s, b) = fleet.upload("aws", name, &document(name), &fleet.admin);
            assert_eq!(s, 201, "{name}: {b}");
        }
        let docs = fleet.get("/api/v1/network");
        assert_eq!(
            docs["documents"].as_array().map(Vec::len),
            Some(AWS_FILES.len()),
            "{docs}"
        );

        // bastion: "port 22/tcp reachable from the internet through igw-…
        // and sg-…, sshd listening on 0.0.0.0:22" (HIGH: remote
        // administration), and 8443, which its group opens to 0.0.0.0/0
        // with nothing listening (LOW).
        let ssh = fleet.wait_for("the SSH reachability finding", || {
            fleet
                .findings_of(
                    bastion,
                    "finding_type=NETWORK_REACHABILITY package=tcp/22 status=ACTIVE",
                )
                .first()
                .cloned()
        });
        let ssh = fleet.finding_detail(ssh["id"].as_i64().expect("id"));
        let title = ssh["finding"]["title"].as_str().expect("title");
        assert!(
            title.starts_with("port 22/tcp reachable from the internet through igw-0c1d"),
            "{title}"
        );
        assert!(title.contains(SSH_GROUP), "{title}");
        assert!(title.ends_with("sshd listening on 0.0.0.0:22"), "{title}");
        assert_eq!(ssh["severity"], "HIGH");
        assert_eq!(ssh["vulnerability_id"], "NETWORK_REACHABILITY");
        let open = fleet.findings_of(
            bastion,
            "finding_type=NETWORK_REACHABILITY package=tcp/8443",
        );
        assert_eq!(open.len(), 1, "{open:?}");
        let open = fleet.finding_detail(open[0]["id"].as_i64().expect("id"));
        let title = open["finding"]["title"].as_str().expect("title");
        assert!(
            title.starts_with("port 8443/tcp open to 0.0.0.0/0 through")
                && title.ends_with("but nothing listens"),
            "{title}"
        );
        assert_eq!(open["severity"], "LOW");

        // shop-app: its own process listens on the port the load balancer
        // forwards to: re-scored with MAV:N and the path, and counted as
        // an internet-reachable critical service.
        let shop_f = fleet.wait_for("shop-app re-scored", || {
            let f = fleet.package_finding(shop, "vantage6-server");
            adjustments(&f)
                .contains(&("MAV".into(), "N".into()))
                .then_some(f)
        });
        let reason = shop_f["finding"]["score"]["adjustments"][0]["reason"]
            .as_str()
            .unwrap_or_default();
        assert!(
            reason.contains("tcp/8080") && reason.contains("load balancer shop-public"),
            "{reason}"
        );
        let critical = fleet.findings_of(shop, "reachable=true severity=CRITICAL status=ACTIVE");
        assert!(
            critical
                .iter()
                .any(|f| f["package_name"] == "vantage6-server"),
            "{critical:?}"
        );
        let lb = fleet.findings_of(shop, "finding_type=NETWORK_REACHABILITY package=tcp/8080");
        assert_eq!(lb.len(), 1, "{lb:?}");

        // batch-worker: the same package listening, but only a NAT
        // gateway: MAV:A, and the score falls (9.8 → 8.8).
        let batch_f = fleet.wait_for("batch-worker re-scored", || {
            let f = fleet.package_finding(batch, "vantage6-server");
            adjustments(&f)
                .contains(&("MAV".into(), "A".into()))
                .then_some(f)
        });
        assert_eq!(batch_f["score"], 8.8, "{batch_f}");
        assert_eq!(batch_f["severity"], "HIGH");
        assert!(
            fleet
                .findings_of(batch, "finding_type=NETWORK_REACHABILITY")
                .is_empty()
        );
        let r = fleet.get(&format!("/api/v1/assets/{batch}/reachability"));
        assert_eq!(r["exposure"], "no", "{r}");
        assert_eq!(r["exposure_source"], "model");
        assert_eq!(r["model"]["matched_by"], "instance_id");
        let r = fleet.get(&format!("/api/v1/assets/{shop}/reachability"));
        assert_eq!(r["exposure"], "yes", "{r}");
        assert_eq!(r["model"]["matched_by"], "hostname");
        let r = fleet.get(&format!("/api/v1/assets/{bastion}/reachability"));
        assert_eq!(r["model"]["matched_by"], "private_ip");

        // Nothing of this came from a new inventory.
        let now: Vec<_> = [bastion, shop, batch]
            .iter()
            .map(|a| inventory_at(&fleet, *a))
            .collect();
        assert_eq!(now, pushed);

        // The dashboard's card names the service, customer-facing first.
        let (cookie, _) = fleet.admin_session();
        let page = fleet.call("GET", "/", Auth::Cookie(&cookie, None), None);
        assert_eq!(page.status, 200);
        let html = page.text();
        let card = html
            .split("id=\"card-reachable\"")
            .nth(1)
            .expect("the reachable-services card");
        let card = card.split("id=\"card-trend\"").next().unwrap_or_default();
        assert!(
            card.contains("ip-10-20-10-12") && card.contains("vantage6-server"),
            "{card}"
        );
        assert!(card.contains("customer-facing"), "{card}");

        // The Inspector CSV has the finding type and the network columns.
        let csv = fleet.call(
            "GET",
            &format!(
                "/api/v1/findings/export?format=csv&filter={}",
                percent("finding_type=NETWORK_REACHABILITY package=tcp/22")
            ),
            Auth::Bearer(&fleet.admin),
            None,
        );
        assert_eq!(csv.status, 200, "{}", csv.text());
        let mut rd = csv::Reader::from_reader(csv.body.as_slice());
        let headers = rd.headers().expect("header").clone();
        let rows: Vec<csv::StringRecord> = rd.records().map(|r| r.expect("row")).collect();
        assert_eq!(rows.len(), 1);
        let col = |name: &str| {
            let i = headers.iter().position(|h| h == name).expect(name);
            rows[0].get(i).unwrap_or_default().to_owned()
        };
        assert_eq!(col("Finding Type"), "NETWORK_REACHABILITY");
        assert_eq!(col("Port Range"), "tcp/22");
        assert!(
            col("Network Paths").contains("igw-0c1d"),
            "{}",
            col("Network Paths")
        );

        // The SSH rule goes: a later upload of the same name replaces the
        // groups, and the finding closes; 8443 stays open.
        let (s, b) = fleet.upload(
            "aws",
            "ec2-describe-security-groups.json",
            &groups_without_ssh(),
            &fleet.admin,
        );
        assert_eq!(s, 201, "{b}");
        fleet.wait_for("the SSH finding closed", || {
            fleet
                .findings_of(
                    bastion,
                    "finding_type=NETWORK_REACHABILITY package=tcp/22 status=CLOSED",
                )
                .first()
                .cloned()
        });
        let open = fleet.findings_of(
            bastion,
            "finding_type=NETWORK_REACHABILITY package=tcp/8443 status=ACTIVE",
        );
        assert_eq!(open.len(), 1, "{open:?}");

        // An admin's override, with who and why, re-scores at once:
        // batch-worker said internet-facing goes back to MAV:N.
        let r = fleet.call(
            "PUT",
            &format!("/api/v1/assets/{batch}/exposure"),
            Auth::Bearer(&fleet.admin),
            Some(json!({"internet_exposure": "yes", "reason": "port-forwarded by the office router"})),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["exposure_source"], "override");
        assert_eq!(r.json()["override"]["by"], "admin");
        let f = fleet.wait_for("batch-worker re-scored by the override", || {
            let f = fleet.package_finding(batch, "vantage6-server");
            adjustments(&f)
                .contains(&("MAV".into(), "N".into()))
                .then_some(f)
        });
        assert_eq!(f["score"], 9.8, "{f}");
        let no_reason = fleet.call(
            "PUT",
            &format!("/api/v1/assets/{batch}/exposure"),
            Auth::Bearer(&fleet.admin),
            Some(json!({"internet_exposure": "no"})),
        );
        assert_eq!(no_reason.status, 400, "{}", no_reason.text());
    }
}

#[test]
fn network_imports_are_all_or_nothing_admin_only_and_rank_coverage() {
    for backend in backends() {
        let fleet = start(&backend);
        let viewer = fleet.api_token("viewer", "viewer");
        let groups = fixture("ec2-describe-security-groups.json");
        let (s, _) = fleet.upload("aws", "g.json", &groups, &viewer);
        assert_eq!(s, 403);
        let (s, b) = fleet.upload("aws", "", &groups, &fleet.admin);
        assert_eq!(s, 400, "{b}");

        // A bad CIDR deep inside: refused with the JSON path, nothing kept.
        let mut bad: Value = serde_json::from_slice(&groups).expect("json");
        bad["SecurityGroups"][1]["IpPermissions"][0]["IpRanges"][0]["CidrIp"] = json!("0.0.0.0/33");
        let (s, b) = fleet.upload(
            "aws",
            "groups.json",
            &serde_json::to_vec(&bad).expect("json"),
            &fleet.admin,
        );
        assert_eq!(s, 400, "{b}");
        let msg = b["error"].as_str().unwrap_or_default();
        assert!(
            msg.contains("groups.json: SecurityGroups[1].IpPermissions[0].IpRanges[0].CidrIp")
                && msg.contains("nothing was imported"),
            "{msg}"
        );
        assert_eq!(
            b["at"]["path"],
            "SecurityGroups[1].IpPermissions[0].IpRanges[0].CidrIp"
        );
        let (s, b) = fleet.upload(
            "rules",
            "net.rules",
            b"0.0.0.0/0 22 tcp web-1\n10.0.0.0/8 99999 tcp db\n",
            &fleet.admin,
        );
        assert_eq!(s, 400, "{b}");
        assert!(
            b["error"]
                .as_str()
                .unwrap_or_default()
                .contains("net.rules, line 2"),
            "{b}"
        );
        assert_eq!(fleet.get("/api/v1/network")["documents"], json!([]));

        // All in one upload (`jq -s add` of the commands' files).
        let mut merged = serde_json::Map::new();
        for name in AWS_FILES {
            let v: Value = serde_json::from_slice(&fixture(name)).expect("json");
            for (k, v) in v.as_object().expect("object") {
                merged.insert(k.clone(), v.clone());
            }
        }
        let (s, b) = fleet.upload(
            "aws",
            "network.json",
            &serde_json::to_vec(&merged).expect("json"),
            &fleet.admin,
        );
        assert_eq!(s, 201, "{b}");
        // And a rules file for a network with no cloud data.
        let (s, b) = fleet.upload("rules", "office.rules", &fixture("rules.txt"), &fleet.admin);
        assert_eq!(s, 201, "{b}");

        // Assets nothing checks yet, from the register: listed most
        // exposed first, whatever order they were registered in.
        let csv = "name,instance_id,internet_exposure\n\
                   intranet-1,,no\n\
                   orphan,i-0a1b2c3d4e5f60006,\n\
                   legacy-web,i-0a1b2c3d4e5f60004,\n\
                   gw-office,,\n";
        let r = fleet.send(
            "POST",
            "/api/v1/assets/import?format=csv",
            Auth::Bearer(&fleet.admin),
            "text/csv",
            csv.as_bytes(),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let order = fleet.wait_for("coverage ranked by exposure", || {
            let cov = fleet.get("/api/v1/coverage");
            let rows: Vec<(String, String)> = cov["assets"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| {
                    (
                        a["name"].as_str().unwrap_or_default().to_owned(),
                        a["exposure"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect();
            // The job stores asset after asset: wait for the last.
            rows.iter()
                .any(|(n, e)| n == "gw-office" && e == "yes")
                .then_some(json!(rows))
        });
        // legacy-web: 443 through the ACL and web-public; gw-office: the
        // rules file's 22 from 0.0.0.0/0; orphan: its group was not
        // imported (unknown); intranet-1: the register's "no".
        assert_eq!(
            order,
            json!([
                ["legacy-web", "yes"],
                ["gw-office", "yes"],
                ["orphan", "unknown"],
                ["intranet-1", "no"]
            ])
        );
        let r = fleet.get("/api/v1/assets");
        let orphan = r["assets"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["name"] == "orphan")
            .and_then(|a| a["id"].as_i64())
            .expect("orphan");
        let m = fleet.get(&format!("/api/v1/assets/{orphan}/reachability"));
        assert!(
            m["model"]["ports"]
                .to_string()
                .contains("sg-0f66f66f66f66f66f"),
            "the missing group is named: {m}"
        );
        // The documents can be removed; the job runs again.
        let docs = fleet.get("/api/v1/network");
        let id = docs["documents"][0]["id"].as_i64().expect("id");
        let r = fleet.call(
            "DELETE",
            &format!("/api/v1/network/{id}"),
            Auth::Bearer(&viewer),
            None,
        );
        assert_eq!(r.status, 403);
        let r = fleet.call(
            "DELETE",
            &format!("/api/v1/network/{id}"),
            Auth::Bearer(&fleet.admin),
            None,
        );
        assert_eq!(r.status, 204, "{}", r.text());
        assert_eq!(
            fleet.get("/api/v1/network")["documents"]
                .as_array()
                .map(Vec::len),
            Some(1)
        );
        // The API document describes all of it.
        let doc = fleet
            .call("GET", "/api/v1/openapi.json", Auth::None, None)
            .json();
        for path in [
            "/api/v1/network",
            "/api/v1/network/aws",
            "/api/v1/network/rules",
            "/api/v1/network/{id}",
            "/api/v1/assets/{id}/reachability",
            "/api/v1/assets/{id}/exposure",
        ] {
            assert!(doc["paths"][path].is_object(), "{path} undocumented");
        }
    }
}
