//! Stage 5 against CPython, several tasks at once: `gather` and
//! `TaskGroup` under cancellation, and the anti-pattern of one bare future
//! shared as an event, on our stage 5 tasks and on asyncio's, both on a
//! virtual clock (tests/parity/stage05_groups.py), section by section,
//! line by line, every line stamped with the loop's time and iteration:
//! who is cancelled, who cleans up, when the awaiter hears of it, and how
//! each task ends. An exception is printed as its message (asyncio's
//! `ValueError`, our `Broke`), or as its class where it has none
//! (`CancelledError`, `InvalidStateError`).

mod common;

use std::cell::RefCell;
use std::error::Error;
use std::fmt;
use std::rc::Rc;

use demo_support::Transcript;
use stage03_read_readiness::SelectorEventLoop;
use stage04_futures_tasks::{Event, Future, FutureError};
use stage05_cancellation::{
    Task, TaskGroup, create_task, current_task, gather, gather_return_exceptions, group_errors,
    sleep,
};

use common::stage04::{new_case, py_bool, stamp_iteration};
use common::{ended, state};

/// The script our loop is compared with.
const SCRIPT: &str = "stage05_groups.py";

#[test]
fn the_script_prints_the_sections_compared_here() {
    common::assert_prints_sections(
        SCRIPT,
        &[
            "gather_awaiter_cancelled_cancels_every_child",
            "gather_awaiter_cancelled_the_children_refuse",
            "gather_one_child_cancelled_its_siblings_go_on",
            "gather_return_exceptions_a_cancelled_child_is_a_result",
            "gather_cancelled_itself_cancels_the_children",
            "taskgroup_first_failure_cancels_the_others",
            "taskgroup_block_fails_cancels_the_children",
            "taskgroup_owner_cancelled_cancels_every_child",
            "shared_future_one_waiter_cancelled_fails_them_all",
            "event_one_waiter_cancelled_the_others_wake",
        ],
    );
}

/// Run `main` as a stage 5 task to its end, and compare what `out` holds
/// with `section` of the script.
fn run_section<F>(section: &str, event_loop: &SelectorEventLoop, out: &Transcript, main: F)
where
    F: std::future::Future<Output = Result<(), FutureError>> + 'static,
{
    common::run_stage05_section(SCRIPT, section, event_loop, out, main);
}

/// The script's `cleans_up`: sleeps `delay` s and returns `value`;
/// cancelled, it cleans up for `clean_up` s and passes the cancellation on.
fn cleans_up(
    event_loop: &SelectorEventLoop,
    out: &Transcript,
    name: &'static str,
    delay: f64,
    clean_up: f64,
    value: u32,
) -> impl std::future::Future<Output = Result<u32, FutureError>> + 'static {
    let (l, o) = (event_loop.clone(), out.clone());
    async move {
        if let Err(cancelled) = sleep(delay, ()).await {
            let line = format!("{name}: cancelled; cleans up {clean_up} s");
            stamp_iteration(&o, &l, &line);
            sleep(clean_up, ()).await?;
            stamp_iteration(&o, &l, &format!("{name}: passes it on"));
            return Err(cancelled);
        }
        stamp_iteration(&o, &l, &format!("{name}: returns {value}"));
        Ok(value)
    }
}

/// The script's `children`: child n sleeps n s and returns n; cancelled,
/// child 3 cleans up for 0.5 s, the others at once.
fn children(event_loop: &SelectorEventLoop, out: &Transcript) -> Vec<Task<u32>> {
    [
        ("child 1", 1, 0.0),
        ("child 2", 2, 0.0),
        ("child 3", 3, 0.5),
    ]
    .into_iter()
    .map(|(name, n, clean_up)| {
        let child = cleans_up(event_loop, out, name, f64::from(n), clean_up, n);
        create_task(event_loop, child).expect("an open loop")
    })
    .collect()
}

/// How each of `tasks` ended, as the script joins them.
fn endings(tasks: &[Task<u32>]) -> String {
    tasks.iter().map(ended).collect::<Vec<_>>().join(", ")
}

