//! The servers.

use super::*;

/// Which of our two builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Build {
    Textbook,
    Fast,
}

impl Build {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Textbook => "textbook",
            Self::Fast => "fast",
        }
    }
}

/// What a row runs.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// Our demo binary's `server PORT --bytes --loops N`.
    Ours(Build, usize),
    /// This program's tokio server, on N workers (1: `current_thread`),
    /// reading into its thread's buffer, or (`owned`) into a 64 KiB buffer
    /// of each connection's own.
    Tokio { workers: usize, owned: bool },
    /// `echo_servers.py`, with uvloop or not, streams or protocols.
    Python { uvloop: bool, api: &'static str },
}

/// A row of a table: a server and how to start it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub(crate) key: &'static str,
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
}

pub(crate) const fn entry(key: &'static str, name: &'static str, kind: Kind) -> Entry {
    Entry { key, name, kind }
}

pub(crate) const TOKIO_CT: Kind = Kind::Tokio {
    workers: 1,
    owned: false,
};

/// The single-loop servers, pinned to one core: the throughput and memory
/// rows.
pub(crate) const SERVERS: [Entry; 7] = [
    entry(
        "ours-textbook",
        "ours, textbook",
        Kind::Ours(Build::Textbook, 1),
    ),
    entry("ours-fast", "ours, fast", Kind::Ours(Build::Fast, 1)),
    entry("tokio-ct", "tokio current_thread", TOKIO_CT),
    entry(
        "asyncio-streams",
        "asyncio streams",
        Kind::Python {
            uvloop: false,
            api: "streams",
        },
    ),
    entry(
        "asyncio-protocols",
        "asyncio protocols",
        Kind::Python {
            uvloop: false,
            api: "protocols",
        },
    ),
    entry(
        "uvloop-protocols",
        "uvloop protocols",
        Kind::Python {
            uvloop: true,
            api: "protocols",
        },
    ),
    entry(
        "uvloop-streams",
        "uvloop streams",
        Kind::Python {
            uvloop: true,
            api: "streams",
        },
    ),
];

/// The rows of "one loop per core", nothing pinned.
pub(crate) const CORE_SERVERS: [Entry; 6] = [
    entry(
        "ours-textbook-loops2",
        "ours, textbook, --loops 2",
        Kind::Ours(Build::Textbook, 2),
    ),
    entry(
        "ours-fast-loops2",
        "ours, fast, --loops 2",
        Kind::Ours(Build::Fast, 2),
    ),
    entry(
        "tokio-mt",
        "tokio multi_thread, 2 workers",
        Kind::Tokio {
            workers: 2,
            owned: false,
        },
    ),
    entry(
        "ours-textbook-loops1",
        "ours, textbook, --loops 1",
        Kind::Ours(Build::Textbook, 1),
    ),
    entry(
        "ours-fast-loops1",
        "ours, fast, --loops 1",
        Kind::Ours(Build::Fast, 1),
    ),
    entry("tokio-ct-unpinned", "tokio current_thread", TOKIO_CT),
];

/// A row of the memory table only: tokio as its examples write an echo,
/// a buffer per connection (here 64 KiB, as ours and asyncio's `read`
/// ask for), which an idle connection keeps.
pub(crate) const TOKIO_OWNED: Entry = entry(
    "tokio-ct-owned-buffer",
    "tokio current_thread, 64 KiB buffer per connection",
    Kind::Tokio {
        workers: 1,
        owned: true,
    },
);

/// The connection counts of "one loop per core".
pub(crate) const CORE_CONNECTIONS: [usize; 2] = [16, 256];

/// Where the servers' programs are.
pub(crate) struct Tools {
    /// This program, for the client and the tokio servers.
    pub(crate) me: PathBuf,
    /// Our demo binary, per build (only those that were asked for).
    pub(crate) ours: BTreeMap<Build, PathBuf>,
    /// `echo_servers.py`.
    pub(crate) script: PathBuf,
    /// Debian's Python, for asyncio.
    pub(crate) python: PathBuf,
    /// The virtual environment's Python, with uvloop, or why there is none.
    pub(crate) uvloop_python: Result<PathBuf, String>,
    /// Where the servers' standard error goes, a file per run.
    pub(crate) logs: PathBuf,
}

