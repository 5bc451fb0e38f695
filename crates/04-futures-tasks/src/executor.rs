//! Running blocking functions on a pool of threads, and awaiting them.
//!
//! Mirrors `ThreadPoolExecutor` in CPython's `concurrent/futures/thread.py`
//! (a queue of work items, threads started as work arrives, up to
//! `max_workers`) and `loop.run_in_executor` in `asyncio/base_events.py`
//! (submit the function to the pool, and chain the pool's future to a loop
//! future, `wrap_future`, so that a task can await it). The function runs
//! in another thread, so it must be `Send`: it cannot touch the loop, and
//! the compiler says so.
//!
//! ```compile_fail,E0277
//! # use std::cell::Cell;
//! # use std::rc::Rc;
//! # use stage01_generator_loop::VirtualClock;
//! # use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents};
//! # use stage04_futures_tasks::run_in_executor;
//! let event_loop =
//!     SelectorEventLoop::with_selector(VirtualClock::new(), PollSelector::new()).unwrap();
//! let counter = Rc::new(Cell::new(0)); // of the loop's thread: not `Send`
//! // error[E0277]: `Rc<Cell<i32>>` cannot be sent between threads safely
//! let _ = run_in_executor(&event_loop, None, move || counter.set(1));
//! ```

use std::any::Any;
use std::cell::{Cell, OnceCell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::error::Error;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};

use stage01_generator_loop::guessing_loop::panic_message;
use stage02_timed_events::LoopError;
use stage03_read_readiness::{SelectorEventLoop, SelectorEvents};

use crate::concurrent::{ConcurrentError, ConcurrentFuture};
use crate::futures::Future;

/// Work for a pool thread, told to run, or that it never will.
type Job = Box<dyn for<'a> FnOnce(Start<'a>) + Send>;

/// What a job is told when its turn comes.
enum Start<'a> {
    /// Run, and tell the pool when the function has returned.
    Run(&'a Pool),
    /// The pool shut down before it started.
    Cancel,
}

/// Why a function handed to the pool gave no value.
enum JobError {
    Panicked(String),
    Cancelled,
}

// ANCHOR: pool
/// `concurrent.futures.ThreadPoolExecutor`: up to `max_workers` threads
/// taking work from one first-in, first-out queue.
pub struct ThreadPoolExecutor {
    shared: Arc<Pool>,
    max_workers: usize,
    /// How many times a thread that ran out of work looks again, yielding
    /// the processor between looks, before it sleeps (0: at once, as
    /// Python's pool does). See [`ThreadPoolExecutor::spinning`].
    looks: u32,
}

struct Pool {
    state: Mutex<PoolState>,
    /// Notified when work arrives, or at shutdown.
    work: Condvar,
    /// Threads running a function. One counts as idle again as soon as
    /// its function returns, before the answer goes out: work sent in
    /// reply then finds it idle, and starts no thread of its own.
    busy: AtomicUsize,
}

struct PoolState {
    jobs: VecDeque<Job>,
    /// Threads asleep, waiting for work.
    sleeping: usize,
    threads: Vec<JoinHandle<()>>,
    shutdown: bool,
}
// ANCHOR_END: pool

/// Why the pool took no more work: it was shut down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutDown;

impl fmt::Display for ShutDown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot schedule new work after shutdown")
    }
}

impl Error for ShutDown {}

impl ThreadPoolExecutor {
    /// asyncio's default executor size, `min(32, os.cpu_count() + 4)`:
    /// enough threads for blocking I/O, not one per call.
    pub fn default_workers() -> usize {
        let cores = thread::available_parallelism().map_or(1, |cores| cores.get());
        (cores + 4).min(32)
    }

    /// A pool of at most `max_workers` threads (at least one); none is
    /// started until there is work. A thread with no work sleeps at once.
    pub fn new(max_workers: usize) -> Self {
        Self::spinning(max_workers, 0)
    }

