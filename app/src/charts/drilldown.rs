//! The drill-down of an area: its history charts (AQI, PM2.5, average speed, congestion) over
//! 1 hour, 24 hours or 7 days, in a large panel over the tiles.
//!
//! Opened by clicking an area in a tile; closed with its button, with Escape, or by clicking
//! outside it. While open, the charts are fetched again once a minute.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use leptos::ev;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::history::{ChartData, HistoryChart, METRICS, Range};
use crate::api::history::{Query, fetch};
use crate::api::page_hidden;
use crate::i18n::{Lang, Word, t, use_lang};
use crate::live::Live;

/// The area whose drill-down is open, if any; provided by the app.
#[derive(Debug, Clone, Copy)]
pub struct Drill(pub RwSignal<Option<String>>);

/// The drill-down's signal, provided by the app.
pub fn use_drill() -> Drill {
    expect_context::<Drill>()
}

/// How often an open drill-down fetches its charts again.
const REFRESH_MS: u64 = 60_000;

/// The drill-down panel, shown while an area is chosen.
#[component]
pub fn DrillDown() -> impl IntoView {
    let drill = use_drill();
    move || drill.0.get().map(|area| view! { <DrillPanel area=area /> })
}

/// The panel of one area: header with the range switch and the close button, and the charts.
#[component]
fn DrillPanel(
    /// The code of the area shown.
    area: String,
) -> impl IntoView {
    let lang = use_lang();
    let live = expect_context::<Live>();
    let drill = use_drill();
    let range = RwSignal::new(Range::Hour);
    let data: [RwSignal<ChartData>; 4] = std::array::from_fn(|_| RwSignal::new(ChartData::Loading));
    // Answers to an older range (or to a closed panel) are dropped.
    let generation = Arc::new(AtomicU64::new(0));

    let close = move || drill.0.set(None);
    let keys = window_event_listener(ev::keydown, move |e| {
        if e.key() == "Escape" {
            close();
        }
    });

    let name = {
        let area = area.clone();
        Memo::new(move |_| {
            let l = lang.get();
            live.state.with(|s| {
                s.areas
                    .iter()
                    .find(|a| a.code == area)
                    .map(|a| match l {
                        Lang::Vi => a.name_vi.clone(),
                        Lang::En => a.name_en.clone(),
                    })
                    .unwrap_or_else(|| area.clone())
            })
        })
    };

    let load = {
        let area = area.clone();
        let generation = generation.clone();
        move |r: Range, fresh: bool| {
            if page_hidden() && !fresh {
                return;
            }
            let this = generation.fetch_add(1, Ordering::Relaxed) + 1;
            let now = js_sys::Date::now() + live.state.with_untracked(|s| s.clock_offset_ms);
            let window = r.window(now);
            for (metric, slot) in METRICS.iter().zip(data) {
                if fresh {
                    slot.set(ChartData::Loading);
                }
                let q = Query {
                    domain: metric.domain,
                    area: area.clone(),
                    field: metric.field,
                    window,
                };
                let generation = generation.clone();
                spawn_local(async move {
                    let answer = fetch(&q).await;
                    if generation.load(Ordering::Relaxed) != this {
                        return;
                    }
                    let _ = slot.try_set(match answer {
                        Ok(buckets) => ChartData::Ready { window, buckets },
                        // A failed refresh keeps the chart shown; it tries again in a minute.
                        Err(_) if !fresh => return,
                        Err(e) => ChartData::Failed(e),
                    });
                });
            }
        }
    };
    {
        let load = load.clone();
        Effect::new(move |_| load(range.get(), true));
    }
    let refresh = set_interval_with_handle(
        move || load(range.get_untracked(), false),
        std::time::Duration::from_millis(REFRESH_MS),
    )
    .ok();
    on_cleanup(move || {
        keys.remove();
        if let Some(h) = refresh {
            h.clear();
        }
        generation.fetch_add(1, Ordering::Relaxed);
    });

    // Focus the close button, so that the keyboard is in the panel.
    let close_button = NodeRef::<html::Button>::new();
    Effect::new(move |_| {
        if let Some(b) = close_button.get() {
            let _ = b.focus();
        }
    });

    let on_backdrop = move |e: ev::MouseEvent| {
        if e.target() == e.current_target() {
            close();
        }
    };

    view! {
        <div class="drill-backdrop" on:click=on_backdrop>
            <section
                class="drill"
                data-testid="drilldown"
                data-drill-area=area.clone()
                role="dialog"
                aria-modal="true"
                aria-labelledby="drill-title"
            >
                <header class="drill-head">
                    <div class="drill-title">
                        <h2 id="drill-title">{move || name.get()}</h2>
                        <span class="drill-sub">
                            {move || t(lang.get(), Word::History)} " · "
                            {move || t(lang.get(), Word::LocalTime)}
                        </span>
                    </div>
                    <div class="legend" aria-hidden="true">
                        <span class="legend-mean">{move || t(lang.get(), Word::Mean)}</span>
                        <span class="legend-band">{move || t(lang.get(), Word::MinMax)}</span>
                    </div>
                    <div class="ranges" role="group" aria-label=move || t(lang.get(), Word::RangeSwitch)>
                        {Range::ALL
                            .into_iter()
                            .map(|r| {
                                view! {
                                    <button
                                        type="button"
                                        class="range"
                                        data-range=r.code()
                                        class:active=move || range.get() == r
                                        aria-pressed=move || if range.get() == r { "true" } else { "false" }
                                        on:click=move |_| {
                                            if range.get_untracked() != r {
                                                range.set(r);
                                            }
                                        }
                                    >
                                        {move || t(lang.get(), r.word())}
                                    </button>
                                }
                            })
                            .collect_view()}
                    </div>
                    <button
                        type="button"
                        class="close"
                        data-testid="drilldown-close"
                        node_ref=close_button
                        on:click=move |_| close()
                    >
                        "✕ "
                        {move || t(lang.get(), Word::Close)}
                    </button>
                </header>
                <div class="drill-charts">
                    {METRICS
                        .into_iter()
                        .zip(data)
                        .map(|(metric, slot)| view! { <HistoryChart metric=metric data=slot /> })
                        .collect_view()}
                </div>
            </section>
        </div>
    }
}
