//! The timeline model: which stretch of time a report draws, its ticks, one lane per finding, the
//! node's markers, and where every label goes so that no two overlap.
//!
//! Pure: nothing here writes a format. The HTML report's SVG and the text output's lane chart are
//! both drawn from [`Timeline`], and so will chat previews be.
//!
//! - **Window.** From the node's boot (or the first finding, if earlier, minus a small margin) to the
//!   collection time. Node events before that (an earlier boot's ipamd start read from a rotated log)
//!   are summed up in [`Earlier`] instead of stretching the axis. Without a boot marker the window
//!   starts at the first finding (at the first event, with no finding).
//! - **Breaks.** A quiet stretch longer than half of what is left of the window and over two minutes
//!   (typically the hours between the incident and the collection) is cut out of the axis and drawn
//!   as a break, so the incident gets the width instead of the last pixel column.
//! - **Ticks** are multiples of a step from a 1-2-5 style ladder (100 ms … 7 days) counted from boot,
//!   the smallest step whose labels fit; each tick is labelled since boot (`+2m48s`) and in UTC.
//! - **Labels** are placed on estimated boxes ([`text_width`]): marker labels stack into rows, and when
//!   more than [`MAX_MARKER_ROWS`] rows would be needed every marker is numbered instead (markers a
//!   few pixels apart share one label such as `3–7`) and listed in a key under the drawing.
//!
//! Coordinates are in the units of a drawing [`Timeline::width`] wide (the SVG's viewBox), y down.

use chrono::{DateTime, Duration, Utc};

use crate::report::{Report, Severity};

/// Font size of every label, in drawing units.
pub const FONT: f64 = 11.0;
/// Advance of an ordinary character, in ems: a monospace font's (DejaVu Sans Mono 0.602, Menlo and
/// Consolas 0.6). Renderers draw the labels in a monospace font and pin each label's length to the
/// estimate (SVG `textLength`), so the drawn box is the computed one.
pub const CHAR_EM: f64 = 0.6;
/// Advance of an East Asian wide character or emoji, in ems.
pub const WIDE_EM: f64 = 1.0;
/// Top of a label's box above its baseline, in ems (fonts' ascent is 0.75–0.95).
pub const ASCENT_EM: f64 = 1.0;
/// Bottom of a label's box below its baseline, in ems (fonts' descent is 0.2–0.3).
pub const DESCENT_EM: f64 = 0.3;
/// Marker label rows tried before the markers are numbered.
pub const MAX_MARKER_ROWS: usize = 4;
/// Width the renderers lay the HTML timeline out for (the SVG scales it to the page).
pub const DEFAULT_WIDTH: f64 = 1000.0;

const PAD: f64 = 8.0;
const GAP: f64 = 6.0;
const ROW: f64 = 17.0;
const LANE: f64 = 22.0;
const BAR: f64 = 12.0;
const BREAK_W: f64 = 56.0;
const MIN_SEGMENT_W: f64 = 60.0;
const MAX_BREAKS: usize = 3;
const MAX_MARKER_LABEL_W: f64 = 360.0;
/// Markers closer than this share one numbered label.
const CLUSTER_PX: f64 = 4.0;

/// Estimated advance of `s` at `font` size: [`CHAR_EM`] per character, [`WIDE_EM`] for East Asian
/// wide characters and emoji, nothing for combining marks and zero-width characters.
pub fn text_width(s: &str, font: f64) -> f64 {
    s.chars()
        .map(|c| {
            if is_zero_width(c) {
                0.0
            } else if is_wide(c) {
                WIDE_EM
            } else {
                CHAR_EM
            }
        })
        .sum::<f64>()
        * font
}

fn is_zero_width(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x200B..=0x200F | 0x2060..=0x2064 | 0xFE00..=0xFE0F | 0x20D0..=0x20FF | 0xFEFF)
}

fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F
        | 0x2E80..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x1F000..=0x1FAFF
        | 0x20000..=0x3FFFD)
}

/// `s` with control characters and bidirectional controls made visible (`�`): a label from a
/// bundle must neither move a terminal's cursor nor reverse the text drawn after it. The same rule
/// as the text renderer's, so a label measured here is the label drawn there.
pub use crate::escape::terminal as clean;

/// [`clean`] `s`, cut with `…` to at most `max` wide.
pub fn fit(s: &str, max: f64) -> String {
    let clean = clean(s);
    if text_width(&clean, FONT) <= max {
        return clean;
    }
    let room = max - text_width("…", FONT);
    let mut out = String::new();
    let mut w = 0.0;
    for c in clean.chars() {
        let cw = text_width(c.encode_utf8(&mut [0; 4]), FONT);
        if w + cw > room {
            break;
        }
        w += cw;
        out.push(c);
    }
    out.push('…');
    out
}

/// An axis-aligned box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Left.
    pub x: f64,
    /// Top.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

impl Rect {
    /// Whether the two boxes share any area.
    pub fn overlaps(&self, o: &Rect) -> bool {
        self.x < o.x + o.w && o.x < self.x + self.w && self.y < o.y + o.h && o.y < self.y + self.h
    }

    /// Whether `self` lies within `o`.
    pub fn inside(&self, o: &Rect) -> bool {
        self.x >= o.x
            && self.y >= o.y
            && self.x + self.w <= o.x + o.w
            && self.y + self.h <= o.y + o.h
    }
}

/// What a label names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Time since boot at a tick.
    TickSinceBoot,
    /// UTC time at a tick.
    TickUtc,
    /// Length of a quiet stretch cut out of the axis.
    Break,
    /// A node event (boot, kubelet start…), or a numbered group of them.
    Marker,
    /// A finding's lane: its rule.
    Lane,
    /// A finding's count and duration, beside its bar.
    LaneNote,
}

