//! The city's map: every area coloured by a layer (AQI, congestion, flooding, complaints per
//! 10,000 people, dossiers on time), with a legend. Drawn as SVG from the city map the server
//! gives (`GET /api/v1/city`): the real boundaries when the preset has them, else the tile
//! grid, one square per area placed next to its neighbours. Nothing comes from elsewhere.

use ioc_protocol::alerts::{AlertsFigure, Severity};
use ioc_protocol::map::CityMap;
use leptos::prelude::*;

use super::layers::{
    Layer, NO_DATA, area_value, colour, dark_text_on, legend, offline_sources, value_text,
};
use crate::alerts::{area_mark, severity_class, severity_word};
use crate::charts::drilldown::use_drill;
use crate::city::{short_label, use_city};
use crate::i18n::{Lang, Word, t, use_lang};
use crate::live::{Live, LiveState};

/// Areas smaller than this get no label on the outline map.
const LABEL_MIN_KM2: f64 = 40.0;

/// How the areas are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Grid,
    Outline,
}

/// One area as the map draws it.
#[derive(Debug, Clone, PartialEq)]
struct Cell {
    code: String,
    label: String,
    value: String,
    fill: &'static str,
    dark_text: bool,
    stale: bool,
    /// Sensors of the area behind this layer that stopped reporting.
    offline: u32,
    /// Active (open or acknowledged) alerts of the layer's domain in the area, and the
    /// highest severity among them.
    alerts: Option<(u32, Severity)>,
}

fn cells(
    map: &CityMap,
    state: &LiveState,
    alerts: &AlertsFigure,
    layer: Layer,
    lang: Lang,
) -> Vec<Cell> {
    map.areas
        .iter()
        .map(|a| {
            let v = area_value(state, layer, &a.code);
            let fill = colour(layer, v.map(|v| v.value));
            // Flooding is coloured by alarm level, and labelled with the highest water level.
            let value = if layer == Layer::Flood {
                highest_water(state, &a.code).map_or(String::new(), |cm| format!("{cm:.0}"))
            } else {
                v.map_or(String::new(), |v| value_text(layer, lang, v.value))
            };
            Cell {
                code: a.code.clone(),
                label: short_label(a, lang),
                value,
                fill,
                dark_text: dark_text_on(fill),
                stale: v.is_some_and(|v| v.stale),
                offline: offline_sources(state, layer, &a.code),
                alerts: area_mark(alerts, layer.domain(), &a.code),
            }
        })
        .collect()
}

/// An area's tooltip: its name, its figure, and its sensors offline.
fn tooltip(c: &Cell, lang: Lang) -> String {
    let mut s = format!("{} {}", c.label, c.value);
    if c.offline > 0 {
        s.push_str(&format!(
            " · {}: {}",
            t(lang, Word::SourcesOffline),
            c.offline
        ));
    }
    if let Some((n, sev)) = c.alerts {
        s.push_str(&format!(
            " · {}: {n} ({})",
            t(lang, Word::Alerts),
            t(lang, severity_word(sev))
        ));
    }
    s
}

/// An area's alerts mark: a round badge with the count, coloured by the highest severity,
/// centred at (`x`, `y`), of radius `r`.
fn alert_mark(c: &Cell, lang: Lang, x: f64, y: f64, r: f64) -> Option<impl IntoView + use<>> {
    let (n, sev) = c.alerts?;
    Some(view! {
        <g class=format!("alert-mark {}", severity_class(sev)) data-alert-area=c.code.clone() data-count=n>
            <title>{tooltip(c, lang)}</title>
            <circle cx=x cy=y r=r />
            <text x=x y=y + r * 0.45 text-anchor="middle" font-size=r * 1.25>{n.to_string()}</text>
        </g>
    })
}

/// The highest water level of an area's gauges, cm.
fn highest_water(state: &LiveState, area: &str) -> Option<f64> {
    state
        .flood()?
        .gauges
        .iter()
        .filter(|g| g.area == area)
        .filter_map(|g| g.water_level_cm)
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
}

