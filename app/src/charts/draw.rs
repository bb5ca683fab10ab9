//! Chart drawing as pure functions: scales, SVG paths, axis ticks and labels over a query's
//! time window.
//!
//! Nothing here touches the browser, so all of it is tested on the host. The components
//! ([`super::history`], [`super::spark`], [`super::svg`]) only put the strings these functions
//! return into SVG elements.
//!
//! A history answer has one [`Bucket`] per time step with data; empty steps are left out. A
//! chart draws the min–max band and the mean line over the whole query window (so missing data
//! shows as empty space, and a recent hole at the right edge), and breaks both where more than
//! a bucket or two is missing, instead of drawing a line across an outage.

use ioc_protocol::history::Bucket;
use ioc_protocol::time::LOCAL_OFFSET_MS;

use crate::api::history::Window;
use crate::clock::{hcmc_date, hcmc_hour_minute};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// A linear map from a domain of values to a range of coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Linear {
    d0: f64,
    d1: f64,
    r0: f64,
    r1: f64,
}

impl Linear {
    pub fn new((d0, d1): (f64, f64), (r0, r1): (f64, f64)) -> Linear {
        Linear { d0, d1, r0, r1 }
    }

    /// The coordinate of `v`; the middle of the range when the domain is a single value.
    pub fn map(&self, v: f64) -> f64 {
        let span = self.d1 - self.d0;
        if span == 0.0 || !span.is_finite() {
            return (self.r0 + self.r1) / 2.0;
        }
        self.r0 + (v - self.d0) / span * (self.r1 - self.r0)
    }
}

/// The buckets worth drawing: finite values, in time order.
fn clean(buckets: &[Bucket]) -> Vec<Bucket> {
    let mut out: Vec<Bucket> = buckets
        .iter()
        .copied()
        .filter(|b| b.mean.is_finite() && b.min.is_finite() && b.max.is_finite())
        .collect();
    out.sort_by_key(|b| b.t);
    out.dedup_by_key(|b| b.t);
    out
}

/// The runs of buckets to draw as one piece: a new run starts where the time since the
/// previous bucket is more than 2.5 times the usual spacing (the (lower) median spacing, or the
/// bucket step if the data is denser): one missing bucket is bridged, a longer hole is not.
pub fn segments(buckets: &[Bucket], step: i64) -> Vec<Vec<Bucket>> {
    let b = clean(buckets);
    if b.is_empty() {
        return Vec::new();
    }
    let mut gaps: Vec<i64> = b.windows(2).map(|w| w[1].t - w[0].t).collect();
    gaps.sort_unstable();
    let usual = gaps
        .get(gaps.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or(step)
        .max(step)
        .max(1);
    let limit = usual as f64 * 2.5;
    let mut out = vec![vec![b[0]]];
    for w in b.windows(2) {
        if (w[1].t - w[0].t) as f64 > limit {
            out.push(Vec::new());
        }
        out.last_mut().expect("one run at least").push(w[1]);
    }
    out
}

/// A coordinate in a path: one decimal is finer than a pixel.
fn num(v: f64) -> String {
    let s = format!("{v:.1}");
    if s == "-0.0" { "0.0".to_owned() } else { s }
}

/// The x of a bucket: the middle of its time step.
fn bucket_x(b: &Bucket, step: i64, x: &Linear) -> f64 {
    x.map(b.t as f64 + step as f64 / 2.0)
}

/// The mean line: one subpath per run. A lone bucket is a zero-length subpath (`h0`), which
/// SVG draws as a dot with round line caps.
pub fn line_path(runs: &[Vec<Bucket>], step: i64, x: &Linear, y: &Linear) -> String {
    let mut d = String::new();
    for run in runs {
        for (i, b) in run.iter().enumerate() {
            if !d.is_empty() {
                d.push(' ');
            }
            d.push(if i == 0 { 'M' } else { 'L' });
            d.push_str(&num(bucket_x(b, step, x)));
            d.push(' ');
            d.push_str(&num(y.map(b.mean)));
        }
        if run.len() == 1 {
            d.push_str(" h0");
        }
    }
    d
}

/// The min–max band: one closed polygon per run, along the maxima and back along the minima.
/// A lone bucket is a bar one bucket wide, so that it still shows.
pub fn band_path(runs: &[Vec<Bucket>], step: i64, x: &Linear, y: &Linear) -> String {
    let mut parts = Vec::new();
    for run in runs {
        let pts: Vec<String> = if let [b] = run.as_slice() {
            let half = ((x.map(step as f64) - x.map(0.0)).abs() / 2.0).max(1.0);
            let cx = bucket_x(b, step, x);
            vec![
                format!("{} {}", num(cx - half), num(y.map(b.max))),
                format!("{} {}", num(cx + half), num(y.map(b.max))),
                format!("{} {}", num(cx + half), num(y.map(b.min))),
                format!("{} {}", num(cx - half), num(y.map(b.min))),
            ]
        } else {
            run.iter()
                .map(|b| format!("{} {}", num(bucket_x(b, step, x)), num(y.map(b.max))))
                .chain(
                    run.iter()
                        .rev()
                        .map(|b| format!("{} {}", num(bucket_x(b, step, x)), num(y.map(b.min)))),
                )
                .collect()
        };
        if pts.is_empty() {
            continue;
        }
        parts.push(format!("M{} Z", pts.join(" L")));
    }
    parts.join(" ")
}

/// A "nice" tick step (1, 2 or 5 times a power of ten) that cuts `span` into at most
/// `max_ticks` intervals.
pub fn nice_step(span: f64, max_ticks: usize) -> f64 {
    let max_ticks = max_ticks.max(1) as f64;
    if span <= 0.0 || !span.is_finite() {
        return 1.0;
    }
    let raw = span / max_ticks;
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| span / s <= max_ticks + 1e-9)
        .unwrap_or(10.0 * mag)
}

