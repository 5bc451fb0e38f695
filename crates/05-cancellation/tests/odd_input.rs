//! Odd input for cancellation, each case on the virtual clock, each as
//! asyncio 3.11 behaves (checked against python3 3.11.7; a timeout of NaN
//! aside, which this crate refuses on purpose, see 4.): a cancel that
//! comes too late or twice, timeouts of NaN, below zero or infinite, a
//! shield of what is done already, and the locks, queues and events of
//! stage 4 with a waiter (or a holder) cancelled.

use std::cell::Cell;
use std::error::Error;
use std::fmt;
use std::rc::Rc;

use demo_support::Transcript;
use stage01_generator_loop::VirtualClock;
use stage02_timed_events::{AbstractEventLoop, LoopError};
use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::{Event, FutureError, Lock, Queue, run_until_complete, task_outcome};
use stage05_cancellation::{
    Task, create_task, current_task, is_timeout, shield, sleep, timeout, timeout_at, wait_for,
    yield_now,
};

/// Later than any test's last event, in loop seconds.
const GIVE_UP: f64 = 1e6;

/// A loop on the virtual clock, stopped at [`GIVE_UP`]: a task's waker
/// could be woken from another thread, so a task that waits for ever (a
/// lost wake-up) leaves the loop waiting, not failing. Stopped, the
/// loop's `run_until_complete` fails instead, and so does the test.
fn new_loop() -> SelectorEventLoop {
    let event_loop =
        SelectorEventLoop::with_selector(VirtualClock::new(), PollSelector::new()).unwrap();
    event_loop
        .call_at(GIVE_UP, |event_loop| event_loop.stop())
        .unwrap();
    event_loop
}

/// Run `main` as a stage 5 task; its outcome, and the loop's time at its
/// end.
fn run<T: 'static>(
    event_loop: &SelectorEventLoop,
    main: impl std::future::Future<Output = Result<T, FutureError>> + 'static,
) -> (Result<T, FutureError>, f64) {
    let main = create_task(event_loop, main).unwrap();
    let outcome = task_outcome(run_until_complete(event_loop, main)).unwrap();
    (outcome, event_loop.time())
}

/// Say `what` at the loop's time.
fn say(out: &Transcript, event_loop: &SelectorEventLoop, what: &str) {
    out.say(format!("{:.1} {what}", event_loop.time()));
}

fn is_cancelled<T>(outcome: &Result<T, FutureError>) -> bool {
    matches!(outcome, Err(FutureError::Cancelled))
}

/// The error a timeout of NaN seconds is.
fn is_nan_error<T>(outcome: &Result<T, FutureError>) -> bool {
    matches!(
        outcome,
        Err(FutureError::Exception(error))
            if matches!(error.downcast_ref::<LoopError>(), Some(LoopError::NotANumber))
    )
}

/// An exception a coroutine ends with.
#[derive(Debug)]
struct Boom;

impl fmt::Display for Boom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "boom")
    }
}

impl Error for Boom {}

/// A task that sets `started` when its body runs, then sleeps `delay` s
/// and returns 7.
fn tracked(event_loop: &SelectorEventLoop, started: &Rc<Cell<bool>>, delay: f64) -> Task<u32> {
    let started = Rc::clone(started);
    create_task(event_loop, async move {
        started.set(true);
        sleep(delay, 7).await
    })
    .unwrap()
}

// 1. ------------------------------------------------------------------------

