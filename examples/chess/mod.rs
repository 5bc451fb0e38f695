//! Scenario 9's simultaneous chess exhibition, simulated on stage 2's loop and
//! its virtual clock. `cargo run --example chess_exhibition` prints it;
//! `tests/examples.rs` checks its arithmetic.
//!
//! Each game is a coroutine: the master moves, then the opponent thinks, and
//! so on for every move pair. The loop resumes each game when its wait is
//! over, so 24 opponents can think at the same time, as they do in the hall.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use stage01_generator_loop::{AsyncCoroutine, Coroutine, VirtualClock, Yielder};
use stage02_timed_events::{EventLoop, LoopError, RunCoroutines, SleepUntil, sleep, sleep_until};

/// The shape of an exhibition: how many boards, how long a game, who thinks
/// how fast.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Exhibition {
    /// How many opponents, one board each.
    pub(crate) boards: u32,
    /// How many times each side moves in a game.
    pub(crate) move_pairs: u32,
    /// How long the master takes to make one move.
    pub(crate) master_move: Duration,
    /// How long an opponent takes to reply.
    pub(crate) opponent_move: Duration,
}

/// The exhibition of "How does asyncio enable parallel IO waits?": 24 boards, 30 move pairs, 5 s against 55 s.
pub(crate) const SOURCE: Exhibition = Exhibition {
    boards: 24,
    move_pairs: 30,
    master_move: Duration::from_secs(5),
    opponent_move: Duration::from_secs(55),
};

/// What a simulated exhibition measured.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Outcome {
    /// When each game ended, board 1 first.
    pub(crate) finished: Vec<Duration>,
    /// How long the master spent making moves.
    pub(crate) master_moving: Duration,
    /// How long the master stood with nothing to do, waiting for a reply.
    pub(crate) master_waiting: Duration,
}

impl Outcome {
    /// How long the whole exhibition took: until the last game ended.
    pub(crate) fn total(&self) -> Duration {
        self.finished.iter().copied().max().unwrap_or_default()
    }
}

// ANCHOR: master
/// The master, as the games see her: the time at which she is next free.
///
/// What is real here? The opponents think in parallel, each in their own
/// head, so an opponent's 55 s are a plain `sleep`: the game waits, and the
/// loop runs other games meanwhile, as asyncio does while a socket has no
/// data yet. The master is different: she is one person and makes one move
/// at a time. If a game just slept for her 5 s, the games would all move
/// at once, as if there were 24 masters in the hall.
///
/// In the usual telling she is the CPU, and her moves are the loop's thread
/// computing. But this program *simulates* the hall: the loop is its clock,
/// not its master. Making the loop's thread "be busy" for 5 s would either
/// pass no virtual time at all (only the loop moves the virtual clock, by
/// waiting for the next timer) or, on a real clock, freeze the whole hall,
/// opponents included. So her being busy is data: a game books her next
/// free slot, first come first served, and sleeps until its move is made.
#[derive(Debug, Clone, Default)]
struct Master {
    free_at: Rc<Cell<Duration>>,
    moving: Rc<Cell<Duration>>,
    waiting: Rc<Cell<Duration>>,
}

impl Master {
    /// Wait for the master, then for her move: `think` after she is free.
    async fn make_move(&self, co: &Yielder<SleepUntil>, think: Duration) {
        let now = co.now();
        let free_at = self.free_at.get();
        // She is free before we ask: the gap is time she stood waiting.
        if now > free_at {
            self.waiting.set(self.waiting.get() + (now - free_at));
        }
        let done = now.max(free_at) + think;
        self.free_at.set(done);
        self.moving.set(self.moving.get() + think);
        sleep_until(co, done).await;
    }
}
// ANCHOR_END: master

// ANCHOR: game
/// One board's game: every move pair is the master's move, then the
/// opponent's reply. Returns when the game ended.
async fn game(co: Yielder<SleepUntil>, exhibition: Exhibition, master: Master) -> Duration {
    for _ in 0..exhibition.move_pairs {
        master.make_move(&co, exhibition.master_move).await;
        sleep(&co, exhibition.opponent_move).await;
    }
    co.now()
}
// ANCHOR_END: game

/// A game coroutine for every board, named for the loop's reports.
fn games(
    exhibition: Exhibition,
    master: &Master,
) -> Vec<(
    String,
    impl Coroutine<Yield = SleepUntil, Output = Duration> + 'static,
)> {
    (1..=exhibition.boards)
        .map(|board| {
            let master = master.clone();
            let coroutine = AsyncCoroutine::new(move |co| game(co, exhibition, master));
            (format!("board {board}"), coroutine)
        })
        .collect()
}

fn outcome(finished: Vec<Duration>, master: &Master) -> Outcome {
    Outcome {
        finished,
        master_moving: master.moving.get(),
        master_waiting: master.waiting.get(),
    }
}

/// The exhibition played one game after another: the master stays at a
/// board until its game is over, waiting through every reply.
pub(crate) fn one_board_at_a_time(exhibition: Exhibition) -> Result<Outcome, LoopError> {
    let event_loop = EventLoop::new(VirtualClock::new());
    let master = Master::default();
    let finished = games(exhibition, &master)
        .into_iter()
        .map(|(name, game)| event_loop.run_until_complete(&name, game))
        .collect::<Result<_, _>>()?;
    Ok(outcome(finished, &master))
}

/// The exhibition played board to board: every game runs at once, and a
/// game waits for the master only when it is her turn to move there.
pub(crate) fn board_to_board(exhibition: Exhibition) -> Result<Outcome, LoopError> {
    let event_loop = EventLoop::new(VirtualClock::new());
    let master = Master::default();
    let finished = event_loop.gather(games(exhibition, &master))?;
    Ok(outcome(finished, &master))
}

/// A duration in whole hours, minutes and seconds: `1 h 00 min 55 s`.
/// Fractions of a second are dropped; the exhibition has none.
pub(crate) fn hms(duration: Duration) -> String {
    let seconds = duration.as_secs();
    format!(
        "{} h {:02} min {:02} s",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}
