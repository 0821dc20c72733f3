//! Shared by the ELF fuzz targets: a root holding one file, and a
//! well-formed little-endian ELF64 executable around a section's content,
//! so that the fuzzer spends its time in the section parsers rather than
//! on learning the ELF format.

use kensa_inventory::fs::{DirEntry, Root};
use kensa_inventory::{InventoryError, Result};

/// A root whose only file is `bin`.
pub struct OneFile(pub Vec<u8>);

impl Root for OneFile {
    fn read(&self, path: &str, limit: u64) -> Result<Option<Vec<u8>>> {
        if path != "bin" {
            return Ok(None);
        }
        if self.0.len() as u64 > limit {
            return Err(InventoryError::TooLarge {
                path: path.into(),
                size: self.0.len() as u64,
                limit,
            });
        }
        Ok(Some(self.0.clone()))
    }

    fn read_dir(&self, _: &str) -> Result<Vec<DirEntry>> {
        Ok(Vec::new())
    }

    fn describe(&self) -> String {
        "fuzz input".into()
    }
}

/// The address the section is loaded at.
pub const ADDR: u64 = 0x40_1000;

/// An ELF64 LE executable with one read-write `PT_LOAD` segment holding
/// `content` at [`ADDR`], and a section table naming it `section`.
pub fn wrap(section: &str, content: &[u8]) -> Vec<u8> {
    let data_off = 0x1000u64;
    let mut names = b"\0".to_vec();
    names.extend_from_slice(section.as_bytes());
    names.extend_from_slice(b"\0.shstrtab\0");
    let names_off = data_off + content.len() as u64;
    let shoff = (names_off + names.len() as u64 + 7) & !7;
    let mut f = Vec::with_capacity(shoff as usize + 3 * 64);
    f.extend_from_slice(b"\x7fELF\x02\x01\x01");
    f.resize(16, 0);
    let put = |f: &mut Vec<u8>, v: u64, n: usize| f.extend_from_slice(&v.to_le_bytes()[..n]);
    put(&mut f, 2, 2);
    put(&mut f, 62, 2);
    put(&mut f, 1, 4);
    put(&mut f, ADDR, 8);
    put(&mut f, 64, 8);
    put(&mut f, shoff, 8);
    put(&mut f, 0, 4);
    for v in [64, 56, 1, 64, 3, 2] {
        put(&mut f, v, 2);
    }
    let len = content.len() as u64;
    put(&mut f, 1, 4);
    put(&mut f, 6, 4);
    for v in [data_off, ADDR, ADDR, len, len, 0x1000] {
        put(&mut f, v, 8);
    }
    f.resize(data_off as usize, 0);
    f.extend_from_slice(content);
    f.extend_from_slice(&names);
    f.resize(shoff as usize, 0);
    let names_name = 1 + section.len() as u64 + 1;
    for (name, kind, addr, off, size) in [
        (0, 0, 0, 0, 0),
        (1, 1, ADDR, data_off, len),
        (names_name, 3, 0, names_off, names.len() as u64),
    ] {
        put(&mut f, name, 4);
        put(&mut f, kind, 4);
        for v in [0, addr, off, size] {
            put(&mut f, v, 8);
        }
        put(&mut f, 0, 8);
        put(&mut f, 1, 8);
        put(&mut f, 0, 8);
    }
    f
}
