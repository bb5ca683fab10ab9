//! The traffic tile: the city's mean speed and congestion, and the incidents; on the console,
//! the worst corridors and the areas' table; on the wall's panel, the areas by congestion.

use ioc_protocol::Domain;
use leptos::prelude::*;

use super::area_table::{AreaTable, Column, Row, cell, field};
use super::frame::{Kpi, TileFrame, highest, label, or_dash};
use crate::charts::svg::{Bar, Bars};
use crate::city::use_city;
use crate::clock::hcmc_clock;
use crate::i18n::{Lang, Word, congestion_name, dec, incident_name, int, t, use_lang};
use crate::live::Live;
use crate::map::layers::{Layer, colour};

/// Traffic: the city's mean speed and congestion, incidents; on the console, the details and
/// the areas' table.
#[component]
pub fn TrafficTile(
    /// The wall's card: headline figures only.
    #[prop(optional)]
    compact: bool,
) -> impl IntoView {
    let lang = use_lang();
    let live = expect_context::<Live>();
    let city = move || {
        live.state
            .with(|s| s.traffic().and_then(|f| f.city.clone()))
    };
    let speed = Signal::derive(move || {
        or_dash(
            city()
                .and_then(|c| c.speed_kmh)
                .map(|v| dec(lang.get(), v, 1)),
        )
    });
    let level = move || city().and_then(|c| c.congestion);
    let congestion = Signal::derive(move || or_dash(level().map(|v| dec(lang.get(), v, 1))));
    let congestion_label = Signal::derive(move || {
        let l = lang.get();
        match level() {
            Some(v) => format!("{} · {}", t(l, Word::Congestion), congestion_name(l, v)),
            None => t(l, Word::Congestion).to_owned(),
        }
    });
    let incidents = Signal::derive(move || {
        int(
            lang.get(),
            live.state
                .with(|s| s.traffic().map_or(0, |f| f.incidents.len())) as u64,
        )
    });
    view! {
        <TileFrame code="traffic" title=Word::TrafficTitle domain=Domain::Traffic>
            <div class="kpis">
                <Kpi field="speed_kmh" label=Signal::derive(move || format!("{} (km/h)", t(lang.get(), Word::AverageSpeed))) value=speed />
                <Kpi field="congestion" label=congestion_label value=congestion
                    tone=Signal::derive(move || format!("level-text-{}", level().map_or(0, |v| v.round() as i64))) />
                <Kpi field="incidents" label=label(Word::Incidents) value=incidents />
            </div>
            {(!compact).then(|| view! {
                <TrafficDetail />
                <TrafficTable />
            })}
        </TileFrame>
    }
}

