//! Small file-system helpers: atomic writes with a chosen mode, private
//! directories.

use std::fs::{self, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use crate::error::{AgentError, Result};

/// Prefix of the temporary files [`write_atomic`] creates beside their
/// destination. A file with this prefix is never a finished file: one left
/// behind by a crash is removed by [`remove_stale_temps`].
pub const TEMP_PREFIX: &str = ".tmp-";

/// Create `dir` (and its parents) if missing, mode 0700 for what is
/// created. An existing directory keeps its mode.
pub fn private_dir(dir: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| AgentError::io(dir, e))
}

/// Write `bytes` to `path` so that readers see either the old file or the
/// whole new one, never a part: a temporary file in the same directory
/// (created with `mode`, so a secret is never readable by others even for
/// an instant), written, `fsync`ed, renamed over `path`, then the directory
/// `fsync`ed so that the rename itself survives a power cut.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .permissions(Permissions::from_mode(mode))
        .tempfile_in(dir)
        .map_err(|e| AgentError::io(dir, e))?;
    // The umask may have cleared bits of `mode` at creation: set it exactly.
    fs::set_permissions(tmp.path(), Permissions::from_mode(mode))
        .map_err(|e| AgentError::io(tmp.path(), e))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| AgentError::io(tmp.path(), e))?;
    tmp.persist(path)
        .map_err(|e| AgentError::io(path, e.error))?;
    sync_dir(dir)
}

/// `fsync` a directory, so that renames and removals in it are durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    OpenOptions::new()
        .read(true)
        .open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| AgentError::io(dir, e))
}

/// Remove the temporary files a crash left in `dir` (names starting with
/// [`TEMP_PREFIX`]). Returns how many were removed.
pub fn remove_stale_temps(dir: &Path) -> Result<usize> {
    let mut removed = 0;
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(AgentError::io(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| AgentError::io(dir, e))?;
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            let path = entry.path();
            match fs::remove_file(&path) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(AgentError::io(&path, e)),
            }
        }
    }
    Ok(removed)
}

/// Percent-encode one URL path segment: everything but RFC 3986's
/// unreserved characters, so `sha256:ab…` becomes `sha256%3Aab…`.
pub fn encode_segment(s: &str) -> String {
    /// RFC 3986's unreserved characters, the only ones left as they are.
    const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, UNRESERVED).to_string()
}

/// A random 64-bit number for jitter (not for secrets): the standard
/// library's randomly keyed hasher, fed the time, so that every call (and
/// every host) differs. Avoids a dependency for a few random bits.
pub fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.finish()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn segment_encoding_escapes_the_colon_and_keeps_hex() {
        assert_eq!(encode_segment("sha256:0aF9"), "sha256%3A0aF9");
        assert_eq!(encode_segment("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn random_numbers_differ() {
        let a: Vec<u64> = (0..8).map(|_| random_u64()).collect();
        let mut b = a.clone();
        b.dedup();
        assert_eq!(a.len(), b.len());
    }

    #[test]
    fn atomic_write_sets_the_mode_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.json");
        write_atomic(&p, b"one", 0o600).unwrap();
        write_atomic(&p, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("f.json")]);
    }

    #[test]
    fn stale_temps_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(".tmp-abc"), b"half").unwrap();
        fs::write(dir.path().join("keep.json"), b"{}").unwrap();
        assert_eq!(remove_stale_temps(dir.path()).unwrap(), 1);
        assert!(dir.path().join("keep.json").exists());
        assert!(!dir.path().join(".tmp-abc").exists());
    }
}
