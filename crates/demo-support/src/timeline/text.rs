//! The terminal picture: a row of characters per task and for the loop, a
//! ruler and its labels for the time axis, and a legend, all in a given
//! number of columns.

use super::axis::{Axis, Scale, Tick};
use super::rows::{AXIS_LABEL, LOOP_LABEL, NOTHING_RECORDED, Rows, TaskRow};
use super::{EventKind, Nanos, Timeline};

// The picture's characters, which the legend explains (but for the ruler's).
const RESUMED: char = 'o';
const COMPLETED: char = '*';
const WAITING: char = '.';
const ASLEEP: char = '~';
const TICK: char = '|';
const RULE: char = '-';
/// Columns from the end of a tick's label to the next tick, at the least.
const TICK_LABEL_GAP: i64 = 4;
/// Spaces between two labels, at the least, once the last one has been moved
/// back from the right edge.
const LABEL_SPACE: i64 = 2;

impl Timeline {
    // ANCHOR: render_text
    /// A terminal picture: a row per task, in order of first appearance, with
    /// `o` where it was resumed, `*` where it completed and `.` while it
    /// waited; a row for the loop with `~` where it slept; and a time axis in
    /// seconds; then a legend. Time runs across `width` columns (at least
    /// one), after the row labels. No line ends in a space, and the last has
    /// no newline.
    pub fn render_text(&self, width: usize) -> String {
        let Some(rows) = Rows::gather(&self.marks()) else {
            return NOTHING_RECORDED.to_string();
        };
        let width = width.max(1);
        let Axis { scale, ticks } = Axis::new(rows.start, rows.end, width as i64 - 1, |s, t| {
            labels_fit(t, s, width)
        });

        let mut lines: Vec<(&str, Vec<char>)> = rows
            .tasks
            .iter()
            .map(|task| (task.name.as_str(), task_cells(task, &scale, width)))
            .collect();
        lines.push((LOOP_LABEL, sleep_cells(&rows.sleeps, &scale, width)));
        lines.push(("", ruler_cells(&ticks, &scale, width)));
        lines.push((AXIS_LABEL, label_cells(&ticks, &scale, width)));

        let label_width = rows.labels().map(|l| l.chars().count()).max();
        let label_width = label_width.unwrap_or_default();
        let mut text: Vec<String> = lines
            .into_iter()
            .map(|(label, cells)| {
                let cells: String = cells.into_iter().collect();
                format!("{label:<label_width$}  {cells}")
            })
            .collect();
        for line in legend(width, &rows.event_kinds()) {
            text.push(format!("{:label_width$}  {line}", ""));
        }
        let text: Vec<&str> = text.iter().map(|line| line.trim_end()).collect();
        text.join("\n")
    }
    // ANCHOR_END: render_text
}

/// What the characters mean, in lines of at most `width` columns (though an
/// entry is never split, so one wider than that stands alone): the four
/// every picture has, then each kind of event it shows.
fn legend(width: usize, kinds: &[EventKind]) -> Vec<String> {
    let mut entries = vec![
        format!("{RESUMED} resumed"),
        format!("{COMPLETED} completed"),
        format!("{WAITING} waiting"),
        format!("{ASLEEP} loop asleep"),
    ];
    for kind in kinds {
        entries.push(format!("{} {}", kind.symbol, kind.meaning));
    }
    let mut lines = Vec::new();
    let mut line = String::new();
    for entry in entries {
        if !line.is_empty() && line.len() + 2 + entry.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push_str("  ");
        }
        line.push_str(&entry);
    }
    lines.push(line);
    lines
}

/// A task's row: its lifeline, then its resumes, its events and its
/// completions, each drawn over the last, so that a completion shows even
/// where the task was also resumed in the same column.
fn task_cells(task: &TaskRow, scale: &Scale, width: usize) -> Vec<char> {
    let mut cells = vec![' '; width];
    if let Some((first, last)) = task.lifetime() {
        fill(&mut cells, scale.at(first), scale.at(last), WAITING);
    }
    for &at in &task.resumed {
        fill(&mut cells, scale.at(at), scale.at(at), RESUMED);
    }
    for &(at, kind) in &task.events {
        fill(&mut cells, scale.at(at), scale.at(at), kind.symbol);
    }
    for &at in &task.completed {
        fill(&mut cells, scale.at(at), scale.at(at), COMPLETED);
    }
    cells
}

/// The loop's row. A sleep of two columns or more leaves out its end
/// columns, where the loop was awake and ran callbacks, so that back-to-back
/// sleeps show the wake-up between them. A shorter sleep is drawn whole, so
/// that it does not vanish from a long run, but never over such a wake-up:
/// on a real clock, timers due microseconds apart make the loop sleep that
/// long between them, and the wake-up would disappear.
fn sleep_cells(sleeps: &[(Nanos, Nanos)], scale: &Scale, width: usize) -> Vec<char> {
    let spans = sleeps
        .iter()
        .map(|&(from, to)| (scale.at(from), scale.at(to)));
    let (long, short): (Vec<_>, Vec<_>) = spans.partition(|(from, to)| to - from >= 2);
    let mut cells = vec![' '; width];
    for &(from, to) in &long {
        fill(&mut cells, from + 1, to - 1, ASLEEP);
    }
    let awake = |column: i64| {
        long.iter()
            .any(|&(from, to)| column == from || column == to)
    };
    for (from, to) in short {
        for column in (from..=to).filter(|&column| !awake(column)) {
            fill(&mut cells, column, column, ASLEEP);
        }
    }
    cells
}

