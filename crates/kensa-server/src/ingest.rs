//! Decoding an inventory report cheaply. Agents send the canonical bytes
//! of the document ([`kensa_inventory::Inventory::content_bytes`]), so the
//! SHA-256 of the inflated body is the content hash: when it is the URL's,
//! the server reads only the fields it records about the asset and stores
//! the body's own deflate stream, with no full parse, no serialisation and
//! no compression. Other bodies (older agents, hand-made reports) are
//! parsed and hashed in full, as before.

use kensa_inventory::model::{Collection, Host, Os, Source};
use serde::Deserialize;
use serde::de::{IgnoredAny, SeqAccess, Visitor};

/// What the server needs of a report besides its bytes. Every field of the
/// document must be there, as for a full parse; the lists are skipped
/// without being built (the packages counted).
#[derive(Deserialize)]
pub struct Head {
    pub schema_version: u32,
    pub collection: Collection,
    pub source: Source,
    pub host: Host,
    pub os: Option<Os>,
    pub packages: Count,
    pub kernels: IgnoredAny,
    pub listeners: IgnoredAny,
    /// Read, not skipped: a report whose OS packages could not be read
    /// is not stored as the asset's inventory (see
    /// `kensa_store::Db::record_inventory_failure`). Short: one entry per
    /// thing the collector skipped.
    pub problems: Vec<kensa_inventory::model::Problem>,
}

impl Head {
    /// An inventory with the head's fields and no packages, for what is
    /// derived from those fields alone (the asset's facts).
    pub fn to_inventory(&self) -> kensa_inventory::Inventory {
        kensa_inventory::Inventory {
            schema_version: self.schema_version,
            source: self.source.clone(),
            host: self.host.clone(),
            os: self.os.clone(),
            problems: self.problems.clone(),
            ..Default::default()
        }
    }

    /// Whether the body may be canonical bytes: those have an empty
    /// `collection` block. (A body that hashes to the URL's hash but has
    /// one was not made by `content_bytes`; the full parse judges it.)
    pub fn is_canonical(&self) -> bool {
        self.collection == Collection::default()
    }
}

/// The length of a JSON array, its elements skipped.
pub struct Count(pub usize);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Count, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Count;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Count, A::Error> {
                let mut n = 0;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Count(n))
            }
        }
        d.deserialize_seq(V)
    }
}

/// Why a gzip body was refused.
#[derive(Debug)]
pub enum GunzipError {
    /// It inflates beyond the limit.
    TooLarge,
    /// Not a gzip stream, or a corrupt one.
    Invalid(String),
}

/// A gzip body inflated, and the same compressed data as a zlib stream
/// (what the store keeps): the body's deflate stream between a zlib header
/// and the Adler-32 of the inflated bytes. Only the first gzip member is
/// read, as `flate2::read::GzDecoder` does.
pub struct Gunzipped {
    pub content: Vec<u8>,
    pub zlib: Vec<u8>,
}

/// Inflate a gzip body of at most `limit` bytes inflated (RFC 1952).
pub fn gunzip(body: &[u8], limit: u64) -> Result<Gunzipped, GunzipError> {
    let bad = |m: &str| GunzipError::Invalid(m.to_owned());
    let start = member_start(body).ok_or_else(|| bad("no gzip header"))?;
    let deflate = body.get(start..).unwrap_or_default();
    let mut z = flate2::Decompress::new(false);
    let cap = usize::try_from(limit.saturating_add(1)).unwrap_or(usize::MAX);
    // Inventories gzip about tenfold: start near the final size.
    let mut content = Vec::with_capacity(deflate.len().saturating_mul(10).max(64 << 10).min(cap));
    loop {
        let consumed = usize::try_from(z.total_in()).unwrap_or(usize::MAX);
        let input = deflate.get(consumed..).unwrap_or_default();
        if content.len() == content.capacity() {
            if content.len() >= cap {
                return Err(GunzipError::TooLarge);
            }
            content.reserve((content.len().max(64 << 10)).min(cap - content.len()));
        }
        let before = (z.total_in(), z.total_out());
        let status = z
            .decompress_vec(input, &mut content, flate2::FlushDecompress::None)
            .map_err(|e| GunzipError::Invalid(e.to_string()))?;
        if content.len() as u64 > limit {
            return Err(GunzipError::TooLarge);
        }
        match status {
            flate2::Status::StreamEnd => break,
            _ if (z.total_in(), z.total_out()) == before && content.len() < content.capacity() => {
                return Err(bad("truncated gzip stream"));
            }
            _ => {}
        }
    }
    let end = usize::try_from(z.total_in()).unwrap_or(usize::MAX);
    let stream = deflate
        .get(..end)
        .ok_or_else(|| bad("truncated gzip stream"))?;
    let trailer = deflate
        .get(end..end.saturating_add(8))
        .filter(|t| t.len() == 8)
        .ok_or_else(|| bad("truncated gzip stream (no trailer)"))?;
    let le = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let mut crc = flate2::Crc::new();
    crc.update(&content);
    if crc.sum() != le(&trailer[..4]) || (content.len() as u32) != le(&trailer[4..]) {
        return Err(bad("corrupt gzip stream (checksum or length)"));
    }
    let mut zlib = Vec::with_capacity(stream.len() + 6);
    // CMF 0x78: deflate, 32 KiB window (the largest deflate allows, so any
    // gzip stream fits); FLG 0x9c: the default level, header check valid.
    zlib.extend_from_slice(&[0x78, 0x9c]);
    zlib.extend_from_slice(stream);
    zlib.extend_from_slice(&adler32(&content).to_be_bytes());
    Ok(Gunzipped { content, zlib })
}

