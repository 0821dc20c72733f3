//! A streaming reader of tar archives that come from strangers.
//!
//! It understands what container tooling writes (POSIX ustar, pax extended
//! headers, GNU long names, GNU sparse headers to skip them) and nothing is
//! ever held in memory beyond one header and its capped extensions: a GNU
//! long name is refused over [`Limits::max_long_name`], a pax header over
//! [`Limits::max_pax`], and the number of headers is capped. Entry data is
//! streamed by the caller or skipped. As in Go's `archive/tar`, which
//! Docker and containerd use, link, directory, device and fifo headers
//! carry no data whatever their size field says.

use std::io::{self, Read, Seek};

pub(crate) const BLOCK: u64 = 512;

/// A source of archive bytes that can skip forward; seekable files skip
/// without reading.
pub(crate) trait Input: Read {
    /// Skip `n` bytes; returns how many were really there.
    fn skip(&mut self, n: u64) -> io::Result<u64>;
}

impl<T: Input + ?Sized> Input for &mut T {
    fn skip(&mut self, n: u64) -> io::Result<u64> {
        (**self).skip(n)
    }
}

/// Skip by reading (for streams: decompressors, hashed inputs).
pub(crate) fn skip_by_reading<R: Read + ?Sized>(r: &mut R, n: u64) -> io::Result<u64> {
    io::copy(&mut r.take(n), &mut io::sink())
}

/// A seekable file; skipping past its end is caught by the caller, which
/// compares offsets with the file's length.
pub(crate) struct SeekInput<R> {
    pub inner: R,
}

impl<R: Read> Read for SeekInput<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl<R: Read + Seek> Input for SeekInput<R> {
    fn skip(&mut self, n: u64) -> io::Result<u64> {
        let n_i64 = i64::try_from(n)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "skip too large"))?;
        self.inner.seek(io::SeekFrom::Current(n_i64))?;
        Ok(n)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    File,
    HardLink,
    Symlink,
    Dir,
    /// A GNU sparse file: its stored data is not its content.
    Sparse,
    /// Devices, fifos and types this reader does not know.
    Other(u8),
}

#[derive(Clone, Debug)]
pub(crate) struct Entry {
    /// The name as the archive gives it (pax `path`, GNU long name or
    /// ustar prefix and name), decoded lossily as UTF-8.
    pub name: String,
    /// Link target for hard and symbolic links.
    pub link: String,
    pub kind: Kind,
    /// Bytes of data that follow the header.
    pub size: u64,
    pub mode: u32,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub max_long_name: u64,
    pub max_pax: u64,
    pub max_headers: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_long_name: 64 * 1024,
            max_pax: 1024 * 1024,
            max_headers: u64::MAX,
        }
    }
}

#[derive(Debug)]
pub(crate) enum TarError {
    Io(io::Error),
    /// The archive ended inside a header or an entry's data.
    Truncated {
        offset: u64,
        entry: Option<String>,
    },
    Format {
        offset: u64,
        message: String,
    },
    TooManyHeaders {
        limit: u64,
    },
}

impl From<io::Error> for TarError {
    fn from(e: io::Error) -> Self {
        TarError::Io(e)
    }
}

impl std::fmt::Display for TarError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TarError::Io(e) => write!(f, "{e}"),
            TarError::Truncated {
                offset,
                entry: Some(name),
            } => {
                write!(
                    f,
                    "truncated archive: it ends at byte {offset} inside the data of entry {name:?}"
                )
            }
            TarError::Truncated {
                offset,
                entry: None,
            } => {
                write!(
                    f,
                    "truncated archive: it ends at byte {offset} inside a header"
                )
            }
            TarError::Format { offset, message } => {
                write!(f, "tar header at byte {offset}: {message}")
            }
            TarError::TooManyHeaders { limit } => write!(f, "more than {limit} tar entries"),
        }
    }
}

#[derive(Default)]
struct Pax {
    path: Option<String>,
    linkpath: Option<String>,
    size: Option<u64>,
    sparse: bool,
}

pub(crate) struct TarReader<R> {
    r: R,
    limits: Limits,
    /// Bytes consumed from `r` so far (headers, data and padding).
    offset: u64,
    /// Data bytes of the current entry not yet read.
    remaining: u64,
    /// Padding after the current entry's data.
    padding: u64,
    current: Option<String>,
    headers: u64,
    finished: bool,
}

fn padding(size: u64) -> u64 {
    (BLOCK - size % BLOCK) % BLOCK
}

