#![no_main]
//! Container image archives from arbitrary bytes: reading one never panics
//! and never writes outside the scratch directory.
//!
//! The first byte picks how the rest is used: as the whole archive (odd),
//! or (even) as up to three layer tars, split on `\n--layer--\n`, wrapped
//! into a well-formed `docker save` archive with digest checks off, so
//! that the fuzzer reaches the layer code without forging SHA-256s.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use kensa_inventory::image::{self, ImageOptions};
use libfuzzer_sys::fuzz_target;

static RUN: AtomicU64 = AtomicU64::new(0);

/// Append one regular file to a ustar archive being built.
fn tar_file(out: &mut Vec<u8>, name: &str, data: &[u8]) {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..107].copy_from_slice(b"0000644");
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
    h[136..147].copy_from_slice(b"00000000000");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

fn split_layers(mut data: &[u8]) -> Vec<&[u8]> {
    const SEP: &[u8] = b"\n--layer--\n";
    let mut out = Vec::new();
    while out.len() < 2 {
        match data.windows(SEP.len()).position(|w| w == SEP) {
            Some(i) => {
                out.push(&data[..i]);
                data = &data[i + SEP.len()..];
            }
            None => break,
        }
    }
    out.push(data);
    out
}

fn docker_archive(layers: &[&[u8]]) -> Vec<u8> {
    let zero = format!("sha256:{}", "0".repeat(64));
    let diff_ids: Vec<String> = layers.iter().map(|_| format!("\"{zero}\"")).collect();
    let config = format!(
        r#"{{"rootfs":{{"type":"layers","diff_ids":[{}]}}}}"#,
        diff_ids.join(",")
    );
    let names: Vec<String> = (0..layers.len())
        .map(|i| format!("\"l{i}/layer.tar\""))
        .collect();
    let manifest = format!(
        r#"[{{"Config":"config.json","RepoTags":["fuzz:1"],"Layers":[{}]}}]"#,
        names.join(",")
    );
    let mut out = Vec::new();
    tar_file(&mut out, "config.json", config.as_bytes());
    for (i, l) in layers.iter().enumerate() {
        tar_file(&mut out, &format!("l{i}/layer.tar"), l);
    }
    tar_file(&mut out, "manifest.json", manifest.as_bytes());
    out.extend_from_slice(&[0u8; 1024]);
    out
}

fn check(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let base = std::env::temp_dir().join(format!(
        "kensa-fuzz-image-{}-{}",
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed)
    ));
    let scratch = base.join("scratch");
    std::fs::create_dir_all(&scratch).expect("temp dir");
    let archive = base.join("image.tar");
    let bytes = if mode % 2 == 1 {
        rest.to_vec()
    } else {
        docker_archive(&split_layers(rest))
    };
    std::fs::write(&archive, &bytes).expect("write archive");
    let opts = ImageOptions {
        max_total_bytes: 4 << 20,
        max_entries: 2000,
        max_metadata_bytes: 64 << 10,
        max_tracked_bytes: 1 << 20,
        verify_digests: mode % 4 == 1,
        placeholders: mode & 4 == 0,
        ..ImageOptions::default()
    };
    let wanted = |path: &str, size: u64, _mode: u32| size < 4096 && !path.starts_with("usr/");
    let tracked = ["var/lib/dpkg/status", "lib/apk/db/installed"];
    if let Ok(img) = image::open(&archive, &scratch, &wanted, &tracked, &opts) {
        for t in tracked {
            let _ = img.history(t);
            let _ = img.layer_of(t);
        }
        let _ = img.entry("etc/os-release");
    }
    // Only the archive and the scratch directory are in `base`.
    let mut names: Vec<String> = std::fs::read_dir(&base)
        .expect("read base")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["image.tar", "scratch"],
        "something was written beside the scratch directory"
    );
    remove(&base);
}

fn remove(p: &Path) {
    let _ = std::fs::remove_dir_all(p);
}

fuzz_target!(|data: &[u8]| check(data));
