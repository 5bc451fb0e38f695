//! A record of what the loop did, and pictures of it.
//!
//! Mirrors nothing in asyncio (its debug mode logs slow callbacks, but draws
//! nothing). The loop and the task driver add marks as they work; the
//! renderers draw one row per task with time running across.
//!
//! Both pictures are computed with integers only: the same marks always give
//! the same text and the same SVG, byte for byte, so the book's picture can be
//! compared with a fresh run.

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

/// What both pictures say when there is nothing to draw.
const NOTHING_RECORDED: &str = "(nothing recorded)";
/// The label of the loop's row; parenthesised so no task name can pass for it.
const LOOP_LABEL: &str = "(loop)";
/// The label of the time axis.
const AXIS_LABEL: &str = "time (s)";
const NANOS_PER_SECOND: i128 = 1_000_000_000;

// ANCHOR: rows
/// What the pictures show, gathered from the marks: the span of time, one row
/// per task in order of first appearance, and the loop's sleeps.
struct Rows {
    start: Nanos,
    end: Nanos,
    tasks: Vec<TaskRow>,
    sleeps: Vec<(Nanos, Nanos)>,
}

/// One task's row: when it was resumed, and when it completed.
struct TaskRow {
    name: String,
    resumed: Vec<Nanos>,
    completed: Vec<Nanos>,
}

impl Rows {
    /// The rows for `marks`; `None` if there are none.
    fn gather(marks: &[(Nanos, Mark)]) -> Option<Rows> {
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
                });
                self.tasks.len() - 1
            }
        };
        &mut self.tasks[index]
    }

    /// Every row label, tasks first, then the loop's and the axis's.
    fn labels(&self) -> impl Iterator<Item = &str> {
        let tasks = self.tasks.iter().map(|task| task.name.as_str());
        tasks.chain([LOOP_LABEL, AXIS_LABEL])
    }
}

impl TaskRow {
    /// The first and last time the task shows up: the ends of its lifeline,
    /// along which it waits between resumes.
    fn lifetime(&self) -> (Nanos, Nanos) {
        let times = self.resumed.iter().chain(&self.completed);
        let first = times.clone().min().copied().unwrap_or_default();
        let last = times.max().copied().unwrap_or_default();
        (first, last)
    }
}
// ANCHOR_END: rows

// ANCHOR: scale
/// Maps a time to a position from 0 to `length` (a column, or a pixel).
/// Computed in `i128`, so that no span of `Nanos` can overflow it.
struct Scale {
    start: i128,
    span: i128,
    length: i128,
}

impl Scale {
    fn new(start: i128, end: i128, length: i64) -> Self {
        Scale {
            start,
            span: end - start,
            length: length.max(0).into(),
        }
    }

    /// The position of `time`, rounded to the nearest whole one.
    fn at(&self, time: impl Into<i128>) -> i64 {
        if self.span == 0 {
            return 0;
        }
        let offset = time.into() - self.start;
        let position = (2 * offset * self.length + self.span).div_euclid(2 * self.span);
        i64::try_from(position).expect("a position on the scale fits its length")
    }
}
// ANCHOR_END: scale

/// A labelled point on the time axis.
struct Tick {
    at: i128,
    label: String,
}

// ANCHOR: axis
/// The time axis: the scale, and the labelled ticks along it.
struct Axis {
    scale: Scale,
    ticks: Vec<Tick>,
}