impl<R: Input> TarReader<R> {
    pub fn new(r: R, limits: Limits) -> Self {
        TarReader {
            r,
            limits,
            offset: 0,
            remaining: 0,
            padding: 0,
            current: None,
            headers: 0,
            finished: false,
        }
    }

    /// Headers read so far, extension headers included.
    pub fn headers(&self) -> u64 {
        self.headers
    }

    /// Offset of the current entry's first data byte not yet read.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    fn skip_current(&mut self) -> Result<(), TarError> {
        let n = self.remaining.saturating_add(self.padding);
        if n > 0 {
            let got = self.r.skip(n)?;
            self.offset += got;
            if got < n {
                return Err(TarError::Truncated {
                    offset: self.offset,
                    entry: self.current.clone(),
                });
            }
        }
        self.remaining = 0;
        self.padding = 0;
        Ok(())
    }

    /// Read one 512-byte block; `Ok(false)` at a clean end of input.
    fn read_block(&mut self, block: &mut [u8; 512]) -> Result<bool, TarError> {
        let mut got = 0;
        while got < block.len() {
            match self.r.read(&mut block[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.offset += got as u64;
        match got {
            0 => Ok(false),
            512 => Ok(true),
            _ => Err(TarError::Truncated {
                offset: self.offset,
                entry: None,
            }),
        }
    }

    /// Read an extension header's data whole, refusing more than `limit`.
    fn read_ext(
        &mut self,
        size: u64,
        limit: u64,
        what: &str,
        at: u64,
    ) -> Result<Vec<u8>, TarError> {
        if size > limit {
            return Err(TarError::Format {
                offset: at,
                message: format!("{what} of {size} bytes is over the {limit}-byte limit"),
            });
        }
        let mut buf = Vec::with_capacity(size as usize);
        let got = (&mut self.r).take(size).read_to_end(&mut buf)?;
        self.offset += got as u64;
        if (got as u64) < size {
            return Err(TarError::Truncated {
                offset: self.offset,
                entry: Some(what.to_owned()),
            });
        }
        let pad = padding(size);
        let skipped = self.r.skip(pad)?;
        self.offset += skipped;
        if skipped < pad {
            return Err(TarError::Truncated {
                offset: self.offset,
                entry: Some(what.to_owned()),
            });
        }
        Ok(buf)
    }

    /// The next entry, skipping whatever is left of the current one.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, TarError> {
        if self.finished {
            return Ok(None);
        }
        self.skip_current()?;
        self.current = None;
        let mut pax = Pax::default();
        let mut long_name: Option<Vec<u8>> = None;
        let mut long_link: Option<Vec<u8>> = None;
        let mut pending_ext = false;
        loop {
            let at = self.offset;
            let mut block = [0u8; 512];
            if !self.read_block(&mut block)? {
                self.finished = true;
                if pending_ext {
                    return Err(TarError::Format {
                        offset: at,
                        message: "the archive ends right after an extended header".into(),
                    });
                }
                return Ok(None);
            }
            if block.iter().all(|&b| b == 0) {
                // One zero block ends the archive (a second one usually
                // follows; what comes after is not read as entries).
                self.finished = true;
                if pending_ext {
                    return Err(TarError::Format {
                        offset: at,
                        message: "the archive ends right after an extended header".into(),
                    });
                }
                return Ok(None);
            }
            self.headers += 1;
            if self.headers > self.limits.max_headers {
                return Err(TarError::TooManyHeaders {
                    limit: self.limits.max_headers,
                });
            }
            check_checksum(&block).map_err(|message| TarError::Format {
                offset: at,
                message,
            })?;
            let typeflag = block[156];
            let header_size = parse_number(&block[124..136]).map_err(|m| TarError::Format {
                offset: at,
                message: format!("size field: {m}"),
            })?;
            match typeflag {
                b'x' | b'X' => {
                    let data =
                        self.read_ext(header_size, self.limits.max_pax, "pax extended header", at)?;
                    parse_pax(&data, &mut pax).map_err(|message| TarError::Format {
                        offset: at,
                        message: format!("pax extended header: {message}"),
                    })?;
                    pending_ext = true;
                    continue;
                }
                b'g' => {
                    // Global pax headers hold defaults (mtime, charset)
                    // that do not change what a scan sees.
                    self.read_ext(header_size, self.limits.max_pax, "pax global header", at)?;
                    continue;
                }
                b'L' => {
                    long_name = Some(trim_nul(self.read_ext(
                        header_size,
                        self.limits.max_long_name,
                        "GNU long name",
                        at,
                    )?));
                    pending_ext = true;
                    continue;
                }
                b'K' => {
                    long_link = Some(trim_nul(self.read_ext(
                        header_size,
                        self.limits.max_long_name,
                        "GNU long link name",
                        at,
                    )?));
                    pending_ext = true;
                    continue;
                }
                _ => {}
            }

            let magic = &block[257..265];
            let ustar = &magic[..6] == b"ustar\0";
            let name = if let Some(p) = pax.path.take() {
                p
            } else if let Some(n) = long_name.take() {
                lossy(&n)
            } else {
                let base = cstr(&block[0..100]);
                let prefix = if ustar {
                    cstr(&block[345..500])
                } else {
                    &[][..]
                };
                if prefix.is_empty() {
                    lossy(base)
                } else {
                    let mut full = prefix.to_vec();
                    full.push(b'/');
                    full.extend_from_slice(base);
                    lossy(&full)
                }
            };
            let link = if let Some(p) = pax.linkpath.take() {
                p
            } else if let Some(n) = long_link.take() {
                lossy(&n)
            } else {
                lossy(cstr(&block[157..257]))
            };
            let mode = parse_number(&block[100..108]).map_err(|m| TarError::Format {
                offset: at,
                message: format!("mode field: {m}"),
            })?;
            let mut size = pax.size.unwrap_or(header_size);
            let kind = match typeflag {
                b'0' | 0 | b'7' if name.ends_with('/') => Kind::Dir,
                b'0' | 0 | b'7' => Kind::File,
                b'1' => Kind::HardLink,
                b'2' => Kind::Symlink,
                b'5' => Kind::Dir,
                b'D' => Kind::Dir,
                b'S' => {
                    // Old GNU sparse: the sparse map may continue in extra
                    // blocks that the size field does not count.
                    let mut extended = block[482] != 0;
                    let mut extra = 0u32;
                    while extended {
                        extra += 1;
                        if extra > 4096 {
                            return Err(TarError::Format {
                                offset: at,
                                message: "GNU sparse map over 4096 blocks".into(),
                            });
                        }
                        let mut ext = [0u8; 512];
                        if !self.read_block(&mut ext)? {
                            return Err(TarError::Truncated {
                                offset: self.offset,
                                entry: Some(name),
                            });
                        }
                        extended = ext[504] != 0;
                    }
                    Kind::Sparse
                }
                other => Kind::Other(other),
            };
            if matches!(
                kind,
                Kind::HardLink | Kind::Symlink | Kind::Other(b'3' | b'4' | b'6')
            ) || (kind == Kind::Dir && typeflag != b'D')
            {
                size = 0;
            }
            let kind = if pax.sparse && kind == Kind::File {
                Kind::Sparse
            } else {
                kind
            };
            self.remaining = size;
            self.padding = padding(size);
            self.current = Some(name.clone());
            return Ok(Some(Entry {
                name,
                link,
                kind,
                size,
                mode: (mode & 0o7777) as u32,
            }));
        }
    }

    /// Read the current entry's data.
    pub fn data(&mut self) -> Data<'_, R> {
        Data { tar: self }
    }
}

