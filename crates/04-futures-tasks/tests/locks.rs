//! Events, locks, semaphores and conditions on a virtual clock, each test with the exact order of
//! events: who waits, who is woken, in which iteration. The rules under
//! test: wake-ups go first come first served; a woken waiter keeps its
//! place until its task runs (no barging); a waiter dropped before it
//! returns passes on a wake-up it did not use.

mod common;

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;

use demo_support::Transcript;
use stage02_timed_events::AbstractEventLoop;
use stage04_futures_tasks::{
    BoundedSemaphore, Condition, Event, FutureError, Lock, LockGuard, NotAcquired,
    ReleasedTooManyTimes, Semaphore, SemaphoreGuard, create_task, run_until_complete, sleep,
};

use common::{Abort, new_loop, stamp};

#[test]
fn event_set_wakes_every_waiter_in_the_order_they_waited() {
    let event_loop = new_loop();
    let (event, out) = (Event::new(), Transcript::new());
    // They start waiting in the order c, a, b.
    for (name, delay) in [("a", 0.2), ("b", 0.3), ("c", 0.1)] {
        let (event, out, inner) = (event.clone(), out.clone(), event_loop.clone());
        create_task(&event_loop, async move {
            sleep(delay, ()).await;
            stamp(&out, &inner, &format!("{name} waits"));
            event.wait().await.unwrap();
            stamp(&out, &inner, &format!("{name} woke"));
        })
        .unwrap();
    }
    let (setter, log, inner) = (event.clone(), out.clone(), event_loop.clone());
    run_until_complete(&event_loop, async move {
        sleep(1.0, ()).await;
        stamp(&log, &inner, &format!("main sets {setter:?}"));
        setter.set();
        assert!(setter.is_set());
        sleep(0.0, ()).await;
        setter.clear();
        stamp(&log, &inner, &format!("main cleared it: {setter:?}"));
    })
    .unwrap();
    assert_eq!(
        out.lines(),
        [
            "0.100 #3 c waits",
            "0.200 #5 a waits",
            "0.300 #7 b waits",
            "1.000 #9 main sets <Event [unset, waiters:3]>",
            "1.000 #10 c woke",
            "1.000 #10 a woke",
            "1.000 #10 b woke",
            "1.000 #10 main cleared it: <Event [unset]>",
        ]
    );
}

#[test]
fn waiting_for_an_event_already_set_does_not_wait() {
    let event_loop = new_loop();
    let (event, out) = (Event::new(), Transcript::new());
    event.set();
    let (log, inner) = (out.clone(), event_loop.clone());
    run_until_complete(&event_loop, async move {
        stamp(&log, &inner, "waits");
        event.wait().await.unwrap();
        stamp(&log, &inner, "done waiting");
    })
    .unwrap();
    assert_eq!(out.lines(), ["0.000 #1 waits", "0.000 #1 done waiting"]);
}

