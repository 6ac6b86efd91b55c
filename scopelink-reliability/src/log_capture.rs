//! A tracing capture for the secrets-in-logs checks.
//!
//! [`LogCapture`] is a [`MakeWriter`] over a shared in-memory buffer: a
//! `fmt` subscriber at `TRACE` level (span enter/exit/close events included,
//! no colours) writes every event and span field into it, and a test then
//! reads the text back and scans it.
//!
//! Async code may hop threads, so a thread-local `set_default` guard would
//! miss events on worker threads. Either run the test on a current-thread
//! runtime inside [`LogCapture::scoped`], or install the capture as the
//! global default for the whole test binary with [`LogCapture::global`]
//! (once per process; every later call returns the same capture).
//!
//! ```
//! use scopelink_reliability::log_capture::LogCapture;
//!
//! let capture = LogCapture::new();
//! capture.scoped(|| tracing::info!(answer = 42, "hello"));
//! assert!(capture.text().contains("answer=42"));
//! ```

use std::io;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use tracing::Level;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::fmt::MakeWriter;

/// An in-memory log sink shared by its clones.
#[derive(Clone, Default)]
pub struct LogCapture {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl std::fmt::Debug for LogCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogCapture")
            .field("bytes", &self.lock().len())
            .finish()
    }
}

/// The writer handed out for each event: appends to the shared buffer.
#[derive(Debug)]
pub struct CaptureWriter {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl io::Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogCapture {
    type Writer = CaptureWriter;

    fn make_writer(&'a self) -> Self::Writer {
        CaptureWriter {
            buffer: self.buffer.clone(),
        }
    }
}

static GLOBAL: OnceLock<Option<LogCapture>> = OnceLock::new();

impl LogCapture {
    /// An empty capture, not installed anywhere.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<u8>> {
        self.buffer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A `fmt` subscriber at `TRACE` that writes into this capture: no
    /// ANSI colours, targets and span fields shown, span lifecycle events
    /// (new, enter, exit, close) logged so span fields are written even
    /// when no event fires inside the span.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        tracing_subscriber::fmt()
            .with_max_level(Level::TRACE)
            .with_ansi(false)
            .with_target(true)
            .with_span_events(FmtSpan::FULL)
            .with_writer(self.clone())
            .finish()
    }

    /// Runs `f` with this capture as the thread's default subscriber. Use it
    /// around a current-thread runtime's `block_on`, so every event of the
    /// future is seen.
    pub fn scoped<T>(&self, f: impl FnOnce() -> T) -> T {
        tracing::subscriber::with_default(self.subscriber(), f)
    }

    /// The process-wide capture, installed as the global default subscriber
    /// on first use. Returns `None` when another global subscriber was
    /// installed first (this capture would then see nothing).
    pub fn global() -> Option<&'static LogCapture> {
        GLOBAL
            .get_or_init(|| {
                let capture = LogCapture::new();
                tracing::subscriber::set_global_default(capture.subscriber())
                    .ok()
                    .map(|()| capture)
            })
            .as_ref()
    }

    /// Everything captured so far, as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.lock()).into_owned()
    }

    /// The captured lines.
    pub fn lines(&self) -> Vec<String> {
        self.text().lines().map(str::to_string).collect()
    }

    /// How many lines were captured.
    pub fn line_count(&self) -> usize {
        self.lock().iter().filter(|b| **b == b'\n').count()
    }

    /// Bytes captured so far.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing was captured.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Forgets what was captured.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The captured lines that contain any of `needles` (for reporting what
    /// leaked; empty needles are ignored).
    pub fn lines_containing(&self, needles: &[&str]) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|line| needles.iter().any(|n| !n.is_empty() && line.contains(n)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoped_capture_sees_events_and_span_fields() {
        let capture = LogCapture::new();
        capture.scoped(|| {
            let span = tracing::debug_span!("outer", path = "/x");
            let _enter = span.enter();
            tracing::trace!(n = 1, "inner event");
        });
        let text = capture.text();
        assert!(text.contains("inner event"), "{text}");
        assert!(
            text.contains("path=\"/x\"") || text.contains("path=/x"),
            "{text}"
        );
        assert!(capture.line_count() >= 2);
        assert_eq!(
            capture.lines_containing(&["inner event"]).len(),
            1,
            "{text}"
        );
        capture.clear();
        assert!(capture.is_empty());
    }
}