/// Where the deflate data of a gzip member begins, after its header.
fn member_start(b: &[u8]) -> Option<usize> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    if b.get(..3)? != [0x1f, 0x8b, 8] {
        return None;
    }
    let flags = *b.get(3)?;
    if flags & 0xe0 != 0 {
        return None;
    }
    let mut at = 10;
    if flags & FEXTRA != 0 {
        let len = u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?]);
        at += 2 + usize::from(len);
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            at += b.get(at..)?.iter().position(|&c| c == 0)? + 1;
        }
    }
    if flags & FHCRC != 0 {
        at += 2;
    }
    (at <= b.len()).then_some(at)
}

fn adler32(data: &[u8]) -> u32 {
    let mut a = adler2::Adler32::new();
    a.write_slice(data);
    a.checksum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8], name: Option<&str>) -> Vec<u8> {
        let mut b = flate2::GzBuilder::new();
        if let Some(n) = name {
            b = b.filename(n).comment("c").extra(vec![1, 2, 3]);
        }
        let mut e = b.write(Vec::new(), flate2::Compression::default());
        e.write_all(data).expect("write");
        e.finish().expect("finish")
    }

    #[test]
    fn a_gzip_body_becomes_the_same_zlib_stream() {
        use std::io::Read;
        let data: Vec<u8> = (0..200_000u32)
            .flat_map(|i| format!("{{\"n\":{}}},", i % 977).into_bytes())
            .collect();
        for name in [None, Some("inventory.json")] {
            let g = gunzip(&gzip(&data, name), 1 << 30).expect("gunzip");
            assert_eq!(g.content, data);
            let mut back = Vec::new();
            flate2::read::ZlibDecoder::new(&g.zlib[..])
                .read_to_end(&mut back)
                .expect("a valid zlib stream");
            assert_eq!(back, data);
        }
        let empty = gunzip(&gzip(b"", None), 10).expect("empty");
        assert!(empty.content.is_empty());
    }

    #[test]
    fn bad_gzip_bodies_are_refused() {
        let body = gzip(&vec![b'a'; 100_000], None);
        assert!(matches!(gunzip(&body, 99_999), Err(GunzipError::TooLarge)));
        assert_eq!(
            gunzip(&body, 100_000).expect("at the limit").content.len(),
            100_000
        );
        for bad in [
            &b"not gzip"[..],
            &body[..body.len() / 2],
            &body[..body.len() - 3],
            &body[..5],
        ] {
            assert!(matches!(gunzip(bad, 1 << 20), Err(GunzipError::Invalid(_))));
        }
        let mut flipped = body.clone();
        let n = flipped.len();
        flipped[n - 6] ^= 1;
        assert!(
            matches!(gunzip(&flipped, 1 << 20), Err(GunzipError::Invalid(_))),
            "CRC"
        );
    }

    #[test]
    fn the_head_counts_packages_and_skips_them() {
        let mut inv = kensa_inventory::Inventory::default();
        inv.host.hostname = Some("web1".into());
        inv.packages = vec![kensa_inventory::Package::default(); 3];
        let bytes = inv.content_bytes();
        let head: Head = serde_json::from_slice(&bytes).expect("head");
        assert_eq!(head.packages.0, 1, "content_bytes deduplicates");
        assert!(head.is_canonical());
        assert_eq!(head.to_inventory().host.hostname.as_deref(), Some("web1"));
        inv.collection.collector = "kensa".into();
        let full: Head =
            serde_json::from_slice(&serde_json::to_vec(&inv).expect("json")).expect("head");
        assert_eq!(full.packages.0, 3);
        assert!(!full.is_canonical());
        assert!(serde_json::from_slice::<Head>(br#"{"schema_version":1}"#).is_err());
    }
}