/// One placed label. `x` is its left edge whatever the text direction; `y` its baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    /// The text, already cut to fit.
    pub text: String,
    /// Left edge.
    pub x: f64,
    /// Baseline.
    pub y: f64,
    /// Estimated width ([`text_width`]).
    pub width: f64,
    /// What it names.
    pub role: Role,
    /// The finding's rule, for labels that link to a finding's section.
    pub target: Option<String>,
    /// Longer text for a tooltip.
    pub title: Option<String>,
}

impl Label {
    fn new(text: String, x: f64, y: f64, role: Role) -> Label {
        let width = text_width(&text, FONT);
        Label {
            text,
            x,
            y,
            width,
            role,
            target: None,
            title: None,
        }
    }

    /// The box the label occupies.
    pub fn rect(&self) -> Rect {
        Rect {
            x: self.x,
            y: self.y - ASCENT_EM * FONT,
            w: self.width,
            h: (ASCENT_EM + DESCENT_EM) * FONT,
        }
    }
}

/// A stretch of the axis drawn to scale; stretches are separated by breaks.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// First instant.
    pub start: DateTime<Utc>,
    /// Last instant.
    pub end: DateTime<Utc>,
    /// Left edge.
    pub x0: f64,
    /// Right edge.
    pub x1: f64,
}

/// A tick on the axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    /// When.
    pub at: DateTime<Utc>,
    /// Where.
    pub x: f64,
}

/// A node event on the axis (boot, kubelet or ipamd start, collection).
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// When.
    pub at: DateTime<Utc>,
    /// Seconds after boot.
    pub since_boot_s: Option<f64>,
    /// The event kind (`boot`, `kubelet-start`…).
    pub kind: String,
    /// The event's label ([`clean`]ed).
    pub label: String,
    /// 1-based number in time order (shown instead of the label when [`Timeline::keyed`]).
    pub number: usize,
    /// Where.
    pub x: f64,
    /// Top of its line (the bottom of its label's row).
    pub line_top: f64,
}

/// One finding's lane.
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    /// Rule id (the finding's anchor in the page).
    pub rule: String,
    /// Finding title.
    pub title: String,
    /// Severity.
    pub severity: Severity,
    /// Occurrences.
    pub count: u64,
    /// First occurrence.
    pub first: DateTime<Utc>,
    /// Last occurrence.
    pub last: DateTime<Utc>,
    /// Bar start.
    pub x0: f64,
    /// Bar end (at least a few units after `x0`, so a single occurrence shows).
    pub x1: f64,
    /// Top of the bar.
    pub y: f64,
    /// Bar height.
    pub h: f64,
}

/// Node events before the window, summed up instead of drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct Earlier {
    /// How many.
    pub count: usize,
    /// The first.
    pub first: DateTime<Utc>,
    /// The last.
    pub last: DateTime<Utc>,
    /// Their labels ([`clean`]ed), in time order, without repeats.
    pub labels: Vec<String>,
    /// Whether the window starts at a boot (else at the first finding).
    pub before_boot: bool,
}

/// The laid-out timeline of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// Window start.
    pub start: DateTime<Utc>,
    /// Window end.
    pub end: DateTime<Utc>,
    /// The node's boot, when known.
    pub boot: Option<DateTime<Utc>>,
    /// Collection time, when known.
    pub collected: Option<DateTime<Utc>>,
    /// Drawing width.
    pub width: f64,
    /// Drawing height.
    pub height: f64,
    /// Left end of the axis.
    pub plot_left: f64,
    /// Right end of the axis.
    pub plot_right: f64,
    /// Top of the lanes.
    pub plot_top: f64,
    /// y of the axis line.
    pub axis_y: f64,
    /// Stretches drawn to scale, left to right.
    pub segments: Vec<Segment>,
    /// Ticks.
    pub ticks: Vec<Tick>,
    /// Node events in the window.
    pub markers: Vec<Marker>,
    /// One lane per dated finding, in order of first occurrence.
    pub lanes: Vec<Lane>,
    /// Every label, placed.
    pub labels: Vec<Label>,
    /// Node events before the window.
    pub earlier: Option<Earlier>,
    /// Findings without a time (not drawn).
    pub undated: usize,
    /// Whether markers are numbered, with a key, instead of labelled on the drawing.
    pub keyed: bool,
}

/// `+2m48s`, `-1h05m`, `+0.4s`: seconds since boot, as exact as the value.
pub fn since_boot(secs: f64) -> String {
    let sign = if secs < 0.0 { "-" } else { "+" };
    format!("{sign}{}", duration(secs.abs(), usize::MAX))
}

/// `2h55m54s`, or with `units` = 2, `2h55m`: a length of time, its largest units first.
pub fn duration(secs: f64, units: usize) -> String {
    let mut ms = (secs * 1000.0).round() as i64;
    if units <= 2 {
        // Short form: tenths under ten seconds, whole seconds above.
        ms = if ms < 10_000 {
            (ms + 50) / 100 * 100
        } else {
            (ms + 500) / 1000 * 1000
        };
    }
    if ms % 1000 != 0 && ms < 60_000 {
        let s = format!("{:.3}", ms as f64 / 1000.0);
        return format!("{}s", s.trim_end_matches('0').trim_end_matches('.'));
    }
    let total = (ms + 500) / 1000;
    let parts = [
        (total / 86_400, "d"),
        (total / 3600 % 24, "h"),
        (total / 60 % 60, "m"),
        (total % 60, "s"),
    ];
    let Some(lead) = parts.iter().position(|(v, _)| *v > 0) else {
        return "0s".into();
    };
    let mut out = String::new();
    for (i, (v, unit)) in parts.iter().enumerate().skip(lead).take(units) {
        if i > lead && parts[i..].iter().take(units).all(|(v, _)| *v == 0) {
            break;
        }
        if i == lead {
            out.push_str(&format!("{v}{unit}"));
        } else {
            out.push_str(&format!("{v:02}{unit}"));
        }
    }
    out
}