/// The data of the entry last returned by [`TarReader::next_entry`]; a
/// short archive is an `UnexpectedEof` error naming the entry.
pub(crate) struct Data<'a, R> {
    tar: &'a mut TarReader<R>,
}

impl<R: Input> Read for Data<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let t = &mut *self.tar;
        if t.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(t.remaining).unwrap_or(usize::MAX));
        let n = t.r.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                TarError::Truncated {
                    offset: t.offset,
                    entry: t.current.clone(),
                }
                .to_string(),
            ));
        }
        t.remaining -= n as u64;
        t.offset += n as u64;
        Ok(n)
    }
}

fn trim_nul(mut v: Vec<u8>) -> Vec<u8> {
    if let Some(p) = v.iter().position(|&b| b == 0) {
        v.truncate(p);
    }
    v
}

fn cstr(field: &[u8]) -> &[u8] {
    match field.iter().position(|&b| b == 0) {
        Some(p) => &field[..p],
        None => field,
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn check_checksum(block: &[u8; 512]) -> Result<(), String> {
    let stored = parse_number(&block[148..156])
        .map_err(|m| format!("not a tar header (checksum field: {m})"))?;
    let mut unsigned: u64 = 0;
    let mut signed: i64 = 0;
    for (i, &b) in block.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += u64::from(b);
        signed += i64::from(b as i8);
    }
    if stored == unsigned || i64::try_from(stored).is_ok_and(|s| s == signed) {
        Ok(())
    } else {
        Err(format!(
            "not a tar header (checksum {stored} does not match {unsigned})"
        ))
    }
}

/// A numeric header field: octal text (space or NUL padded) or GNU base-256.
pub(crate) fn parse_number(field: &[u8]) -> Result<u64, String> {
    if let Some(&first) = field.first()
        && first & 0x80 != 0
    {
        if first == 0xff {
            return Err("negative base-256 number".into());
        }
        let mut v: u64 = u64::from(first & 0x7f);
        for &b in &field[1..] {
            v = v
                .checked_mul(256)
                .and_then(|v| v.checked_add(u64::from(b)))
                .ok_or("base-256 number overflows 64 bits")?;
        }
        return Ok(v);
    }
    let s = field;
    let start = s
        .iter()
        .position(|&b| b != b' ' && b != 0)
        .unwrap_or(s.len());
    let mut v: u64 = 0;
    let mut i = start;
    while i < s.len() && (b'0'..=b'7').contains(&s[i]) {
        v = v
            .checked_mul(8)
            .and_then(|v| v.checked_add(u64::from(s[i] - b'0')))
            .ok_or("octal number overflows 64 bits")?;
        i += 1;
    }
    if s[i..].iter().any(|&b| b != b' ' && b != 0) {
        return Err(format!(
            "invalid octal number {:?}",
            String::from_utf8_lossy(s)
        ));
    }
    Ok(v)
}

/// pax records: `LEN KEY=VALUE\n`, LEN counting the whole record.
fn parse_pax(mut data: &[u8], pax: &mut Pax) -> Result<(), String> {
    while !data.is_empty() {
        if data.iter().all(|&b| b == 0) {
            break;
        }
        let sp = data
            .iter()
            .take(21)
            .position(|&b| b == b' ')
            .ok_or("record without a length")?;
        let len_text = &data[..sp];
        if len_text.is_empty() || !len_text.iter().all(u8::is_ascii_digit) {
            return Err("record length is not a number".into());
        }
        let len: usize = std::str::from_utf8(len_text)
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or("record length is not a number")?;
        if len <= sp + 1 || len > data.len() {
            return Err(format!("record length {len} does not fit the header"));
        }
        let record = &data[sp + 1..len];
        let Some((&b'\n', record)) = record.split_last() else {
            return Err("record does not end with a newline".into());
        };
        let eq = record
            .iter()
            .position(|&b| b == b'=')
            .ok_or("record without `=`")?;
        let (key, value) = (&record[..eq], &record[eq + 1..]);
        match key {
            b"path" => pax.path = Some(lossy(value)),
            b"linkpath" => pax.linkpath = Some(lossy(value)),
            b"size" => {
                let text = std::str::from_utf8(value).map_err(|_| "size is not a number")?;
                if !text.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("size {text:?} is not a number"));
                }
                pax.size = Some(
                    text.parse()
                        .map_err(|_| format!("size {text:?} is not a number"))?,
                );
            }
            k if k.starts_with(b"GNU.sparse.") => pax.sparse = true,
            _ => {}
        }
        data = &data[len..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_number(b"0000644\0"), Ok(0o644));
        assert_eq!(parse_number(b"   644 \0"), Ok(0o644));
        assert_eq!(parse_number(b"\0\0\0\0"), Ok(0));
        assert_eq!(parse_number(&[0x80, 0, 0, 0, 0, 0, 0, 1, 0]), Ok(256));
        assert!(parse_number(&[0xff, 0xff]).is_err());
        assert!(parse_number(b"12x4").is_err());
        assert!(parse_number(b"0009").is_err());
        assert!(
            parse_number(&[0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err()
        );
    }

    #[test]
    fn pax_records() {
        let mut p = Pax::default();
        parse_pax(b"12 path=a/b\n12 size=100\n", &mut p).expect("valid");
        assert_eq!(p.path.as_deref(), Some("a/b"));
        assert_eq!(p.size, Some(100));
        for bad in [
            &b"99 path=a\n"[..],
            b"x path=a\n",
            b"9 patha\n\n",
            b"3 \n",
            b"10 size=-1\n",
        ] {
            assert!(
                parse_pax(bad, &mut Pax::default()).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
