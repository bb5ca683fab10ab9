//! The socio-economic indicators on the screen, shared by the console's `/indicators` page
//! and the wall's key-indicators panel: the catalogue and the board, fetched once there is a
//! session and the board again every few minutes ([`IndicatorBoard`]), and the words and
//! numbers they are written in (periods, report dates, statuses, values with their unit).
//!
//! Every figure is written with the period it belongs to and the day it was reported
//! ([`period_and_report`]): a figure of last quarter must never read as today's.

use ioc_protocol::indicator::{
    AreaFigures, Board, Catalogue, Group, Indicator, IndicatorFigures, Level, Period, Periodicity,
    Status,
};
use ioc_protocol::map::CityMap;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::indicators::{self, IndicatorError};
use crate::api::{page_hidden, sleep_ms};
use crate::city::name_of;
use crate::clock::hcmc_day;
use crate::i18n::{Lang, dec};

/// How often the board is fetched again, ms.
const REFRESH_MS: i32 = 120_000;

/// The catalogue and the board, as last fetched; `error` while the last fetch failed.
#[derive(Debug, Clone, Copy)]
pub struct IndicatorBoard {
    pub catalogue: RwSignal<Option<Catalogue>>,
    pub board: RwSignal<Option<Board>>,
    pub error: RwSignal<Option<IndicatorError>>,
}

impl IndicatorBoard {
    /// Fetches the catalogue, then the board, and the board again every two minutes while
    /// the page is visible; stops when the component that asked is gone.
    pub fn load() -> IndicatorBoard {
        let data = IndicatorBoard {
            catalogue: RwSignal::new(None),
            board: RwSignal::new(None),
            error: RwSignal::new(None),
        };
        spawn_local(async move {
            loop {
                let answer = async {
                    if data.catalogue.try_with_untracked(Option::is_none) == Some(true) {
                        let c = indicators::catalogue().await?;
                        data.catalogue.try_set(Some(c));
                    }
                    indicators::board().await
                }
                .await;
                // `try_set` hands the value back once the screen that asked is gone.
                let gone = match answer {
                    Ok(b) => {
                        data.error.try_set(None).is_some() || data.board.try_set(Some(b)).is_some()
                    }
                    Err(e) => {
                        web_sys::console::warn_1(&format!("indicators: {e:?}").into());
                        data.error.try_set(Some(e)).is_some()
                    }
                };
                if gone {
                    break;
                }
                let ok = data.error.with_untracked(Option::is_none);
                sleep_ms(if ok { REFRESH_MS } else { 5_000 }).await;
                while page_hidden() {
                    sleep_ms(5_000).await;
                }
            }
        });
        data
    }
}

/// A text in the screen's language.
pub fn tr(lang: Lang, vi: &'static str, en: &'static str) -> &'static str {
    if lang == Lang::Vi { vi } else { en }
}

pub fn indicator_name(lang: Lang, i: &Indicator) -> &str {
    if lang == Lang::Vi {
        &i.name_vi
    } else {
        &i.name_en
    }
}

pub fn group_name(lang: Lang, g: &Group) -> &str {
    if lang == Lang::Vi {
        &g.name_vi
    } else {
        &g.name_en
    }
}

pub fn unit(lang: Lang, i: &Indicator) -> &str {
    if lang == Lang::Vi {
        &i.unit
    } else {
        &i.unit_en
    }
}

/// "Quý 3/2026", "Tháng 10/2026", "Năm 2026" / "Q3 2026", "October 2026", "Year 2026".
pub fn period_name(lang: Lang, p: Period) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let (y, i) = (p.year(), p.index_in_year());
    match (lang, p.periodicity()) {
        (Lang::Vi, Periodicity::Month) => format!("Tháng {i}/{y}"),
        (Lang::Vi, Periodicity::Quarter) => format!("Quý {i}/{y}"),
        (Lang::Vi, Periodicity::Year) => format!("Năm {y}"),
        (Lang::En, Periodicity::Month) => {
            format!("{} {y}", MONTHS[usize::from(i.clamp(1, 12)) - 1])
        }
        (Lang::En, Periodicity::Quarter) => format!("Q{i} {y}"),
        (Lang::En, Periodicity::Year) => format!("Year {y}"),
    }
}

