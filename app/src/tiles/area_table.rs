//! The areas' table that the air-quality and traffic tiles share ([`AreaTable`]): one row per
//! area, worst first, with the tile's own two figures ([`Column`]), a sparkline of the last
//! hour, and how old its data is; a row turns visibly stale when its sources stop.
//!
//! A tile's rows are keyed by area: a live delta updates the text of the cells that changed
//! and moves rows when the order changes, but never rebuilds a row, so the sparkline in it
//! is drawn again only when its own data changes (once a minute at most). Clicking an area
//! opens its drill-down.

use ioc_protocol::{AreaStat, Domain};
use leptos::prelude::*;

use crate::charts::drilldown::use_drill;
use crate::charts::spark::{Sparkline, Sparks, sparklines};
use crate::clock::use_clock;
use crate::i18n::{Lang, Word, t, updated_ago, use_lang};
use crate::live::{Live, LiveState};

/// One area's row, as a tile shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    code: String,
    name: String,
    stat: Option<AreaStat>,
    /// The official figure of the area, when the server computed one (VN_AQI from the
    /// stations' hourly averages); the row shows it rather than the sensors' own.
    pub official: Option<f64>,
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

/// The mean of a field of a row's area, if it has one.
pub fn field(row: &Row, name: &str) -> Option<f64> {
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
pub fn cell(
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

/// A column of an area table with a figure of the tile's own: its header cell and, for a row,
/// its cell (each a `<th>` or `<td>`, with its classes and `data-field`).
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub head: fn(RwSignal<Lang>) -> AnyView,
    pub cell: fn(Memo<Option<Row>>, RwSignal<Lang>) -> AnyView,
}

/// The areas of `domain`, highest `worst` first: the area, the `before` figure, the last hour
/// of `spark`, the `after` figure, and the age.
#[component]
pub fn AreaTable(
    /// The domain of the tile.
    domain: Domain,
    /// The field the rows are sorted by, highest first.
    worst: &'static str,
    /// The field the sparklines draw.
    spark: &'static str,
    /// The column between the area and the sparkline.
    before: Column,
    /// The column between the sparkline and the age.
    after: Column,
) -> impl IntoView {
    let lang = use_lang();
    let live = expect_context::<Live>();
    let rows = worst_first(live, domain, worst);
    let sparks = sparklines(live, domain, spark);
    view! {
        <table class="areas">
            <thead>
                <tr>
                    <th>{move || t(lang.get(), Word::Area)}</th>
                    {(before.head)(lang)}
                    <th class="spark-head">{move || t(lang.get(), Word::LastHour)}</th>
                    {(after.head)(lang)}
                    <th class="age"></th>
                </tr>
            </thead>
            <tbody>
                <For
                    each=move || area_codes(rows)
                    key=|code| code.clone()
                    children=move |code| view! {
                        <AreaRow rows=rows code=code sparks=sparks before=before after=after />
                    }
                />
            </tbody>
        </table>
    }
}

/// One area of a table.
#[component]
fn AreaRow(
    /// The table's rows.
    rows: Memo<Vec<Row>>,
    /// The area of this row.
    code: String,
    /// The table's sparklines.
    sparks: Sparks,
    before: Column,
    after: Column,
) -> impl IntoView {
    let lang = use_lang();
    let drill = use_drill();
    let row = area_row(rows, code.clone());
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
            {(before.cell)(row, lang)}
            <td class="spark-cell"><Sparkline sparks=sparks area=code.clone() /></td>
            {(after.cell)(row, lang)}
            <AgeCell row=row />
        </tr>
    }
}
