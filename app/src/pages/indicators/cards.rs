//! A group's indicators as cards: the latest value with its unit, the period it belongs to
//! and the day it was reported, the change on a year earlier, the progress bar against the
//! year's target with the expected mark, a sparkline of the last 24 periods, and the flags.
//! The sparklines' series are fetched one indicator at a time once the group opens.

use std::collections::HashMap;

use ioc_protocol::indicator::{AreaFigures, Indicator, Kind};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{Place, go};
use crate::api::indicators::series;
use crate::charts::periods::spark_path;
use crate::i18n::{Lang, use_lang};
use crate::indicators::{
    IndicatorBoard, flags, headline, indicator_name, period_and_report, progress_bar, signed, tr,
    unit, value_with_unit,
};

/// The periods a card's sparkline spans.
pub const SPARK_PERIODS: usize = 24;

/// The cards of one group's indicators, in the catalogue's order.
#[component]
pub fn GroupCards(
    /// The group's code.
    group: String,
    /// Where the page stands; a card opens its indicator.
    place: RwSignal<Place>,
) -> impl IntoView {
    let lang = use_lang();
    let data = expect_context::<IndicatorBoard>();
    let sparks: RwSignal<HashMap<String, String>> = RwSignal::new(HashMap::new());
    let members = {
        let group = group.clone();
        Memo::new(move |_| {
            data.catalogue.with(|c| {
                c.as_ref().map_or_else(Vec::new, |c| {
                    c.indicators
                        .iter()
                        .filter(|i| i.group == group)
                        .cloned()
                        .collect::<Vec<_>>()
                })
            })
        })
    };
    // The sparklines: each member's headline series, fetched once, one at a time.
    Effect::new(move |started: Option<bool>| {
        if started == Some(true) {
            return true;
        }
        let list = members.get();
        let Some(board) = data.board.get() else {
            return false;
        };
        if list.is_empty() {
            return false;
        }
        let keys: Vec<(String, String)> = list
            .iter()
            .filter_map(|i| {
                let area = board.indicator(&i.code).and_then(headline)?.area.clone();
                Some((i.code.clone(), area))
            })
            .collect();
        spawn_local(async move {
            for (code, area) in keys {
                let Ok(answer) = series(&code, &area).await else {
                    continue;
                };
                let values: Vec<f64> = answer.points.iter().map(|p| p.value).collect();
                let last = &values[values.len().saturating_sub(SPARK_PERIODS)..];
                let path = spark_path(last, 100.0, 24.0);
                if sparks.try_update(|s| s.insert(code, path)).is_none() {
                    break;
                }
            }
        });
        true
    });

    move || {
        let l = lang.get();
        let list = members.get();
        if list.is_empty() {
            return view! { <p class="none">{tr(l, "Đang tải…", "Loading…")}</p> }.into_any();
        }
        let cards = data.board.with(|b| {
            list.iter()
                .map(|i| {
                    let figures = b
                        .as_ref()
                        .and_then(|b| b.indicator(&i.code))
                        .and_then(headline)
                        .cloned();
                    card(l, i, figures.as_ref(), sparks, place)
                })
                .collect_view()
        });
        view! { <div class="ind-cards" data-testid="ind-cards">{cards}</div> }.into_any()
    }
}

/// The change on a year earlier: relative when there is one, else absolute in the unit.
pub fn change_text(lang: Lang, i: &Indicator, f: &AreaFigures) -> Option<String> {
    let c = f.change.as_ref()?;
    let n = match c.relative {
        Some(r) if i.unit != "%" => signed(lang, r, true),
        _ => format!("{} {}", signed(lang, c.absolute, false), unit(lang, i)),
    };
    Some(format!(
        "{} {n}",
        tr(lang, "So với cùng kỳ:", "On a year earlier:")
    ))
}

fn card(
    l: Lang,
    i: &Indicator,
    f: Option<&AreaFigures>,
    sparks: RwSignal<HashMap<String, String>>,
    place: RwSignal<Place>,
) -> AnyView {
    let code = i.code.clone();
    let testid = format!("ind-card-{code}");
    let spark_code = i.code.clone();
    let value = f
        .and_then(|f| f.latest.as_ref())
        .map(|v| value_with_unit(l, v.value, i));
    let when = f
        .and_then(|f| f.latest.as_ref())
        .map(|v| period_and_report(l, v.period, v.reported_ms));
    let ytd = f
        .and_then(|f| f.ytd.as_ref())
        .filter(|_| i.kind == Kind::Flow)
        .map(|y| {
            format!(
                "{} {}",
                tr(l, "Lũy kế năm:", "Year to date:"),
                value_with_unit(l, y.sum, i)
            )
        });
    let change = f.and_then(|f| change_text(l, i, f));
    let status = f.and_then(AreaFigures::status).map(|s| s.as_str());
    let progress = f.map(|f| progress_bar(l, f));
    let flag_row = f.map(|f| flags(l, f));
    let flagged = f.is_some_and(AreaFigures::is_flagged);
    view! {
        <article class="ind-card" class:flagged=flagged data-testid=testid data-status=status>
            <button type="button" class="ind-card-name" on:click=move |_| go(place, Place::Indicator(code.clone()))>
                {indicator_name(l, i).to_owned()}
            </button>
            <div class="ind-card-value">{value.unwrap_or_else(|| tr(l, "Chưa có số liệu", "No data yet").to_owned())}</div>
            <div class="ind-when">{when}</div>
            {ytd.map(|y| view! { <div class="ind-ytd">{y}</div> })}
            {change.map(|c| view! { <div class="ind-change">{c}</div> })}
            {progress}
            <svg class="ind-spark" viewBox="0 0 100 24" preserveAspectRatio="none" aria-hidden="true">
                <path class="spark-line" d=move || sparks.with(|s| s.get(&spark_code).cloned().unwrap_or_default())></path>
            </svg>
            {flag_row}
        </article>
    }
    .into_any()
}
