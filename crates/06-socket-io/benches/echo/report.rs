//! The report.

use super::*;

pub(crate) struct Report<'a> {
    pub(crate) config: &'a Config,
    pub(crate) started: String,
    pub(crate) ended: String,
    pub(crate) load_start: String,
    pub(crate) load_end: String,
    pub(crate) cpus: &'a [usize],
    pub(crate) pin_note: &'a str,
    pub(crate) python: String,
    pub(crate) uvloop: String,
    pub(crate) revision: String,
    pub(crate) plan: &'a Plan,
    pub(crate) results: &'a Results,
}

/// `1234567.8` as `1,234,568`.
pub(crate) fn grouped(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (at, digit) in digits.chars().enumerate() {
        if at > 0 && (digits.len() - at) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A table of requests per second and server µs per request: a row per
/// server of `entries`, two columns per connection count of `counts`.
pub(crate) fn rate_table(
    out: &mut String,
    entries: &[Entry],
    counts: &[usize],
    results: &BTreeMap<(&'static str, usize), Vec<Sample>>,
) {
    let mut header = "| server |".to_string();
    let mut rule = "|---|".to_string();
    for &count in counts {
        let _ = write!(header, " {}: req/s | µs/req |", connections_label(count));
        rule.push_str("--:|--:|");
    }
    let _ = writeln!(out, "{header}\n{rule}");
    for entry in entries {
        let mut row = format!("| {} |", entry.name);
        for &count in counts {
            match results.get(&(entry.key, count)).and_then(|s| Median::of(s)) {
                Some(median) => {
                    let _ = write!(
                        row,
                        " {}{} | {:.2} |",
                        grouped(median.per_second),
                        if median.disturbed { " †" } else { "" },
                        median.server_us
                    );
                }
                None => row.push_str(" – | – |"),
            }
        }
        let _ = writeln!(out, "{row}");
    }
}

pub(crate) fn connections_label(count: usize) -> String {
    if count == 1 {
        "1 conn".into()
    } else {
        format!("{count} conns")
    }
}

/// `ours / theirs`, with whether it meets `goal` (at least, or at most).
pub(crate) fn ratio(ours: Option<f64>, theirs: Option<f64>, goal: f64, at_least: bool) -> String {
    match (ours, theirs) {
        (Some(ours), Some(theirs)) if theirs > 0.0 => {
            let ratio = ours / theirs;
            let met = if at_least {
                ratio >= goal
            } else {
                ratio <= goal
            };
            format!("{ratio:.2}× {}", if met { "✓" } else { "✗" })
        }
        _ => "–".into(),
    }
}

impl Report<'_> {
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        let config = self.config;
        let _ = writeln!(out, "# Echo benchmark (issue #13)\n");
        let _ = writeln!(
            out,
            "Run {} to {}, at {}; load average {} at the start, {} at the end.  ",
            self.started, self.ended, self.revision, self.load_start, self.load_end
        );
        let _ = writeln!(
            out,
            "{} CPU(s) to run on ({}); {}.  ",
            self.cpus.len(),
            cpu_model(),
            self.pin_note
        );
        let _ = writeln!(
            out,
            "1 KiB messages, ping-pong on every connection. Each figure is the median of \
             {} windows of {} s, each after {} s of warm-up on a server started afresh, \
             taken round after round of every server. Python: {}; uvloop: {}; tokio \
             {TOKIO}.\n",
            config.repeat, config.seconds, config.warmup, self.python, self.uvloop
        );
        self.throughput(&mut out);
        self.goals(&mut out);
        self.memory(&mut out);
        self.cores(&mut out);
        self.log(&mut out);
        let disturbed = self
            .results
            .log
            .iter()
            .any(|(.., sample)| sample.disturbed());
        if disturbed {
            let _ = writeln!(
                out,
                "† Other processes took more than {DISTURBED:.0}% of a CPU during this \
                 window (in a table: during one of its windows), even after {RETRIES} \
                 tries {RETRY_PAUSE:?} apart: the figure is less sure. A window \
                 \"given up\" was measured again.  "
            );
        }
        for (key, why) in &self.results.skipped {
            let _ = writeln!(out, "Not run: {key}: {why}.  ");
        }
        out
    }

    pub(crate) fn throughput(&self, out: &mut String) {
        let results = &self.results.throughput;
        if results.is_empty() {
            return;
        }
        let counts = &self.config.connections;
        let _ = writeln!(
            out,
            "## Requests per second, and the server's CPU time per request\n\n\
             Server on one core, client on the other. µs/req is the server's CPU \
             time (all its threads) over the window, per request completed in it.\n"
        );
        rate_table(out, &self.plan.throughput, counts, results);
        out.push('\n');
    }

    pub(crate) fn goals(&self, out: &mut String) {
        let results = &self.results.throughput;
        let has = |key: &str| results.keys().any(|(k, _)| *k == key);
        if !has("ours-textbook") && !has("ours-fast") {
            return;
        }
        let counts = &self.config.connections;
        let _ = writeln!(out, "### Against the goals\n");
        let mut header = "| goal | ours |".to_string();
        let mut rule = "|---|---|".to_string();
        for &count in counts {
            let _ = write!(header, " {} |", connections_label(count));
            rule.push_str("--:|");
        }
        let _ = writeln!(out, "{header}\n{rule}");
        let median =
            |key: &str, count: usize| results.get(&(key, count)).and_then(|s| Median::of(s));
        let rps = |key: &str, count: usize| median(key, count).map(|m| m.per_second);
        let cpu = |key: &str, count: usize| median(key, count).map(|m| m.server_us);
        type Measure<'m> = &'m dyn Fn(&str, usize) -> Option<f64>;
        let goals: [(&str, Measure, &str, f64, bool); 4] = [
            (
                "req/s ≥ 1.0× tokio current_thread",
                &rps,
                "tokio-ct",
                1.0,
                true,
            ),
            (
                "CPU/req ≤ 1.0× tokio current_thread",
                &cpu,
                "tokio-ct",
                1.0,
                false,
            ),
            (
                "req/s ≥ 2× asyncio streams",
                &rps,
                "asyncio-streams",
                2.0,
                true,
            ),
            (
                "req/s ≥ 1.0× uvloop protocols",
                &rps,
                "uvloop-protocols",
                1.0,
                true,
            ),
        ];
        for (goal, measure, theirs, target, at_least) in goals {
            for (ours, label) in [("ours-textbook", "textbook"), ("ours-fast", "fast")] {
                if !has(ours) {
                    continue;
                }
                let mut row = format!("| {goal} | {label} |");
                for &count in counts {
                    let cell = ratio(
                        measure(ours, count),
                        measure(theirs, count),
                        target,
                        at_least,
                    );
                    let _ = write!(row, " {cell} |");
                }
                let _ = writeln!(out, "{row}");
            }
        }
        out.push('\n');
    }

    pub(crate) fn memory(&self, out: &mut String) {
        let results = &self.results.memory;
        if results.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "## Memory per idle connection\n\n\
             {} connections, each echoed one message, then idle: the server's resident \
             memory (VmRSS) after, less before, per connection.\n\n\
             | server | RSS before | RSS after | per idle connection |\n|---|--:|--:|--:|",
            grouped(self.config.idle as f64)
        );
        for entry in &self.plan.memory {
            if let Some(memory) = results.get(entry.key) {
                let _ = writeln!(
                    out,
                    "| {} | {:.1} MiB | {:.1} MiB | {} bytes |",
                    entry.name,
                    memory.before_kib as f64 / 1024.0,
                    memory.after_kib as f64 / 1024.0,
                    grouped(memory.per_connection())
                );
            }
        }
        out.push('\n');
    }

    pub(crate) fn cores(&self, out: &mut String) {
        let results = &self.results.cores;
        if results.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "## One loop per core\n\n\
             Nothing pinned: the server and the client (one thread) share both CPUs. \
             µs/req is the server's CPU time, all threads, per request.\n"
        );
        rate_table(out, &self.plan.cores, &CORE_CONNECTIONS, results);
        let median =
            |key: &str, count: usize| results.get(&(key, count)).and_then(|s| Median::of(s));
        let rps = |key: &str, count: usize| median(key, count).map(|m| m.per_second);
        let cpu = |key: &str, count: usize| median(key, count).map(|m| m.server_us);
        let _ = writeln!(out, "\n| ratio | {} | {} |\n|---|--:|--:|", 16, 256);
        // The issue sets no goal here: plain ratios, for the chapter to explain.
        let times = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
            _ => "–".into(),
        };
        for (label, build) in [("textbook", "textbook"), ("fast", "fast")] {
            let two = format!("ours-{build}-loops2");
            let one = format!("ours-{build}-loops1");
            let rows = [
                (
                    format!("ours {label} --loops 2 / tokio multi_thread, req/s"),
                    [16, 256].map(|c| times(rps(&two, c), rps("tokio-mt", c))),
                ),
                (
                    format!("ours {label} --loops 2 / tokio multi_thread, CPU/req"),
                    [16, 256].map(|c| times(cpu(&two, c), cpu("tokio-mt", c))),
                ),
                (
                    format!("ours {label} --loops 2 / --loops 1, req/s"),
                    [16, 256].map(|c| times(rps(&two, c), rps(&one, c))),
                ),
            ];
            for (label, [a, b]) in rows {
                let _ = writeln!(out, "| {label} | {a} | {b} |");
            }
        }
        out.push('\n');
    }

    pub(crate) fn log(&self, out: &mut String) {
        if self.results.log.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "## Every run\n\n\
             CPU as a share of one CPU over the window; the client is one thread. \
             Others: what every other process of the machine took meanwhile (from \
             `/proc/stat`, in ticks of 10 ms; the kernel's own work on the loopback \
             can land there too).\n\n\
             | placement | server | conns | requests | req/s | server µs/req | server CPU | \
             client µs/req | client CPU | others |\n\
             |---|---|--:|--:|--:|--:|--:|--:|--:|--:|"
        );
        for (placement, name, count, sample) in &self.results.log {
            let _ = writeln!(
                out,
                "| {placement} | {name} | {count} | {} | {}{} | {:.2} | {:.0}% | {:.2} | {:.0}% \
                 | {:.0}% |",
                grouped(sample.requests as f64),
                grouped(sample.per_second()),
                mark_disturbed(sample),
                sample.server_us(),
                sample.server_load(),
                sample.client_us(),
                sample.client_load(),
                sample.others_load()
            );
        }
        out.push('\n');
    }
}

/// The middle of a row's repeated windows, requests per second and
/// server CPU per request each on its own.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Median {
    pub(crate) per_second: f64,
    pub(crate) server_us: f64,
    /// Whether other processes disturbed any of the windows.
    pub(crate) disturbed: bool,
}

impl Median {
    pub(crate) fn of(samples: &[Sample]) -> Option<Self> {
        fn middle(mut values: Vec<f64>) -> f64 {
            values.sort_by(f64::total_cmp);
            let half = values.len() / 2;
            if values.len() % 2 == 1 {
                values[half]
            } else {
                (values[half - 1] + values[half]) / 2.0
            }
        }
        if samples.is_empty() {
            return None;
        }
        Some(Self {
            per_second: middle(samples.iter().map(Sample::per_second).collect()),
            server_us: middle(samples.iter().map(Sample::server_us).collect()),
            disturbed: samples.iter().any(Sample::disturbed),
        })
    }
}

/// A mark on a figure that other processes disturbed.
pub(crate) fn mark_disturbed(sample: &Sample) -> &'static str {
    if sample.disturbed() { " †" } else { "" }
}

pub(crate) fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).trim().to_string())
        })
        .unwrap_or_else(|| "model unknown".into())
}
