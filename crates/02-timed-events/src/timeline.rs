//! A record of what the loop did, and pictures of it.
//!
//! Mirrors nothing in asyncio (its debug mode logs slow callbacks, but draws
//! nothing). The loop and the task driver add marks as they work (and later
//! stages' events, such as a file descriptor found ready); the renderers draw
//! one row per task with time running across.
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

use crate::seconds::Nanos;

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
    /// Something the loop watches became ready: stage 3 marks a file
    /// descriptor that the selector found readable for a waiting coroutine.
    /// Drawn on the row called `row`, which need not be a task's.
    Ready {
        /// The row to draw it on.
        row: String,
    },
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
    use super::{Mark, Timeline};
    use crate::seconds::Nanos;

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

    pub(super) fn ready(row: &str) -> Mark {
        Mark::Ready {
            row: row.to_string(),
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
