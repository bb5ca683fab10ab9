//! A group's indicators as cards: the latest value with its unit, the period it belongs to
//! and the day it was reported, the change on a year earlier, the progress bar against the
//! year's target with the expected mark, a sparkline of the last 24 periods, and the flags.
//! The sparklines' series are fetched one indicator at a time once the group opens
//! ([`fetch_sparks`]).

use std::collections::HashMap;

use ioc_protocol::indicator::{AreaFigures, Board, Catalogue, Indicator, Kind};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::indicators::series;
use crate::charts::periods::spark_path;
use crate::i18n::Lang;
use crate::indicators::{
    esc, flags_html, headline, indicator_name, period_and_report, progress_html, signed, tr, unit,
    value_with_unit,
};

/// The periods a card's sparkline spans.
pub const SPARK_PERIODS: usize = 24;

/// The change on a year earlier: relative when there is one, else absolute in the unit.
pub fn change_text(lang: Lang, i: &Indicator, f: &AreaFigures) -> Option<String> {
    let c = f.change.as_ref()?;
    let n = match c.relative {
        // `relative` is in % already.
        Some(r) if i.unit != "%" => signed(lang, r / 100.0, true),
        _ => format!("{} {}", signed(lang, c.absolute, false), unit(lang, i)),
    };
    Some(format!(
        "{} {n}",
        tr(lang, "So với cùng kỳ:", "On a year earlier:")
    ))
}

/// Fetches the sparkline of each of `group`'s indicators (its headline area's last
/// [`SPARK_PERIODS`] periods), one at a time, into `sparks`; stops when `sparks` is gone.
pub fn fetch_sparks(
    c: &Catalogue,
    b: &Board,
    group: &str,
    sparks: RwSignal<HashMap<String, String>>,
) {
    let keys: Vec<(String, String)> = c
        .indicators
        .iter()
        .filter(|i| i.group == group)
        .filter_map(|i| {
            Some((
                i.code.clone(),
                headline(b.indicator(&i.code)?)?.area.clone(),
            ))
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
}

/// The cards of `group`'s indicators, in the catalogue's order.
pub fn cards_html(
    l: Lang,
    c: &Catalogue,
    board: Option<&Board>,
    group: &str,
    sparks: &HashMap<String, String>,
) -> String {
    let mut out = String::from(r#"<div class="ind-cards" data-testid="ind-cards">"#);
    for i in c.indicators.iter().filter(|i| i.group == group) {
        let f = board.and_then(|b| b.indicator(&i.code)).and_then(headline);
        out.push_str(&card_html(
            l,
            i,
            f,
            sparks.get(&i.code).map_or("", String::as_str),
        ));
    }
    out.push_str("</div>");
    out
}

fn card_html(l: Lang, i: &Indicator, f: Option<&AreaFigures>, spark: &str) -> String {
    let code = esc(&i.code);
    let latest = f.and_then(|f| f.latest.as_ref());
    let status = f.and_then(AreaFigures::status).map_or("", |s| s.as_str());
    let mut out = format!(
        r#"<article class="ind-card{flagged}" data-testid="ind-card-{code}" data-status="{status}"><button type="button" class="ind-card-name" data-go="indicator:{code}">{name}</button><div class="ind-card-value">{value}</div><div class="ind-when">{when}</div>"#,
        flagged = if f.is_some_and(AreaFigures::is_flagged) {
            " flagged"
        } else {
            ""
        },
        name = esc(indicator_name(l, i)),
        value = esc(&latest.map_or_else(
            || tr(l, "Chưa có số liệu", "No data yet").to_owned(),
            |v| value_with_unit(l, v.value, i)
        )),
        when = latest
            .map(|v| period_and_report(l, v.period, v.reported_ms))
            .unwrap_or_default(),
    );
    if let Some(y) = f
        .and_then(|f| f.ytd.as_ref())
        .filter(|_| i.kind == Kind::Flow)
    {
        out.push_str(&format!(
            r#"<div class="ind-ytd">{} {}</div>"#,
            tr(l, "Lũy kế năm:", "Year to date:"),
            esc(&value_with_unit(l, y.sum, i))
        ));
    }
    if let Some(c) = f.and_then(|f| change_text(l, i, f)) {
        out.push_str(&format!(r#"<div class="ind-change">{}</div>"#, esc(&c)));
    }
    if let Some(f) = f {
        out.push_str(&progress_html(l, f));
    }
    out.push_str(&format!(
        r#"<svg class="ind-spark" viewBox="0 0 100 24" preserveAspectRatio="none" aria-hidden="true"><path class="spark-line" d="{spark}"></path></svg>"#
    ));
    if let Some(f) = f {
        out.push_str(&flags_html(l, f));
    }
    out.push_str("</article>");
    out
}