/// The worst corridors and the open incidents.
#[component]
pub fn TrafficDetail(#[prop(optional)] large: bool) -> impl IntoView {
    let lang = use_lang();
    let live = expect_context::<Live>();
    let city = use_city();
    let hotspots = Signal::derive(move || {
        let l = lang.get();
        live.state.with(|s| {
            let Some(f) = s.traffic() else {
                return Vec::new();
            };
            f.hotspots
                .iter()
                .filter_map(|id| f.corridors.iter().find(|c| &c.id == id))
                .map(|c| {
                    let name = city.name(|m| &m.corridors, &c.id, l);
                    let level = c.congestion.unwrap_or(0.0);
                    Bar {
                        key: c.id.clone(),
                        label: name,
                        value: level,
                        text: format!(
                            "{} km/h · {}",
                            or_dash(c.speed_kmh.map(|v| dec(l, v, 0))),
                            congestion_name(l, level)
                        ),
                        colour: colour(Layer::Congestion, Some(level)),
                    }
                })
                .collect()
        })
    });
    let areas = Signal::derive(move || {
        let l = lang.get();
        live.state.with(|s| {
            let Some(f) = s.traffic() else {
                return Vec::new();
            };
            highest(&f.areas, |a| a.congestion, 8)
                .into_iter()
                .map(|(a, level)| Bar {
                    key: a.area.clone(),
                    label: s.area_name(&a.area, l),
                    value: level,
                    text: dec(l, level, 1),
                    colour: colour(Layer::Congestion, Some(level)),
                })
                .collect()
        })
    });
    let incidents = move || {
        let l = lang.get();
        live.state.with(|s| {
            s.traffic().map_or(Vec::new(), |f| {
                f.incidents
                    .iter()
                    .map(|i| {
                        let road = city.name(|m| &m.corridors, &i.corridor, l);
                        (
                            i.corridor.clone(),
                            incident_name(l, &i.kind),
                            road,
                            hcmc_clock(i.since as f64)[..5].to_owned(),
                        )
                    })
                    .collect::<Vec<_>>()
            })
        })
    };
    view! {
        <div class=if large { "detail detail-large" } else { "detail" }>
            <div class="detail-block">
                <h3>{move || t(lang.get(), Word::Hotspots)}</h3>
                <Bars bars=hotspots max=5.0 />
            </div>
            {large.then(|| view! {
                <div class="detail-block">
                    <h3>{move || format!("{} · {}", t(lang.get(), Word::Congestion), t(lang.get(), Word::ByArea))}</h3>
                    <Bars bars=areas max=5.0 />
                </div>
            })}
            <div class="detail-block">
                <h3>{move || t(lang.get(), Word::Incidents)}</h3>
                <ul class="incidents" data-testid="incidents">
                    {move || {
                        let list = incidents();
                        if list.is_empty() {
                            view! { <li class="none">{t(lang.get(), Word::NoIncident)}</li> }.into_any()
                        } else {
                            list.into_iter()
                                .map(|(id, kind, road, since)| view! {
                                    <li data-key=id><span class="incident-kind">{kind}</span>" "{road}<span class="since">{since}</span></li>
                                })
                                .collect_view()
                                .into_any()
                        }
                    }}
                </ul>
            </div>
        </div>
    }
}

/// Average speed (with its last hour) and congestion by area. Most congested first.
#[component]
pub fn TrafficTable() -> impl IntoView {
    view! {
        <AreaTable domain=Domain::Traffic worst="congestion" spark="speed_kmh" before=SPEED after=CONGESTION />
    }
}

/// The area's average speed.
const SPEED: Column = Column {
    head: speed_head,
    cell: speed_cell,
};

fn speed_head(lang: RwSignal<Lang>) -> AnyView {
    view! {
        <th class="num speed-head">{move || t(lang.get(), Word::AverageSpeed)} " (km/h)"</th>
    }
    .into_any()
}

fn speed_cell(row: Memo<Option<Row>>, lang: RwSignal<Lang>) -> AnyView {
    view! {
        <td class="num" data-field="speed_kmh">
            {cell(row, lang, |r, l| field(r, "speed_kmh").map(|v| dec(l, v, 1)))}
        </td>
    }
    .into_any()
}

/// The area's congestion, 0 to 5: a bar in its level's colour, and the level.
const CONGESTION: Column = Column {
    head: congestion_head,
    cell: congestion_cell,
};

fn congestion_head(lang: RwSignal<Lang>) -> AnyView {
    view! { <th>{move || t(lang.get(), Word::Congestion)}</th> }.into_any()
}

fn congestion_cell(row: Memo<Option<Row>>, lang: RwSignal<Lang>) -> AnyView {
    let level = move || row.with(|r| r.as_ref().and_then(|r| field(r, "congestion")));
    view! {
        <td class="congestion">
            <span class="bar">
                <span
                    class=move || format!("level level-{}", level().map_or(0, |v| v.round() as i64))
                    style:width=move || format!("{:.0}%", level().map_or(0.0, |v| (v / 5.0 * 100.0).clamp(0.0, 100.0)))
                ></span>
            </span>
            <span class="level-text" data-field="congestion">
                {move || {
                    level()
                        .map(|v| dec(lang.get(), v, 1))
                        .unwrap_or_else(|| "—".into())
                }}
            </span>
        </td>
    }
    .into_any()
}
