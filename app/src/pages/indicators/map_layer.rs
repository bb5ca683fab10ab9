//! An indicator's map layer on its detail: every district coloured by its progress status
//! against its own target (on track, at risk, behind; grey without a status or a value),
//! with its value and the period it belongs to in the area's tooltip, and the legend. Drawn
//! on the areas' real outlines when the city's preset has them, else on the tile grid, as
//! the console's map is. Markup, like the rest of the detail.

use ioc_protocol::indicator::{AreaFigures, Indicator, Status};
use ioc_protocol::map::CityMap;

use crate::i18n::Lang;
use crate::indicators::{area_name, esc, period_and_report, status_name, tr, value_with_unit};

/// The map of `areas`' statuses; empty when the city's map is not there yet or no district
/// reports the indicator.
pub fn map_html(l: Lang, i: &Indicator, areas: &[AreaFigures], city: Option<&CityMap>) -> String {
    let Some(city) = city else {
        return String::new();
    };
    if !areas
        .iter()
        .any(|a| city.areas.iter().any(|m| m.code == a.area))
    {
        return String::new();
    }
    // One shape per area of the city's map: its status's class, its tooltip.
    let shape = |code: &str| -> (&'static str, String) {
        let figures = areas.iter().find(|a| a.area == code);
        let status = figures.and_then(|a| a.latest.as_ref().and(a.status()));
        let (class, status_text) = status_name(l, status);
        let mut tip = area_name(l, Some(city), code);
        match figures.and_then(|a| a.latest.as_ref()) {
            Some(v) => tip.push_str(&format!(
                "\n{}\n{}\n{status_text}",
                value_with_unit(l, v.value, i),
                period_and_report(l, v.period, v.reported_ms)
            )),
            None => tip.push_str(&format!("\n{}", tr(l, "Không báo cáo", "Not reported"))),
        }
        (class, esc(&tip))
    };
    let mut svg = String::new();
    match &city.outline {
        Some(outline) => {
            svg.push_str(&format!(
                r#"<svg class="ind-map" viewBox="0 0 {w} {h}" role="img">"#,
                w = outline.width,
                h = outline.height
            ));
            for a in &outline.areas {
                let (class, tip) = shape(&a.area);
                svg.push_str(&format!(
                    r#"<path class="{class}" data-area="{code}" d="{d}" fill-rule="evenodd"><title>{tip}</title></path>"#,
                    code = esc(&a.area),
                    d = esc(&a.d),
                ));
            }
        }
        None => {
            let cell = 40;
            svg.push_str(&format!(
                r#"<svg class="ind-map" viewBox="0 0 {w} {h}" role="img">"#,
                w = u32::from(city.grid_cols) * cell,
                h = u32::from(city.grid_rows) * cell
            ));
            for a in &city.areas {
                let (class, tip) = shape(&a.code);
                svg.push_str(&format!(
                    r#"<rect class="{class}" data-area="{code}" x="{x}" y="{y}" width="{s}" height="{s}" rx="4"><title>{tip}</title></rect>"#,
                    code = esc(&a.code),
                    x = u32::from(a.col) * cell + 2,
                    y = u32::from(a.row) * cell + 2,
                    s = cell - 4,
                ));
            }
        }
    }
    svg.push_str("</svg>");
    let legend: String = [
        Some(Status::OnTrack),
        Some(Status::AtRisk),
        Some(Status::Behind),
        None,
    ]
    .into_iter()
    .map(|s| {
        let (class, name) = status_name(l, s);
        format!(r#"<span class="{class}"><i></i>{name}</span>"#)
    })
    .collect();
    format!(
        r#"<div class="ind-map-box" data-testid="ind-map"><h4>{title}</h4>{svg}<p class="ind-map-legend">{legend}</p></div>"#,
        title = tr(l, "Bản đồ tiến độ theo địa bàn", "Progress by district"),
    )
}