/// The map, its layer and its legend. With `chooser`, the officer picks the layer and the
/// shape; otherwise `layer` decides (the wall's rotation).
#[component]
pub fn CityMapView(layer: RwSignal<Layer>, #[prop(optional)] chooser: bool) -> impl IntoView {
    let lang = use_lang();
    let live = expect_context::<Live>();
    let city = use_city();
    let drill = use_drill();
    let has_outline = move || {
        city.0
            .with(|m| m.as_ref().is_some_and(|m| m.outline.is_some()))
    };
    let shape = RwSignal::new(None::<Shape>);
    // The grid by default: every area a readable square, however small it is on the ground.
    let current_shape = move || match shape.get() {
        Some(Shape::Outline) if has_outline() => Shape::Outline,
        _ => Shape::Grid,
    };
    let all_cells = Memo::new(move |_| {
        let l = lang.get();
        let ly = layer.get();
        city.0.with(|m| {
            m.as_ref()
                .map(|m| {
                    live.state
                        .with(|s| live.alerts.with(|a| cells(m, s, a, ly, l)))
                })
                .unwrap_or_default()
        })
    });
    let cell = move |code: &str| all_cells.with(|c| c.iter().find(|c| c.code == code).cloned());

    let drawing = move || {
        let Some(m) = city.0.get() else {
            return view! { <p class="map-wait">{move || t(lang.get(), Word::Loading)}</p> }
                .into_any();
        };
        match (current_shape(), m.outline.clone()) {
            (Shape::Outline, Some(o)) => {
                let font = o.width / 30.0;
                let shapes = o
                    .areas
                    .iter()
                    .map(|a| {
                        let code = a.area.clone();
                        let c1 = code.clone();
                        let c2 = code.clone();
                        let open = code.clone();
                        view! {
                            <path
                                class="map-area"
                                class:stale={let c = c1.clone(); move || cell(&c).is_some_and(|c| c.stale)}
                                class:has-offline=move || cell(&c1).is_some_and(|c| c.offline > 0)
                                data-area=code.clone()
                                d=a.d.clone()
                                fill=move || cell(&c2).map_or(NO_DATA, |c| c.fill)
                                on:click=move |_| drill.0.set(Some(open.clone()))
                            ><title>{let c = code.clone(); move || cell(&c).map(|c| tooltip(&c, lang.get())).unwrap_or_default()}</title></path>
                        }
                    })
                    .collect_view();
                // Inner districts are too small to carry a label at this scale: their
                // figure is in their tooltip and in the grid.
                let labels = o
                    .areas
                    .iter()
                    .filter(|a| a.area_km2 >= LABEL_MIN_KM2)
                    .map(|a| {
                        let (x, y) = (a.label_x, a.label_y);
                        let code = a.area.clone();
                        let c2 = code.clone();
                        view! {
                            <text class="map-label" x=x y=y text-anchor="middle" font-size=font
                                class:dark=move || cell(&code).is_some_and(|c| c.dark_text)>
                                <tspan x=x dy="0">{let c = c2.clone(); move || cell(&c).map(|c| c.label).unwrap_or_default()}</tspan>
                                <tspan x=x dy="1.15em" class="map-value">{let c = c2.clone(); move || cell(&c).map(|c| c.value).unwrap_or_default()}</tspan>
                            </text>
                        }
                    })
                    .collect_view();
                // Alert marks: above the label where there is one, else on the label's point.
                let marks = o
                    .areas
                    .iter()
                    .map(|a| {
                        let code = a.area.clone();
                        let (x, y) = if a.area_km2 >= LABEL_MIN_KM2 {
                            (a.label_x, a.label_y - font * 1.45)
                        } else {
                            (a.label_x, a.label_y)
                        };
                        move || {
                            cell(&code).and_then(|c| alert_mark(&c, lang.get(), x, y, font * 0.6))
                        }
                    })
                    .collect_view();
                view! {
                    <svg class="map-svg outline" viewBox=format!("0 0 {} {}", o.width, o.height) role="img">
                        {shapes}
                        {labels}
                        {marks}
                    </svg>
                }
                .into_any()
            }
            _ => {
                let (w, h) = (
                    f64::from(m.grid_cols) * 100.0,
                    f64::from(m.grid_rows) * 100.0,
                );
                let squares = m
                    .areas
                    .iter()
                    .map(|a| {
                        let (x, y) = (f64::from(a.col) * 100.0, f64::from(a.row) * 100.0);
                        let code = a.code.clone();
                        let (c1, c2, c3, c4, c5, c6) = (code.clone(), code.clone(), code.clone(), code.clone(), code.clone(), code.clone());
                        view! {
                            <g class="map-cell" data-area=code.clone()
                                class:stale=move || cell(&c1).is_some_and(|c| c.stale)
                                class:dark=move || cell(&c4).is_some_and(|c| c.dark_text)
                                on:click=move |_| drill.0.set(Some(c5.clone()))>
                                <rect x=x + 3.0 y=y + 3.0 width="94" height="94" rx="8"
                                    fill=move || cell(&c2).map_or(NO_DATA, |c| c.fill) />
                                <text class="map-label" x=x + 50.0 y=y + 38.0 text-anchor="middle" font-size="19"
                                    textLength=move || cell(&c3).filter(|c| c.label.chars().count() > 8).map(|_| "88")
                                    lengthAdjust="spacingAndGlyphs">
                                    {let c = c3.clone(); move || cell(&c).map(|c| c.label).unwrap_or_default()}
                                </text>
                                <text class="map-value" x=x + 50.0 y=y + 76.0 text-anchor="middle" font-size="30">
                                    {let c = c6.clone(); move || cell(&c).map(|c| c.value).unwrap_or_default()}
                                </text>
                                {let k = c6.clone(); move || cell(&k).filter(|c| c.offline > 0).map(|c| view! {
                                    // A dashed amber edge, and the count in the bottom corner, clear
                                    // of the name and the figure.
                                    <g class="map-offline" data-offline=c.offline>
                                        <title>{tooltip(&c, lang.get())}</title>
                                        <rect x=x + 4.5 y=y + 4.5 width="91" height="91" rx="7" />
                                        <text x=x + 94.0 y=y + 94.0 text-anchor="end" font-size="15">{format!("⚠{}", c.offline)}</text>
                                    </g>
                                })}
                                // Alerts: a badge in the bottom left corner, clear of the
                                // offline count in the other one.
                                {move || cell(&c6).and_then(|c| alert_mark(&c, lang.get(), x + 15.5, y + 84.5, 12.0))}
                            </g>
                        }
                    })
                    .collect_view();
                view! {
                    <svg class="map-svg grid" viewBox=format!("0 0 {w} {h}") role="img">{squares}</svg>
                }
                .into_any()
            }
        }
    };

    view! {
        <div class="map" data-testid="map" data-layer=move || layer.get().code()>
            {chooser.then(|| view! {
                <div class="map-controls">
                    <div class="layer-choice" role="group">
                        {Layer::CHOICES
                            .into_iter()
                            .map(|ly| view! {
                                <button type="button" data-layer=ly.code()
                                    class:active=move || layer.get() == ly
                                    aria-pressed=move || (layer.get() == ly).to_string()
                                    on:click=move |_| layer.set(ly)>
                                    {move || t(lang.get(), ly.word())}
                                </button>
                            })
                            .collect_view()}
                    </div>
                    <Show when=has_outline>
                        <div class="shape-choice" role="group">
                            <button type="button" data-shape="grid" class:active=move || current_shape() == Shape::Grid
                                on:click=move |_| shape.set(Some(Shape::Grid))>{move || t(lang.get(), Word::Grid)}</button>
                            <button type="button" data-shape="outline" class:active=move || current_shape() == Shape::Outline
                                on:click=move |_| shape.set(Some(Shape::Outline))>{move || t(lang.get(), Word::Boundaries)}</button>
                        </div>
                    </Show>
                </div>
            })}
            <div class="map-body">{drawing}</div>
            <div class="map-legend" data-testid="map-legend">
                <span class="legend-title">{move || t(lang.get(), layer.get().word())}</span>
                {move || {
                    legend(layer.get(), lang.get())
                        .into_iter()
                        .map(|(c, label)| view! {
                            <span class="legend-item"><span class="swatch" style:background=c></span>{label}</span>
                        })
                        .collect_view()
                }}
            </div>
        </div>
    }
}