    // ANCHOR: spinning
    /// Making it fast: a pool whose threads, when they run out of work,
    /// look for more `looks` times, yielding the processor between looks,
    /// before they sleep. Waking a sleeping thread can cost tens of
    /// microseconds (on a virtual machine whose idle processor has halted,
    /// more than the work itself); a call that follows another closely
    /// then finds its thread awake. The price is a little processor time
    /// after each burst of work.
    pub fn spinning(max_workers: usize, looks: u32) -> Self {
        let state = PoolState {
            jobs: VecDeque::new(),
            sleeping: 0,
            threads: Vec::new(),
            shutdown: false,
        };
        Self {
            shared: Arc::new(Pool {
                state: Mutex::new(state),
                work: Condvar::new(),
                busy: AtomicUsize::new(0),
            }),
            max_workers: max_workers.max(1),
            looks,
        }
    }
    // ANCHOR_END: spinning

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// How many threads the pool has started.
    pub fn threads(&self) -> usize {
        self.lock().threads.len()
    }

    /// `submit(fn)`: run `function` on a pool thread; its value, or its
    /// panic as the error, finishes the future handed back.
    pub fn submit<T: Send + 'static>(
        &self,
        function: impl FnOnce() -> T + Send + 'static,
    ) -> Result<ConcurrentFuture<T>, ShutDown> {
        let future = ConcurrentFuture::new();
        let done = future.clone();
        self.submit_then(function, move |outcome| {
            let outcome = outcome.map_err(|error| match error {
                JobError::Panicked(message) => ConcurrentError::Exception(message),
                JobError::Cancelled => ConcurrentError::Cancelled,
            });
            let _first = done.finish(outcome);
        })?;
        Ok(future)
    }

    // ANCHOR: submit
    /// Queue `function`, and `then` with its value, its panic's message, or
    /// its cancellation if the pool shuts down first: exactly once, on a
    /// pool thread (or the one shutting the pool down). Start a thread if no
    /// idle one will take the work.
    fn submit_then<T>(
        &self,
        function: impl FnOnce() -> T + Send + 'static,
        then: impl FnOnce(Result<T, JobError>) + Send + 'static,
    ) -> Result<(), ShutDown> {
        let job = move |start: Start<'_>| {
            let outcome = match start {
                Start::Run(pool) => {
                    let outcome = catch_unwind(AssertUnwindSafe(function));
                    pool.busy.fetch_sub(1, Ordering::Release);
                    outcome.map_err(|payload| JobError::Panicked(panic_message(payload.as_ref())))
                }
                Start::Cancel => Err(JobError::Cancelled),
            };
            then(outcome);
        };
        let mut state = self.lock();
        if state.shutdown {
            return Err(ShutDown);
        }
        state.jobs.push_back(Box::new(job));
        let idle = state.threads.len() - self.shared.busy.load(Ordering::Acquire);
        if state.jobs.len() > idle && state.threads.len() < self.max_workers {
            let (pool, looks) = (Arc::clone(&self.shared), self.looks);
            let name = format!("executor-{}", state.threads.len());
            let thread = thread::Builder::new()
                .name(name)
                .spawn(move || work(&pool, looks));
            // Without a new thread the work waits for a busy one.
            state.threads.extend(thread.ok());
        }
        // A thread asleep on the condition variable needs waking; one that
        // is busy, or still looking, finds the work by itself.
        let sleeping = state.sleeping > 0;
        drop(state);
        if sleeping {
            self.shared.work.notify_one();
        }
        Ok(())
    }
    // ANCHOR_END: submit

    /// `shutdown(wait=True, cancel_futures=True)`: take no more work,
    /// cancel what has not started (its futures end cancelled), and wait
    /// for what has.
    pub fn shutdown(&self) {
        let (unstarted, threads) = {
            let mut state = self.lock();
            state.shutdown = true;
            (
                std::mem::take(&mut state.jobs),
                std::mem::take(&mut state.threads),
            )
        };
        self.shared.work.notify_all();
        for job in unstarted {
            job(Start::Cancel);
        }
        for thread in threads {
            // A job's panic is caught in it: a thread ends cleanly.
            let _ = thread.join();
        }
    }
}

