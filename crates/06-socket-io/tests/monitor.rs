//! The monitor (aiomonitor's console), driven over a real socket: a
//! program with known tasks, the monitor on a free port of 127.0.0.1, and
//! a client that is what `nc` would be, a blocking `TcpStream` on a thread
//! of its own (the loop's executor), each read bounded. Every command is
//! checked by what it answers, and by what it did to the program: the
//! task cancelled cleaned up, the signal sent reached the program's
//! handler. Answers and orders only, never times; each case is bounded.
//! The session the book shows is one run of it, in a process of its own
//! so that its task numbers are always the same.

mod common;

use std::cell::Cell;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::rc::Rc;
use std::time::Duration;

use common::{Case, any_port, run, until};
use demo_support::{Transcript, transcript::assert_matches_file};
use stage01_generator_loop::RealClock;
use stage03_read_readiness::{SelectorEventLoop, SelectorEvents};
use stage04_futures_tasks::{
    Event, FutureError, run_in_executor, run_until_complete, task_outcome, task_table,
};
use stage05_cancellation::{
    Task, add_signal_handler, create_task, remove_signal_handler, sleep, timeout, yield_now,
};
use stage06_socket_io::EpollSelector;
use stage06_socket_io::monitor::{CANCEL_WAIT, CONSOLE_NAME, PROMPT, start_monitor};

// The program the monitor watches, and what runs it, come first in the
// file: the session the book shows names the lines its tasks wait on.

/// A program with known tasks: `sleeper` sleeps an hour; `cleaner` too,
/// and cleans up if cancelled; a handler for SIGUSR1 notes the signal.
struct Program {
    sleeper: Task<()>,
    cleaner: Task<()>,
    /// The line the sleeper calls `sleep` on, once it has.
    slept_at: Rc<Cell<u32>>,
    /// What the program did: the clean-up, the signal.
    log: Transcript,
    /// Set by the SIGUSR1 handler.
    signalled: Event,
}

fn program(event_loop: &SelectorEventLoop) -> Result<Program, FutureError> {
    let slept_at = Rc::new(Cell::new(0));
    let notes = Rc::clone(&slept_at);
    let sleeper = create_task(event_loop, async move {
        let (line, slept) = (line!(), sleep(3600.0, ()));
        notes.set(line);
        slept.await
    })?;
    sleeper.set_name("sleeper");
    let log = Transcript::new();
    let cleans = log.clone();
    let cleaner = create_task(event_loop, async move {
        let slept = sleep(3600.0, ()).await;
        if let Err(FutureError::Cancelled) = slept {
            yield_now().await?; // a clean-up may await
            cleans.say("cleaner: cleaned up");
        }
        slept
    })?;
    cleaner.set_name("cleaner");
    let signalled = Event::new();
    let (hears, tells) = (log.clone(), signalled.clone());
    add_signal_handler(event_loop, libc::SIGUSR1, move |_| {
        hears.say("handler: SIGUSR1");
        tells.set();
    })
    .map_err(|error| FutureError::Exception(Rc::new(error)))?;
    Ok(Program {
        sleeper,
        cleaner,
        slept_at,
        log,
        signalled,
    })
}

/// The session the book shows, and the first case's: every command that
/// works, on the program's tasks.
fn session(client: &mut Client, ids: Ids) -> Vec<String> {
    let commands = [
        "help".to_string(),
        "ps".to_string(),
        format!("where {}", ids.sleeper),
        format!("cancel {}", ids.cleaner),
        "ps".to_string(),
        "signal USR1".to_string(),
        "quit".to_string(),
    ];
    commands.iter().map(|command| client.ask(command)).collect()
}

/// The numbers of the program's tasks.
#[derive(Debug, Clone, Copy)]
struct Ids {
    sleeper: u64,
    cleaner: u64,
}

/// What a case gives back from its loop.
struct Ran<T> {
    /// What the client gave back.
    client: T,
    ids: Ids,
    /// The program's log.
    log: Vec<String>,
    /// `<Task name=sleeper created at ...>`.
    sleeper: String,
    /// The line the sleeper sleeps on.
    slept_at: u32,
}

