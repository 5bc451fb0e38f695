//! The cross-thread wake-up round trip: how long from another thread's
//! `call_soon_threadsafe` until that thread hears back from the callback,
//! against the same round trip through bare socket pairs, with no loop.
//!
//! - `ours_select`, `ours_poll`: a [`SelectorEventLoop`] on the real clock runs on
//!   a thread of its own, with nothing scheduled: it is blocked in `select`
//!   (or `poll`) with no timeout. The bench thread calls
//!   [`Remote::call_soon_threadsafe`] (lock the queue, push the callback,
//!   write a byte to the wake-up socket) and then blocks in `read` on a second
//!   socket pair; the callback, run by the loop, writes one byte into it.
//! - `raw_one_pair`: the floor, with no loop: the bench thread writes a byte
//!   to a socket pair and blocks in `read` on the same socket; the other
//!   thread, blocked in `poll(2)` on the other end, reads the byte and writes
//!   one back on that end.
//! - `raw_two_pairs`: the same, but the answer comes back on a second socket
//!   pair, as it does in ours. It matters: with one pair, the echo's `read`
//!   frees buffer space on the bench thread's socket, which wakes the bench
//!   thread (asleep in `read` on that very socket) before the answer is even
//!   written; on two CPUs that hides part of the wake-up latency.
//!
//! One iteration is one round trip. Every thread is started once per
//! placement and lives across iterations; only the round trips are timed.
//!
//! The two threads are pinned, since where the scheduler puts them decides
//! most of the time: `two_cpus`, each on a CPU of its own (every wake-up is
//! an interrupt to the other, idle, CPU), and `one_cpu`, both on the same CPU
//! (every wake-up is a context switch). Left to the scheduler, a run lands on
//! either, or between, and changes from run to run. With a single CPU
//! allowed, `two_cpus` is left out.
//!
//! Criterion measures one benchmark after the other, but the cost of a
//! wake-up drifts (by tens of percent, on a shared or virtual machine) from
//! one minute to the next. So after criterion's group the same round trips
//! run once more, interleaved: blocks of 200 round trips of each contender in
//! turn, 200 rounds, so that all four see the same drift. That part prints
//! the median time of a round trip and, for ours, the median over the rounds
//! of ours / raw: the ratio to read against the project's goal, ours within
//! 1.2x of the raw round trip. It runs unless a filter is given that does not
//! match `interleaved`.
//!
//! Run with `cargo bench -p stage03-read-readiness --features bench --bench
//! wakeup`, or add a filter after `--`, e.g. `-- two_cpus` (criterion's
//! group only) or `-- interleaved` (the interleaved part only).

use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use stage01_generator_loop::RealClock;
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::selector_events::ReaderWriter;
use stage03_read_readiness::{
    PollSelector, Remote, SelectSelector, Selector, SelectorEventLoop, SelectorEvents,
};

/// Makes the selector a loop waits in, on the loop's own thread: a selector
/// holds the loop's handles, which never leave that thread.
type MakeSelector = fn() -> Box<dyn Selector<Data = ReaderWriter>>;

// ---------------------------------------------------------------------------
// Pinning threads to CPUs.

/// The CPUs the calling thread may run on.
#[allow(unsafe_code)]
fn allowed_cpus() -> Vec<usize> {
    // SAFETY: a `cpu_set_t` is an array of integers: all zeroes is the empty
    // set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a live `cpu_set_t` of the size given, for the kernel
    // to fill in.
    let result = unsafe { libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) };
    assert_eq!(
        result,
        0,
        "sched_getaffinity: {}",
        std::io::Error::last_os_error()
    );
    (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `cpu` is below `CPU_SETSIZE`, inside the set.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect()
}

/// Let the calling thread run on `cpus` only.
#[allow(unsafe_code)]
fn pin(cpus: &[usize]) {
    // SAFETY: as in `allowed_cpus`, all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &cpu in cpus {
        // SAFETY: `cpu` came from `allowed_cpus`, so is below `CPU_SETSIZE`.
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    // SAFETY: `set` is a live `cpu_set_t` of the size given, which the
    // kernel only reads.
    let result = unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) };
    assert_eq!(
        result,
        0,
        "sched_setaffinity: {}",
        std::io::Error::last_os_error()
    );
}

/// Where the bench thread and the thread it wakes run.
#[derive(Clone, Copy)]
struct Placement {
    name: &'static str,
    bench: usize,
    other: usize,
}

// ---------------------------------------------------------------------------
// Our loop.

/// A socket pair for the callbacks' answers: the bench thread reads from
/// `receiver`; the callbacks, on the loop's thread, write to `sender`.
struct Reply {
    receiver: UnixStream,
    /// Leaked, so that a callback can capture a plain reference: no
    /// reference count to bump on one thread and drop on the other.
    sender: &'static UnixStream,
}

impl Reply {
    fn new() -> Self {
        let (receiver, sender) = UnixStream::pair().expect("a socket pair");
        Self {
            receiver,
            sender: Box::leak(Box::new(sender)),
        }
    }
}

