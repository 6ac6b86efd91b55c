//! The benchmarks' simulator in a child process, so every memory figure a
//! benchmark prints is its own (connector, engine, store), not the
//! simulator's.
//!
//! The benchmark starts this same binary with
//! [`SERVE_SIMULATOR`] and its size flags
//! ([`SimProcess::start`]). The child starts the simulator and calls
//! [`serve`]: it prints one JSON line (what the parent needs to connect: URLs,
//! keys), then answers one line per command read on stdin (`requests`, and
//! whatever else the benchmark asks) until stdin closes. The parent reads the
//! JSON ([`SimProcess::get`]), asks with [`SimProcess::ask`], and kills the
//! child when the handle is dropped.

use crate::args::SERVE_SIMULATOR;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// The simulator process could not be started or did not answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimProcessError {
    /// This binary could not be started again as the simulator.
    #[error("could not start the simulator process: {0}")]
    Spawn(#[source] std::io::Error),
    /// The child's stdin or stdout was not piped.
    #[error("no {0} on the simulator process")]
    NoPipe(&'static str),
    /// The child's first line was not its JSON description (it failed to
    /// start the simulator; its stderr says why).
    #[error("the simulator process did not start ({source}): {line}")]
    NotStarted {
        /// What the child printed instead.
        line: String,
        /// Why it is not the JSON description.
        #[source]
        source: serde_json::Error,
    },
    /// Talking to the child failed (it exited?).
    #[error("the simulator process stopped answering: {0}")]
    Io(#[from] std::io::Error),
    /// The child's answer to a command was not what the command returns.
    #[error("the simulator answered `{answer}` to `{command}`")]
    BadAnswer {
        /// The command.
        command: String,
        /// Its answer, trimmed.
        answer: String,
    },
}

/// The parent's handle on the simulator process; dropping it kills the
/// child.
#[derive(Debug)]
pub struct SimProcess {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    info: serde_json::Value,
}

impl SimProcess {
    /// Starts this binary as the simulator (`--serve-simulator` followed by
    /// `args`, the flags that size and shape the simulator) and reads the
    /// JSON line it prints once the simulator listens.
    ///
    /// # Errors
    /// [`SimProcessError`] if the child cannot be started or its first line
    /// is not JSON.
    pub fn start<I, S>(args: I) -> Result<Self, SimProcessError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let exe = std::env::current_exe().map_err(SimProcessError::Spawn)?;
        let mut child = Command::new(exe)
            .arg(SERVE_SIMULATOR)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(SimProcessError::Spawn)?;
        let stdin = child.stdin.take().ok_or(SimProcessError::NoPipe("stdin"));
        let stdout = child.stdout.take().ok_or(SimProcessError::NoPipe("stdout"));
        let (stdin, stdout) = match (stdin, stdout) {
            (Ok(i), Ok(o)) => (i, BufReader::new(o)),
            (Err(e), _) | (_, Err(e)) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        // From here on `process` owns the child: an error below kills it.
        let mut process = Self {
            child,
            stdin,
            stdout,
            info: serde_json::Value::Null,
        };
        let line = process.read_line()?;
        process.info = serde_json::from_str(&line)
            .map_err(|source| SimProcessError::NotStarted { line, source })?;
        Ok(process)
    }

    /// The string `key` of the child's JSON line (empty if absent).
    pub fn get(&self, key: &str) -> String {
        self.info[key].as_str().unwrap_or_default().to_string()
    }

    /// Sends `command` and returns the child's one-line answer, trimmed.
    ///
    /// # Errors
    /// [`SimProcessError::Io`] if the child does not answer.
    pub fn ask(&mut self, command: &str) -> Result<String, SimProcessError> {
        writeln!(self.stdin, "{command}")?;
        self.stdin.flush()?;
        Ok(self.read_line()?.trim().to_string())
    }

    /// Requests the simulator has received so far (the `requests` command).
    ///
    /// # Errors
    /// [`SimProcessError::BadAnswer`] if the answer is not a number.
    pub fn requests(&mut self) -> Result<u64, SimProcessError> {
        let answer = self.ask("requests")?;
        answer.parse().map_err(|_| SimProcessError::BadAnswer {
            command: "requests".into(),
            answer,
        })
    }

    fn read_line(&mut self) -> Result<String, SimProcessError> {
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        Ok(line)
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The child's side: prints `info` as one JSON line, then answers each
/// command read on stdin with `answer(command)` (the command trimmed), or
/// ``error: unknown command `…` `` where it returns `None`, until stdin
/// closes.
///
/// # Errors
/// If stdin or stdout fail.
pub fn serve(
    info: &serde_json::Value,
    answer: impl FnMut(&str) -> Option<String>,
) -> std::io::Result<()> {
    serve_on(info, std::io::stdin().lock(), std::io::stdout(), answer)
}

/// [`serve`] over any input and output.
fn serve_on(
    info: &serde_json::Value,
    input: impl BufRead,
    mut output: impl Write,
    mut answer: impl FnMut(&str) -> Option<String>,
) -> std::io::Result<()> {
    writeln!(output, "{info}")?;
    output.flush()?;
    for line in input.lines() {
        let line = line?;
        let command = line.trim();
        match answer(command) {
            Some(reply) => writeln!(output, "{reply}")?,
            None => writeln!(output, "error: unknown command `{command}`")?,
        }
        output.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_child_prints_its_json_then_one_answer_per_command() {
        let info = serde_json::json!({ "zone_url": "http://127.0.0.1:1" });
        let mut asked = 0;
        let mut out = Vec::new();
        serve_on(
            &info,
            "requests\n  requests \nhalt\n".as_bytes(),
            &mut out,
            |command| {
                (command == "requests").then(|| {
                    asked += 1;
                    asked.to_string()
                })
            },
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"zone_url\":\"http://127.0.0.1:1\"}\n1\n2\nerror: unknown command `halt`\n"
        );
    }
}