/// Run `main` as a stage 5 task on a new epoll loop, on the real clock,
/// for at most ten seconds. As common's `run`, but bounded by a timeout
/// scope in the task itself, where `run`'s `wait_for` awaits it from a
/// task of its own: a row more in the table, waiting in stage 5's code.
fn run_alone<T: 'static>(main: impl FnOnce(SelectorEventLoop) -> Case<T, FutureError>) -> T {
    let selector = EpollSelector::new().unwrap();
    let event_loop = SelectorEventLoop::with_selector(RealClock::new(), selector).unwrap();
    let body = main(event_loop.clone());
    let task = create_task(&event_loop, async move {
        let bounded = timeout(Some(10.0))?.run(body).await;
        let failed = |error| panic!("the case failed, or did not end in time: {error}");
        Ok(bounded.unwrap_or_else(failed))
    })
    .unwrap();
    task_outcome(run_until_complete(&event_loop, task))
        .unwrap()
        .unwrap()
}

/// Run the program with a monitor on a free port of 127.0.0.1, and
/// `client` against it on a thread of its own; once the client is done
/// (and, if `signalled`, once the program's handler has seen SIGUSR1),
/// the monitor closes and the program's tasks are cancelled.
fn with_monitor<T: Clone + Send + 'static>(
    signalled: bool,
    client: impl FnOnce(SocketAddr, Ids) -> T + Send + 'static,
) -> Ran<T> {
    run_alone(move |event_loop| {
        Box::pin(async move {
            let program = program(&event_loop)?;
            let monitor = start_monitor(any_port()).await?;
            let ids = Ids {
                sleeper: program.sleeper.id().get(),
                cleaner: program.cleaner.id().get(),
            };
            yield_now().await?; // the program's tasks start, and wait
            let address = monitor.local_addr();
            let talks = run_in_executor(&event_loop, None, move || client(address, ids))?;
            let said = talks.await?;
            if signalled {
                program.signalled.wait().await?;
            }
            monitor.close();
            remove_signal_handler(&event_loop, libc::SIGUSR1)
                .map_err(|error| FutureError::Exception(Rc::new(error)))?;
            for task in [&program.sleeper, &program.cleaner] {
                task.cancel(None);
                let _ended = task.clone().await;
            }
            Ok::<_, FutureError>(Ran {
                client: said,
                ids,
                log: program.log.lines(),
                sleeper: format!(
                    "<Task name=sleeper created at {}>",
                    program.sleeper.created_at()
                ),
                slept_at: program.slept_at.get(),
            })
        })
    })
}

/// A console's client, as `nc` is: a blocking socket whose every read
/// gives up after five seconds, and what a terminal would show of it.
struct Client {
    stream: TcpStream,
    /// What the console printed, and the commands typed after its prompts.
    screen: String,
}

impl Client {
    /// Connected, and greeted: the greeting is on the screen.
    fn connect(address: SocketAddr) -> Self {
        let stream = TcpStream::connect(address).expect("the monitor listens");
        let bound = Some(Duration::from_secs(5));
        stream.set_read_timeout(bound).expect("a timeout");
        let mut client = Self {
            stream,
            screen: String::new(),
        };
        client.answer();
        client
    }

    /// Type `command`: what the console answers, up to its next prompt,
    /// or to the end of the stream.
    fn ask(&mut self, command: &str) -> String {
        self.send(format!("{command}\n").as_bytes());
        self.screen.push_str(&format!("{command}\n"));
        self.answer()
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("the console reads");
    }

    /// What comes up to the next prompt (without it), or to the end.
    fn answer(&mut self) -> String {
        let mut answer = Vec::new();
        let mut byte = [0];
        while !answer.ends_with(PROMPT.as_bytes()) {
            match self.stream.read(&mut byte) {
                Ok(0) => break,
                Ok(_) => answer.push(byte[0]),
                Err(error) => panic!("no answer, or not in time: {error}"),
            }
        }
        let answer = String::from_utf8(answer).expect("the console speaks UTF-8");
        self.screen.push_str(&answer);
        answer.strip_suffix(PROMPT).unwrap_or(&answer).to_string()
    }