impl Axis {
    /// An axis `length` units long from `start` to `end`, ticked at every
    /// multiple of the smallest round step (1, 2 or 5 times a power of ten
    /// nanoseconds) whose labels `fit` (each renderer knows how much room its
    /// labels take). The axis begins at the tick before `start`, so that its
    /// first label is at the left edge (a clock read a few microseconds after
    /// zero still starts at 0). With no such step, it spans the marks alone
    /// and has a single tick at its start, with its exact time.
    fn new(start: Nanos, end: Nanos, length: i64, fits: impl Fn(&Scale, &[Tick]) -> bool) -> Axis {
        let (start, end) = (i128::from(start), i128::from(end));
        let round_steps = (0..=19).flat_map(|power| [1, 2, 5].map(|m| m * 10i128.pow(power)));
        for step in round_steps.filter(|_| end > start) {
            let origin = start.div_euclid(step) * step;
            let scale = Scale::new(origin, end, length);
            let count = (end - origin) / step + 1;
            // At least two ticks, so that moving the origin back costs less
            // than one step; at most one per unit, or they cannot fit (and a
            // tiny step would make millions).
            if count < 2 || count > scale.length + 1 {
                continue;
            }
            let decimals = decimals_of(step);
            let ticks: Vec<Tick> = (0..count)
                .map(|n| origin + n * step)
                .map(|at| Tick {
                    at,
                    label: seconds(at, decimals),
                })
                .collect();
            if fits(&scale, &ticks) {
                return Axis { scale, ticks };
            }
        }
        let tick = Tick {
            at: start,
            label: seconds(start, exact_decimals(start)),
        };
        Axis {
            scale: Scale::new(start, end, length),
            ticks: vec![tick],
        }
    }
}
// ANCHOR_END: axis

/// How many decimals a multiple of `step` nanoseconds needs, in seconds:
/// one for 0.1 s and 0.2 s, two for 0.05 s, none from 1 s up.
fn decimals_of(step: i128) -> u32 {
    let mut decimals = 9;
    let mut unit = 1;
    while decimals > 0 && step % (unit * 10) == 0 {
        decimals -= 1;
        unit *= 10;
    }
    decimals
}

/// The fewest decimals that write `time` exactly, in seconds.
fn exact_decimals(time: i128) -> u32 {
    let fraction = time.rem_euclid(NANOS_PER_SECOND);
    if fraction == 0 {
        0
    } else {
        decimals_of(fraction)
    }
}

/// `time` in seconds with `decimals` decimals, cut (not rounded) from the
/// integer: exact for any time that is a multiple of `10^(9 - decimals)` ns.
fn seconds(time: i128, decimals: u32) -> String {
    let sign = if time < 0 { "-" } else { "" };
    let (whole, fraction) = (time.abs() / NANOS_PER_SECOND, time.abs() % NANOS_PER_SECOND);
    if decimals == 0 {
        return format!("{sign}{whole}");
    }
    let kept = fraction / 10i128.pow(9 - decimals);
    let width = decimals as usize;
    format!("{sign}{whole}.{kept:0width$}")
}

// The terminal picture.

/// Characters of the terminal picture.
const RESUMED: char = 'o';
const COMPLETED: char = '*';
const WAITING: char = '.';
const ASLEEP: char = '~';
const TICK: char = '|';
const RULE: char = '-';
/// Columns from the end of a tick's label to the next tick, at the least.
const TEXT_LABEL_GAP: i64 = 4;
/// Spaces between two labels, at the least, once the last one has been moved
/// back from the right edge.
const TEXT_LABEL_SPACE: i64 = 2;

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
            text_labels_fit(t, s, width)
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
        for line in text_legend(width) {
            text.push(format!("{:label_width$}  {line}", ""));
        }
        let text: Vec<&str> = text.iter().map(|line| line.trim_end()).collect();
        text.join("\n")
    }
    // ANCHOR_END: render_text
}