/// A short label of a period on a chart's axis: "T10", "Q3", "2026".
pub fn period_short(lang: Lang, p: Period) -> String {
    match p.periodicity() {
        Periodicity::Month => format!("{}{}", tr(lang, "T", "M"), p.index_in_year()),
        Periodicity::Quarter => format!("{}{}", tr(lang, "Q", "Q"), p.index_in_year()),
        Periodicity::Year => p.year().to_string(),
    }
}

/// "Quý 3/2026 · báo cáo 12/10/2026" / "Q3 2026 · reported 12/10/2026".
pub fn period_and_report(lang: Lang, period: Period, reported_ms: i64) -> String {
    format!(
        "{} · {} {}",
        period_name(lang, period),
        tr(lang, "báo cáo", "reported"),
        hcmc_day(reported_ms)
    )
}

/// A value with the decimals its size needs: 1.234.567 / 12.345,6 / 3,25.
pub fn value_text(lang: Lang, v: f64) -> String {
    let decimals = match v.abs() {
        a if a >= 10_000.0 => 0,
        a if a >= 100.0 => 1,
        _ => 2,
    };
    let text = dec(lang, v, decimals);
    if decimals == 2 {
        // 3,50 reads as 3,5; 12,00 as 12.
        let sep = if lang == Lang::Vi { ',' } else { '.' };
        let trimmed = text.trim_end_matches('0');
        return trimmed.trim_end_matches(sep).to_owned();
    }
    text
}

/// A value and its unit: "1.234,5 tỷ đồng", "25,4 %".
pub fn value_with_unit(lang: Lang, v: f64, i: &Indicator) -> String {
    format!("{} {}", value_text(lang, v), unit(lang, i))
}

/// A signed change: "+3,2 %" of a relative change (a share), "−0,4" of an absolute one.
pub fn signed(lang: Lang, v: f64, percent: bool) -> String {
    let (n, suffix) = if percent {
        (v * 100.0, tr(lang, " %", "%"))
    } else {
        (v, "")
    };
    let sign = if n > 0.0 { "+" } else { "" };
    format!("{sign}{}{suffix}", dec(lang, n, 1))
}

/// The CSS class and the name of a status.
pub fn status_name(lang: Lang, s: Option<Status>) -> (&'static str, &'static str) {
    match s {
        Some(Status::OnTrack) => ("st-on-track", tr(lang, "Đạt tiến độ", "On track")),
        Some(Status::AtRisk) => ("st-at-risk", tr(lang, "Có nguy cơ", "At risk")),
        Some(Status::Behind) => ("st-behind", tr(lang, "Chậm tiến độ", "Behind")),
        None => ("st-none", tr(lang, "Chưa đánh giá", "Not assessed")),
    }
}

/// The name of an area: the whole city, a district, or a department.
pub fn area_name(lang: Lang, city: Option<&CityMap>, code: &str) -> String {
    if code == ioc_protocol::topic::CITY_AREA {
        return tr(lang, "Toàn thành phố", "Whole city").to_owned();
    }
    let Some(map) = city else {
        return code.to_owned();
    };
    if let Some(a) = map.areas.iter().find(|a| a.code == code) {
        return if lang == Lang::Vi {
            a.name_vi.clone()
        } else {
            a.name_en.clone()
        };
    }
    name_of(&map.agencies, code, lang)
}

/// The figures an indicator's card and the wall show: the city's, or the first area's when
/// it is not reported for the whole city.
pub fn headline(f: &IndicatorFigures) -> Option<&AreaFigures> {
    f.areas
        .iter()
        .find(|a| a.level == Level::City)
        .or_else(|| f.areas.first())
}