impl Tools {
    /// The program and arguments of `kind`'s server on `port`.
    pub(crate) fn command(&self, kind: Kind, port: u16) -> Result<(PathBuf, Vec<String>), String> {
        let port = port.to_string();
        Ok(match kind {
            Kind::Ours(build, loops) => {
                let program = self
                    .ours
                    .get(&build)
                    .ok_or_else(|| format!("ours ({}) was not built", build.name()))?;
                let mut args = vec!["server".to_string(), port, "--bytes".to_string()];
                if loops > 1 {
                    args.extend(["--loops".to_string(), loops.to_string()]);
                }
                (program.clone(), args)
            }
            Kind::Tokio { workers, owned } => (
                self.me.clone(),
                vec![
                    "__tokio-server".to_string(),
                    workers.to_string(),
                    port,
                    if owned { "owned" } else { "shared" }.to_string(),
                ],
            ),
            Kind::Python { uvloop, api } => {
                let python = if uvloop {
                    self.uvloop_python.clone()?
                } else {
                    self.python.clone()
                };
                let script = self.script.display().to_string();
                let flavour = if uvloop { "uvloop" } else { "asyncio" };
                let args = [&script, "--loop", flavour, "--api", api];
                let mut args: Vec<String> = args.iter().map(ToString::to_string).collect();
                args.extend(["--port".to_string(), port]);
                (python, args)
            }
        })
    }

    /// Why `kind` cannot run here, if it cannot.
    pub(crate) fn unavailable(&self, kind: Kind) -> Option<String> {
        match (kind, &self.uvloop_python) {
            (Kind::Python { uvloop: true, .. }, Err(why)) => Some(why.clone()),
            _ => None,
        }
    }
}

/// A server that has said where it listens.
pub(crate) struct Server {
    pub(crate) process: Process,
    pub(crate) address: SocketAddr,
}

/// Start `entry`'s server, on `cpu` if given, its standard error to a log
/// named after `run`, and wait until every one of its loops listens.
pub(crate) fn start_server(
    tools: &Tools,
    entry: &Entry,
    cpu: Option<usize>,
    run: &str,
) -> Result<Server, String> {
    let loops = match entry.kind {
        Kind::Ours(_, loops) => loops,
        _ => 1,
    };
    // Several loops share one port, which must then be named: a free one.
    let port = if loops > 1 { free_port()? } else { 0 };
    let (program, args) = tools.command(entry.kind, port)?;
    let log = tools.logs.join(format!("{}-{run}.log", entry.key));
    let process = Process::start(entry.name, pinned(&program, &args, cpu), false, Some(log))?;
    let mut address = None;
    for _ in 0..loops {
        let line = process.line("serving on ", STARTUP)?;
        let text = line.trim_start_matches("serving on ").trim();
        let parsed: SocketAddr = text
            .parse()
            .map_err(|_| format!("{}: cannot read an address in {line:?}", entry.name))?;
        address = Some(parsed);
    }
    let address = address.ok_or_else(|| format!("{}: no address", entry.name))?;
    Ok(Server { process, address })
}

/// A port that was free a moment ago.
pub(crate) fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    let port = listener
        .local_addr()
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    Ok(port)
}

/// `program args`, run on `cpu` alone if given (`taskset` execs the
/// program: the child's id is the program's).
pub(crate) fn pinned(program: &Path, args: &[String], cpu: Option<usize>) -> Command {
    match cpu {
        Some(cpu) => {
            let mut command = Command::new("taskset");
            command
                .arg("-c")
                .arg(cpu.to_string())
                .arg(program)
                .args(args);
            command
        }
        None => {
            let mut command = Command::new(program);
            command.args(args);
            command
        }
    }
}
