//! Tasks on the selector loop, on a virtual clock unless a test needs a real
//! thread: creation is lazy, awaiters wake in the order they awaited, a task
//! is a future, a panic ends only its task, sleeping, and the wake-ups that
//! other runtimes and tutorials got wrong.

mod manual;

use std::cell::{Cell, RefCell};
use std::future::IntoFuture;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use demo_support::Transcript;
use manual::Manual;
use stage01_generator_loop::{Clock, RealClock, VirtualClock};
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::{PollSelector, SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::{
    Future, FutureError, RunError, all_tasks, create_task, current_task, run_until_complete, sleep,
    yield_now,
};

fn new_loop() -> (SelectorEventLoop, VirtualClock) {
    let clock = VirtualClock::new();
    let event_loop = SelectorEventLoop::with_selector(clock.clone(), PollSelector::new());
    (event_loop.unwrap(), clock)
}

/// Stamp `text` with the loop's time and iteration.
fn stamp(out: &Transcript, event_loop: &SelectorEventLoop, text: &str) {
    let iteration = event_loop.iterations();
    out.say(format!("{:.3} #{iteration} {text}", event_loop.time()));
}

#[test]
fn create_task_runs_nothing_and_tasks_start_in_the_order_created() {
    let (event_loop, _) = new_loop();
    let out = Transcript::new();
    let main = {
        let (event_loop, out) = (event_loop.clone(), out.clone());
        async move {
            for name in ["a", "b", "c"] {
                let (event_loop, out) = (event_loop.clone(), out.clone());
                create_task(&event_loop.clone(), async move {
                    stamp(&out, &event_loop, name)
                })
                .unwrap();
            }
            stamp(&out, &event_loop, "main created three tasks");
            yield_now().await;
            stamp(&out, &event_loop, "main resumed");
        }
    };
    run_until_complete(&event_loop, main).unwrap();
    assert_eq!(
        out.lines(),
        [
            "0.000 #1 main created three tasks",
            "0.000 #2 a",
            "0.000 #2 b",
            "0.000 #2 c",
            "0.000 #2 main resumed",
        ]
    );
}

#[test]
fn tasks_awaiting_one_future_wake_in_the_order_they_awaited() {
    let (event_loop, _) = new_loop();
    let future: Future<&str> = Future::new(&event_loop);
    let out = Transcript::new();
    for name in ["first", "second", "third"] {
        let (future, out) = (future.clone(), out.clone());
        create_task(&event_loop, async move {
            let value = future.await.unwrap();
            out.say(format!("{name} got {value}"));
        })
        .unwrap();
    }
    let setter = future.clone();
    event_loop
        .call_later(1.0, move |_| setter.set_result("it").unwrap())
        .unwrap();
    run_until_complete(&event_loop, async {
        sleep(2.0, ()).await;
    })
    .unwrap();
    assert_eq!(
        out.lines(),
        ["first got it", "second got it", "third got it"]
    );
}

#[test]
fn a_task_is_a_future_awaited_by_another() {
    let (event_loop, _) = new_loop();
    let inner = create_task(&event_loop, async {
        sleep(1.5, ()).await;
        42
    })
    .unwrap();
    inner.set_name("answer");
    let awaited = inner.clone();
    let outer = run_until_complete(&event_loop, async move { awaited.await.unwrap() + 1 });
    assert_eq!(outer.unwrap(), 43);
    assert!(inner.done());
    assert_eq!(inner.result().unwrap(), 42);
    assert_eq!(inner.get_name(), "answer");
    assert_eq!(event_loop.time(), 1.5);
}

#[test]
fn a_panicking_task_ends_with_its_panic_and_the_loop_goes_on() {
    let (event_loop, _) = new_loop();
    let fragile = create_task(&event_loop, async {
        sleep(1.0, ()).await;
        panic!("the coroutine broke");
    })
    .unwrap();
    fragile.set_name("fragile");
    let survivor = run_until_complete(&event_loop, async { sleep(2.0, "still here").await });
    assert_eq!(survivor.unwrap(), "still here");
    let error = fragile.as_future().exception().unwrap().unwrap();
    assert_eq!(
        error.to_string(),
        "task fragile panicked: the coroutine broke"
    );

    let failed = run_until_complete(&event_loop, async { panic!("main broke") });
    assert!(matches!(
        failed,
        Err(RunError::Task(FutureError::Exception(_)))
    ));
}

#[test]
fn sleep_zero_yields_one_iteration_and_a_sleep_ends_on_time() {
    let (event_loop, clock) = new_loop();
    let out = Transcript::new();
    let main = {
        let (event_loop, out) = (event_loop.clone(), out.clone());
        async move {
            stamp(&out, &event_loop, "start");
            sleep(0.0, ()).await;
            stamp(&out, &event_loop, "after sleep(0)");
            sleep(-3.0, ()).await;
            stamp(&out, &event_loop, "after sleep(-3)");
            let value = sleep(Duration::from_millis(1500), "result").await;
            stamp(&out, &event_loop, value);
        }
    };
    run_until_complete(&event_loop, main).unwrap();
    assert_eq!(
        out.lines(),
        [
            "0.000 #1 start",
            "0.000 #2 after sleep(0)",
            "0.000 #3 after sleep(-3)",
            // As in asyncio: the timer sets the future in one iteration,
            // and the task it wakes runs in the next.
            "1.500 #5 result",
        ]
    );
    assert_eq!(clock.now(), Duration::from_millis(1500));
}

/// A future that calls its waker `wakes` times on its first poll, and then
/// only counts its polls: it is never done.
struct WakesItself {
    wakes: usize,
    polls: Rc<Cell<usize>>,
}

impl std::future::Future for WakesItself {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.polls.set(self.polls.get() + 1);
        if self.polls.get() == 1 {
            for _ in 0..self.wakes {
                cx.waker().wake_by_ref();
            }
        }
        Poll::Pending
    }
}