/// What the characters mean, in lines of at most `width` columns (though an
/// entry is never split, so one wider than that stands alone).
fn text_legend(width: usize) -> Vec<String> {
    let entries = [
        format!("{RESUMED} resumed"),
        format!("{COMPLETED} completed"),
        format!("{WAITING} waiting"),
        format!("{ASLEEP} loop asleep"),
    ];
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

/// A task's row: its lifeline, then its resumes, then its completions, each
/// drawn over the last, so that a completion shows even where the task was
/// also resumed in the same column.
fn task_cells(task: &TaskRow, scale: &Scale, width: usize) -> Vec<char> {
    let mut cells = vec![' '; width];
    let (first, last) = task.lifetime();
    fill(&mut cells, scale.at(first), scale.at(last), WAITING);
    for &at in &task.resumed {
        fill(&mut cells, scale.at(at), scale.at(at), RESUMED);
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

/// The ticks' labels, where [`text_label_starts`] puts them.
fn label_cells(ticks: &[Tick], scale: &Scale, width: usize) -> Vec<char> {
    let mut cells = vec![' '; width];
    for (tick, start) in ticks.iter().zip(text_label_starts(ticks, scale, width)) {
        for (offset, c) in (0..).zip(tick.label.chars()) {
            fill(&mut cells, start + offset, start + offset, c);
        }
    }
    cells
}

/// Whether the ticks are far enough apart for their labels, and the labels,
/// where [`text_label_starts`] puts them, all fit.
fn text_labels_fit(ticks: &[Tick], scale: &Scale, width: usize) -> bool {
    let apart = ticks.windows(2).all(|pair| {
        let length = pair[0].label.chars().count() as i64;
        scale.at(pair[1].at) - scale.at(pair[0].at) >= length + TEXT_LABEL_GAP
    });
    apart && text_label_starts(ticks, scale, width).len() == ticks.len()
}

/// Where each label starts: at its tick, or ending there if it would run past
/// the right edge. Stops before the first label that would come closer than
/// [`TEXT_LABEL_SPACE`] to the one before it.
fn text_label_starts(ticks: &[Tick], scale: &Scale, width: usize) -> Vec<i64> {
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
        free_from = start + length + TEXT_LABEL_SPACE;
    }
    starts
}

/// Set the columns from `from` to `to`, inclusive, that are in the row.
fn fill(cells: &mut [char], from: i64, to: i64, c: char) {
    for column in from.max(0)..=to {
        match usize::try_from(column).ok().and_then(|i| cells.get_mut(i)) {
            Some(cell) => *cell = c,
            None => break,
        }
    }
}

// The SVG picture.

/// The picture's width in pixels: the width of the book's text column.
const SVG_WIDTH: i64 = 750;
const MARGIN: i64 = 16;
/// Between the row labels and the plot: room for half of the first tick's
/// centred label beside the axis's label.
const LABEL_GAP: i64 = 40;
const ROW_HEIGHT: i64 = 28;
const FONT_SIZE: i64 = 13;
/// A monospace character is about 0.6 em wide: 7.8 px, in tenths of a pixel.
const CHAR_TENTHS: i64 = 78;
/// Pixels between two tick labels, at the least.
const SVG_LABEL_GAP: i64 = 20;
/// From a row's centre down to the baseline of text centred on it.
const BASELINE_DROP: i64 = 4;
const FONTS: &str = "ui-monospace, SFMono-Regular, Menlo, Consolas, \
                     'DejaVu Sans Mono', 'Liberation Mono', monospace";

/// Colours: dark text on white, blue resumes, green completions, amber sleep.
const INK: &str = "#1f2328";
const MUTED: &str = "#57606a";
const BAND: &str = "#f3f5f8";
const GRID: &str = "#dde1e6";
const LIFELINE: &str = "#aab3bf";
const RESUME: &str = "#2f6fdf";
const DONE: &str = "#1a7f37";
const SLEEP: &str = "#f2c14e";

/// The pixel geometry of one picture.
struct Layout {
    plot_left: i64,
    plot_right: i64,
    top: i64,
    axis: Axis,
}

impl Layout {
    fn new(rows: &Rows) -> Self {
        let label_chars = rows.labels().map(|l| l.chars().count()).max();
        let label_chars = i64::try_from(label_chars.unwrap_or_default()).unwrap_or(i64::MAX);
        let plot_left = MARGIN + text_width(label_chars) + LABEL_GAP;
        // Room on the right for half of the last tick's centred label.
        let plot_right = (SVG_WIDTH - 2 * MARGIN).max(plot_left + 1);
        Layout {
            plot_left,
            plot_right,
            top: MARGIN,
            axis: Axis::new(rows.start, rows.end, plot_right - plot_left, svg_labels_fit),
        }
    }

    /// The x of `time`.
    fn x(&self, time: impl Into<i128>) -> i64 {
        self.plot_left + self.axis.scale.at(time)
    }

    /// The y of the centre of row `row` (0 is the top one).
    fn row_centre(&self, row: usize) -> i64 {
        self.row_top(row) + ROW_HEIGHT / 2
    }

    fn row_top(&self, row: usize) -> i64 {
        self.top + ROW_HEIGHT * i64::try_from(row).unwrap_or(i64::MAX)
    }
}

/// The width in whole pixels of `chars` monospace characters, rounded up.
fn text_width(chars: i64) -> i64 {
    (chars.saturating_mul(CHAR_TENTHS) + 9) / 10
}

impl Timeline {
    // ANCHOR: render_svg
    /// The same picture as [`render_text`](Self::render_text), as a
    /// self-contained SVG for the book: 750 pixels wide, on a white
    /// background, with a legend under the axis. Coordinates are whole
    /// pixels, so the same marks always give the same bytes.
    pub fn render_svg(&self) -> String {
        let Some(rows) = Rows::gather(&self.marks()) else {
            return empty_svg();
        };
        let layout = Layout::new(&rows);
        let ticks = &layout.axis.ticks;
        let loop_row = rows.tasks.len();
        let axis_y = layout.row_top(loop_row + 1) + 4;
        let legend_y = axis_y + 44;
        let height = legend_y + MARGIN;

        let mut svg = open_svg(height);
        svg.push(format!(
            r#"<rect width="{SVG_WIDTH}" height="{height}" fill="white"/>"#
        ));
        svg.extend(bands(&layout, loop_row + 1));
        svg.extend(ticks.iter().map(|tick| {
            let x = layout.x(tick.at);
            format!(
                r#"<line x1="{x}" y1="{}" x2="{x}" y2="{axis_y}" stroke="{GRID}"/>"#,
                layout.top
            )
        }));
        for (row, task) in rows.tasks.iter().enumerate() {
            svg.extend(task_shapes(task, &layout, row));
        }
        svg.extend(sleep_shapes(&rows.sleeps, &layout, loop_row));
        svg.extend(row_labels(&rows, &layout));
        svg.extend(axis_shapes(ticks, &layout, axis_y));
        svg.extend(legend(&layout, legend_y));
        svg.push("</svg>".to_string());
        svg.join("\n") + "\n"
    }
    // ANCHOR_END: render_svg
}

/// The opening tag, with a `viewBox` so the picture scales to the page, and
/// the fonts and a title (which screen readers read) for everything inside.
fn open_svg(height: i64) -> Vec<String> {
    vec![
        format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SVG_WIDTH} {height}" width="{SVG_WIDTH}" height="{height}" font-family="{FONTS}" font-size="{FONT_SIZE}" fill="{INK}">"#
        ),
        "<title>Timeline: one row per task, and the loop's sleeps, against time in seconds</title>"
            .to_string(),
    ]
}

