//! rpm's own "NDB" package store, `Packages.db` (SUSE since SLES 15 SP3 and
//! openSUSE). Everything is little-endian and counted in 16-byte blocks.
//!
//! ```text
//! header (32 bytes): "RpmP", version 0, generation, slot pages, next index
//! slots: the rest of `slot pages` × 4096 bytes, 16 bytes each:
//!        "Slot", package index, first block, block count (block 0 = free)
//! blobs: at first block × 16, `block count` blocks:
//!        head "BlbS", package index, timestamp, length
//!        the header blob (`length` bytes), zero padding
//!        tail Adler-32 of head, blob and padding, length, "BlbE"
//! ```
//!
//! Each slot and blob is checked as rpm checks it (magics, the package
//! index in both places, the block count matching the length, the Adler-32
//! checksum, blobs after the slot pages and inside the file). A bad slot or
//! blob is reported and the others are still read.

use std::collections::HashSet;

use super::Records;

const SLOT_PAGE: usize = 4096;
const HEADER_SIZE: usize = 32;
const SLOT_SIZE: usize = 16;
const BLOCK: usize = 16;
const BLOB_HEAD: usize = 16;
const BLOB_TAIL: usize = 12;

const DB_MAGIC: &[u8; 4] = b"RpmP";
const SLOT_MAGIC: &[u8; 4] = b"Slot";
const HEAD_MAGIC: &[u8; 4] = b"BlbS";
const TAIL_MAGIC: &[u8; 4] = b"BlbE";

fn le32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .map_or(0, u32::from_le_bytes)
}

/// Adler-32 (RFC 1950), as rpm checksums its blobs.
pub fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    // 5552 is the largest run before `b` can overflow a u32.
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

/// Read every header blob of an NDB `Packages.db`.
pub fn read(data: &[u8]) -> Result<Records, String> {
    if data.len() < HEADER_SIZE {
        return Err(format!(
            "{} bytes is too short for an NDB header ({HEADER_SIZE} bytes)",
            data.len()
        ));
    }
    if &data[0..4] != DB_MAGIC {
        return Err("not an rpm NDB package database (no RpmP magic)".into());
    }
    let version = le32(data, 4);
    if version != 0 {
        return Err(format!("unsupported NDB version {version} (0 is known)"));
    }
    let slot_pages = le32(data, 12) as usize;
    let slots_end = slot_pages
        .checked_mul(SLOT_PAGE)
        .filter(|&end| end >= SLOT_PAGE && end <= data.len())
        .ok_or_else(|| {
            format!(
                "header names {slot_pages} slot pages but the file is {} bytes",
                data.len()
            )
        })?;
    let min_block = slots_end / BLOCK;
    let mut records = Records::default();
    // (first block, block count, slot number, package index) of used slots.
    let mut used = Vec::new();
    for (n, slot) in data[HEADER_SIZE..slots_end]
        .chunks_exact(SLOT_SIZE)
        .enumerate()
    {
        let slot_no = n + HEADER_SIZE / SLOT_SIZE;
        if &slot[0..4] != SLOT_MAGIC {
            records
                .damaged
                .push(format!("slot {slot_no} has no Slot magic"));
            continue;
        }
        let (index, first, count) = (
            le32(slot, 4),
            le32(slot, 8) as usize,
            le32(slot, 12) as usize,
        );
        if first != 0 {
            used.push((first, count, slot_no, index));
        }
    }
    // In block order, as rpm lists them. Blobs never overlap (rpm refuses a
    // database where they do); refusing overlaps here also means no byte of
    // the file is checksummed twice, however the slots are forged.
    used.sort_unstable();
    let mut seen = HashSet::new();
    let mut end_of_previous = min_block;
    for (first, count, slot_no, index) in used {
        if first < end_of_previous {
            records.damaged.push(format!(
                "slot {slot_no} (package index {index}): blob at block {first} overlaps another"
            ));
            continue;
        }
        if !seen.insert(index) {
            records.damaged.push(format!(
                "slot {slot_no}: package index {index} is in two slots"
            ));
            continue;
        }
        match blob(data, index, first, count, min_block) {
            Ok(b) => {
                end_of_previous = first + count;
                records.headers.push((index, b.to_vec()));
            }
            Err(Bad { message, whole }) => {
                if whole {
                    // Its head was consistent: the blob's blocks are its own.
                    end_of_previous = first + count;
                }
                records
                    .damaged
                    .push(format!("slot {slot_no} (package index {index}): {message}"));
            }
        }
    }
    Ok(records)
}

