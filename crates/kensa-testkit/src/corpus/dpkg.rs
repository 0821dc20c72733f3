//! Debian versions: the Ubuntu dpkg status fixture (binary and `Source:`
//! versions), the Debian security tracker samples (fixed versions in
//! `data/CVE/list`, `DSA`, `DLA` and the apt `Sources` indices), and this
//! machine's own `/var/lib/dpkg/status` (a real Debian 12 database).

use super::control_field_values;

pub fn versions() -> Vec<String> {
    let mut out = Vec::new();
    let status = std::fs::read_to_string(crate::data_path("fixtures/dpkg/status")).unwrap();
    collect_status(&status, &mut out);
    let tracker = crate::data_path("samples/debian-tracker-source");
    for list in ["data/CVE/list", "data/DSA/list", "data/DLA/list"] {
        let text = std::fs::read_to_string(tracker.join(list)).unwrap();
        for line in text.lines() {
            // "\t[bookworm] - pkg 1.2-3 (bug #1)" or "\t- pkg 1.2-3"
            let body = line.trim_start();
            let body = match body.strip_prefix('[') {
                Some(rest) => rest.split_once("] ").map(|(_, r)| r).unwrap_or(""),
                None => body,
            };
            if let Some(rest) = body.strip_prefix("- ") {
                let mut words = rest.split_whitespace();
                if let (Some(_pkg), Some(ver)) = (words.next(), words.next())
                    && ver.starts_with(|c: char| c.is_ascii_digit())
                {
                    out.push(ver.to_owned());
                }
            }
        }
    }
    for dir in ["source", "updates-source"] {
        for entry in walk(&tracker.join(dir)) {
            let text = std::fs::read_to_string(entry).unwrap();
            out.extend(control_field_values(&text, "Version"));
        }
    }
    if let Ok(host) = std::fs::read_to_string("/var/lib/dpkg/status") {
        collect_status(&host, &mut out);
    }
    out
}

fn collect_status(text: &str, out: &mut Vec<String>) {
    out.extend(control_field_values(text, "Version"));
    for src in control_field_values(text, "Source") {
        // "Source: name (version)"
        if let Some((_, v)) = src.split_once('(') {
            out.push(v.trim_end_matches(')').trim().to_owned());
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}