#[test]
fn cancelling_a_finished_task_returns_false_and_it_stays_as_it_ended() {
    let event_loop = new_loop();
    let returned = create_task(&event_loop, async { Ok(7) }).unwrap();
    let failed: Task<u32> = create_task(&event_loop, async {
        Err(FutureError::Exception(Rc::new(Boom)))
    })
    .unwrap();
    let cancelled = create_task(&event_loop, sleep(10.0, 7)).unwrap();
    let target = cancelled.clone();
    let (outcome, ended) = run(&event_loop, async move {
        yield_now().await?;
        target.cancel(Some("m"));
        yield_now().await?;
        yield_now().await?;
        Ok(())
    });
    outcome.unwrap();
    assert_eq!(ended, 0.0);
    for task in [&returned, &failed, &cancelled] {
        assert!(task.done());
        let (cancelling, message) = (task.cancelling(), task.cancel_message());
        assert!(!task.cancel(Some("late")), "a finished task refuses");
        assert!(task.done());
        assert_eq!(
            task.cancelling(),
            cancelling,
            "a refused cancel is not counted"
        );
        assert_eq!(task.cancel_message(), message, "nor is its message kept");
    }
    assert_eq!(returned.cancelling(), 0);
    assert!(!returned.cancelled());
    assert_eq!(returned.result().unwrap(), 7);
    assert!(returned.exception().is_none());

    assert!(!failed.cancelled());
    assert!(matches!(failed.exception(), Some(FutureError::Exception(e)) if e.is::<Boom>()));
    assert!(matches!(failed.result(), Err(FutureError::Exception(e)) if e.is::<Boom>()));

    assert_eq!(cancelled.cancelling(), 1);
    assert!(cancelled.cancelled());
    assert!(is_cancelled(&cancelled.result()));
    assert!(cancelled.exception().is_none());
}

// 2. ------------------------------------------------------------------------

#[test]
fn two_cancels_before_the_first_step_both_count_and_the_last_message_is_kept() {
    let event_loop = new_loop();
    let started = Rc::new(Cell::new(false));
    let task = tracked(&event_loop, &started, 1.0);
    assert!(task.cancel(Some("first")));
    assert!(task.cancel(Some("second")), "not done yet: it accepts");
    assert_eq!(task.cancelling(), 2);
    assert_eq!(task.cancel_message().as_deref(), Some("second"));
    let outcome = task_outcome(run_until_complete(&event_loop, task.clone())).unwrap();
    assert!(is_cancelled(&outcome));
    assert_eq!(event_loop.time(), 0.0);
    assert!(!started.get(), "its body never ran");
    assert!(task.cancelled());
    assert_eq!(task.cancelling(), 2);
}

#[test]
fn two_cancels_of_a_task_waiting_on_a_future_arrive_once_the_first_through_the_future() {
    let event_loop = new_loop();
    let out = Transcript::new();
    let (here, said) = (event_loop.clone(), out.clone());
    let task = create_task(&event_loop, async move {
        let Err(cancelled) = sleep(10.0, ()).await else {
            return Ok(());
        };
        say(&said, &here, "caught");
        // A second delivery of the cancellation would land here.
        let cleaned = sleep(0.5, ()).await;
        say(&said, &here, &format!("clean-up: {cleaned:?}"));
        Err(cancelled)
    })
    .unwrap();
    let target = task.clone();
    let (outcome, ended) = run(&event_loop, async move {
        sleep(1.0, ()).await?;
        // The first goes to the sleep's future; that one is done then, so
        // the second is remembered for the task's next step, as asyncio's
        // `_must_cancel` with its `_cancel_message`.
        assert!(target.cancel(Some("first")));
        assert!(target.cancel(Some("second")));
        assert_eq!(target.cancelling(), 2);
        Ok(target.await)
    });
    assert!(is_cancelled(&outcome.unwrap()));
    assert_eq!(ended, 1.5, "one delivery: the clean-up ran its 0.5 s");
    assert_eq!(out.lines(), ["1.0 caught", "1.5 clean-up: Ok(())"]);
    assert!(task.cancelled());
    assert_eq!(task.cancel_message().as_deref(), Some("second"));
}

// 3. ------------------------------------------------------------------------