/// Steps the ticks may use, in milliseconds.
const STEPS_MS: &[i64] = &[
    100,
    200,
    500,
    1_000,
    2_000,
    5_000,
    10_000,
    15_000,
    30_000,
    60_000,
    120_000,
    300_000,
    600_000,
    900_000,
    1_800_000,
    3_600_000,
    7_200_000,
    10_800_000,
    21_600_000,
    43_200_000,
    86_400_000,
    172_800_000,
    604_800_000,
];

fn secs(d: Duration) -> f64 {
    d.num_milliseconds() as f64 / 1000.0
}

/// A finding's dated span, with what the lane shows of it.
struct Dated<'a> {
    rule: &'a str,
    title: &'a str,
    severity: Severity,
    count: u64,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
}

impl Timeline {
    /// Lays out the timeline of `r` for a drawing `width` wide; `None` when nothing is dated.
    pub fn build(r: &Report, width: f64) -> Option<Timeline> {
        let mut dated: Vec<Dated> = r
            .findings
            .iter()
            .filter_map(|f| {
                let first = f.first_seen?;
                let last = f.last_seen.unwrap_or(first).max(first);
                Some(Dated {
                    rule: &f.rule,
                    title: &f.title,
                    severity: f.severity,
                    count: f.count,
                    first,
                    last,
                })
            })
            .collect();
        dated.sort_by(|a, b| a.first.cmp(&b.first).then_with(|| a.rule.cmp(b.rule)));
        let undated = r.findings.len() - dated.len();
        let boot = r.bundle.boot_time.or_else(|| {
            r.timeline
                .iter()
                .find(|e| e.kind == "boot" && e.rule.is_none())
                .map(|e| e.at)
        });
        let collected = r.bundle.collected_at.or_else(|| {
            r.timeline
                .iter()
                .find(|e| e.kind == "collected" && e.rule.is_none())
                .map(|e| e.at)
        });
        let mut node: Vec<_> = r.timeline.iter().filter(|e| e.rule.is_none()).collect();
        node.sort_by_key(|e| e.at);

        let first_finding = dated.iter().map(|d| d.first).min();
        let last_finding = dated.iter().map(|d| d.last).max();
        // The window's left end, before any margin, and whether a margin goes before it.
        let (raw_start, margin_before) = match (boot, first_finding) {
            (Some(b), Some(f)) if f < b => (f, true),
            (Some(b), _) => (b, false),
            (None, Some(f)) => (f, true),
            (None, None) => (node.first()?.at, false),
        };
        let end = [collected, last_finding, node.last().map(|e| e.at)]
            .into_iter()
            .flatten()
            .filter(|t| *t >= raw_start)
            .max()
            .unwrap_or(raw_start);
        let margin = Duration::milliseconds(((end - raw_start).num_milliseconds() / 50).max(500));
        let mut start = if margin_before {
            raw_start - margin
        } else {
            raw_start
        };
        let mut end = end;
        if end - start < Duration::seconds(1) {
            // One instant: give it a second of room.
            start -= Duration::milliseconds(500);
            end += Duration::milliseconds(500);
        }
        let (before, inside): (Vec<_>, Vec<_>) = node.into_iter().partition(|e| e.at < start);
        let earlier = (!before.is_empty()).then(|| {
            let mut labels: Vec<String> = Vec::new();
            for e in &before {
                let label = clean(&e.label);
                if !labels.contains(&label) {
                    labels.push(label);
                }
            }
            Earlier {
                count: before.len(),
                first: before[0].at,
                last: before[before.len() - 1].at,
                labels,
                before_boot: boot.is_some_and(|b| b == raw_start),
            }
        });
        let inside: Vec<_> = inside.into_iter().filter(|e| e.at <= end).collect();

        // Left column: as wide as the longest rule, within bounds.
        let col = if dated.is_empty() {
            0.0
        } else {
            dated
                .iter()
                .map(|d| text_width(d.rule, FONT))
                .fold(0.0, f64::max)
                .clamp(60.0, 0.3 * width)
                + 2.0 * GAP
        };
        let plot_left = PAD + col + 4.0 * GAP;
        let plot_right = width - PAD - 4.0 * GAP;

        let mut times: Vec<DateTime<Utc>> = vec![start, end];
        times.extend(inside.iter().map(|e| e.at));
        times.extend(dated.iter().flat_map(|d| [d.first, d.last]));
        let spans: Vec<_> = dated.iter().map(|d| (d.first, d.last)).collect();
        let segments = segments(start, end, &times, &spans, plot_left, plot_right);

        let mut t = Timeline {
            start,
            end,
            boot,
            collected,
            width,
            height: 0.0,
            plot_left,
            plot_right,
            plot_top: 0.0,
            axis_y: 0.0,
            segments,
            ticks: Vec::new(),
            markers: Vec::new(),
            lanes: Vec::new(),
            labels: Vec::new(),
            earlier,
            undated,
            keyed: false,
        };
        t.markers = inside
            .iter()
            .enumerate()
            .map(|(i, e)| Marker {
                at: e.at,
                since_boot_s: boot.map(|b| secs(e.at - b)),
                kind: clean(&e.kind),
                label: clean(&e.label),
                number: i + 1,
                x: t.x(e.at),
                line_top: 0.0,
            })
            .collect();
        let (rows, keyed) = t.marker_rows();
        t.keyed = keyed;
        let top = PAD + rows.len() as f64 * ROW;
        t.plot_top = top + GAP;
        t.lay_lanes(&dated, col);
        t.axis_y = t.plot_top + dated.len().max(1) as f64 * LANE + GAP;
        for (k, row) in rows.iter().enumerate() {
            // Row 0 sits just above the lanes; later rows stack upwards.
            let baseline = top - k as f64 * ROW - DESCENT_EM * FONT - 2.0;
            for (label, members) in row {
                let mut l = label.clone();
                l.y = baseline;
                for &m in members {
                    t.markers[m].line_top = baseline + DESCENT_EM * FONT + 1.0;
                }
                t.labels.push(l);
            }
        }
        t.lay_ticks();
        t.height = t.axis_y + 2.0 * ROW + DESCENT_EM * FONT + PAD;
        Some(t)
    }

