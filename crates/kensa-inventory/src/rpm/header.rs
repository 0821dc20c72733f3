//! The rpm header blob as the package databases store it: the on-disk
//! header of a package file without its 8-byte magic (`8e ad e8 01` and 4
//! reserved bytes).
//!
//! ```text
//! il: u32 BE      number of index entries
//! dl: u32 BE      length of the data store
//! il × { tag: u32 BE, type: u32 BE, offset: u32 BE, count: u32 BE }
//! dl bytes        the data store; each entry's value is at `offset`
//! ```
//!
//! Installed headers begin with a region entry (`HEADERIMMUTABLE`, type BIN,
//! 16 bytes pointing at a trailer inside the data store) covering the
//! entries signed in the package file; entries rpm adds at install time
//! (`INSTALLTIME`, ...) follow it ("dribble" entries). The reader needs no
//! more of the region than its presence: it looks entries up by tag, and
//! when a tag occurs twice the later entry wins, as rpm's own import lets a
//! dribble entry replace a region entry.
//!
//! Every length, count and offset is checked against the blob before use,
//! and the limits are rpm's own (`hdrchkTags`, `hdrchkData`): a blob that
//! rpm would refuse is refused here too, with what is wrong.

/// rpm refuses headers with more index entries than this.
const MAX_ENTRIES: u32 = 0xffff;
/// rpm refuses headers whose data store is larger than this (256 MiB).
const MAX_DATA: u32 = 0x0fff_ffff;
/// The largest tag type rpm defines (`RPM_I18NSTRING_TYPE`).
const MAX_TYPE: u32 = 9;

pub const TYPE_INT32: u32 = 4;
pub const TYPE_INT64: u32 = 5;
pub const TYPE_STRING: u32 = 6;
pub const TYPE_STRING_ARRAY: u32 = 8;
pub const TYPE_I18NSTRING: u32 = 9;

pub const TAG_NAME: u32 = 1000;
pub const TAG_VERSION: u32 = 1001;
pub const TAG_RELEASE: u32 = 1002;
pub const TAG_EPOCH: u32 = 1003;
pub const TAG_INSTALLTIME: u32 = 1008;
pub const TAG_VENDOR: u32 = 1011;
pub const TAG_ARCH: u32 = 1022;
pub const TAG_SOURCERPM: u32 = 1044;
pub const TAG_MODULARITYLABEL: u32 = 5096;

/// One index entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub tag: u32,
    pub ty: u32,
    pub offset: u32,
    pub count: u32,
}

/// A parsed header: its index and its data store, borrowed from the blob.
#[derive(Debug)]
pub struct Header<'a> {
    pub entries: Vec<Entry>,
    data: &'a [u8],
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// The name of the tags this reader knows, for messages.
fn tag_name(tag: u32) -> String {
    match tag {
        TAG_NAME => "NAME".into(),
        TAG_VERSION => "VERSION".into(),
        TAG_RELEASE => "RELEASE".into(),
        TAG_EPOCH => "EPOCH".into(),
        TAG_INSTALLTIME => "INSTALLTIME".into(),
        TAG_VENDOR => "VENDOR".into(),
        TAG_ARCH => "ARCH".into(),
        TAG_SOURCERPM => "SOURCERPM".into(),
        TAG_MODULARITYLABEL => "MODULARITYLABEL".into(),
        _ => format!("tag {tag}"),
    }
}

impl<'a> Header<'a> {
    /// Parse a header blob. The blob must be exactly the header (rpm checks
    /// `8 + 16 × il + dl` against the stored length too).
    pub fn parse(blob: &'a [u8]) -> Result<Self, String> {
        let (Some(il), Some(dl)) = (be32(blob, 0), be32(blob, 4)) else {
            return Err(format!(
                "header blob of {} bytes is shorter than its 8-byte preamble",
                blob.len()
            ));
        };
        if il == 0 || il > MAX_ENTRIES {
            return Err(format!(
                "header has {il} index entries (rpm accepts 1 to {MAX_ENTRIES})"
            ));
        }
        if dl > MAX_DATA {
            return Err(format!(
                "header data store of {dl} bytes is over rpm's {MAX_DATA}-byte limit"
            ));
        }
        // il ≤ 0xffff and dl < 2^28: no overflow in u64 or usize on 64-bit,
        // and checked anyway.
        let index_len = (il as usize)
            .checked_mul(16)
            .ok_or("header index too large")?;
        let expected = 8usize
            .checked_add(index_len)
            .and_then(|n| n.checked_add(dl as usize))
            .ok_or("header size overflows")?;
        if blob.len() != expected {
            return Err(format!(
                "header blob is {} bytes but its preamble says 8 + 16 × {il} entries + {dl} data = {expected}",
                blob.len()
            ));
        }
        let data = &blob[8 + index_len..];
        let mut entries = Vec::with_capacity(il as usize);
        for i in 0..il as usize {
            let at = 8 + i * 16;
            let (Some(tag), Some(ty), Some(offset), Some(count)) = (
                be32(blob, at),
                be32(blob, at + 4),
                be32(blob, at + 8),
                be32(blob, at + 12),
            ) else {
                return Err(format!("index entry {i} is cut short"));
            };
            if ty > MAX_TYPE {
                return Err(format!(
                    "index entry {i} ({}) has unknown type {ty}",
                    tag_name(tag)
                ));
            }
            if offset > dl {
                return Err(format!(
                    "index entry {i} ({}) points at offset {offset}, past the {dl}-byte data store",
                    tag_name(tag)
                ));
            }
            entries.push(Entry {
                tag,
                ty,
                offset,
                count,
            });
        }
        Ok(Header { entries, data })
    }