#[test]
fn a_second_cancel_during_the_clean_up_lands_at_its_await_and_ends_the_task_then() {
    let event_loop = new_loop();
    let out = Transcript::new();
    let (here, said) = (event_loop.clone(), out.clone());
    let task = create_task(&event_loop, async move {
        let Err(cancelled) = sleep(10.0, ()).await else {
            return Ok(());
        };
        say(&said, &here, "clean-up starts");
        sleep(0.5, ()).await?;
        say(&said, &here, "clean-up done");
        Err(cancelled)
    })
    .unwrap();
    let (here, target) = (event_loop.clone(), task.clone());
    let (outcome, _) = run(&event_loop, async move {
        sleep(1.0, ()).await?;
        assert!(target.cancel(Some("one")));
        sleep(0.2, ()).await?;
        assert!(!target.done(), "still cleaning up");
        assert!(target.cancel(Some("two")), "not done: it accepts");
        assert_eq!(target.cancelling(), 2);
        let seen = target.await;
        Ok((seen, here.time()))
    });
    let (seen, at) = outcome.unwrap();
    assert!(is_cancelled(&seen));
    assert_eq!(at, 1.2, "the second cancel cut the clean-up short");
    assert_eq!(out.lines(), ["1.0 clean-up starts"]);
    assert!(task.cancelled());
    assert_eq!(task.cancelling(), 2);
}

// 4. ------------------------------------------------------------------------
//
// asyncio 3.11 has no check for NaN: `wait_for(aw, nan)` and
// `timeout(nan)` put a timer at NaN, which `_run_once` runs at once (a NaN
// compares false with its `end_time`), so both raise `TimeoutError` with no
// time passing. This crate answers an error instead (`LoopError::NotANumber`
// as the exception), never a wait that cannot end.

#[test]
fn wait_for_nan_is_an_error_at_once_and_the_coroutine_never_runs() {
    let event_loop = new_loop();
    let started = Rc::new(Cell::new(false));
    let body = Rc::clone(&started);
    let (here, ran) = (event_loop.clone(), Rc::clone(&started));
    let (outcome, ended) = run(&event_loop, async move {
        let waited = wait_for(
            async move {
                body.set(true);
                sleep(0.3, 7).await
            },
            Some(f64::NAN),
        )
        .await;
        let at = here.time();
        sleep(1.0, ()).await?; // time enough for the coroutine to run, had it
        Ok((waited, at, ran.get()))
    });
    let (waited, at, ran) = outcome.unwrap();
    assert!(is_nan_error(&waited), "{waited:?}");
    assert!(!is_timeout(waited.as_ref().unwrap_err()));
    assert_eq!(at, 0.0, "at once");
    assert!(
        !ran && !started.get(),
        "its task was cancelled, not left running"
    );
    assert_eq!(ended, 1.0);
}

#[test]
fn wait_for_a_negative_timeout_is_a_timeout_at_once_and_the_coroutine_never_runs() {
    let event_loop = new_loop();
    let started = Rc::new(Cell::new(false));
    let (here, flag) = (event_loop.clone(), Rc::clone(&started));
    let (outcome, ended) = run(&event_loop, async move {
        let task = tracked(&here, &flag, 0.3);
        let waited = wait_for(task.clone(), Some(-1.0)).await;
        // As zero: a task done already answers its outcome.
        let done = create_task(&here, async { Ok(8) })?;
        yield_now().await?;
        let answered = wait_for(done, Some(-1.0)).await;
        Ok((waited, task, answered))
    });
    let (waited, task, answered) = outcome.unwrap();
    assert!(is_timeout(waited.as_ref().unwrap_err()), "{waited:?}");
    assert_eq!(ended, 0.0);
    assert!(!started.get(), "cancelled before its first step");
    assert!(task.cancelled());
    assert_eq!(answered.unwrap(), 8);
}