/// A task that awaits `gather(tasks)` and says so if that raises
/// `CancelledError` (as `said`).
fn awaiter(
    event_loop: &SelectorEventLoop,
    out: &Transcript,
    tasks: &[Task<u32>],
    said: &'static str,
) -> Task<()> {
    let (l, o, gathered) = (event_loop.clone(), out.clone(), tasks.to_vec());
    let awaits = async move {
        let outcome = gather(gathered)?.await;
        if let Err(FutureError::Cancelled) = outcome {
            stamp_iteration(&o, &l, said);
        }
        outcome.map(|_| ())
    };
    create_task(event_loop, awaits).expect("an open loop")
}

/// Cancelling the awaiter of a gather cancels every child not yet done;
/// the first child to end cancelled ends the gather at once, while child 3
/// still cleans up.
#[test]
fn gather_awaiter_cancelled_cancels_every_child() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "gather_awaiter_cancelled_cancels_every_child",
        &event_loop,
        &out,
        async move {
            let tasks = children(&here, &log);
            let task = awaiter(&here, &log, &tasks, "awaiter: CancelledError");
            sleep(1.5, ()).await?;
            let cancelled = py_bool(task.cancel(None));
            stamp_iteration(&log, &here, &format!("main: cancel awaiter: {cancelled}"));
            if let Err(FutureError::Cancelled) = task.clone().await {
                stamp_iteration(&log, &here, "main: awaiter cancelled");
            }
            let line = format!("children: {}; awaiter {}", endings(&tasks), ended(&task));
            stamp_iteration(&log, &here, &line);
            sleep(1.0, ()).await?;
            stamp_iteration(&log, &here, &format!("children: {}", endings(&tasks)));
            Ok(())
        },
    );
}

/// The script's `refuses`: sleeps `delay` s; cancelled, it says it
/// swallows the cancellation; either way it returns `value`.
fn refuses(
    event_loop: &SelectorEventLoop,
    out: &Transcript,
    name: &'static str,
    delay: f64,
    value: u32,
) -> Task<u32> {
    let (l, o) = (event_loop.clone(), out.clone());
    let refuses = async move {
        if let Err(FutureError::Cancelled) = sleep(delay, ()).await {
            stamp_iteration(&o, &l, &format!("{name}: swallows it, returns {value}"));
        }
        Ok(value)
    };
    create_task(event_loop, refuses).expect("an open loop")
}

/// Every child swallows the cancellation and returns: the awaiter is
/// cancelled all the same, once all are done (asyncio's
/// `_cancel_requested`).
#[test]
fn gather_awaiter_cancelled_the_children_refuse() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "gather_awaiter_cancelled_the_children_refuse",
        &event_loop,
        &out,
        async move {
            let tasks = [
                refuses(&here, &log, "a", 2.0, 22),
                refuses(&here, &log, "b", 3.0, 33),
            ];
            let said = "awaiter: CancelledError all the same";
            let task = awaiter(&here, &log, &tasks, said);
            sleep(1.0, ()).await?;
            let cancelled = py_bool(task.cancel(None));
            stamp_iteration(&log, &here, &format!("main: cancel awaiter: {cancelled}"));
            if let Err(FutureError::Cancelled) = task.clone().await {
                stamp_iteration(&log, &here, "main: awaiter cancelled");
            }
            let line = format!("children: {}; awaiter {}", endings(&tasks), ended(&task));
            stamp_iteration(&log, &here, &line);
            Ok(())
        },
    );
}

/// One child cancelled on its own: the gather raises its `CancelledError`
/// at once (main itself is not cancelled), and the siblings go on.
#[test]
fn gather_one_child_cancelled_its_siblings_go_on() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "gather_one_child_cancelled_its_siblings_go_on",
        &event_loop,
        &out,
        async move {
            let me = current_task().expect("in a task");
            let tasks = children(&here, &log);
            let gathering = gather(tasks.clone())?;
            sleep(0.5, ()).await?;
            let cancelled = py_bool(tasks[0].cancel(None));
            stamp_iteration(&log, &here, &format!("main: cancel child 1: {cancelled}"));
            if let Err(FutureError::Cancelled) = gathering.await {
                let cancelling = me.cancelling();
                let line = format!("main: gather raised CancelledError; cancelling {cancelling}");
                stamp_iteration(&log, &here, &line);
            }
            sleep(5.0, ()).await?;
            stamp_iteration(&log, &here, &format!("children: {}", endings(&tasks)));
            Ok(())
        },
    );
}

