//! The runner, on the virtual clock, Ctrl-C included: the coroutines raise
//! a real SIGINT in this process (`raise`, handled before it returns), and
//! the runner's handler sees it at the loop's next look. Exact times and
//! orders; no waiting.
//!
//! A SIGINT reaches every runner of the process, so the tests of this file
//! take turns.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::sync::{Mutex, MutexGuard, PoisonError};

use signal_hook::consts::SIGINT;
use signal_hook::low_level::raise;
use stage01_generator_loop::VirtualClock;
use stage02_timed_events::AbstractEventLoop;
use stage03_read_readiness::SelectorEventLoop;
use stage04_futures_tasks::FutureError;
use stage05_cancellation::{Runner, RunnerError, create_task, run, sleep};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn take_turn() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the coroutines say, and what the loop reports, stamped with the
/// loop's time.
#[derive(Clone, Default)]
struct Log(Rc<RefCell<Vec<String>>>);

impl Log {
    fn note(&self, event_loop: &SelectorEventLoop, text: &str) {
        self.0
            .borrow_mut()
            .push(format!("{:.3} {text}", event_loop.time()));
    }

    fn hear_reports(&self, event_loop: &SelectorEventLoop) {
        let log = self.clone();
        event_loop.set_exception_handler(move |event_loop, report| {
            log.note(event_loop, &format!("report: {}", report.message));
        });
    }

    fn lines(&self) -> Vec<String> {
        self.0.borrow().clone()
    }
}

/// Main: starts `worker`, presses Ctrl-C at 1 s, and waits for ever,
/// passing its cancellation on.
async fn press_ctrl_c_at_one_second(
    event_loop: SelectorEventLoop,
    log: Log,
    worker: impl std::future::Future<Output = Result<(), FutureError>> + 'static,
) -> Result<(), FutureError> {
    create_task(&event_loop, worker)?.set_name("worker");
    sleep(1.0, ()).await?;
    log.note(&event_loop, "main: Ctrl-C");
    raise(SIGINT).unwrap();
    let slept = sleep(3600.0, ()).await;
    log.note(&event_loop, &format!("main: {slept:?}"));
    slept
}

#[test]
fn ctrl_c_cancels_main_then_every_task_which_cleans_up_with_awaits() {
    let _turn = take_turn();
    let runner = Runner::new(VirtualClock::new()).unwrap();
    let (event_loop, log) = (runner.get_loop().clone(), Log::default());
    log.hear_reports(&event_loop);
    let (here, said) = (event_loop.clone(), log.clone());
    let worker = async move {
        let slept = sleep(3600.0, ()).await;
        if let Err(cancelled) = slept {
            said.note(&here, "worker: cancelled; flushes for 0.5 s");
            sleep(0.5, ()).await?;
            said.note(&here, "worker: flushed");
            return Err(cancelled);
        }
        Ok(())
    };
    let main = press_ctrl_c_at_one_second(event_loop.clone(), log.clone(), worker);
    let outcome = runner.run(main);
    assert!(matches!(
        outcome,
        Err(RunnerError::Interrupted { cut_short: false })
    ));
    runner.close().unwrap();
    assert_eq!(
        log.lines(),
        [
            "1.000 main: Ctrl-C",
            "1.000 main: Err(cancelled)",
            "1.000 worker: cancelled; flushes for 0.5 s",
            "1.500 worker: flushed",
        ],
        "main first, then the worker, whose clean-up awaits; nothing to report"
    );
}

#[test]
fn a_task_that_ignores_its_cancellation_is_reported_after_the_grace_period() {
    let _turn = take_turn();
    let runner = Runner::new(VirtualClock::new()).unwrap().with_grace(2.0);
    let (event_loop, log) = (runner.get_loop().clone(), Log::default());
    log.hear_reports(&event_loop);
    let (here, said) = (event_loop.clone(), log.clone());
    let stubborn = async move {
        loop {
            if sleep(1.0, ()).await.is_err() {
                said.note(&here, "worker: cancelled; sleeps on");
            }
        }
    };
    let main = press_ctrl_c_at_one_second(event_loop.clone(), log.clone(), stubborn);
    let outcome = runner.run(main);
    assert!(matches!(
        outcome,
        Err(RunnerError::Interrupted { cut_short: false })
    ));
    runner.close().unwrap();
    assert_eq!(
        log.lines(),
        [
            "1.000 main: Ctrl-C",
            "1.000 main: Err(cancelled)",
            "1.000 worker: cancelled; sleeps on",
            "3.000 report: Task still pending 2 s after it was cancelled",
            "3.000 report: Task was destroyed but it is pending!",
        ],
        "reported after 2 s, then dropped with the loop: no waiting for ever"
    );
}

