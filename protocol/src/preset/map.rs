//! The preset as the screens draw it: [`Preset::city_map`] builds `GET /api/v1/city`.

use std::fmt::Write as _;

use super::{AreaKind, Boundaries, Preset};
use crate::map::{AreaShape, CityMap, MapArea, Named, Outline};

/// The outline's width in SVG units; its height follows the city's shape.
const OUTLINE_WIDTH: f64 = 1000.0;
/// Douglas-Peucker tolerance for the outline, degrees (about 55 m): the whole city on one
/// screen needs no finer line, and the answer stays small (tens of KB).
const OUTLINE_TOLERANCE_DEG: f64 = 0.0005;

impl Preset {
    /// Names, the tile grid and (with boundaries) the areas' outlines, projected.
    pub fn city_map(&self) -> CityMap {
        let named = |id: &str, area: Option<&str>, vi: &str, en: &str| Named {
            id: id.to_owned(),
            area: area.map(str::to_owned),
            name_vi: vi.to_owned(),
            name_en: en.to_owned(),
        };
        CityMap {
            code: self.code.clone(),
            name_vi: self.name_vi.clone(),
            name_en: self.name_en.clone(),
            grid_rows: self.grid.rows,
            grid_cols: self.grid.cols,
            areas: self
                .areas
                .iter()
                .map(|a| MapArea {
                    code: a.code.clone(),
                    name_vi: a.name_vi.clone(),
                    name_en: a.name_en.clone(),
                    kind: match a.kind {
                        AreaKind::City => "city",
                        AreaKind::Urban => "urban",
                        AreaKind::Rural => "rural",
                    }
                    .to_owned(),
                    population: a.population,
                    row: a.grid.row,
                    col: a.grid.col,
                })
                .collect(),
            outline: self.boundaries.as_ref().and_then(|b| self.outline(b)),
            corridors: self
                .corridors
                .iter()
                .map(|c| named(&c.id, Some(&c.area), &c.name_vi, &c.name_en))
                .collect(),
            stations: self
                .air_stations
                .iter()
                .map(|s| named(&s.id, Some(&s.area), &s.name_vi, &s.name_en))
                .collect(),
            gauges: self
                .flood_gauges
                .iter()
                .map(|g| {
                    named(
                        &g.id,
                        Some(&g.area),
                        &format!("{} · {}", g.name_vi, g.water_body_vi),
                        &format!("{} · {}", g.name_en, g.water_body_en),
                    )
                })
                .collect(),
            agencies: self
                .agencies
                .iter()
                .map(|a| named(&a.code, a.area.as_deref(), &a.name_vi, &a.name_en))
                .collect(),
            platforms: self
                .platforms
                .iter()
                .map(|p| named(&p.id, None, &p.name_vi, &p.name_en))
                .collect(),
        }
    }

    /// The areas' outlines, simplified and projected (equirectangular, scaled by the cosine of
    /// the middle latitude so that a kilometre is as long east as north).
    fn outline(&self, boundaries: &Boundaries) -> Option<Outline> {
        let b = boundaries.simplified(OUTLINE_TOLERANCE_DEG);
        let bbox = b.bbox()?;
        let k = ((bbox.min_lat + bbox.max_lat) / 2.0).to_radians().cos();
        let span_x = (bbox.max_lon - bbox.min_lon) * k;
        let span_y = bbox.max_lat - bbox.min_lat;
        if !(span_x > 0.0 && span_y > 0.0) {
            return None;
        }
        let scale = OUTLINE_WIDTH / span_x;
        let x = |lon: f64| (lon - bbox.min_lon) * k * scale;
        let y = |lat: f64| (bbox.max_lat - lat) * scale;
        let areas = b
            .areas
            .iter()
            .map(|ab| {
                let mut d = String::new();
                let rings = ab
                    .polygons
                    .iter()
                    .flat_map(|p| std::iter::once(&p.exterior).chain(p.holes.iter()));
                for ring in rings {
                    // The closing position repeats the first: `Z` draws that edge.
                    let open = &ring[..ring.len().saturating_sub(1)];
                    for (i, [lon, lat]) in open.iter().enumerate() {
                        let cmd = if i == 0 { 'M' } else { 'L' };
                        let _ = write!(d, "{cmd}{:.1} {:.1}", x(*lon), y(*lat));
                    }
                    d.push('Z');
                }
                // The label at the preset's centroid when it lies in the area's box (it is
                // placed by hand), else at the outline's own centre of mass.
                let c = self
                    .area(&ab.area)
                    .map(|a| a.centroid)
                    .filter(|c| ab.bbox().contains([c.lon, c.lat]))
                    .unwrap_or_else(|| ab.centroid());
                AreaShape {
                    area: ab.area.clone(),
                    d,
                    label_x: (x(c.lon) * 10.0).round() / 10.0,
                    label_y: (y(c.lat) * 10.0).round() / 10.0,
                    area_km2: (ab.area_km2() * 10.0).round() / 10.0,
                }
            })
            .collect();
        Some(Outline {
            width: OUTLINE_WIDTH,
            height: (span_y * scale * 10.0).round() / 10.0,
            areas,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_grid_come_from_the_preset() {
        let p = Preset::built_in();
        let m = p.city_map();
        assert_eq!(m.areas.len(), 22);
        assert_eq!((m.grid_rows, m.grid_cols), (6, 7));
        assert!(
            m.outline.is_none(),
            "the built-in preset names no boundary file"
        );
        let q1 = m.areas.iter().find(|a| a.code == "q1").unwrap();
        assert_eq!(q1.name_vi, "Quận 1");
        assert_eq!(m.corridors.len(), p.corridors.len());
        assert_eq!(m.platforms.len(), 4);
        let g = &m.gauges[0];
        assert!(g.name_vi.contains(&p.flood_gauges[0].water_body_vi));
        assert_eq!(
            CityMap::name(&m.platforms, "tong-dai-1022", true),
            p.platforms
                .iter()
                .find(|x| x.id == "tong-dai-1022")
                .unwrap()
                .name_vi
        );
        assert_eq!(CityMap::name(&m.platforms, "nope", true), "nope");
    }
}