/// With `return_exceptions`, a cancelled child is one more result, once
/// every child is done.
#[test]
fn gather_return_exceptions_a_cancelled_child_is_a_result() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "gather_return_exceptions_a_cancelled_child_is_a_result",
        &event_loop,
        &out,
        async move {
            let tasks = children(&here, &log);
            let gathering = gather_return_exceptions(tasks.clone())?;
            sleep(0.5, ()).await?;
            let cancelled = py_bool(tasks[1].cancel(None));
            stamp_iteration(&log, &here, &format!("main: cancel child 2: {cancelled}"));
            let shown: Vec<String> = gathering
                .await?
                .into_iter()
                .map(|outcome| match outcome {
                    Ok(value) => value.to_string(),
                    Err(FutureError::Cancelled) => "CancelledError".to_string(),
                    Err(error) => format!("not a cancellation but {error}"),
                })
                .collect();
            let line = format!("main: gather gave {}", shown.join(", "));
            stamp_iteration(&log, &here, &line);
            Ok(())
        },
    );
}

/// Cancelling the gather itself cancels the children not yet done, and
/// its awaiter gets `CancelledError`, `return_exceptions` or not; done, it
/// refuses a second cancel.
#[test]
fn gather_cancelled_itself_cancels_the_children() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "gather_cancelled_itself_cancels_the_children",
        &event_loop,
        &out,
        async move {
            let tasks = children(&here, &log);
            let mut gathering = gather_return_exceptions(tasks.clone())?;
            sleep(1.5, ()).await?;
            let cancelled = py_bool(gathering.cancel());
            stamp_iteration(
                &log,
                &here,
                &format!("main: cancel the gather: {cancelled}"),
            );
            if let Err(FutureError::Cancelled) = (&mut gathering).await {
                stamp_iteration(&log, &here, "main: gather raised CancelledError");
            }
            let again = py_bool(gathering.cancel());
            stamp_iteration(&log, &here, &format!("main: cancel it again: {again}"));
            stamp_iteration(&log, &here, &format!("children: {}", endings(&tasks)));
            Ok(())
        },
    );
}

/// The exception a coroutine of the script fails with: Python's
/// `ValueError(f"{name} broke")`, with the same message.
#[derive(Debug)]
struct Broke(&'static str);

impl fmt::Display for Broke {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} broke", self.0)
    }
}

impl Error for Broke {}

/// The script's `fails`: sleeps `delay` s, then fails with `{name} broke`.
fn fails(
    event_loop: &SelectorEventLoop,
    out: &Transcript,
    name: &'static str,
    delay: f64,
) -> impl std::future::Future<Output = Result<u32, FutureError>> + 'static {
    let (l, o) = (event_loop.clone(), out.clone());
    async move {
        sleep(delay, ()).await?;
        stamp_iteration(&o, &l, &format!("{name}: fails"));
        Err(FutureError::Exception(Rc::new(Broke(name))))
    }
}

/// The script's `member`: a group's child that sleeps `delay` s and
/// returns `value`; cancelled, it cleans up for `clean_up` s, says so, and
/// passes the cancellation on. (asyncio's group cancels its children in
/// the order of a set; each speaks only after a clean-up of a length of
/// its own, so that no line depends on that order.)
fn member(
    event_loop: &SelectorEventLoop,
    out: &Transcript,
    name: &'static str,
    delay: f64,
    clean_up: f64,
    value: u32,
) -> impl std::future::Future<Output = Result<u32, FutureError>> + 'static {
    let (l, o) = (event_loop.clone(), out.clone());
    async move {
        if let Err(cancelled) = sleep(delay, ()).await {
            sleep(clean_up, ()).await?;
            let line = format!("{name}: cancelled; cleaned up {clean_up} s");
            stamp_iteration(&o, &l, &line);
            return Err(cancelled);
        }
        stamp_iteration(&o, &l, &format!("{name}: returns {value}"));
        Ok(value)
    }
}

/// The line the script prints for the `ExceptionGroup` it catches: its
/// message, then each error's.
fn group_line(error: &FutureError) -> String {
    match group_errors(error) {
        Some(errors) => {
            let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
            format!("main: {error}: {}", messages.join(", "))
        }
        None => format!("main: not a group's errors but {error:?}"),
    }
}