    /// The last entry with this tag.
    pub fn entry(&self, tag: u32) -> Option<Entry> {
        self.entries.iter().rev().find(|e| e.tag == tag).copied()
    }

    /// The NUL-terminated string at `offset` in the data store.
    fn c_str(&self, tag: u32, offset: u32) -> Result<String, String> {
        let rest = self
            .data
            .get(offset as usize..)
            .ok_or_else(|| format!("{} is outside the data store", tag_name(tag)))?;
        let end = rest.iter().position(|&b| b == 0).ok_or_else(|| {
            format!(
                "{} string is not NUL-terminated inside the data store",
                tag_name(tag)
            )
        })?;
        // Lossy: a bad byte in a vendor string must not hide a package.
        Ok(String::from_utf8_lossy(&rest[..end]).into_owned())
    }

    /// A string tag: STRING, or the first element of a STRING_ARRAY or
    /// I18NSTRING (the untranslated `C` value). `None` when absent.
    pub fn string(&self, tag: u32) -> Result<Option<String>, String> {
        let Some(e) = self.entry(tag) else {
            return Ok(None);
        };
        match e.ty {
            TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING if e.count >= 1 => {
                self.c_str(tag, e.offset).map(Some)
            }
            TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING => {
                Err(format!("{} has a count of 0", tag_name(tag)))
            }
            ty => Err(format!("{} has type {ty}, not a string", tag_name(tag))),
        }
    }

    /// The first value of an INT32 tag. `None` when absent.
    pub fn int32(&self, tag: u32) -> Result<Option<u32>, String> {
        let Some(e) = self.entry(tag) else {
            return Ok(None);
        };
        if e.ty != TYPE_INT32 {
            return Err(format!("{} has type {}, not INT32", tag_name(tag), e.ty));
        }
        if e.count == 0 {
            return Err(format!("{} has a count of 0", tag_name(tag)));
        }
        be32(self.data, e.offset as usize)
            .map(Some)
            .ok_or_else(|| format!("{} value runs past the data store", tag_name(tag)))
    }
}

/// What Kensa reads from an installed package's header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RpmInfo {
    pub name: String,
    pub epoch: Option<u32>,
    pub version: String,
    pub release: String,
    pub arch: Option<String>,
    /// The source RPM's file name, `name-version-release.src.rpm`.
    pub source_rpm: Option<String>,
    pub vendor: Option<String>,
    pub modularity_label: Option<String>,
    /// Unix seconds.
    pub install_time: Option<u32>,
}

/// The name of rpm's pseudo-packages for imported signing keys.
pub const GPG_PUBKEY: &str = "gpg-pubkey";

/// Read the package fields of a header blob. `Ok(None)` for `gpg-pubkey`
/// headers: rpm stores each imported signing key as a pseudo-package of that
/// name (no files, no architecture, no source RPM), which is not installed
/// software and is never the subject of an advisory.
pub fn read_info(blob: &[u8]) -> Result<Option<RpmInfo>, String> {
    let h = Header::parse(blob)?;
    let required = |tag| {
        h.string(tag)?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| format!("header has no {}", tag_name(tag)))
    };
    let name = required(TAG_NAME)?;
    if name == GPG_PUBKEY {
        return Ok(None);
    }
    let non_empty =
        |tag| -> Result<Option<String>, String> { Ok(h.string(tag)?.filter(|s| !s.is_empty())) };
    Ok(Some(RpmInfo {
        epoch: h.int32(TAG_EPOCH)?,
        version: required(TAG_VERSION)?,
        release: required(TAG_RELEASE)?,
        arch: non_empty(TAG_ARCH)?,
        source_rpm: non_empty(TAG_SOURCERPM)?,
        vendor: non_empty(TAG_VENDOR)?,
        modularity_label: non_empty(TAG_MODULARITYLABEL)?,
        install_time: h.int32(TAG_INSTALLTIME)?,
        name,
    }))
}