#[test]
fn two_wakes_before_the_step_runs_queue_one_step() {
    // The async book's first executor queues a task once per wake: a task
    // woken twice would be polled twice in the next iteration.
    let (event_loop, _) = new_loop();
    let polls = Rc::new(Cell::new(0));
    let future = WakesItself {
        wakes: 2,
        polls: Rc::clone(&polls),
    };
    create_task(&event_loop, future).unwrap();
    event_loop.run_once().unwrap();
    assert_eq!(polls.get(), 1);
    event_loop.run_once().unwrap();
    assert_eq!(polls.get(), 2, "woken twice, stepped once");
    // One more iteration, without waiting (the task's waker could be woken
    // from anywhere, so the loop would wait for it for ever).
    event_loop.stop();
    event_loop.run_once().unwrap();
    assert_eq!(polls.get(), 2, "and not again: nothing woke it since");
}

#[test]
fn wake_only_queues_the_next_step_and_a_late_or_spurious_wake_is_harmless() {
    let (event_loop, _) = new_loop();
    let manual = Manual::default();
    let task = create_task(&event_loop, manual.clone()).unwrap();
    event_loop.run_once().unwrap();
    assert_eq!(manual.polls.get(), 1);
    let waker = manual.waker.borrow().clone().unwrap();

    // A spurious wake: polled again, still pending, nothing breaks.
    let (seen, wake) = (Rc::clone(&manual.polls), waker.clone());
    event_loop
        .call_soon(move |_| {
            wake.wake();
            assert_eq!(seen.get(), 1, "wake() polled the task inline");
        })
        .unwrap();
    event_loop.run_once().unwrap();
    assert_eq!(
        manual.polls.get(),
        1,
        "the step is queued for the next iteration"
    );
    event_loop.run_once().unwrap();
    assert_eq!(manual.polls.get(), 2);
    assert!(!task.done());

    manual.done.set(true);
    waker.wake_by_ref();
    event_loop.run_once().unwrap();
    assert!(task.done());
    // Woken after it is done: nothing to step, nothing polled. (One more
    // iteration, without waiting: the fast tasks queue nothing for a late
    // wake, and with no task pending the loop has nothing to wait for.)
    waker.wake();
    event_loop.stop();
    event_loop.run_once().unwrap();
    assert_eq!(manual.polls.get(), 3);
}