/// The first child to fail cancels the others and the block; the group
/// waits for every clean-up, then reports both failures together, and
/// takes back its cancel of main, which carries on.
#[test]
fn taskgroup_first_failure_cancels_the_others() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "taskgroup_first_failure_cancels_the_others",
        &event_loop,
        &out,
        async move {
            let me = current_task().expect("in a task");
            let group = TaskGroup::new();
            let members = Rc::new(RefCell::new(Vec::new()));
            let (l, o, inside, kept) = (here.clone(), log.clone(), group.clone(), members.clone());
            let outcome = group
                .run(async move {
                    inside.create_task(fails(&l, &o, "a", 1.0))?;
                    inside.create_task(fails(&l, &o, "b", 1.0))?;
                    let c = inside.create_task(member(&l, &o, "c", 5.0, 0.5, 3))?;
                    let d = inside.create_task(member(&l, &o, "d", 6.0, 0.2, 4))?;
                    kept.borrow_mut().extend([c, d]);
                    let slept = sleep(10.0, ()).await;
                    if let Err(FutureError::Cancelled) = slept {
                        stamp_iteration(&o, &l, "block: CancelledError");
                    }
                    slept
                })
                .await;
            if let Err(error) = outcome {
                stamp_iteration(&log, &here, &group_line(&error));
            }
            let (c, d) = (ended(&members.borrow()[0]), ended(&members.borrow()[1]));
            let line = format!("c {c}, d {d}; main cancelling {}", me.cancelling());
            stamp_iteration(&log, &here, &line);
            sleep(1.0, ()).await?;
            stamp_iteration(&log, &here, "main: slept on, not cancelled");
            Ok(())
        },
    );
}

/// The block's own error fails the group too: the children are cancelled
/// and waited for, and the error is reported as the group's.
#[test]
fn taskgroup_block_fails_cancels_the_children() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "taskgroup_block_fails_cancels_the_children",
        &event_loop,
        &out,
        async move {
            let group = TaskGroup::new();
            let members = Rc::new(RefCell::new(Vec::new()));
            let (l, o, inside, kept) = (here.clone(), log.clone(), group.clone(), members.clone());
            let outcome = group
                .run(async move {
                    let a = inside.create_task(fails(&l, &o, "a", 1.0))?;
                    let b = inside.create_task(member(&l, &o, "b", 5.0, 0.0, 2))?;
                    kept.borrow_mut().extend([a, b]);
                    sleep(0.5, ()).await?;
                    stamp_iteration(&o, &l, "block: fails");
                    Err::<(), _>(FutureError::Exception(Rc::new(Broke("block"))))
                })
                .await;
            if let Err(error) = outcome {
                stamp_iteration(&log, &here, &group_line(&error));
            }
            let (a, b) = (ended(&members.borrow()[0]), ended(&members.borrow()[1]));
            stamp_iteration(&log, &here, &format!("a {a}, b {b}"));
            Ok(())
        },
    );
}

/// Cancelling the task that runs the group cancels every child; the group
/// waits for their clean-ups before the owner ends cancelled.
#[test]
fn taskgroup_owner_cancelled_cancels_every_child() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "taskgroup_owner_cancelled_cancels_every_child",
        &event_loop,
        &out,
        async move {
            let members = Rc::new(RefCell::new(Vec::new()));
            let (l, o, kept) = (here.clone(), log.clone(), members.clone());
            let owner = create_task(&here, async move {
                let group = TaskGroup::new();
                let (bl, bo, inside) = (l.clone(), o.clone(), group.clone());
                let outcome = group
                    .run(async move {
                        let a = inside.create_task(member(&bl, &bo, "a", 5.0, 0.2, 1))?;
                        let b = inside.create_task(member(&bl, &bo, "b", 6.0, 0.5, 2))?;
                        kept.borrow_mut().extend([a, b]);
                        sleep(10.0, ()).await
                    })
                    .await;
                if let Err(FutureError::Cancelled) = outcome {
                    stamp_iteration(&o, &l, "owner: CancelledError");
                }
                outcome
            })?;
            sleep(1.0, ()).await?;
            let cancelled = py_bool(owner.cancel(None));
            stamp_iteration(&log, &here, &format!("main: cancel owner: {cancelled}"));
            if let Err(FutureError::Cancelled) = owner.clone().await {
                stamp_iteration(&log, &here, "main: owner cancelled");
            }
            let line = format!(
                "children: {}; owner {}, cancelling {}",
                endings(&members.borrow()),
                ended(&owner),
                owner.cancelling()
            );
            stamp_iteration(&log, &here, &line);
            Ok(())
        },
    );
}