    /// Where `t` falls on the axis (clamped to the window).
    pub fn x(&self, t: DateTime<Utc>) -> f64 {
        let Some(first) = self.segments.first() else {
            return self.plot_left;
        };
        if t <= first.start {
            return first.x0;
        }
        for (i, s) in self.segments.iter().enumerate() {
            if t <= s.end {
                if t < s.start {
                    // In a break: its middle.
                    let prev = &self.segments[i - 1];
                    return (prev.x1 + s.x0) / 2.0;
                }
                let d = secs(s.end - s.start);
                if d <= 0.0 {
                    return (s.x0 + s.x1) / 2.0;
                }
                return s.x0 + secs(t - s.start) / d * (s.x1 - s.x0);
            }
        }
        self.segments.last().map_or(self.plot_right, |s| s.x1)
    }

    /// Where `t` falls, as a fraction of the axis (0 at its left end, 1 at its right).
    pub fn fraction(&self, t: DateTime<Utc>) -> f64 {
        (self.x(t) - self.plot_left) / (self.plot_right - self.plot_left).max(1.0)
    }

    /// The breaks between segments, as (left, right) x and the quiet time cut out.
    pub fn breaks(&self) -> Vec<(f64, f64, Duration)> {
        self.segments
            .windows(2)
            .map(|w| (w[0].x1, w[1].x0, w[1].start - w[0].end))
            .collect()
    }

    /// The drawing's box.
    pub fn bounds(&self) -> Rect {
        Rect {
            x: 0.0,
            y: 0.0,
            w: self.width,
            h: self.height,
        }
    }

