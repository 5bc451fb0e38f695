//! The run.

use super::*;

pub(crate) struct Config {
    pub(crate) seconds: f64,
    pub(crate) warmup: f64,
    /// How many windows each server and count gets, each with a server
    /// started afresh; the tables give their median.
    pub(crate) repeat: usize,
    pub(crate) connections: Vec<usize>,
    pub(crate) idle: usize,
    pub(crate) parts: Vec<String>,
    pub(crate) servers: Vec<String>,
}

impl Config {
    pub(crate) fn from_env(filters: &[String]) -> Result<Self, String> {
        fn var(name: &str) -> Option<String> {
            std::env::var(name)
                .ok()
                .filter(|value| !value.trim().is_empty())
        }
        fn list(text: &str) -> Vec<String> {
            text.split(',')
                .map(|item| item.trim().to_string())
                .filter(|item| !item.is_empty())
                .collect()
        }
        let number = |name: &str, default: f64| -> Result<f64, String> {
            var(name).map_or(Ok(default), |text| {
                text.parse()
                    .ok()
                    .filter(|value: &f64| *value > 0.0)
                    .ok_or(format!("{name}: not a positive number: {text}"))
            })
        };
        let connections = match var("ECHO_BENCH_CONNECTIONS") {
            None => vec![1, 16, 256],
            Some(text) => list(&text)
                .iter()
                .map(|count| count.parse().ok().filter(|count| *count > 0))
                .collect::<Option<Vec<usize>>>()
                .ok_or(format!("ECHO_BENCH_CONNECTIONS: not counts: {text}"))?,
        };
        let mut servers = var("ECHO_BENCH_SERVERS").map_or_else(Vec::new, |text| list(&text));
        servers.extend(filters.iter().cloned());
        Ok(Self {
            seconds: number("ECHO_BENCH_SECONDS", 1.5)?,
            warmup: number("ECHO_BENCH_WARMUP", 0.5)?,
            repeat: number("ECHO_BENCH_REPEAT", 3.0)?.round().max(1.0) as usize,
            connections,
            idle: number("ECHO_BENCH_IDLE", 10_000.0)? as usize,
            parts: list(&var("ECHO_BENCH_PARTS").unwrap_or("throughput,memory,cores".into())),
            servers,
        })
    }

    pub(crate) fn part(&self, part: &str) -> bool {
        self.parts.iter().any(|p| p == part)
    }

    pub(crate) fn keeps(&self, entry: &Entry) -> bool {
        self.servers.is_empty() || self.servers.iter().any(|s| entry.key.contains(s.as_str()))
    }
}

