//! Child processes.

use super::*;

/// A child process, killed and reaped when dropped, whatever happened
/// (a panic included); its standard output read line by line by a thread
/// of its own, so that it never blocks on a full pipe.
pub(crate) struct Process {
    pub(crate) name: String,
    pub(crate) child: Child,
    pub(crate) lines: Receiver<String>,
    /// Where its standard error goes, if not to ours.
    pub(crate) log: Option<PathBuf>,
}

impl Process {
    /// Start `command`; its standard error goes to `log` if given (a
    /// server's: our server and asyncio's report each connection that the
    /// client resets), else to ours.
    pub(crate) fn start(
        name: &str,
        mut command: Command,
        with_stdin: bool,
        log: Option<PathBuf>,
    ) -> Result<Self, String> {
        let stderr = match &log {
            Some(path) => std::fs::File::create(path)
                .map_err(|e| format!("{}: {e}", path.display()))?
                .into(),
            None => Stdio::inherit(),
        };
        command
            .stdin(if with_stdin {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = command
            .spawn()
            .map_err(|e| format!("{name}: cannot start {command:?}: {e}"))?;
        let stdout = child.stdout.take().ok_or("no pipe")?;
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Self {
            name: name.to_string(),
            child,
            lines,
            log,
        })
    }

    /// Where to look for what went wrong: the end of its log, if it has
    /// one, else our own standard error.
    pub(crate) fn errors(&self) -> String {
        let Some(log) = &self.log else {
            return "(its errors are above)".into();
        };
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        format!("(its standard error, in {}, ends:\n{tail})", log.display())
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next line that starts with `prefix`, skipping others.
    pub(crate) fn line(&self, prefix: &str, within: Duration) -> Result<String, String> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return Ok(line),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "{}: said no {prefix:?} within {within:?}",
                        self.name
                    ));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(format!(
                        "{}: ended before it said {prefix:?} {}",
                        self.name,
                        self.errors()
                    ));
                }
            }
        }
    }

    /// Wait for the process to end by itself, and fail unless it succeeded.
    pub(crate) fn finish(&mut self, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => return Err(format!("{} failed: {status}", self.name)),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Ok(None) => return Err(format!("{}: still running after {within:?}", self.name)),
                Err(error) => return Err(format!("{}: {error}", self.name)),
            }
        }
    }

    /// Fail if the process has ended (a server must not).
    pub(crate) fn alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!(
                "{} ended during the run: {status} {}",
                self.name,
                self.errors()
            )),
            Err(error) => Err(format!("{}: {error}", self.name)),
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
