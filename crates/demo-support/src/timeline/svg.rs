//! The book's picture: the same rows and axis as the terminal's, as a
//! self-contained SVG, with shapes for marks, bars for the loop's sleeps and
//! a legend, all at whole-pixel coordinates.

use super::axis::{Axis, Scale, Tick};
use super::rows::{AXIS_LABEL, LOOP_LABEL, NOTHING_RECORDED, Rows, TaskRow};
use super::{EventKind, Nanos, Timeline};

/// The picture's width in pixels: the width of the book's text column.
const WIDTH: i64 = 750;
const MARGIN: i64 = 16;
/// Between the row labels and the plot: room for half of the first tick's
/// centred label beside the axis's label.
const LABEL_GAP: i64 = 40;
const ROW_HEIGHT: i64 = 28;
const FONT_SIZE: i64 = 13;
/// A monospace character is about 0.6 em wide: 7.8 px, in tenths of a pixel.
const CHAR_TENTHS: i64 = 78;
/// Pixels between two tick labels, at the least.
const TICK_LABEL_GAP: i64 = 20;
/// From a row's centre down to the baseline of text centred on it.
const BASELINE_DROP: i64 = 4;
/// From one line of the legend to the next.
const LEGEND_LINE: i64 = 22;
const FONTS: &str = "ui-monospace, SFMono-Regular, Menlo, Consolas, \
                     'DejaVu Sans Mono', 'Liberation Mono', monospace";

