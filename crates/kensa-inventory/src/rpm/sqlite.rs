//! rpm's SQLite database, `rpmdb.sqlite` (rpm ≥ 4.16: Fedora 33+, RHEL 9,
//! Amazon Linux 2023, CBL-Mariner/Azure Linux), read by a small read-only
//! SQLite table reader written for it.
//!
//! Why not `rusqlite` (bundled SQLite): Kensa reads databases out of
//! untrusted images and hosts, as bytes handed over by a [`Root`], and all
//! it needs is one table, `Packages (hnum INTEGER PRIMARY KEY, blob BLOB)`.
//! The reader below is a few hundred lines of bounds-checked safe Rust over
//! that slice: no C parser on hostile input, no temporary copy on disk (the
//! C library wants a file or an unsafe deserialize), no C toolchain in the
//! build, and it is fuzzed with the other rpm readers. What it covers of the
//! file format (sqlite.org/fileformat2.html):
//!
//! - the 100-byte database header: page size, reserved bytes per page,
//!   text encoding;
//! - table b-trees (interior `0x05`, leaf `0x0d` pages), cell payloads with
//!   their overflow page chains, and the record format (serial types);
//! - `sqlite_schema` on page 1, to find the root page of `Packages`;
//! - the write-ahead log: rpm opens its database in WAL mode, so committed
//!   transactions may still sit in `rpmdb.sqlite-wal` (a live host, an image
//!   taken mid-transaction). Frames are applied as SQLite does: only frames
//!   whose salts and cumulative checksums are valid, up to the last commit
//!   frame; later (uncommitted or torn) frames are ignored.
//!
//! Indexes, free lists and pointer maps are never needed for a full table
//! scan and are not read. Every page number is checked against the
//! database size, every page is visited at most once (so loops and shared
//! pages in a hostile file end the walk instead of repeating it), and
//! payload sizes are bounded by the file.
//!
//! [`Root`]: crate::fs::Root

use std::collections::{HashMap, HashSet};

use super::Records;

const MAGIC: &[u8; 16] = b"SQLite format 3\0";
const WAL_MAGIC_LE: u32 = 0x377f_0682;
const WAL_MAGIC_BE: u32 = 0x377f_0683;
const WAL_HEADER: usize = 32;
const WAL_FRAME_HEADER: usize = 24;
/// Depth of any real table b-tree is far below this.
const MAX_DEPTH: usize = 64;

const LEAF_TABLE: u8 = 0x0d;
const INTERIOR_TABLE: u8 = 0x05;

fn be16(b: &[u8], at: usize) -> Option<usize> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(usize::from(u16::from_be_bytes([s[0], s[1]])))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// An SQLite varint at `at`: its value and length, `None` if cut short.
fn varint(b: &[u8], at: usize) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for i in 0..9 {
        let byte = *b.get(at.checked_add(i)?)?;
        if i == 8 {
            return Some(((v << 8) | u64::from(byte), 9));
        }
        v = (v << 7) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// One column value of a record.
#[derive(Debug, PartialEq)]
enum Value<'a> {
    Null,
    Int(i64),
    Other,
    Blob(&'a [u8]),
    Text(&'a [u8]),
}

/// Decode a record (header of serial types, then the values).
fn record(payload: &[u8]) -> Result<Vec<Value<'_>>, String> {
    let (header_len, n) = varint(payload, 0).ok_or("record header is cut short")?;
    let header_len = usize::try_from(header_len).map_err(|_| "record header too long")?;
    if header_len > payload.len() || header_len < n {
        return Err(format!(
            "record header of {header_len} bytes in a {}-byte record",
            payload.len()
        ));
    }
    let mut values = Vec::new();
    let (mut at, mut body) = (n, header_len);
    while at < header_len {
        let (ty, n) = varint(&payload[..header_len], at).ok_or("record header is cut short")?;
        at += n;
        let size = match ty {
            0 | 8 | 9 => 0,
            1..=4 => ty as usize,
            5 => 6,
            6 | 7 => 8,
            10 | 11 => return Err(format!("reserved serial type {ty}")),
            _ => usize::try_from((ty - 12) / 2).map_err(|_| "value too long")?,
        };
        let bytes = body
            .checked_add(size)
            .and_then(|end| payload.get(body..end))
            .ok_or_else(|| {
                format!(
                    "value of {size} bytes runs past the {}-byte record",
                    payload.len()
                )
            })?;
        body += size;
        values.push(match ty {
            0 => Value::Null,
            8 => Value::Int(0),
            9 => Value::Int(1),
            1..=6 => {
                // Big-endian two's complement of 1 to 8 bytes.
                let neg = bytes[0] & 0x80 != 0;
                let mut v: i64 = if neg { -1 } else { 0 };
                for &b in bytes {
                    v = (v << 8) | i64::from(b);
                }
                Value::Int(v)
            }
            7 => Value::Other,
            t if t % 2 == 0 => Value::Blob(bytes),
            _ => Value::Text(bytes),
        });
    }
    Ok(values)
}

struct Db<'a> {
    data: &'a [u8],
    page_size: usize,
    /// Page size less the bytes reserved at the end of each page.
    usable: usize,
    pages: u32,
    /// 1 UTF-8, 2 UTF-16le, 3 UTF-16be.
    encoding: u32,
    /// The newest committed copy of each page in the write-ahead log.
    wal: HashMap<u32, &'a [u8]>,
}

