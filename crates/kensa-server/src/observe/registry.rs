//! The process's own counters and histograms, written in the Prometheus
//! text exposition format (version 0.0.4) by hand: a few families with
//! fixed label names do not need a metrics framework, and the format is
//! small and stable.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Upper bounds (seconds) for request and ingest latencies.
pub const HTTP_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Upper bounds (seconds) for jobs: an evaluation takes milliseconds to
/// seconds, a re-evaluation after a knowledge update or a large export
/// minutes.
pub const JOB_BUCKETS: &[f64] = &[
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0,
];

/// One histogram's cumulative state.
#[derive(Clone, Debug, Default)]
struct Hist {
    /// Observations at or below each bound (not yet cumulative).
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

/// A family of series keyed by their label values, in label-name order.
struct Family<T> {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
    series: Mutex<BTreeMap<Vec<String>, T>>,
}

impl<T: Default> Family<T> {
    const fn new(name: &'static str, help: &'static str, labels: &'static [&'static str]) -> Self {
        Family {
            name,
            help,
            labels,
            series: Mutex::new(BTreeMap::new()),
        }
    }

    fn with(&self, values: &[&str], f: impl FnOnce(&mut T)) {
        let mut series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        let key: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
        f(series.entry(key).or_default());
    }
}

/// Counters and histograms the server updates as it works.
pub struct Metrics {
    http_requests: Family<u64>,
    http_seconds: Family<Hist>,
    ingests: Family<u64>,
    ingest_seconds: Family<Hist>,
    jobs: Family<u64>,
    job_seconds: Family<Hist>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            http_requests: Family::new(
                "kensa_http_requests_total",
                "HTTP requests answered, by method, route template and status.",
                &["method", "route", "status"],
            ),
            http_seconds: Family::new(
                "kensa_http_request_duration_seconds",
                "Time to answer an HTTP request (to the response head), by method and route template.",
                &["method", "route"],
            ),
            ingests: Family::new(
                "kensa_ingest_reports_total",
                "Inventory reports received (agent uploads and pushes), by HTTP status.",
                &["status"],
            ),
            ingest_seconds: Family::new(
                "kensa_ingest_duration_seconds",
                "Time to receive, check and store one inventory report.",
                &[],
            ),
            jobs: Family::new(
                "kensa_jobs_finished_total",
                "Background jobs this process ran, by kind and outcome (done, failed).",
                &["kind", "outcome"],
            ),
            job_seconds: Family::new(
                "kensa_job_duration_seconds",
                "Time this process spent on one background job (an evaluation, a re-evaluation after a knowledge update, an export), by kind.",
                &["kind"],
            ),
        }
    }
}

/// The routes that receive inventories: their requests also count as
/// ingests.
const INGEST_ROUTES: &[&str] = &["/api/v1/agent/inventory/{hash}", "/api/v1/inventories"];

impl Metrics {
    /// One answered request; `route` is the matched template, never the
    /// raw path (whose ids and hashes would make a series per request).
    pub fn http(&self, method: &str, route: &str, status: u16, took: Duration) {
        let status = status.to_string();
        self.http_requests
            .with(&[method, route, &status], |n| *n += 1);
        observe(&self.http_seconds, &[method, route], HTTP_BUCKETS, took);
        if INGEST_ROUTES.contains(&route) && matches!(method, "PUT" | "POST") {
            self.ingests.with(&[&status], |n| *n += 1);
            observe(&self.ingest_seconds, &[], HTTP_BUCKETS, took);
        }
    }

    /// One background job run by this process.
    pub fn job(&self, kind: &str, ok: bool, took: Duration) {
        let outcome = if ok { "done" } else { "failed" };
        self.jobs.with(&[kind, outcome], |n| *n += 1);
        observe(&self.job_seconds, &[kind], JOB_BUCKETS, took);
    }