/// Why a blob was refused, and whether its head was consistent with its
/// slot (so that its blocks belong to it even though its content is bad).
struct Bad {
    message: String,
    whole: bool,
}

impl From<String> for Bad {
    fn from(message: String) -> Self {
        Bad {
            message,
            whole: false,
        }
    }
}

impl From<&str> for Bad {
    fn from(message: &str) -> Self {
        Bad::from(message.to_owned())
    }
}

fn blob(
    data: &[u8],
    index: u32,
    first: usize,
    count: usize,
    min_block: usize,
) -> Result<&[u8], Bad> {
    if index == 0 || count == 0 {
        return Err("empty slot entry".into());
    }
    if first < min_block {
        return Err(format!("blob at block {first} overlaps the slot pages").into());
    }
    let start = first.checked_mul(BLOCK).ok_or("block offset overflows")?;
    let end = count
        .checked_mul(BLOCK)
        .and_then(|len| start.checked_add(len))
        .ok_or("block count overflows")?;
    let whole = data.get(start..end).ok_or_else(|| {
        format!(
            "blob at bytes {start}..{end} is past the end of the {}-byte file (truncated?)",
            data.len()
        )
    })?;
    if whole.len() < BLOB_HEAD + BLOB_TAIL {
        return Err(format!("blob of {count} blocks is too small").into());
    }
    if &whole[0..4] != HEAD_MAGIC {
        return Err("blob has no BlbS magic".into());
    }
    if le32(whole, 4) != index {
        return Err(format!("blob belongs to package index {}", le32(whole, 4)).into());
    }
    let len = le32(whole, 12) as usize;
    let expected = (BLOB_HEAD + len + BLOB_TAIL).div_ceil(BLOCK);
    if expected != count {
        return Err(format!(
            "blob of {len} bytes needs {expected} blocks but its slot gives {count}"
        )
        .into());
    }
    // From here on the blob's blocks are its own, whatever its content.
    let bad = |message: String| Bad {
        message,
        whole: true,
    };
    let tail = &whole[whole.len() - BLOB_TAIL..];
    if &tail[8..12] != TAIL_MAGIC {
        return Err(bad("blob has no BlbE magic".into()));
    }
    if le32(tail, 4) as usize != len {
        return Err(bad(format!(
            "blob head says {len} bytes, its tail {}",
            le32(tail, 4)
        )));
    }
    let sum = adler32(&whole[..whole.len() - BLOB_TAIL]);
    if le32(tail, 0) != sum {
        return Err(bad(format!(
            "blob checksum {:#010x} does not match its content ({sum:#010x})",
            le32(tail, 0)
        )));
    }
    Ok(&whole[BLOB_HEAD..BLOB_HEAD + len])
}

#[cfg(test)]
mod tests {
    use super::adler32;

    #[test]
    fn adler32_matches_rfc_1950() {
        assert_eq!(adler32(b""), 1);
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
        // Long runs exercise the modulo batching.
        let big = vec![0xffu8; 100_000];
        let (mut a, mut b) = (1u64, 0u64);
        for &x in &big {
            a = (a + u64::from(x)) % 65521;
            b = (b + a) % 65521;
        }
        assert_eq!(adler32(&big), ((b << 16) | a) as u32);
    }
}
