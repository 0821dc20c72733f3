//! Client-side envelope encryption of exports (docs/export-encryption.md):
//! a random 256-bit data key encrypts the export with AES-256-GCM in
//! fixed-size segments; the data key is wrapped with AES-256-GCM by the
//! configured key-encryption key (KEK). The object is self-contained: its
//! header carries the wrapped key, so that the KEK alone decrypts it.
//!
//! Segments (the STREAM construction): each segment has its own nonce, a
//! random 7-byte prefix, a 4-byte big-endian counter and a 1-byte flag set
//! on the last segment, and authenticates the whole header as associated
//! data. Reordering, dropping or truncating segments, or editing the
//! header, fails authentication instead of decrypting to something else.
//! This is the `aead` crate's `StreamBE32` (prefix, big-endian counter,
//! last-segment flag), which the segments are sealed and opened with.

use std::io::{Read, Write};
use std::path::Path;

use aead::generic_array::GenericArray;
use aead::stream::{DecryptorBE32, EncryptorBE32};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use sha2::{Digest, Sha256};

use crate::error::{Result, ServerError};

pub const MAGIC: &[u8; 8] = b"KENSAEX1";
/// Plaintext bytes per segment.
pub const SEGMENT: usize = 64 * 1024;
const TAG: usize = 16;
/// The name of the scheme in the object's metadata.
pub const SCHEME: &str = "kensa-aes-256-gcm-stream-v1";

fn internal(what: impl std::fmt::Display) -> ServerError {
    ServerError::Internal(what.to_string())
}

/// A key-encryption key and its id (the first 8 bytes of its SHA-256, in
/// hex: names the key without revealing it).
#[derive(Clone)]
pub struct Kek {
    key: [u8; 32],
    pub id: String,
}

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Kek({})", self.id)
    }
}

impl Kek {
    pub fn new(key: [u8; 32]) -> Kek {
        let id = hex::encode(&Sha256::digest(key)[..8]);
        Kek { key, id }
    }

    /// A KEK file: 32 raw bytes, or 64 hex digits (surrounding whitespace
    /// ignored).
    pub fn from_file(path: &Path) -> Result<Kek> {
        let bytes = std::fs::read(path).map_err(|source| ServerError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let bad = || {
            ServerError::Internal(format!(
                "{}: a key-encryption key is 32 raw bytes or 64 hex digits",
                path.display()
            ))
        };
        let key: Vec<u8> = if bytes.len() == 32 {
            bytes
        } else {
            let text = std::str::from_utf8(&bytes).map_err(|_| bad())?.trim();
            hex::decode(text).map_err(|_| bad())?
        };
        let key: [u8; 32] = key.try_into().map_err(|_| bad())?;
        Ok(Kek::new(key))
    }
}

impl Kek {
    /// A new random key in `path` (mode 0600) unless the file exists; the
    /// key in the file either way.
    pub fn load_or_create(path: &Path) -> Result<Kek> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        if !path.exists() {
            let key = random::<32>()?;
            let io = |source| ServerError::Io {
                path: path.display().to_string(),
                source,
            };
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(io)?;
            f.write_all(hex::encode(key).as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        Kek::from_file(path)
    }

    /// `plaintext` sealed with AES-256-GCM under this key, bound to `aad`
    /// (what the secret is, so that a sealed value moved to another record
    /// does not open): a fresh 12-byte nonce followed by the ciphertext.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        let nonce = random::<12>()?;
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.key));
        let ct = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| internal("sealing a secret failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// What [`Kek::seal`] sealed with the same `aad`.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        if sealed.len() < 12 + TAG {
            return Err(internal("a sealed secret is too short"));
        }
        let (nonce, ct) = sealed.split_at(12);
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.key))
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
            .map_err(|_| {
                internal(format!(
                    "a sealed secret does not open with key {} (another key, or altered)",
                    self.id
                ))
            })
    }
}

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).map_err(|e| internal(format!("no randomness: {e}")))?;
    Ok(b)
}

