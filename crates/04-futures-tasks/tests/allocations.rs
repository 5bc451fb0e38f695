//! How many heap allocations one task costs: `create_task` with a coroutine
//! that does nothing, and running it to the end.
//!
//! The project's goal is one allocation per spawned task (the task, with its
//! coroutine inside it). The textbook tasks (src/tasks.rs) do not meet it:
//! this test pins the number they have, so that a change to it shows,
//! either way. The fast tasks (src/fast) meet it, and this test says so.
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
use stage04_futures_tasks::{fast, tasks};

/// Spawn `n` no-op tasks with `spawn`, then run one loop iteration, which
/// runs each to the end; the tasks' handles are dropped after. `done` and
/// `pending` ask a task, and the loop, what `Task::done` and `all_tasks`
/// say, for the kind of task spawned.
fn spawn_and_run<T>(
    event_loop: &SelectorEventLoop,
    n: usize,
    spawn: impl Fn() -> T,
    done: impl Fn(&T) -> bool,
    pending: impl Fn() -> usize,
) {
    let tasks: Vec<T> = (0..n).map(|_| spawn()).collect();
    event_loop.run_once().expect("one iteration");
    assert!(tasks.iter().all(done));
    assert_eq!(pending(), 0);
}

fn new_loop() -> SelectorEventLoop {
    SelectorEventLoop::with_selector(VirtualClock::new(), PollSelector::new())
        .expect("a selector loop")
}

/// What spawning one more no-op task costs, in allocations, once the loop
/// is warm: the difference between spawning two tasks and one (and three
/// and two, which must be the same). Also checks that what is left, the
/// iteration's own cost, is the same for every kind of task.
fn allocations_per_task(run: impl Fn(usize)) -> usize {
    // Warm up: the task set or table (an attachment of the loop), the
    // ready queue's room, the selector's `pollfd` array, this thread's
    // handle.
    for n in [3, 2, 1] {
        run(n);
    }
    let (one, one_realloc) = counting_alloc::count(|| run(1));
    let (two, two_realloc) = counting_alloc::count(|| run(2));
    let (three, three_realloc) = counting_alloc::count(|| run(3));
    assert_eq!(
        (one_realloc, two_realloc, three_realloc),
        (0, 0, 0),
        "nothing grows once warm"
    );
    assert_eq!(three - two, two - one, "each task costs the same");
    // What is left is not the task's: the `Vec` of handles in
    // `spawn_and_run`, and the box in which `run_once` keeps the running
    // loop for `get_running_loop` (stage 2's src/running.rs).
    assert_eq!(one - (two - one), 2);
    two - one
}

/// What one textbook task costs, allocation by allocation, in the order
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
/// The goal is one. The fast tasks make the name when asked for, from the
/// number (2); keep the waker's target in the waker itself (1) and the
/// coroutine inside the task (4, 5); make the future only when something
/// waits for the task (3); and queue the first step without a handle of its
/// own (6, 7).
const ALLOCATIONS_PER_TASK: usize = 7;

#[test]
fn a_textbook_task_costs_seven_allocations() {
    let event_loop = new_loop();
    let per_task = allocations_per_task(|n| {
        spawn_and_run(
            &event_loop,
            n,
            || tasks::create_task(&event_loop, async {}).expect("the loop is open"),
            tasks::Task::done,
            || tasks::all_tasks(&event_loop).len(),
        );
    });
    assert_eq!(
        per_task, ALLOCATIONS_PER_TASK,
        "allocations per textbook task: update the list above, and the book's chapter 4, 'Allocations'"
    );
}

/// The goal, met by the fast tasks (src/fast): the task, its coroutine
/// inside it, is the one allocation. Its waker is a number, its name is
/// made when asked for, its future when something waits for it, and its
/// steps go through the loop's one drain handle.
#[test]
fn a_fast_task_costs_one_allocation() {
    let event_loop = new_loop();
    let per_task = allocations_per_task(|n| {
        spawn_and_run(
            &event_loop,
            n,
            || fast::create_task(&event_loop, async {}).expect("the loop is open"),
            fast::Task::done,
            || fast::all_tasks(&event_loop).len(),
        );
    });
    assert_eq!(per_task, 1);
}
