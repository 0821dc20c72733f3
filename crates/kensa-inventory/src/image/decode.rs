//! Byte streams of an image: compression detected by magic bytes, and a
//! meter that counts (and caps) and hashes what flows through it.

use std::io::{self, BufRead, Read};

use sha2::{Digest, Sha256};

use super::tar::{Input, skip_by_reading};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compression {
    None,
    Gzip,
    Zstd,
    /// Recognised but not supported: its name for the message.
    Unsupported(&'static str),
}

/// What the first bytes of a stream say it is.
pub(crate) fn detect(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
        || (head.len() >= 4 && head[0] & 0xf0 == 0x50 && head[1..4] == [0x2a, 0x4d, 0x18])
    {
        Compression::Zstd
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Compression::Unsupported("xz")
    } else if head.starts_with(b"BZh") {
        Compression::Unsupported("bzip2")
    } else {
        Compression::None
    }
}

/// Read up to `n` bytes (fewer only at the end of the stream).
pub(crate) fn read_head<R: Read + ?Sized>(r: &mut R, n: usize) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(n);
    r.take(n as u64).read_to_end(&mut head)?;
    Ok(head)
}

/// The error a [`Meter`] returns once more than its limit has flowed.
#[derive(Debug)]
pub(crate) struct OverLimit {
    pub limit: u64,
}

impl std::fmt::Display for OverLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "more than {} bytes", self.limit)
    }
}

impl std::error::Error for OverLimit {}

/// The limit a meter hit, if that is what this error is.
pub(crate) fn over_limit(e: &io::Error) -> Option<u64> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<OverLimit>())
        .map(|o| o.limit)
}

/// Counts the bytes read through it, fails once they pass `limit`, and
/// optionally hashes them.
pub(crate) struct Meter<R> {
    inner: R,
    count: u64,
    limit: u64,
    hasher: Option<Sha256>,
}

impl<R: Read> Meter<R> {
    pub fn new(inner: R, limit: u64, hash: bool) -> Self {
        Meter {
            inner,
            count: 0,
            limit,
            hasher: hash.then(Sha256::new),
        }
    }

    /// Bytes read and their SHA-256 (hex) when hashing.
    pub fn finish(self) -> (u64, Option<String>) {
        (self.count, self.hasher.map(|h| hex::encode(h.finalize())))
    }

    /// Read to the end, so that the count and hash cover the whole stream.
    pub fn drain(&mut self) -> io::Result<u64> {
        io::copy(self, &mut io::sink())
    }
}

impl<R: Read> Read for Meter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        if self.count > self.limit {
            return Err(io::Error::other(OverLimit { limit: self.limit }));
        }
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

impl<R: Read> Input for Meter<R> {
    fn skip(&mut self, n: u64) -> io::Result<u64> {
        skip_by_reading(self, n)
    }
}

/// Hex SHA-256 of bytes in memory.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Largest zstd window accepted (the decoder allocates it up front).
const ZSTD_MAX_WINDOW: u64 = 128 * 1024 * 1024;

/// A zstd stream of any number of frames, skippable frames (as zstd:chunked
/// writes) passed over.
pub(crate) struct ZstdReader<R> {
    src: R,
    dec: ruzstd::decoding::FrameDecoder,
    in_frame: bool,
}

impl<R: BufRead> ZstdReader<R> {
    pub fn new(src: R) -> Self {
        let mut dec = ruzstd::decoding::FrameDecoder::new();
        dec.set_max_window_size(ZSTD_MAX_WINDOW);
        ZstdReader {
            src,
            dec,
            in_frame: false,
        }
    }
}

impl<R: BufRead> Read for ZstdReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use ruzstd::decoding::BlockDecodingStrategy;
        use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.in_frame {
                while self.dec.can_collect() == 0 && !self.dec.is_finished() {
                    self.dec
                        .decode_blocks(&mut self.src, BlockDecodingStrategy::UptoBlocks(1))
                        .map_err(|e| {
                            io::Error::new(io::ErrorKind::InvalidData, format!("zstd: {e}"))
                        })?;
                }
                let n = self.dec.read(buf)?;
                if n > 0 {
                    return Ok(n);
                }
                if !self.dec.is_finished() {
                    continue;
                }
                self.in_frame = false;
            }
            if self.src.fill_buf()?.is_empty() {
                return Ok(0);
            }
            match self.dec.reset(&mut self.src) {
                Ok(()) => self.in_frame = true,
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                    length,
                    ..
                })) => {
                    let got = io::copy(
                        &mut (&mut self.src).take(u64::from(length)),
                        &mut io::sink(),
                    )?;
                    if got < u64::from(length) {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "zstd: truncated skippable frame",
                        ));
                    }
                }
                Err(e) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("zstd: {e}"),
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zstd_frames_concatenate_and_skippable_frames_are_skipped() {
        let a = ruzstd::encoding::compress_to_vec(
            &b"hello "[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        let b = ruzstd::encoding::compress_to_vec(
            &b"world"[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        let mut all = a;
        all.extend_from_slice(&[0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 9, 9, 9]);
        all.extend_from_slice(&b);
        assert_eq!(detect(&all), Compression::Zstd);
        let mut out = Vec::new();
        ZstdReader::new(&all[..])
            .read_to_end(&mut out)
            .expect("decodes");
        assert_eq!(out, b"hello world");
    }

    #[test]
    fn meter_caps() {
        let mut m = Meter::new(&[0u8; 100][..], 50, true);
        let e = m.drain().expect_err("over");
        assert_eq!(over_limit(&e), Some(50));
    }
}
