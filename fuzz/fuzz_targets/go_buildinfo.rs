#![no_main]
//! The ELF reader and the Go build-info decoder (both formats) and module
//! information parser: never panic, never read past their caps. The input
//! is tried as a whole file, and as the content of the `.go.buildinfo`
//! section of a well-formed ELF after the magic (so its first two bytes
//! are the pointer size and the flags).

mod elf_wrap;

use kensa_inventory::Found;
use kensa_inventory::lang::{self, golang};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut found = Found::default();
    lang::collect_binary(&elf_wrap::OneFile(data.to_vec()), "bin", &mut found);

    let mut section = golang::MAGIC.to_vec();
    section.extend_from_slice(data);
    let elf = elf_wrap::wrap(".go.buildinfo", &section);
    lang::collect_binary(&elf_wrap::OneFile(elf), "bin", &mut found);

    let text = String::from_utf8_lossy(data);
    let _ = golang::parse_modinfo(&text);
    let _ = golang::stdlib_version(&text);
    for p in &found.packages {
        assert!(
            !p.name.is_empty() && p.purl.starts_with("pkg:golang/"),
            "{p:?}"
        );
    }
});
