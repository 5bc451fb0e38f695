//! What /proc says.

use super::*;

/// The CPU time of every thread of process `pid`, in nanoseconds: the
/// first field of each thread's `schedstat` (time on a CPU), or, where the
/// kernel keeps no schedstat, the process's `utime + stime` in clock ticks
/// (taken as 100 a second).
pub(crate) fn cpu_ns(pid: u32) -> Result<u64, String> {
    let tasks = format!("/proc/{pid}/task");
    let mut total = 0;
    let entries = std::fs::read_dir(&tasks).map_err(|e| format!("{tasks}: {e}"))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{tasks}: {e}"))?;
        match std::fs::read_to_string(entry.path().join("schedstat")) {
            Ok(text) => {
                let first = text.split_whitespace().next().unwrap_or("");
                total += first
                    .parse::<u64>()
                    .map_err(|_| format!("{tasks}: cannot read a schedstat: {text:?}"))?;
            }
            // A thread that ended between the listing and the read.
            Err(error) if error.kind() == io::ErrorKind::NotFound && total > 0 => {}
            Err(_) => return cpu_ns_from_stat(pid),
        }
    }
    Ok(total)
}

pub(crate) fn cpu_ns_from_stat(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    // The fields after the command's name, which is in parentheses and may
    // hold spaces: utime and stime are the 14th and 15th of the whole line.
    let rest = text.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |index: usize| fields.get(index).and_then(|f| f.parse::<u64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(user), Some(system)) => Ok((user + system) * 10_000_000),
        _ => Err(format!("{path}: cannot read the CPU times")),
    }
}

/// The busy time of every CPU of the machine, in nanoseconds: the first
/// line of `/proc/stat`, all but idle and iowait, in ticks of 1/100 s.
pub(crate) fn machine_cpu_ns() -> Result<u64, String> {
    let text = std::fs::read_to_string("/proc/stat").map_err(|e| format!("/proc/stat: {e}"))?;
    let ticks: Vec<u64> = text
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("cpu "))
        .map(|rest| {
            rest.split_whitespace()
                .filter_map(|f| f.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    // user nice system idle iowait irq softirq steal (guest is in user).
    let busy: u64 = ticks
        .iter()
        .take(8)
        .enumerate()
        .filter(|(at, _)| *at != 3 && *at != 4)
        .map(|(_, ticks)| ticks)
        .sum();
    if ticks.len() < 8 {
        return Err(format!("/proc/stat: cannot read {:?}", text.lines().next()));
    }
    Ok(busy * 10_000_000)
}

/// The resident memory of process `pid`, in KiB (`VmRSS`).
pub(crate) fn rss_kib(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    text.lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .ok_or_else(|| format!("{path}: no VmRSS"))
}

/// The CPUs this process may run on (`Cpus_allowed_list`, e.g. `0-1`).
pub(crate) fn allowed_cpus() -> Vec<usize> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let Some(list) = status
        .lines()
        .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
    else {
        return Vec::new();
    };
    let mut cpus = Vec::new();
    for part in list.trim().split(',') {
        let (first, last) = part.split_once('-').unwrap_or((part, part));
        if let (Ok(first), Ok(last)) = (first.parse::<usize>(), last.parse::<usize>()) {
            cpus.extend(first..=last);
        }
    }
    cpus
}