/// A value axis: its domain, from a tick to a tick, and the ticks.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueAxis {
    pub lo: f64,
    pub hi: f64,
    pub step: f64,
    pub ticks: Vec<f64>,
}

/// The value axis for data from `lo` to `hi` (none: no data), widened to take in every value
/// of `include` (a zero baseline, a scale's fixed ends), with at most `max_ticks` intervals.
pub fn value_axis(extent: Option<(f64, f64)>, include: &[f64], max_ticks: usize) -> ValueAxis {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for v in extent
        .into_iter()
        .flat_map(|(a, b)| [a, b])
        .chain(include.iter().copied())
        .filter(|v| v.is_finite())
    {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if hi - lo <= 0.0 {
        // A flat series: room around it, so the line sits in the middle (above a zero line).
        (lo, hi) = if lo == 0.0 {
            (0.0, 1.0)
        } else {
            (lo - lo.abs() * 0.1, hi + hi.abs() * 0.1)
        };
    }
    let step = nice_step(hi - lo, max_ticks);
    // Ticks are whole multiples of the step, computed from integers: no 0.30000000000000004,
    // and no "-0".
    let inv = (1.0 / step).round();
    let tick = |k: i64| {
        let v = if step < 1.0 {
            k as f64 / inv
        } else {
            k as f64 * step
        };
        if v == 0.0 { 0.0 } else { v }
    };
    let k_lo = (lo / step + 1e-9).floor() as i64;
    let k_hi = (hi / step - 1e-9).ceil() as i64;
    ValueAxis {
        lo: tick(k_lo),
        hi: tick(k_hi),
        step,
        ticks: (k_lo..=k_hi).map(tick).collect(),
    }
}

/// A tick value with as many decimals as its step needs.
pub fn format_value(v: f64, step: f64) -> String {
    let decimals = if step >= 1.0 || step <= 0.0 {
        0
    } else {
        (-step.log10() - 1e-9).ceil().clamp(0.0, 6.0) as usize
    };
    let s = format!("{v:.decimals$}");
    if s.trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        // "-0" and "-0.0" read as zero.
        s.trim_start_matches('-').to_owned()
    } else {
        s
    }
}