    /// Whether the console has hung up: the stream ends here.
    fn hung_up(&mut self) -> bool {
        matches!(self.stream.read(&mut [0]), Ok(0))
    }
}

#[test]
fn the_console_lists_locates_cancels_and_signals() {
    let ran = with_monitor(true, |address, ids| {
        let mut client = Client::connect(address);
        let greeting = client.screen.clone();
        let answers = session(&mut client, ids);
        (greeting, answers, client.hung_up())
    });
    let (greeting, answers, hung_up) = ran.client;
    let Ids { sleeper, cleaner } = ran.ids;
    let [help, ps, where_sleeper, cancelled, ps_after, signal, quit] = &answers[..] else {
        panic!("one answer a command: {answers:#?}");
    };
    assert!(greeting.starts_with("Asyncio Monitor: "), "{greeting}");
    assert!(greeting.ends_with(&format!("Type help for available commands\n{PROMPT}")));
    for command in ["help", "ps", "where", "cancel", "signal", "quit"] {
        assert!(
            help.contains(&format!("\n  {command} ")),
            "{command}: {help}"
        );
    }

    // The table: a row per task, the program's by name and where they
    // sleep, and the console's own, running (it is answering).
    let slept_at = format!("sleep at {}:{}:", file!(), ran.slept_at);
    let row = |table: &str, id: u64| -> String {
        let start = format!("{id:>4}  ");
        let row = table.lines().find(|line| line.starts_with(&start));
        row.unwrap_or_else(|| panic!("no row {id}: {table}"))
            .to_string()
    };
    assert!(ps.lines().next().unwrap().ends_with(" tasks"), "{ps}");
    let sleeper_row = row(ps, sleeper);
    assert!(sleeper_row.contains(" sleeper "), "{sleeper_row}");
    assert!(
        sleeper_row.contains(&format!(" pending  {slept_at}")),
        "{ps}"
    );
    let cleaner_row = row(ps, cleaner);
    assert!(
        cleaner_row.contains(" cleaner    pending  sleep at "),
        "{ps}"
    );
    let console = format!(" {CONSOLE_NAME:<10} running");
    assert_eq!(ps.matches(&console).count(), 1, "{ps}");

    // Where the sleeper waits: made here, asleep on the line it noted.
    let expected = format!("{}\n  awaits {slept_at}", ran.sleeper);
    assert!(where_sleeper.starts_with(&expected), "{where_sleeper}");

    // Cancelled, and cleaned up before the console said so: the clean-up
    // is in the log before the signal, which was sent after the answer.
    assert_eq!(*cancelled, format!("✓ Cancelled task {cleaner}\n"));
    assert!(row(ps_after, cleaner).contains(" cleaner    cancelled"));
    assert!(row(ps_after, sleeper).contains(&slept_at), "{ps_after}");
    assert_eq!(signal, "✓ Sent SIGUSR1 to this process\n");
    assert_eq!(ran.log, ["cleaner: cleaned up", "handler: SIGUSR1"]);

    assert_eq!(quit, "Bye\n");
    assert!(hung_up, "quit closes the connection");
}