#[test]
fn an_awaiter_moved_to_another_task_is_woken_there() {
    // smol once kept only the first waker an awaited future saw: a future
    // polled in one task and then awaited in another never woke the second.
    let (event_loop, _) = new_loop();
    let future: Future<&str> = Future::new(&event_loop);
    let handed_over = Rc::new(RefCell::new(None));
    let out = Transcript::new();

    let (awaited, slot) = (future.clone(), Rc::clone(&handed_over));
    create_task(&event_loop, async move {
        let mut awaiting = awaited.into_future();
        // Poll it once here, then hand it to another task.
        std::future::poll_fn(|cx| {
            assert!(Pin::new(&mut awaiting).poll(cx).is_pending());
            Poll::Ready(())
        })
        .await;
        *slot.borrow_mut() = Some(awaiting);
    })
    .unwrap();
    let (slot, log) = (Rc::clone(&handed_over), out.clone());
    create_task(&event_loop, async move {
        yield_now().await;
        let awaiting = slot.borrow_mut().take().expect("handed over");
        log.say(format!("second task got {:?}", awaiting.await));
    })
    .unwrap();
    let setter = future.clone();
    event_loop
        .call_later(1.0, move |_| setter.set_result("it").unwrap())
        .unwrap();
    run_until_complete(&event_loop, sleep(2.0, ())).unwrap();
    assert_eq!(out.lines(), ["second task got Ok(\"it\")"]);
}

#[test]
fn a_task_cannot_await_itself() {
    let (event_loop, _) = new_loop();
    let myself: Rc<RefCell<Option<stage04_futures_tasks::Task<()>>>> = Rc::default();
    let slot = Rc::clone(&myself);
    let outcome = Rc::new(RefCell::new(None));
    let seen = Rc::clone(&outcome);
    let task = create_task(&event_loop, async move {
        yield_now().await;
        let me = slot.borrow_mut().take().unwrap();
        *seen.borrow_mut() = Some(me.await);
    })
    .unwrap();
    *myself.borrow_mut() = Some(task.clone());
    run_until_complete(&event_loop, sleep(1.0, ())).unwrap();
    let outcome = outcome.borrow_mut().take().unwrap();
    assert!(matches!(outcome, Err(FutureError::InvalidState(why)) if why.contains("itself")));
    assert!(task.done());
}

/// A task's outcome is its coroutine's: the future it is, handed out by
/// `as_future` (to be mixed with futures in `wait`), refuses to be set or
/// cancelled from outside, and the coroutine still decides.
#[test]
fn a_task_cannot_be_finished_from_outside() {
    let (event_loop, _) = new_loop();
    let task = create_task(&event_loop, sleep(1.0, "the coroutine's")).unwrap();
    let future = task.as_future();
    let refused = future.set_result("from outside");
    assert!(matches!(refused, Err(FutureError::InvalidState(why)) if why.contains("task")));
    let refused = future.set_exception(std::fmt::Error);
    assert!(matches!(refused, Err(FutureError::InvalidState(_))));
    assert!(
        !future.cancel(),
        "stage 5 cancels a task through its coroutine"
    );
    assert!(!task.done());
    run_until_complete(&event_loop, sleep(2.0, ())).unwrap();
    assert_eq!(task.result().unwrap(), "the coroutine's");
}

#[test]
fn a_wake_from_another_thread_wakes_a_loop_asleep_in_select() {
    // Real clock, nothing scheduled: the loop waits in select() with no
    // timeout until the other thread's wake writes to the self-pipe.
    let event_loop =
        SelectorEventLoop::with_selector(RealClock::new(), PollSelector::new()).unwrap();
    let flag = Arc::new(AtomicBool::new(false));
    let (send_waker, waker) = mpsc::channel::<Waker>();
    let (set, wake) = (Arc::clone(&flag), Mutex::new(Some(waker)));
    let worker = std::thread::spawn(move || {
        let waker = wake.lock().unwrap().take().unwrap().recv().unwrap();
        set.store(true, Ordering::Release);
        waker.wake();
    });
    let sent = Cell::new(false);
    let awaited = std::future::poll_fn(move |cx| {
        if flag.load(Ordering::Acquire) {
            return Poll::Ready("woken from another thread");
        }
        if !sent.replace(true) {
            send_waker.send(cx.waker().clone()).unwrap();
        }
        Poll::Pending
    });
    let outcome = run_until_complete(&event_loop, awaited).unwrap();
    worker.join().unwrap();
    assert_eq!(outcome, "woken from another thread");
}