#[test]
fn wait_for_an_infinite_timeout_has_no_limit() {
    let event_loop = new_loop();
    let started = Rc::new(Cell::new(false));
    let task = tracked(&event_loop, &started, 300.0);
    let (outcome, ended) = run(&event_loop, async move {
        wait_for(task, Some(f64::INFINITY)).await
    });
    assert_eq!(outcome.unwrap(), 7);
    assert_eq!(ended, 300.0);
}

#[test]
fn a_timeout_scope_of_nan_is_an_error_and_its_block_never_runs() {
    let event_loop = new_loop();
    let started = Rc::new(Cell::new(false));
    let (here, body) = (event_loop.clone(), Rc::clone(&started));
    let (outcome, ended) = run(&event_loop, async move {
        let made = timeout(Some(f64::NAN)).map(|_| ());
        // `timeout_at` with a NaN deadline refuses when the block begins.
        let ran = timeout_at(Some(f64::NAN))
            .run(async move {
                body.set(true);
                sleep(0.3, ()).await
            })
            .await;
        Ok((made, ran, here.time()))
    });
    let (made, ran, at) = outcome.unwrap();
    assert!(is_nan_error(&made), "{made:?}");
    assert!(is_nan_error(&ran), "{ran:?}");
    assert!(!started.get());
    assert_eq!((at, ended), (0.0, 0.0));
}

#[test]
fn a_timeout_scope_below_zero_expires_at_the_first_await_of_its_block() {
    let event_loop = new_loop();
    let out = Transcript::new();
    let (here, said) = (event_loop.clone(), out.clone());
    let (outcome, ended) = run(&event_loop, async move {
        let scope = timeout(Some(-1.0))?;
        let ran = scope
            .run(async {
                say(&said, &here, "before the first await");
                sleep(0.3, ()).await?;
                say(&said, &here, "after it");
                Ok(())
            })
            .await;
        let cancelling = current_task().unwrap().cancelling();
        Ok((ran, scope.expired(), scope.when(), cancelling))
    });
    let (ran, expired, when, cancelling) = outcome.unwrap();
    assert!(is_timeout(ran.as_ref().unwrap_err()), "{ran:?}");
    assert!(expired);
    assert_eq!(when, Some(-1.0));
    assert_eq!(cancelling, 0, "the scope took its cancellation back");
    assert_eq!(ended, 0.0, "no time passed");
    assert_eq!(out.lines(), ["0.0 before the first await"]);
}

#[test]
fn a_timeout_scope_of_infinity_never_expires() {
    let event_loop = new_loop();
    let (outcome, ended) = run(&event_loop, async move {
        let scope = timeout(Some(f64::INFINITY))?;
        let ran = scope.run(sleep(300.0, 7)).await;
        Ok((ran, scope.expired(), scope.when()))
    });
    let (ran, expired, when) = outcome.unwrap();
    assert_eq!(ran.unwrap(), 7);
    assert!(!expired);
    assert_eq!(when, Some(f64::INFINITY));
    assert_eq!(ended, 300.0);
}

// 5. ------------------------------------------------------------------------

#[test]
fn shield_of_a_finished_task_answers_its_value_at_once_without_yielding() {
    let event_loop = new_loop();
    let done = create_task(&event_loop, async { Ok(7) }).unwrap();
    let (here, inner) = (event_loop.clone(), done.clone());
    let (outcome, _) = run(&event_loop, async move {
        sleep(1.0, ()).await?;
        assert!(inner.done());
        // A task that runs only if the awaits below give the loop a turn.
        let other_ran = Rc::new(Cell::new(false));
        let flag = Rc::clone(&other_ran);
        let _other = create_task(&here, async move {
            flag.set(true);
            Ok(())
        })?;
        let outer = shield(inner)?;
        assert!(outer.done(), "done as it is made");
        let value = outer.await?;
        let (at, ran_meanwhile) = (here.time(), other_ran.get());
        yield_now().await?;
        Ok((value, at, ran_meanwhile, other_ran.get()))
    });
    let (value, at, ran_meanwhile, ran_after_a_yield) = outcome.unwrap();
    assert_eq!(value, 7);
    assert_eq!(at, 1.0, "no time passes");
    assert!(!ran_meanwhile, "awaiting it did not yield to the loop");
    assert!(ran_after_a_yield, "the witness runs at the first yield");
}

