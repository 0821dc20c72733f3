//! The body of a `PUT`: the inventory document's JSON, gzip-compressed,
//! and the check that a stored body still is what its name says.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use kensa_inventory::Inventory;
use kensa_inventory::model::content_hash_of;

/// The server's default limit on an uncompressed inventory (64 MiB): a
/// spooled body that inflates beyond it is refused before it is parsed, so
/// that a corrupt or hostile file cannot make the agent allocate without
/// bound.
pub const MAX_UNCOMPRESSED: u64 = 64 << 20;

/// Gzip `bytes` (level 6: inventories are text and compress ~10×).
pub fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = GzEncoder::new(Vec::with_capacity(bytes.len() / 8), Compression::default());
    enc.write_all(bytes)?;
    enc.finish()
}

/// Gunzip at most `limit` bytes; more is an error, as is a truncated or
/// corrupt stream.
pub fn gunzip(bytes: &[u8], limit: u64) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let n = GzDecoder::new(bytes)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)?;
    if n as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("inflates beyond {limit} bytes"),
        ));
    }
    Ok(out)
}

/// The document as it is sent: its canonical bytes
/// ([`Inventory::content_bytes`]: the JSON without the `collection` block,
/// which the server does not keep), gzipped. The SHA-256 of the body once
/// inflated is then the content hash itself, which lets the server store
/// it without parsing it in full.
pub fn encode(inv: &Inventory) -> std::io::Result<Vec<u8>> {
    gzip(&inv.content_bytes())
}

/// Check a gzipped body: it inflates within [`MAX_UNCOMPRESSED`] and its
/// content hash is `hash`: the hash of the bytes, for a body [`encode`]
/// made, else (a spool entry of an older agent, with the `collection`
/// block) the content hash of the parsed document. Returns why not.
pub fn verify(body: &[u8], hash: &str) -> Result<(), String> {
    let json = gunzip(body, MAX_UNCOMPRESSED).map_err(|e| format!("not a gzip stream: {e}"))?;
    if content_hash_of(&json) == hash {
        return Ok(());
    }
    let inv: Inventory =
        serde_json::from_slice(&json).map_err(|e| format!("not an inventory document: {e}"))?;
    let actual = inv.content_hash();
    if actual != hash {
        return Err(format!("content hash is {actual}, the name says {hash}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn gzip_round_trip() {
        let text = b"{\"packages\":[]}".repeat(1000);
        let gz = gzip(&text).unwrap();
        assert!(gz.len() < text.len() / 10);
        assert_eq!(&gz[..2], &[0x1f, 0x8b], "gzip magic");
        assert_eq!(gunzip(&gz, 1 << 20).unwrap(), text);
    }

    #[test]
    fn gunzip_refuses_a_bomb_and_garbage() {
        let gz = gzip(&vec![0u8; 100_000]).unwrap();
        assert!(gunzip(&gz, 99_999).is_err());
        assert_eq!(gunzip(&gz, 100_000).unwrap().len(), 100_000);
        assert!(gunzip(b"not gzip at all", 1000).is_err());
        assert!(gunzip(&gz[..gz.len() / 2], 1 << 20).is_err(), "truncated");
    }

    #[test]
    fn verify_checks_the_hash() {
        let mut inv = Inventory::default();
        inv.host.hostname = Some("web1".into());
        inv.collection.started_at = "2026-01-01T00:00:00Z".into();
        let body = encode(&inv).unwrap();
        let hash = inv.content_hash();
        assert_eq!(gunzip(&body, 1 << 20).unwrap(), inv.content_bytes());
        assert_eq!(verify(&body, &hash), Ok(()));
        // An older agent's body: the whole document, collection included.
        let old = gzip(&serde_json::to_vec(&inv).unwrap()).unwrap();
        assert_eq!(verify(&old, &hash), Ok(()));
        let err = verify(&body, "sha256:00").unwrap_err();
        assert!(err.contains("content hash"), "{err}");
        let err = verify(&gzip(b"[1,2]").unwrap(), &hash).unwrap_err();
        assert!(err.contains("not an inventory"), "{err}");
    }
}
