//! One indicator: its headline figure (the city's), this year against the year before and
//! the year's target on a chart (a flow as its year-to-date sum), the districts and the
//! departments ranked, and every revision of the latest period with who sent it and when.

use ioc_protocol::indicator::{
    AreaFigures, Direction, Indicator, Kind, Level, Periodicity, Revision, SeriesPoint,
};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::cards::change_text;
use crate::api::indicators::{revisions, series};
use crate::charts::draw::Frame;
use crate::charts::periods::{YearValues, year_chart, year_to_date};
use crate::city::use_city;
use crate::clock::{hcmc_day, hcmc_hour_minute};
use crate::i18n::{Lang, dec, use_lang};
use crate::indicators::{
    IndicatorBoard, area_name, flags, headline, indicator_name, period_and_report, period_short,
    progress_bar, status_name, tr, unit, value_text, value_with_unit,
};

const FRAME: Frame = Frame {
    width: 640.0,
    height: 260.0,
    left: 64.0,
    right: 16.0,
    top: 12.0,
    bottom: 28.0,
};

/// The detail of the indicator `code`.
#[component]
pub fn IndicatorDetail(
    /// The indicator's code.
    code: String,
) -> impl IntoView {
    let lang = use_lang();
    let data = expect_context::<IndicatorBoard>();
    let city = use_city();
    let points: RwSignal<Option<Vec<SeriesPoint>>> = RwSignal::new(None);
    let revs: RwSignal<Option<Vec<Revision>>> = RwSignal::new(None);
    let figures = {
        let code = code.clone();
        Memo::new(move |_| {
            data.board
                .with(|b| b.as_ref().and_then(|b| b.indicator(&code)).cloned())
        })
    };
    let indicator = {
        let code = code.clone();
        Memo::new(move |_| {
            data.catalogue
                .with(|c| c.as_ref().and_then(|c| c.indicator(&code)).cloned())
        })
    };
    // The headline area's series and its latest period's revisions, once the board names them.
    Effect::new(move |done: Option<bool>| {
        if done == Some(true) {
            return true;
        }
        let Some(head) = figures.get().as_ref().and_then(headline).cloned() else {
            return false;
        };
        let code = code.clone();
        spawn_local(async move {
            if let Ok(s) = series(&code, &head.area).await {
                points.try_set(Some(s.points));
            }
            if let Some(latest) = head.latest
                && let Ok(r) = revisions(&code, &head.area, latest.period).await
            {
                revs.try_set(Some(r.revisions));
            }
        });
        true
    });

    move || {
        let l = lang.get();
        let (Some(i), Some(f)) = (indicator.get(), figures.get()) else {
            return view! { <p class="none">{tr(l, "Đang tải…", "Loading…")}</p> }.into_any();
        };
        let head = headline(&f).cloned();
        let chart = points.with(|p| p.as_ref().map(|p| chart_view(l, &i, head.as_ref(), p)));
        let ranked = city.0.with(|m| ranks_view(l, &i, &f.areas, m.as_ref()));
        let revisions = revs.with(|r| r.as_ref().map(|r| revisions_view(l, &i, r)));
        view! {
            <section class="ind-detail" data-testid="ind-detail" data-indicator=i.code.clone()>
                <h3 class="ind-detail-name">{indicator_name(l, &i).to_owned()}</h3>
                <p class="ind-about">{about(l, &i)}</p>
                {head.map(|h| headline_view(l, &i, &h))}
                <div class="ind-detail-grid">
                    <div class="ind-chart-box">
                        <h4>{tr(l, "Diễn biến trong năm", "The year so far")}</h4>
                        {chart.unwrap_or_else(|| view! { <p class="none">{tr(l, "Đang tải…", "Loading…")}</p> }.into_any())}
                    </div>
                    <div class="ind-ranks-box">
                        <h4>{tr(l, "Xếp hạng", "Ranking")}</h4>
                        {ranked}
                    </div>
                </div>
                <div class="ind-revisions-box">
                    <h4>{tr(l, "Các lần báo cáo kỳ gần nhất", "Reports of the latest period")}</h4>
                    {revisions}
                </div>
            </section>
        }
        .into_any()
    }
}