/// What the SVG shows for an empty timeline: the same words as the text.
fn empty_svg() -> String {
    let height = 2 * MARGIN + ROW_HEIGHT;
    let mut svg = open_svg(height);
    svg.push(format!(
        r#"<rect width="{SVG_WIDTH}" height="{height}" fill="white"/>"#
    ));
    svg.push(format!(
        r#"<text x="{MARGIN}" y="{}">{NOTHING_RECORDED}</text>"#,
        MARGIN + ROW_HEIGHT / 2 + BASELINE_DROP
    ));
    svg.push("</svg>".to_string());
    svg.join("\n") + "\n"
}

/// A light band behind every other row, so the eye can follow a row across;
/// it reaches half a margin past the labels and the plot.
fn bands(layout: &Layout, rows: usize) -> Vec<String> {
    let (x, width) = (MARGIN / 2, SVG_WIDTH - MARGIN);
    (0..rows)
        .filter(|row| row % 2 == 0)
        .map(|row| {
            let y = layout.row_top(row);
            format!(
                r#"<rect x="{x}" y="{y}" width="{width}" height="{ROW_HEIGHT}" fill="{BAND}"/>"#
            )
        })
        .collect()
}

/// A task's lifeline, a dot per resume, and a ring per completion (drawn
/// last, so it circles the dot of the resume that completed).
fn task_shapes(task: &TaskRow, layout: &Layout, row: usize) -> Vec<String> {
    let y = layout.row_centre(row);
    let (first, last) = task.lifetime();
    let mut shapes = vec![lifeline(layout.x(first), layout.x(last), y)];
    shapes.extend(task.resumed.iter().map(|&at| resume_dot(layout.x(at), y)));
    shapes.extend(task.completed.iter().map(|&at| done_ring(layout.x(at), y)));
    shapes
}