/// A [`SelectorEventLoop`] running forever on a thread of its own.
struct LoopThread {
    remote: Remote<SelectorEventLoop>,
    thread: JoinHandle<()>,
}

impl LoopThread {
    fn start(make_selector: MakeSelector, cpu: usize) -> Self {
        let (send_remote, remote) = mpsc::channel();
        let thread = thread::Builder::new()
            .name("event loop".into())
            .spawn(move || {
                pin(&[cpu]);
                let event_loop =
                    SelectorEventLoop::with_selector(RealClock::new(), make_selector())
                        .expect("a loop");
                send_remote
                    .send(event_loop.remote().expect("an open loop"))
                    .expect("the bench waits for the remote");
                event_loop.run_forever().expect("the bench stops the loop");
            })
            .expect("a thread");
        let remote = remote.recv().expect("the loop's remote");
        Self { remote, thread }
    }

    /// The time of `iters` round trips: call a callback that answers on
    /// `reply`, wait for the answer.
    fn round_trips(&self, iters: u64, reply: &Reply) -> Duration {
        let sender = reply.sender;
        let mut byte = [0];
        let start = Instant::now();
        for _ in 0..iters {
            self.remote
                .call_soon_threadsafe(move |_| {
                    let mut sender = sender;
                    sender.write_all(&[1]).expect("the bench reads the answer");
                })
                .expect("the loop runs until the bench stops it");
            (&reply.receiver)
                .read_exact(&mut byte)
                .expect("the callback's answer");
        }
        start.elapsed()
    }

    fn stop(self) {
        self.remote
            .call_soon_threadsafe(SelectorEventLoop::stop)
            .expect("the loop is still running");
        drop(self.remote);
        self.thread.join().expect("the loop thread ends");
    }
}

// ---------------------------------------------------------------------------
// The raw round trip.

/// A thread that answers every byte it reads with a byte, waiting in
/// `poll(2)` for the next one.
struct EchoThread {
    /// Where the bench thread writes.
    to_echo: UnixStream,
    /// Where it reads the answer: the same socket, or another pair's.
    from_echo: UnixStream,
    thread: JoinHandle<()>,
}

impl EchoThread {
    fn start(two_pairs: bool, cpu: usize) -> Self {
        let (to_echo, incoming) = UnixStream::pair().expect("a socket pair");
        let (from_echo, outgoing) = if two_pairs {
            UnixStream::pair().expect("a socket pair")
        } else {
            (
                to_echo.try_clone().expect("a descriptor"),
                incoming.try_clone().expect("a descriptor"),
            )
        };
        let thread = thread::Builder::new()
            .name("echo".into())
            .spawn(move || {
                pin(&[cpu]);
                echo(&incoming, &outgoing);
            })
            .expect("a thread");
        Self {
            to_echo,
            from_echo,
            thread,
        }
    }

    /// The time of `iters` round trips: write a byte, read the answer.
    fn round_trips(&self, iters: u64) -> Duration {
        let mut byte = [0];
        let start = Instant::now();
        for _ in 0..iters {
            (&self.to_echo).write_all(&[1]).expect("the echo reads");
            (&self.from_echo)
                .read_exact(&mut byte)
                .expect("the echo's answer");
        }
        start.elapsed()
    }

    fn stop(self) {
        // End of file ends the echo.
        drop((self.to_echo, self.from_echo));
        self.thread.join().expect("the echo thread ends");
    }
}