/// The axis's rule: `|` at each tick, `-` between.
fn ruler_cells(ticks: &[Tick], scale: &Scale, width: usize) -> Vec<char> {
    let mut cells = vec![RULE; width];
    for tick in ticks {
        fill(&mut cells, scale.at(tick.at), scale.at(tick.at), TICK);
    }
    cells
}

/// The ticks' labels, where [`label_starts`] puts them.
fn label_cells(ticks: &[Tick], scale: &Scale, width: usize) -> Vec<char> {
    let mut cells = vec![' '; width];
    for (tick, start) in ticks.iter().zip(label_starts(ticks, scale, width)) {
        for (offset, c) in (0..).zip(tick.label.chars()) {
            fill(&mut cells, start + offset, start + offset, c);
        }
    }
    cells
}

/// Whether the ticks are far enough apart for their labels, and the labels,
/// where [`label_starts`] puts them, all fit.
fn labels_fit(ticks: &[Tick], scale: &Scale, width: usize) -> bool {
    let apart = ticks.windows(2).all(|pair| {
        let length = pair[0].label.chars().count() as i64;
        scale.at(pair[1].at) - scale.at(pair[0].at) >= length + TICK_LABEL_GAP
    });
    apart && label_starts(ticks, scale, width).len() == ticks.len()
}

/// Where each label starts: at its tick, or ending there if it would run past
/// the right edge. Stops before the first label that would come closer than
/// [`LABEL_SPACE`] to the one before it.
fn label_starts(ticks: &[Tick], scale: &Scale, width: usize) -> Vec<i64> {
    let mut starts: Vec<i64> = Vec::new();
    let mut free_from = 0;
    for tick in ticks {
        let length = tick.label.chars().count() as i64;
        let mut start = scale.at(tick.at);
        if start + length > width as i64 {
            start = (start + 1 - length).max(0);
        }
        if start < free_from {
            break;
        }
        starts.push(start);
        free_from = start + length + LABEL_SPACE;
    }
    starts
}

