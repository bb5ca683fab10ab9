//! Small charts drawn as SVG: bars, a donut for shares, and a flood gauge against its alarm
//! levels. Labels stay HTML (crisp at any size, and read by the tests); the marks are SVG.

use leptos::prelude::*;

use super::draw::{gauge_fraction, pie_slices};

/// One bar of a [`Bars`] chart, or one share of a [`Donut`].
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// A stable key (an id or a code), also its `data-key`.
    pub key: String,
    pub label: String,
    pub value: f64,
    /// The value as shown beside the bar.
    pub text: String,
    pub colour: &'static str,
}

/// Horizontal bars, longest = `max` (or the largest value), one row each.
#[component]
pub fn Bars(
    /// The bars, in the order shown.
    #[prop(into)]
    bars: Signal<Vec<Bar>>,
    /// The value of a full bar; the largest value when `None`.
    #[prop(optional)]
    max: Option<f64>,
) -> impl IntoView {
    let full = move || {
        max.unwrap_or_else(|| bars.with(|b| b.iter().map(|b| b.value).fold(0.0, f64::max)))
            .max(f64::MIN_POSITIVE)
    };
    let lang = crate::i18n::use_lang();
    view! {
        <div class="bars">
            <Show when=move || bars.with(Vec::is_empty)>
                <span class="none">{move || crate::i18n::t(lang.get(), crate::i18n::Word::NoData)}</span>
            </Show>
            <For
                each=move || bars.get()
                key=|b| (b.key.clone(), b.label.clone(), b.text.clone(), b.colour, b.value.to_bits())
                children=move |b| {
                    let w = (b.value / full() * 100.0).clamp(0.0, 100.0);
                    view! {
                        <div class="bar-row" data-key=b.key.clone()>
                            <span class="bar-label">{b.label.clone()}</span>
                            <svg class="bar-svg" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
                                <rect class="bar-track" x="0" y="0" width="100" height="10" />
                                <rect x="0" y="0" width=format!("{w:.2}") height="10" fill=b.colour />
                            </svg>
                            <span class="bar-value">{b.text.clone()}</span>
                        </div>
                    }
                }
            />
        </div>
    }
}

/// A donut of shares with its legend; `centre` is written in its hole.
#[component]
pub fn Donut(
    #[prop(into)] slices: Signal<Vec<Bar>>,
    #[prop(into)] centre: Signal<String>,
) -> impl IntoView {
    let paths = move || {
        slices.with(|s| {
            let values: Vec<f64> = s.iter().map(|s| s.value).collect();
            pie_slices(&values, 0.62)
                .into_iter()
                .zip(s.iter().map(|s| s.colour))
                .collect::<Vec<_>>()
        })
    };
    view! {
        <div class="donut">
            <svg class="donut-svg" viewBox="-1.05 -1.05 2.1 2.1" role="img">
                <circle class="donut-track" cx="0" cy="0" r="0.81" />
                {move || {
                    paths()
                        .into_iter()
                        .map(|(d, c)| view! { <path d=d fill=c /> })
                        .collect_view()
                }}
                <text class="donut-centre" x="0" y="0.12" text-anchor="middle">{move || centre.get()}</text>
            </svg>
            <ul class="donut-legend">
                {move || {
                    slices
                        .get()
                        .into_iter()
                        .map(|s| {
                            view! {
                                <li data-key=s.key>
                                    <span class="swatch" style:background=s.colour></span>
                                    <span class="legend-label">{s.label}</span>
                                    <span class="legend-value">{s.text}</span>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
        </div>
    }
}

/// A flood gauge as the tile draws it.
#[derive(Debug, Clone, PartialEq)]
pub struct GaugeView {
    pub key: String,
    pub label: String,
    pub level_cm: Option<f64>,
    pub bd: [f64; 3],
    pub alarm: u8,
    pub stale: bool,
    /// The level as written beside the gauge.
    pub text: String,
    /// Today's peak and the rain, as written under it on the wall.
    pub note: String,
}

const ALARM_COLOURS: [&str; 4] = ["#2a9d8f", "#f5d33d", "#ff7e00", "#ff3b3b"];

/// The colour of an alarm level, 0 (below BĐ1) to 3.
pub fn alarm_colour(alarm: u8) -> &'static str {
    ALARM_COLOURS[usize::from(alarm.min(3))]
}

/// A water gauge on one line: its name, the level as a bar of water across a scale with the
/// lines of BĐ1, BĐ2 and BĐ3, and the level in cm.
#[component]
pub fn Gauge(g: GaugeView) -> impl IntoView {
    // The scale: from 2 m under BĐ1 (or under the level, if lower) to 30 cm over BĐ3.
    let lo = (g.bd[0] - 200.0).min(g.level_cm.map_or(f64::INFINITY, |l| l - 20.0));
    let hi = g.bd[2] + 30.0;
    let x = |v: f64| gauge_fraction(v, lo, hi) * 100.0;
    let colour = alarm_colour(g.alarm);
    let lines = g
        .bd
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let xx = format!("{:.2}", x(v));
            view! { <line class="bd-line" x1=xx.clone() x2=xx y1="-1" y2="11" stroke=ALARM_COLOURS[i + 1] /> }
        })
        .collect_view();
    view! {
        <div class="gauge" class:stale=g.stale data-key=g.key.clone() data-alarm=g.alarm>
            <span class="gauge-name" title=g.label.clone()>{g.label.clone()}</span>
            <svg class="gauge-svg" viewBox="0 -1 100 12" preserveAspectRatio="none" role="img">
                <rect class="gauge-tank" x="0" y="0" width="100" height="10" />
                {g.level_cm.map(|l| view! {
                    <rect x="0" y="0" width=format!("{:.2}", x(l)) height="10" fill=colour opacity="0.85" />
                })}
                {lines}
            </svg>
            <span class="gauge-level" style:color=colour>{g.text.clone()}</span>
            <span class="gauge-note">{g.note.clone()}</span>
        </div>
    }
}
