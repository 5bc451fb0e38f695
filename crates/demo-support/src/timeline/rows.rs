//! What both pictures show, gathered from the marks: the span of time, a row
//! per task, and the loop's row of sleeps. Neither picture reads the marks
//! itself.

use super::{EventKind, Mark, Nanos};

/// What both pictures say when there is nothing to draw.
pub(super) const NOTHING_RECORDED: &str = "(nothing recorded)";
/// The label of the loop's row; parenthesised so no task name can pass for it.
pub(super) const LOOP_LABEL: &str = "(loop)";
/// The label of the time axis.
pub(super) const AXIS_LABEL: &str = "time (s)";

// ANCHOR: rows
/// What the pictures show, gathered from the marks: the span of time, one row
/// per task in order of first appearance, and the loop's sleeps.
pub(super) struct Rows {
    pub(super) start: Nanos,
    pub(super) end: Nanos,
    pub(super) tasks: Vec<TaskRow>,
    pub(super) sleeps: Vec<(Nanos, Nanos)>,
}

/// One task's row: when it was resumed, when it completed, and the events
/// marked on it. A row of events alone (stage 3's row of file descriptors
/// found ready) is a row like any other, without a task.
pub(super) struct TaskRow {
    pub(super) name: String,
    pub(super) resumed: Vec<Nanos>,
    pub(super) completed: Vec<Nanos>,
    pub(super) events: Vec<(Nanos, EventKind)>,
}

impl Rows {
    /// The rows for `marks`; `None` if there are none.
    pub(super) fn gather(marks: &[(Nanos, Mark)]) -> Option<Rows> {
        let (first, _) = marks.first()?;
        let mut rows = Rows {
            start: *first,
            end: *first,
            tasks: Vec::new(),
            sleeps: Vec::new(),
        };
        for (at, mark) in marks {
            match mark {
                Mark::Slept { from } => {
                    rows.include(*from);
                    rows.sleeps.push((*from.min(at), *from.max(at)));
                }
                Mark::Resumed { task } => rows.task(task).resumed.push(*at),
                Mark::Completed { task } => rows.task(task).completed.push(*at),
                Mark::Event { row, kind } => rows.task(row).events.push((*at, *kind)),
            }
            rows.include(*at);
        }
        Some(rows)
    }

    /// Widen the span of time to include `time`.
    fn include(&mut self, time: Nanos) {
        self.start = self.start.min(time);
        self.end = self.end.max(time);
    }

    /// The row for the task called `name`, added at the bottom if new.
    fn task(&mut self, name: &str) -> &mut TaskRow {
        // A linear search, not a hash map: it keeps the order of first
        // appearance, and a picture has a handful of rows.
        let index = match self.tasks.iter().position(|task| task.name == name) {
            Some(index) => index,
            None => {
                self.tasks.push(TaskRow {
                    name: name.to_string(),
                    resumed: Vec::new(),
                    completed: Vec::new(),
                    events: Vec::new(),
                });
                self.tasks.len() - 1
            }
        };
        &mut self.tasks[index]
    }

    /// Every row label, tasks first, then the loop's and the axis's.
    pub(super) fn labels(&self) -> impl Iterator<Item = &str> {
        let tasks = self.tasks.iter().map(|task| task.name.as_str());
        tasks.chain([LOOP_LABEL, AXIS_LABEL])
    }

    /// The kinds of event marked, in order of first appearance: the legends
    /// explain these and no others.
    pub(super) fn event_kinds(&self) -> Vec<EventKind> {
        let mut kinds: Vec<EventKind> = Vec::new();
        let marked = self.tasks.iter().flat_map(|task| &task.events);
        for &(_, kind) in marked {
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        kinds
    }
}

impl TaskRow {
    /// The first and last time the task was resumed or completed: the ends
    /// of its lifeline, along which it waits between resumes. `None` for a
    /// row with neither, which has no task and so no lifeline.
    pub(super) fn lifetime(&self) -> Option<(Nanos, Nanos)> {
        let times = self.resumed.iter().chain(&self.completed);
        let first = times.clone().min()?;
        let last = times.max()?;
        Some((*first, *last))
    }
}
// ANCHOR_END: rows

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::examples::{MS, READY, completed, ready, resumed};

    #[test]
    fn rows_come_in_order_of_first_appearance() {
        let marks = [
            (0, resumed("zeta")),
            (MS, resumed("alpha")),
            (2 * MS, completed("alpha")),
            (3 * MS, completed("zeta")),
        ];
        let rows = Rows::gather(&marks).expect("there are marks");
        let labels: Vec<&str> = rows.labels().collect();
        assert_eq!(labels, ["zeta", "alpha", "(loop)", "time (s)"]);
    }

    #[test]
    fn event_marks_join_their_row_and_a_row_of_them_alone_has_no_lifeline() {
        let marks = [
            (0, resumed("reader")),
            (MS, ready("(fd ready)")),
            (MS, ready("reader")),
            (2 * MS, completed("reader")),
        ];
        let rows = Rows::gather(&marks).expect("there are marks");
        assert_eq!(rows.event_kinds(), [READY]);
        let labels: Vec<&str> = rows.labels().collect();
        assert_eq!(labels, ["reader", "(fd ready)", "(loop)", "time (s)"]);
        assert_eq!(rows.tasks[0].events, [(MS, READY)]);
        assert_eq!(rows.tasks[0].lifetime(), Some((0, 2 * MS)));
        assert_eq!(rows.tasks[1].lifetime(), None);
    }
}
