//! `kensa db`: the knowledge base.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use kensa_kb::base::{KnowledgeBase, KnowledgeBaseBuilder};
use kensa_kb::model::Record;

/// The knowledge base directory: `--kb`, else `$KENSA_KB`, else
/// `$XDG_DATA_HOME/kensa/kb`, else `~/.local/share/kensa/kb`.
pub fn store_dir(explicit: Option<PathBuf>) -> PathBuf {
    if let Some(p) = explicit.or_else(|| std::env::var_os("KENSA_KB").map(PathBuf::from)) {
        return p;
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("/var/lib"));
    data.join("kensa/kb")
}

/// Import an offline mirror into a new generation and switch to it.
pub fn import(mirror: &Path, store: &Path) -> ExitCode {
    let clock = std::time::Instant::now();
    let mut builder = match KnowledgeBaseBuilder::create(store) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("kensa: {e}");
            return ExitCode::from(2);
        }
    };
    let imported = match kensa_kb::mirror::import(mirror, &mut builder) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("kensa: {e}");
            return ExitCode::from(2);
        }
    };
    println!(
        "{:<16} {:>9} {:>8} {:>8} {:>8}",
        "FEED", "RECORDS", "SKIPPED", "ERRORS", "SECONDS"
    );
    for i in &imported {
        let skipped: usize = i.report.skipped.iter().map(|(_, n)| n).sum();
        println!(
            "{:<16} {:>9} {:>8} {:>8} {:>8.2}",
            i.feed,
            i.report.records,
            skipped,
            i.report.errors.len(),
            i.seconds
        );
        for e in i.report.errors.iter().take(3) {
            eprintln!(
                "kensa: {}: {}{}",
                i.feed,
                e.file,
                e.record
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            );
            eprintln!("       {}", e.message);
        }
        if i.report.errors.len() > 3 {
            eprintln!(
                "kensa: {}: {} more errors",
                i.feed,
                i.report.errors.len() - 3
            );
        }
    }
    for i in imported {
        builder.report(&i.feed, i.report);
    }
    match builder.finish() {
        Ok(meta) => {
            println!(
                "store {}: {} affected rows under {} (namespace, package) keys, built in {:.1} s",
                store.display(),
                meta.affected_rows,
                meta.affected_keys,
                clock.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("kensa: {e} (the previous knowledge base, if any, is still in use)");
            ExitCode::from(2)
        }
    }
}

pub fn status(store: &Path) -> ExitCode {
    let s = match KnowledgeBase::open(store) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kensa: no knowledge base: {e} (run `kensa db import --mirror DIR`)");
            return ExitCode::from(2);
        }
    };
    let meta = s.meta();
    println!("store      {}", s.generation().display());
    println!("built      {}", meta.built_at);
    println!(
        "affected   {} rows, {} keys",
        meta.affected_rows, meta.affected_keys
    );
    for (kind, n) in &meta.counts {
        println!("{kind:<10} {n}");
    }
    println!();
    println!(
        "{:<16} {:>9} {:>8} {:>8}  {:<10} {:>8}",
        "FEED", "RECORDS", "SKIPPED", "ERRORS", "NEWEST", "AGE"
    );
    let today = days_since_epoch_now();
    for (feed, r) in &meta.feeds {
        let skipped: usize = r.skipped.iter().map(|(_, n)| n).sum();
        let newest = r.newest.as_deref().unwrap_or("-");
        let age = r
            .newest
            .as_deref()
            .and_then(days_from_date)
            .map(|d| format!("{} d", today - d))
            .unwrap_or_else(|| "-".into());
        println!(
            "{feed:<16} {:>9} {skipped:>8} {:>8}  {newest:<10} {age:>8}",
            r.records,
            r.errors.len()
        );
    }
    ExitCode::SUCCESS
}

