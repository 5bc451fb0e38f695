//! A record of what the loop did, and pictures of it.
//!
//! Mirrors nothing in asyncio (its debug mode logs slow callbacks, but draws
//! nothing). A loop and its task driver add marks as they work; a later stage
//! adds marks of its own kinds ([`EventKind`]: stage 3's "a file descriptor
//! was found ready") without changing anything here. The renderers draw one
//! row per task with time running across.
//!
//! This module keeps the marks. Its submodules draw them:
//!
//! - `rows` gathers what both pictures show: a row per task, the loop's
//!   sleeps, and the span of time they cover;
//! - `axis` maps a time to a column or a pixel, and picks round, labelled
//!   ticks for the time axis;
//! - `text` draws the terminal picture, [`Timeline::render_text`];
//! - `svg` draws the book's picture, [`Timeline::render_svg`].
//!
//! Both pictures are computed with integers only: the same marks always give
//! the same text and the same SVG, byte for byte, so the book's picture can be
//! compared with a fresh run.

mod axis;
mod rows;
mod svg;
mod text;

use std::cell::RefCell;
use std::rc::Rc;

/// A time on the loop's clock, in nanoseconds since it started: stage 2's
/// `Nanos`, which the timeline cannot name (stage 1's demo uses it too).
pub type Nanos = i64;

/// Something the loop did, at a time the timeline stores beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    /// The loop waited from `from` until the time of the mark.
    Slept {
        /// When the wait began.
        from: Nanos,
    },
    /// A task's coroutine was resumed.
    Resumed {
        /// The task's name: its row in the picture.
        task: String,
    },
    /// A task's coroutine completed.
    Completed {
        /// The task's name.
        task: String,
    },
    /// Something of a kind a stage defines happened, such as stage 3's "a
    /// file descriptor was found ready". Drawn on the row called `row`,
    /// which need not be a task's.
    Event {
        /// The row to draw it on.
        row: String,
        /// What happened, and how to draw it.
        kind: EventKind,
    },
}

/// A kind of event a stage marks on timelines, and how both pictures draw
/// it: a character in the terminal, a diamond of a colour in the SVG, and a
/// legend entry, shown only in pictures that have such marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventKind {
    /// The terminal picture's character for it.
    pub symbol: char,
    /// What the legend says it means.
    pub meaning: &'static str,
    /// The SVG diamond's colour, as `#rrggbb`.
    pub colour: &'static str,
}

/// A shared, growing list of `(time, mark)`. Clones add to the same list.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    marks: Rc<RefCell<Vec<(Nanos, Mark)>>>,
}

impl Timeline {
    /// An empty timeline.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a mark made at `at`.
    pub fn record(&self, at: Nanos, mark: Mark) {
        self.marks.borrow_mut().push((at, mark));
    }

    /// Every mark so far, in the order they were made.
    pub fn marks(&self) -> Vec<(Nanos, Mark)> {
        self.marks.borrow().clone()
    }
}

/// Timelines the submodules' tests draw.
#[cfg(test)]
mod examples {
    use super::{EventKind, Mark, Nanos, Timeline};

    pub(super) const MS: Nanos = 1_000_000;
    pub(super) const SECOND: Nanos = 1_000_000_000;

    pub(super) fn resumed(task: &str) -> Mark {
        Mark::Resumed {
            task: task.to_string(),
        }
    }

    pub(super) fn completed(task: &str) -> Mark {
        Mark::Completed {
            task: task.to_string(),
        }
    }

    /// Stage 3's kind of event, as the tests here draw it.
    pub(super) const READY: EventKind = EventKind {
        symbol: 'r',
        meaning: "ready",
        colour: "#8250df",
    };

    pub(super) fn ready(row: &str) -> Mark {
        Mark::Event {
            row: row.to_string(),
            kind: READY,
        }
    }

    pub(super) fn timeline(marks: Vec<(Nanos, Mark)>) -> Timeline {
        let timeline = Timeline::new();
        for (at, mark) in marks {
            timeline.record(at, mark);
        }
        timeline
    }

    /// Two tasks: `a` finishes at 0.5 s, `b` at 1 s; the loop sleeps between.
    pub(super) fn two_tasks() -> Timeline {
        timeline(vec![
            (0, resumed("a")),
            (0, resumed("b")),
            (500 * MS, Mark::Slept { from: 0 }),
            (500 * MS, resumed("a")),
            (500 * MS, completed("a")),
            (SECOND, Mark::Slept { from: 500 * MS }),
            (SECOND, resumed("b")),
            (SECOND, completed("b")),
        ])
    }

    /// A task and a sleep from the earliest time `Nanos` holds to the latest.
    pub(super) fn the_whole_range() -> Timeline {
        timeline(vec![
            (Nanos::MIN, resumed("first")),
            (Nanos::MAX, completed("first")),
            (Nanos::MAX, Mark::Slept { from: Nanos::MIN }),
        ])
    }
}
