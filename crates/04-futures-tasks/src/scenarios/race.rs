//! Scenario 16, threads race, tasks don't: the same unsynchronised
//! increments, by threads and by tasks.
//!
//! From Bruce Merry's PyCon ZA 2018 talk "An introduction to concurrent
//! programming with asyncio": `counter += 1` in several threads loses
//! updates, because a thread can be interrupted between reading the counter
//! and writing it back; in several tasks it cannot, because a task is only
//! ever interrupted at an `await`. In Rust the racing version must not be
//! undefined behaviour, so the counter is an atomic read and then an atomic
//! write: each is whole, the pair is not, which is exactly Python's
//! `counter += 1`.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use stage01_generator_loop::Clock;

use super::new_loop;
use crate::runners::{RunError, run_until_complete};
use crate::{create_task, gather, yield_now};

/// How many threads, and tasks, increment the counter.
pub const WORKERS: usize = 4;
/// How many times each adds one.
pub const INCREMENTS: u64 = 1_000_000;

// ANCHOR: threads_race
/// `threads` threads each add one to a shared counter `increments` times,
/// as `counter += 1` does: read it, then write it back plus one. What
/// another thread wrote in between is overwritten: the count that comes
/// back is at most `threads * increments`, and on a machine with more than
/// one core usually well below it.
pub fn threads_race(threads: usize, increments: u64) -> u64 {
    let counter = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let counter = Arc::clone(&counter);
            thread::spawn(move || {
                for _ in 0..increments {
                    let seen = counter.load(Ordering::Relaxed);
                    counter.store(seen + 1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    join_all(workers);
    counter.load(Ordering::Relaxed)
}
// ANCHOR_END: threads_race

/// The lost update, made to happen: two threads read the counter, both see
/// 0, and both write 1 (a barrier holds each between its read and its
/// write until the other has read). Two increments, a count of 1.
pub fn lost_update() -> u64 {
    let counter = Arc::new(AtomicU64::new(0));
    let both_read = Arc::new(Barrier::new(2));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (counter, both_read) = (Arc::clone(&counter), Arc::clone(&both_read));
            thread::spawn(move || {
                let seen = counter.load(Ordering::Relaxed);
                both_read.wait();
                counter.store(seen + 1, Ordering::Relaxed);
            })
        })
        .collect();
    join_all(workers);
    counter.load(Ordering::Relaxed)
}

/// Wait for every incrementing thread.
fn join_all(workers: Vec<thread::JoinHandle<()>>) {
    for worker in workers {
        worker
            .join()
            .expect("an incrementing thread does not panic");
    }
}

// ANCHOR: tasks_do_not_race
/// `tasks` tasks on one loop each add one to a shared counter `increments`
/// times, reading it and writing it back just as the threads do, and
/// yielding to the others every `yield_every` increments. No update is
/// lost: nothing runs between a task's read and its write, since there is
/// no `.await` between them.
pub fn tasks_do_not_race(
    clock: impl Clock + 'static,
    tasks: usize,
    increments: u64,
    yield_every: u64,
) -> Result<u64, RunError> {
    let event_loop = new_loop(clock)?;
    let counter = Rc::new(Cell::new(0_u64));
    let spawner = event_loop.clone();
    let shared = Rc::clone(&counter);
    run_until_complete(&event_loop, async move {
        let workers: Vec<_> = (0..tasks)
            .map(|_| {
                let counter = Rc::clone(&shared);
                create_task(&spawner, async move {
                    for done in 1..=increments {
                        let seen = counter.get();
                        counter.set(seen + 1);
                        if done % yield_every == 0 {
                            yield_now().await;
                        }
                    }
                })
                .expect("the loop is open")
            })
            .collect();
        gather(workers).await.expect("the tasks do not panic");
    })?;
    Ok(counter.get())
}
// ANCHOR_END: tasks_do_not_race