/// A pool thread: take work until the pool shuts down; having run out,
/// look for more `looks` times before sleeping.
fn work(pool: &Pool, looks: u32) {
    loop {
        for _ in 0..looks {
            if pool.has_work() {
                break;
            }
            thread::yield_now();
        }
        let mut state = pool.state.lock().unwrap_or_else(PoisonError::into_inner);
        while state.jobs.is_empty() && !state.shutdown {
            state.sleeping += 1;
            state = pool
                .work
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.sleeping -= 1;
        }
        let Some(job) = state.jobs.pop_front() else {
            return; // shut down, and nothing left
        };
        pool.busy.fetch_add(1, Ordering::Relaxed);
        drop(state);
        job(Start::Run(pool));
    }
}

impl Pool {
    /// Whether there is work to take (or the pool is shutting down).
    fn has_work(&self) -> bool {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        !state.jobs.is_empty() || state.shutdown
    }
}

/// The pool's threads are joined when it goes: none outlives it.
impl Drop for ThreadPoolExecutor {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A function that panicked in the executor: the loop future's exception.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionPanicked {
    /// The panic message, if it was a string.
    pub message: String,
}

impl fmt::Display for FunctionPanicked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the function panicked in the executor: {}", self.message)
    }
}

impl Error for FunctionPanicked {}

/// What a loop keeps for `run_in_executor`: its default pool, made on
/// first use and shut down when the loop closes (an attachment), and the
/// loop futures waiting for a pool thread's answer, by number.
#[derive(Default)]
struct Executors {
    default: OnceCell<ThreadPoolExecutor>,
    waiting: RefCell<HashMap<u64, Box<dyn Any>>>,
    next: Cell<u64>,
}

// ANCHOR: run_in_executor
/// asyncio's `loop.run_in_executor(executor, func)`: run the blocking
/// `function` on `executor`'s threads (`None`: the loop's default pool, of
/// [`ThreadPoolExecutor::default_workers`] threads), and hand back a loop
/// future that its value, or its panic, finishes.
pub fn run_in_executor<T: Send + 'static>(
    event_loop: &SelectorEventLoop,
    executor: Option<&ThreadPoolExecutor>,
    function: impl FnOnce() -> T + Send + 'static,
) -> Result<Future<T>, LoopError> {
    let remote = event_loop.remote()?;
    let executors = event_loop.attachment::<Executors>()?;
    let pool = executor.unwrap_or_else(|| {
        executors
            .default
            .get_or_init(|| ThreadPoolExecutor::new(ThreadPoolExecutor::default_workers()))
    });
    // asyncio's `wrap_future`: a loop future, finished in the loop's thread.
    let future = Future::new(event_loop);
    let id = executors.next.replace(executors.next.get() + 1);
    executors
        .waiting
        .borrow_mut()
        .insert(id, Box::new(future.clone()));
    let submitted = pool.submit_then(function, move |outcome| {
        // The loop may have closed since: then nobody waits.
        let _closed =
            remote.call_soon_threadsafe(move |event_loop| deliver(event_loop, id, outcome));
    });
    if submitted.is_err() {
        executors.waiting.borrow_mut().remove(&id);
        let _first = future.set_exception(ShutDown);
    }
    Ok(future)
}

/// In the loop's thread: finish the future numbered `id` with `outcome`.
fn deliver<T: 'static>(event_loop: &SelectorEventLoop, id: u64, outcome: Result<T, JobError>) {
    let Ok(executors) = event_loop.attachment::<Executors>() else {
        return;
    };
    let waiting = executors.waiting.borrow_mut().remove(&id);
    let Some(future) = waiting.and_then(|future| future.downcast::<Future<T>>().ok()) else {
        return;
    };
    // Had someone finished the future already, its first outcome stays.
    let _first = match outcome {
        Ok(value) => future.set_result(value).is_ok(),
        Err(JobError::Panicked(message)) => {
            future.set_exception(FunctionPanicked { message }).is_ok()
        }
        Err(JobError::Cancelled) => future.cancel(),
    };
}
// ANCHOR_END: run_in_executor