/// Everything measured, in the order of the tables.
#[derive(Default)]
pub(crate) struct Results {
    pub(crate) throughput: BTreeMap<(&'static str, usize), Vec<Sample>>,
    pub(crate) cores: BTreeMap<(&'static str, usize), Vec<Sample>>,
    pub(crate) memory: BTreeMap<&'static str, Memory>,
    /// Every run, for the log at the end: part, server, connections.
    pub(crate) log: Vec<(&'static str, &'static str, usize, Sample)>,
    pub(crate) skipped: BTreeMap<&'static str, String>,
}

/// Which servers each part runs.
pub(crate) struct Plan {
    pub(crate) throughput: Vec<Entry>,
    pub(crate) memory: Vec<Entry>,
    pub(crate) cores: Vec<Entry>,
}

impl Plan {
    pub(crate) fn new(config: &Config) -> Self {
        let selected = |part: &str, entries: &[Entry]| -> Vec<Entry> {
            if !config.part(part) {
                return Vec::new();
            }
            entries
                .iter()
                .filter(|e| config.keeps(e))
                .copied()
                .collect()
        };
        let mut memory = selected("memory", &SERVERS);
        memory.extend(selected("memory", &[TOKIO_OWNED]));
        Self {
            throughput: selected("throughput", &SERVERS),
            memory,
            cores: selected("cores", &CORE_SERVERS),
        }
    }

    pub(crate) fn all(&self) -> impl Iterator<Item = &Entry> {
        self.throughput
            .iter()
            .chain(&self.memory)
            .chain(&self.cores)
    }
}

/// Where this benchmark writes: `TARGET/echo-bench`, beside the target
/// directory's `release` that holds this program
/// (`TARGET/release/deps/echo-HASH`), else the workspace's `target`.
pub(crate) fn out_dir(me: &Path, workspace: &Path) -> Result<PathBuf, String> {
    let target = me
        .parent()
        .filter(|deps| deps.ends_with("deps"))
        .and_then(Path::parent)
        .and_then(Path::parent)
        .map_or_else(|| workspace.join("target"), Path::to_path_buf);
    let out = target.join("echo-bench");
    let logs = out.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;
    Ok(out)
}

pub(crate) fn orchestrate(args: &[String]) -> Result<(), String> {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    let workspace = manifest
        .parent()
        .and_then(Path::parent)
        .ok_or("no workspace above the crate")?
        .to_path_buf();
    let me = std::env::current_exe().map_err(|e| format!("where am I: {e}"))?;
    let out = out_dir(&me, &workspace)?;
    // `cargo bench` passes `--bench`; `cargo test --benches` does not.
    if !args.iter().any(|arg| arg == "--bench") {
        return smoke(&me, &manifest, &out);
    }
    let filters: Vec<String> = args
        .iter()
        .filter(|arg| !arg.starts_with('-'))
        .cloned()
        .collect();
    let config = Config::from_env(&filters)?;
    let plan = Plan::new(&config);

    let started = now_utc();
    let load_start = load_average();
    let cpus = allowed_cpus();
    let (pin, pin_note) = placement(&cpus);
    eprintln!("echo bench: {pin_note}");

    let mut ours = BTreeMap::new();
    for build in [Build::Textbook, Build::Fast] {
        if plan
            .all()
            .any(|e| matches!(e.kind, Kind::Ours(b, _) if b == build))
        {
            ours.insert(build, build_ours(&workspace, &out, build)?);
        }
    }
    let python = PathBuf::from(if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    });
    let wants_uvloop = plan
        .all()
        .any(|e| matches!(e.kind, Kind::Python { uvloop: true, .. }));
    let uvloop_python = if wants_uvloop {
        set_up_uvloop(&python, &out.join("venv"))
    } else {
        Err("not asked for".into())
    };
    if let Err(why) = &uvloop_python {
        if wants_uvloop {
            eprintln!("echo bench: uvloop's rows will not run: {why}");
        }
    }
    let tools = Tools {
        me: me.clone(),
        ours,
        script: manifest.join("benches").join("echo_servers.py"),
        python: python.clone(),
        uvloop_python,
        logs: out.join("logs"),
    };

    let mut results = Results::default();
    let ran = run_all(&tools, &config, &plan, pin, &mut results);
    let report = Report {
        config: &config,
        started,
        ended: now_utc(),
        load_start,
        load_end: load_average(),
        revision: revision(&workspace),
        cpus: &cpus,
        pin_note: &pin_note,
        python: describe_python(&python),
        uvloop: tools
            .uvloop_python
            .as_ref()
            .map(|_| UVLOOP.to_string())
            .unwrap_or_else(|why| format!("none ({why})")),
        plan: &plan,
        results: &results,
    }
    .render();
    println!("\n{report}");
    let file = out.join("results.md");
    std::fs::write(&file, &report).map_err(|e| format!("{}: {e}", file.display()))?;
    eprintln!("echo bench: the table is in {}", file.display());
    ran
}

/// Every measurement, in order; the first failure stops the run.
pub(crate) fn run_all(
    tools: &Tools,
    config: &Config,
    plan: &Plan,
    pin: Placement,
    results: &mut Results,
) -> Result<(), String> {
    for entry in plan.all() {
        if let Some(why) = tools.unavailable(entry.kind) {
            results.skipped.insert(entry.key, why);
        }
    }
    let runnable = |entry: &&Entry| tools.unavailable(entry.kind).is_none();
    // Round after round of every server, so that whatever slows the
    // machine for a while falls on all of them alike.
    for _ in 0..config.repeat {
        for &connections in &config.connections {
            for entry in plan.throughput.iter().filter(runnable) {
                let sample = measure_quietly(tools, entry, connections, config, pin, results)?;
                progress("throughput", entry, connections, &sample);
                let key = (entry.key, connections);
                results.throughput.entry(key).or_default().push(sample);
                results
                    .log
                    .push(("pinned", entry.name, connections, sample));
            }
        }
    }
    for entry in plan.memory.iter().filter(runnable) {
        let memory = measure_memory(tools, entry, config.idle, pin)?;
        eprintln!(
            "echo bench: memory, {}: {:.0} bytes per idle connection",
            entry.name,
            memory.per_connection()
        );
        results.memory.insert(entry.key, memory);
    }
    for _ in 0..config.repeat {
        for connections in CORE_CONNECTIONS {
            for entry in plan.cores.iter().filter(runnable) {
                let sample = measure_quietly(tools, entry, connections, config, ANYWHERE, results)?;
                progress("per core", entry, connections, &sample);
                let key = (entry.key, connections);
                results.cores.entry(key).or_default().push(sample);
                results
                    .log
                    .push(("unpinned", entry.name, connections, sample));
            }
        }
    }
    Ok(())
}

/// [`measure`], again after a pause (up to `RETRIES` times) while other
/// processes disturb the window; the windows given up are logged.
pub(crate) fn measure_quietly(
    tools: &Tools,
    entry: &Entry,
    connections: usize,
    config: &Config,
    placement: Placement,
    results: &mut Results,
) -> Result<Sample, String> {
    let mut tries = 0;
    loop {
        let sample = measure(tools, entry, connections, config, placement)?;
        if !sample.disturbed() || tries == RETRIES {
            return Ok(sample);
        }
        tries += 1;
        eprintln!(
            "echo bench: {}, {connections} conn: other processes took {:.0}% of a CPU; \
             again in {RETRY_PAUSE:?}",
            entry.name,
            sample.others_load()
        );
        results
            .log
            .push(("given up", entry.name, connections, sample));
        std::thread::sleep(RETRY_PAUSE);
    }
}

pub(crate) fn progress(part: &str, entry: &Entry, connections: usize, sample: &Sample) {
    eprintln!(
        "echo bench: {part}, {}, {connections} conn: {:.0} req/s, {:.2} µs server CPU \
         per request (server {:.0}% of a CPU, client {:.0}%, others {:.0}%)",
        entry.name,
        sample.per_second(),
        sample.server_us(),
        sample.server_load(),
        sample.client_load(),
        sample.others_load()
    );
}

/// Under `cargo test --benches`: the tokio server and the client, briefly.
pub(crate) fn smoke(me: &Path, manifest: &Path, out: &Path) -> Result<(), String> {
    let tools = Tools {
        me: me.to_path_buf(),
        ours: BTreeMap::new(),
        script: manifest.join("benches").join("echo_servers.py"),
        python: PathBuf::from("python3"),
        uvloop_python: Err("not asked for".into()),
        logs: out.join("logs"),
    };
    let config = Config {
        seconds: 0.2,
        warmup: 0.1,
        repeat: 1,
        connections: vec![16],
        idle: 0,
        parts: Vec::new(),
        servers: Vec::new(),
    };
    let sample = measure(&tools, &SERVERS[2], 16, &config, ANYWHERE)?;
    if sample.requests == 0 {
        return Err("the smoke run completed no request".into());
    }
    eprintln!("echo bench: smoke run passed; `cargo bench` runs the benchmark");
    Ok(())
}

/// The commit measured, and whether the work tree differed from it (our
/// servers are built from the work tree as it is).
pub(crate) fn revision(workspace: &Path) -> String {
    Command::new("git")
        .current_dir(workspace)
        .args(["describe", "--always", "--dirty"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map_or_else(
            || "unknown".into(),
            |output| String::from_utf8_lossy(&output.stdout).trim().to_string(),
        )
}

/// Where to pin, and what to say about it.
pub(crate) fn placement(cpus: &[usize]) -> (Placement, String) {
    if cpus.len() < 2 {
        return (
            ANYWHERE,
            format!(
                "not pinned: this process may run on {} CPU(s), and the server and the \
                 client need one each",
                cpus.len()
            ),
        );
    }
    let taskset = Command::new("taskset")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !taskset.is_ok_and(|status| status.success()) {
        return (ANYWHERE, "not pinned: no `taskset` here".into());
    }
    let (server, client) = (cpus[0], cpus[1]);
    (
        Placement {
            server: Some(server),
            client: Some(client),
        },
        format!("the server pinned to CPU {server}, the client to CPU {client} (taskset)"),
    )
}

/// Build our demo binary, `build`'s way, into its own target directory.
pub(crate) fn build_ours(workspace: &Path, out: &Path, build: Build) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target = out.join(build.name());
    let mut command = Command::new(cargo);
    command.current_dir(workspace).args([
        "build",
        "--release",
        "-p",
        "stage06-socket-io",
        "--bin",
        "stage06-socket-io",
    ]);
    command.arg("--target-dir").arg(&target);
    if build == Build::Fast {
        command.args(["--features", "stage05-cancellation/fast"]);
    }
    eprintln!("echo bench: building ours ({})", build.name());
    let status = command
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("building ours ({}) failed: {status}", build.name()));
    }
    Ok(target.join("release").join("stage06-socket-io"))
}