/// Tasks that each take `lock`, hold it `hold` seconds and release it,
/// starting to ask for it after their delay (0: in their first step).
fn lock_users(
    event_loop: &stage03_read_readiness::SelectorEventLoop,
    lock: &Lock,
    out: &Transcript,
    users: &[(&'static str, f64)],
    hold: f64,
) {
    for &(name, delay) in users {
        let (lock, out, inner) = (lock.clone(), out.clone(), event_loop.clone());
        create_task(event_loop, async move {
            if delay > 0.0 {
                sleep(delay, ()).await;
            }
            stamp(&out, &inner, &format!("{name} asks"));
            let guard = lock.acquire().await.unwrap();
            stamp(&out, &inner, &format!("{name} holds it"));
            sleep(hold, ()).await;
            stamp(&out, &inner, &format!("{name} releases it"));
            drop(guard);
        })
        .unwrap();
    }
}

#[test]
fn a_lock_serves_its_waiters_first_come_first_served() {
    let event_loop = new_loop();
    let (lock, out) = (Lock::new(), Transcript::new());
    // Created a, b, c; they ask in the order a, c, b.
    lock_users(
        &event_loop,
        &lock,
        &out,
        &[("a", 0.0), ("b", 0.2), ("c", 0.1)],
        1.0,
    );
    run_until_complete(&event_loop, sleep(5.0, ())).unwrap();
    assert_eq!(
        out.lines(),
        [
            "0.000 #1 a asks",
            "0.000 #1 a holds it",
            "0.100 #3 c asks",
            "0.200 #5 b asks",
            "1.000 #7 a releases it",
            "1.000 #8 c holds it",
            "2.000 #10 c releases it",
            "2.000 #11 b holds it",
            "3.000 #13 b releases it",
        ]
    );
    assert!(!lock.locked());
}

// ANCHOR: no_barging
#[test]
fn a_woken_waiter_gets_the_lock_even_if_another_task_asks_first() {
    // a holds the lock, b waits. At 1.000 a releases it, which wakes b; in
    // the same iteration, before b's task runs, c asks (c's timer was set
    // after a's, so both fire in one iteration, a's first). The lock is free,
    // but b is still in the queue: c queues behind it (asyncio 3.11's
    // `acquire` takes the lock at once only if nobody waits).
    let event_loop = new_loop();
    let (lock, out) = (Lock::new(), Transcript::new());
    lock_users(&event_loop, &lock, &out, &[("a", 0.0), ("b", 0.5)], 1.0);
    let (late, log, inner) = (lock.clone(), out.clone(), event_loop.clone());
    create_task(&event_loop, async move {
        sleep(1.0, ()).await;
        stamp(&log, &inner, &format!("c asks: {late:?}"));
        let _guard = late.acquire().await.unwrap();
        stamp(&log, &inner, "c holds it");
    })
    .unwrap();
    run_until_complete(&event_loop, sleep(5.0, ())).unwrap();
    assert_eq!(
        out.lines(),
        [
            "0.000 #1 a asks",
            "0.000 #1 a holds it",
            "0.500 #3 b asks",
            "1.000 #5 a releases it",
            "1.000 #5 c asks: <Lock [unlocked, waiters:1]>",
            "1.000 #6 b holds it",
            "2.000 #8 b releases it",
            "2.000 #9 c holds it",
        ]
    );
}
// ANCHOR_END: no_barging

#[test]
fn release_by_hand_frees_the_lock_and_the_guard_then_leaves_it_alone() {
    let event_loop = new_loop();
    let lock = Lock::new();
    let inner = lock.clone();
    run_until_complete(&event_loop, async move {
        let first = inner.acquire().await.unwrap();
        assert!(inner.locked());
        assert_eq!(inner.release(), Ok(()), "asyncio's explicit release");
        assert!(!inner.locked());
        let second = inner.acquire().await.unwrap();
        drop(first);
        assert!(inner.locked(), "the first guard released the second's lock");
        drop(second);
        assert!(!inner.locked());
        assert_eq!(inner.release(), Err(NotAcquired));
    })
    .unwrap();
    assert_eq!(NotAcquired.to_string(), "the lock is not acquired");
}

/// What the dropped-waiter tests take turns at: a lock or a semaphore.
trait Acquire: Clone + fmt::Debug + 'static {
    type Guard;
    fn acquire(&self) -> impl std::future::Future<Output = Result<Self::Guard, FutureError>>;
}

impl Acquire for Lock {
    type Guard = LockGuard;
    fn acquire(&self) -> impl std::future::Future<Output = Result<LockGuard, FutureError>> {
        Lock::acquire(self)
    }
}

impl Acquire for Semaphore {
    type Guard = SemaphoreGuard;
    fn acquire(&self) -> impl std::future::Future<Output = Result<SemaphoreGuard, FutureError>> {
        Semaphore::acquire(self)
    }
}

/// a takes `taken` (a lock, or a semaphore of one unit) for 1 s, b and c
/// wait for it; `when` drops b's wait.
fn dropped_waiter(taken: impl Acquire, when: &'static str) -> Vec<String> {
    let event_loop = new_loop();
    let out = Transcript::new();
    let abort_b = Abort::default();
    let (held, log, inner, abort) = (
        taken.clone(),
        out.clone(),
        event_loop.clone(),
        abort_b.clone(),
    );
    create_task(&event_loop, async move {
        let guard = held.acquire().await.unwrap();
        stamp(&log, &inner, "a holds it");
        if when == "before it is woken" {
            sleep(0.5, ()).await;
            abort.abort();
            stamp(&log, &inner, "a drops b's wait");
        }
        sleep(1.0, ()).await;
        drop(guard);
        stamp(&log, &inner, "a released it");
        if when == "woken, before it runs" {
            abort.abort();
            stamp(&log, &inner, "a drops b's wait");
        }
    })
    .unwrap();
    for (name, abort) in [("b", abort_b), ("c", Abort::default())] {
        let (taken, log, inner) = (taken.clone(), out.clone(), event_loop.clone());
        create_task(&event_loop, async move {
            stamp(&log, &inner, &format!("{name} asks"));
            match abort.run(taken.acquire()).await {
                Some(_guard) => stamp(&log, &inner, &format!("{name} holds it")),
                None => stamp(&log, &inner, &format!("{name} was dropped: {taken:?}")),
            }
        })
        .unwrap();
    }
    run_until_complete(&event_loop, sleep(5.0, ())).unwrap();
    out.lines()
}

#[test]
fn a_waiter_dropped_before_it_is_woken_just_leaves_the_queue() {
    assert_eq!(
        dropped_waiter(Lock::new(), "before it is woken"),
        [
            "0.000 #1 a holds it",
            "0.000 #1 b asks",
            "0.000 #1 c asks",
            "0.500 #3 a drops b's wait",
            "0.500 #4 b was dropped: <Lock [locked, waiters:1]>",
            "1.500 #6 a released it",
            "1.500 #7 c holds it",
        ]
    );
}

// ANCHOR: woken_and_dropped
#[test]
fn a_woken_waiter_dropped_before_it_runs_passes_the_lock_on() {
    // Without the pass-on, c would wait for ever: the release woke b, and
    // b's wait was dropped without taking the lock.
    assert_eq!(
        dropped_waiter(Lock::new(), "woken, before it runs"),
        [
            "0.000 #1 a holds it",
            "0.000 #1 b asks",
            "0.000 #1 c asks",
            "1.000 #3 a released it",
            "1.000 #3 a drops b's wait",
            "1.000 #4 b was dropped: <Lock [unlocked, waiters:1]>",
            "1.000 #5 c holds it",
        ]
    );
}
// ANCHOR_END: woken_and_dropped

#[test]
fn closing_the_loop_drops_waiting_tasks_and_their_waiters_quietly() {
    // b is woken, c waits: closing the loop drops both tasks, and b's
    // waiter passes its wake-up on to c's, on a loop that no longer runs.
    let event_loop = new_loop();
    let lock = Lock::new();
    let holder = lock.clone();
    let guard =
        run_until_complete(&event_loop, async move { holder.acquire().await.unwrap() }).unwrap();
    for _ in 0..2 {
        let lock = lock.clone();
        create_task(&event_loop, async move {
            let _guard = lock.acquire().await.unwrap();
        })
        .unwrap();
    }
    event_loop.run_once().unwrap();
    drop(guard);
    assert_eq!(format!("{lock:?}"), "<Lock [unlocked, waiters:2]>");
    event_loop.close().unwrap();
    assert_eq!(format!("{lock:?}"), "<Lock [unlocked]>");
}

#[test]
fn a_semaphore_of_two_lets_two_in_and_the_others_wait_their_turn() {
    let event_loop = new_loop();
    let (semaphore, out) = (Semaphore::new(2), Transcript::new());
    for (name, hold) in [("a", 1.0), ("b", 2.0), ("c", 2.0), ("d", 0.5)] {
        let (semaphore, out, inner) = (semaphore.clone(), out.clone(), event_loop.clone());
        create_task(&event_loop, async move {
            let _unit = semaphore.acquire().await.unwrap();
            stamp(&out, &inner, &format!("{name} in: {semaphore:?}"));
            sleep(hold, ()).await;
            stamp(&out, &inner, &format!("{name} out"));
        })
        .unwrap();
    }
    run_until_complete(&event_loop, sleep(5.0, ())).unwrap();
    assert_eq!(
        out.lines(),
        [
            "0.000 #1 a in: <Semaphore [unlocked, value:1]>",
            "0.000 #1 b in: <Semaphore [locked]>",
            "1.000 #3 a out",
            "1.000 #4 c in: <Semaphore [locked, waiters:1]>",
            "2.000 #6 b out",
            "2.000 #7 d in: <Semaphore [locked]>",
            "2.500 #9 d out",
            "3.000 #11 c out",
        ]
    );
    assert_eq!(semaphore.value(), 2);
}

#[test]
fn a_woken_semaphore_waiter_dropped_before_it_runs_hands_its_unit_on() {
    assert_eq!(
        dropped_waiter(Semaphore::new(1), "woken, before it runs"),
        [
            "0.000 #1 a holds it",
            "0.000 #1 b asks",
            "0.000 #1 c asks",
            "1.000 #3 a released it",
            "1.000 #3 a drops b's wait",
            "1.000 #4 b was dropped: <Semaphore [locked, waiters:1]>",
            "1.000 #5 c holds it",
        ]
    );
}

#[test]
fn a_bounded_semaphore_refuses_a_release_above_its_initial_value() {
    let event_loop = new_loop();
    let bounded = BoundedSemaphore::new(1);
    assert_eq!(bounded.release(), Err(ReleasedTooManyTimes));
    let inner = bounded.clone();
    run_until_complete(&event_loop, async move {
        // With the guard: released when dropped.
        let unit = inner.acquire().await.unwrap();
        assert_eq!((inner.value(), inner.locked()), (0, true));
        drop(unit);
        assert_eq!(inner.value(), 1);
        // In asyncio's style: acquire, forget the guard, release by hand.
        inner.acquire().await.unwrap().forget();
        assert_eq!(inner.value(), 0);
        assert_eq!(inner.release(), Ok(()));
        assert_eq!(inner.release(), Err(ReleasedTooManyTimes));
        // Both, by mistake: the guard's release is refused, not counted.
        let unit = inner.acquire().await.unwrap();
        assert_eq!(inner.release(), Ok(()));
        drop(unit);
        assert_eq!(inner.value(), 1);
    })
    .unwrap();
    assert_eq!(
        format!("{bounded:?}"),
        "<BoundedSemaphore [unlocked, value:1]>"
    );
    assert_eq!(
        ReleasedTooManyTimes.to_string(),
        "the bounded semaphore was released too many times"
    );
}

#[test]
fn notify_one_wakes_the_first_waiter_and_notify_all_the_others() {
    let event_loop = new_loop();
    let (condition, out) = (Condition::new(), Transcript::new());
    for (name, delay) in [("a", 0.2), ("b", 0.1), ("c", 0.3)] {
        let (condition, out, inner) = (condition.clone(), out.clone(), event_loop.clone());
        create_task(&event_loop, async move {
            sleep(delay, ()).await;
            let _guard = condition.acquire().await.unwrap();
            stamp(&out, &inner, &format!("{name} waits"));
            condition.wait().await.unwrap();
            stamp(&out, &inner, &format!("{name} notified, holds the lock"));
            sleep(0.5, ()).await;
        })
        .unwrap();
    }
    let (notifier, log, inner) = (condition.clone(), out.clone(), event_loop.clone());
    run_until_complete(&event_loop, async move {
        sleep(1.0, ()).await;
        let guard = notifier.acquire().await.unwrap();
        notifier.notify(1).unwrap();
        stamp(&log, &inner, &format!("main notifies one: {notifier:?}"));
        sleep(0.5, ()).await;
        stamp(&log, &inner, "main releases the lock");
        drop(guard);
        sleep(1.5, ()).await;
        let _guard = notifier.acquire().await.unwrap();
        notifier.notify_all().unwrap();
        stamp(&log, &inner, &format!("main notifies all: {notifier:?}"));
    })
    .unwrap();
    run_until_complete(&event_loop, sleep(2.0, ())).unwrap();
    assert_eq!(
        out.lines(),
        [
            "0.100 #3 b waits",
            "0.200 #5 a waits",
            "0.300 #7 c waits",
            "1.000 #9 main notifies one: <Condition [locked, waiters:3]>",
            "1.500 #12 main releases the lock",
            "1.500 #13 b notified, holds the lock",
            "3.000 #17 main notifies all: <Condition [locked, waiters:2]>",
            "3.000 #18 a notified, holds the lock",
            "3.500 #22 c notified, holds the lock",
        ]
    );
    assert!(!condition.locked());
}

#[test]
fn wait_for_checks_its_predicate_first_and_after_each_notification() {
    let event_loop = new_loop();
    let (condition, out) = (Condition::new(), Transcript::new());
    let (count, checks) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    let (waiter, seen, checked, log, inner) = (
        condition.clone(),
        Rc::clone(&count),
        Rc::clone(&checks),
        out.clone(),
        event_loop.clone(),
    );
    create_task(&event_loop, async move {
        let _guard = waiter.acquire().await.unwrap();
        let at_least_three = || {
            checked.set(checked.get() + 1);
            seen.get() >= 3
        };
        waiter.wait_for(at_least_three).await.unwrap();
        stamp(&log, &inner, &format!("count is {}", seen.get()));
    })
    .unwrap();
    let producer = condition.clone();
    run_until_complete(&event_loop, async move {
        for _ in 0..4 {
            sleep(1.0, ()).await;
            let _guard = producer.acquire().await.unwrap();
            count.set(count.get() + 1);
            producer.notify_all().unwrap();
        }
    })
    .unwrap();
    assert_eq!(out.lines(), ["3.000 #10 count is 3"]);
    assert_eq!(checks.get(), 4, "once first, then once per notification");
}

/// Whether a wait failed with `NotAcquired`, asyncio's `RuntimeError`.
fn not_acquired(waited: Result<(), FutureError>) -> bool {
    matches!(waited, Err(FutureError::Exception(error)) if error.is::<NotAcquired>())
}

#[test]
fn a_condition_waits_and_notifies_only_with_its_lock_held() {
    let event_loop = new_loop();
    let lock = Lock::new();
    let condition = Condition::with_lock(lock.clone());
    assert_eq!(condition.notify(1), Err(NotAcquired));
    assert_eq!(condition.notify_all(), Err(NotAcquired));
    assert_eq!(condition.release(), Err(NotAcquired));
    let inner = condition.clone();
    run_until_complete(&event_loop, async move {
        assert!(not_acquired(inner.wait().await));
        assert!(not_acquired(inner.wait_for(|| false).await));
        assert!(inner.wait_for(|| true).await.is_ok(), "true at once");
        let _guard = lock.acquire().await.unwrap();
        assert!(inner.locked(), "the condition's lock is the one given");
        assert_eq!(inner.notify(1), Ok(()), "nobody waits: nothing to do");
    })
    .unwrap();
}

/// a and b wait on a condition; main notifies one, holding the lock until
/// 1.5, and `when` drops a's wait.
fn dropped_condition_waiter(when: &'static str) -> Vec<String> {
    let event_loop = new_loop();
    let (condition, out) = (Condition::new(), Transcript::new());
    let abort_a = Abort::default();
    for (name, abort) in [("a", abort_a.clone()), ("b", Abort::default())] {
        let (condition, log, inner) = (condition.clone(), out.clone(), event_loop.clone());
        create_task(&event_loop, async move {
            let _guard = condition.acquire().await.unwrap();
            stamp(&log, &inner, &format!("{name} waits"));
            match abort.run(condition.wait()).await {
                Some(_) => stamp(&log, &inner, &format!("{name} notified, holds the lock")),
                None => stamp(&log, &inner, &format!("{name} was dropped")),
            }
        })
        .unwrap();
    }
    let (notifier, log, inner) = (condition.clone(), out.clone(), event_loop.clone());
    run_until_complete(&event_loop, async move {
        sleep(1.0, ()).await;
        let guard = notifier.acquire().await.unwrap();
        notifier.notify(1).unwrap();
        stamp(&log, &inner, "main notifies one");
        if when == "notified, before it runs" {
            abort_a.abort();
        }
        sleep(0.25, ()).await;
        if when == "notified, waiting for the lock" {
            abort_a.abort();
        }
        sleep(0.25, ()).await;
        stamp(&log, &inner, &format!("main still holds it: {notifier:?}"));
        drop(guard);
        sleep(1.0, ()).await;
    })
    .unwrap();
    out.lines()
}

#[test]
fn a_notified_waiter_dropped_before_it_runs_passes_the_notification_on() {
    assert_eq!(
        dropped_condition_waiter("notified, before it runs"),
        [
            "0.000 #1 a waits",
            "0.000 #1 b waits",
            "1.000 #3 main notifies one",
            "1.000 #4 a was dropped",
            "1.500 #9 main still holds it: <Condition [locked]>",
            "1.500 #10 b notified, holds the lock",
        ]
    );
}

#[test]
fn a_notified_waiter_dropped_while_it_waits_for_the_lock_passes_it_on() {
    // a was notified and queues for the lock when it is dropped; its guard
    // is dropped too, and must not release main's lock.
    assert_eq!(
        dropped_condition_waiter("notified, waiting for the lock"),
        [
            "0.000 #1 a waits",
            "0.000 #1 b waits",
            "1.000 #3 main notifies one",
            "1.250 #7 a was dropped",
            "1.500 #10 main still holds it: <Condition [locked]>",
            "1.500 #11 b notified, holds the lock",
        ]
    );
}
