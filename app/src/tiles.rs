//! The areas' tables of the air-quality and traffic tiles. Each row shows how old its data
//! is, and turns visibly stale when its sources stop.
//!
//! A tile's rows are keyed by area: a live delta updates the text of the cells that changed
//! and moves rows when the order changes, but never rebuilds a row, so the sparkline in it
//! is drawn again only when its own data changes (once a minute at most). Clicking an area
//! opens its drill-down.

use ioc_protocol::{AreaStat, Domain};
use leptos::prelude::*;

use crate::drilldown::use_drill;
use crate::i18n::{Lang, Word, aqi_band, dec, t, updated_ago, use_lang};
use crate::live::{Live, LiveState};
use crate::spark::{Sparkline, Sparks, sparklines};
use crate::use_clock;

/// One area's row, as a tile shows it.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    code: String,
    name: String,
    stat: Option<AreaStat>,
    /// The official figure of the area, when the server computed one (VN_AQI from the
    /// stations' hourly averages); the row shows it rather than the sensors' own.
    official: Option<f64>,
    age_ms: i64,
    stale: bool,
}

/// The rows of a domain, one per area of the city, with ages on the server's clock.
fn rows(state: &LiveState, lang: Lang, domain: Domain, now_browser: f64) -> Vec<Row> {
    let now = now_browser + state.clock_offset_ms;
    let limit_ms = i64::from(state.stale_after_s.get(&domain).copied().unwrap_or(600)) * 1000;
    state
        .areas
        .iter()
        .map(|a| {
            let stat = state.stat(domain, &a.code).cloned();
            let age_ms = stat.as_ref().map_or(0, |s| now as i64 - s.newest_ts);
            Row {
                code: a.code.clone(),
                name: if lang == Lang::Vi {
                    a.name_vi.clone()
                } else {
                    a.name_en.clone()
                },
                stale: stat.as_ref().is_some_and(|s| s.stale || age_ms > limit_ms),
                official: (domain == Domain::Env)
                    .then(|| state.env())
                    .flatten()
                    .and_then(|e| e.areas.iter().find(|x| x.area == a.code))
                    .and_then(|x| x.aqi)
                    .map(f64::from),
                stat,
                age_ms,
            }
        })
        .collect()
}

fn field(row: &Row, name: &str) -> Option<f64> {
    row.stat.as_ref()?.fields.get(name).map(|f| f.mean)
}

/// The text of a row's age cell: empty while fresh (the tile's header gives the age), and
/// "Dữ liệu cũ · Cập nhật 12 phút trước" once the area's sources have stopped.
/// The age cell of a stale row: a mark only, so that the table keeps its width (the tile's
/// header says how old its data is); the whole sentence is its tooltip ([`age_title`]).
fn age_text(_: Lang, row: &Row) -> String {
    if row.stale && row.stat.is_some() {
        "⚠".to_owned()
    } else {
        String::new()
    }
}

fn age_title(lang: Lang, row: &Row) -> String {
    if row.stale && row.stat.is_some() {
        format!(
            "{} · {}",
            t(lang, Word::StaleData),
            updated_ago(lang, row.age_ms)
        )
    } else {
        String::new()
    }
}

/// The areas of a tile's rows, in order: what its keyed rows follow.
fn area_codes(rows: Memo<Vec<Row>>) -> Vec<String> {
    rows.with(|rs| rs.iter().map(|r| r.code.clone()).collect())
}

/// The row of one area, out of its tile's rows: it changes only when that area's figures
/// (or age) do.
fn area_row(rows: Memo<Vec<Row>>, code: String) -> Memo<Option<Row>> {
    Memo::new(move |_| rows.with(|rs| rs.iter().find(|r| r.code == code).cloned()))
}

/// A figure of a row, formatted, or "—".
fn cell(
    row: Memo<Option<Row>>,
    lang: RwSignal<Lang>,
    f: impl Fn(&Row, Lang) -> Option<String> + Send + Sync + 'static,
) -> impl Fn() -> String + Send + Sync + 'static {
    move || {
        let l = lang.get();
        row.with(|r| r.as_ref().and_then(|r| f(r, l)))
            .unwrap_or_else(|| "—".into())
    }
}

/// The area cell of a row: the area's name, a button that opens its drill-down (the whole
/// row opens it too).
#[component]
fn AreaCell(
    /// The row.
    row: Memo<Option<Row>>,
) -> impl IntoView {
    let lang = use_lang();
    view! {
        <td class="area">
            <button type="button" class="area-link" title=move || t(lang.get(), Word::ShowHistory)>
                {move || row.with(|r| r.as_ref().map(|r| r.name.clone()).unwrap_or_default())}
            </button>
        </td>
    }
}

/// The age cell of a row.
#[component]
fn AgeCell(
    /// The row.
    row: Memo<Option<Row>>,
) -> impl IntoView {
    let lang = use_lang();
    let with = move |f: fn(Lang, &Row) -> String| {
        let l = lang.get();
        row.with(|r| r.as_ref().map(|r| f(l, r)).unwrap_or_default())
    };
    view! { <td class="age" data-field="age" title=move || with(age_title)>{move || with(age_text)}</td> }
}

