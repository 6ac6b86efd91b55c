//! A fault-injecting HTTP/1.1 proxy on loopback.
//!
//! [`FaultProxy::start`] listens on `127.0.0.1` and forwards every request
//! to an upstream server (a simulator). Point a connector's base URL at
//! [`FaultProxy::url`] instead of the simulator's, then schedule a
//! [`Fault`] for the n-th request: the answer is reset mid-body, closed
//! early, cut to a shorter (complete-looking) body, or delayed.
//!
//! How it stays exact under keep-alive: the proxy parses each request from
//! the client (head and `Content-Length` body), forwards it on a fresh
//! upstream connection with `Connection: close`, reads the whole answer
//! (`Content-Length`, chunked, or up to the upstream's close), and sends it
//! back re-framed with a `Content-Length` and without hop-by-hop headers, so
//! the client's connection stays open and every request is counted once,
//! whatever the client's pooling does.
//!
//! ```no_run
//! # async fn demo(upstream: std::net::SocketAddr) -> std::io::Result<()> {
//! use scopelink_reliability::fault_proxy::{Fault, FaultProxy};
//! let proxy = FaultProxy::start(upstream).await?;
//! proxy.fault_request(3, Fault::ResetMidBody(1_000)); // the 3rd request
//! println!("connector base: {}", proxy.url());
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Largest request or response head accepted, in bytes.
const MAX_HEAD: usize = 64 * 1024;

/// What to do to one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Send the status line, the headers (with the full `Content-Length`)
    /// and the first `n` bytes of the body, then reset the connection (TCP
    /// RST): a connection reset mid-body.
    ResetMidBody(usize),
    /// Send the head (full `Content-Length`) and the first `n` bytes of the
    /// body, then close the connection normally (FIN): a body cut short.
    CloseMidBody(usize),
    /// Answer with only the first `n` bytes of the body and a
    /// `Content-Length` of `n`: a complete-looking answer (a 200) whose JSON
    /// is truncated. The connection stays usable.
    TruncateBody(usize),
    /// Wait this long before answering, then answer normally.
    Delay(Duration),
}

/// One request that went through the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxiedRequest {
    /// 1-based, in the order the proxy read them.
    pub index: u64,
    /// Method.
    pub method: String,
    /// Request target (path and query) as sent.
    pub target: String,
    /// The upstream's status, if it answered.
    pub status: Option<u16>,
    /// The upstream body's length, if it answered.
    pub body_len: Option<usize>,
    /// The fault applied, if any.
    pub fault: Option<Fault>,
}

#[derive(Default)]
struct State {
    requests: u64,
    plan: BTreeMap<u64, Fault>,
    injected: u64,
    connections: u64,
    log: Vec<ProxiedRequest>,
}