    /// Marker labels in rows (label, markers it stands for), bottom row first; numbered when
    /// labelled rows would not do.
    #[allow(clippy::type_complexity)]
    fn marker_rows(&self) -> (Vec<Vec<(Label, Vec<usize>)>>, bool) {
        if self.markers.is_empty() {
            return (Vec::new(), false);
        }
        let direct: Vec<(Label, Vec<usize>)> = self
            .markers
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let text = fit(&m.label, MAX_MARKER_LABEL_W);
                let mut l = Label::new(text, m.x, 0.0, Role::Marker);
                l.title = Some(m.label.clone());
                (l, vec![i])
            })
            .collect();
        if let Some(rows) = self.stack(direct, Some(MAX_MARKER_ROWS)) {
            return (rows, false);
        }
        // Numbered: markers within a few units of a group's first share its label.
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for (i, m) in self.markers.iter().enumerate() {
            match groups.last_mut() {
                Some(g) if m.x - self.markers[g[0]].x <= CLUSTER_PX => g.push(i),
                _ => groups.push(vec![i]),
            }
        }
        let numbered = groups
            .into_iter()
            .map(|g| {
                let (a, b) = (&self.markers[g[0]], &self.markers[g[g.len() - 1]]);
                let text = if g.len() == 1 {
                    a.number.to_string()
                } else {
                    format!("{}–{}", a.number, b.number)
                };
                let mut l = Label::new(text, a.x, 0.0, Role::Marker);
                l.title = Some(
                    g.iter()
                        .map(|&i| format!("{} {}", self.markers[i].number, self.markers[i].label))
                        .collect::<Vec<_>>()
                        .join("; "),
                );
                (l, g)
            })
            .collect();
        (self.stack(numbered, None).unwrap_or_default(), true)
    }

    /// Greedy rows: each label right of its marker (left of it near the right edge), in the first row
    /// where it overlaps nothing; `None` when more than `max` rows would be needed.
    #[allow(clippy::type_complexity)]
    fn stack(
        &self,
        labels: Vec<(Label, Vec<usize>)>,
        max: Option<usize>,
    ) -> Option<Vec<Vec<(Label, Vec<usize>)>>> {
        let mut rows: Vec<Vec<(Label, Vec<usize>)>> = Vec::new();
        for (mut l, members) in labels {
            let at = l.x;
            l.x = if at + 3.0 + l.width <= self.width - PAD {
                at + 3.0
            } else {
                (at - 3.0 - l.width).max(PAD)
            };
            let free = |row: &Vec<(Label, Vec<usize>)>| {
                row.iter()
                    .all(|(o, _)| l.x >= o.x + o.width + GAP || l.x + l.width + GAP <= o.x)
            };
            match rows.iter().position(free) {
                Some(k) => rows[k].push((l, members)),
                None => {
                    if max.is_some_and(|m| rows.len() >= m) {
                        return None;
                    }
                    rows.push(vec![(l, members)]);
                }
            }
        }
        Some(rows)
    }

    fn lay_lanes(&mut self, dated: &[Dated], col: f64) {
        for (i, d) in dated.iter().enumerate() {
            let y = self.plot_top + i as f64 * LANE + (LANE - BAR) / 2.0;
            let x0 = self.x(d.first);
            let x1 = self.x(d.last).max(x0 + 4.0);
            let baseline = y + BAR / 2.0 + 0.35 * FONT;
            let text = fit(d.rule, col - GAP);
            let w = text_width(&text, FONT);
            let mut label = Label::new(text, PAD + col - GAP - w, baseline, Role::Lane);
            label.target = Some(d.rule.to_string());
            label.title = Some(format!("{}: {}", d.rule, d.title));
            self.labels.push(label);
            let span = d.last - d.first;
            let note = if span > Duration::zero() {
                format!("{}× in {}", d.count, duration(secs(span), 2))
            } else {
                format!("{}×", d.count)
            };
            let nw = text_width(&note, FONT);
            let nx = if x1 + GAP + nw <= self.width - PAD {
                Some(x1 + GAP)
            } else if x0 - GAP - nw >= self.plot_left {
                Some(x0 - GAP - nw)
            } else {
                None
            };
            if let Some(nx) = nx {
                let mut l = Label::new(note, nx, baseline, Role::LaneNote);
                l.target = Some(d.rule.to_string());
                self.labels.push(l);
            }
            self.lanes.push(Lane {
                rule: d.rule.to_string(),
                title: clean(d.title),
                severity: d.severity,
                count: d.count,
                first: d.first,
                last: d.last,
                x0,
                x1,
                y,
                h: BAR,
            });
        }
    }

    fn lay_ticks(&mut self) {
        let rows = [self.axis_y + 15.0, self.axis_y + 15.0 + ROW];
        let lo = PAD;
        let hi = self.width - PAD;
        let mut placed: Vec<Label> = Vec::new();
        let fits = |l: &Label, placed: &[Label]| {
            let r = l.rect();
            let wide = Rect {
                x: r.x - GAP,
                w: r.w + 2.0 * GAP,
                ..r
            };
            placed.iter().all(|o| !wide.overlaps(&o.rect()))
        };
        let center = |text: String, x: f64, y: f64, role: Role| {
            let w = text_width(&text, FONT);
            Label::new(text, (x - w / 2.0).clamp(lo, hi - w), y, role)
        };
        for (a, b, quiet) in self.breaks() {
            let l = center(
                duration(secs(quiet), 2),
                (a + b) / 2.0,
                rows[0],
                Role::Break,
            );
            if fits(&l, &placed) {
                placed.push(l);
            }
        }
        let multi_day = self.start.date_naive() != self.end.date_naive();
        let origin = self.boot.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        let segments = self.segments.clone();
        for s in &segments {
            let d = (s.end - s.start).num_milliseconds();
            let px = s.x1 - s.x0;
            // Multiples of `step` (counted from boot, else from the epoch) within the segment.
            let ticks_for = |step: i64| -> Vec<DateTime<Utc>> {
                let from = (s.start - origin).num_milliseconds();
                let first = from.div_euclid(step) + i64::from(from.rem_euclid(step) != 0);
                (first..)
                    .map(|k| origin + Duration::milliseconds(k * step))
                    .take_while(|t| *t <= s.end)
                    .collect()
            };
            let widest = |ticks: &[DateTime<Utc>], step: i64| {
                ticks
                    .iter()
                    .map(|&at| {
                        let since = self.boot.map(|b| since_boot(secs(at - b)));
                        text_width(since.as_deref().unwrap_or(""), FONT)
                            .max(text_width(&utc(at, step, multi_day), FONT))
                    })
                    .fold(0.0, f64::max)
            };
            // The smallest step whose labels keep clear of each other.
            let (step, ticks) = if d == 0 {
                (1000, vec![s.start])
            } else {
                STEPS_MS
                    .iter()
                    .map(|&step| (step, step as f64 / d as f64 * px))
                    .filter(|&(_, apart)| apart >= 20.0)
                    .map(|(step, apart)| (step, apart, ticks_for(step)))
                    .find(|(step, apart, ticks)| widest(ticks, *step) + 2.0 * GAP <= *apart)
                    .map(|(step, _, ticks)| (step, ticks))
                    .unwrap_or_else(|| {
                        let step = STEPS_MS[STEPS_MS.len() - 1];
                        (step, ticks_for(step))
                    })
            };
            for at in ticks {
                let x = self.x(at);
                let mut pair = Vec::new();
                let mut row = 0;
                if let Some(b) = self.boot {
                    pair.push(center(
                        since_boot(secs(at - b)),
                        x,
                        rows[row],
                        Role::TickSinceBoot,
                    ));
                    row += 1;
                }
                pair.push(center(
                    utc(at, step, multi_day),
                    x,
                    rows[row],
                    Role::TickUtc,
                ));
                if pair.iter().all(|l| fits(l, &placed)) {
                    placed.extend(pair);
                    self.ticks.push(Tick { at, x });
                }
            }
        }
        self.labels.extend(placed);
    }
}

/// A tick's UTC label, as precise as its step.
fn utc(t: DateTime<Utc>, step_ms: i64, multi_day: bool) -> String {
    let time = if step_ms < 1000 {
        let tenth = t.timestamp_subsec_millis() / 100;
        format!("{}.{tenth}", t.format("%H:%M:%S"))
    } else if step_ms < 60_000 || t.timestamp() % 60 != 0 {
        t.format("%H:%M:%S").to_string()
    } else {
        t.format("%H:%M").to_string()
    };
    if multi_day {
        format!("{} {time}Z", t.format("%m-%d"))
    } else {
        format!("{time}Z")
    }
}