// 6. ------------------------------------------------------------------------

#[test]
fn wait_for_with_no_timeout_waits_as_long_as_it_takes() {
    let event_loop = new_loop();
    let (outcome, ended) = run(&event_loop, async {
        wait_for(sleep(1000.0, 5), None).await
    });
    assert_eq!(outcome.unwrap(), 5);
    assert_eq!(ended, 1000.0);
}

// 7. ------------------------------------------------------------------------

#[test]
fn a_task_cancelled_while_holding_a_lock_releases_it_to_the_next_waiter() {
    let event_loop = new_loop();
    let out = Transcript::new();
    let lock = Lock::new();
    let (here, said, held) = (event_loop.clone(), out.clone(), lock.clone());
    let holder = create_task(&event_loop, async move {
        let _guard = held.acquire().await?;
        say(&said, &here, "holder has it");
        let slept = sleep(10.0, ()).await;
        if slept.is_err() {
            let locked = held.locked();
            say(&said, &here, &format!("holder cancelled, locked: {locked}"));
        }
        slept // `_guard` goes as the cancellation leaves the coroutine
    })
    .unwrap();
    let (here, said, wanted) = (event_loop.clone(), out.clone(), lock.clone());
    let waiter = create_task(&event_loop, async move {
        let guard = wanted.acquire().await?;
        say(&said, &here, "waiter has it");
        sleep(0.5, ()).await?;
        drop(guard);
        say(&said, &here, "waiter released it");
        Ok(())
    })
    .unwrap();
    let (here, said, target, seen) = (
        event_loop.clone(),
        out.clone(),
        holder.clone(),
        lock.clone(),
    );
    let (outcome, ended) = run(&event_loop, async move {
        sleep(1.0, ()).await?;
        assert_eq!(format!("{seen:?}"), "<Lock [locked, waiters:1]>");
        target.cancel(None);
        yield_now().await?;
        let done = target.done();
        say(&said, &here, &format!("main: holder done: {done}"));
        waiter.await
    });
    outcome.unwrap();
    assert_eq!(ended, 1.5);
    assert_eq!(
        out.lines(),
        [
            "0.0 holder has it",
            "1.0 holder cancelled, locked: true",
            "1.0 main: holder done: true",
            "1.0 waiter has it",
            "1.5 waiter released it",
        ]
    );
    assert!(holder.cancelled());
    assert_eq!(format!("{lock:?}"), "<Lock [unlocked]>");
}

// 8. ------------------------------------------------------------------------

/// A task that waits for `lock`, says so when it has it, holds it 0.5 s.
fn lock_user(
    event_loop: &SelectorEventLoop,
    out: &Transcript,
    lock: &Lock,
    name: &'static str,
) -> Task<()> {
    let (here, said, lock) = (event_loop.clone(), out.clone(), lock.clone());
    create_task(event_loop, async move {
        let guard = match lock.acquire().await {
            Ok(guard) => guard,
            Err(error) => {
                let locked = lock.locked();
                say(&said, &here, &format!("{name} cancelled, locked: {locked}"));
                return Err(error);
            }
        };
        say(&said, &here, &format!("{name} has it"));
        sleep(0.5, ()).await?;
        drop(guard);
        Ok(())
    })
    .unwrap()
}

