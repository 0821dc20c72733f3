//! The BerkeleyDB hash database rpm used for `Packages` up to rpm 4.16
//! (RHEL/CentOS 7 and 8, Amazon Linux 2, SLES 12/15 before NDB), read
//! without libdb: rpm ships the same kind of read-only reader (`bdb_ro`)
//! for migrating old databases, and this follows the same walk.
//!
//! Layout: fixed-size pages, page 0 the hash metadata page. Byte order is
//! the creating machine's (both occur in real files); the metadata magic
//! `0x00061561` read little-endian or big-endian tells which. Each bucket
//! `b` in `0..=max_bucket` starts on page `b + spares[⌈log2(b + 1)⌉]` and
//! continues through `next_pgno` links. A hash page holds key/value items
//! in pairs; an item is stored on the page (`H_KEYDATA`) or, when large
//! (every rpm header is), as a reference to a chain of overflow pages
//! (`H_OFFPAGE`: first page, total length). In `Packages` the key is the
//! 4-byte header number (native byte order) and the value the header blob;
//! key 0 holds rpm's next-instance counter and is not a package.
//!
//! Page header (26 bytes): lsn 0..8, pgno 8..12, prev_pgno 12..16,
//! next_pgno 16..20, entries 20..22, hf_offset 22..24 (on overflow pages:
//! bytes used), level 24, type 25; then `entries` u16 item offsets.
//!
//! Nothing is trusted: every page number is checked against the file and
//! against the page's own `pgno`, item offsets against the page, chains are
//! bounded by the number of pages in the file, and a damaged bucket or
//! record is reported while the others are still read.

use std::collections::HashSet;

use super::Records;

const HASH_MAGIC: u32 = 0x0006_1561;
const BTREE_MAGIC: u32 = 0x0005_3162;
const PAGE_HEADER: usize = 26;
const META_SIZE: usize = 512;

const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASHMETA: u8 = 8;
const P_HASH: u8 = 13;

const H_KEYDATA: u8 = 1;
const H_OFFPAGE: u8 = 3;

struct Db<'a> {
    data: &'a [u8],
    swapped: bool,
    page_size: usize,
    last_pgno: u32,
    max_bucket: u32,
    spares: [u32; 32],
}

fn le_or_be32(b: &[u8], at: usize, big: bool) -> Option<u32> {
    let s: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if big {
        u32::from_be_bytes(s)
    } else {
        u32::from_le_bytes(s)
    })
}

fn le_or_be16(b: &[u8], at: usize, big: bool) -> Option<u16> {
    let s: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(if big {
        u16::from_be_bytes(s)
    } else {
        u16::from_le_bytes(s)
    })
}

