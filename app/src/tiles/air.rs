//! The air-quality tile: the city's VN_AQI and band, PM2.5 and the stations; on the console,
//! the areas' table; on the wall's panel, the areas and the worst stations.

use ioc_protocol::Domain;
use leptos::prelude::*;

use super::area_table::{AreaTable, Column, Row, cell, field};
use super::frame::{Kpi, TileFrame, highest, label, or_dash};
use crate::charts::svg::{Bar, Bars};
use crate::city::use_city;
use crate::i18n::{Lang, Word, aqi_band, dec, int, pollutant_name, t, use_lang};
use crate::live::{Live, LiveState};
use crate::map::layers::{Layer, area_value, colour};

/// The city's air: the worst official VN_AQI, or the sensors' own before it is known.
fn city_aqi(s: &LiveState) -> Option<(f64, bool)> {
    let official = s.env().and_then(|e| e.city.as_ref()).and_then(|c| c.aqi);
    if let Some(v) = official {
        return Some((f64::from(v), true));
    }
    s.stats
        .values()
        .filter(|st| st.domain == Domain::Env)
        .filter_map(|st| st.fields.get("aqi").map(|f| f.max))
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
        .map(|v| (v, false))
}

/// Air quality: the city's index and band, PM2.5; on the console, the areas' table.
#[component]
pub fn EnvTile(#[prop(optional)] compact: bool) -> impl IntoView {
    let lang = use_lang();
    let live = expect_context::<Live>();
    let aqi = move || live.state.with(city_aqi);
    let value = Signal::derive(move || or_dash(aqi().map(|(v, _)| format!("{v:.0}"))));
    let tone = Signal::derive(move || {
        aqi()
            .map_or("aqi-none", |(v, _)| aqi_band(Lang::En, v).0)
            .to_owned()
    });
    let aqi_label = Signal::derive(move || {
        let l = lang.get();
        match aqi() {
            Some((v, false)) => format!(
                "VN_AQI · {} ({})",
                aqi_band(l, v).1,
                t(l, Word::SensorValue)
            ),
            Some((v, true)) => format!("VN_AQI · {}", aqi_band(l, v).1),
            None => "VN_AQI".to_owned(),
        }
    });
    let pm = Signal::derive(move || {
        or_dash(
            live.state
                .with(|s| {
                    s.env()
                        .and_then(|e| e.city.as_ref())
                        .and_then(|c| c.pm25_ugm3)
                })
                .map(|v| dec(lang.get(), v, 1)),
        )
    });
    let stations = Signal::derive(move || {
        int(
            lang.get(),
            u64::from(live.state.with(|s| {
                s.env()
                    .and_then(|e| e.city.as_ref())
                    .map_or(0, |c| c.stations)
            })),
        )
    });
    view! {
        <TileFrame code="env" title=Word::AirQualityTitle domain=Domain::Env>
            <div class="kpis">
                <Kpi field="city_aqi" label=aqi_label value=value tone=tone />
                <Kpi field="city_pm25" label=Signal::derive(move || format!("{} (µg/m³)", t(lang.get(), Word::Pm25))) value=pm />
                {(!compact).then(|| view! {
                    <Kpi field="stations" label=label(Word::Stations) value=stations />
                })}
            </div>
            {(!compact).then(|| view! { <EnvTable /> })}
        </TileFrame>
    }
}

/// Areas by VN_AQI, worst first, in their band's colour; the worst stations.
#[component]
pub fn EnvDetail() -> impl IntoView {
    let lang = use_lang();
    let live = expect_context::<Live>();
    let city = use_city();
    let areas = Signal::derive(move || {
        let l = lang.get();
        live.state.with(|s| {
            highest(
                &s.areas,
                |a| area_value(s, Layer::Aqi, &a.code).map(|x| x.value),
                11,
            )
            .into_iter()
            .map(|(a, v)| Bar {
                label: s.area_name(&a.code, l),
                key: a.code.clone(),
                value: v,
                text: format!("{v:.0} · {}", aqi_band(l, v).1),
                colour: colour(Layer::Aqi, Some(v)),
            })
            .collect()
        })
    });
    let stations = Signal::derive(move || {
        let l = lang.get();
        live.state.with(|s| {
            let Some(e) = s.env() else { return Vec::new() };
            highest(&e.stations, |st| st.aqi.map(f64::from), 6)
                .into_iter()
                .map(|(st, a)| {
                    let name = city.name(|m| &m.stations, &st.id, l);
                    let trend = st.pm25_trend.map_or(String::new(), |d| {
                        if d > 0.5 {
                            " ↑".into()
                        } else if d < -0.5 {
                            " ↓".into()
                        } else {
                            " →".into()
                        }
                    });
                    Bar {
                        key: st.id.clone(),
                        label: name,
                        value: a,
                        text: format!(
                            "{a:.0} · {}{trend}",
                            st.dominant.as_deref().map(pollutant_name).unwrap_or("")
                        ),
                        colour: colour(Layer::Aqi, Some(a)),
                    }
                })
                .collect()
        })
    });
    view! {
        <div class="detail detail-large">
            <div class="detail-block">
                <h3>{move || format!("VN_AQI · {}", t(lang.get(), Word::ByArea))}</h3>
                <Bars bars=areas max=300.0 />
            </div>
            <div class="detail-block">
                <h3>{move || t(lang.get(), Word::WorstStation)}</h3>
                <Bars bars=stations max=300.0 />
            </div>
        </div>
    }
}

/// Air quality by area: VN_AQI with its band and colour, its last hour, and PM2.5. Worst
/// first.
#[component]
pub fn EnvTable() -> impl IntoView {
    view! { <AreaTable domain=Domain::Env worst="aqi" spark="aqi" before=AQI after=PM25 /> }
}

/// The area's VN_AQI (the official one, else the sensors'), in its band's colour.
const AQI: Column = Column {
    head: aqi_head,
    cell: aqi_cell,
};

fn aqi_head(_: RwSignal<Lang>) -> AnyView {
    view! { <th class="num">"VN_AQI"</th> }.into_any()
}

fn aqi_cell(row: Memo<Option<Row>>, lang: RwSignal<Lang>) -> AnyView {
    let aqi = move || {
        row.with(|r| {
            r.as_ref()
                .and_then(|r| r.official.or_else(|| field(r, "aqi")))
        })
    };
    let band = move || {
        aqi()
            .map(|v| aqi_band(lang.get(), v))
            .unwrap_or(("aqi-none", ""))
    };
    view! {
        <td class="num">
            <span class=move || format!("aqi {}", band().0) data-field="aqi">
                {move || aqi().map(|v| format!("{v:.0}")).unwrap_or_else(|| "—".into())}
            </span>
            <span class="band">{move || band().1}</span>
        </td>
    }
    .into_any()
}

/// The area's PM2.5.
const PM25: Column = Column {
    head: pm25_head,
    cell: pm25_cell,
};

fn pm25_head(_: RwSignal<Lang>) -> AnyView {
    view! { <th class="num">"PM2.5 (µg/m³)"</th> }.into_any()
}

fn pm25_cell(row: Memo<Option<Row>>, lang: RwSignal<Lang>) -> AnyView {
    view! {
        <td class="num" data-field="pm25_ugm3">
            {cell(row, lang, |r, l| field(r, "pm25_ugm3").map(|v| dec(l, v, 1)))}
        </td>
    }
    .into_any()
}