/// Time ticks between `from` and `to` (epoch ms), at most `max_ticks` of them, on round local
/// times (whole 10 minutes, whole 3 hours, local midnights): `HH:MM` below a day, `dd/mm` for
/// days.
pub fn time_ticks(from: i64, to: i64, max_ticks: usize) -> Vec<(i64, String)> {
    const STEPS: [i64; 14] = [
        MINUTE,
        2 * MINUTE,
        5 * MINUTE,
        10 * MINUTE,
        15 * MINUTE,
        30 * MINUTE,
        HOUR,
        2 * HOUR,
        3 * HOUR,
        6 * HOUR,
        12 * HOUR,
        DAY,
        2 * DAY,
        7 * DAY,
    ];
    if to <= from {
        return Vec::new();
    }
    let max_ticks = max_ticks.max(1) as i64;
    let span = to - from;
    let step = STEPS
        .iter()
        .copied()
        .find(|s| span / s <= max_ticks)
        .unwrap_or(STEPS[STEPS.len() - 1]);
    let local_from = from + LOCAL_OFFSET_MS;
    let first = local_from.div_euclid(step) * step
        + if local_from.rem_euclid(step) == 0 {
            0
        } else {
            step
        }
        - LOCAL_OFFSET_MS;
    (0..)
        .map(|i| first + i * step)
        .take_while(|t| *t <= to)
        .map(|t| {
            let label = if step >= DAY {
                hcmc_date(t)
            } else {
                hcmc_hour_minute(t)
            };
            (t, label)
        })
        .collect()
}

/// Where a chart draws, in SVG user units: the whole box and the plot area inside it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
}

impl Frame {
    /// The x coordinate of the left edge of the plot area.
    pub fn x0(&self) -> f64 {
        self.left
    }
    pub fn x1(&self) -> f64 {
        self.width - self.right
    }
    /// The y coordinate of the top of the plot area.
    pub fn y0(&self) -> f64 {
        self.top
    }
    pub fn y1(&self) -> f64 {
        self.height - self.bottom
    }
}

/// Everything a chart draws, ready for the SVG.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartModel {
    /// The min–max band (`d` of a path), empty when there is no data.
    pub band: String,
    /// The mean line (`d` of a path), empty when there is no data.
    pub mean: String,
    /// Time ticks: x and label.
    pub x_ticks: Vec<(f64, String)>,
    /// Value ticks: y and label.
    pub y_ticks: Vec<(f64, String)>,
    /// No bucket to draw.
    pub empty: bool,
    /// The newest bucket's mean, if any.
    pub last: Option<f64>,
    /// The guides inside the value scale: their index in [`ChartSpec::guides`] and y.
    pub guides: Vec<(usize, f64)>,
    /// Buckets with no neighbour to draw a line to: (x, y) of their mean, drawn as dots.
    pub dots: Vec<(f64, f64)>,
}

/// How a chart's value axis is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChartSpec<'a> {
    /// Values the axis always takes in: `[0.0]` for a zero baseline, `[0.0, 5.0]` for a scale
    /// with fixed ends.
    pub include: &'a [f64],
    pub max_value_ticks: usize,
    pub max_time_ticks: usize,
    /// Values marked by a line when inside the scale (the VN_AQI band limits).
    pub guides: &'a [f64],
}

/// The drawing of a history chart over `window`, in `frame`.
pub fn chart(buckets: &[Bucket], window: Window, frame: Frame, spec: ChartSpec<'_>) -> ChartModel {
    let runs = segments(buckets, window.step);
    let extent = runs
        .iter()
        .flatten()
        .fold(None, |acc: Option<(f64, f64)>, b| {
            let (lo, hi) = acc.unwrap_or((b.min, b.max));
            Some((lo.min(b.min).min(b.mean), hi.max(b.max).max(b.mean)))
        });
    let axis = value_axis(extent, spec.include, spec.max_value_ticks);
    let x = Linear::new(
        (window.from as f64, window.to as f64),
        (frame.x0(), frame.x1()),
    );
    let y = Linear::new((axis.lo, axis.hi), (frame.y1(), frame.y0()));
    ChartModel {
        band: band_path(&runs, window.step, &x, &y),
        mean: line_path(&runs, window.step, &x, &y),
        x_ticks: time_ticks(window.from, window.to, spec.max_time_ticks)
            .into_iter()
            .map(|(t, label)| (x.map(t as f64), label))
            .collect(),
        // Without data a value scale would mean nothing: none is drawn.
        y_ticks: if runs.is_empty() {
            Vec::new()
        } else {
            axis.ticks
                .iter()
                .map(|v| (y.map(*v), format_value(*v, axis.step)))
                .collect()
        },
        guides: if runs.is_empty() {
            Vec::new()
        } else {
            spec.guides
                .iter()
                .enumerate()
                .filter(|(_, v)| **v > axis.lo && **v <= axis.hi)
                .map(|(i, v)| (i, y.map(*v)))
                .collect()
        },
        dots: runs
            .iter()
            .filter_map(|r| match r.as_slice() {
                [b] => Some((bucket_x(b, window.step, &x), y.map(b.mean))),
                _ => None,
            })
            .collect(),
        empty: runs.is_empty(),
        last: runs.last().and_then(|r| r.last()).map(|b| b.mean),
    }
}