#[test]
fn a_mistake_gets_a_clear_answer_and_the_console_carries_on() {
    let ran = with_monitor(false, |address, ids| {
        let mut client = Client::connect(address);
        let console = console_id(&client.ask("ps"));
        let sleeper = ids.sleeper;
        let asks = [
            "".to_string(),
            "frobnicate now".to_string(),
            "where".to_string(),
            "where 1 2".to_string(),
            "where abc".to_string(),
            format!("where {}", u64::MAX),
            "cancel -1".to_string(),
            format!("cancel {}", u64::MAX),
            format!("where {console}"),
            format!("cancel {console}"),
            "signal".to_string(),
            "signal NOPE".to_string(),
            format!("cancel {sleeper}"),
            format!("cancel {sleeper}"),
            format!("where {sleeper}"),
            "exit".to_string(),
        ];
        let answers: Vec<(String, String)> = asks
            .iter()
            .map(|ask| (ask.clone(), client.ask(ask)))
            .collect();
        (console, answers, client.hung_up())
    });
    let (console, answers, hung_up) = ran.client;
    let sleeper = ran.ids.sleeper;
    let max = u64::MAX;
    let expected = [
        "".to_string(),
        "✗ No such command: frobnicate; type help for the list\n".to_string(),
        "✗ Usage: where ID (a task's number, as ps shows it)\n".to_string(),
        "✗ Usage: where ID (a task's number, as ps shows it)\n".to_string(),
        "✗ Not a task id: abc (a number, as ps shows it)\n".to_string(),
        format!("✗ No task {max}\n"),
        "✗ Not a task id: -1 (a number, as ps shows it)\n".to_string(),
        format!("✗ No task {max}\n"),
        format!("<Task name={CONSOLE_NAME} created at "),
        format!("✗ Task {console} is this console; type quit to leave\n"),
        "✗ Usage: signal NAME (as SIGUSR1, or USR1)\n".to_string(),
        "✗ Unknown signal NOPE; one of: SIGHUP, SIGINT, SIGQUIT, SIGTERM, \
         SIGUSR1, SIGUSR2, SIGWINCH\n"
            .to_string(),
        format!("✓ Cancelled task {sleeper}\n"),
        format!("✗ Task {sleeper} is cancelled already\n"),
        format!("{}\n  cancelled: it awaits nothing\n", ran.sleeper),
        "Bye\n".to_string(),
    ];
    for ((ask, answer), expected) in answers.iter().zip(&expected) {
        assert!(answer.starts_with(expected), "{ask:?} answered {answer:?}");
    }
    assert_eq!(answers.len(), expected.len());
    let where_console = &answers[8].1;
    assert!(
        where_console.ends_with("\n  running: it is this console, answering you\n"),
        "{where_console}"
    );
    assert!(hung_up, "exit, as quit, closes the connection");
}