pub fn show(store: &Path, id: &str) -> ExitCode {
    let s = match KnowledgeBase::open(store) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kensa: no knowledge base: {e} (run `kensa db import --mirror DIR`)");
            return ExitCode::from(2);
        }
    };
    match s.get(id) {
        Ok(records) if records.is_empty() => {
            eprintln!("kensa: nothing is known about {id}");
            ExitCode::from(1)
        }
        Ok(records) => {
            let out: Vec<&Record> = records.iter().collect();
            match serde_json::to_string_pretty(&out) {
                Ok(text) => {
                    println!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("kensa: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Err(e) => {
            eprintln!("kensa: {e}");
            ExitCode::from(2)
        }
    }
}

fn days_since_epoch_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| (d.as_secs() / 86_400) as i64)
        .unwrap_or_default()
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (the proleptic Gregorian
/// day count, as in Howard Hinnant's `days_from_civil`).
fn days_from_date(day: &str) -> Option<i64> {
    let y: i64 = day.get(..4)?.parse().ok()?;
    let m: i64 = day.get(5..7)?.parse().ok()?;
    let d: i64 = day.get(8..10)?.parse().ok()?;
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// `kensa db update`: download into the cache, then build and switch. Exit
/// 0 when everything was fetched and switched in, 1 when some download
/// failed (its previous cached copy, if any, was imported), 2 when no new
/// store was switched in (the previous one stays in use).
pub fn update(mirror: Option<&str>, store: &Path, cache: Option<PathBuf>) -> ExitCode {
    use kensa_kb::update::{self, Options, Source};
    let source = Source::parse(mirror);
    if let Source::Dir(dir) = &source {
        return import(dir, store);
    }
    let cache = cache.unwrap_or_else(update::default_cache_dir);
    let line = ProgressLine::new(std::io::stderr().is_terminal());
    let downloads =
        match update::download_with(&source, &cache, &Options::default(), &|p| line.show(p)) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("kensa: {e}");
                return ExitCode::from(2);
            }
        };
    println!(
        "{:<16} {:>6} {:>10} {:>10} {:>7} {:>9}",
        "DOWNLOAD", "FILES", "FETCHED", "UNCHANGED", "FAILED", "MB"
    );
    let mut failed = false;
    for d in &downloads {
        println!(
            "{:<16} {:>6} {:>10} {:>10} {:>7} {:>9.1}",
            d.feed,
            d.files,
            d.downloaded,
            d.not_modified,
            d.failed.len(),
            d.bytes as f64 / 1e6
        );
        for f in &d.failed {
            failed = true;
            let kept = if f.stale {
                "the previous copy is imported, stale"
            } else {
                "no copy: not imported"
            };
            eprintln!("kensa: {}: {}: {} ({kept})", d.feed, f.path, f.reason);
        }
    }
    let clock = std::time::Instant::now();
    let built = match update::build(&cache, store) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("kensa: {e} (the previous knowledge base, if any, is still in use)");
            return ExitCode::from(2);
        }
    };
    println!(
        "{:<16} {:>9} {:>8} {:>8}",
        "FEED", "RECORDS", "SKIPPED", "ERRORS"
    );
    for i in &built.imported {
        let skipped: usize = i.report.skipped.iter().map(|(_, n)| n).sum();
        println!(
            "{:<16} {:>9} {:>8} {:>8}",
            i.feed,
            i.report.records,
            skipped,
            i.report.errors.len()
        );
        if let Some(e) = i.report.errors.first() {
            eprintln!("kensa: {}: {}: {}", i.feed, e.file, e.message);
        }
    }
    match built.meta {
        Some(meta) => {
            println!(
                "store {}: {} affected rows under {} (namespace, package) keys, built in {:.1} s",
                store.display(),
                meta.affected_rows,
                meta.affected_keys,
                clock.elapsed().as_secs_f64()
            );
            if failed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        None => {
            eprintln!(
                "kensa: could not read {} at all: no new store (the previous knowledge base, if any, is still in use; the next update downloads it again)",
                built.unreadable.join(", ")
            );
            ExitCode::from(2)
        }
    }
}

/// The download's progress as one line on standard error, redrawn; only
/// on a terminal.
struct ProgressLine {
    on: bool,
    last: std::cell::Cell<Option<std::time::Instant>>,
    line: std::cell::RefCell<String>,
}

impl ProgressLine {
    fn new(on: bool) -> Self {
        ProgressLine {
            on,
            last: std::cell::Cell::new(None),
            line: std::cell::RefCell::new(String::new()),
        }
    }

    fn show(&self, p: kensa_kb::fetch::Progress<'_>) {
        use kensa_kb::fetch::Progress;
        if !self.on {
            return;
        }
        match p {
            Progress::File { index, total, path } => {
                *self.line.borrow_mut() = if total == 0 {
                    path.to_owned()
                } else {
                    format!("[{index}/{total}] {path}")
                };
                self.draw("");
            }
            Progress::Bytes { received, expected } => {
                // Redrawn at most ten times a second.
                if self
                    .last
                    .get()
                    .is_some_and(|t| t.elapsed() < std::time::Duration::from_millis(100))
                {
                    return;
                }
                self.last.set(Some(std::time::Instant::now()));
                let mb = |b: u64| b as f64 / 1e6;
                let extra = match expected {
                    Some(t) if t > 0 => format!(" {:.1}/{:.1} MB", mb(received), mb(t)),
                    _ => format!(" {:.1} MB", mb(received)),
                };
                self.draw(&extra);
            }
            Progress::Done => {
                let _ = write!(std::io::stderr(), "\r\x1b[K");
            }
        }
    }

    fn draw(&self, extra: &str) {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[K{}{extra}", self.line.borrow());
        let _ = err.flush();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn day_counts() {
        assert_eq!(super::days_from_date("1970-01-01"), Some(0));
        assert_eq!(super::days_from_date("2000-03-01"), Some(11_017));
        assert_eq!(super::days_from_date("2026-11-30"), Some(20_787));
        assert_eq!(super::days_from_date("bad"), None);
    }
}
