//! Just enough of ELF (32- and 64-bit, either byte order) to find a named
//! section and to read memory by virtual address through the loadable
//! segments, reading only the headers and the ranges asked for.

use crate::error::{InventoryError, Result};
use crate::fs::Root;

pub const MAGIC: &[u8; 4] = b"\x7fELF";
/// The first read: the ELF header and, usually, the program headers.
const HEAD: u64 = 4096;
const MAX_SEGMENTS: u64 = 1024;
const MAX_SECTIONS: u64 = 8192;
const MAX_NAMES: u64 = 1024 * 1024;
/// How much before the section headers is read with them.
const NAMES_BEFORE: u64 = 4096;

pub const PT_LOAD: u32 = 1;
pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
const SHT_NOBITS: u32 = 8;

#[derive(Clone, Debug)]
pub struct Section {
    pub name: String,
    pub kind: u32,
    pub addr: u64,
    pub offset: u64,
    pub size: u64,
}

#[derive(Clone, Debug)]
pub struct Segment {
    pub kind: u32,
    pub flags: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
}

#[derive(Clone, Debug)]
pub struct Elf {
    pub is64: bool,
    pub big_endian: bool,
    pub sections: Vec<Section>,
    pub segments: Vec<Segment>,
    pub file_size: u64,
}

/// Fixed-width integers in the file's byte order, out of range reads as
/// `None`.
#[derive(Clone, Copy)]
struct Bytes<'a> {
    data: &'a [u8],
    big_endian: bool,
}

impl Bytes<'_> {
    fn u16(&self, at: usize) -> Option<u64> {
        let b: [u8; 2] = self.data.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(u64::from(if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }))
    }
    fn u32(&self, at: usize) -> Option<u64> {
        let b: [u8; 4] = self.data.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(u64::from(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }))
    }
    fn u64(&self, at: usize) -> Option<u64> {
        let b: [u8; 8] = self.data.get(at..at.checked_add(8)?)?.try_into().ok()?;
        Some(if self.big_endian {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        })
    }
    /// A word: 8 bytes in a 64-bit file, 4 in a 32-bit one.
    fn word(&self, is64: bool, at: usize) -> Option<u64> {
        if is64 { self.u64(at) } else { self.u32(at) }
    }
}

fn bad(path: &str, what: &str) -> InventoryError {
    InventoryError::parse(path, format!("malformed ELF file: {what}"))
}

/// `len` bytes at `offset`, all of them or an error naming what is missing.
pub fn read_exact(
    root: &dyn Root,
    path: &str,
    offset: u64,
    len: u64,
    what: &str,
) -> Result<Vec<u8>> {
    match root.read_at(path, offset, len)? {
        Some(c) if c.data.len() as u64 == len => Ok(c.data),
        Some(_) => Err(bad(
            path,
            &format!("{what} extends past the end of the file"),
        )),
        None => Err(bad(path, "the file disappeared while being read")),
    }
}

impl Elf {
    /// The headers of `path`, `Ok(None)` when it is not an ELF file.
    pub fn open(root: &dyn Root, path: &str) -> Result<Option<Elf>> {
        let Some(head) = root.read_at(path, 0, HEAD)? else {
            return Ok(None);
        };
        if !head.data.starts_with(MAGIC) {
            return Ok(None);
        }
        Elf::parse(root, path, &head.data, head.file_size).map(Some)
    }