#[test]
fn current_task_and_all_tasks_name_the_tasks() {
    let (event_loop, _) = new_loop();
    assert_eq!(current_task(), None);
    let background = create_task(&event_loop, sleep(10.0, ())).unwrap();
    background.set_name("background");
    let seen = Rc::new(RefCell::new(Vec::new()));
    let (log, inner_loop) = (Rc::clone(&seen), event_loop.clone());
    let main = create_task(&event_loop, async move {
        let me = current_task().unwrap().name;
        let all: Vec<String> = all_tasks(&inner_loop).into_iter().map(|t| t.name).collect();
        log.borrow_mut().push((me, all));
    })
    .unwrap();
    main.set_name("main");
    main.add_done_callback(|event_loop, _| event_loop.stop());
    event_loop.run_forever().unwrap();
    assert_eq!(
        *seen.borrow(),
        [(
            "main".to_string(),
            vec!["background".to_string(), "main".to_string()]
        )]
    );
    let left: Vec<String> = all_tasks(&event_loop).into_iter().map(|t| t.name).collect();
    assert_eq!(left, ["background"]);
}

#[test]
fn closing_the_loop_drops_its_pending_tasks_and_a_later_wake_does_nothing() {
    let (event_loop, _) = new_loop();
    let kept = Rc::new(());
    let manual = Manual::default();
    let (held, awaited) = (Rc::clone(&kept), manual.clone());
    let task = create_task(&event_loop, async move {
        awaited.await;
        drop(held);
    })
    .unwrap();
    event_loop.run_once().unwrap();
    assert_eq!(Rc::strong_count(&kept), 2);
    event_loop.close().unwrap();
    assert_eq!(Rc::strong_count(&kept), 1, "the pending task was dropped");
    assert!(!task.done());
    let waker = manual.waker.borrow().clone().unwrap();
    waker.wake();
    assert!(matches!(
        create_task(&event_loop, async {}),
        Err(stage02_timed_events::LoopError::Closed)
    ));
}

#[test]
fn run_makes_a_loop_runs_main_reports_what_is_left_and_closes_the_loop() {
    let reports = Rc::new(RefCell::new(Vec::new()));
    let (sink, kept) = (Rc::clone(&reports), Rc::new(RefCell::new(None)));
    let keep = Rc::clone(&kept);
    let value = stage04_futures_tasks::run(VirtualClock::new(), move |event_loop| {
        event_loop.set_exception_handler(move |_, report| {
            sink.borrow_mut()
                .push(format!("{}: {}", report.message, report.handle));
        });
        *keep.borrow_mut() = Some(event_loop.clone());
        let forgotten = create_task(event_loop, sleep(60.0, ())).unwrap();
        forgotten.set_name("forgotten");
        async { sleep(1.0, "main's value").await }
    });
    assert_eq!(value.unwrap(), "main's value");
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1);
    assert!(
        reports[0].starts_with(
            "Task was destroyed but it is pending!: <Task pending name=forgotten created at "
        ),
        "{}",
        reports[0]
    );
    assert!(kept.borrow().as_ref().unwrap().is_closed());
}

#[test]
fn a_task_stays_done_after_run_until_complete_took_its_result() {
    let (event_loop, _) = new_loop();
    let task = create_task(&event_loop, async { 7 }).unwrap();
    assert_eq!(run_until_complete(&event_loop, task.clone()).unwrap(), 7);
    assert!(task.done());
    assert!(matches!(
        task.result(),
        Err(FutureError::InvalidState("the result was taken"))
    ));
}