impl<'a> Db<'a> {
    fn open(
        data: &'a [u8],
        wal: Option<&'a [u8]>,
        notes: &mut Vec<String>,
    ) -> Result<Self, String> {
        if data.len() < 100 || &data[..16] != MAGIC {
            return Err("not an SQLite 3 database (no header)".into());
        }
        let page_size = match be16(data, 16).unwrap_or(0) {
            1 => 65536,
            n => n,
        };
        if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
            return Err(format!("invalid SQLite page size {page_size}"));
        }
        let usable = page_size - usize::from(data[20]);
        if usable < 480 {
            return Err(format!(
                "{} reserved bytes leave too little of a {page_size}-byte page",
                data[20]
            ));
        }
        let encoding = be32(data, 56).unwrap_or(0);
        let mut pages = u32::try_from(data.len() / page_size).map_err(|_| "database too large")?;
        let mut frames = HashMap::new();
        if let Some(wal) = wal.filter(|w| !w.is_empty()) {
            match read_wal(wal, page_size) {
                Ok((f, Some(size))) => {
                    frames = f;
                    pages = size;
                }
                Ok((_, None)) => {}
                // SQLite itself ignores a log it cannot validate.
                Err(e) => notes.push(format!("write-ahead log ignored: {e}")),
            }
        }
        if pages == 0 {
            return Err("database holds no complete page".into());
        }
        let db = Db {
            data,
            page_size,
            usable,
            pages,
            encoding: match encoding {
                0..=1 => 1,
                2 | 3 => encoding,
                e => return Err(format!("unknown text encoding {e}")),
            },
            wal: frames,
        };
        Ok(db)
    }

    fn page(&self, n: u32) -> Result<&'a [u8], String> {
        if n == 0 || n > self.pages {
            return Err(format!(
                "page number {n} is outside the {}-page database",
                self.pages
            ));
        }
        if let Some(p) = self.wal.get(&n) {
            return Ok(p);
        }
        let start = (n as usize - 1) * self.page_size;
        self.data
            .get(start..start + self.page_size)
            .ok_or_else(|| format!("page {n} is past the end of the file (truncated?)"))
    }

    fn text(&self, bytes: &[u8]) -> String {
        let units = |be: bool| -> Vec<u16> {
            bytes
                .chunks_exact(2)
                .map(|c| {
                    if be {
                        u16::from_be_bytes([c[0], c[1]])
                    } else {
                        u16::from_le_bytes([c[0], c[1]])
                    }
                })
                .collect()
        };
        match self.encoding {
            2 => String::from_utf16_lossy(&units(false)),
            3 => String::from_utf16_lossy(&units(true)),
            _ => String::from_utf8_lossy(bytes).into_owned(),
        }
    }

    /// Every row of the table b-tree rooted at `root`, in rowid order, as
    /// (rowid, payload). A damaged subtree or row is noted and skipped.
    fn rows(
        &self,
        root: u32,
        visited: &mut HashSet<u32>,
        notes: &mut Vec<String>,
    ) -> Vec<(i64, Vec<u8>)> {
        let mut rows = Vec::new();
        let mut stack = vec![(root, 0usize)];
        while let Some((n, depth)) = stack.pop() {
            if depth > MAX_DEPTH {
                notes.push(format!("page {n}: b-tree deeper than {MAX_DEPTH}"));
                continue;
            }
            if !visited.insert(n) {
                notes.push(format!("page {n} is reached twice"));
                continue;
            }
            let page = match self.page(n) {
                Ok(p) => p,
                Err(e) => {
                    notes.push(e);
                    continue;
                }
            };
            if let Err(e) = self.read_page(n, page, depth, &mut stack, &mut rows, visited, notes) {
                notes.push(format!("page {n}: {e}"));
            }
        }
        rows
    }

    #[allow(clippy::too_many_arguments)]
    fn read_page(
        &self,
        n: u32,
        page: &[u8],
        depth: usize,
        stack: &mut Vec<(u32, usize)>,
        rows: &mut Vec<(i64, Vec<u8>)>,
        visited: &mut HashSet<u32>,
        notes: &mut Vec<String>,
    ) -> Result<(), String> {
        let h = if n == 1 { 100 } else { 0 };
        let kind = *page.get(h).ok_or("page too short")?;
        let cells = be16(page, h + 3).ok_or("page too short")?;
        let header_len = match kind {
            LEAF_TABLE => 8,
            INTERIOR_TABLE => 12,
            k => return Err(format!("page type {k:#04x} is not a table b-tree page")),
        };
        let pointers = h + header_len;
        if pointers + 2 * cells > self.usable {
            return Err(format!("{cells} cells do not fit the page"));
        }
        let cell_at = |i: usize| -> Result<usize, String> {
            let at = be16(page, pointers + 2 * i).ok_or("cell pointer cut short")?;
            if at < pointers + 2 * cells || at >= self.usable {
                return Err(format!("cell {i} at offset {at} is outside the cell area"));
            }
            Ok(at)
        };
        if kind == INTERIOR_TABLE {
            // Children are pushed right to left so that they pop in rowid order.
            let right = be32(page, h + 8).ok_or("page too short")?;
            stack.push((right, depth + 1));
            for i in (0..cells).rev() {
                let at = cell_at(i)?;
                let child = be32(&page[..self.usable], at)
                    .ok_or_else(|| format!("cell {i} is cut short"))?;
                stack.push((child, depth + 1));
            }
            return Ok(());
        }
        for i in 0..cells {
            let row = cell_at(i).and_then(|at| self.leaf_cell(&page[..self.usable], at, visited));
            match row {
                Ok(r) => rows.push(r),
                Err(e) => notes.push(format!("page {n} cell {i}: {e}")),
            }
        }
        Ok(())
    }

    /// A table leaf cell: (rowid, payload with its overflow pages).
    fn leaf_cell(
        &self,
        page: &[u8],
        at: usize,
        visited: &mut HashSet<u32>,
    ) -> Result<(i64, Vec<u8>), String> {
        let (size, a) = varint(page, at).ok_or("payload size cut short")?;
        let (rowid, b) = varint(page, at + a).ok_or("rowid cut short")?;
        let start = at + a + b;
        // No payload can be larger than the database holding it.
        let limit = self.pages as u64 * self.page_size as u64;
        if size > limit {
            return Err(format!(
                "payload of {size} bytes in a {limit}-byte database"
            ));
        }
        let size = size as usize;
        let u = self.usable;
        let max_local = u - 35;
        let local = if size <= max_local {
            size
        } else {
            let min_local = (u - 12) * 32 / 255 - 23;
            let k = min_local + (size - min_local) % (u - 4);
            if k <= max_local { k } else { min_local }
        };
        let here = page
            .get(start..start + local)
            .ok_or_else(|| format!("payload of {local} bytes runs off the page"))?;
        // Grown as pages are read, not reserved from the claimed size.
        let mut payload = here.to_vec();
        if local < size {
            let mut next = be32(page, start + local).ok_or("overflow page number cut short")?;
            while payload.len() < size {
                if !visited.insert(next) {
                    return Err(format!("overflow page {next} is used twice"));
                }
                let over = self.page(next)?;
                next = be32(over, 0).unwrap_or(0);
                let take = (u - 4).min(size - payload.len());
                payload.extend_from_slice(&over[4..4 + take]);
            }
        }
        Ok((rowid as i64, payload))
    }
}