    fn parse(root: &dyn Root, path: &str, head: &[u8], file_size: u64) -> Result<Elf> {
        if head.len() < 52 {
            return Err(bad(path, "truncated header"));
        }
        let is64 = match head[4] {
            1 => false,
            2 => true,
            _ => return Err(bad(path, "unknown class")),
        };
        let big_endian = match head[5] {
            1 => false,
            2 => true,
            _ => return Err(bad(path, "unknown byte order")),
        };
        let h = Bytes {
            data: head,
            big_endian,
        };
        let field = |v: Option<u64>| v.ok_or_else(|| bad(path, "truncated header"));
        let (phoff, shoff, phentsize, phnum, shentsize, shnum, shstrndx) = if is64 {
            (
                field(h.u64(0x20))?,
                field(h.u64(0x28))?,
                field(h.u16(0x36))?,
                field(h.u16(0x38))?,
                field(h.u16(0x3a))?,
                field(h.u16(0x3c))?,
                field(h.u16(0x3e))?,
            )
        } else {
            (
                field(h.u32(0x1c))?,
                field(h.u32(0x20))?,
                field(h.u16(0x2a))?,
                field(h.u16(0x2c))?,
                field(h.u16(0x2e))?,
                field(h.u16(0x30))?,
                field(h.u16(0x32))?,
            )
        };
        let mut elf = Elf {
            is64,
            big_endian,
            sections: Vec::new(),
            segments: Vec::new(),
            file_size,
        };
        elf.segments = elf.read_segments(root, path, head, phoff, phentsize, phnum)?;
        if shoff != 0 {
            elf.sections = elf.read_sections(root, path, shoff, shentsize, shnum, shstrndx)?;
        }
        Ok(elf)
    }

    fn read_segments(
        &self,
        root: &dyn Root,
        path: &str,
        head: &[u8],
        phoff: u64,
        phentsize: u64,
        phnum: u64,
    ) -> Result<Vec<Segment>> {
        if phoff == 0 || phnum == 0 {
            return Ok(Vec::new());
        }
        let min = if self.is64 { 56 } else { 32 };
        if phentsize < min {
            return Err(bad(path, "program header entries too small"));
        }
        if phnum > MAX_SEGMENTS {
            return Err(bad(
                path,
                &format!("{phnum} program headers, over the limit of {MAX_SEGMENTS}"),
            ));
        }
        let len = phnum * phentsize;
        let owned;
        let table = match usize::try_from(phoff)
            .ok()
            .zip(phoff.checked_add(len).and_then(|e| usize::try_from(e).ok()))
        {
            Some((a, b)) if b <= head.len() => &head[a..b],
            _ => {
                owned = read_exact(root, path, phoff, len, "the program header table")?;
                &owned[..]
            }
        };
        let t = Bytes {
            data: table,
            big_endian: self.big_endian,
        };
        let mut out = Vec::with_capacity(phnum as usize);
        for i in 0..phnum as usize {
            let at = i * phentsize as usize;
            let seg = if self.is64 {
                (|| {
                    Some(Segment {
                        kind: t.u32(at)? as u32,
                        flags: t.u32(at + 4)? as u32,
                        offset: t.u64(at + 8)?,
                        vaddr: t.u64(at + 16)?,
                        filesz: t.u64(at + 32)?,
                    })
                })()
            } else {
                (|| {
                    Some(Segment {
                        kind: t.u32(at)? as u32,
                        offset: t.u32(at + 4)?,
                        vaddr: t.u32(at + 8)?,
                        filesz: t.u32(at + 16)?,
                        flags: t.u32(at + 24)? as u32,
                    })
                })()
            };
            out.push(seg.ok_or_else(|| bad(path, "truncated program header"))?);
        }
        Ok(out)
    }

