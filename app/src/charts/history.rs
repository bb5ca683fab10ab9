//! The history charts: the ranges and series the drill-down offers, and the chart of one
//! series (min–max band, mean line, axes) as an SVG.
//!
//! What a series means (its unit, its guides, how its value reads) is pure and tested on the
//! host; the drawing itself is [`super::draw::chart`].

use ioc_protocol::Domain;
use ioc_protocol::history::Bucket;
use leptos::prelude::*;

use super::draw::{ChartSpec, Frame, chart};
use crate::api::history::{HistoryError, Window, window};
use crate::i18n::{Lang, Word, aqi_band, congestion_name, dec, t, use_lang};

/// The ranges of the drill-down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    Hour,
    Day,
    Week,
}

impl Range {
    pub const ALL: [Range; 3] = [Range::Hour, Range::Day, Range::Week];

    /// The `data-range` of its button.
    pub fn code(self) -> &'static str {
        match self {
            Range::Hour => "1h",
            Range::Day => "24h",
            Range::Week => "7d",
        }
    }

    pub fn word(self) -> Word {
        match self {
            Range::Hour => Word::Range1h,
            Range::Day => Word::Range24h,
            Range::Week => Word::Range7d,
        }
    }

    pub fn span_ms(self) -> i64 {
        match self {
            Range::Hour => 3_600_000,
            Range::Day => 24 * 3_600_000,
            Range::Week => 7 * 24 * 3_600_000,
        }
    }

    /// Buckets asked for: 30 s for an hour, 5 min for a day, 30 min for a week.
    pub fn points(self) -> u32 {
        match self {
            Range::Hour => 120,
            Range::Day => 288,
            Range::Week => 336,
        }
    }

    /// The window of this range ending now (`now_ms` on the server's clock).
    pub fn window(self, now_ms: f64) -> Window {
        window(now_ms, self.span_ms(), self.points())
    }
}

/// A series the drill-down charts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metric {
    /// The `data-chart` of its chart, and the field asked for.
    pub field: &'static str,
    pub domain: Domain,
    pub title: Word,
    /// The unit under the title and over the value axis.
    pub unit: Unit,
    /// Values the value axis always shows (a zero baseline, fixed ends).
    pub include: &'static [f64],
    /// Lines across the chart at these values, with their CSS class.
    pub guides: &'static [(f64, &'static str)],
}

impl Metric {
    /// A value of the series as the screen says it: "72 · Trung bình", "35.8 µg/m³",
    /// "3.8 · Chậm".
    pub fn describe(&self, lang: Lang, v: f64) -> String {
        match self.field {
            "aqi" => format!("{v:.0} · {}", aqi_band(lang, v).1),
            "congestion" => format!("{} · {}", dec(lang, v, 1), congestion_name(lang, v)),
            _ => format!("{} {}", dec(lang, v, 1), self.unit.text(lang)),
        }
    }

    pub fn guide_values(&self) -> Vec<f64> {
        self.guides.iter().map(|(v, _)| *v).collect()
    }
}

/// The VN_AQI band limits, marked on the AQI chart in the colour of the band below them.
const AQI_GUIDES: &[(f64, &str)] = &[
    (50.0, "guide-aqi-good"),
    (100.0, "guide-aqi-moderate"),
    (150.0, "guide-aqi-poor"),
    (200.0, "guide-aqi-bad"),
    (300.0, "guide-aqi-very-bad"),
];

/// The unit of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// The same in every language.
    Fixed(&'static str),
    /// A word of the screen.
    Word(Word),
}

impl Unit {
    pub fn text(self, lang: Lang) -> &'static str {
        match self {
            Unit::Fixed(s) => s,
            Unit::Word(w) => crate::i18n::t(lang, w),
        }
    }
}

/// The drill-down's charts, in the order shown: air first, then traffic.
pub const METRICS: [Metric; 4] = [
    Metric {
        field: "aqi",
        domain: Domain::Env,
        title: Word::AirQuality,
        unit: Unit::Fixed("VN_AQI"),
        include: &[0.0],
        guides: AQI_GUIDES,
    },
    Metric {
        field: "pm25_ugm3",
        domain: Domain::Env,
        title: Word::Pm25,
        unit: Unit::Fixed("µg/m³"),
        include: &[0.0],
        guides: &[],
    },
    Metric {
        field: "speed_kmh",
        domain: Domain::Traffic,
        title: Word::AverageSpeed,
        unit: Unit::Fixed("km/h"),
        include: &[0.0],
        guides: &[],
    },
    Metric {
        field: "congestion",
        domain: Domain::Traffic,
        title: Word::Congestion,
        unit: Unit::Word(Word::CongestionScale),
        include: &[0.0, 5.0],
        guides: &[],
    },
];

/// The SVG box of a chart, in user units; CSS scales it to the panel, text with it.
const FRAME: Frame = Frame {
    width: 800.0,
    height: 330.0,
    left: 64.0,
    right: 30.0,
    top: 34.0,
    bottom: 40.0,
};

/// What a chart has to show.
#[derive(Debug, Clone, PartialEq)]
pub enum ChartData {
    Loading,
    Ready {
        window: Window,
        buckets: Vec<Bucket>,
    },
    Failed(HistoryError),
}

