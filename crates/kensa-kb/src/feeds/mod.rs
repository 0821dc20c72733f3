//! One module per feed. Each exposes `import(path, sink) -> Result<FeedReport>`
//! reading the upstream format as published.
pub mod alpine;
pub mod amazon;
pub mod debian;
pub mod eol;
pub mod epss;
pub mod kev;
pub mod nvd;
pub mod osv;
pub mod oval;
mod oval_vendor;
pub mod redhat;
pub mod rustsec;
mod xml_text;
