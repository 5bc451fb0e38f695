//! Measuring.

use super::*;

/// One measured window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    pub(crate) requests: u64,
    pub(crate) nanos: u64,
    pub(crate) server_cpu_ns: u64,
    pub(crate) client_cpu_ns: u64,
    /// The whole machine's busy CPU time over the window (`/proc/stat`).
    pub(crate) machine_cpu_ns: u64,
}

impl Sample {
    pub(crate) fn per_second(&self) -> f64 {
        self.requests as f64 * 1e9 / self.nanos as f64
    }

    /// Server CPU microseconds per request.
    pub(crate) fn server_us(&self) -> f64 {
        self.server_cpu_ns as f64 / 1e3 / self.requests.max(1) as f64
    }

    pub(crate) fn client_us(&self) -> f64 {
        self.client_cpu_ns as f64 / 1e3 / self.requests.max(1) as f64
    }

    pub(crate) fn server_load(&self) -> f64 {
        100.0 * self.server_cpu_ns as f64 / self.nanos as f64
    }

    pub(crate) fn client_load(&self) -> f64 {
        100.0 * self.client_cpu_ns as f64 / self.nanos as f64
    }

    /// What other processes took of the machine over the window, as a
    /// share of one CPU: above a few percent, the run was disturbed.
    pub(crate) fn others_load(&self) -> f64 {
        let others = self
            .machine_cpu_ns
            .saturating_sub(self.server_cpu_ns + self.client_cpu_ns);
        100.0 * others as f64 / self.nanos as f64
    }

    /// Whether others took enough to matter (more than a fifth of a CPU;
    /// unpinned, the kernel's own threads take some 5-10% for the loopback).
    pub(crate) fn disturbed(&self) -> bool {
        self.others_load() > DISTURBED
    }

    pub(crate) fn parse(line: &str) -> Result<Self, String> {
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
                .and_then(|value| value.parse::<u64>().ok())
                .ok_or_else(|| format!("the client's result has no {name}: {line:?}"))
        };
        Ok(Self {
            requests: field("requests")?,
            nanos: field("nanos")?,
            server_cpu_ns: field("server_cpu_ns")?,
            client_cpu_ns: field("client_cpu_ns")?,
            machine_cpu_ns: field("machine_cpu_ns")?,
        })
    }
}

/// Where each side runs: the server's CPU and the client's, or anywhere.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Placement {
    pub(crate) server: Option<usize>,
    pub(crate) client: Option<usize>,
}

pub(crate) const ANYWHERE: Placement = Placement {
    server: None,
    client: None,
};

/// Start `entry`'s server, run the client against it over `connections`,
/// and stop the server.
pub(crate) fn measure(
    tools: &Tools,
    entry: &Entry,
    connections: usize,
    config: &Config,
    placement: Placement,
) -> Result<Sample, String> {
    let run = format!("{connections}-conns");
    let mut server = start_server(tools, entry, placement.server, &run)?;
    let args = [
        "__client".to_string(),
        server.address.to_string(),
        connections.to_string(),
        config.warmup.to_string(),
        config.seconds.to_string(),
        server.process.pid().to_string(),
    ];
    let mut client = Process::start(
        &format!("the client of {}", entry.name),
        pinned(&tools.me, &args, placement.client),
        false,
        None,
    )?;
    let within = Duration::from_secs_f64(config.warmup + config.seconds) + STARTUP;
    let line = client.line("result ", within)?;
    client.finish(STALL)?;
    server.process.alive()?;
    Sample::parse(&line)
}

/// The server's resident memory before and after `count` idle connections.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Memory {
    pub(crate) before_kib: u64,
    pub(crate) after_kib: u64,
    pub(crate) count: usize,
}

impl Memory {
    pub(crate) fn per_connection(&self) -> f64 {
        (self.after_kib as f64 - self.before_kib as f64) * 1024.0 / self.count as f64
    }
}

pub(crate) fn measure_memory(
    tools: &Tools,
    entry: &Entry,
    count: usize,
    placement: Placement,
) -> Result<Memory, String> {
    let mut server = start_server(tools, entry, placement.server, "idle")?;
    let pid = server.process.pid();
    std::thread::sleep(Duration::from_millis(300));
    let before_kib = rss_kib(pid)?;
    let args = [
        "__idle-client".to_string(),
        server.address.to_string(),
        count.to_string(),
    ];
    let mut client = Process::start(
        &format!("the idle client of {}", entry.name),
        pinned(&tools.me, &args, placement.client),
        true,
        None,
    )?;
    client.line("idle ", STARTUP * 2)?;
    // Let the server finish whatever the last echoes left it to do.
    std::thread::sleep(Duration::from_secs(1));
    let after_kib = rss_kib(pid)?;
    server.process.alive()?;
    drop(client.child.stdin.take());
    client.finish(STALL)?;
    Ok(Memory {
        before_kib,
        after_kib,
        count,
    })
}