    /// The process's own families, in the text format.
    pub fn write(&self, out: &mut String) {
        counter(out, &self.http_requests);
        histogram(out, &self.http_seconds, HTTP_BUCKETS);
        counter(out, &self.ingests);
        histogram(out, &self.ingest_seconds, HTTP_BUCKETS);
        counter(out, &self.jobs);
        histogram(out, &self.job_seconds, JOB_BUCKETS);
    }
}

fn observe(family: &Family<Hist>, labels: &[&str], bounds: &[f64], took: Duration) {
    let secs = took.as_secs_f64();
    family.with(labels, |h| {
        if h.buckets.len() != bounds.len() {
            h.buckets = vec![0; bounds.len()];
        }
        if let Some(i) = bounds.iter().position(|b| secs <= *b) {
            h.buckets[i] += 1;
        }
        h.sum += secs;
        h.count += 1;
    });
}

/// `# HELP` and `# TYPE` lines.
pub fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// One sample line: `name{labels} value`.
pub fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{k}=\"{}\"", escape_label(v));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {}", number(value));
}

fn counter(out: &mut String, f: &Family<u64>) {
    header(out, f.name, f.help, "counter");
    let series = f.series.lock().unwrap_or_else(PoisonError::into_inner);
    for (values, n) in series.iter() {
        let labels: Vec<(&str, &str)> = f
            .labels
            .iter()
            .copied()
            .zip(values.iter().map(String::as_str))
            .collect();
        sample(out, f.name, &labels, *n as f64);
    }
}

fn histogram(out: &mut String, f: &Family<Hist>, bounds: &[f64]) {
    header(out, f.name, f.help, "histogram");
    let series = f.series.lock().unwrap_or_else(PoisonError::into_inner);
    let bucket = format!("{}_bucket", f.name);
    let sum = format!("{}_sum", f.name);
    let count = format!("{}_count", f.name);
    for (values, h) in series.iter() {
        let labels: Vec<(&str, &str)> = f
            .labels
            .iter()
            .copied()
            .zip(values.iter().map(String::as_str))
            .collect();
        let mut cumulative = 0;
        for (i, b) in bounds.iter().enumerate() {
            cumulative += h.buckets.get(i).copied().unwrap_or(0);
            let le = number(*b);
            let mut with_le = labels.clone();
            with_le.push(("le", &le));
            sample(out, &bucket, &with_le, cumulative as f64);
        }
        let mut with_le = labels.clone();
        with_le.push(("le", "+Inf"));
        sample(out, &bucket, &with_le, h.count as f64);
        sample(out, &sum, &labels, h.sum);
        sample(out, &count, &labels, h.count as f64);
    }
}

/// A sample value: integers without a fraction, others as Rust prints
/// them (which the format accepts), infinities spelled as it wants.
fn number(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if v.is_nan() {
        return "NaN".into();
    }
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{}", v as i64);
    }
    format!("{v}")
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_labels_escaped() {
        let m = Metrics::default();
        m.http("GET", "/a\"b", 200, Duration::from_millis(3));
        m.http("GET", "/a\"b", 200, Duration::from_millis(300));
        let mut out = String::new();
        m.write(&mut out);
        assert!(out.contains(
            "kensa_http_requests_total{method=\"GET\",route=\"/a\\\"b\",status=\"200\"} 2\n"
        ));
        assert!(out.contains(
            "kensa_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a\\\"b\",le=\"0.005\"} 1\n"
        ));
        assert!(out.contains(
            "kensa_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a\\\"b\",le=\"0.25\"} 1\n"
        ));
        assert!(out.contains(
            "kensa_http_request_duration_seconds_bucket{method=\"GET\",route=\"/a\\\"b\",le=\"0.5\"} 2\n"
        ));
        assert!(out.contains(
            "kensa_http_request_duration_seconds_count{method=\"GET\",route=\"/a\\\"b\"} 2\n"
        ));
        // Not an ingest route: no ingest sample.
        assert!(!out.contains("kensa_ingest_reports_total{"));
    }
}
