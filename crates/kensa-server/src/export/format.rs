//! The export formats: Inspector's CSV columns and JSON with the full
//! finding objects, written row by row from the store's stream.

#[allow(unused_imports)]
use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Json,
}

impl Format {
    pub(super) fn parse(s: &str) -> ApiResult<Format> {
        match s {
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            _ => Err(ApiError::bad(format!("format {s:?}: expected csv or json"))),
        }
    }
    pub(super) fn ext(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }
    pub(super) fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
        }
    }
}

/// Inspector's "Resource ID" and the other resource columns for an asset.
pub(super) fn resource_of(a: &Asset) -> inspector::Resource {
    let image = a.kind == AssetKind::Image;
    inspector::Resource {
        id: a
            .instance_id
            .clone()
            .filter(|i| !i.is_empty())
            .unwrap_or_else(|| a.id.0.to_string()),
        image,
        os_id: a.os_id.clone(),
        os_release: a.os_release.clone(),
        tags: a.management.tags.clone(),
        // An image asset is named by its first repository tag.
        image_tags: if image && a.name.contains(':') && !a.name.starts_with("sha256:") {
            vec![a.name.clone()]
        } else {
            Vec::new()
        },
        ip_addresses: a.ip_addresses.clone(),
        public_ipv4: Vec::new(),
        ports: a
            .management
            .exposed_ports
            .iter()
            .map(|p| match p.to_port {
                Some(to) if to != p.port => format!("{}-{to}/{}", p.port, p.protocol),
                _ => format!("{}/{}", p.port, p.protocol),
            })
            // And the ranges the reachability model found reachable.
            .chain(a.reachability.iter().flat_map(|r| {
                r.reachable.iter().map(|p| {
                    if p.from == p.to {
                        format!("{}/{}", p.from, p.protocol)
                    } else {
                        format!("{}-{}/{}", p.from, p.to, p.protocol)
                    }
                })
            }))
            .collect(),
    }
}

pub(super) fn observed_of(r: &ExportRecord, now_ms: i64) -> inspector::Observed {
    inspector::Observed {
        reference: format!("kensa:finding/{}", r.id.0),
        status: r.status.as_str().to_owned(),
        first_seen: r.first_observed.to_rfc3339(),
        last_seen: r.last_observed.to_rfc3339(),
        updated: r.updated_at.to_rfc3339(),
        age_days: (now_ms - r.first_observed.unix_ms()).max(0) / 86_400_000,
    }
}

/// The asset as a JSON export shows it with each finding.
#[derive(Serialize)]
pub(super) struct AssetSummary<'a> {
    id: i64,
    kind: AssetKind,
    name: &'a str,
    hostname: Option<&'a str>,
    instance_id: Option<&'a str>,
    image_id: Option<&'a str>,
    os_id: Option<&'a str>,
    os_release: Option<&'a str>,
    ip_addresses: &'a [String],
    tags: &'a [String],
    owner: Option<&'a str>,
    team: Option<&'a str>,
    environment: Option<&'a str>,
    internet_exposure: Option<kensa_store::InternetExposure>,
}

#[derive(Serialize)]
pub(super) struct JsonRecord<'a> {
    id: i64,
    /// Inspector's finding type: `PACKAGE_VULNERABILITY` or
    /// `NETWORK_REACHABILITY`.
    #[serde(rename = "type")]
    finding_type: &'static str,
    status: kensa_store::Status,
    first_observed: Timestamp,
    last_observed: Timestamp,
    updated_at: Timestamp,
    closed_at: Option<Timestamp>,
    reopen_count: u32,
    occurrences: u32,
    triage: &'a kensa_store::Triage,
    asset: AssetSummary<'a>,
    finding: &'a kensa_detect::Finding,
}

