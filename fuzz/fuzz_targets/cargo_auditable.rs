#![no_main]
//! The cargo-auditable `.dep-v0` reader: never panics, never inflates past
//! its cap. The input is tried as the raw (compressed) section, and as the
//! JSON inside a zlib stream of stored blocks in a well-formed ELF.

mod elf_wrap;

use kensa_inventory::Found;
use kensa_inventory::lang::{self, rust};
use libfuzzer_sys::fuzz_target;

/// `data` as a zlib stream of stored (uncompressed) deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut chunks = data.chunks(0xffff).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(c) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let len = c.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(c);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

fuzz_target!(|data: &[u8]| {
    let _ = rust::parse_auditable(data);
    let z = zlib_stored(data);
    let direct = rust::parse_auditable(&z);
    let mut found = Found::default();
    lang::collect_binary(
        &elf_wrap::OneFile(elf_wrap::wrap(".dep-v0", &z)),
        "bin",
        &mut found,
    );
    // Through the ELF section or directly, the same crates.
    if let Ok(list) = direct {
        assert_eq!(list.len(), found.packages.len());
    }
});