/// The window cut into segments at quiet stretches (no event, and no finding going on), each given
/// its share of `left..right`.
fn segments(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    times: &[DateTime<Utc>],
    ongoing: &[(DateTime<Utc>, DateTime<Utc>)],
    left: f64,
    right: f64,
) -> Vec<Segment> {
    let mut ts: Vec<DateTime<Utc>> = times
        .iter()
        .copied()
        .filter(|t| *t >= start && *t <= end)
        .collect();
    ts.sort();
    ts.dedup();
    // Gaps cut out, as indexes into `ts` (gap i runs from ts[i] to ts[i + 1]).
    let mut cut: Vec<usize> = Vec::new();
    let total = end - start;
    for _ in 0..MAX_BREAKS {
        let open = total - cut.iter().map(|&i| ts[i + 1] - ts[i]).sum::<Duration>();
        let longest = (0..ts.len().saturating_sub(1))
            .filter(|i| !cut.contains(i))
            .filter(|&i| !ongoing.iter().any(|(a, b)| *a <= ts[i] && ts[i + 1] <= *b))
            .max_by_key(|&i| ts[i + 1] - ts[i]);
        match longest {
            Some(i)
                if (ts[i + 1] - ts[i]) * 2 > open && ts[i + 1] - ts[i] > Duration::minutes(2) =>
            {
                cut.push(i)
            }
            _ => break,
        }
    }
    cut.sort_unstable();
    let mut spans = Vec::new();
    let mut from = start;
    for &i in &cut {
        spans.push((from, ts[i]));
        from = ts[i + 1];
    }
    spans.push((from, end));
    let n = spans.len() as f64;
    let room = (right - left) - BREAK_W * (n - 1.0);
    let open: f64 = spans.iter().map(|(a, b)| secs(*b - *a)).sum();
    let share = (room - MIN_SEGMENT_W * n).max(0.0);
    let mut x = left;
    spans
        .into_iter()
        .map(|(a, b)| {
            let w = MIN_SEGMENT_W
                + if open > 0.0 {
                    share * secs(b - a) / open
                } else {
                    share / n
                };
            let s = Segment {
                start: a,
                end: b,
                x0: x,
                x1: x + w,
            };
            x += w + BREAK_W;
            s
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{BundleInfo, Finding, TimelineEvent};

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn finding(rule: &str, first: DateTime<Utc>, last: DateTime<Utc>) -> Finding {
        Finding {
            rule: rule.into(),
            severity: Severity::High,
            title: format!("title of {rule}"),
            summary: String::new(),
            why: String::new(),
            count: 3,
            first_seen: Some(first),
            last_seen: Some(last),
            first_seen_since_boot_s: None,
            evidence: Vec::new(),
            evidence_omitted: 0,
            details: Default::default(),
            fix: Vec::new(),
            actions: Vec::new(),
            docs: Vec::new(),
            root_cause: false,
            caused_by: Vec::new(),
        }
    }

    fn event(kind: &str, t: DateTime<Utc>, label: &str) -> TimelineEvent {
        TimelineEvent {
            at: t,
            since_boot_s: None,
            kind: kind.into(),
            rule: None,
            label: label.into(),
        }
    }

    fn report(
        boot: Option<DateTime<Utc>>,
        collected: Option<DateTime<Utc>>,
        findings: Vec<Finding>,
        mut events: Vec<TimelineEvent>,
    ) -> Report {
        events.extend(boot.map(|b| event("boot", b, "node booted")));
        events.extend(collected.map(|c| event("collected", c, "logs collected")));
        Report {
            schema_version: 1,
            tool: "test".into(),
            bundle: BundleInfo {
                boot_time: boot,
                collected_at: collected,
                ..Default::default()
            },
            findings,
            root_cause: None,
            timeline: events,
            skipped_checks: Vec::new(),
        }
    }

    /// The layout's promise: no two labels share area, and everything lies inside the drawing.
    fn assert_clean(t: &Timeline) {
        let bounds = t.bounds();
        for (i, a) in t.labels.iter().enumerate() {
            assert!(a.rect().inside(&bounds), "{:?} outside {bounds:?}", a);
            for b in &t.labels[i + 1..] {
                assert!(!a.rect().overlaps(&b.rect()), "{a:?} overlaps {b:?}");
            }
        }
        for l in &t.lanes {
            assert!(l.x0 >= t.plot_left - 0.01 && l.x1 <= t.width, "{l:?}");
            assert!(l.y + l.h <= t.axis_y, "{l:?}");
        }
        for m in &t.markers {
            assert!(
                m.x >= t.plot_left - 0.01 && m.x <= t.plot_right + 0.01,
                "{m:?}"
            );
        }
    }

    fn build(r: &Report) -> Timeline {
        Timeline::build(r, DEFAULT_WIDTH).unwrap_or_else(|| panic!("nothing dated"))
    }

    fn texts(t: &Timeline, role: Role) -> Vec<&str> {
        t.labels
            .iter()
            .filter(|l| l.role == role)
            .map(|l| l.text.as_str())
            .collect()
    }

    #[test]
    fn earlier_boot_events_leave_the_axis_and_the_quiet_hours_are_cut() {
        let boot = at("2026-10-19T05:10:02Z");
        let r = report(
            Some(boot),
            Some(at("2026-10-19T08:12:00Z")),
            vec![
                finding(
                    "ebs-io-throttling",
                    at("2026-10-19T05:10:27Z"),
                    at("2026-10-19T05:10:33Z"),
                ),
                finding(
                    "pod-ip-assignment-failed",
                    at("2026-10-19T05:12:41Z"),
                    at("2026-10-19T05:16:06Z"),
                ),
            ],
            vec![
                event(
                    "ipamd-start",
                    at("2026-10-12T05:12:40Z"),
                    "ipamd started (v1.18.3)",
                ),
                event(
                    "apiserver-reachable",
                    at("2026-10-12T05:12:42Z"),
                    "ipamd reached the API server",
                ),
                event(
                    "kubelet-start",
                    at("2026-10-19T05:10:41Z"),
                    "kubelet started",
                ),
                event(
                    "ipamd-start",
                    at("2026-10-19T05:12:00Z"),
                    "ipamd started again",
                ),
            ],
        );
        let t = build(&r);
        assert_clean(&t);
        assert_eq!(t.start, boot);
        assert_eq!(t.end, at("2026-10-19T08:12:00Z"));
        let e = t
            .earlier
            .as_ref()
            .unwrap_or_else(|| panic!("no earlier note"));
        assert_eq!(
            (e.count, e.first, e.last),
            (2, at("2026-10-12T05:12:40Z"), at("2026-10-12T05:12:42Z"))
        );
        assert!(e.before_boot);
        assert_eq!(t.breaks().len(), 1, "{:?}", t.segments);
        assert_eq!(
            t.breaks()[0].2,
            at("2026-10-19T08:12:00Z") - at("2026-10-19T05:16:06Z")
        );
        // The incident gets most of the width, and the ticks read in minutes since boot.
        let ebs = &t.lanes[0];
        let pods = &t.lanes[1];
        assert!(
            pods.x1 - ebs.x0 > 0.7 * (t.plot_right - t.plot_left),
            "{ebs:?} {pods:?}"
        );
        let since = texts(&t, Role::TickSinceBoot);
        assert!(since.len() >= 5, "{since:?}");
        assert!(
            since.contains(&"+1m") && since.contains(&"+2m"),
            "{since:?}"
        );
        assert!(texts(&t, Role::TickUtc).contains(&"05:12:02Z"));
        assert_eq!(texts(&t, Role::Break), ["2h55m"]);
        let mut markers = texts(&t, Role::Marker);
        markers.sort_unstable();
        assert_eq!(
            markers,
            [
                "ipamd started again",
                "kubelet started",
                "logs collected",
                "node booted"
            ]
        );
        assert!(!t.keyed);
    }

    #[test]
    fn thirty_markers_within_one_second_are_numbered_with_a_key() {
        let boot = at("2026-10-19T05:10:00Z");
        let events = (0..30)
            .map(|i| {
                let t = boot + Duration::milliseconds(10_000 + i * 33);
                event("kubelet-start", t, &format!("kubelet started, attempt {i}"))
            })
            .collect();
        let r = report(
            Some(boot),
            Some(boot + Duration::seconds(11)),
            vec![finding(
                "pleg-unhealthy",
                boot + Duration::seconds(10),
                boot + Duration::seconds(11),
            )],
            events,
        );
        let t = build(&r);
        assert_clean(&t);
        assert!(t.keyed);
        assert_eq!(t.markers.len(), 32);
        assert_eq!(
            t.markers.iter().map(|m| m.number).collect::<Vec<_>>(),
            (1..=32).collect::<Vec<_>>()
        );
        // Sub-second ticks over an 11-second window.
        assert!(texts(&t, Role::TickSinceBoot).len() >= 5);
    }

    #[test]
    fn thirty_markers_in_one_instant_share_one_label() {
        let boot = at("2026-10-19T05:10:00Z");
        let events = (0..30)
            .map(|i| {
                event(
                    "ipamd-start",
                    boot + Duration::milliseconds(500),
                    &format!("start {i}"),
                )
            })
            .collect();
        let t = build(&report(Some(boot), None, Vec::new(), events));
        assert_clean(&t);
        assert!(t.keyed);
        assert!(
            texts(&t, Role::Marker).contains(&"2–31"),
            "{:?}",
            texts(&t, Role::Marker)
        );
    }

    #[test]
    fn forty_findings_get_forty_lanes_without_overlap() {
        let boot = at("2026-10-19T05:10:00Z");
        let findings = (0..40)
            .map(|i| {
                let first = boot + Duration::seconds(i * 7);
                finding(
                    &format!("rule-number-{i:02}-with-a-long-name"),
                    first,
                    first + Duration::seconds(i * 3),
                )
            })
            .collect();
        let t = build(&report(
            Some(boot),
            Some(boot + Duration::minutes(6)),
            findings,
            Vec::new(),
        ));
        assert_clean(&t);
        assert_eq!(t.lanes.len(), 40);
        assert!(t.lanes.windows(2).all(|w| w[0].first <= w[1].first));
        assert_eq!(texts(&t, Role::Lane).len(), 40);
        assert!(t.height > 40.0 * LANE);
    }

    #[test]
    fn findings_over_three_days_get_dated_ticks() {
        let boot = at("2026-10-17T06:00:00Z");
        let r = report(
            Some(boot),
            Some(at("2026-10-20T07:00:00Z")),
            vec![
                finding(
                    "oom-kill",
                    at("2026-10-17T08:00:00Z"),
                    at("2026-10-19T09:00:00Z"),
                ),
                finding(
                    "pleg-unhealthy",
                    at("2026-10-18T14:00:00Z"),
                    at("2026-10-18T15:00:00Z"),
                ),
                finding(
                    "conntrack-table-full",
                    at("2026-10-19T20:00:00Z"),
                    at("2026-10-20T06:00:00Z"),
                ),
            ],
            Vec::new(),
        );
        let t = build(&r);
        assert_clean(&t);
        assert!(t.breaks().is_empty());
        let utc = texts(&t, Role::TickUtc);
        assert!(utc.len() >= 4, "{utc:?}");
        assert!(
            utc.iter()
                .all(|u| u.starts_with("10-1") || u.starts_with("10-2")),
            "{utc:?}"
        );
        assert!(texts(&t, Role::TickSinceBoot)
            .iter()
            .any(|s| s.contains('d')));
    }

    #[test]
    fn without_a_boot_the_window_is_the_findings_span() {
        let a = at("2026-10-19T05:12:00Z");
        let r = report(
            None,
            None,
            vec![finding("oom-kill", a, a + Duration::seconds(100))],
            vec![event(
                "kubelet-start",
                a - Duration::hours(5),
                "kubelet started",
            )],
        );
        let t = build(&r);
        assert_clean(&t);
        assert_eq!(t.start, a - Duration::seconds(2));
        assert_eq!(t.end, a + Duration::seconds(100));
        let e = t
            .earlier
            .as_ref()
            .unwrap_or_else(|| panic!("no earlier note"));
        assert!(!e.before_boot);
        assert!(texts(&t, Role::TickSinceBoot).is_empty());
        assert!(!texts(&t, Role::TickUtc).is_empty());
    }

    #[test]
    fn a_finding_before_boot_opens_the_window_with_a_margin() {
        let boot = at("2026-10-19T05:10:00Z");
        let early = boot - Duration::seconds(40);
        let r = report(
            Some(boot),
            Some(boot + Duration::seconds(60)),
            vec![finding(
                "ebs-io-throttling",
                early,
                boot + Duration::seconds(5),
            )],
            Vec::new(),
        );
        let t = build(&r);
        assert_clean(&t);
        assert!(t.start < early && early - t.start <= Duration::seconds(2));
        assert!(texts(&t, Role::TickSinceBoot)
            .iter()
            .any(|s| s.starts_with('-')));
    }

    #[test]
    fn one_instant_gets_a_second_of_room() {
        let a = at("2026-10-19T05:12:00Z");
        let t = build(&report(
            None,
            None,
            vec![finding("oom-kill", a, a)],
            Vec::new(),
        ));
        assert_clean(&t);
        assert!(t.end - t.start >= Duration::seconds(1));
        assert!(t.lanes[0].x1 > t.lanes[0].x0);
    }

    #[test]
    fn nothing_dated_means_no_timeline() {
        assert!(
            Timeline::build(&report(None, None, Vec::new(), Vec::new()), DEFAULT_WIDTH).is_none()
        );
    }

    #[test]
    fn hostile_text_is_cut_and_made_visible() {
        let boot = at("2026-10-19T05:10:00Z");
        let long = format!("<script>\u{1b}[31m\u{202e}{}", "漢字😀".repeat(80));
        let mut f = finding(&long, boot, boot + Duration::seconds(3));
        f.title = long.clone();
        let t = build(&report(
            Some(boot),
            Some(boot + Duration::seconds(30)),
            vec![f],
            vec![event("kubelet-start", boot + Duration::seconds(1), &long)],
        ));
        assert_clean(&t);
        for l in &t.labels {
            assert!(
                !l.text.chars().any(|c| c.is_control() || c == '\u{202e}'),
                "{l:?}"
            );
        }
        let lane = texts(&t, Role::Lane)[0];
        assert!(
            lane.ends_with('…') && lane.starts_with("<script>\u{fffd}[31m\u{fffd}"),
            "{lane}"
        );
        assert!(t.markers.iter().all(|m| !m.label.contains('\u{202e}')));
    }

    #[test]
    fn labels_never_overlap_across_shapes_and_widths() {
        let boot = at("2026-10-19T05:10:00Z");
        for span_s in [1, 90, 7_200, 259_200] {
            for n in [0, 1, 2, 5, 13, 40] {
                for markers in [0, 3, 30] {
                    let spread =
                        |i: i64, of: i64| Duration::milliseconds(span_s * 1000 * i / of.max(1));
                    let findings = (0..n)
                        .map(|i| {
                            let first = boot + spread(i, n);
                            finding(&format!("rule-{i}"), first, first + spread(1, 3))
                        })
                        .collect();
                    let events = (0..markers)
                        .map(|i| {
                            event(
                                "ipamd-start",
                                boot + spread(i, markers * 7),
                                "ipamd started (v1.18.3)",
                            )
                        })
                        .collect();
                    let r = report(Some(boot), Some(boot + spread(2, 1)), findings, events);
                    for width in [DEFAULT_WIDTH, 740.0, 480.0] {
                        let t =
                            Timeline::build(&r, width).unwrap_or_else(|| panic!("nothing dated"));
                        assert_clean(&t);
                        assert!(
                            !t.ticks.is_empty(),
                            "{span_s} s, {n} findings, {markers} markers"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn widths_and_durations() {
        assert_eq!(text_width("abcd", 10.0), 24.0);
        assert_eq!(text_width("漢😀", 10.0), 20.0);
        assert_eq!(text_width("e\u{301}", 10.0), 6.0);
        assert_eq!(duration(168.0, usize::MAX), "2m48s");
        assert_eq!(duration(3600.0, usize::MAX), "1h");
        assert_eq!(duration(3660.0, usize::MAX), "1h01m");
        assert_eq!(duration(10554.0, 2), "2h55m");
        assert_eq!(duration(0.4, 2), "0.4s");
        assert_eq!(duration(6.543, 2), "6.5s");
        assert_eq!(duration(35.069, 2), "35s");
        assert_eq!(duration(6.543, 3), "6.543s");
        assert_eq!(duration(0.0, 2), "0s");
        assert_eq!(since_boot(-40.0), "-40s");
        assert_eq!(since_boot(90061.0), "+1d01h01m01s");
        assert_eq!(fit("abc", 100.0), "abc");
        assert_eq!(fit("abcdefghij", 6.6 * 4.0), "abc…");
    }
}