    fn read_sections(
        &self,
        root: &dyn Root,
        path: &str,
        shoff: u64,
        shentsize: u64,
        mut shnum: u64,
        mut shstrndx: u64,
    ) -> Result<Vec<Section>> {
        let min = if self.is64 { 64 } else { 40 };
        if shentsize < min {
            return Err(bad(path, "section header entries too small"));
        }
        let entry = |data: &[u8], i: u64| -> Option<(u64, Section, u64)> {
            let t = Bytes {
                data,
                big_endian: self.big_endian,
            };
            let at = usize::try_from(i.checked_mul(shentsize)?).ok()?;
            let w = if self.is64 { 8 } else { 4 };
            let name = t.u32(at)?;
            let kind = t.u32(at + 4)? as u32;
            let addr = t.word(self.is64, at + 8 + w)?;
            let offset = t.word(self.is64, at + 8 + 2 * w)?;
            let size = t.word(self.is64, at + 8 + 3 * w)?;
            let link = t.u32(at + 8 + 4 * w)?;
            Some((
                name,
                Section {
                    name: String::new(),
                    kind,
                    addr,
                    offset,
                    size,
                },
                link,
            ))
        };
        if shnum == 0 || shstrndx == 0xffff {
            // Extended numbering: the real values are in section 0.
            let first = read_exact(root, path, shoff, shentsize, "the section header table")?;
            let (_, s0, link) =
                entry(&first, 0).ok_or_else(|| bad(path, "truncated section header"))?;
            if shnum == 0 {
                shnum = s0.size;
            }
            if shstrndx == 0xffff {
                shstrndx = link;
            }
        }
        if shnum == 0 {
            return Ok(Vec::new());
        }
        if shnum > MAX_SECTIONS {
            return Err(bad(
                path,
                &format!("{shnum} sections, over the limit of {MAX_SECTIONS}"),
            ));
        }
        // Linkers put the section names just before the section headers at
        // the end of the file: one read usually gets both.
        let before = shoff.min(NAMES_BEFORE);
        let window = read_exact(
            root,
            path,
            shoff - before,
            before + shnum * shentsize,
            "the section header table",
        )?;
        let table = &window[before as usize..];
        let mut raw = Vec::with_capacity(shnum as usize);
        for i in 0..shnum {
            raw.push(entry(table, i).ok_or_else(|| bad(path, "truncated section header"))?);
        }
        let names = match raw.get(shstrndx as usize) {
            Some((_, s, _)) if s.kind != SHT_NOBITS && s.size > 0 => {
                if s.size > MAX_NAMES {
                    return Err(bad(path, "section name table over 1 MiB"));
                }
                let start = shoff - before;
                match s
                    .offset
                    .checked_sub(start)
                    .zip(s.offset.checked_add(s.size))
                {
                    Some((from, end)) if end <= shoff => {
                        window[from as usize..(end - start) as usize].to_vec()
                    }
                    _ => read_exact(root, path, s.offset, s.size, "the section name table")?,
                }
            }
            _ => Vec::new(),
        };
        Ok(raw
            .into_iter()
            .map(|(name, mut s, _)| {
                let name = usize::try_from(name)
                    .ok()
                    .and_then(|n| names.get(n..))
                    .unwrap_or_default();
                let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
                s.name = String::from_utf8_lossy(&name[..end]).into_owned();
                s
            })
            .collect())
    }

    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// A section's content, at most `limit` bytes (more is an error).
    pub fn read_section(
        &self,
        root: &dyn Root,
        path: &str,
        s: &Section,
        limit: u64,
    ) -> Result<Vec<u8>> {
        if s.kind == SHT_NOBITS {
            return Ok(Vec::new());
        }
        if s.size > limit {
            return Err(InventoryError::TooLarge {
                path: format!("{path} ({} section)", s.name),
                size: s.size,
                limit,
            });
        }
        read_exact(
            root,
            path,
            s.offset,
            s.size,
            &format!("the {} section", s.name),
        )
    }

    /// The address where Go's linker puts the build info when there is no
    /// section table: the start of the first writable, non-executable
    /// loadable segment (as `debug/buildinfo` does).
    pub fn data_start(&self) -> Option<u64> {
        self.segments
            .iter()
            .find(|p| p.kind == PT_LOAD && p.flags & (PF_X | PF_W) == PF_W)
            .map(|p| p.vaddr)
    }

    /// Up to `len` bytes of memory at virtual address `addr`, as far as one
    /// loadable segment's file content holds them; `None` if no segment
    /// maps it.
    pub fn read_vaddr(
        &self,
        root: &dyn Root,
        path: &str,
        addr: u64,
        len: u64,
    ) -> Result<Option<Vec<u8>>> {
        for p in &self.segments {
            if p.kind != PT_LOAD || addr < p.vaddr || addr - p.vaddr >= p.filesz {
                continue;
            }
            let skip = addr - p.vaddr;
            let n = len.min(p.filesz - skip);
            let Some(offset) = p.offset.checked_add(skip) else {
                return Ok(None);
            };
            return match root.read_at(path, offset, n)? {
                Some(c) => Ok(Some(c.data)),
                None => Ok(None),
            };
        }
        Ok(None)
    }
}