/// A virtual environment of `python` at `venv` with uvloop `UVLOOP` in
/// it, made and installed (with pip, from the package registry) unless it
/// is there already; its Python, or what went wrong.
pub(crate) fn set_up_uvloop(python: &Path, venv: &Path) -> Result<PathBuf, String> {
    let venv_python = venv.join("bin").join("python");
    let has_uvloop = || {
        Command::new(&venv_python)
            .args([
                "-c",
                &format!("import sys, uvloop; sys.exit(uvloop.__version__ != {UVLOOP:?})"),
            ])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    if has_uvloop() {
        return Ok(venv_python);
    }
    if !venv_python.exists() {
        eprintln!("echo bench: making {}", venv.display());
        let made = Command::new(python)
            .args(["-m", "venv"])
            .arg(venv)
            .status()
            .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
        if !made.success() {
            return Err(format!(
                "`{} -m venv {}` failed ({made}): on Debian, `apt-get install python3-venv`",
                python.display(),
                venv.display()
            ));
        }
    }
    eprintln!(
        "echo bench: installing uvloop=={UVLOOP} into {}",
        venv.display()
    );
    let installed = Command::new(&venv_python)
        .args(["-m", "pip", "install", "--quiet"])
        .arg(format!("uvloop=={UVLOOP}"))
        .status()
        .map_err(|e| format!("cannot run pip: {e}"))?;
    if !installed.success() || !has_uvloop() {
        return Err(format!(
            "`pip install uvloop=={UVLOOP}` into {} failed ({installed}; pip's message is above)",
            venv.display()
        ));
    }
    Ok(venv_python)
}

pub(crate) fn describe_python(python: &Path) -> String {
    let version = Command::new(python)
        .args(["-c", "import sys; print(sys.version.split()[0])"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string());
    match version {
        Some(version) => format!("{} {version}", python.display()),
        None => format!("{} (its version unknown)", python.display()),
    }
}

pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

/// The time now, in UTC, as `YYYY-MM-DD HH:MM:SS UTC`.
pub(crate) fn now_utc() -> String {
    let Ok(since) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) else {
        return "unknown".into();
    };
    let seconds = since.as_secs();
    let (days, rest) = ((seconds / 86_400) as i64, seconds % 86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3_600,
        rest / 60 % 60,
        rest % 60
    )
}