#[test]
fn a_task_cancelled_while_waiting_for_a_lock_leaves_the_queue_and_the_next_gets_it() {
    let event_loop = new_loop();
    let out = Transcript::new();
    let lock = Lock::new();
    let (held, seen) = (lock.clone(), lock.clone());
    let holder = create_task(&event_loop, async move {
        let _guard = held.acquire().await?;
        sleep(2.0, ()).await
    })
    .unwrap();
    let b = lock_user(&event_loop, &out, &lock, "b");
    let c = lock_user(&event_loop, &out, &lock, "c");
    let target = b.clone();
    let (outcome, ended) = run(&event_loop, async move {
        sleep(1.0, ()).await?;
        assert_eq!(format!("{seen:?}"), "<Lock [locked, waiters:2]>");
        assert!(target.cancel(None));
        yield_now().await?;
        assert_eq!(format!("{seen:?}"), "<Lock [locked, waiters:1]>");
        holder.await?;
        c.await
    });
    outcome.unwrap();
    assert_eq!(ended, 2.5);
    assert_eq!(
        out.lines(),
        ["1.0 b cancelled, locked: true", "2.0 c has it"]
    );
    assert!(b.cancelled());
    assert_eq!(format!("{lock:?}"), "<Lock [unlocked]>");
}

#[test]
fn a_lock_waiter_woken_by_release_and_cancelled_before_it_runs_passes_the_lock_on() {
    let event_loop = new_loop();
    let out = Transcript::new();
    let lock = Lock::new();
    let (here, said, held) = (event_loop.clone(), out.clone(), lock.clone());
    let (outcome, ended) = run(&event_loop, async move {
        let guard = held.acquire().await?;
        let b = lock_user(&here, &said, &held, "b");
        let c = lock_user(&here, &said, &held, "c");
        sleep(1.0, ()).await?;
        assert_eq!(format!("{held:?}"), "<Lock [locked, waiters:2]>");
        drop(guard); // wakes b, which has not run yet when it is cancelled
        assert!(b.cancel(None), "woken, not done: it accepts");
        c.await?;
        Ok(b)
    });
    let b = outcome.unwrap();
    assert_eq!(ended, 1.5);
    assert_eq!(
        out.lines(),
        ["1.0 b cancelled, locked: false", "1.0 c has it"]
    );
    assert!(b.cancelled());
    assert_eq!(format!("{lock:?}"), "<Lock [unlocked]>");
}

// 9. ------------------------------------------------------------------------

/// A task that gets one item from `queue`, and says so (or that it was
/// cancelled).
fn getter(
    event_loop: &SelectorEventLoop,
    out: &Transcript,
    queue: &Queue<&'static str>,
    name: &'static str,
) -> Task<&'static str> {
    let (here, said, queue) = (event_loop.clone(), out.clone(), queue.clone());
    create_task(event_loop, async move {
        let got = queue.get().await;
        match &got {
            Ok(item) => say(&said, &here, &format!("{name} got {item}")),
            Err(_) => say(&said, &here, &format!("{name} cancelled")),
        }
        got
    })
    .unwrap()
}

#[test]
fn a_cancelled_queue_get_loses_no_item_put_later() {
    let event_loop = new_loop();
    let out = Transcript::new();
    let queue = Queue::new(0);
    let g1 = getter(&event_loop, &out, &queue, "g1");
    let g2 = getter(&event_loop, &out, &queue, "g2");
    let (target, q) = (g1.clone(), queue.clone());
    let (outcome, ended) = run(&event_loop, async move {
        sleep(1.0, ()).await?;
        assert!(target.cancel(None));
        yield_now().await?;
        assert_eq!(format!("{q:?}"), "<Queue maxsize=0 qsize=0 _getters[1]>");
        sleep(1.0, ()).await?;
        assert!(q.put_nowait("x").is_ok());
        assert_eq!(q.qsize(), 1);
        g2.await
    });
    assert_eq!(outcome.unwrap(), "x");
    assert_eq!(ended, 2.0);
    assert_eq!(out.lines(), ["1.0 g1 cancelled", "2.0 g2 got x"]);
    assert!(g1.cancelled());
    assert_eq!(queue.qsize(), 0);
    assert_eq!(format!("{queue:?}"), "<Queue maxsize=0 qsize=0 tasks=1>");
}