// Colours: dark text on white, blue resumes, green completions, amber sleep.
// Each kind of event brings its own.
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
        let plot_right = (WIDTH - 2 * MARGIN).max(plot_left + 1);
        Layout {
            plot_left,
            plot_right,
            top: MARGIN,
            axis: Axis::new(rows.start, rows.end, plot_right - plot_left, labels_fit),
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
        let (legend, legend_bottom) = legend(&layout, axis_y + 44, &rows.event_kinds());
        let height = legend_bottom + MARGIN;

        let mut svg = open_svg(height);
        svg.push(format!(
            r#"<rect width="{WIDTH}" height="{height}" fill="white"/>"#
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
        svg.extend(legend);
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
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" font-family="{FONTS}" font-size="{FONT_SIZE}" fill="{INK}">"#
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
        r#"<rect width="{WIDTH}" height="{height}" fill="white"/>"#
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
    let (x, width) = (MARGIN / 2, WIDTH - MARGIN);
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

/// A task's lifeline, a dot per resume, a diamond per event, and a ring
/// per completion (drawn last, so it circles the dot of the resume that
/// completed).
fn task_shapes(task: &TaskRow, layout: &Layout, row: usize) -> Vec<String> {
    let y = layout.row_centre(row);
    let mut shapes = Vec::new();
    if let Some((first, last)) = task.lifetime() {
        shapes.push(lifeline(layout.x(first), layout.x(last), y));
    }
    shapes.extend(task.resumed.iter().map(|&at| resume_dot(layout.x(at), y)));
    let events = task.events.iter();
    shapes.extend(events.map(|&(at, kind)| diamond(layout.x(at), y, kind.colour)));
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

fn diamond(x: i64, y: i64, colour: &str) -> String {
    let (top, bottom, left, right) = (y - 6, y + 6, x - 6, x + 6);
    format!(r#"<polygon points="{x},{top} {right},{y} {x},{bottom} {left},{y}" fill="{colour}"/>"#)
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
/// [`TICK_LABEL_GAP`] pixels apart.
fn labels_fit(scale: &Scale, ticks: &[Tick]) -> bool {
    let half_width = |tick: &Tick| text_width(tick.label.len() as i64) / 2;
    ticks.windows(2).all(|pair| {
        let room = scale.at(pair[1].at) - scale.at(pair[0].at);
        room >= half_width(&pair[0]) + half_width(&pair[1]) + TICK_LABEL_GAP
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
type Symbol<'a> = Box<dyn Fn(i64, i64) -> String + 'a>;

/// What the shapes mean, under the axis, from the baseline `y` on: each
/// symbol is drawn in a 16-pixel box whose left edge and centre line it is
/// given. The four every picture has come first, then a diamond for each
/// kind of event it shows; an entry that would pass the right margin starts
/// a new line. Hands back the shapes and the baseline of the last line.
fn legend(layout: &Layout, y: i64, kinds: &[EventKind]) -> (Vec<String>, i64) {
    let mut items: Vec<(Symbol, &str)> = vec![
        (Box::new(|x, y| resume_dot(x + 8, y)), "resumed"),
        (Box::new(|x, y| done_ring(x + 8, y)), "completed"),
        (Box::new(|x, y| lifeline(x, x + 16, y)), "waiting"),
        (Box::new(|x, y| sleep_bar(x, y - 6, 16)), "loop asleep"),
    ];
    for kind in kinds {
        items.push((
            Box::new(|x, y| diamond(x + 8, y, kind.colour)),
            kind.meaning,
        ));
    }
    let (mut x, mut y) = (layout.plot_left, y);
    let mut shapes = Vec::new();
    for (symbol, words) in items {
        let width = 22 + text_width(words.len() as i64);
        if x > layout.plot_left && x + width > WIDTH - MARGIN {
            (x, y) = (layout.plot_left, y + LEGEND_LINE);
        }
        shapes.push(symbol(x, y - BASELINE_DROP));
        shapes.push(format!(
            r#"<text x="{}" y="{y}" fill="{MUTED}">{words}</text>"#,
            x + 22
        ));
        x += width + 24;
    }
    (shapes, y)
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
    use crate::timeline::examples::{MS, ready, resumed, the_whole_range, timeline, two_tasks};
    use crate::timeline::{EventKind, Mark};

    #[test]
    fn an_empty_timeline_says_so() {
        let svg = Timeline::new().render_svg();
        assert!(svg.contains(">(nothing recorded)</text>"), "{svg}");
        assert!(svg.ends_with("</svg>\n"));
    }

    #[test]
    fn the_whole_range_of_nanos_does_not_overflow() {
        assert!(the_whole_range().render_svg().contains("</svg>"));
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
    fn the_svg_draws_events_as_diamonds_explained_in_the_legend() {
        let plain = two_tasks().render_svg();
        assert!(!plain.contains("<polygon"), "no diamonds without marks");
        let with_ready = timeline(two_tasks().marks());
        with_ready.record(500 * MS, ready("b"));
        with_ready.record(500 * MS, ready("(fds)"));
        let svg = with_ready.render_svg();
        // 0.5 s is at x = 419 (see above); row b is centred at y = 58 and
        // the new row below it at 86. One more diamond is the legend's.
        assert!(
            svg.contains(r#"<polygon points="419,52 425,58 419,64 413,58""#),
            "{svg}"
        );
        assert!(svg.contains(r#"<polygon points="419,80 425,86 419,92 413,86""#));
        assert_eq!(svg.matches("<polygon").count(), 2 + 1);
        assert!(svg.contains(">ready</text>"));
        // A row of ready marks alone has no lifeline: two tasks, two lines.
        let lifelines = format!(r#"stroke="{LIFELINE}" stroke-width="2"/>"#);
        assert_eq!(svg.matches(&lifelines).count(), 2 + 1);
    }

    #[test]
    fn a_legend_too_wide_for_one_line_goes_on_to_the_next() {
        let one_kind = timeline(two_tasks().marks());
        one_kind.record(500 * MS, ready("b"));
        let many_kinds = timeline(one_kind.marks());
        for (meaning, symbol) in [("found", 'x'), ("lost", 'y'), ("seen again", 'z')] {
            let kind = EventKind {
                symbol,
                meaning,
                colour: "#000000",
            };
            let row = format!("({meaning})");
            many_kinds.record(500 * MS, Mark::Event { row, kind });
        }
        let (one_line, two_lines) = (one_kind.render_svg(), many_kinds.render_svg());
        // One line: the legend's baseline is 148, the picture 164 high.
        assert!(one_line.contains(&format!(r#"<text x="141" y="148" fill="{MUTED}">resumed"#)));
        assert!(one_line.contains(&format!(r#"y="148" fill="{MUTED}">ready</text>"#)));
        assert!(one_line.contains(r#"viewBox="0 0 750 164""#));
        // Three more rows (28 px each) push the legend down to 232; "found"
        // would pass the right margin, so it starts a line 22 px lower, at
        // the plot's left edge (150, longer labels) plus its symbol's box.
        assert!(two_lines.contains(&format!(r#"<text x="172" y="232" fill="{MUTED}">resumed"#)));
        assert!(two_lines.contains(&format!(r#"y="232" fill="{MUTED}">ready</text>"#)));
        assert!(two_lines.contains(&format!(r#"<text x="172" y="254" fill="{MUTED}">found"#)));
        assert!(
            two_lines.contains(r#"viewBox="0 0 750 270""#),
            "{two_lines}"
        );
        // Every left-aligned text ends inside the margin.
        let texts = two_lines
            .lines()
            .filter(|line| line.starts_with("<text x="));
        for text in texts.filter(|line| !line.contains("text-anchor")) {
            let x: i64 = text[9..].split('"').next().unwrap().parse().unwrap();
            let words = text.split('>').nth(1).unwrap().trim_end_matches("</text");
            let right = x + text_width(words.len() as i64);
            assert!(right <= WIDTH - MARGIN, "{text} ends at {right}");
        }
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