/// The rows of a domain, highest `field` first (areas without data last, by code), kept
/// up to date with the live state, the language and the clock.
fn worst_first(live: Live, domain: Domain, field_name: &'static str) -> Memo<Vec<Row>> {
    let lang = use_lang();
    let clock = use_clock();
    Memo::new(move |_| {
        let mut rows = live
            .state
            .with(|s| rows(s, lang.get(), domain, clock.0.get()));
        rows.sort_by(|a, b| {
            let key = |r: &Row| r.official.or_else(|| field(r, field_name)).unwrap_or(-1.0);
            key(b).total_cmp(&key(a)).then_with(|| a.code.cmp(&b.code))
        });
        rows
    })
}

/// Air quality by area: VN_AQI with its band and colour, its last hour, and PM2.5. Worst
/// first.
#[component]
pub fn EnvTable() -> impl IntoView {
    let lang = use_lang();
    let live = expect_context::<Live>();
    let rows = worst_first(live, Domain::Env, "aqi");
    let sparks = sparklines(live, Domain::Env, "aqi");
    view! {
        <table class="areas">
            <thead>
                <tr>
                    <th>{move || t(lang.get(), Word::Area)}</th>
                    <th class="num">"VN_AQI"</th>
                    <th class="spark-head">{move || t(lang.get(), Word::LastHour)}</th>
                    <th class="num">"PM2.5 (µg/m³)"</th>
                    <th class="age"></th>
                </tr>
            </thead>
            <tbody>
                <For
                    each=move || area_codes(rows)
                    key=|code| code.clone()
                    children=move |code| view! { <EnvRow rows=rows code=code sparks=sparks /> }
                />
            </tbody>
        </table>
    }
}

/// One area in the environment tile.
#[component]
fn EnvRow(
    /// The tile's rows.
    rows: Memo<Vec<Row>>,
    /// The area of this row.
    code: String,
    /// The tile's sparklines.
    sparks: Sparks,
) -> impl IntoView {
    let lang = use_lang();
    let drill = use_drill();
    let row = area_row(rows, code.clone());
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
    let open = {
        let code = code.clone();
        move |_| drill.0.set(Some(code.clone()))
    };
    view! {
        <tr
            data-area=code.clone()
            class:stale=move || row.with(|r| r.as_ref().is_some_and(|r| r.stale))
            class:empty=move || row.with(|r| r.as_ref().is_none_or(|r| r.stat.is_none()))
            on:click=open
        >
            <AreaCell row=row />
            <td class="num">
                <span class=move || format!("aqi {}", band().0) data-field="aqi">
                    {move || aqi().map(|v| format!("{v:.0}")).unwrap_or_else(|| "—".into())}
                </span>
                <span class="band">{move || band().1}</span>
            </td>
            <td class="spark-cell"><Sparkline sparks=sparks area=code.clone() /></td>
            <td class="num" data-field="pm25_ugm3">
                {cell(row, lang, |r, l| field(r, "pm25_ugm3").map(|v| dec(l, v, 1)))}
            </td>
            <AgeCell row=row />
        </tr>
    }
}

/// Average speed (with its last hour) and congestion by area. Most congested first.
#[component]
pub fn TrafficTable() -> impl IntoView {
    let lang = use_lang();
    let live = expect_context::<Live>();
    let rows = worst_first(live, Domain::Traffic, "congestion");
    let sparks = sparklines(live, Domain::Traffic, "speed_kmh");
    view! {
        <table class="areas">
            <thead>
                <tr>
                    <th>{move || t(lang.get(), Word::Area)}</th>
                    <th class="num speed-head">{move || t(lang.get(), Word::AverageSpeed)} " (km/h)"</th>
                    <th class="spark-head">{move || t(lang.get(), Word::LastHour)}</th>
                    <th>{move || t(lang.get(), Word::Congestion)}</th>
                    <th class="age"></th>
                </tr>
            </thead>
            <tbody>
                <For
                    each=move || area_codes(rows)
                    key=|code| code.clone()
                    children=move |code| view! { <TrafficRow rows=rows code=code sparks=sparks /> }
                />
            </tbody>
        </table>
    }
}

/// One area in the traffic tile.
#[component]
fn TrafficRow(
    /// The tile's rows.
    rows: Memo<Vec<Row>>,
    /// The area of this row.
    code: String,
    /// The tile's sparklines.
    sparks: Sparks,
) -> impl IntoView {
    let lang = use_lang();
    let drill = use_drill();
    let row = area_row(rows, code.clone());
    let level = move || row.with(|r| r.as_ref().and_then(|r| field(r, "congestion")));
    let open = {
        let code = code.clone();
        move |_| drill.0.set(Some(code.clone()))
    };
    view! {
        <tr
            data-area=code.clone()
            class:stale=move || row.with(|r| r.as_ref().is_some_and(|r| r.stale))
            class:empty=move || row.with(|r| r.as_ref().is_none_or(|r| r.stat.is_none()))
            on:click=open
        >
            <AreaCell row=row />
            <td class="num" data-field="speed_kmh">
                {cell(row, lang, |r, l| field(r, "speed_kmh").map(|v| dec(l, v, 1)))}
            </td>
            <td class="spark-cell"><Sparkline sparks=sparks area=code.clone() /></td>
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
            <AgeCell row=row />
        </tr>
    }
}