impl<'a> Db<'a> {
    fn open(data: &'a [u8]) -> Result<Self, String> {
        if data.len() < META_SIZE {
            return Err(format!(
                "{} bytes is too short for a BerkeleyDB metadata page ({META_SIZE} bytes)",
                data.len()
            ));
        }
        let magic_le = le_or_be32(data, 12, false).unwrap_or(0);
        let magic_be = le_or_be32(data, 12, true).unwrap_or(0);
        let swapped = if magic_le == HASH_MAGIC {
            false
        } else if magic_be == HASH_MAGIC {
            true
        } else if magic_le == BTREE_MAGIC || magic_be == BTREE_MAGIC {
            return Err(
                "a BerkeleyDB btree, not the hash database rpm keeps its Packages in".into(),
            );
        } else {
            return Err(format!(
                "not a BerkeleyDB hash database (magic {magic_le:#010x})"
            ));
        };
        let get = |at| le_or_be32(data, at, swapped).unwrap_or(0);
        let version = get(16);
        if !(8..=10).contains(&version) {
            return Err(format!(
                "unsupported BerkeleyDB hash version {version} (8 to 10 are known)"
            ));
        }
        let page_size = get(20) as usize;
        if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
            return Err(format!("invalid BerkeleyDB page size {page_size}"));
        }
        if data[25] != P_HASHMETA {
            return Err(format!(
                "page 0 has type {}, not the hash metadata page",
                data[25]
            ));
        }
        let mut spares = [0u32; 32];
        for (i, s) in spares.iter_mut().enumerate() {
            *s = get(96 + 4 * i);
        }
        Ok(Db {
            data,
            swapped,
            page_size,
            last_pgno: get(32),
            max_bucket: get(72),
            spares,
        })
    }

    /// Pages the file actually holds (a truncated file holds fewer than
    /// `last_pgno + 1`).
    fn pages_in_file(&self) -> u64 {
        (self.data.len() / self.page_size) as u64
    }

    fn page(&self, pgno: u32) -> Result<&'a [u8], String> {
        if pgno == 0 || pgno > self.last_pgno {
            return Err(format!(
                "page number {pgno} is outside the database (last page {})",
                self.last_pgno
            ));
        }
        let start = (pgno as usize)
            .checked_mul(self.page_size)
            .ok_or_else(|| format!("page number {pgno} overflows"))?;
        let page = start
            .checked_add(self.page_size)
            .and_then(|end| self.data.get(start..end))
            .ok_or_else(|| format!("page {pgno} is past the end of the file (truncated?)"))?;
        let own = self.u32(page, 8);
        if own != pgno {
            return Err(format!("page {pgno} says it is page {own}"));
        }
        Ok(page)
    }

    fn u32(&self, page: &[u8], at: usize) -> u32 {
        le_or_be32(page, at, self.swapped).unwrap_or(0)
    }

    fn u16(&self, page: &[u8], at: usize) -> usize {
        le_or_be16(page, at, self.swapped).unwrap_or(0) as usize
    }

    fn bucket_page(&self, bucket: u32) -> Option<u32> {
        let bits = (32 - bucket.leading_zeros()) as usize;
        bucket.checked_add(*self.spares.get(bits)?)
    }

    /// The item at `off` of length `len` on a hash page: its bytes, read
    /// through the overflow chain for an off-page item.
    fn item(
        &self,
        page: &[u8],
        off: usize,
        len: usize,
        used: &mut HashSet<u32>,
    ) -> Result<Vec<u8>, String> {
        let item = off
            .checked_add(len)
            .and_then(|end| page.get(off..end))
            .filter(|i| !i.is_empty())
            .ok_or_else(|| {
                format!("item at offset {off} with length {len} does not fit the page")
            })?;
        match item[0] {
            H_KEYDATA => Ok(item[1..].to_vec()),
            H_OFFPAGE if len == 12 => self.overflow(self.u32(item, 4), self.u32(item, 8), used),
            H_OFFPAGE => Err(format!("off-page item of {len} bytes (12 expected)")),
            t => Err(format!(
                "item of type {t}, not key/data or off-page (duplicates are not used by rpm)"
            )),
        }
    }

    /// Follow an overflow chain from `pgno` for `total` bytes. Every page
    /// belongs to one item only (`used`), which also bounds the work on a
    /// hostile file to one pass over its pages.
    fn overflow(
        &self,
        mut pgno: u32,
        total: u32,
        used: &mut HashSet<u32>,
    ) -> Result<Vec<u8>, String> {
        let total = total as usize;
        if total == 0 || total > self.data.len() {
            return Err(format!(
                "overflow item of {total} bytes in a {}-byte file",
                self.data.len()
            ));
        }
        let mut out = Vec::with_capacity(total);
        while out.len() < total {
            if !used.insert(pgno) {
                return Err(format!("overflow page {pgno} is used twice"));
            }
            let page = self.page(pgno)?;
            if page[25] != P_OVERFLOW {
                return Err(format!(
                    "overflow chain reaches page {pgno} of type {}",
                    page[25]
                ));
            }
            let n = self.u16(page, 22);
            if n == 0 || PAGE_HEADER + n > self.page_size || n > total - out.len() {
                return Err(format!("overflow page {pgno} claims {n} bytes"));
            }
            out.extend_from_slice(&page[PAGE_HEADER..PAGE_HEADER + n]);
            pgno = self.u32(page, 16);
        }
        Ok(out)
    }
}

