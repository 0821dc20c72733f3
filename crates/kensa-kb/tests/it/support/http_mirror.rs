//! A loopback HTTP server (127.0.0.1 only) serving files of a directory in
//! place, as a Kensa HTTP mirror: `index.txt` from a given list, each file
//! with an ETag and a Last-Modified, `304` on a matching conditional
//! request, and faults on demand (503s, a transfer cut mid-body, a
//! replaced body, a slow trickle, a stall). A thread per connection,
//! `Connection: close`, every read, write and stall bounded; it stops when
//! dropped or after its lifetime, whichever is first.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const LAST_MODIFIED: &str = "Mon, 30 Nov 2026 00:00:00 GMT";

/// One request as the server answered it.
#[derive(Debug, Clone)]
pub struct Hit {
    pub path: String,
    pub status: u16,
    pub conditional: bool,
    /// Body bytes written.
    pub body: u64,
}

#[derive(Default)]
pub struct Faults {
    /// Path → how many 503s are left to send.
    pub fail: HashMap<String, u32>,
    /// Sent with each 503.
    pub retry_after: Option<u64>,
    /// Paths whose transfer stops halfway.
    pub cut: HashSet<String>,
    /// Paths served with this body instead of the file's.
    pub body: HashMap<String, Vec<u8>>,
    /// Paths sent slowly (a few bytes every 20 ms, 30 s at most).
    pub slow: HashSet<String>,
    /// Paths whose transfer sends the headers, then nothing for this long.
    pub stall: HashMap<String, Duration>,
}

#[derive(Default)]
struct Shared {
    faults: Faults,
    log: Vec<Hit>,
}

pub struct Server {
    pub base: String,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Every file under `root/<dir>` for each of `dirs`, relative, sorted.
pub fn list(root: &Path, dirs: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = dirs.iter().map(|d| root.join(d)).collect();
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).expect("read dir").flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if !name.starts_with('.') {
                    stack.push(e.path());
                }
            }
        } else if p.is_file() {
            let rel = p.strip_prefix(root).expect("under root");
            out.push(rel.to_string_lossy().into_owned());
        }
    }
    out.sort();
    out
}

impl Server {
    /// Serve `paths` (relative to `root`) for at most `lifetime`.
    pub fn start(root: &Path, paths: &[String], lifetime: Duration) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let shared = Arc::new(Mutex::new(Shared::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let index: String = paths.iter().map(|p| format!("{p}\n")).collect();
        let root = root.to_owned();
        let thread = {
            let shared = Arc::clone(&shared);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let deadline = Instant::now() + lifetime;
                let root = Arc::new(root);
                let index = Arc::new(index);
                let mut workers: Vec<JoinHandle<()>> = Vec::new();
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let (root, index) = (Arc::clone(&root), Arc::clone(&index));
                            let (shared, stop) = (Arc::clone(&shared), Arc::clone(&stop));
                            workers.push(std::thread::spawn(move || {
                                serve(stream, &root, &index, &shared, &stop)
                            }));
                            workers.retain(|w| !w.is_finished());
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
                for w in workers {
                    let _ = w.join();
                }
            })
        };
        Server {
            base,
            shared,
            stop,
            thread: Some(thread),
        }
    }

    pub fn faults<R>(&self, f: impl FnOnce(&mut Faults) -> R) -> R {
        f(&mut self.shared.lock().expect("lock").faults)
    }

    /// The requests answered so far, and forget them.
    pub fn take_log(&self) -> Vec<Hit> {
        std::mem::take(&mut self.shared.lock().expect("lock").log)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn decode(path: &str) -> String {
    let b = path.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn serve(
    mut stream: TcpStream,
    root: &Path,
    index: &str,
    shared: &Mutex<Shared>,
    stop: &AtomicBool,
) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 65536 {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let mut lines = head.split("\r\n");
    let target = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or("/")
        .to_owned();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let path = decode(target.trim_start_matches('/'));
    let conditional =
        headers.contains_key("if-none-match") || headers.contains_key("if-modified-since");

    let mut g = shared.lock().expect("lock");
    let log = |status: u16, body: u64, g: &mut Shared| {
        g.log.push(Hit {
            path: path.clone(),
            status,
            conditional,
            body,
        })
    };
    if let Some(n) = g.faults.fail.get_mut(&path)
        && *n > 0
    {
        *n -= 1;
        let ra = g
            .faults
            .retry_after
            .map(|s| format!("Retry-After: {s}\r\n"))
            .unwrap_or_default();
        log(503, 0, &mut g);
        drop(g);
        let _ = write!(
            stream,
            "HTTP/1.1 503 Service Unavailable\r\n{ra}Content-Length: 0\r\nConnection: close\r\n\r\n"
        );
        return;
    }
    let (body, etag) = if let Some(b) = g.faults.body.get(&path) {
        (b.clone(), format!("\"override-{}\"", b.len()))
    } else if path == "index.txt" {
        (
            index.as_bytes().to_vec(),
            format!("\"index-{}\"", index.len()),
        )
    } else if path.split('/').any(|c| c == ".." || c.is_empty()) {
        log(404, 0, &mut g);
        drop(g);
        let _ = write!(
            stream,
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        return;
    } else {
        match std::fs::read(root.join(&path)) {
            Ok(b) => {
                let etag = format!("\"file-{}\"", b.len());
                (b, etag)
            }
            Err(_) => {
                log(404, 0, &mut g);
                drop(g);
                let _ = write!(
                    stream,
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                return;
            }
        }
    };
    let fresh = match headers.get("if-none-match") {
        Some(inm) => inm == &etag,
        None => headers
            .get("if-modified-since")
            .is_some_and(|ims| ims == LAST_MODIFIED),
    };
    if conditional && fresh {
        log(304, 0, &mut g);
        drop(g);
        let _ = write!(
            stream,
            "HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nConnection: close\r\n\r\n"
        );
        return;
    }
    let cut = g.faults.cut.contains(&path);
    let slow = g.faults.slow.contains(&path);
    let stall = g.faults.stall.get(&path).copied();
    let send = if cut { body.len() / 2 } else { body.len() };
    log(200, send as u64, &mut g);
    drop(g);
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nETag: {etag}\r\nLast-Modified: {LAST_MODIFIED}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if let Some(d) = stall {
        std::thread::sleep(d.min(Duration::from_secs(5)));
        return;
    }
    if slow {
        let start = Instant::now();
        for piece in body[..send].chunks(64) {
            if stop.load(Ordering::Relaxed)
                || start.elapsed() > Duration::from_secs(30)
                || stream.write_all(piece).is_err()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    } else {
        let _ = stream.write_all(&body[..send]);
    }
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Both);
}
