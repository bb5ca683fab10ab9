//! One indicator: its headline figure (the city's), this year against the year before and
//! the year's target on a chart (a flow as its year-to-date sum), the districts and the
//! departments ranked, and every revision of the latest period with who sent it and when.
//! Written as markup ([`detail_html`]); its series and revisions are fetched by the page.

use ioc_protocol::indicator::{
    AreaFigures, Direction, Indicator, IndicatorFigures, Kind, Level, Periodicity, Revision,
    SeriesPoint,
};
use ioc_protocol::map::CityMap;

use super::cards::change_text;
use super::map_layer::map_html;
use crate::charts::draw::Frame;
use crate::charts::periods::{YearValues, year_chart, year_to_date};
use crate::clock::{hcmc_day, hcmc_hour_minute};
use crate::i18n::{Lang, int};
use crate::indicators::{
    area_name, esc, flags_html, headline, indicator_name, period_and_report, period_short,
    progress_html, status_name, tr, unit, value_text, value_with_unit,
};

const FRAME: Frame = Frame {
    width: 640.0,
    height: 260.0,
    left: 64.0,
    right: 16.0,
    top: 12.0,
    bottom: 28.0,
};

/// What the detail is drawn from: the series and the revisions are `None` until fetched.
#[derive(Debug, Clone, Copy)]
pub struct DetailData<'a> {
    pub indicator: &'a Indicator,
    pub figures: &'a IndicatorFigures,
    pub points: Option<&'a [SeriesPoint]>,
    pub revisions: Option<&'a [Revision]>,
    pub city: Option<&'a CityMap>,
}