/// Answer every byte that comes on `incoming` with a byte on `outgoing`,
/// until end of file.
fn echo(mut incoming: &UnixStream, mut outgoing: &UnixStream) {
    let mut byte = [0];
    loop {
        let mut entry = libc::pollfd {
            fd: incoming.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: `entry` is one live `pollfd`, which nothing else touches
        // during the call.
        #[allow(unsafe_code)]
        let found = unsafe { libc::poll(&mut entry, 1, -1) };
        if found < 0 {
            let error = std::io::Error::last_os_error();
            assert_eq!(error.kind(), ErrorKind::Interrupted, "poll: {error}");
            continue;
        }
        match incoming.read(&mut byte) {
            Ok(0) => return,
            Ok(_) => outgoing
                .write_all(&[1])
                .expect("the bench reads the answer"),
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => panic!("echo: {error}"),
        }
    }
}

// ---------------------------------------------------------------------------

/// The four round trips, each with its thread started and pinned.
struct Contenders {
    raw_one_pair: EchoThread,
    raw_two_pairs: EchoThread,
    ours_select: LoopThread,
    ours_poll: LoopThread,
    reply: Reply,
}

/// The contenders' names, in the order of [`Contenders::round_trips`].
const NAMES: [&str; 4] = ["raw_one_pair", "raw_two_pairs", "ours_select", "ours_poll"];

impl Contenders {
    fn start(cpu: usize) -> Self {
        Self {
            raw_one_pair: EchoThread::start(false, cpu),
            raw_two_pairs: EchoThread::start(true, cpu),
            ours_select: LoopThread::start(|| Box::new(SelectSelector::new()), cpu),
            ours_poll: LoopThread::start(|| Box::new(PollSelector::new()), cpu),
            reply: Reply::new(),
        }
    }

    /// The time of `iters` round trips of contender `index` (see [`NAMES`]).
    fn round_trips(&self, index: usize, iters: u64) -> Duration {
        match index {
            0 => self.raw_one_pair.round_trips(iters),
            1 => self.raw_two_pairs.round_trips(iters),
            2 => self.ours_select.round_trips(iters, &self.reply),
            _ => self.ours_poll.round_trips(iters, &self.reply),
        }
    }

    fn stop(self) {
        self.raw_one_pair.stop();
        self.raw_two_pairs.stop();
        self.ours_select.stop();
        self.ours_poll.stop();
    }
}

/// The placements this machine allows: `two_cpus` needs two CPUs.
fn placements(cpus: &[usize]) -> Vec<Placement> {
    let mut placements = Vec::new();
    if let [first, second, ..] = cpus[..] {
        placements.push(Placement {
            name: "two_cpus",
            bench: first,
            other: second,
        });
    }
    placements.push(Placement {
        name: "one_cpu",
        bench: cpus[0],
        other: cpus[0],
    });
    placements
}

fn wakeup(c: &mut Criterion) {
    let mut group = c.benchmark_group("stage03_wakeup_round_trip");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));

    let cpus = allowed_cpus();
    for placement in placements(&cpus) {
        pin(&[placement.bench]);
        let contenders = Contenders::start(placement.other);
        for (index, name) in NAMES.into_iter().enumerate() {
            group.bench_function(BenchmarkId::new(name, placement.name), |b| {
                b.iter_custom(|iters| contenders.round_trips(index, iters));
            });
        }
        contenders.stop();
    }
    pin(&cpus);
    group.finish();
}

// ---------------------------------------------------------------------------
// The same round trips, interleaved: criterion measures one benchmark after
// the other, and on a shared machine (or a virtual one) the cost of a
// wake-up drifts by tens of percent from one minute to the next. Here every
// round runs a block of each contender, in turn, so all four see the same
// drift; the ratios are medians over the rounds of ours / raw in the same
// round.

/// Round trips per block.
const BLOCK: u64 = 200;

/// Blocks of each contender (the first few are a warm-up, not counted).
const ROUNDS: usize = 200;
const WARM_UP_ROUNDS: usize = 10;

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Measure every contender in interleaved blocks and print the medians and
/// ratios. `rounds` is `ROUNDS`, or 2 in criterion's `--test` mode.
fn interleaved(placement: Placement, rounds: usize) {
    pin(&[placement.bench]);
    let contenders = Contenders::start(placement.other);
    let mut nanos: [Vec<f64>; 4] = Default::default();
    for round in 0..rounds {
        let mut this_round = [0.0; 4];
        for turn in 0..NAMES.len() {
            // Each round starts with the next contender, so none is always
            // first (or always right after the same other one).
            let index = (round + turn) % NAMES.len();
            let time = contenders.round_trips(index, BLOCK);
            this_round[index] = time.as_nanos() as f64 / BLOCK as f64;
        }
        if round >= WARM_UP_ROUNDS.min(rounds / 2) {
            for (all, one) in nanos.iter_mut().zip(this_round) {
                all.push(one);
            }
        }
    }
    contenders.stop();

    println!(
        "stage03_wakeup_round_trip, interleaved, {}: median of {} blocks of {BLOCK} round trips",
        placement.name,
        nanos[0].len(),
    );
    for (index, name) in NAMES.into_iter().enumerate() {
        let ratios = |raw: usize| -> f64 {
            let mut ratios: Vec<f64> = nanos[index]
                .iter()
                .zip(&nanos[raw])
                .map(|(ours, raw)| ours / raw)
                .collect();
            median(&mut ratios)
        };
        let against = if index >= 2 {
            format!(
                "  {:.3}x raw_one_pair, {:.3}x raw_two_pairs",
                ratios(0),
                ratios(1)
            )
        } else {
            String::new()
        };
        let per_trip = median(&mut nanos[index].clone()) / 1000.0;
        println!("  {name:<14}{per_trip:>8.2} µs{against}");
    }
}

/// The interleaved measurement, unless criterion was asked to list the
/// benchmarks, or given a filter that does not match "interleaved".
fn interleaved_all(_: &mut Criterion) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|arg| arg == "--list") {
        return;
    }
    let filters: Vec<&String> = args.iter().filter(|arg| !arg.starts_with('-')).collect();
    if !filters.is_empty() && !filters.iter().any(|f| "interleaved".contains(f.as_str())) {
        return;
    }
    let rounds = if args.iter().any(|arg| arg == "--test") {
        2
    } else {
        ROUNDS
    };
    let cpus = allowed_cpus();
    for placement in placements(&cpus) {
        interleaved(placement, rounds);
    }
    pin(&cpus);
}

criterion_group!(benches, wakeup, interleaved_all);
criterion_main!(benches);