/// `text` escaped for HTML: the page's figures are written as markup (lighter in the wasm
/// than a view per element), and names come from the catalogue.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The progress bar towards the year's target (an SVG: the page's CSP allows no inline
/// style), with the mark of the progress expected by now and the status's colour; "no
/// target" without one.
pub fn progress_html(lang: Lang, f: &AreaFigures) -> String {
    let Some(p) = &f.progress else {
        return format!(
            r#"<div class="ind-progress none">{}</div>"#,
            tr(lang, "Chưa có chỉ tiêu năm", "No target for the year")
        );
    };
    let (class, status) = status_name(lang, Some(p.status));
    format!(
        r#"<div class="ind-progress {class}" data-status="{code}"><svg class="bar" viewBox="0 0 100 4" preserveAspectRatio="none" role="progressbar" aria-valuenow="{pct:.1}"><rect class="track" width="100" height="4"></rect><rect class="fill" width="{fill:.1}" height="4"></rect><rect class="expected" x="{mark:.1}" width="0.8" height="4"><title>{exp_t}</title></rect></svg><div class="ind-progress-text"><span class="status">{status}</span> · {pct_t} {of_t} · {exp_w} {exp_v}</div></div>"#,
        code = p.status.as_str(),
        pct = p.percent,
        fill = p.percent.clamp(0.0, 100.0),
        mark = (p.expected.clamp(0.0, 100.0) - 0.4).max(0.0),
        exp_t = tr(lang, "Tiến độ kỳ vọng", "Expected by now"),
        pct_t = dec(lang, p.percent, 1),
        of_t = tr(lang, "% kế hoạch", "% of target"),
        exp_w = tr(lang, "kỳ vọng", "expected"),
        exp_v = dec(lang, p.expected, 1),
    )
}

/// The flags of an area's figures: an abnormal sign with its score, a late or missing
/// report with its period.
pub fn flags_html(lang: Lang, f: &AreaFigures) -> String {
    let mut out = String::from(r#"<div class="ind-flags-row">"#);
    if let Some(a) = f.abnormal.as_ref().filter(|a| a.flagged) {
        out.push_str(&format!(
            r#"<span class="flag flag-abnormal" data-testid="flag-abnormal">⚠ {} ({}) · {} {}</span>"#,
            tr(lang, "Dấu hiệu bất thường", "Abnormal sign"),
            period_name(lang, a.period),
            tr(lang, "điểm", "score"),
            dec(lang, a.score, 1)
        ));
    }
    if let Some(r) = &f.late {
        let what = if r.reported_ms.is_some() {
            tr(lang, "Báo cáo trễ hạn", "Reported late")
        } else {
            tr(lang, "Chưa báo cáo", "Not reported")
        };
        out.push_str(&format!(
            r#"<span class="flag flag-late" data-testid="flag-late">{what}: {} ({} {})</span>"#,
            period_name(lang, r.period),
            tr(lang, "hạn", "due"),
            hcmc_day(r.due_ms)
        ));
    }
    out.push_str("</div>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_say_their_period_and_report_day() {
        let q3: Period = "2026-Q3".parse().unwrap();
        // 2026-10-12T03:00:00Z is 10:00 on 12 October in Ho Chi Minh City.
        let reported = 1_791_774_000_000;
        assert_eq!(
            period_and_report(Lang::Vi, q3, reported),
            "Quý 3/2026 · báo cáo 12/10/2026"
        );
        assert_eq!(
            period_and_report(Lang::En, q3, reported),
            "Q3 2026 · reported 12/10/2026"
        );
        let oct: Period = "2026-10".parse().unwrap();
        assert_eq!(period_name(Lang::Vi, oct), "Tháng 10/2026");
        assert_eq!(period_name(Lang::En, oct), "October 2026");
        // 17:00Z on 31 December is already 1 January in Ho Chi Minh City.
    }

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            esc(r#"<a href="x">Tôm & cá</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tôm &amp; cá&lt;/a&gt;"
        );
    }

    #[test]
    fn values_are_written_the_vietnamese_way() {
        assert_eq!(value_text(Lang::Vi, 1_234_567.4), "1.234.567");
        assert_eq!(value_text(Lang::Vi, 1234.56), "1.234,6");
        assert_eq!(value_text(Lang::En, 1234.56), "1,234.6");
        assert_eq!(value_text(Lang::Vi, 3.5), "3,5");
        assert_eq!(value_text(Lang::Vi, 12.0), "12");
        assert_eq!(signed(Lang::Vi, 0.032, true), "+3,2 %");
        assert_eq!(signed(Lang::En, -0.4, false), "-0.4");
    }
}
