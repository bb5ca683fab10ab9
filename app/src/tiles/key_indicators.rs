//! The wall's panel of key indicators (the catalogue's `key_indicators`, in its order): each
//! one's city value with its unit, the period it belongs to and the day it was reported,
//! its progress against the year's target and its flags. Read from across the room, so one
//! block of figures per indicator and nothing to click; written as markup, as the console's
//! indicators page is.

use ioc_protocol::indicator::{Board, Catalogue};
use leptos::prelude::*;

use crate::i18n::{Lang, use_lang};
use crate::indicators::{
    IndicatorBoard, esc, flags_html, headline, indicator_name, period_and_report, progress_html,
    tr, value_with_unit,
};

/// The key indicators as markup.
pub fn key_indicators_html(l: Lang, c: &Catalogue, b: Option<&Board>) -> String {
    let mut out = String::from(r#"<ul class="key-inds" data-testid="key-indicators">"#);
    for i in c.key_indicators.iter().filter_map(|code| c.indicator(code)) {
        let f = b.and_then(|b| b.indicator(&i.code)).and_then(headline);
        let latest = f.and_then(|f| f.latest.as_ref());
        out.push_str(&format!(
            r#"<li class="key-ind" data-testid="key-{code}"><span class="key-ind-name">{name}</span><span class="key-ind-value">{value}</span><span class="ind-when">{when}</span>{progress}{flags}</li>"#,
            code = esc(&i.code),
            name = esc(indicator_name(l, i)),
            value = latest.map_or_else(|| "—".to_owned(), |v| esc(&value_with_unit(l, v.value, i))),
            when = latest.map(|v| period_and_report(l, v.period, v.reported_ms)).unwrap_or_default(),
            progress = f.map(|f| progress_html(l, f)).unwrap_or_default(),
            flags = f.map(|f| flags_html(l, f)).unwrap_or_default(),
        ));
    }
    out.push_str("</ul>");
    out
}

/// The key indicators, large, for the wall's rotating panel.
#[component]
pub fn KeyIndicators() -> impl IntoView {
    let lang = use_lang();
    let data = IndicatorBoard::load();
    let html = move || {
        let l = lang.get();
        data.catalogue.with(|c| match c {
            Some(c) => data.board.with(|b| key_indicators_html(l, c, b.as_ref())),
            None => format!(r#"<p class="none">{}</p>"#, tr(l, "Đang tải…", "Loading…")),
        })
    };
    view! { <div class="key-inds-box" inner_html=html></div> }
}
