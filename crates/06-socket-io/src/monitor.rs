//! A monitor: a console on a local TCP port that lists a running
//! program's tasks, says where one waits, cancels one, and sends the
//! process a signal, as aiomonitor does for asyncio.
//!
//! Mirrors [aiomonitor](https://github.com/aio-libs/aiomonitor):
//! `start_monitor` in `aiomonitor/monitor.py`, and the console's loop and
//! commands in `aiomonitor/termui/commands.py` (`interact`, `do_ps`,
//! `do_where`, `do_cancel`, `do_signal`, `do_help`, `do_exit`), with its
//! prompt, `monitor >>> `, its command names and aliases, and its ✓ and ✗
//! before an answer that did something or failed. `nc 127.0.0.1 PORT` is
//! the client.
//!
//! Where it differs, and why:
//!
//! - aiomonitor serves its console from a thread of its own, on a loop of
//!   its own, and reaches the program's loop across threads. Here the
//!   console is tasks on the loop it watches: the table is read between
//!   two steps, with nothing to lock, and a command sees every task where
//!   it stands. The price: a loop stuck in a blocking call answers nobody,
//!   the monitor included (stage 4's slow-step warning finds those).
//! - `where` has no frames to walk: a suspended Rust future keeps none.
//!   It shows stage 4's note instead ([`Suspension`]): what the task
//!   awaits, and the line that awaited it, with where the task was made
//!   (aiomonitor's `format_running_task_stack` shows the stack and the
//!   chain of tasks that made it).
//! - A task's id is its number (`Task-7`'s 7), not Python's `id(task)`.
//! - `cancel` is stage 5's: the cancellation lands at the `.await` where
//!   the task waits, and the task cleans up. As aiomonitor's `cancel_task`
//!   does, the console then waits for the task to end, but at most
//!   [`CANCEL_WAIT`] seconds, so that a task that refuses cannot hang it.
//! - An empty line is only a new prompt; aiomonitor runs the last command
//!   again, which for `cancel` or `signal` is a surprise.
//! - Plain lines, without telnet's negotiation or a line editor; and no
//!   Python REPL (`console`), `stacktrace`, `ps-terminated` or web page.

use std::ffi::c_int;
use std::io;
use std::net::SocketAddr;

use stage02_timed_events::get_running_loop;
use stage03_read_readiness::SelectorEventLoop;
use stage04_futures_tasks::{
    Event, FutureError, Suspension, TaskRow, TaskState, current_task, keep_done_tasks, task_table,
};
use stage05_cancellation::{all_tasks, create_task, is_timeout, timeout};

use crate::server::{Server, start_server};
use crate::streams::{StreamError, StreamReader, StreamWriter};

/// aiomonitor's prompt (`Monitor.prompt`).
pub const PROMPT: &str = "monitor >>> ";

/// The name of each console's task, as `ps` shows it.
pub const CONSOLE_NAME: &str = "monitor";

/// How long `cancel` waits for the cancelled task to end, in seconds,
/// before it answers that the task has not.
pub const CANCEL_WAIT: f64 = 1.0;

/// The signals `signal NAME` sends, by name: those a program handles, or
/// that end it as asked (SIGKILL and SIGSTOP, which nothing can catch,
/// are left out).
const SIGNALS: [(&str, c_int); 7] = [
    ("SIGHUP", libc::SIGHUP),
    ("SIGINT", libc::SIGINT),
    ("SIGQUIT", libc::SIGQUIT),
    ("SIGTERM", libc::SIGTERM),
    ("SIGUSR1", libc::SIGUSR1),
    ("SIGUSR2", libc::SIGUSR2),
    ("SIGWINCH", libc::SIGWINCH),
];

/// What `help` prints: aiomonitor's commands and aliases, and its words
/// for them where the command is the same.
const HELP: &str = "\
Commands:
  help (?, h)       Show the list of commands
  ps (p)            Show task table
  where (w) ID      Show where a task is suspended, and what it awaits
  cancel (ca) ID    Cancel a task, and wait for it to end
  signal NAME       Send a Unix signal to this process (SIGUSR1, or USR1)
  quit (exit, q)    Leave the monitor client session
";

// ANCHOR: start_monitor
/// aiomonitor's `start_monitor`: a console on `address` (port 0: any free
/// one; see [`Server::local_addr`]), each connection served by a task on
/// the running loop, named [`CONSOLE_NAME`]. The loop keeps its done
/// tasks from now on (stage 4's `keep_done_tasks`), so that `ps` shows a
/// task the console cancelled as cancelled while the program holds it.
/// `close` on the server stops listening; consoles open go on.
///
/// # Errors
/// `Os` if the address cannot be bound; `Loop` outside a running loop.
pub async fn start_monitor(address: SocketAddr) -> Result<Server, StreamError> {
    let event_loop = running_loop()?;
    keep_done_tasks(&event_loop).map_err(StreamError::Loop)?;
    start_server(serve_console, address).await
}