fn lifeline(from: i64, to: i64, y: i64) -> String {
    format!(
        r#"<line x1="{from}" y1="{y}" x2="{to}" y2="{y}" stroke="{LIFELINE}" stroke-width="2"/>"#
    )
}

fn resume_dot(x: i64, y: i64) -> String {
    format!(r#"<circle cx="{x}" cy="{y}" r="4.5" fill="{RESUME}"/>"#)
}

fn done_ring(x: i64, y: i64) -> String {
    format!(r#"<circle cx="{x}" cy="{y}" r="8" fill="none" stroke="{DONE}" stroke-width="2.5"/>"#)
}

/// The loop's row, drawn by the same rule as the terminal's: a bar per
/// sleep, a pixel short at each end so that back-to-back sleeps show the
/// wake-up between them; a shorter one at least a pixel wide, so that it does
/// not vanish, unless it would cover such a wake-up.
fn sleep_shapes(sleeps: &[(Nanos, Nanos)], layout: &Layout, row: usize) -> Vec<String> {
    let y = layout.row_centre(row) - 6;
    let spans = sleeps
        .iter()
        .map(|&(from, to)| (layout.x(from), layout.x(to)));
    let (long, short): (Vec<_>, Vec<_>) = spans.partition(|(from, to)| to - from >= 3);
    let mut bars: Vec<String> = long
        .iter()
        .map(|&(from, to)| sleep_bar(from + 1, y, to - from - 2))
        .collect();
    // The gap a long bar leaves around a wake-up at `w` is from w - 1 to w + 1.
    let hides_a_wake_up = |from: i64, to: i64| {
        let wake_ups = long.iter().flat_map(|&(start, end)| [start, end]);
        wake_ups.into_iter().any(|w| from < w + 1 && w - 1 < to)
    };
    for (from, to) in short {
        let to = to.max(from + 1);
        if !hides_a_wake_up(from, to) {
            bars.push(sleep_bar(from, y, to - from));
        }
    }
    bars
}

fn sleep_bar(x: i64, y: i64, width: i64) -> String {
    format!(r#"<rect x="{x}" y="{y}" width="{width}" height="12" rx="2" fill="{SLEEP}"/>"#)
}

/// Every row's label, left-aligned in the margin.
fn row_labels(rows: &Rows, layout: &Layout) -> Vec<String> {
    let names = rows.tasks.iter().map(|task| task.name.as_str());
    (0..)
        .zip(names.chain([LOOP_LABEL]))
        .map(|(row, label)| {
            let y = layout.row_centre(row) + BASELINE_DROP;
            format!(r#"<text x="{MARGIN}" y="{y}">{}</text>"#, escape(label))
        })
        .collect()
}

/// Whether the ticks' labels, each centred on its tick, keep at least
/// [`SVG_LABEL_GAP`] pixels apart.
fn svg_labels_fit(scale: &Scale, ticks: &[Tick]) -> bool {
    let half_width = |tick: &Tick| text_width(tick.label.len() as i64) / 2;
    ticks.windows(2).all(|pair| {
        let room = scale.at(pair[1].at) - scale.at(pair[0].at);
        room >= half_width(&pair[0]) + half_width(&pair[1]) + SVG_LABEL_GAP
    })
}

/// The time axis: a line, a tick and a centred label per tick, and the axis's
/// own label in the row labels' margin.
fn axis_shapes(ticks: &[Tick], layout: &Layout, y: i64) -> Vec<String> {
    let mut shapes = vec![format!(
        r#"<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="{MUTED}"/>"#,
        layout.plot_left, layout.plot_right
    )];
    let text_y = y + 18;
    for tick in ticks {
        let x = layout.x(tick.at);
        shapes.push(format!(
            r#"<line x1="{x}" y1="{y}" x2="{x}" y2="{}" stroke="{MUTED}"/>"#,
            y + 5
        ));
        shapes.push(format!(
            r#"<text x="{x}" y="{text_y}" text-anchor="middle" fill="{MUTED}">{}</text>"#,
            tick.label
        ));
    }
    shapes.push(format!(
        r#"<text x="{MARGIN}" y="{text_y}" fill="{MUTED}">{AXIS_LABEL}</text>"#
    ));
    shapes
}

/// Draws a legend's symbol, given the left edge of its box and its centre line.
type Symbol = fn(i64, i64) -> String;

/// What the shapes mean, in a line under the axis: each symbol is drawn in a
/// 16-pixel box whose left edge and centre line it is given.
fn legend(layout: &Layout, y: i64) -> Vec<String> {
    let items: [(Symbol, &str); 4] = [
        (|x, y| resume_dot(x + 8, y), "resumed"),
        (|x, y| done_ring(x + 8, y), "completed"),
        (|x, y| lifeline(x, x + 16, y), "waiting"),
        (|x, y| sleep_bar(x, y - 6, 16), "loop asleep"),
    ];
    let centre = y - BASELINE_DROP;
    let mut x = layout.plot_left;
    let mut shapes = Vec::new();
    for (symbol, words) in items {
        shapes.push(symbol(x, centre));
        shapes.push(format!(
            r#"<text x="{}" y="{y}" fill="{MUTED}">{words}</text>"#,
            x + 22
        ));
        x += 22 + text_width(words.len() as i64) + 24;
    }
    shapes
}

/// `text` with the characters XML gives a meaning escaped, so any task name
/// shows as written.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Nanos = 1_000_000;
    const SECOND: Nanos = 1_000_000_000;

    fn resumed(task: &str) -> Mark {
        Mark::Resumed {
            task: task.to_string(),
        }
    }

    fn completed(task: &str) -> Mark {
        Mark::Completed {
            task: task.to_string(),
        }
    }

    fn timeline(marks: Vec<(Nanos, Mark)>) -> Timeline {
        let timeline = Timeline::new();
        for (at, mark) in marks {
            timeline.record(at, mark);
        }
        timeline
    }

    /// Two tasks: `a` finishes at 0.5 s, `b` at 1 s; the loop sleeps between.
    fn two_tasks() -> Timeline {
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
    fn rows_come_in_order_of_first_appearance() {
        let marks = vec![
            (0, resumed("zeta")),
            (MS, resumed("alpha")),
            (2 * MS, completed("alpha")),
            (3 * MS, completed("zeta")),
        ];
        let text = timeline(marks).render_text(4);
        let labels: Vec<&str> = text.lines().map(|l| l.split(' ').next().unwrap()).collect();
        assert_eq!(labels[..3], ["zeta", "alpha", "(loop)"]);
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
    fn an_empty_timeline_says_so() {
        assert_eq!(Timeline::new().render_text(60), "(nothing recorded)");
        let svg = Timeline::new().render_svg();
        assert!(svg.contains(">(nothing recorded)</text>"), "{svg}");
        assert!(svg.ends_with("</svg>\n"));
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
        let marks = vec![
            (Nanos::MIN, resumed("first")),
            (Nanos::MAX, completed("first")),
            (Nanos::MAX, Mark::Slept { from: Nanos::MIN }),
        ];
        let timeline = timeline(marks);
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
        assert!(timeline.render_svg().contains("</svg>"));
        // One column: the picture still fits; legend entries stand alone.
        let narrow = timeline.render_text(0);
        let picture = narrow.lines().take(4);
        assert!(
            picture.clone().all(|line| line.chars().count() <= 11),
            "{narrow}"
        );
        assert_eq!(narrow.lines().count(), 4 + 4, "{narrow}");
    }

    #[test]
    fn seconds_are_written_from_integers() {
        assert_eq!(seconds(0, 1), "0.0");
        assert_eq!(seconds(50 * MS as i128, 2), "0.05");
        assert_eq!(seconds(-1_500 * MS as i128, 1), "-1.5");
        assert_eq!(seconds(7 * SECOND as i128, 0), "7");
        assert_eq!(exact_decimals(250 * MS as i128), 2);
        assert_eq!(exact_decimals(1), 9);
        assert_eq!(decimals_of(5 * 10i128.pow(7)), 2);
        assert_eq!(decimals_of(10i128.pow(12)), 0);
    }

    #[test]
    fn the_svg_puts_the_span_across_the_plot() {
        let svg = two_tasks().render_svg();
        // Labels are at most "time (s)": 8 characters, 63 px; the plot runs
        // from 16 + 63 + 40 to 750 - 32, and 0.5 s falls in its middle.
        assert!(svg.contains(r#"<circle cx="119" cy="30" r="4.5""#), "{svg}");
        assert!(svg.contains(r#"<circle cx="419" cy="30" r="8""#), "{svg}");
        assert!(svg.contains(r#"<circle cx="718" cy="58" r="8""#), "{svg}");
        // The loop's sleeps, a pixel short at each end.
        assert!(svg.contains(r#"<rect x="120" y="80" width="298""#), "{svg}");
        assert!(svg.contains(r#"<rect x="420" y="80" width="297""#), "{svg}");
    }

    #[test]
    fn the_svg_draws_a_shape_per_mark_plus_the_legend() {
        let svg = two_tasks().render_svg();
        assert_eq!(svg.matches(r#"r="4.5""#).count(), 4 + 1);
        assert_eq!(svg.matches(r#"r="8""#).count(), 2 + 1);
        assert_eq!(svg.matches(&format!(r#"fill="{SLEEP}""#)).count(), 2 + 1);
    }

    #[test]
    fn the_svg_keeps_wake_ups_clear_of_short_sleeps() {
        let marks = two_tasks().marks();
        let with_blip = timeline(marks.clone());
        // Microseconds after the wake-up at 0.5 s: on the wake-up, not drawn.
        with_blip.record(500 * MS + 3_000, Mark::Slept { from: 500 * MS });
        assert_eq!(with_blip.render_svg(), timeline(marks.clone()).render_svg());
        // Half-way through a long sleep it is drawn, a pixel wide.
        with_blip.record(250 * MS + 3_000, Mark::Slept { from: 250 * MS });
        assert!(
            with_blip
                .render_svg()
                .contains(r#"<rect x="269" y="80" width="1""#)
        );
    }

    #[test]
    fn the_svg_is_self_contained_and_the_same_every_time() {
        let svg = two_tasks().render_svg();
        assert!(svg.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 750 "#));
        assert_eq!(svg.matches("http").count(), 1, "only the namespace");
        for outside in ["href", "<script", "<style", "url(", "@import"] {
            assert!(!svg.contains(outside), "{outside} in {svg}");
        }
        assert_eq!(svg, two_tasks().render_svg());
    }

    #[test]
    fn the_svg_escapes_task_names() {
        let svg = timeline(vec![(0, resumed("<a & 'b'>"))]).render_svg();
        assert!(
            svg.contains(">&lt;a &amp; &apos;b&apos;&gt;</text>"),
            "{svg}"
        );
    }
}