// 10. -----------------------------------------------------------------------

#[test]
fn a_queue_get_woken_by_put_and_cancelled_before_it_runs_loses_no_item() {
    let event_loop = new_loop();
    let out = Transcript::new();
    let queue = Queue::new(0);
    let g1 = getter(&event_loop, &out, &queue, "g1");
    let g2 = getter(&event_loop, &out, &queue, "g2");
    let (target, q) = (g1.clone(), queue.clone());
    let (outcome, ended) = run(&event_loop, async move {
        sleep(1.0, ()).await?;
        assert!(q.put_nowait("x").is_ok()); // wakes g1, which has not run yet
        assert!(target.cancel(None), "woken, not done: it accepts");
        g2.await
    });
    assert_eq!(outcome.unwrap(), "x");
    assert_eq!(ended, 1.0);
    assert_eq!(out.lines(), ["1.0 g1 cancelled", "1.0 g2 got x"]);
    assert!(g1.cancelled());
    assert_eq!(queue.qsize(), 0);
    assert_eq!(format!("{queue:?}"), "<Queue maxsize=0 qsize=0 tasks=1>");
}

// 11. -----------------------------------------------------------------------

#[test]
fn an_event_wait_cancelled_leaves_the_other_waiters_to_wake_on_set() {
    let event_loop = new_loop();
    let out = Transcript::new();
    let event = Event::new();
    let waiters: Vec<Task<()>> = ["w1", "w2", "w3"]
        .into_iter()
        .map(|name| {
            let (here, said, event) = (event_loop.clone(), out.clone(), event.clone());
            create_task(&event_loop, async move {
                let waited = event.wait().await;
                match &waited {
                    Ok(()) => say(&said, &here, &format!("{name} woke")),
                    Err(_) => say(&said, &here, &format!("{name} cancelled")),
                }
                waited
            })
            .unwrap()
        })
        .collect();
    let (tasks, set) = (waiters.clone(), event.clone());
    let (outcome, ended) = run(&event_loop, async move {
        sleep(1.0, ()).await?;
        assert!(tasks[1].cancel(None));
        yield_now().await?;
        assert_eq!(format!("{set:?}"), "<Event [unset, waiters:2]>");
        sleep(1.0, ()).await?;
        set.set();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await);
        }
        Ok(outcomes)
    });
    let outcomes = outcome.unwrap();
    assert!(outcomes[0].is_ok() && outcomes[2].is_ok());
    assert!(is_cancelled(&outcomes[1]));
    assert_eq!(ended, 2.0);
    assert_eq!(
        out.lines(),
        ["1.0 w2 cancelled", "2.0 w1 woke", "2.0 w3 woke"]
    );
    assert_eq!(
        waiters.iter().map(Task::cancelled).collect::<Vec<_>>(),
        [false, true, false]
    );
}

#[test]
fn a_loop_dropped_with_a_task_whose_done_callback_holds_it_frees_everything() {
    // The task's future holds its done-callbacks, and this callback holds
    // the task: a cycle of `Rc`s that only the loop's end can break.
    let token = Rc::new(());
    {
        let event_loop = new_loop();
        let held = Rc::clone(&token);
        let task = create_task(&event_loop, async move {
            let _held = held;
            sleep(3600.0, ()).await
        })
        .unwrap();
        let holds_task = task.clone();
        let also_held = Rc::clone(&token);
        task.add_done_callback(move |_, _| drop((holds_task, also_held)));
        event_loop.run_once().unwrap(); // the task starts, and waits
        assert_eq!(Rc::strong_count(&token), 3);
        drop(task);
    }
    assert_eq!(
        Rc::strong_count(&token),
        1,
        "the coroutine and the callback are freed"
    );
}
