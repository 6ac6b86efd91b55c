//! A hostile HTTP/1.1 server on loopback: answers that no mock framework
//! can give, such as a body that never ends or a `Content-Length` of
//! gigabytes, chosen per request by a function of the request line.
//!
//! It counts the requests it read and the body bytes it managed to write
//! (what the client's socket accepted, kernel buffers included), so tests
//! can check that a client stopped reading.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use scopelink_reliability::hostile_server::{Answer, HostileServer};
//! let server = HostileServer::start(|_line: &str| Answer::endless(200, b"[".to_vec(), b' ')).await?;
//! println!("point the client at {}", server.url());
//! # Ok(()) }
//! ```

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Largest request head read, in bytes.
const MAX_HEAD: usize = 64 * 1024;

/// Bytes written per write of an endless or declared body.
const CHUNK: usize = 64 * 1024;

/// What to answer one request with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A complete answer with a `Content-Length`; the connection stays open.
    Full {
        /// Status code.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// The body.
        body: Vec<u8>,
    },
    /// A chunked body: `prefix`, then `fill` bytes for ever (until the
    /// client closes the connection).
    Endless {
        /// Status code.
        status: u16,
        /// The body's first bytes.
        prefix: Vec<u8>,
        /// The byte repeated after them.
        fill: u8,
    },
    /// A `Content-Length` of `length`, then `prefix` and `fill` bytes up to
    /// that length (or until the client closes the connection).
    Declared {
        /// Status code.
        status: u16,
        /// The declared length.
        length: u64,
        /// The body's first bytes.
        prefix: Vec<u8>,
        /// The byte repeated after them.
        fill: u8,
    },
}

impl Answer {
    /// A JSON answer.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Answer::Full {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: serde_json::to_vec(body).unwrap_or_default(),
        }
    }

    /// An endless chunked answer.
    pub fn endless(status: u16, prefix: Vec<u8>, fill: u8) -> Self {
        Answer::Endless {
            status,
            prefix,
            fill,
        }
    }
}

#[derive(Default)]
struct Stats {
    requests: AtomicU64,
    body_bytes: AtomicU64,
    lines: Mutex<Vec<String>>,
}

type Responder = dyn Fn(&str) -> Answer + Send + Sync;

/// The server; stops when dropped.
pub struct HostileServer {
    addr: SocketAddr,
    stats: Arc<Stats>,
    task: JoinHandle<()>,
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HostileServer {
    /// Starts on `127.0.0.1`; `respond` gets each request line
    /// (`GET /path?query HTTP/1.1`).
    pub async fn start(
        respond: impl Fn(&str) -> Answer + Send + Sync + 'static,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(Stats::default());
        let respond: Arc<Responder> = Arc::new(respond);
        let shared = stats.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let stats = shared.clone();
                let respond = respond.clone();
                tokio::spawn(async move {
                    // A connection ends in an error when the client hangs
                    // up, which is what the tests provoke.
                    let _ = serve(socket, &*respond, &stats).await;
                });
            }
        });
        Ok(Self { addr, stats, task })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests read so far.
    pub fn requests(&self) -> u64 {
        self.stats.requests.load(Ordering::SeqCst)
    }

    /// Body bytes written so far, over all answers.
    pub fn body_bytes(&self) -> u64 {
        self.stats.body_bytes.load(Ordering::SeqCst)
    }

    /// The request lines read so far, in order.
    pub fn request_lines(&self) -> Vec<String> {
        self.stats
            .lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Serves one connection until the client closes it or an answer ends it.
async fn serve(mut socket: TcpStream, respond: &Responder, stats: &Stats) -> io::Result<()> {
    let mut buffer: Vec<u8> = Vec::new();
    loop {
        let head_end = loop {
            if let Some(end) = find(&buffer, b"\r\n\r\n") {
                break end + 4;
            }
            if buffer.len() > MAX_HEAD {
                return Ok(());
            }
            let mut chunk = [0u8; 4096];
            let n = socket.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buffer.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
        let body_len: usize = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.trim()
                    .eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .unwrap_or(0);
        while buffer.len() < head_end + body_len {
            let mut chunk = [0u8; 4096];
            let n = socket.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buffer.extend_from_slice(&chunk[..n]);
        }
        buffer.drain(..head_end + body_len);
        let line = head.lines().next().unwrap_or_default().to_string();
        stats.requests.fetch_add(1, Ordering::SeqCst);
        stats
            .lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(line.clone());
        match respond(&line) {
            Answer::Full {
                status,
                headers,
                body,
            } => {
                let mut out = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
                for (name, value) in headers {
                    out.push_str(&format!("{name}: {value}\r\n"));
                }
                out.push_str("\r\n");
                socket.write_all(out.as_bytes()).await?;
                socket.write_all(&body).await?;
                stats
                    .body_bytes
                    .fetch_add(body.len() as u64, Ordering::SeqCst);
            }
            Answer::Endless {
                status,
                prefix,
                fill,
            } => {
                let head = format!("HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
                socket.write_all(head.as_bytes()).await?;
                let mut frame = format!("{:x}\r\n", prefix.len()).into_bytes();
                frame.extend_from_slice(&prefix);
                frame.extend_from_slice(b"\r\n");
                socket.write_all(&frame).await?;
                stats
                    .body_bytes
                    .fetch_add(prefix.len() as u64, Ordering::SeqCst);
                let mut frame = format!("{CHUNK:x}\r\n").into_bytes();
                frame.extend(std::iter::repeat_n(fill, CHUNK));
                frame.extend_from_slice(b"\r\n");
                loop {
                    socket.write_all(&frame).await?;
                    stats.body_bytes.fetch_add(CHUNK as u64, Ordering::SeqCst);
                }
            }
            Answer::Declared {
                status,
                length,
                prefix,
                fill,
            } => {
                let head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
                );
                socket.write_all(head.as_bytes()).await?;
                socket.write_all(&prefix).await?;
                stats
                    .body_bytes
                    .fetch_add(prefix.len() as u64, Ordering::SeqCst);
                let mut left = length.saturating_sub(prefix.len() as u64);
                let block = vec![fill; CHUNK];
                while left > 0 {
                    let n = usize::try_from(left).unwrap_or(CHUNK).min(CHUNK);
                    socket.write_all(&block[..n]).await?;
                    stats.body_bytes.fetch_add(n as u64, Ordering::SeqCst);
                    left -= n as u64;
                }
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `VmHWM` (peak resident set) of this process in bytes, from
/// `/proc/self/status` (Linux; `None` elsewhere).
pub fn peak_rss() -> Option<u64> {
    proc_status_kib("VmHWM:").map(|kib| kib * 1024)
}

/// `VmRSS` (current resident set) of this process in bytes (Linux).
pub fn current_rss() -> Option<u64> {
    proc_status_kib("VmRSS:").map(|kib| kib * 1024)
}

/// Resets the peak-RSS mark to the current RSS (Linux `clear_refs` 5);
/// `false` where that is not possible.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}