/// The newest committed copy of each page in a write-ahead log, and the
/// database size in pages after the last commit (`None`: no commit).
type WalPages<'a> = (HashMap<u32, &'a [u8]>, Option<u32>);

fn read_wal(wal: &[u8], page_size: usize) -> Result<WalPages<'_>, String> {
    if wal.len() < WAL_HEADER {
        return Err(format!("{} bytes is shorter than a log header", wal.len()));
    }
    let magic = be32(wal, 0).unwrap_or(0);
    let big = match magic {
        WAL_MAGIC_LE => false,
        WAL_MAGIC_BE => true,
        m => return Err(format!("bad magic {m:#010x}")),
    };
    let wal_page = be32(wal, 8).unwrap_or(0) as usize;
    if wal_page != page_size {
        return Err(format!(
            "log page size {wal_page} is not the database's {page_size}"
        ));
    }
    let salts = &wal[16..24];
    let mut sum = wal_checksum(big, &wal[..24], (0, 0));
    if (be32(wal, 24), be32(wal, 28)) != (Some(sum.0), Some(sum.1)) {
        return Err("log header checksum does not match".into());
    }
    let mut committed = HashMap::new();
    let mut pending: Vec<(u32, &[u8])> = Vec::new();
    let mut size = None;
    for frame in wal[WAL_HEADER..].chunks_exact(WAL_FRAME_HEADER + page_size) {
        let (head, page) = frame.split_at(WAL_FRAME_HEADER);
        if &head[8..16] != salts {
            break; // a frame left over from an earlier generation of the log
        }
        sum = wal_checksum(big, &head[..8], sum);
        sum = wal_checksum(big, page, sum);
        if (be32(head, 16), be32(head, 20)) != (Some(sum.0), Some(sum.1)) {
            break; // a torn write: nothing from here on is valid
        }
        let pgno = be32(head, 0).unwrap_or(0);
        if pgno == 0 {
            break;
        }
        pending.push((pgno, page));
        let commit = be32(head, 4).unwrap_or(0);
        if commit != 0 {
            committed.extend(pending.drain(..));
            size = Some(commit);
        }
    }
    Ok((committed, size))
}