fn loading(l: Lang) -> String {
    format!(r#"<p class="none">{}</p>"#, tr(l, "Đang tải…", "Loading…"))
}

/// The whole detail of one indicator.
pub fn detail_html(l: Lang, d: DetailData<'_>) -> String {
    let i = d.indicator;
    let head = headline(d.figures);
    format!(
        r#"<section class="ind-detail" data-testid="ind-detail" data-indicator="{code}"><h3 class="ind-detail-name">{name}</h3><p class="ind-about">{about}</p>{head}<div class="ind-detail-grid"><div class="ind-chart-box"><h4>{chart_t}</h4>{chart}</div><div class="ind-ranks-box"><h4>{ranks_t}</h4>{ranks}</div></div><div class="ind-detail-grid">{map}<div class="ind-revisions-box"><h4>{revs_t}</h4>{revs}</div></div></section>"#,
        code = esc(&i.code),
        name = esc(indicator_name(l, i)),
        about = esc(&about(l, i)),
        head = head.map(|h| headline_html(l, i, h)).unwrap_or_default(),
        chart_t = tr(l, "Diễn biến trong năm", "The year so far"),
        chart = d
            .points
            .map_or_else(|| loading(l), |p| chart_html(l, i, head, p)),
        ranks_t = tr(l, "Xếp hạng", "Ranking"),
        ranks = ranks_html(l, i, &d.figures.areas, d.city),
        map = map_html(l, i, &d.figures.areas, d.city),
        revs_t = tr(
            l,
            "Các lần báo cáo kỳ gần nhất",
            "Reports of the latest period"
        ),
        revs = d
            .revisions
            .map_or_else(|| loading(l), |r| revisions_html(l, i, r)),
    )
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

fn headline_html(l: Lang, i: &Indicator, h: &AreaFigures) -> String {
    let mut facts = String::new();
    if let Some(y) = h.ytd.as_ref().filter(|_| i.kind == Kind::Flow) {
        facts.push_str(&format!(
            "<span>{} {}</span>",
            tr(l, "Lũy kế năm:", "Year to date:"),
            esc(&value_with_unit(l, y.sum, i))
        ));
    }
    if let Some(t) = h.target {
        facts.push_str(&format!(
            r#"<span data-testid="ind-target">{} {}</span>"#,
            tr(l, "Chỉ tiêu năm:", "Year's target:"),
            esc(&value_with_unit(l, t, i))
        ));
    }
    if let Some(c) = change_text(l, i, h) {
        facts.push_str(&format!("<span>{}</span>", esc(&c)));
    }
    format!(
        r#"<div class="ind-headline" data-testid="ind-headline"><div class="ind-card-value">{value}</div><div class="ind-when">{when}</div><div class="ind-facts">{facts}</div>{progress}{flags}</div>"#,
        value = h
            .latest
            .as_ref()
            .map(|v| esc(&value_with_unit(l, v.value, i)))
            .unwrap_or_default(),
        when = h
            .latest
            .as_ref()
            .map(|v| period_and_report(l, v.period, v.reported_ms))
            .unwrap_or_default(),
        progress = progress_html(l, h),
        flags = flags_html(l, h),
    )
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

fn chart_html(l: Lang, i: &Indicator, h: Option<&AreaFigures>, points: &[SeriesPoint]) -> String {
    let Some(last) = points.last() else {
        return format!(
            r#"<p class="none">{}</p>"#,
            tr(l, "Chưa có số liệu", "No data yet")
        );
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
        let recent = &points[points.len().saturating_sub(8)..];
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
    let mut svg = format!(
        r#"<svg class="ind-chart" data-testid="ind-chart" viewBox="0 0 {} {}">"#,
        FRAME.width, FRAME.height
    );
    for (t, y) in c.axis.ticks.iter().zip(&c.tick_ys) {
        svg.push_str(&format!(
            r#"<line class="grid" x1="{x0}" x2="{x1}" y1="{y:.1}" y2="{y:.1}"></line><text class="tick" x="{tx}" y="{ty:.1}" text-anchor="end">{v}</text>"#,
            x0 = FRAME.x0(),
            x1 = FRAME.x1(),
            tx = FRAME.x0() - 6.0,
            ty = y + 4.0,
            v = value_text(l, *t),
        ));
    }
    for (x, p) in c.xs.iter().zip(periods) {
        svg.push_str(&format!(
            r#"<text class="tick" x="{x:.1}" y="{}" text-anchor="middle">{p}</text>"#,
            FRAME.height - 8.0
        ));
    }
    if let Some(y) = c.target_y {
        svg.push_str(&format!(
            r#"<line class="ind-target-line" data-testid="chart-target" x1="{}" x2="{}" y1="{y:.1}" y2="{y:.1}"></line>"#,
            FRAME.x0(),
            FRAME.x1()
        ));
    }
    svg.push_str(&format!(
        r#"<path class="ind-line-before" d="{}"></path><path class="ind-line-this" d="{}"></path></svg>"#,
        c.year_before, c.this_year
    ));
    let this_label = if i.kind == Kind::Flow {
        format!("{} {year}", tr(l, "Lũy kế", "Year to date"))
    } else {
        year.to_string()
    };
    svg.push_str(&format!(
        r#"<div class="ind-legend"><span class="lg-this">{this_label}</span>"#
    ));
    if per_year > 1 {
        svg.push_str(&format!(r#"<span class="lg-before">{}</span>"#, year - 1));
    }
    if let Some(t) = target {
        svg.push_str(&format!(
            r#"<span class="lg-target">{} {}</span>"#,
            tr(l, "Chỉ tiêu", "Target"),
            esc(&value_with_unit(l, t, i))
        ));
    }
    svg.push_str("</div>");
    svg
}

fn ranks_html(l: Lang, i: &Indicator, areas: &[AreaFigures], map: Option<&CityMap>) -> String {
    let mut ranked: Vec<&AreaFigures> = areas.iter().filter(|a| a.rank.is_some()).collect();
    if ranked.is_empty() {
        return format!(
            r#"<p class="none">{}</p>"#,
            tr(
                l,
                "Chỉ tiêu chỉ có số liệu toàn thành phố",
                "Reported for the whole city only"
            )
        );
    }
    ranked.sort_by_key(|a| (a.level != Level::District, a.rank.as_ref().map(|r| r.rank)));
    let mut out = format!(
        r#"<table class="ind-ranks" data-testid="ind-ranks"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr></thead><tbody>"#,
        tr(l, "Hạng", "Rank"),
        tr(l, "Địa bàn, đơn vị", "Area, unit"),
        esc(unit(l, i)),
        tr(l, "Kỳ · ngày báo cáo", "Period · reported"),
        tr(l, "Tiến độ", "Progress"),
    );
    for a in ranked {
        let (class, status) = status_name(l, a.status());
        out.push_str(&format!(
            r#"<tr data-area="{code}"><td class="num">{rank}</td><td>{name}</td><td class="num">{value}</td><td class="when">{when}</td><td class="{class}">{status}</td><td class="flag-cell">{flag}</td></tr>"#,
            code = esc(&a.area),
            rank = a.rank.as_ref().map(|r| format!("{}/{}", r.rank, r.of)).unwrap_or_default(),
            name = esc(&area_name(l, map, &a.area)),
            value = a.latest.as_ref().map(|v| value_text(l, v.value)).unwrap_or_default(),
            when = a.latest.as_ref().map(|v| period_and_report(l, v.period, v.reported_ms)).unwrap_or_default(),
            flag = if a.is_flagged() { "⚑" } else { "" },
        ));
    }
    out.push_str("</tbody></table>");
    out
}

fn revisions_html(l: Lang, i: &Indicator, revs: &[Revision]) -> String {
    if revs.is_empty() {
        return format!(
            r#"<p class="none">{}</p>"#,
            tr(l, "Chưa có báo cáo", "No report yet")
        );
    }
    let mut out = format!(
        r#"<p class="ind-count">{} {}</p><table class="ind-revisions" data-testid="ind-revisions"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
        int(l, revs.len() as u64),
        if revs.len() == 1 {
            tr(l, "lần báo cáo", "report")
        } else {
            tr(l, "lần báo cáo", "reports")
        },
        tr(l, "Giá trị", "Value"),
        tr(l, "Thời điểm báo cáo", "Reported at"),
        tr(l, "Người gửi", "Sent by"),
        tr(l, "Đơn vị", "Unit"),
        tr(l, "Cách gửi", "Way"),
    );
    for r in revs.iter().rev() {
        let way = match r.way.as_str() {
            "mqtt" => "MQTT",
            "api" => "API",
            _ => tr(l, "Tệp nhập", "Spreadsheet"),
        };
        out.push_str(&format!(
            r#"<tr><td class="num">{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{way}</td></tr>"#,
            esc(&value_with_unit(l, r.value, i)),
            hcmc_day(r.reported_ms),
            hcmc_hour_minute(r.reported_ms),
            esc(&r.by),
            esc(&r.unit),
        ));
    }
    out.push_str("</tbody></table>");
    out
}