struct Shared {
    upstream: SocketAddr,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running proxy. Dropping it stops accepting connections.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultProxy")
            .field("addr", &self.addr)
            .field("upstream", &self.shared.upstream)
            .field("requests", &self.request_count())
            .finish()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl FaultProxy {
    /// Starts a proxy on `127.0.0.1` (a free port) in front of `upstream`.
    /// Needs a running tokio runtime.
    pub async fn start(upstream: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            state: Mutex::new(State::default()),
        });
        let for_loop = shared.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                for_loop.lock().connections += 1;
                let shared = for_loop.clone();
                tokio::spawn(async move {
                    // A connection that fails just ends; the client sees it.
                    let _ = serve(client, shared).await;
                });
            }
        });
        Ok(Self {
            addr,
            shared,
            accept,
        })
    }

    /// Starts a proxy in front of `upstream_url` (`http://127.0.0.1:PORT`,
    /// what the simulators' `server_url`/`uri` return).
    pub async fn start_for(upstream_url: &str) -> io::Result<Self> {
        let url = url::Url::parse(upstream_url)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let addr = url
            .socket_addrs(|| Some(80))?
            .into_iter()
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address"))?;
        Self::start(addr).await
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Applies `fault` to the `nth` request (1-based, counted since the
    /// proxy started). A later call for the same request replaces it.
    pub fn fault_request(&self, nth: u64, fault: Fault) {
        self.shared.lock().plan.insert(nth, fault);
    }

    /// Applies `fault` to the next request the proxy reads.
    pub fn fault_next(&self, fault: Fault) {
        let mut st = self.shared.lock();
        let next = st.requests + 1;
        st.plan.insert(next, fault);
    }

    /// Forgets the faults not applied yet.
    pub fn clear_faults(&self) {
        self.shared.lock().plan.clear();
    }

    /// Requests read so far.
    pub fn request_count(&self) -> u64 {
        self.shared.lock().requests
    }

    /// Faults applied so far.
    pub fn faults_injected(&self) -> u64 {
        self.shared.lock().injected
    }

    /// Client connections accepted so far.
    pub fn connection_count(&self) -> u64 {
        self.shared.lock().connections
    }

    /// Every request so far.
    pub fn log(&self) -> Vec<ProxiedRequest> {
        self.shared.lock().log.clone()
    }
}

/// A parsed message head: the start line and the header fields.
struct Head {
    start: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn parse(bytes: &[u8]) -> io::Result<Self> {
        let text = std::str::from_utf8(bytes).map_err(|_| invalid("a head that is not UTF-8"))?;
        let mut lines = text.split("\r\n");
        let start = lines.next().unwrap_or_default().to_string();
        let mut headers = Vec::new();
        for line in lines.filter(|l| !l.is_empty()) {
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| invalid("a header line without a colon"))?;
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
        Ok(Self { start, headers })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn content_length(&self) -> io::Result<Option<usize>> {
        self.get("content-length")
            .map(|v| v.parse().map_err(|_| invalid("a bad Content-Length")))
            .transpose()
    }

    fn chunked(&self) -> bool {
        self.get("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    }

    /// The head without hop-by-hop and framing headers, plus `extra`.
    fn render(&self, extra: &[(&str, String)]) -> Vec<u8> {
        const DROP: [&str; 5] = [
            "connection",
            "keep-alive",
            "transfer-encoding",
            "content-length",
            "proxy-connection",
        ];
        let mut out = format!("{}\r\n", self.start);
        for (k, v) in &self.headers {
            if !DROP.iter().any(|d| k.eq_ignore_ascii_case(d)) {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
        }
        for (k, v) in extra {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("\r\n");
        out.into_bytes()
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Reads one message head from `stream` into `buf` (which may already hold
/// bytes). `Ok(None)` when the peer closed before sending anything.
async fn read_head(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<Option<Head>> {
    loop {
        if let Some(end) = find_head_end(buf) {
            let head = Head::parse(&buf[..end - 4])?;
            buf.drain(..end);
            return Ok(Some(head));
        }
        if buf.len() > MAX_HEAD {
            return Err(invalid("a head larger than 64 KiB"));
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Reads exactly `len` body bytes (some may be in `buf` already).
async fn read_exact_body(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    len: usize,
) -> io::Result<Vec<u8>> {
    while buf.len() < len {
        let mut chunk = vec![0u8; 64 * 1024];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(buf.drain(..len).collect())
}

/// Decodes a complete chunked body.
fn dechunk(mut data: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| invalid("a chunk size line without CRLF"))?;
        let size_text = std::str::from_utf8(&data[..line_end])
            .map_err(|_| invalid("a chunk size that is not text"))?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| invalid("a bad chunk size"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size + 2 {
            return Err(invalid("a chunk cut short"));
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// One client connection: request after request until it closes.
async fn serve(mut client: TcpStream, shared: Arc<Shared>) -> io::Result<()> {
    let mut buf = Vec::new();
    loop {
        let Some(head) = read_head(&mut client, &mut buf).await? else {
            return Ok(());
        };
        if head.chunked() {
            return Err(invalid("chunked request bodies are not supported"));
        }
        let body_len = head.content_length()?.unwrap_or(0);
        let body = read_exact_body(&mut client, &mut buf, body_len).await?;
        let mut parts = head.start.split(' ');
        let method = parts.next().unwrap_or_default().to_string();
        let target = parts.next().unwrap_or_default().to_string();
        let (index, fault) = {
            let mut st = shared.lock();
            st.requests += 1;
            let index = st.requests;
            let fault = st.plan.remove(&index);
            if fault.is_some() {
                st.injected += 1;
            }
            st.log.push(ProxiedRequest {
                index,
                method,
                target,
                status: None,
                body_len: None,
                fault,
            });
            (index, fault)
        };

        let answer = forward(shared.upstream, &head, &body).await;
        let (resp_head, resp_body) = match answer {
            Ok(a) => a,
            Err(e) => {
                // The upstream failed: the client sees its connection close.
                tracing::debug!(error = %e, index, "fault proxy: upstream failed");
                return Err(e);
            }
        };
        let status = resp_head
            .start
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok());
        {
            let mut st = shared.lock();
            if let Some(entry) = st.log.iter_mut().rev().find(|r| r.index == index) {
                entry.status = status;
                entry.body_len = Some(resp_body.len());
            }
        }

        let full_len = resp_body.len();
        match fault {
            None => {
                let mut out = resp_head.render(&[("Content-Length", full_len.to_string())]);
                out.extend_from_slice(&resp_body);
                client.write_all(&out).await?;
            }
            Some(Fault::Delay(d)) => {
                tokio::time::sleep(d).await;
                let mut out = resp_head.render(&[("Content-Length", full_len.to_string())]);
                out.extend_from_slice(&resp_body);
                client.write_all(&out).await?;
            }
            Some(Fault::TruncateBody(n)) => {
                let n = n.min(full_len);
                let mut out = resp_head.render(&[("Content-Length", n.to_string())]);
                out.extend_from_slice(&resp_body[..n]);
                client.write_all(&out).await?;
            }
            Some(Fault::CloseMidBody(n)) => {
                let n = n.min(full_len.saturating_sub(1));
                let mut out = resp_head.render(&[("Content-Length", full_len.to_string())]);
                out.extend_from_slice(&resp_body[..n]);
                client.write_all(&out).await?;
                client.flush().await?;
                client.shutdown().await?;
                return Ok(());
            }
            Some(Fault::ResetMidBody(n)) => {
                let n = n.min(full_len.saturating_sub(1));
                let mut out = resp_head.render(&[("Content-Length", full_len.to_string())]);
                out.extend_from_slice(&resp_body[..n]);
                client.write_all(&out).await?;
                client.flush().await?;
                // Let the client read the head and the partial body before
                // the reset arrives (this shapes the fault; nothing is
                // asserted on timing).
                tokio::time::sleep(Duration::from_millis(20)).await;
                client.set_zero_linger()?;
                drop(client);
                return Ok(());
            }
        }
    }
}

/// Sends one request upstream on a fresh connection and reads the whole
/// answer.
async fn forward(upstream: SocketAddr, head: &Head, body: &[u8]) -> io::Result<(Head, Vec<u8>)> {
    let mut up = TcpStream::connect(upstream).await?;
    let mut extra = vec![("Connection", "close".to_string())];
    if !body.is_empty() || head.content_length()?.is_some() {
        extra.push(("Content-Length", body.len().to_string()));
    }
    let mut out = head.render(&extra);
    out.extend_from_slice(body);
    up.write_all(&out).await?;
    up.flush().await?;

    let mut buf = Vec::new();
    let resp = read_head(&mut up, &mut buf)
        .await?
        .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
    let status = resp
        .start
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .unwrap_or(0);
    let no_body = head.start.starts_with("HEAD ")
        || status == 204
        || status == 304
        || (100..200).contains(&status);
    let body = if no_body {
        Vec::new()
    } else if resp.chunked() {
        up.read_to_end(&mut buf).await?;
        dechunk(&buf)?
    } else if let Some(len) = resp.content_length()? {
        read_exact_body(&mut up, &mut buf, len).await?
    } else {
        up.read_to_end(&mut buf).await?;
        buf
    };
    Ok((resp, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dechunks_bodies() {
        let body = dechunk(b"4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\n\r\n").unwrap();
        assert_eq!(body, b"Wikipedia");
        assert!(dechunk(b"9\r\nWiki\r\n").is_err());
    }

    #[test]
    fn renders_without_hop_by_hop_headers() {
        let head = Head::parse(
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\nLink: <x>; rel=\"next\"",
        )
        .unwrap();
        let text = String::from_utf8(head.render(&[("Content-Length", "3".into())])).unwrap();
        assert_eq!(
            text,
            "HTTP/1.1 200 OK\r\nLink: <x>; rel=\"next\"\r\nContent-Length: 3\r\n\r\n"
        );
    }
}