/// The number of the one console's task in a `ps` answer.
fn console_id(ps: &str) -> u64 {
    let named = format!(" {CONSOLE_NAME:<10} ");
    let rows: Vec<&str> = ps.lines().filter(|row| row.contains(&named)).collect();
    let [row] = rows[..] else {
        panic!("one console: {ps}");
    };
    row.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn a_task_that_catches_its_cancellation_is_said_to() {
    // Two tasks of the kind a stage 5 task may be: one that takes the
    // cancellation and returns, one that takes it and sleeps on. And a
    // stage 4 task and a done one, which nothing cancels.
    let ran = run(|event_loop| {
        Box::pin(async move {
            let catcher = create_task(&event_loop, async {
                let _caught = sleep(3600.0, ()).await;
                Ok(())
            })?;
            let refuser = create_task(&event_loop, async {
                let _caught = sleep(3600.0, ()).await;
                sleep(3600.0, ()).await
            })?;
            let go = Event::new();
            let waits = go.clone();
            let stage4 = stage04_futures_tasks::create_task(&event_loop, async move {
                let _set = waits.wait().await;
            })?;
            let done = create_task(&event_loop, async { Ok(()) })?;
            let monitor = start_monitor(any_port()).await?;
            yield_now().await?; // they start
            let address = monitor.local_addr();
            let ids = [catcher.id(), refuser.id(), stage4.id(), done.id()].map(|id| id.get());
            let talks = run_in_executor(&event_loop, None, move || {
                let mut client = Client::connect(address);
                let answers = ids.map(|id| client.ask(&format!("cancel {id}")));
                client.ask("quit");
                answers
            })?;
            let answers = talks.await?;
            monitor.close();
            refuser.cancel(None); // at its second sleep, which it does not catch
            let refused = refuser.clone().await;
            go.set();
            let _both = (stage4.await, done.await);
            Ok::<_, FutureError>((ids, answers, refused, catcher.cancelled()))
        })
    })
    .unwrap();
    let (ids, answers, refused, catcher_cancelled) = ran;
    let [catcher, refuser, stage4, done] = ids;
    assert_eq!(
        answers,
        [
            format!("✗ Task {catcher} caught the cancellation, and ended without it\n"),
            format!("✗ Task {refuser} was cancelled, and has not ended after {CANCEL_WAIT} s\n"),
            format!("✗ Task {stage4} is a stage 4 task, which cannot be cancelled\n"),
            format!("✗ Task {done} is done already\n"),
        ]
    );
    assert!(!catcher_cancelled);
    assert!(matches!(refused, Err(FutureError::Cancelled)));
}

#[test]
fn each_connection_is_a_console_of_its_own_until_it_hangs_up() {
    let ran = run(|event_loop| {
        Box::pin(async move {
            let monitor = start_monitor(any_port()).await?;
            let address = monitor.local_addr();
            let talks = run_in_executor(&event_loop, None, move || {
                let first = Client::connect(address);
                let mut second = Client::connect(address);
                // Both consoles are in the table, one running (this one).
                let ps = second.ask("ps");
                drop(first); // hangs up without a word
                // A line longer than the reader's limit (64 KiB): the
                // console says so and hangs up.
                second.send(&[b'x'; 64 * 1024 + 1]);
                let too_long = second.answer();
                (ps, too_long, second.hung_up())
            })?;
            let answers = talks.await?;
            // Neither console is left: both tasks ended.
            let consoles = |event_loop: &SelectorEventLoop| {
                task_table(event_loop)
                    .iter()
                    .filter(|row| row.task.name == CONSOLE_NAME)
                    .count()
            };
            until(|| consoles(&event_loop) == 0).await?;
            monitor.close();
            Ok::<_, FutureError>(answers)
        })
    })
    .unwrap();
    let (ps, too_long, hung_up) = ran;
    let consoles: Vec<&str> = ps
        .lines()
        .filter(|row| row.contains(&format!(" {CONSOLE_NAME:<10} ")))
        .collect();
    assert_eq!(consoles.len(), 2, "{ps}");
    assert_eq!(
        consoles
            .iter()
            .filter(|row| row.contains(" running"))
            .count(),
        1
    );
    assert_eq!(too_long, "✗ That line is too long; bye\n");
    assert!(hung_up);
}

/// What marks the screen in the output of the process that runs the
/// session alone.
const SCREEN_BEGINS: &str = "--- the screen ---\n";
const SCREEN_ENDS: &str = "--- the screen ends ---\n";

/// Set in the process that runs the session alone.
const ALONE: &str = "MONITOR_SESSION_ALONE";

#[test]
fn the_session_the_book_shows() {
    if std::env::var_os(ALONE).is_some() {
        // The process of its own: run the session, print the screen.
        let ran = with_monitor(true, |address, ids| {
            let mut client = Client::connect(address);
            session(&mut client, ids);
            client.screen
        });
        print!("\n{SCREEN_BEGINS}{}{SCREEN_ENDS}", ran.client);
        return;
    }
    // Task numbers are counted for the whole process, and the other cases
    // run beside this one: the session runs in a process of its own (this
    // test binary again, this case alone), where they always start at 1.
    let alone = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "the_session_the_book_shows", "--nocapture"])
        .env(ALONE, "1")
        .output()
        .expect("the test binary runs again");
    let stdout = String::from_utf8(alone.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&alone.stderr);
    assert!(alone.status.success(), "{stdout}{stderr}");
    let screen = stdout
        .split_once(SCREEN_BEGINS)
        .and_then(|(_, rest)| rest.split_once(SCREEN_ENDS))
        .map(|(screen, _)| screen)
        .unwrap_or_else(|| panic!("no screen in: {stdout}"));
    let expected =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/output/monitor-session.txt");
    assert_matches_file(&expected, screen);
}