/// Build a header blob from `(tag, type, value bytes, count)`, values laid
/// out in order with the alignment rpm uses. For tests and fuzz seeds.
pub fn build(entries: &[(u32, u32, &[u8], u32)]) -> Vec<u8> {
    let mut data: Vec<u8> = Vec::new();
    let mut index: Vec<u8> = Vec::new();
    for &(tag, ty, value, count) in entries {
        let align = match ty {
            3 => 2,
            4 => 4,
            5 => 8,
            _ => 1,
        };
        while !data.len().is_multiple_of(align) {
            data.push(0);
        }
        for v in [tag, ty, data.len() as u32, count] {
            index.extend_from_slice(&v.to_be_bytes());
        }
        data.extend_from_slice(value);
    }
    let mut blob = Vec::with_capacity(8 + index.len() + data.len());
    blob.extend_from_slice(&(entries.len() as u32).to_be_bytes());
    blob.extend_from_slice(&(data.len() as u32).to_be_bytes());
    blob.extend_from_slice(&index);
    blob.extend_from_slice(&data);
    blob
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> Vec<u8> {
        build(&[
            (TAG_NAME, TYPE_STRING, format!("{name}\0").as_bytes(), 1),
            (TAG_VERSION, TYPE_STRING, b"1.0\0", 1),
            (TAG_RELEASE, TYPE_STRING, b"2.el9\0", 1),
            (TAG_EPOCH, TYPE_INT32, &3u32.to_be_bytes(), 1),
            (TAG_ARCH, TYPE_STRING, b"x86_64\0", 1),
            (TAG_VENDOR, TYPE_I18NSTRING, b"Acme\0Acme-de\0", 2),
            (TAG_SOURCERPM, TYPE_STRING, b"foo-1.0-2.el9.src.rpm\0", 1),
            (
                TAG_INSTALLTIME,
                TYPE_INT32,
                &1_700_000_000u32.to_be_bytes(),
                1,
            ),
        ])
    }

    #[test]
    fn reads_the_package_fields() {
        let info = read_info(&sample("foo"))
            .expect("valid")
            .expect("a package");
        assert_eq!(info.name, "foo");
        assert_eq!(info.epoch, Some(3));
        assert_eq!(info.version, "1.0");
        assert_eq!(info.release, "2.el9");
        assert_eq!(info.arch.as_deref(), Some("x86_64"));
        assert_eq!(info.vendor.as_deref(), Some("Acme"));
        assert_eq!(info.source_rpm.as_deref(), Some("foo-1.0-2.el9.src.rpm"));
        assert_eq!(info.install_time, Some(1_700_000_000));
        assert_eq!(info.modularity_label, None);
    }

    #[test]
    fn gpg_pubkey_is_skipped() {
        assert_eq!(read_info(&sample(GPG_PUBKEY)).expect("valid"), None);
    }

    #[test]
    fn later_entries_replace_earlier_ones() {
        let blob = build(&[
            (TAG_NAME, TYPE_STRING, b"a\0", 1),
            (TAG_VERSION, TYPE_STRING, b"1\0", 1),
            (TAG_RELEASE, TYPE_STRING, b"1\0", 1),
            (TAG_NAME, TYPE_STRING, b"b\0", 1),
        ]);
        assert_eq!(read_info(&blob).expect("valid").expect("package").name, "b");
    }

    #[test]
    fn every_truncation_and_bad_field_is_an_error() {
        let blob = sample("foo");
        for n in 0..blob.len() {
            assert!(read_info(&blob[..n]).is_err(), "truncated at {n}");
        }
        let mut bad_type = blob.clone();
        bad_type[8 + 4..8 + 8].copy_from_slice(&77u32.to_be_bytes());
        assert!(
            read_info(&bad_type)
                .expect_err("bad type")
                .contains("unknown type 77")
        );
        let mut bad_offset = blob.clone();
        bad_offset[8 + 8..8 + 12].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(
            read_info(&bad_offset)
                .expect_err("bad offset")
                .contains("past the")
        );
        let mut huge = blob.clone();
        huge[0..4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(read_info(&huge).is_err());
        // A string whose NUL lies beyond the data store.
        let unterminated = build(&[(TAG_NAME, TYPE_STRING, b"abc", 1)]);
        assert!(
            read_info(&unterminated)
                .expect_err("no NUL")
                .contains("NUL")
        );
        // EPOCH as a string is refused rather than misread.
        let wrong = build(&[
            (TAG_NAME, TYPE_STRING, b"a\0", 1),
            (TAG_VERSION, TYPE_STRING, b"1\0", 1),
            (TAG_RELEASE, TYPE_STRING, b"1\0", 1),
            (TAG_EPOCH, TYPE_STRING, b"1\0", 1),
        ]);
        assert!(read_info(&wrong).expect_err("epoch type").contains("EPOCH"));
    }
}