/// The script's `waiter`: a task that awaits `wait`, and says how that
/// ended.
fn waiter(
    event_loop: &SelectorEventLoop,
    out: &Transcript,
    name: String,
    wait: impl std::future::Future<Output = Result<(), FutureError>> + 'static,
) -> Task<()> {
    let (l, o) = (event_loop.clone(), out.clone());
    let waits = async move {
        let waited = wait.await;
        match waited {
            Err(FutureError::Cancelled) => {
                stamp_iteration(&o, &l, &format!("{name}: CancelledError"))
            }
            Ok(()) => stamp_iteration(&o, &l, &format!("{name}: woke")),
            Err(ref error) => stamp_iteration(&o, &l, &format!("{name}: {error:?}")),
        }
        waited
    };
    create_task(event_loop, waits).expect("an open loop")
}

/// How each waiter ended, and how many cancels it was asked for.
fn cancellings(tasks: &[Task<()>]) -> String {
    let each: Vec<String> = tasks
        .iter()
        .map(|task| format!("{} (cancelling {})", ended(task), task.cancelling()))
        .collect();
    each.join(", ")
}

/// The anti-pattern: three waiters await one bare future. Cancelling
/// waiter 1 cancels what it waits on, the shared future, and the other two
/// fail with it, though nobody cancelled them.
#[test]
fn shared_future_one_waiter_cancelled_fails_them_all() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "shared_future_one_waiter_cancelled_fails_them_all",
        &event_loop,
        &out,
        async move {
            let future = Future::<()>::new(&here);
            let tasks: Vec<Task<()>> = (1..=3)
                .map(|n| {
                    waiter(
                        &here,
                        &log,
                        format!("waiter {n}"),
                        future.clone().into_future(),
                    )
                })
                .collect();
            sleep(1.0, ()).await?;
            let cancelled = py_bool(tasks[0].cancel(None));
            stamp_iteration(&log, &here, &format!("main: cancel waiter 1: {cancelled}"));
            sleep(1.0, ()).await?;
            let gone = py_bool(future.cancelled());
            stamp_iteration(&log, &here, &format!("main: future cancelled {gone}"));
            if let Err(FutureError::InvalidState(_)) = future.set_result(()) {
                stamp_iteration(&log, &here, "main: set_result: InvalidStateError");
            }
            for task in &tasks {
                let _ended = task.clone().await;
            }
            let line = format!("waiters: {}", cancellings(&tasks));
            stamp_iteration(&log, &here, &line);
            Ok(())
        },
    );
}

/// The cure: with an `Event`, each waiter waits on a future of its own;
/// cancelling waiter 1 touches only that one, and the others wake when the
/// event is set.
#[test]
fn event_one_waiter_cancelled_the_others_wake() {
    let (event_loop, out) = new_case();
    let (here, log) = (event_loop.clone(), out.clone());
    run_section(
        "event_one_waiter_cancelled_the_others_wake",
        &event_loop,
        &out,
        async move {
            let event = Event::new();
            let tasks: Vec<Task<()>> = (1..=3)
                .map(|n| {
                    let event = event.clone();
                    let wait = async move { event.wait().await };
                    waiter(&here, &log, format!("waiter {n}"), wait)
                })
                .collect();
            sleep(1.0, ()).await?;
            let cancelled = py_bool(tasks[0].cancel(None));
            stamp_iteration(&log, &here, &format!("main: cancel waiter 1: {cancelled}"));
            sleep(1.0, ()).await?;
            stamp_iteration(&log, &here, &format!("main: set {}", state(&event)));
            event.set();
            for task in &tasks {
                let _ended = task.clone().await;
            }
            let line = format!("waiters: {}", cancellings(&tasks));
            stamp_iteration(&log, &here, &line);
            Ok(())
        },
    );
}