/// Set the columns from `from` to `to`, inclusive, that are in the row:
/// positions are computed freely, and whatever falls off either end is cut.
fn fill(cells: &mut [char], from: i64, to: i64, c: char) {
    for column in from.max(0)..=to {
        match usize::try_from(column).ok().and_then(|i| cells.get_mut(i)) {
            Some(cell) => *cell = c,
            None => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::Mark;
    use crate::timeline::examples::{
        MS, SECOND, completed, ready, resumed, the_whole_range, timeline, two_tasks,
    };

    /// The legend, wrapped for a picture less than 23 columns wide.
    const NARROW_LEGEND: [&str; 4] = [
        "          o resumed",
        "          * completed",
        "          . waiting",
        "          ~ loop asleep",
    ];

    #[test]
    fn rows_marks_and_sleeps_land_in_their_columns() {
        // 11 columns for 1 s: a column per 0.1 s.
        let expected = [
            "a         o....*",
            "b         o.........*",
            "(loop)     ~~~~ ~~~~",
            "          |---------|",
            "time (s)  0         1",
        ];
        let expected = [&expected[..], &NARROW_LEGEND].concat().join("\n");
        assert_eq!(two_tasks().render_text(11), expected);
    }

    #[test]
    fn ticks_get_finer_as_the_picture_widens() {
        let text = two_tasks().render_text(41);
        let axis: Vec<&str> = text.lines().skip(3).take(2).collect();
        assert_eq!(
            axis,
            [
                "          |-------|-------|-------|-------|-------|",
                "time (s)  0.0     0.2     0.4     0.6     0.8   1.0",
            ]
        );
    }

    #[test]
    fn a_label_that_would_run_past_the_edge_ends_at_its_tick() {
        let marks = vec![(0, resumed("a")), (500 * MS, completed("a"))];
        let text = timeline(marks).render_text(8);
        let axis: Vec<&str> = text.lines().skip(2).take(2).collect();
        assert_eq!(axis, ["          |------|", "time (s)  0.0  0.5"]);
    }

    #[test]
    fn back_to_back_sleeps_show_the_wake_up_and_short_ones_still_show() {
        // A column per millisecond. Long sleeps lose their end columns; a
        // sleep within one column shows, unless it is at a wake-up.
        let marks = vec![
            (4 * MS, Mark::Slept { from: 0 }),
            (4 * MS + 10_000, Mark::Slept { from: 4 * MS }),
            (7 * MS + 10_000, Mark::Slept { from: 7 * MS }),
            (10 * MS, Mark::Slept { from: 8 * MS }),
        ];
        let text = timeline(marks).render_text(11);
        assert_eq!(text.lines().next(), Some("(loop)     ~~~   ~ ~"));
    }

    #[test]
    fn the_axis_begins_at_a_round_time_before_the_first_mark() {
        // As on a real clock: the first mark comes microseconds after zero.
        let marks = vec![(47_000, resumed("a")), (500 * MS + 1_234, completed("a"))];
        let lines: Vec<String> = timeline(marks)
            .render_text(11)
            .lines()
            .map(String::from)
            .collect();
        assert_eq!(lines[0], "a         o.........*");
        assert_eq!(lines[2], "          |---------|");
        assert_eq!(lines[3], "time (s)  0.0     0.5");
    }

    #[test]
    fn the_legend_wraps_to_the_width() {
        let text = timeline(vec![(0, resumed("a"))]).render_text(30);
        let legend: Vec<&str> = text.lines().skip(4).collect();
        assert_eq!(
            legend,
            [
                "          o resumed  * completed",
                "          . waiting  ~ loop asleep"
            ]
        );
    }

    #[test]
    fn event_marks_draw_their_symbol_and_join_the_legend() {
        // `two_tasks`, with `b` found ready at 0.5 s and at 0.8 s, and a row
        // of those marks alone: no lifeline there.
        let with_ready = timeline(two_tasks().marks());
        for at in [500 * MS, 800 * MS] {
            with_ready.record(at, ready("b"));
            with_ready.record(at, ready("(fds)"));
        }
        let expected = [
            "a         o....*",
            "b         o....r..r.*",
            "(fds)          r  r",
            "(loop)     ~~~~ ~~~~",
            "          |---------|",
            "time (s)  0         1",
        ];
        let legend = [&NARROW_LEGEND[..], &["          r ready"]].concat();
        assert_eq!(
            with_ready.render_text(11),
            [&expected[..], &legend].concat().join("\n")
        );
        let wide = with_ready.render_text(60);
        assert_eq!(
            wide.lines().last(),
            Some("          o resumed  * completed  . waiting  ~ loop asleep  r ready")
        );
    }

    #[test]
    fn an_empty_timeline_says_so() {
        assert_eq!(Timeline::new().render_text(60), "(nothing recorded)");
    }

    #[test]
    fn a_single_mark_is_at_the_start_with_its_exact_time() {
        let text = timeline(vec![(250 * MS, resumed("only"))]).render_text(10);
        let expected = [
            "only      o",
            "(loop)",
            "          |---------",
            "time (s)  0.25",
        ];
        assert_eq!(text, [&expected[..], &NARROW_LEGEND].concat().join("\n"));
    }

    #[test]
    fn marks_all_at_time_zero_share_the_first_column() {
        let marks = vec![
            (0, resumed("a")),
            (0, Mark::Slept { from: 0 }),
            (0, completed("a")),
        ];
        let text = timeline(marks).render_text(5);
        let expected = [
            "a         *",
            "(loop)    ~",
            "          |----",
            "time (s)  0",
        ];
        assert_eq!(text, [&expected[..], &NARROW_LEGEND].concat().join("\n"));
    }

    #[test]
    fn a_very_long_run_fits_with_round_labels() {
        // A task woken every hour for 30 days: 721 resumes in 60 columns.
        let hour = 3600 * SECOND;
        let mut marks = vec![(0, resumed("hourly"))];
        for n in 1..=720 {
            marks.push((
                n * hour,
                Mark::Slept {
                    from: (n - 1) * hour,
                },
            ));
            marks.push((n * hour, resumed("hourly")));
        }
        marks.push((720 * hour, completed("hourly")));
        let text = timeline(marks).render_text(60);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], format!("hourly    {}*", "o".repeat(59)));
        assert_eq!(lines[1], format!("(loop)    {}", "~".repeat(60)));
        assert_eq!(
            lines[3],
            // 2500000 would have to end at its tick, too close to 2000000.
            "time (s)  0                      1000000                2000000"
        );
        assert!(lines.iter().all(|line| line.chars().count() <= 10 + 60));
    }

    #[test]
    fn the_whole_range_of_nanos_neither_overflows_nor_spills() {
        let timeline = the_whole_range();
        let text = timeline.render_text(30);
        assert!(
            text.lines().all(|line| line.chars().count() <= 10 + 30),
            "{text}"
        );
        // Labels so long that two ticks fit, the first a round time (in
        // seconds) before the first mark, where the axis begins.
        assert_eq!(
            text.lines().nth(3),
            Some("time (s)  -20000000000        0"),
            "{text}"
        );
        // One column: the picture still fits; legend entries stand alone.
        let narrow = timeline.render_text(0);
        let picture = narrow.lines().take(4);
        assert!(
            picture.clone().all(|line| line.chars().count() <= 11),
            "{narrow}"
        );
        assert_eq!(narrow.lines().count(), 4 + 4, "{narrow}");
    }
}
