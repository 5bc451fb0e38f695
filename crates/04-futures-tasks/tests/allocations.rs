//! How many heap allocations one task costs: `create_task` with a coroutine
//! that does nothing, and running it to the end.
//!
//! The project's goal is one allocation per spawned task (the task, with its
//! coroutine inside it). Stage 4 does not meet it yet: this test pins the
//! number it has today, so that a change to it shows, either way, and the
//! change that meets the goal changes the number here (and the book's).
//!
//! A counting global allocator counts the calls to `alloc`, `alloc_zeroed`
//! and `realloc` made on this test's own thread while its flag is on, and
//! nothing else: the other tests' threads and the harness are not counted.
//! The loop is warmed up first (its task set, its ready queue, the selector's
//! array and the thread's handle all exist already), and the count is the
//! difference between spawning two tasks and one, each followed by one loop
//! iteration that runs them, so that the iteration's own cost cancels out.

mod counting_alloc;

use stage01_generator_loop::VirtualClock;
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::{all_tasks, create_task};

/// Spawn `n` no-op tasks, then run one loop iteration, which runs each to
/// the end; the tasks' handles are dropped after.
fn spawn_and_run(event_loop: &SelectorEventLoop, n: usize) {
    let tasks: Vec<_> = (0..n)
        .map(|_| create_task(event_loop, async {}).expect("the loop is open"))
        .collect();
    event_loop.run_once().expect("one iteration");
    assert!(tasks.iter().all(|task| task.done()));
    assert!(all_tasks(event_loop).is_empty());
}

/// What one task costs today, allocation by allocation, in the order
/// `create_task` and the task's one step make them (their sizes on x86-64,
/// in bytes, when this was written: 48, 10, 104, 1, 120, 8, 88):
///
/// `create_task` (src/tasks.rs):
/// 1. `Arc::new(Wake { .. })`: the waker's target (task number, thread, the
///    loop's remote), shared with every `Waker` clone.
/// 2. `format!("Task-{}", id)`: the task's name.
/// 3. `Future::new`: the `Rc` of the future the task is (src/futures.rs).
/// 4. `Box::pin(coroutine)`: the coroutine, boxed to be stored as a `dyn`
///    future (even a one-byte `async {}`).
/// 5. `Rc::new(TaskInner { .. })`: the task itself.
/// 6. `call_soon` of the first step: the `Box` of its callback, `move
///    |event_loop| step(event_loop, id)`, which captures the task's number;
/// 7. ... and the `Rc` of the `Handle` that holds it (stage 2's
///    src/handle.rs).
///
/// (`futures_task::waker` makes the `Waker` from the `Arc` without
/// allocating; the loop's task set, a `BTreeMap`, and its ready queue reuse
/// the room they have.)
///
/// The step (`Task::step` in src/tasks.rs) allocates nothing: the task it
/// makes current is the task itself, an `Rc` clone; the timeline's marks
/// cost nothing when no timeline records (`record` takes a closure that
/// makes the mark, and calls it only then); and setting the task's result
/// schedules no callback, since nothing awaits it.
///
/// The goal is one. The name could be made when asked for, from the number
/// (2); the waker's target, the future, the coroutine and the task could
/// live in one allocation (1, 3, 4, 5); and the first step could be queued
/// without a handle of its own (6, 7).
const ALLOCATIONS_PER_TASK: usize = 7;

#[test]
fn spawning_a_no_op_task_allocates_todays_count_not_yet_the_goal_of_one() {
    let event_loop = SelectorEventLoop::with_selector(VirtualClock::new(), PollSelector::new())
        .expect("a selector loop");
    // Warm up: the task set (an attachment of the loop, a `BTreeMap` that
    // keeps its root node when emptied), the ready queue's room, the
    // selector's `pollfd` array, this thread's handle.
    for n in [3, 2, 1] {
        spawn_and_run(&event_loop, n);
    }

    let (one, one_realloc) = counting_alloc::count(|| spawn_and_run(&event_loop, 1));
    let (two, two_realloc) = counting_alloc::count(|| spawn_and_run(&event_loop, 2));
    let (three, three_realloc) = counting_alloc::count(|| spawn_and_run(&event_loop, 3));
    assert_eq!(
        (one_realloc, two_realloc, three_realloc),
        (0, 0, 0),
        "nothing grows once warm"
    );
    assert_eq!(three - two, two - one, "each task costs the same");
    assert_eq!(
        two - one,
        ALLOCATIONS_PER_TASK,
        "allocations per no-op task (the goal is 1): update the list above, \
         and the book's chapter 4, 'The numbers'"
    );
    // What is left is not the task's: the `Vec` of handles in
    // `spawn_and_run`, and the box in which `run_once` keeps the running
    // loop for `get_running_loop` (stage 2's src/running.rs).
    assert_eq!(one - ALLOCATIONS_PER_TASK, 2);
}
