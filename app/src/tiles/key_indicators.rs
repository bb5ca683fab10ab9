//! The wall's panel of key indicators (the catalogue's `key_indicators`, in its order): each
//! one's city value with its unit, the period it belongs to and the day it was reported,
//! its progress against the year's target and its flags. Read from across the room, so one
//! line of figures per indicator and nothing to click.

use leptos::prelude::*;

use crate::i18n::use_lang;
use crate::indicators::{
    IndicatorBoard, flags, headline, indicator_name, period_and_report, progress_bar, tr,
    value_with_unit,
};

/// The key indicators, large, for the wall's rotating panel.
#[component]
pub fn KeyIndicators() -> impl IntoView {
    let lang = use_lang();
    let data = IndicatorBoard::load();
    move || {
        let l = lang.get();
        let rows = data.catalogue.with(|c| {
            data.board.with(|b| {
                let c = c.as_ref()?;
                let rows = c
                    .key_indicators
                    .iter()
                    .filter_map(|code| c.indicator(code))
                    .map(|i| {
                        let f = b.as_ref().and_then(|b| b.indicator(&i.code)).and_then(headline);
                        let value = f.and_then(|f| f.latest.as_ref()).map(|v| value_with_unit(l, v.value, i));
                        let when = f
                            .and_then(|f| f.latest.as_ref())
                            .map(|v| period_and_report(l, v.period, v.reported_ms));
                        view! {
                            <li class="key-ind" data-testid=format!("key-{}", i.code)>
                                <span class="key-ind-name">{indicator_name(l, i).to_owned()}</span>
                                <span class="key-ind-value">{value.unwrap_or_else(|| "—".to_owned())}</span>
                                <span class="ind-when">{when}</span>
                                {f.map(|f| progress_bar(l, f))}
                                {f.map(|f| flags(l, f))}
                            </li>
                        }
                    })
                    .collect_view();
                Some(rows)
            })
        });
        match rows {
            Some(rows) => {
                view! { <ul class="key-inds" data-testid="key-indicators">{rows}</ul> }.into_any()
            }
            None => view! { <p class="none">{tr(l, "Đang tải…", "Loading…")}</p> }.into_any(),
        }
    }
}