/// "Quý · luỹ kế trong năm · càng cao càng tốt".
fn about(l: Lang, i: &Indicator) -> String {
    let per = match i.periodicity {
        Periodicity::Month => tr(l, "Hằng tháng", "Monthly"),
        Periodicity::Quarter => tr(l, "Hằng quý", "Quarterly"),
        Periodicity::Year => tr(l, "Hằng năm", "Yearly"),
    };
    let kind = match i.kind {
        Kind::Flow => tr(l, "cộng dồn trong năm", "summed over the year"),
        Kind::Level => tr(l, "mức, tỷ lệ", "a level or rate"),
    };
    let good = match i.good {
        Direction::Up => tr(l, "càng cao càng tốt", "higher is better"),
        Direction::Down => tr(l, "càng thấp càng tốt", "lower is better"),
    };
    format!(
        "{per} · {kind} · {good} · {}: {}",
        tr(l, "đơn vị", "unit"),
        unit(l, i)
    )
}

fn headline_view(l: Lang, i: &Indicator, h: &AreaFigures) -> AnyView {
    let value = h.latest.as_ref().map(|v| value_with_unit(l, v.value, i));
    let when = h
        .latest
        .as_ref()
        .map(|v| period_and_report(l, v.period, v.reported_ms));
    let target = h.target.map(|t| {
        format!(
            "{} {}",
            tr(l, "Chỉ tiêu năm:", "Year's target:"),
            value_with_unit(l, t, i)
        )
    });
    let ytd = h.ytd.as_ref().filter(|_| i.kind == Kind::Flow).map(|y| {
        format!(
            "{} {}",
            tr(l, "Lũy kế năm:", "Year to date:"),
            value_with_unit(l, y.sum, i)
        )
    });
    view! {
        <div class="ind-headline" data-testid="ind-headline">
            <div class="ind-card-value">{value}</div>
            <div class="ind-when">{when}</div>
            <div class="ind-facts">
                {ytd.map(|y| view! { <span>{y}</span> })}
                {target.map(|t| view! { <span data-testid="ind-target">{t}</span> })}
                {change_text(l, i, h).map(|c| view! { <span>{c}</span> })}
            </div>
            {progress_bar(l, h)}
            {flags(l, h)}
        </div>
    }
    .into_any()
}

/// One year's values by the period's place in it.
fn year_values(points: &[SeriesPoint], year: i32, per_year: usize) -> YearValues {
    let mut v = vec![None; per_year];
    for p in points.iter().filter(|p| p.period.year() == year) {
        if let Some(slot) = v.get_mut(usize::from(p.period.index_in_year()) - 1) {
            *slot = Some(p.value);
        }
    }
    v
}

fn chart_view(l: Lang, i: &Indicator, h: Option<&AreaFigures>, points: &[SeriesPoint]) -> AnyView {
    let Some(last) = points.last() else {
        return view! { <p class="none">{tr(l, "Chưa có số liệu", "No data yet")}</p> }.into_any();
    };
    let year = last.period.year();
    let per_year = usize::from(last.period.per_year());
    let (mut this_year, mut before) = (
        year_values(points, year, per_year),
        year_values(points, year - 1, per_year),
    );
    if i.kind == Kind::Flow {
        this_year = year_to_date(&this_year);
        before = year_to_date(&before);
    }
    // A yearly indicator: the last years side by side, not one point.
    let periods: Vec<String> = if per_year == 1 {
        let recent: Vec<&SeriesPoint> = points.iter().rev().take(8).rev().collect();
        this_year = recent.iter().map(|p| Some(p.value)).collect();
        before = Vec::new();
        recent.iter().map(|p| period_short(l, p.period)).collect()
    } else {
        last.period
            .periodicity()
            .periods_of(year)
            .map(|p| period_short(l, p))
            .collect()
    };
    let target = h.and_then(|h| h.target);
    let c = year_chart(&this_year, &before, target, FRAME);
    let ticks = c
        .axis
        .ticks
        .iter()
        .zip(&c.tick_ys)
        .map(|(t, y)| {
            view! {
                <line class="grid" x1=FRAME.x0() x2=FRAME.x1() y1=*y y2=*y></line>
                <text class="tick" x=FRAME.x0() - 6.0 y=*y + 4.0 text-anchor="end">{value_text(l, *t)}</text>
            }
        })
        .collect_view();
    let labels = c
        .xs
        .iter()
        .zip(periods)
        .map(|(x, p)| view! { <text class="tick" x=*x y=FRAME.height - 8.0 text-anchor="middle">{p}</text> })
        .collect_view();
    let target_line = c.target_y.map(|y| {
        view! { <line class="ind-target-line" data-testid="chart-target" x1=FRAME.x0() x2=FRAME.x1() y1=y y2=y></line> }
    });
    let legend_this = if i.kind == Kind::Flow {
        format!("{} {year}", tr(l, "Lũy kế", "Year to date"))
    } else {
        year.to_string()
    };
    view! {
        <svg class="ind-chart" data-testid="ind-chart" viewBox=format!("0 0 {} {}", FRAME.width, FRAME.height)>
            {ticks}
            {labels}
            {target_line}
            <path class="ind-line-before" d=c.year_before></path>
            <path class="ind-line-this" d=c.this_year></path>
        </svg>
        <div class="ind-legend">
            <span class="lg-this">{legend_this}</span>
            {(per_year > 1).then(|| view! { <span class="lg-before">{(year - 1).to_string()}</span> })}
            {target.map(|t| view! { <span class="lg-target">{format!("{} {}", tr(l, "Chỉ tiêu", "Target"), value_with_unit(l, t, i))}</span> })}
        </div>
    }
    .into_any()
}