/// The least span of a sparkline's scale, as a share of its values' level.
const SPARK_MIN_SPAN: f64 = 0.2;

/// The mean line of a sparkline `width` × `height` over `window`, fitted to its own values
/// (the trend matters, not the level), with a little room above and below for the stroke.
/// The scale spans at least a fifth of the values' level, so that noise of a point or two on a
/// steady series stays a ripple instead of filling the height. Empty when there is no data.
pub fn sparkline(buckets: &[Bucket], window: Window, width: f64, height: f64) -> String {
    let runs = segments(buckets, window.step);
    let Some((lo, hi)) = runs
        .iter()
        .flatten()
        .fold(None, |acc: Option<(f64, f64)>, b| {
            let (lo, hi) = acc.unwrap_or((b.mean, b.mean));
            Some((lo.min(b.mean), hi.max(b.mean)))
        })
    else {
        return String::new();
    };
    let mid = (lo + hi) / 2.0;
    let min_span = mid.abs() * SPARK_MIN_SPAN;
    let (lo, hi) = if hi - lo < min_span {
        (mid - min_span / 2.0, mid + min_span / 2.0)
    } else {
        (lo, hi)
    };
    let pad = height * 0.1;
    let x = Linear::new((window.from as f64, window.to as f64), (0.0, width));
    let y = Linear::new((lo, hi), (height - pad, pad));
    line_path(&runs, window.step, &x, &y)
}

/// The slices of a pie (a donut) of `values`, as SVG paths on a circle of radius 1 centred
/// on 0,0, clockwise from 12 o'clock, with a hole of radius `inner`. A value alone fills
/// the ring; zero and negative values get an empty path.
pub fn pie_slices(values: &[f64], inner: f64) -> Vec<String> {
    let total: f64 = values.iter().filter(|v| **v > 0.0).sum();
    let mut out = Vec::with_capacity(values.len());
    let mut start = 0.0_f64;
    let point = |turn: f64, r: f64| {
        let a = turn * std::f64::consts::TAU;
        (r * a.sin(), -r * a.cos())
    };
    for &v in values {
        if !(v > 0.0 && total > 0.0) {
            out.push(String::new());
            continue;
        }
        let share = v / total;
        if share >= 0.9999 {
            // A full ring: two half arcs each way (one arc cannot end where it starts).
            out.push(format!(
                "M0 -1A1 1 0 1 1 0 1A1 1 0 1 1 0 -1ZM0 -{inner}A{inner} {inner} 0 1 0 0 {inner}A{inner} {inner} 0 1 0 0 -{inner}Z"
            ));
            start += share;
            continue;
        }
        let end = start + share;
        let large = u8::from(share > 0.5);
        let (x0, y0) = point(start, 1.0);
        let (x1, y1) = point(end, 1.0);
        let (x2, y2) = point(end, inner);
        let (x3, y3) = point(start, inner);
        out.push(format!(
            "M{x0:.4} {y0:.4}A1 1 0 {large} 1 {x1:.4} {y1:.4}L{x2:.4} {y2:.4}A{inner} {inner} 0 {large} 0 {x3:.4} {y3:.4}Z"
        ));
        start = end;
    }
    out
}

