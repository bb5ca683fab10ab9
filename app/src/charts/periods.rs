//! Charts of an indicator's series by period (month, quarter or year), as pure geometry:
//! the cards' sparkline of the last periods, and the detail's year chart, which lays this
//! year over the year before with the year's target as a line. For a flow (summed over the
//! year) the chart is the year-to-date sum, the figure its target is set for; for a level, the
//! values themselves.

use super::draw::{Frame, Linear, ValueAxis, value_axis};

/// The SVG path of a sparkline of `values` (oldest first), `width` by `height`; empty with
/// fewer than two values.
pub fn spark_path(values: &[f64], width: f64, height: f64) -> String {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.len() < 2 {
        return String::new();
    }
    let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let x = Linear::new((0.0, (finite.len() - 1) as f64), (0.0, width));
    let y = Linear::new((lo, hi), (height, 0.0));
    let mut d = String::new();
    for (i, v) in finite.iter().enumerate() {
        let cmd = if i == 0 { 'M' } else { 'L' };
        d.push_str(&format!("{cmd}{:.1},{:.1}", x.map(i as f64), y.map(*v)));
    }
    d
}

/// A year's values by the period's place in the year (index 1..=`per_year`), `None` where
/// there is none.
pub type YearValues = Vec<Option<f64>>;

/// The running sum of a flow's year: `None` from the first missing period on.
pub fn year_to_date(values: &[Option<f64>]) -> YearValues {
    let mut sum = Some(0.0);
    values
        .iter()
        .map(|v| {
            sum = match (sum, v) {
                (Some(s), Some(v)) => Some(s + v),
                _ => None,
            };
            sum
        })
        .collect()
}

/// What the detail's chart draws.
#[derive(Debug, Clone, PartialEq)]
pub struct YearChart {
    /// This year's line (`d` of a path).
    pub this_year: String,
    /// The year before's line.
    pub year_before: String,
    /// The target's y, when there is one.
    pub target_y: Option<f64>,
    pub axis: ValueAxis,
    /// Each tick's y.
    pub tick_ys: Vec<f64>,
    /// Each period's x, 1..=`per_year`.
    pub xs: Vec<f64>,
}

fn line(values: &[Option<f64>], x: &Linear, y: &Linear) -> String {
    let mut d = String::new();
    let mut pen_down = false;
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) if v.is_finite() => {
                let cmd = if pen_down { 'L' } else { 'M' };
                d.push_str(&format!("{cmd}{:.1},{:.1}", x.map(i as f64), y.map(*v)));
                pen_down = true;
            }
            _ => pen_down = false,
        }
    }
    d
}

/// This year over the year before, with the target, in `frame`.
pub fn year_chart(
    this_year: &[Option<f64>],
    year_before: &[Option<f64>],
    target: Option<f64>,
    frame: Frame,
) -> YearChart {
    let n = this_year.len().max(year_before.len()).max(1);
    let all = this_year
        .iter()
        .chain(year_before)
        .flatten()
        .copied()
        .chain(target)
        .filter(|v| v.is_finite());
    let extent = all.fold(None, |acc: Option<(f64, f64)>, v| {
        Some(acc.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))))
    });
    let axis = value_axis(extent, &[], 5);
    let x = if n == 1 {
        Linear::new((-1.0, 1.0), (frame.x0(), frame.x1()))
    } else {
        Linear::new((0.0, (n - 1) as f64), (frame.x0(), frame.x1()))
    };
    let y = Linear::new((axis.lo, axis.hi), (frame.y1(), frame.y0()));
    YearChart {
        this_year: line(this_year, &x, &y),
        year_before: line(year_before, &x, &y),
        target_y: target.filter(|t| t.is_finite()).map(|t| y.map(t)),
        tick_ys: axis.ticks.iter().map(|t| y.map(*t)).collect(),
        axis,
        xs: (0..n).map(|i| x.map(i as f64)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_spans_its_box() {
        let d = spark_path(&[1.0, 3.0, 2.0], 100.0, 20.0);
        assert_eq!(d, "M0.0,20.0L50.0,0.0L100.0,10.0");
        assert_eq!(spark_path(&[1.0], 100.0, 20.0), "");
    }

    #[test]
    fn a_flow_is_charted_as_its_year_to_date() {
        let ytd = year_to_date(&[Some(1.0), Some(2.0), None, Some(4.0)]);
        assert_eq!(ytd, vec![Some(1.0), Some(3.0), None, None]);
    }

    #[test]
    fn the_target_and_both_years_share_one_axis() {
        let frame = Frame {
            width: 400.0,
            height: 200.0,
            left: 40.0,
            right: 10.0,
            top: 10.0,
            bottom: 20.0,
        };
        let c = year_chart(
            &[Some(10.0), Some(20.0), None, None],
            &[Some(8.0), Some(15.0), Some(22.0), Some(30.0)],
            Some(40.0),
            frame,
        );
        // The target is the top of the data: the axis ends at it, at the plot's top.
        assert_eq!(c.axis.hi, 40.0);
        assert_eq!(c.target_y, Some(10.0));
        assert_eq!(c.this_year.matches('L').count(), 1);
        assert_eq!(c.year_before.matches('L').count(), 3);
        assert_eq!(c.xs.first(), Some(&40.0));
        assert_eq!(c.xs.last(), Some(&390.0));
    }
}