pub(super) fn json_of(r: &ExportRecord) -> JsonRecord<'_> {
    let a = &r.asset;
    let m = &a.management;
    JsonRecord {
        id: r.id.0,
        finding_type: if r.finding.package.kind == kensa_store::NETWORK_KIND {
            "NETWORK_REACHABILITY"
        } else {
            "PACKAGE_VULNERABILITY"
        },
        status: r.status,
        first_observed: r.first_observed,
        last_observed: r.last_observed,
        updated_at: r.updated_at,
        closed_at: r.closed_at,
        reopen_count: r.reopen_count,
        occurrences: r.occurrences,
        triage: &r.triage,
        asset: AssetSummary {
            id: a.id.0,
            kind: a.kind,
            name: &a.name,
            hostname: a.hostname.as_deref(),
            instance_id: a.instance_id.as_deref(),
            image_id: a.image_id.as_deref(),
            os_id: a.os_id.as_deref(),
            os_release: a.os_release.as_deref(),
            ip_addresses: &a.ip_addresses,
            tags: &m.tags,
            owner: m.owner.as_deref(),
            team: m.team.as_deref(),
            environment: m.environment.as_deref(),
            internet_exposure: a.effective_exposure().0,
        },
        finding: &r.finding,
    }
}

/// Counts what passes through.
pub(super) struct Counting<W> {
    inner: W,
    pub(super) bytes: u64,
}

impl<W> Counting<W> {
    pub(super) fn new(inner: W) -> Counting<W> {
        Counting { inner, bytes: 0 }
    }
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(b)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// What an export wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Written {
    pub rows: u64,
    pub bytes: u64,
}

pub(super) fn io_err(e: std::io::Error) -> kensa_store::StoreError {
    // The writer's failure (a client gone, a disk full) ends the export.
    kensa_store::StoreError::InvalidArgument(format!("writing the export: {e}"))
}

/// Writes the export of `filter` in `sort`'s order to `out`, calling
/// `tick` every 10,000 rows (a job's lease and progress).
pub fn write_export(
    db: &Db,
    filter: &Filter,
    sort: Sort,
    format: Format,
    out: impl Write,
    mut tick: impl FnMut(u64) -> Result<()>,
) -> Result<Written> {
    let mut out = Counting {
        inner: BufWriter::with_capacity(256 << 10, out),
        bytes: 0,
    };
    let now = Timestamp::now().unix_ms();
    let mut rows = 0u64;
    let mut tick_err = None;
    let mut tick_of = |rows: u64| -> kensa_store::Result<()> {
        if rows.is_multiple_of(10_000)
            && let Err(e) = tick(rows)
        {
            let msg = e.to_string();
            tick_err = Some(e);
            return Err(kensa_store::StoreError::InvalidArgument(msg));
        }
        Ok(())
    };
    let result = match format {
        Format::Csv => {
            let mut w = inspector::Writer::new(&mut out)
                .map_err(|e| ServerError::Internal(e.to_string()))?;
            // Resources repeat across an asset's findings: built once each.
            let mut resources: HashMap<i64, inspector::Resource> = HashMap::new();
            let r = db.export_findings(filter, sort, |rec| {
                if resources.len() > 50_000 {
                    resources.clear();
                }
                let res = resources
                    .entry(rec.asset.id.0)
                    .or_insert_with(|| resource_of(&rec.asset));
                w.write(&rec.finding, res, &observed_of(&rec, now))
                    .map_err(io_err)?;
                rows += 1;
                tick_of(rows)
            });
            w.finish()
                .map_err(|e| ServerError::Internal(e.to_string()))?;
            r
        }
        Format::Json => {
            out.write_all(b"[")
                .map_err(|e| ServerError::Internal(e.to_string()))?;
            let r = db.export_findings(filter, sort, |rec| {
                if rows > 0 {
                    out.write_all(b",\n").map_err(io_err)?;
                } else {
                    out.write_all(b"\n").map_err(io_err)?;
                }
                serde_json::to_writer(&mut out, &json_of(&rec))
                    .map_err(|e| io_err(std::io::Error::other(e)))?;
                rows += 1;
                tick_of(rows)
            });
            out.write_all(b"\n]\n")
                .map_err(|e| ServerError::Internal(e.to_string()))?;
            r
        }
    };
    if let Some(e) = tick_err {
        return Err(e);
    }
    result?;
    out.flush()
        .map_err(|e| ServerError::Internal(format!("writing the export: {e}")))?;
    Ok(Written {
        rows,
        bytes: out.bytes,
    })
}