/// SQLite's log checksum: pairs of 32-bit words in the log's byte order.
fn wal_checksum(big: bool, data: &[u8], (mut s0, mut s1): (u32, u32)) -> (u32, u32) {
    let word = |c: &[u8]| {
        let w = [c[0], c[1], c[2], c[3]];
        if big {
            u32::from_be_bytes(w)
        } else {
            u32::from_le_bytes(w)
        }
    };
    for c in data.chunks_exact(8) {
        s0 = s0.wrapping_add(word(&c[..4])).wrapping_add(s1);
        s1 = s1.wrapping_add(word(&c[4..])).wrapping_add(s0);
    }
    (s0, s1)
}

/// Read every header blob of rpm's `rpmdb.sqlite` (and its `-wal`, when
/// there is one).
pub fn read(data: &[u8], wal: Option<&[u8]>) -> Result<Records, String> {
    let mut records = Records::default();
    let db = Db::open(data, wal, &mut records.damaged)?;
    let mut visited = HashSet::new();
    let mut notes = Vec::new();
    let schema = db.rows(1, &mut visited, &mut notes);
    let mut root = None;
    for (_, payload) in &schema {
        let Ok(cols) = record(payload) else { continue };
        if let [Value::Text(ty), Value::Text(name), _, Value::Int(page), ..] = cols.as_slice()
            && db.text(ty) == "table"
            && db.text(name).eq_ignore_ascii_case("Packages")
        {
            root = Some(*page);
        }
    }
    let Some(root) = root else {
        let mut e = "no Packages table in the schema".to_owned();
        if !notes.is_empty() {
            e.push_str(&format!(" ({})", notes.join("; ")));
        }
        return Err(e);
    };
    let root = u32::try_from(root)
        .map_err(|_| format!("Packages table has an invalid root page {root}"))?;
    // Problems in the schema's other rows do not matter once Packages is found.
    let rows = db.rows(root, &mut visited, &mut records.damaged);
    for (rowid, payload) in rows {
        let cols = match record(&payload) {
            Ok(c) => c,
            Err(e) => {
                records.damaged.push(format!("row {rowid}: {e}"));
                continue;
            }
        };
        // hnum is the rowid (INTEGER PRIMARY KEY), stored as NULL.
        let id = match cols.first() {
            Some(Value::Int(v)) => *v,
            _ => rowid,
        };
        match (u32::try_from(id), cols.get(1)) {
            (Ok(id), Some(Value::Blob(b))) => records.headers.push((id, b.to_vec())),
            (Err(_), _) => records
                .damaged
                .push(format!("row {rowid}: header number {id} out of range")),
            (_, other) => records
                .damaged
                .push(format!("row {rowid}: blob column is {other:?}")),
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        assert_eq!(varint(&[0x05], 0), Some((5, 1)));
        assert_eq!(varint(&[0x81, 0x00], 0), Some((128, 2)));
        assert_eq!(varint(&[0xff; 9], 0), Some((u64::MAX, 9)));
        assert_eq!(varint(&[0x81], 0), None);
    }

    #[test]
    fn records() {
        // header: len 4, NULL, int8, blob of 2
        let r = [4, 0, 1, 16, 0xfe, 0xab, 0xcd];
        assert_eq!(
            record(&r).expect("valid"),
            vec![Value::Null, Value::Int(-2), Value::Blob(&[0xab, 0xcd])]
        );
        assert!(record(&[4, 0, 1, 16, 0xfe, 0xab]).is_err());
        assert!(record(&[9, 0]).is_err());
    }
}