#[test]
fn a_second_ctrl_c_during_the_clean_up_ends_it_at_once() {
    let _turn = take_turn();
    let runner = Runner::new(VirtualClock::new()).unwrap();
    let (event_loop, log) = (runner.get_loop().clone(), Log::default());
    log.hear_reports(&event_loop);
    let (here, said) = (event_loop.clone(), log.clone());
    let slow = async move {
        if let Err(cancelled) = sleep(3600.0, ()).await {
            said.note(&here, "worker: cancelled; cleans up for 10 s; Ctrl-C again");
            raise(SIGINT).unwrap();
            sleep(10.0, ()).await?;
            said.note(&here, "worker: cleaned up");
            return Err(cancelled);
        }
        Ok(())
    };
    let main = press_ctrl_c_at_one_second(event_loop.clone(), log.clone(), slow);
    let outcome = runner.run(main);
    assert!(matches!(
        outcome,
        Err(RunnerError::Interrupted { cut_short: false })
    ));
    let closed = runner.close();
    assert!(matches!(
        closed,
        Err(RunnerError::Interrupted { cut_short: true })
    ));
    assert_eq!(
        log.lines(),
        [
            "1.000 main: Ctrl-C",
            "1.000 main: Err(cancelled)",
            "1.000 worker: cancelled; cleans up for 10 s; Ctrl-C again",
            "1.000 report: Task was destroyed but it is pending!",
        ],
        "no 10 s wait: the loop closes at once, dropping the worker"
    );
}

#[test]
fn a_second_ctrl_c_while_main_cleans_up_ends_run_at_once() {
    let _turn = take_turn();
    let log = Log::default();
    let outcome = run(VirtualClock::new(), |event_loop| {
        let (event_loop, log) = (event_loop.clone(), log.clone());
        log.hear_reports(&event_loop);
        async move {
            sleep(1.0, ()).await?;
            raise(SIGINT).unwrap();
            if let Err(cancelled) = sleep(3600.0, ()).await {
                log.note(
                    &event_loop,
                    "main: cancelled; cleans up for 10 s; Ctrl-C again",
                );
                raise(SIGINT).unwrap();
                sleep(10.0, ()).await?;
                log.note(&event_loop, "main: cleaned up");
                return Err(cancelled);
            }
            Ok(())
        }
    });
    assert!(matches!(
        outcome,
        Err(RunnerError::Interrupted { cut_short: true })
    ));
    assert_eq!(
        log.lines(),
        [
            "1.000 main: cancelled; cleans up for 10 s; Ctrl-C again",
            "1.000 report: Task was destroyed but it is pending!",
        ]
    );
}

#[test]
fn run_cancels_what_main_left_and_reports_what_failed_in_its_clean_up() {
    let _turn = take_turn();
    let log = Log::default();
    let outcome = run(VirtualClock::new(), |event_loop| {
        let (event_loop, log) = (event_loop.clone(), log.clone());
        log.hear_reports(&event_loop);
        async move {
            let saver = create_task(&event_loop, async {
                sleep(3600.0, ()).await?;
                Ok(())
            })?;
            saver.set_name("saver");
            let failing = create_task(&event_loop, async {
                let _cancelled = sleep(3600.0, ()).await;
                Err::<(), _>(FutureError::Exception(Rc::new(io::Error::other(
                    "disk full",
                ))))
            })?;
            failing.set_name("failing");
            sleep(1.0, ()).await?;
            Ok(42)
        }
    });
    assert_eq!(outcome.unwrap(), 42, "main's value, though tasks were left");
    assert_eq!(
        log.lines(),
        ["1.000 report: unhandled exception during run() shutdown: disk full"],
        "saver ended cancelled, quietly; failing is reported"
    );
}

#[test]
fn a_main_that_fails_or_cancels_itself_is_not_an_interruption() {
    let _turn = take_turn();
    let failed = run(VirtualClock::new(), |_| async {
        Err::<(), _>(FutureError::Exception(Rc::new(io::Error::other("no"))))
    });
    assert!(matches!(
        failed,
        Err(RunnerError::Main(FutureError::Exception(_)))
    ));
    let cancelled = run(VirtualClock::new(), |_| async {
        Err::<(), _>(FutureError::Cancelled)
    });
    assert!(matches!(
        cancelled,
        Err(RunnerError::Main(FutureError::Cancelled))
    ));
}