/// Where a gauge's level sits on its scale, 0 (bottom) to 1 (top), the scale running from
/// `lo` to `hi`; clamped.
pub fn gauge_fraction(level: f64, lo: f64, hi: f64) -> f64 {
    if hi > lo {
        ((level - lo) / (hi - lo)).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(t: i64, min: f64, mean: f64, max: f64) -> Bucket {
        Bucket {
            t,
            min,
            mean,
            max,
            count: 1,
        }
    }

    fn ident() -> (Linear, Linear) {
        (
            Linear::new((0.0, 100.0), (0.0, 100.0)),
            Linear::new((0.0, 100.0), (100.0, 0.0)),
        )
    }

    #[test]
    fn linear_maps_and_flips() {
        let y = Linear::new((0.0, 50.0), (200.0, 0.0));
        assert_eq!(y.map(0.0), 200.0);
        assert_eq!(y.map(50.0), 0.0);
        assert_eq!(y.map(25.0), 100.0);
        // A domain of one value maps to the middle.
        assert_eq!(Linear::new((3.0, 3.0), (0.0, 10.0)).map(3.0), 5.0);
    }

    #[test]
    fn path_of_a_known_series() {
        let (x, y) = ident();
        let runs = segments(
            &[
                b(0, 5.0, 10.0, 15.0),
                b(10, 15.0, 20.0, 25.0),
                b(20, 40.0, 50.0, 60.0),
            ],
            10,
        );
        assert_eq!(runs.len(), 1);
        // Each bucket at the middle of its step (t + 5).
        assert_eq!(
            line_path(&runs, 10, &x, &y),
            "M5.0 90.0 L15.0 80.0 L25.0 50.0"
        );
        assert_eq!(
            band_path(&runs, 10, &x, &y),
            "M5.0 85.0 L15.0 75.0 L25.0 40.0 L25.0 60.0 L15.0 85.0 L5.0 95.0 Z"
        );
    }

    #[test]
    fn buckets_out_of_order_or_not_finite_are_cleaned() {
        let (x, y) = ident();
        let runs = segments(
            &[
                b(10, 20.0, 20.0, 20.0),
                b(0, 10.0, 10.0, 10.0),
                b(20, f64::NAN, f64::NAN, f64::NAN),
            ],
            10,
        );
        assert_eq!(line_path(&runs, 10, &x, &y), "M5.0 90.0 L15.0 80.0");
    }

    #[test]
    fn empty_input_draws_nothing() {
        let (x, y) = ident();
        assert!(segments(&[], 10).is_empty());
        assert_eq!(line_path(&[], 10, &x, &y), "");
        assert_eq!(band_path(&[], 10, &x, &y), "");
        let w = Window {
            from: 0,
            to: 100,
            step: 10,
        };
        assert_eq!(sparkline(&[], w, 100.0, 20.0), "");
        let m = chart(&[], w, frame(), spec());
        assert!(m.empty);
        assert_eq!((m.mean.as_str(), m.band.as_str(), m.last), ("", "", None));
        assert!(m.guides.is_empty());
        assert!(m.dots.is_empty());
        // The time axis is still drawn (here 100 ms from 07:00: one tick), no value scale.
        assert_eq!(m.x_ticks, vec![(50.0, "07:00".to_owned())]);
        assert!(m.y_ticks.is_empty());
    }

    #[test]
    fn a_single_point_is_a_dot_and_a_bar() {
        let (x, y) = ident();
        let runs = segments(&[b(40, 30.0, 40.0, 50.0)], 10);
        assert_eq!(line_path(&runs, 10, &x, &y), "M45.0 60.0 h0");
        assert_eq!(
            band_path(&runs, 10, &x, &y),
            "M40.0 50.0 L50.0 50.0 L50.0 70.0 L40.0 70.0 Z"
        );
        // A sparkline of one value: a dot in the middle.
        let w = Window {
            from: 0,
            to: 100,
            step: 10,
        };
        assert_eq!(
            sparkline(&[b(40, 1.0, 7.0, 9.0)], w, 100.0, 20.0),
            "M45.0 10.0 h0"
        );
    }

    #[test]
    fn sparklines_fit_the_trend_but_not_the_noise() {
        let w = Window {
            from: 0,
            to: 100,
            step: 10,
        };
        // 50 to 100: the full height (20, less 10% above and below).
        assert_eq!(
            sparkline(
                &[b(0, 0.0, 50.0, 0.0), b(10, 0.0, 100.0, 0.0)],
                w,
                100.0,
                20.0
            ),
            "M5.0 18.0 L15.0 2.0"
        );
        // 100 to 101: a ripple around the middle, not the full height.
        assert_eq!(
            sparkline(
                &[b(0, 0.0, 100.0, 0.0), b(10, 0.0, 101.0, 0.0)],
                w,
                100.0,
                20.0
            ),
            "M5.0 10.4 L15.0 9.6"
        );
    }

    #[test]
    fn gaps_break_the_line() {
        let (x, y) = ident();
        // Steps of 10; one missing bucket (at 20) is bridged, the hole from 30 to 80 is not.
        let series = [
            b(0, 10.0, 10.0, 10.0),
            b(10, 10.0, 10.0, 10.0),
            b(30, 20.0, 20.0, 20.0),
            b(80, 30.0, 30.0, 30.0),
            b(90, 40.0, 40.0, 40.0),
        ];
        let runs = segments(&series, 10);
        assert_eq!(runs.len(), 2);
        assert_eq!(
            line_path(&runs, 10, &x, &y),
            "M5.0 90.0 L15.0 90.0 L35.0 80.0 M85.0 70.0 L95.0 60.0"
        );
        let band = band_path(&runs, 10, &x, &y);
        assert_eq!(band.matches('M').count(), 2);
        assert_eq!(band.matches('Z').count(), 2);
    }

    #[test]
    fn sparse_sensors_are_not_broken_into_dots() {
        // A sensor reporting every 5 minutes in 30-second buckets: the usual spacing is the
        // median, 5 minutes, so the line is whole.
        let series: Vec<Bucket> = (0..12).map(|i| b(i * 300_000, 1.0, 1.0, 1.0)).collect();
        assert_eq!(segments(&series, 30_000).len(), 1);
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(100.0, 5), 20.0);
        assert_eq!(nice_step(100.0, 4), 50.0);
        assert_eq!(nice_step(5.0, 5), 1.0);
        assert_eq!(nice_step(1.0, 4), 0.5);
        assert_eq!(nice_step(0.0, 4), 1.0);
    }

    #[test]
    fn ticks_for_a_known_range() {
        let a = value_axis(Some((37.0, 118.0)), &[], 5);
        assert_eq!(a.step, 20.0);
        assert_eq!((a.lo, a.hi), (20.0, 120.0));
        assert_eq!(a.ticks, vec![20.0, 40.0, 60.0, 80.0, 100.0, 120.0]);
        // With a zero baseline.
        let a = value_axis(Some((37.0, 118.0)), &[0.0], 5);
        assert_eq!(a.ticks, vec![0.0, 50.0, 100.0, 150.0]);
        // Congestion: 0 to 5 always.
        let a = value_axis(Some((2.2, 3.1)), &[0.0, 5.0], 5);
        assert_eq!(a.ticks, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        // Decimals without float noise.
        let a = value_axis(Some((0.1, 0.7)), &[], 6);
        assert_eq!(a.ticks, vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
        assert_eq!(format_value(a.ticks[2], a.step), "0.3");
        assert_eq!(format_value(120.0, 20.0), "120");
        assert_eq!(format_value(-0.0, 0.5), "0.0");
    }

    #[test]
    fn a_flat_series_gets_room() {
        let a = value_axis(Some((80.0, 80.0)), &[], 4);
        assert!(a.lo < 80.0 && a.hi > 80.0, "{a:?}");
        // Never below zero for values that cannot be negative.
        let a = value_axis(Some((0.0, 0.0)), &[], 4);
        assert_eq!((a.lo, a.hi), (0.0, 1.0));
        let a = value_axis(None, &[], 4);
        assert_eq!((a.lo, a.hi), (0.0, 1.0));
    }

    #[test]
    fn time_ticks_are_round_local_times() {
        // 2025-11-22T17:30:05Z is 00:30:05 on 23/11 in Ho Chi Minh City.
        let to = 1_763_832_605_000;
        let hour = time_ticks(to - HOUR, to, 8);
        let labels: Vec<&str> = hour.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(
            labels,
            ["23:40", "23:50", "00:00", "00:10", "00:20", "00:30"]
        );
        let day = time_ticks(to - DAY, to, 8);
        let labels: Vec<&str> = day.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(
            labels,
            [
                "03:00", "06:00", "09:00", "12:00", "15:00", "18:00", "21:00", "00:00"
            ]
        );
        // Seven days: local midnights, as dates.
        let week = time_ticks(to - 7 * DAY, to, 8);
        let labels: Vec<&str> = week.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(
            labels,
            [
                "17/11", "18/11", "19/11", "20/11", "21/11", "22/11", "23/11"
            ]
        );
        // A local midnight is 17:00 UTC the day before.
        assert_eq!((week[0].0 + LOCAL_OFFSET_MS) % DAY, 0);
        assert!(time_ticks(10, 10, 8).is_empty());
    }

    fn frame() -> Frame {
        Frame {
            width: 400.0,
            height: 200.0,
            left: 50.0,
            right: 10.0,
            top: 10.0,
            bottom: 30.0,
        }
    }

    fn spec() -> ChartSpec<'static> {
        ChartSpec {
            include: &[0.0],
            max_value_ticks: 4,
            max_time_ticks: 6,
            guides: &[50.0, 100.0, 150.0, 200.0],
        }
    }

    #[test]
    fn a_chart_fits_its_frame() {
        let w = Window {
            from: 0,
            to: 60 * MINUTE,
            step: 30 * 1000,
        };
        let series: Vec<Bucket> = (0..120)
            .map(|i| b(i * 30_000, 90.0, 100.0 + i as f64 / 10.0, 130.0))
            .collect();
        let m = chart(&series, w, frame(), spec());
        assert!(!m.empty);
        assert!((m.last.unwrap() - 111.9).abs() < 1e-9, "{:?}", m.last);
        assert!(m.mean.starts_with('M') && !m.mean.contains(" M"), "one run");
        // Every coordinate inside the plot area.
        for part in m.mean.split(['M', 'L']).filter(|s| !s.trim().is_empty()) {
            let xy: Vec<f64> = part
                .split_whitespace()
                .map(|v| v.parse().unwrap())
                .collect();
            assert!((50.0..=390.0).contains(&xy[0]), "{xy:?}");
            assert!((10.0..=170.0).contains(&xy[1]), "{xy:?}");
        }
        // 0 to 150 in steps of 50, the top tick at the top of the plot area.
        let ys: Vec<&str> = m.y_ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(ys, ["0", "50", "100", "150"]);
        assert_eq!(m.y_ticks[0].0, 170.0);
        assert_eq!(m.y_ticks[3].0, 10.0);
        // Epoch 0 is 07:00 in Ho Chi Minh City: ticks every 10 minutes.
        assert_eq!(m.x_ticks[0], (50.0, "07:00".to_owned()));
        assert_eq!(m.x_ticks.len(), 7);
        assert_eq!(m.x_ticks[6].0, 390.0);
        // The guides inside the scale (200 is above it).
        let guides: Vec<usize> = m.guides.iter().map(|(i, _)| *i).collect();
        assert_eq!(guides, [0, 1, 2]);
        assert_eq!(m.guides[2].1, 10.0);
        assert!(m.dots.is_empty());
        // A lone bucket is also a dot, so that it shows at any size.
        let lone = chart(&[b(0, 100.0, 100.0, 100.0)], w, frame(), spec());
        assert_eq!(lone.dots.len(), 1);
        assert!(lone.mean.ends_with("h0"));
    }

    #[test]
    fn pie_slices_share_the_circle() {
        let p = pie_slices(&[1.0, 1.0, 2.0, 0.0], 0.6);
        assert_eq!(p.len(), 4);
        // The first quarter ends at 3 o'clock, the second half at 12 o'clock again.
        assert!(
            p[0].starts_with("M0.0000 -1.0000A1 1 0 0 1 1.0000 "),
            "{}",
            p[0]
        );
        assert!(
            p[2].contains("A1 1 0 0 1 -0.0000 -1.0000")
                || p[2].contains("A1 1 0 0 1 0.0000 -1.0000"),
            "{}",
            p[2]
        );
        assert!(p[3].is_empty());
        let full = pie_slices(&[5.0], 0.6);
        assert!(full[0].contains("A1 1 0 1 1 0 1"), "{}", full[0]);
        assert!(pie_slices(&[0.0, 0.0], 0.5).iter().all(String::is_empty));
    }

    #[test]
    fn gauges_clamp_to_their_scale() {
        assert_eq!(gauge_fraction(150.0, 100.0, 200.0), 0.5);
        assert_eq!(gauge_fraction(90.0, 100.0, 200.0), 0.0);
        assert_eq!(gauge_fraction(250.0, 100.0, 200.0), 1.0);
        assert_eq!(gauge_fraction(1.0, 1.0, 1.0), 0.0);
    }
}