/// Read every header blob of a BerkeleyDB hash `Packages` file.
pub fn read(data: &[u8]) -> Result<Records, String> {
    let db = Db::open(data)?;
    let mut records = Records::default();
    // Every page read so far, bucket or overflow: each belongs to one place.
    let mut visited: HashSet<u32> = HashSet::new();
    // A hash table never has more buckets than the file has pages.
    if u64::from(db.max_bucket) >= db.pages_in_file().max(1) {
        return Err(format!(
            "metadata names {} buckets but the file holds {} pages",
            u64::from(db.max_bucket) + 1,
            db.pages_in_file()
        ));
    }
    for bucket in 0..=db.max_bucket {
        let Some(mut pgno) = db.bucket_page(bucket) else {
            records
                .damaged
                .push(format!("bucket {bucket}: page number overflows"));
            continue;
        };
        // Walk the bucket's chain of pages.
        while pgno != 0 {
            if !visited.insert(pgno) {
                records
                    .damaged
                    .push(format!("bucket {bucket}: page {pgno} is linked twice"));
                break;
            }
            let page = match db.page(pgno) {
                Ok(p) => p,
                Err(e) => {
                    records.damaged.push(format!("bucket {bucket}: {e}"));
                    break;
                }
            };
            if !matches!(page[25], P_HASH | P_HASH_UNSORTED | P_HASHMETA) {
                records.damaged.push(format!(
                    "bucket {bucket}: page {pgno} has type {}, not a hash page",
                    page[25]
                ));
                break;
            }
            read_hash_page(&db, pgno, page, &mut records, &mut visited);
            pgno = db.u32(page, 16);
        }
    }
    Ok(records)
}

fn read_hash_page(
    db: &Db<'_>,
    pgno: u32,
    page: &[u8],
    records: &mut Records,
    used: &mut HashSet<u32>,
) {
    let entries = db.u16(page, 20);
    if PAGE_HEADER + 2 * entries > db.page_size {
        records
            .damaged
            .push(format!("page {pgno}: {entries} items do not fit the page"));
        return;
    }
    let offset = |i: usize| db.u16(page, PAGE_HEADER + 2 * i);
    let index_end = PAGE_HEADER + 2 * entries;
    // Items are laid out from the end of the page down: the key at index
    // 2i ends where the previous value starts (the page end for the first).
    let mut i = 0;
    while i + 1 < entries {
        let (koff, voff) = (offset(i), offset(i + 1));
        let kend = if i == 0 { db.page_size } else { offset(i - 1) };
        i += 2;
        if voff < index_end || voff >= koff || koff >= kend || kend > db.page_size {
            records.damaged.push(format!(
                "page {pgno}: item offsets {koff}/{voff} are out of order or overlap the index"
            ));
            continue;
        }
        let key = match db.item(page, koff, kend - koff, used) {
            Ok(k) => k,
            Err(e) => {
                records.damaged.push(format!("page {pgno}: key: {e}"));
                continue;
            }
        };
        let id = match <[u8; 4]>::try_from(key.as_slice()) {
            Ok(k) if db.swapped => u32::from_be_bytes(k),
            Ok(k) => u32::from_le_bytes(k),
            Err(_) => {
                records.damaged.push(format!(
                    "page {pgno}: key of {} bytes, not a 4-byte header number",
                    key.len()
                ));
                continue;
            }
        };
        if id == 0 {
            // rpm's next-instance counter, not a package.
            continue;
        }
        match db.item(page, voff, koff - voff, used) {
            Ok(v) => records.headers.push((id, v)),
            Err(e) => records.damaged.push(format!("header {id}: {e}")),
        }
    }
}