fn ranks_view(
    l: Lang,
    i: &Indicator,
    areas: &[AreaFigures],
    map: Option<&ioc_protocol::map::CityMap>,
) -> AnyView {
    let mut ranked: Vec<&AreaFigures> = areas.iter().filter(|a| a.rank.is_some()).collect();
    if ranked.is_empty() {
        return view! { <p class="none">{tr(l, "Chỉ tiêu chỉ có số liệu toàn thành phố", "Reported for the whole city only")}</p> }.into_any();
    }
    ranked.sort_by_key(|a| (a.level != Level::District, a.rank.as_ref().map(|r| r.rank)));
    let rows = ranked
        .into_iter()
        .map(|a| {
            let r = a
                .rank
                .as_ref()
                .map(|r| format!("{}/{}", r.rank, r.of))
                .unwrap_or_default();
            let value = a
                .latest
                .as_ref()
                .map(|v| value_text(l, v.value))
                .unwrap_or_default();
            let when = a
                .latest
                .as_ref()
                .map(|v| period_and_report(l, v.period, v.reported_ms))
                .unwrap_or_default();
            let (class, status) = status_name(l, a.status());
            let flag = if a.is_flagged() { "⚑" } else { "" };
            view! {
                <tr data-area=a.area.clone()>
                    <td class="num">{r}</td>
                    <td>{area_name(l, map, &a.area)}</td>
                    <td class="num">{value}</td>
                    <td class="when">{when}</td>
                    <td class=class>{status}</td>
                    <td class="flag-cell">{flag}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="ind-ranks" data-testid="ind-ranks">
            <thead><tr>
                <th>{tr(l, "Hạng", "Rank")}</th>
                <th>{tr(l, "Địa bàn, đơn vị", "Area, unit")}</th>
                <th>{unit(l, i).to_owned()}</th>
                <th>{tr(l, "Kỳ · ngày báo cáo", "Period · reported")}</th>
                <th>{tr(l, "Tiến độ", "Progress")}</th>
                <th></th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

fn revisions_view(l: Lang, i: &Indicator, revs: &[Revision]) -> AnyView {
    if revs.is_empty() {
        return view! { <p class="none">{tr(l, "Chưa có báo cáo", "No report yet")}</p> }
            .into_any();
    }
    let rows = revs
        .iter()
        .rev()
        .map(|r| {
            let way = match r.way.as_str() {
                "mqtt" => "MQTT",
                "api" => "API",
                _ => tr(l, "Tệp nhập", "Spreadsheet"),
            };
            view! {
                <tr>
                    <td class="num">{value_with_unit(l, r.value, i)}</td>
                    <td>{format!("{} {}", hcmc_day(r.reported_ms), hcmc_hour_minute(r.reported_ms))}</td>
                    <td>{r.by.clone()}</td>
                    <td>{r.unit.clone()}</td>
                    <td>{way}</td>
                </tr>
            }
        })
        .collect_view();
    let count = format!(
        "{} {}",
        dec(l, revs.len() as f64, 0),
        tr(l, "lần báo cáo", "reports")
    );
    view! {
        <p class="ind-count">{count}</p>
        <table class="ind-revisions" data-testid="ind-revisions">
            <thead><tr>
                <th>{tr(l, "Giá trị", "Value")}</th>
                <th>{tr(l, "Thời điểm báo cáo", "Reported at")}</th>
                <th>{tr(l, "Người gửi", "Sent by")}</th>
                <th>{tr(l, "Đơn vị", "Unit")}</th>
                <th>{tr(l, "Cách gửi", "Way")}</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}