/// What the object's metadata repeats from the header.
#[derive(Clone, Debug)]
pub struct Envelope {
    pub kek_id: String,
    /// Hex.
    pub wrapped_key: String,
    /// Hex.
    pub wrap_nonce: String,
}

/// Encrypts what is written to it into `out`; [`Encryptor::finish`]
/// writes the last segment (a stream that is not finished does not
/// decrypt).
pub struct Encryptor<W: Write> {
    out: W,
    /// `None` once the last segment is sealed.
    stream: Option<EncryptorBE32<Aes256Gcm>>,
    header: Vec<u8>,
    buf: Vec<u8>,
    pub envelope: Envelope,
}

impl<W: Write> Encryptor<W> {
    pub fn new(mut out: W, kek: &Kek) -> Result<Encryptor<W>> {
        let data_key: [u8; 32] = random()?;
        let wrap_nonce: [u8; 12] = random()?;
        let prefix: [u8; 7] = random()?;
        let wrapper = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&kek.key));
        // The KEK id is bound to the wrapped key: a key wrapped for one KEK
        // cannot be passed off under another's id.
        let wrapped = wrapper
            .encrypt(
                Nonce::from_slice(&wrap_nonce),
                Payload {
                    msg: &data_key,
                    aad: kek.id.as_bytes(),
                },
            )
            .map_err(|_| internal("wrapping the data key failed"))?;
        let mut header = Vec::with_capacity(128);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&(SEGMENT as u32).to_be_bytes());
        header.extend_from_slice(&prefix);
        header.push(kek.id.len() as u8);
        header.extend_from_slice(kek.id.as_bytes());
        header.extend_from_slice(&wrap_nonce);
        header.push(wrapped.len() as u8);
        header.extend_from_slice(&wrapped);
        out.write_all(&header).map_err(internal)?;
        Ok(Encryptor {
            out,
            stream: Some(EncryptorBE32::from_aead(
                Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&data_key)),
                GenericArray::from_slice(&prefix),
            )),
            header,
            buf: Vec::with_capacity(SEGMENT),
            envelope: Envelope {
                kek_id: kek.id.clone(),
                wrapped_key: hex::encode(&wrapped),
                wrap_nonce: hex::encode(wrap_nonce),
            },
        })
    }

    fn seal(&mut self, last: bool) -> std::io::Result<()> {
        let finished = || std::io::Error::other("the encrypted stream is already finished");
        let payload = Payload {
            msg: &self.buf,
            aad: &self.header,
        };
        let ct = if last {
            self.stream
                .take()
                .ok_or_else(finished)?
                .encrypt_last(payload)
        } else {
            // Fails only past 2^32 - 1 segments.
            self.stream
                .as_mut()
                .ok_or_else(finished)?
                .encrypt_next(payload)
        }
        .map_err(|_| {
            std::io::Error::other(
                "segment encryption failed (an export too large for one encrypted stream?)",
            )
        })?;
        self.out.write_all(&ct)?;
        self.buf.clear();
        Ok(())
    }

    pub fn finish(mut self) -> std::io::Result<W> {
        self.seal(true)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for Encryptor<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let room = SEGMENT - self.buf.len();
        let n = room.min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == SEGMENT {
            self.seal(false)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Why an object did not decrypt.
#[derive(Debug, thiserror::Error)]
pub enum DecryptError {
    #[error("not a Kensa encrypted export (bad header: {0})")]
    Format(&'static str),
    #[error(
        "wrong key-encryption key: the object was encrypted for KEK id {object}, the key given has id {given}"
    )]
    WrongKek { object: String, given: String },
    #[error("the data key does not unwrap with this key-encryption key (the header was altered)")]
    Unwrap,
    #[error("segment {0} fails authentication: the object was altered or truncated")]
    Segment(u32),
    #[error("the object ends without its last segment: truncated")]
    Truncated,
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

fn read_exact_or_eof(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Decrypts an object made by [`Encryptor`] from `input` to `out`, in
/// constant memory; the plaintext bytes written. Nothing unauthenticated
/// is written: each segment is checked before it is written, and a stream
/// cut after a segment boundary fails for want of its last segment.
pub fn decrypt(
    mut input: impl Read,
    mut out: impl Write,
    kek: &Kek,
) -> std::result::Result<u64, DecryptError> {
    let mut header = Vec::with_capacity(128);
    let mut fixed = [0u8; 8 + 4 + 7 + 1];
    input
        .read_exact(&mut fixed)
        .map_err(|_| DecryptError::Format("too short"))?;
    if &fixed[..8] != MAGIC {
        return Err(DecryptError::Format("magic"));
    }
    header.extend_from_slice(&fixed);
    let segment = u32::from_be_bytes([fixed[8], fixed[9], fixed[10], fixed[11]]) as usize;
    if segment == 0 || segment > 64 << 20 {
        return Err(DecryptError::Format("segment size"));
    }
    let mut prefix = [0u8; 7];
    prefix.copy_from_slice(&fixed[12..19]);
    let mut id = vec![0u8; usize::from(fixed[19])];
    input
        .read_exact(&mut id)
        .map_err(|_| DecryptError::Format("KEK id"))?;
    header.extend_from_slice(&id);
    let mut wrap_nonce = [0u8; 12];
    input
        .read_exact(&mut wrap_nonce)
        .map_err(|_| DecryptError::Format("wrap nonce"))?;
    header.extend_from_slice(&wrap_nonce);
    let mut len = [0u8; 1];
    input
        .read_exact(&mut len)
        .map_err(|_| DecryptError::Format("wrapped key"))?;
    header.push(len[0]);
    let mut wrapped = vec![0u8; usize::from(len[0])];
    input
        .read_exact(&mut wrapped)
        .map_err(|_| DecryptError::Format("wrapped key"))?;
    header.extend_from_slice(&wrapped);
    let object_id = String::from_utf8_lossy(&id).into_owned();
    if object_id != kek.id {
        return Err(DecryptError::WrongKek {
            object: object_id,
            given: kek.id.clone(),
        });
    }
    let data_key = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&kek.key))
        .decrypt(
            Nonce::from_slice(&wrap_nonce),
            Payload {
                msg: &wrapped,
                aad: kek.id.as_bytes(),
            },
        )
        .map_err(|_| DecryptError::Unwrap)?;
    if data_key.len() != 32 {
        return Err(DecryptError::Unwrap);
    }
    let mut stream = Some(DecryptorBE32::from_aead(
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&data_key)),
        GenericArray::from_slice(&prefix),
    ));
    // One segment read ahead: a segment is the last when nothing follows.
    let chunk = segment + TAG;
    let mut cur = vec![0u8; chunk];
    let mut next = vec![0u8; chunk];
    let mut cur_len = read_exact_or_eof(&mut input, &mut cur)?;
    let mut counter = 0u32;
    let mut total = 0u64;
    loop {
        if cur_len < TAG {
            return Err(DecryptError::Truncated);
        }
        let next_len = if cur_len == chunk {
            read_exact_or_eof(&mut input, &mut next)?
        } else {
            0
        };
        let last = next_len == 0;
        let payload = Payload {
            msg: &cur[..cur_len],
            aad: &header,
        };
        let pt = match (last, stream.as_mut()) {
            (true, _) => stream
                .take()
                .ok_or(DecryptError::Truncated)?
                .decrypt_last(payload),
            (false, Some(s)) => s.decrypt_next(payload),
            (false, None) => return Err(DecryptError::Truncated),
        }
        .map_err(|_| {
            if last {
                // A stream cut at a segment boundary: its final
                // segment was sealed as not-last.
                DecryptError::Truncated
            } else {
                DecryptError::Segment(counter)
            }
        })?;
        out.write_all(&pt)?;
        total += pt.len() as u64;
        if last {
            out.flush()?;
            return Ok(total);
        }
        std::mem::swap(&mut cur, &mut next);
        cur_len = next_len;
        counter = counter.checked_add(1).ok_or(DecryptError::Truncated)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(len: usize) {
        let kek = Kek::new([7u8; 32]);
        let plain: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        let mut e = Encryptor::new(Vec::new(), &kek).expect("encryptor");
        // Odd write sizes cross segment boundaries.
        for c in plain.chunks(1000) {
            e.write_all(c).expect("write");
        }
        let ct = e.finish().expect("finish");
        let mut back = Vec::new();
        let n = decrypt(ct.as_slice(), &mut back, &kek).expect("decrypts");
        assert_eq!(n as usize, len);
        assert_eq!(back, plain);
        if len > 0 {
            let mut bad = ct.clone();
            let last = bad.len() - 1;
            bad[last] ^= 1;
            assert!(decrypt(bad.as_slice(), Vec::new(), &kek).is_err());
        }
        // Cut after the first full segment: refused, not shortened.
        if len > SEGMENT {
            // Full segments, then the last one (empty when the length is a
            // multiple of the segment size).
            let header_len = ct.len() - len - (len / SEGMENT + 1) * TAG;
            let cut = &ct[..header_len + SEGMENT + TAG];
            assert!(matches!(
                decrypt(cut, Vec::new(), &kek),
                Err(DecryptError::Truncated)
            ));
        }
        let other = Kek::new([8u8; 32]);
        assert!(matches!(
            decrypt(ct.as_slice(), Vec::new(), &other),
            Err(DecryptError::WrongKek { .. })
        ));
    }

    #[test]
    fn segments_round_trip_and_tampering_fails() {
        for len in [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT + 17] {
            roundtrip(len);
        }
    }

    #[test]
    fn kek_files_are_raw_or_hex() {
        let dir = tempfile::tempdir().expect("dir");
        let raw = dir.path().join("raw");
        std::fs::write(&raw, [1u8; 32]).expect("write");
        let hexf = dir.path().join("hex");
        std::fs::write(&hexf, format!("{}\n", hex::encode([1u8; 32]))).expect("write");
        assert_eq!(
            Kek::from_file(&raw).expect("raw").id,
            Kek::from_file(&hexf).expect("hex").id
        );
        let short = dir.path().join("short");
        std::fs::write(&short, "abcd").expect("write");
        assert!(Kek::from_file(&short).is_err());
    }

    /// The plaintext of the golden file: one full segment and a short last
    /// one.
    fn golden_plain() -> Vec<u8> {
        (0..SEGMENT + 100).map(|i| (i * 31 % 251) as u8).collect()
    }

    /// An object encrypted by the hand-written segment code this module
    /// had before the `aead` crate's STREAM (testdata/export-golden.kse,
    /// made by that code, KEK of 32 bytes 7): the format is unchanged, so
    /// it still decrypts.
    #[test]
    fn an_object_encrypted_before_the_aead_stream_still_decrypts() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/export-golden.kse");
        let golden = std::fs::read(&path).expect("the golden file");
        let mut back = Vec::new();
        let n = decrypt(golden.as_slice(), &mut back, &Kek::new([7u8; 32])).expect("decrypts");
        assert_eq!(n as usize, SEGMENT + 100);
        assert_eq!(back, golden_plain());
    }

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_label() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("k.kek");
        let kek = Kek::load_or_create(&path).expect("made");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // The same file next time, not a new key.
        assert_eq!(Kek::load_or_create(&path).expect("read").id, kek.id);
        let secret = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n";
        let sealed = kek.seal(secret, b"cred a").expect("sealed");
        assert!(memchr_find(&sealed, b"b3BlbnNzaC1rZXktdjE").is_none());
        assert_eq!(kek.open(&sealed, b"cred a").expect("opens"), secret);
        // Another record's label, another key, an altered byte: refused.
        assert!(kek.open(&sealed, b"cred b").is_err());
        assert!(Kek::new([1u8; 32]).open(&sealed, b"cred a").is_err());
        let mut bad = sealed.clone();
        bad[20] ^= 1;
        assert!(kek.open(&bad, b"cred a").is_err());
        assert!(kek.open(&sealed[..10], b"cred a").is_err());
        // Two seals of one secret differ (fresh nonces).
        assert_ne!(kek.seal(secret, b"cred a").expect("sealed"), sealed);
    }

    fn memchr_find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).position(|w| w == needle)
    }
}