/// One connection: the server made a task for it, which a console cannot
/// rename, so the console is a task of its own, named, that this one
/// awaits (and passes a cancellation on to).
async fn serve_console(reader: StreamReader, writer: StreamWriter) -> Result<(), StreamError> {
    let event_loop = running_loop()?;
    let connection = current_task().map(|task| task.id.get());
    let here = event_loop.clone();
    let console = create_task(&here, async move {
        let own = [connection, current_task().map(|task| task.id.get())];
        interact(&event_loop, &reader, &writer, &own).await
    })
    .map_err(StreamError::Loop)?;
    console.set_name(CONSOLE_NAME);
    console.await.map_err(StreamError::Future)
}
// ANCHOR_END: start_monitor

/// aiomonitor's `interact`: greet, then prompt, read a line, answer it,
/// until `quit` or the end of the stream; the connection closes after.
/// Only a cancellation is an error: a client that goes, or a connection
/// that fails, ends the console and nothing else. `own` holds the numbers
/// of the console's two tasks, which `cancel` refuses.
async fn interact(
    event_loop: &SelectorEventLoop,
    reader: &StreamReader,
    writer: &StreamWriter,
    own: &[Option<u64>],
) -> Result<(), FutureError> {
    let ended = session(event_loop, reader, writer, own).await;
    writer.close();
    match ended {
        Err(error) if error.is_cancelled() => Err(FutureError::Cancelled),
        _ => Ok(()),
    }
}

/// The lines of one console.
async fn session(
    event_loop: &SelectorEventLoop,
    reader: &StreamReader,
    writer: &StreamWriter,
    own: &[Option<u64>],
) -> Result<(), StreamError> {
    let running = task_table(event_loop)
        .iter()
        .filter(|row| matches!(row.state, TaskState::Pending | TaskState::Running))
        .count();
    let s = if running == 1 { "" } else { "s" };
    let intro =
        format!("Asyncio Monitor: {running} task{s} running\nType help for available commands\n");
    writer.write(intro.as_bytes())?;
    loop {
        writer.write(PROMPT.as_bytes())?;
        writer.drain().await?;
        let line = match reader.readline().await {
            Ok(line) if line.is_empty() => return Ok(()), // the client closed its end
            Ok(line) => line,
            // A line longer than the reader's limit stays in its buffer:
            // nothing to do with it but say so and hang up.
            Err(StreamError::LimitOverrun { .. }) => {
                writer.write(fail("That line is too long; bye".to_string()).as_bytes())?;
                return writer.drain().await;
            }
            Err(error) => return Err(error),
        };
        let line = String::from_utf8_lossy(&line);
        match answer(event_loop, line.trim(), own).await? {
            Answer::Say(text) => writer.write(text.as_bytes())?,
            Answer::Quit => {
                writer.write(b"Bye\n")?;
                return writer.drain().await;
            }
        }
    }
}

/// What the console does with a line.
enum Answer {
    /// Print this, then prompt again.
    Say(String),
    /// Say goodbye and hang up.
    Quit,
}

// ANCHOR: answer
/// One command line, answered: aiomonitor's commands, by name or alias.
/// A mistake gets a ✗ and a word on what was expected, never more.
async fn answer(
    event_loop: &SelectorEventLoop,
    line: &str,
    own: &[Option<u64>],
) -> Result<Answer, StreamError> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let text = match words.as_slice() {
        [] => String::new(),
        ["help" | "h" | "?"] => HELP.to_string(),
        ["ps" | "p"] => ps(event_loop),
        ["where" | "w", id] => match parse_id(id) {
            Ok(id) => where_task(event_loop, id),
            Err(mistake) => mistake,
        },
        ["cancel" | "ca", id] => match parse_id(id) {
            Ok(id) => cancel(event_loop, id, own).await?,
            Err(mistake) => mistake,
        },
        ["signal", name] => send_signal(name),
        ["quit" | "exit" | "q"] => return Ok(Answer::Quit),
        [command @ ("where" | "w" | "cancel" | "ca"), ..] => fail(format!(
            "Usage: {command} ID (a task's number, as ps shows it)"
        )),
        ["signal", ..] => fail("Usage: signal NAME (as SIGUSR1, or USR1)".to_string()),
        [command, ..] => fail(format!(
            "No such command: {command}; type help for the list"
        )),
    };
    Ok(Answer::Say(text))
}
// ANCHOR_END: answer

/// aiomonitor's `print_ok`, as a line.
fn ok(message: String) -> String {
    format!("✓ {message}\n")
}

/// aiomonitor's `print_fail`, as a line.
fn fail(message: String) -> String {
    format!("✗ {message}\n")
}

/// A task's number, or what to say about a word that is not one.
fn parse_id(word: &str) -> Result<u64, String> {
    word.parse()
        .map_err(|_| fail(format!("Not a task id: {word} (a number, as ps shows it)")))
}

