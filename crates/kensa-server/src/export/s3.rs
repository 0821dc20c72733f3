//! A minimal S3 client: PUT and GET of one object, path-style addressing,
//! signed with AWS Signature Version 4. Enough for exports to any
//! S3-compatible store (AWS, MinIO, Ceph, s3s); no SDK with its own TLS
//! and runtime stack.
//!
//! An object is sent in one PUT, so at most 5 GB (S3's limit for a single
//! PUT); multipart upload would lift that and is not needed yet: a CSV of
//! a million findings is a few hundred megabytes.

use std::io::Read;
use std::time::SystemTime;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::error::{Result, ServerError};

/// Where the store is and who we are there.
#[derive(Clone)]
pub struct S3Config {
    /// `https://s3.eu-west-1.amazonaws.com`, `http://127.0.0.1:9000`.
    pub endpoint: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
}

/// The secret never reaches a log or an error message.
impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key", &self.access_key)
            .field("secret_key", &"…")
            .finish()
    }
}

impl S3Config {
    /// From `KENSA_S3_ENDPOINT`, `AWS_REGION` (default `us-east-1`),
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`; `None` without an
    /// endpoint.
    pub fn from_env() -> Option<S3Config> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Some(S3Config {
            endpoint: var("KENSA_S3_ENDPOINT")?,
            region: var("AWS_REGION")
                .or_else(|| var("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| "us-east-1".into()),
            access_key: var("AWS_ACCESS_KEY_ID").unwrap_or_default(),
            secret_key: var("AWS_SECRET_ACCESS_KEY").unwrap_or_default(),
        })
    }
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    // HMAC takes a key of any length: this cannot fail.
    let mut m = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    m.update(data.as_bytes());
    m.finalize().into_bytes().to_vec()
}

/// What SigV4 leaves unencoded: RFC 3986's unreserved characters.
const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// The same, keeping the path's `/`.
const UNRESERVED_PATH: &percent_encoding::AsciiSet = &UNRESERVED.remove(b'/');

/// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters
/// kept, `/` kept in paths.
fn uri_encode(s: &str, keep_slash: bool) -> String {
    let set = if keep_slash {
        UNRESERVED_PATH
    } else {
        UNRESERVED
    };
    percent_encoding::utf8_percent_encode(s, set).to_string()
}

/// `20261130T094134Z` and `20261130`.
fn amz_dates(t: SystemTime) -> (String, String) {
    let s = humantime::format_rfc3339_seconds(t).to_string();
    let compact: String = s.chars().filter(|c| *c != '-' && *c != ':').collect();
    let day = compact[..8].to_owned();
    (compact, day)
}

/// The client.
pub struct S3 {
    cfg: S3Config,
    agent: ureq::Agent,
}

/// An object to send: `len` bytes whose SHA-256 is `sha256` (hex; SigV4
/// signs it), read from `body`.
pub struct Upload<R> {
    pub body: R,
    pub len: u64,
    pub sha256: String,
}

/// What the store reports holding after an upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    pub len: Option<u64>,
    pub etag: Option<String>,
}

/// An object read back.
pub struct Object {
    pub body: Vec<u8>,
    /// Response headers, names lowercased.
    pub headers: Vec<(String, String)>,
}

impl Object {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl S3 {
    pub fn new(cfg: S3Config) -> S3 {
        // No redirects: S3 answers a bucket in another region with 301
        // (no Location) or 307, and following one would send the object
        // and its signature somewhere else. Any answer but 2xx is a
        // failure the caller sees.
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(std::time::Duration::from_secs(30))
            .redirects(0)
            .build();
        S3 { cfg, agent }
    }

    /// The endpoint's origin (`scheme://host[:port]`), host (as signed)
    /// and path prefix (empty, or `/path` without a trailing `/`).
    fn endpoint(&self) -> Result<(String, String, String)> {
        let raw = self.cfg.endpoint.as_str();
        let bad = |why: &str| ServerError::Internal(format!("S3 endpoint {raw:?}: {why}"));
        let url = url::Url::parse(raw).map_err(|e| bad(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("expected http:// or https://"));
        }
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => return Err(bad("no host")),
        };
        let prefix = url.path().trim_end_matches('/').to_owned();
        Ok((format!("{}://{host}", url.scheme()), host, prefix))
    }

    fn url_and_host(&self, bucket: &str, key: &str) -> Result<(String, String, String)> {
        let (origin, host, prefix) = self.endpoint()?;
        if bucket.is_empty() || key.is_empty() {
            return Err(ServerError::Internal(
                "S3: bucket and key are needed".into(),
            ));
        }
        let path = format!(
            "{prefix}/{}/{}",
            uri_encode(bucket, false),
            uri_encode(key, true)
        );
        Ok((format!("{origin}{path}"), host, path))
    }

    /// The `Authorization` header for a request whose `x-amz-*` headers
    /// (besides the date and payload hash, added here) are `amz`.
    fn sign(
        &self,
        method: &str,
        host: &str,
        path: &str,
        payload_sha256: &str,
        amz: &[(String, String)],
        now: SystemTime,
    ) -> (String, Vec<(String, String)>) {
        let (stamp, day) = amz_dates(now);
        let mut headers: Vec<(String, String)> = vec![
            ("host".into(), host.to_owned()),
            ("x-amz-content-sha256".into(), payload_sha256.to_owned()),
            ("x-amz-date".into(), stamp.clone()),
        ];
        headers.extend(
            amz.iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_owned())),
        );
        headers.sort();
        let signed: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
        let signed = signed.join(";");
        let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
        let canonical =
            format!("{method}\n{path}\n\n{canonical_headers}\n{signed}\n{payload_sha256}");
        let scope = format!("{day}/{}/s3/aws4_request", self.cfg.region);
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{}",
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        let k = hmac(format!("AWS4{}", self.cfg.secret_key).as_bytes(), &day);
        let k = hmac(&k, &self.cfg.region);
        let k = hmac(&k, "s3");
        let k = hmac(&k, "aws4_request");
        let signature = hex::encode(hmac(&k, &to_sign));
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}",
            self.cfg.access_key
        );
        (auth, headers)
    }

    fn fail(&self, op: &str, bucket: &str, key: &str, e: ureq::Error) -> ServerError {
        let what = match e {
            ureq::Error::Status(code, r) => {
                let body = r.into_string().unwrap_or_default();
                // S3 errors are XML: the code and message are what matter.
                let pick = |tag: &str| {
                    body.split(&format!("<{tag}>"))
                        .nth(1)
                        .and_then(|s| s.split(&format!("</{tag}>")).next())
                        .map(str::to_owned)
                };
                format!(
                    "HTTP {code} {} {}",
                    pick("Code").unwrap_or_default(),
                    pick("Message").unwrap_or_default()
                )
            }
            ureq::Error::Transport(t) => t.to_string(),
        };
        ServerError::Internal(format!(
            "S3 {op} s3://{bucket}/{key} at {}: {what}",
            self.cfg.endpoint
        ))
    }

    /// A response that is not 2xx (ureq reports only 4xx and 5xx as
    /// errors; a 3xx arrives as a response) as the failure it is.
    fn success(
        &self,
        op: &str,
        bucket: &str,
        key: &str,
        res: ureq::Response,
    ) -> Result<ureq::Response> {
        let code = res.status();
        if (200..300).contains(&code) {
            return Ok(res);
        }
        let location = res
            .header("location")
            .map(|l| format!(" (Location: {l})"))
            .unwrap_or_default();
        Err(
            match self.fail(op, bucket, key, ureq::Error::Status(code, res)) {
                ServerError::Internal(m) => ServerError::Internal(format!("{m}{location}")),
                e => e,
            },
        )
    }

    /// PUT an object, with extra `x-amz-*` headers (metadata,
    /// encryption), then check that the store holds it: a HEAD must find
    /// `len` bytes under the ETag the PUT answered. What the store
    /// answered otherwise (a redirect, an error) is the error.
    pub fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Upload<impl Read>,
        content_type: &str,
        amz: &[(String, String)],
    ) -> Result<Stored> {
        let Upload { body, len, sha256 } = body;
        let sha256 = sha256.as_str();
        let (url, host, path) = self.url_and_host(bucket, key)?;
        let (auth, headers) = self.sign("PUT", &host, &path, sha256, amz, SystemTime::now());
        let mut req = self
            .agent
            .put(&url)
            .set("Authorization", &auth)
            .set("Content-Length", &len.to_string())
            .set("Content-Type", content_type);
        for (k, v) in &headers {
            req = req.set(k, v);
        }
        let res = req
            .send(body)
            .map_err(|e| self.fail("PUT", bucket, key, e))?;
        let res = self.success("PUT", bucket, key, res)?;
        let etag = res.header("etag").map(str::to_owned);
        let stored = self.head(bucket, key)?;
        let bad = |why: String| {
            ServerError::Internal(format!(
                "S3 PUT s3://{bucket}/{key} at {}: answered {} but {why}",
                self.cfg.endpoint,
                res.status()
            ))
        };
        if stored.len != Some(len) {
            return Err(bad(format!(
                "the stored object has {} bytes, not {len}",
                stored
                    .len
                    .map_or_else(|| "an unknown number of".to_owned(), |n| n.to_string())
            )));
        }
        if let (Some(put), Some(head)) = (&etag, &stored.etag)
            && put != head
        {
            return Err(bad(format!(
                "the stored object's ETag is {head}, not the {put} of the upload"
            )));
        }
        Ok(stored)
    }

    /// HEAD an object: its length and ETag as the store reports them.
    pub fn head(&self, bucket: &str, key: &str) -> Result<Stored> {
        let (url, host, path) = self.url_and_host(bucket, key)?;
        let empty = hex::encode(Sha256::digest(b""));
        let (auth, headers) = self.sign("HEAD", &host, &path, &empty, &[], SystemTime::now());
        let mut req = self.agent.head(&url).set("Authorization", &auth);
        for (k, v) in &headers {
            req = req.set(k, v);
        }
        let res = req.call().map_err(|e| self.fail("HEAD", bucket, key, e))?;
        let res = self.success("HEAD", bucket, key, res)?;
        Ok(Stored {
            len: res
                .header("content-length")
                .and_then(|l| l.trim().parse().ok()),
            etag: res.header("etag").map(str::to_owned),
        })
    }

    /// GET an object whole (tests and small objects).
    pub fn get(&self, bucket: &str, key: &str) -> Result<Object> {
        let (url, host, path) = self.url_and_host(bucket, key)?;
        let empty = hex::encode(Sha256::digest(b""));
        let (auth, headers) = self.sign("GET", &host, &path, &empty, &[], SystemTime::now());
        let mut req = self.agent.get(&url).set("Authorization", &auth);
        for (k, v) in &headers {
            req = req.set(k, v);
        }
        let res = req.call().map_err(|e| self.fail("GET", bucket, key, e))?;
        let res = self.success("GET", bucket, key, res)?;
        let headers = res
            .headers_names()
            .into_iter()
            .filter_map(|n| {
                res.header(&n)
                    .map(|v| (n.to_ascii_lowercase(), v.to_owned()))
            })
            .collect();
        let mut body = Vec::new();
        res.into_reader()
            .read_to_end(&mut body)
            .map_err(|e| ServerError::Internal(format!("S3 GET s3://{bucket}/{key}: {e}")))?;
        Ok(Object { body, headers })
    }

    /// Creates a bucket (tests; exports expect it to exist).
    pub fn create_bucket(&self, bucket: &str) -> Result<()> {
        let (origin, host, prefix) = self.endpoint()?;
        let path = format!("{prefix}/{}", uri_encode(bucket, false));
        let empty = hex::encode(Sha256::digest(b""));
        let (auth, headers) = self.sign("PUT", &host, &path, &empty, &[], SystemTime::now());
        let mut req = self
            .agent
            .put(&format!("{origin}{path}"))
            .set("Authorization", &auth);
        for (k, v) in &headers {
            req = req.set(k, v);
        }
        req.call()
            .map_err(|e| self.fail("create bucket", bucket, "", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's published example (the "GET Object" example of the SigV4
    /// documentation for S3): same inputs, same signature.
    #[test]
    fn signature_matches_the_aws_example() {
        let s3 = S3::new(S3Config {
            endpoint: "https://examplebucket.s3.amazonaws.com".into(),
            region: "us-east-1".into(),
            access_key: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
        });
        let t = humantime::parse_rfc3339("2013-05-24T00:00:00Z").expect("time");
        let empty = hex::encode(Sha256::digest(b""));
        let (auth, _) = s3.sign(
            "GET",
            "examplebucket.s3.amazonaws.com",
            "/test.txt",
            &empty,
            &[("range".into(), "bytes=0-9".into())],
            t,
        );
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn keys_are_encoded_once_and_secrets_never_printed() {
        assert_eq!(uri_encode("a b/c+d~", true), "a%20b/c%2Bd~");
        let cfg = S3Config {
            endpoint: "http://127.0.0.1:9000".into(),
            region: "r".into(),
            access_key: "AK".into(),
            secret_key: "very-secret".into(),
        };
        assert!(!format!("{cfg:?}").contains("very-secret"));
    }
}