/// The chart of one series: min–max band, mean line, time and value axes, unit, and a word
/// when there is nothing to draw.
#[component]
pub fn HistoryChart(
    /// The series charted.
    metric: Metric,
    /// Its data, as fetched.
    data: RwSignal<ChartData>,
) -> impl IntoView {
    let lang = use_lang();
    let guides = metric.guide_values();
    let latest = move || {
        data.with(|d| match d {
            ChartData::Ready { buckets, .. } => buckets.iter().max_by_key(|b| b.t).map(|b| b.mean),
            _ => None,
        })
    };
    let svg = move || {
        let l = lang.get();
        data.with(|d| {
            let (model, message) = match d {
                ChartData::Loading => (None, Some(t(l, Word::Loading).to_owned())),
                ChartData::Failed(e) => (
                    None,
                    Some(match e {
                        HistoryError::Status(_, msg) if !msg.is_empty() => {
                            format!("{} ({msg})", t(l, Word::HistoryUnavailable))
                        }
                        _ => t(l, Word::HistoryUnavailable).to_owned(),
                    }),
                ),
                ChartData::Ready { window, buckets } => {
                    let spec = ChartSpec {
                        include: metric.include,
                        max_value_ticks: 5,
                        max_time_ticks: 8,
                        guides: &guides,
                    };
                    let m = chart(buckets, *window, FRAME, spec);
                    let msg = m.empty.then(|| t(l, Word::NoData).to_owned());
                    (Some(m), msg)
                }
            };
            let (x0, x1, y0, y1) = (FRAME.x0(), FRAME.x1(), FRAME.y0(), FRAME.y1());
            let (band, mean, x_ticks, y_ticks, guide_lines, dots) = model
                .map(|m| (m.band, m.mean, m.x_ticks, m.y_ticks, m.guides, m.dots))
                .unwrap_or_default();
            view! {
                <svg
                    class="chart-svg"
                    viewBox=format!("0 0 {} {}", FRAME.width, FRAME.height)
                    role="img"
                    aria-label=t(l, metric.title)
                >
                    <text class="unit" x="4" y="18">{metric.unit.text(l)}</text>
                    {y_ticks
                        .into_iter()
                        .map(|(y, label)| {
                            view! {
                                <line class="grid" x1=x0 x2=x1 y1=y y2=y />
                                <text class="ytick" x={x0 - 10.0} y=y dy="0.35em" text-anchor="end">{label}</text>
                            }
                        })
                        .collect_view()}
                    {guide_lines
                        .into_iter()
                        .map(|(i, y)| {
                            let class = format!("guide {}", metric.guides[i].1);
                            view! { <line class=class x1=x0 x2=x1 y1=y y2=y /> }
                        })
                        .collect_view()}
                    <line class="axis" x1=x0 x2=x1 y1=y1 y2=y1 />
                    {x_ticks
                        .into_iter()
                        .map(|(x, label)| {
                            view! {
                                <line class="tick" x1=x x2=x y1=y1 y2={y1 + 6.0} />
                                <text class="xtick" x=x y={FRAME.height - 8.0} text-anchor="middle">{label}</text>
                            }
                        })
                        .collect_view()}
                    <path class="band" d=band />
                    <path class="mean" d=mean />
                    {dots
                        .into_iter()
                        .map(|(cx, cy)| view! { <circle class="dot" cx=cx cy=cy r="5" /> })
                        .collect_view()}
                    {message
                        .map(|msg| {
                            view! {
                                <text class="chart-msg" x={(x0 + x1) / 2.0} y={(y0 + y1) / 2.0} text-anchor="middle" dy="0.35em">
                                    {msg}
                                </text>
                            }
                        })}
                </svg>
            }
        })
    };
    view! {
        <figure class="chart" data-chart=metric.field>
            <figcaption>
                <span class="chart-title">{move || t(lang.get(), metric.title)}</span>
                <span class="chart-latest">
                    {move || {
                        latest()
                            .map(|v| {
                                let l = lang.get();
                                format!("{}: {}", t(l, Word::Latest), metric.describe(l, v))
                            })
                            .unwrap_or_default()
                    }}
                </span>
            </figcaption>
            {svg}
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::history::window;
    use crate::charts::spark::{SPARK_POINTS, SPARK_SPAN_MS};

    #[test]
    fn ranges_ask_for_the_agreed_points() {
        let now = 1_763_832_605_000.0;
        for (r, step) in [
            (Range::Hour, 30_000),
            (Range::Day, 300_000),
            (Range::Week, 1_800_000),
        ] {
            let w = r.window(now);
            assert_eq!(w.step, step, "{r:?}");
            assert_eq!(w.to - w.from, r.span_ms(), "{r:?}");
            assert!(w.to as f64 >= now && (w.to as f64) < now + step as f64);
        }
        let spark = window(now, SPARK_SPAN_MS, SPARK_POINTS);
        assert_eq!(spark.step, 120_000);
    }

    #[test]
    fn latest_values_read_naturally() {
        let [aqi, pm, speed, congestion] = METRICS;
        assert_eq!(aqi.describe(Lang::Vi, 72.4), "72 · Trung bình");
        assert_eq!(aqi.describe(Lang::En, 151.0), "151 · Bad");
        assert_eq!(pm.describe(Lang::Vi, 35.84), "35,8 µg/m³");
        assert_eq!(speed.describe(Lang::En, 14.2), "14.2 km/h");
        assert_eq!(congestion.describe(Lang::Vi, 3.8), "3,8 · Ùn tắc");
        assert_eq!(aqi.guide_values(), [50.0, 100.0, 150.0, 200.0, 300.0]);
    }
}