/// aiomonitor's `do_ps`: how many tasks, then stage 4's table, a row each.
fn ps(event_loop: &SelectorEventLoop) -> String {
    let rows = task_table(event_loop);
    let s = if rows.len() == 1 { "" } else { "s" };
    let mut text = format!("{} task{s}\n", rows.len());
    // The columns of `TaskRow`'s `Display`.
    let header = format!("{:>4}  {:<10} {:<8} {}\n", "id", "name", "state", "awaits");
    text.push_str(&header);
    for row in rows {
        text.push_str(&format!("{row}\n"));
    }
    text
}

/// The row of task `id`, if the table has it.
fn row_of(event_loop: &SelectorEventLoop, id: u64) -> Option<TaskRow> {
    let rows = task_table(event_loop);
    rows.into_iter().find(|row| row.task.id.get() == id)
}

// ANCHOR: where_task
/// aiomonitor's `do_where`: the task, then what it awaits and where.
fn where_task(event_loop: &SelectorEventLoop, id: u64) -> String {
    let Some(row) = row_of(event_loop, id) else {
        return fail(format!("No task {id}"));
    };
    let state = match (row.state, row.suspended) {
        (TaskState::Pending, Some(Suspension { awaiting, at })) => {
            format!("awaits {awaiting} at {at}")
        }
        (TaskState::Pending, None) => "pending, where is not known: it has not started, \
             or what it awaits notes nothing"
            .to_string(),
        (TaskState::Running, _) => "running: it is this console, answering you".to_string(),
        (TaskState::Done, _) => "done: it awaits nothing".to_string(),
        (TaskState::Cancelled, _) => "cancelled: it awaits nothing".to_string(),
    };
    format!("{}\n  {state}\n", row.task)
}
// ANCHOR_END: where_task

// ANCHOR: cancel
/// aiomonitor's `do_cancel` (and `cancel_task`): stage 5's `cancel`,
/// then wait for the task to end, at most `CANCEL_WAIT` seconds, and say
/// how it ended.
async fn cancel(
    event_loop: &SelectorEventLoop,
    id: u64,
    own: &[Option<u64>],
) -> Result<String, StreamError> {
    if own.contains(&Some(id)) {
        return Ok(fail(format!(
            "Task {id} is this console; type quit to leave"
        )));
    }
    let found = all_tasks(event_loop)
        .into_iter()
        .find(|(info, _)| info.id.get() == id);
    let Some((_, task)) = found else {
        // Not a pending stage 5 task: the table says what it is.
        let why = match row_of(event_loop, id).map(|row| row.state) {
            None => format!("No task {id}"),
            Some(TaskState::Done) => format!("Task {id} is done already"),
            Some(TaskState::Cancelled) => format!("Task {id} is cancelled already"),
            Some(_) => format!("Task {id} is a stage 4 task, which cannot be cancelled"),
        };
        return Ok(fail(why));
    };
    let ended = Event::new();
    let tells = ended.clone();
    task.add_done_callback(move |_| tells.set());
    task.cancel(None);
    let scope = timeout(Some(CANCEL_WAIT)).map_err(StreamError::Future)?;
    match scope.run(ended.wait()).await {
        Ok(()) if task.cancelled() => Ok(ok(format!("Cancelled task {id}"))),
        Ok(()) => Ok(fail(format!(
            "Task {id} caught the cancellation, and ended without it"
        ))),
        Err(error) if is_timeout(&error) => Ok(fail(format!(
            "Task {id} was cancelled, and has not ended after {CANCEL_WAIT} s"
        ))),
        Err(error) => Err(StreamError::Future(error)), // this console, cancelled
    }
}
// ANCHOR_END: cancel

// ANCHOR: send_signal
/// aiomonitor's `do_signal`: send this process the signal `name` (with or
/// without its `SIG`, in any case), as `kill(getpid(), signal)`. A
/// handler the program added (stage 5's `add_signal_handler`) runs on the
/// loop, a later turn; without one, the signal does what it does by
/// default, which for most of them is to end the process.
fn send_signal(name: &str) -> String {
    let upper = name.to_ascii_uppercase();
    let full = match upper.strip_prefix("SIG") {
        Some(_) => upper,
        None => format!("SIG{upper}"),
    };
    let Some(&(name, signal)) = SIGNALS.iter().find(|(known, _)| *known == full) else {
        let known: Vec<&str> = SIGNALS.iter().map(|(known, _)| *known).collect();
        return fail(format!(
            "Unknown signal {name}; one of: {}",
            known.join(", ")
        ));
    };
    let Ok(pid) = libc::pid_t::try_from(std::process::id()) else {
        return fail("This process's id does not fit a pid_t".to_string());
    };
    // SAFETY: kill(2) takes two integers, our own pid and a signal from
    // the table above, and touches no memory of this program's.
    #[allow(unsafe_code)]
    let sent = unsafe { libc::kill(pid, signal) };
    if sent == 0 {
        ok(format!("Sent {name} to this process"))
    } else {
        let error = io::Error::last_os_error();
        fail(format!("Cannot send {name}: {error}"))
    }
}
// ANCHOR_END: send_signal

/// The running loop, as the streams name its absence.
fn running_loop() -> Result<SelectorEventLoop, StreamError> {
    get_running_loop().map_err(StreamError::Loop)
}
