//! Area boundaries from a GeoJSON file, for drawing the city.
//!
//! Boundary files come from elsewhere and are not made for the preset: their features are
//! matched to areas by name (a `localname`, `name_vi` or `name` property; the Vietnamese name,
//! the English name or an alias of the area, compared after [`normalize_name`]), never by `id`.
//! Several features may make one area: Thành phố Thủ Đức is Quận 2, Quận 9 and the old Quận
//! Thủ Đức in a map drawn before 2021. A feature inside another one of the same area (a file
//! that draws the new city and its old districts again) is dropped, not drawn twice.
//!
//! What does not match is reported, not fatal: [`Boundaries::unmatched`] lists the features no
//! area claims and [`Boundaries::missing`] the areas no feature drew. A file that is not a
//! FeatureCollection, or has a polygon with broken coordinates, is an error.
//!
//! Coordinates stay longitude/latitude degrees (WGS 84), as GeoJSON has them: `[lon, lat]`.
//! [`Boundaries::simplified`] thins them (Douglas-Peucker) for a map of the whole city.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{LatLon, Preset, normalize_name};

/// The properties that may carry a feature's name, in the order they are tried.
pub const NAME_PROPERTIES: [&str; 3] = ["localname", "name_vi", "name"];

/// A point `[lon, lat]` lies within a polygon when it is inside it or this close to its edge:
/// two drawings of one border differ by some metres (about 55 m).
const CONTAINED_TOLERANCE_DEG: f64 = 0.0005;

/// A position, `[longitude, latitude]` in degrees.
pub type Position = [f64; 2];

/// The boundaries of a preset's areas, as read from one GeoJSON file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Boundaries {
    /// The areas that have a boundary, in the preset's order.
    pub areas: Vec<AreaBoundary>,
    /// Features that no area claims, in file order.
    pub unmatched: Vec<UnmatchedFeature>,
    /// Codes of the areas no feature drew, in the preset's order.
    pub missing: Vec<String>,
}

/// The boundary of one area: the polygons of every feature that matched it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AreaBoundary {
    /// The area's code.
    pub area: String,
    /// The names of the features merged into it, in file order.
    pub features: Vec<String>,
    pub polygons: Vec<Polygon>,
    /// Polygons dropped because they lay within another polygon of the area.
    pub contained_dropped: usize,
}

/// A polygon: an exterior ring and its holes, each closed (last position = first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Polygon {
    pub exterior: Vec<Position>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holes: Vec<Vec<Position>>,
}

/// A bounding box in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BBox {
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
}

/// A feature no area claims, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnmatchedFeature {
    /// Its index in the file's `features`.
    pub index: usize,
    /// Its name, when it has one.
    pub name: Option<String>,
    pub reason: UnmatchedReason,
}

/// Why a feature was left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnmatchedReason {
    /// None of [`NAME_PROPERTIES`] is a string.
    NoName,
    /// The name is no area's name or alias.
    UnknownName,
    /// Its geometry is not a Polygon or a MultiPolygon (the type, or `null`).
    NotPolygonal(String),
}

/// A boundary file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BoundaryError {
    #[error("cannot read it: {0}")]
    Read(std::io::Error),
    #[error("not JSON: {0}")]
    Json(serde_json::Error),
    #[error("not a GeoJSON FeatureCollection: {0}")]
    Shape(String),
    #[error("feature {index}{}: {message}", name.as_ref().map(|n| format!(" ({n})")).unwrap_or_default())]
    Geometry {
        index: usize,
        name: Option<String>,
        message: String,
    },
}

impl Boundaries {
    /// Reads a GeoJSON FeatureCollection and gives each area of `preset` the polygons of the
    /// features named after it.
    pub fn from_geojson(text: &str, preset: &Preset) -> Result<Boundaries, BoundaryError> {
        let doc: Value = serde_json::from_str(text).map_err(BoundaryError::Json)?;
        if doc.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
            return Err(BoundaryError::Shape(
                "its `type` is not \"FeatureCollection\"".into(),
            ));
        }
        let features = doc
            .get("features")
            .and_then(Value::as_array)
            .ok_or_else(|| BoundaryError::Shape("it has no `features` array".into()))?;

        let mut by_name: HashMap<String, usize> = HashMap::new();
        for (i, area) in preset.areas.iter().enumerate() {
            for name in area.names() {
                by_name.entry(normalize_name(name)).or_insert(i);
            }
        }
        let mut found: Vec<Option<AreaBoundary>> = vec![None; preset.areas.len()];
        let mut unmatched = Vec::new();
        for (index, feature) in features.iter().enumerate() {
            let name = NAME_PROPERTIES.iter().find_map(|p| {
                feature
                    .get("properties")
                    .and_then(|props| props.get(p))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            });
            let leave_out = |reason| UnmatchedFeature {
                index,
                name: name.clone(),
                reason,
            };
            let Some(area) = name.as_ref().and_then(|n| by_name.get(&normalize_name(n))) else {
                let reason = match name {
                    Some(_) => UnmatchedReason::UnknownName,
                    None => UnmatchedReason::NoName,
                };
                unmatched.push(leave_out(reason));
                continue;
            };
            let geometry = feature.get("geometry").unwrap_or(&Value::Null);
            let kind = geometry
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("null");
            let coordinates = geometry.get("coordinates").unwrap_or(&Value::Null);
            let bad = |message: String| BoundaryError::Geometry {
                index,
                name: name.clone(),
                message,
            };
            let polygons = match kind {
                "Polygon" => vec![polygon(coordinates).map_err(bad)?],
                "MultiPolygon" => coordinates
                    .as_array()
                    .ok_or_else(|| bad("MultiPolygon coordinates are not an array".into()))?
                    .iter()
                    .map(polygon)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(bad)?,
                other => {
                    unmatched.push(leave_out(UnmatchedReason::NotPolygonal(other.to_owned())));
                    continue;
                }
            };
            let entry = found[*area].get_or_insert_with(|| AreaBoundary {
                area: preset.areas[*area].code.clone(),
                features: Vec::new(),
                polygons: Vec::new(),
                contained_dropped: 0,
            });
            entry.features.extend(name);
            entry.polygons.extend(polygons);
        }

        let mut areas = Vec::new();
        let mut missing = Vec::new();
        for (area, boundary) in preset.areas.iter().zip(found) {
            match boundary {
                Some(mut b) => {
                    b.drop_contained();
                    areas.push(b);
                }
                None => missing.push(area.code.clone()),
            }
        }
        Ok(Boundaries {
            areas,
            unmatched,
            missing,
        })
    }

    /// The boundary of an area.
    pub fn get(&self, area: &str) -> Option<&AreaBoundary> {
        self.areas.iter().find(|b| b.area == area)
    }

    /// The box around every area; `None` when no area has a boundary.
    pub fn bbox(&self) -> Option<BBox> {
        self.areas
            .iter()
            .map(AreaBoundary::bbox)
            .reduce(BBox::union)
    }

    /// Every area's boundary simplified with [`AreaBoundary::simplified`].
    pub fn simplified(&self, tolerance_deg: f64) -> Boundaries {
        Boundaries {
            areas: self
                .areas
                .iter()
                .map(|b| b.simplified(tolerance_deg))
                .collect(),
            unmatched: self.unmatched.clone(),
            missing: self.missing.clone(),
        }
    }

    /// Positions in all rings of all areas.
    pub fn point_count(&self) -> usize {
        self.areas.iter().map(AreaBoundary::point_count).sum()
    }
}

impl AreaBoundary {
    /// The box around the area's polygons.
    pub fn bbox(&self) -> BBox {
        self.polygons
            .iter()
            .flat_map(|p| p.exterior.iter())
            .fold(BBox::EMPTY, |b, &p| b.extend(p))
    }

    /// The centre of mass of the area's polygons (holes taken out), in degrees taken as plane
    /// coordinates: close enough at the scale of a city.
    pub fn centroid(&self) -> LatLon {
        let (mut area, mut x, mut y) = (0.0, 0.0, 0.0);
        for p in &self.polygons {
            let rings =
                std::iter::once((&p.exterior, 1.0)).chain(p.holes.iter().map(|h| (h, -1.0)));
            for (ring, sign) in rings {
                let (a, cx, cy) = ring_moments(ring);
                area += sign * a;
                x += sign * cx;
                y += sign * cy;
            }
        }
        if area > 0.0 {
            LatLon {
                lat: y / area,
                lon: x / area,
            }
        } else {
            let b = self.bbox();
            LatLon {
                lat: (b.min_lat + b.max_lat) / 2.0,
                lon: (b.min_lon + b.max_lon) / 2.0,
            }
        }
    }

    /// The area in square kilometres (a local equirectangular approximation).
    pub fn area_km2(&self) -> f64 {
        const KM_PER_DEG: f64 = 111.32;
        let lat = self.centroid().lat.to_radians();
        let deg2: f64 = self
            .polygons
            .iter()
            .map(|p| {
                ring_moments(&p.exterior).0 - p.holes.iter().map(|h| ring_moments(h).0).sum::<f64>()
            })
            .sum();
        deg2 * KM_PER_DEG * KM_PER_DEG * lat.cos()
    }

    /// Positions in all rings.
    pub fn point_count(&self) -> usize {
        self.polygons
            .iter()
            .map(|p| p.exterior.len() + p.holes.iter().map(Vec::len).sum::<usize>())
            .sum()
    }

    /// The boundary with every ring simplified by Douglas-Peucker: no position of the original
    /// ring is farther than `tolerance_deg` degrees from the simplified one. Positions are then
    /// rounded to a tenth of the tolerance, so that they print short. Rings that shrink below a
    /// triangle (islets, small holes) are dropped; the area keeps at least its largest polygon.
    pub fn simplified(&self, tolerance_deg: f64) -> AreaBoundary {
        if !(tolerance_deg.is_finite() && tolerance_deg > 0.0) {
            return self.clone();
        }
        let decimals = (-(tolerance_deg / 10.0).log10()).ceil().clamp(0.0, 9.0) as i32;
        let simplify = |ring: &[Position]| -> Option<Vec<Position>> {
            let ring = round_ring(&simplify_ring(ring, tolerance_deg), decimals);
            (ring.len() >= 4).then_some(ring)
        };
        let mut polygons: Vec<Polygon> = self
            .polygons
            .iter()
            .filter_map(|p| {
                Some(Polygon {
                    exterior: simplify(&p.exterior)?,
                    holes: p.holes.iter().filter_map(|h| simplify(h)).collect(),
                })
            })
            .collect();
        if polygons.is_empty()
            && let Some(largest) = self.polygons.iter().max_by(|a, b| {
                ring_moments(&a.exterior)
                    .0
                    .total_cmp(&ring_moments(&b.exterior).0)
            })
        {
            polygons.push(Polygon {
                exterior: round_ring(&largest.exterior, decimals),
                holes: Vec::new(),
            });
        }
        AreaBoundary {
            area: self.area.clone(),
            features: self.features.clone(),
            polygons,
            contained_dropped: self.contained_dropped,
        }
    }

    /// Drops each polygon that lies within a larger polygon of the area.
    fn drop_contained(&mut self) {
        if self.polygons.len() < 2 {
            return;
        }
        let sizes: Vec<f64> = self
            .polygons
            .iter()
            .map(|p| ring_moments(&p.exterior).0)
            .collect();
        let inside: Vec<bool> = (0..self.polygons.len())
            .map(|i| {
                (0..self.polygons.len()).any(|j| {
                    j != i
                        && (sizes[j], j) > (sizes[i], i)
                        && self.polygons[j].covers_ring(&self.polygons[i].exterior)
                })
            })
            .collect();
        let before = self.polygons.len();
        let mut keep = inside.iter().map(|&i| !i);
        self.polygons.retain(|_| keep.next().unwrap_or(true));
        self.contained_dropped += before - self.polygons.len();
    }
}

impl Polygon {
    /// Whether every position of `ring` is within the polygon (or near its edge).
    fn covers_ring(&self, ring: &[Position]) -> bool {
        let outer = ring_bbox(&self.exterior).grow(CONTAINED_TOLERANCE_DEG);
        ring.iter().all(|&p| outer.contains(p)) && ring.iter().all(|&p| self.covers(p))
    }

    fn covers(&self, p: Position) -> bool {
        let near = |ring: &[Position]| distance_to_ring(p, ring) <= CONTAINED_TOLERANCE_DEG;
        (inside_ring(p, &self.exterior) || near(&self.exterior))
            && !self.holes.iter().any(|h| inside_ring(p, h) && !near(h))
    }
}

impl BBox {
    /// The box around nothing: extending it by a position gives that position's box.
    pub const EMPTY: BBox = BBox {
        min_lon: f64::INFINITY,
        min_lat: f64::INFINITY,
        max_lon: f64::NEG_INFINITY,
        max_lat: f64::NEG_INFINITY,
    };

    pub fn extend(self, [lon, lat]: Position) -> BBox {
        BBox {
            min_lon: self.min_lon.min(lon),
            min_lat: self.min_lat.min(lat),
            max_lon: self.max_lon.max(lon),
            max_lat: self.max_lat.max(lat),
        }
    }

    pub fn union(self, other: BBox) -> BBox {
        BBox {
            min_lon: self.min_lon.min(other.min_lon),
            min_lat: self.min_lat.min(other.min_lat),
            max_lon: self.max_lon.max(other.max_lon),
            max_lat: self.max_lat.max(other.max_lat),
        }
    }

    pub fn contains(&self, [lon, lat]: Position) -> bool {
        (self.min_lon..=self.max_lon).contains(&lon) && (self.min_lat..=self.max_lat).contains(&lat)
    }

    fn grow(self, by: f64) -> BBox {
        BBox {
            min_lon: self.min_lon - by,
            min_lat: self.min_lat - by,
            max_lon: self.max_lon + by,
            max_lat: self.max_lat + by,
        }
    }
}

/// A GeoJSON polygon's coordinates: an array of rings, the first the exterior.
fn polygon(coordinates: &Value) -> Result<Polygon, String> {
    let rings = coordinates
        .as_array()
        .ok_or("polygon coordinates are not an array of rings")?;
    let mut rings = rings.iter().map(ring);
    let exterior = rings.next().ok_or("a polygon with no ring")??;
    Ok(Polygon {
        exterior,
        holes: rings.collect::<Result<_, _>>()?,
    })
}

/// A ring of at least four positions, closed (a ring left open is closed here).
fn ring(value: &Value) -> Result<Vec<Position>, String> {
    let positions = value.as_array().ok_or("a ring is not an array")?;
    let mut ring = positions
        .iter()
        .map(|p| {
            let lon = p.get(0).and_then(Value::as_f64);
            let lat = p.get(1).and_then(Value::as_f64);
            match (lon, lat) {
                (Some(lon), Some(lat))
                    if (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat) =>
                {
                    Ok([lon, lat])
                }
                _ => Err(format!("{p} is not a [longitude, latitude] position")),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    if ring.first() != ring.last() {
        ring.push(ring[0]);
    }
    if ring.len() < 4 {
        return Err(format!(
            "a ring of {} positions (a closed ring has at least 4)",
            positions.len()
        ));
    }
    Ok(ring)
}

/// The absolute area of a closed ring and its first moments (for the centroid), by the
/// shoelace formula, whichever way the ring turns.
fn ring_moments(ring: &[Position]) -> (f64, f64, f64) {
    let (mut a, mut x, mut y) = (0.0, 0.0, 0.0);
    // Relative to the first position, for precision.
    let [ox, oy] = ring.first().copied().unwrap_or([0.0, 0.0]);
    for w in ring.windows(2) {
        let (x0, y0, x1, y1) = (w[0][0] - ox, w[0][1] - oy, w[1][0] - ox, w[1][1] - oy);
        let cross = x0 * y1 - x1 * y0;
        a += cross;
        x += (x0 + x1) * cross;
        y += (y0 + y1) * cross;
    }
    let area = a.abs() / 2.0;
    // Centroid of the ring = (x / 6, y / 6) / (a / 2); the moments are area × centroid.
    let (cx, cy) = if a == 0.0 {
        (0.0, 0.0)
    } else {
        (x / (3.0 * a), y / (3.0 * a))
    };
    (area, area * (cx + ox), area * (cy + oy))
}

fn ring_bbox(ring: &[Position]) -> BBox {
    ring.iter().fold(BBox::EMPTY, |b, &p| b.extend(p))
}

/// Even-odd rule.
fn inside_ring([x, y]: Position, ring: &[Position]) -> bool {
    let mut inside = false;
    for w in ring.windows(2) {
        let ([x0, y0], [x1, y1]) = (w[0], w[1]);
        if (y0 > y) != (y1 > y) && x < x0 + (y - y0) * (x1 - x0) / (y1 - y0) {
            inside = !inside;
        }
    }
    inside
}

fn distance_to_ring(p: Position, ring: &[Position]) -> f64 {
    ring.windows(2)
        .map(|w| distance_to_segment(p, w[0], w[1]))
        .fold(f64::INFINITY, f64::min)
}

fn distance_to_segment([px, py]: Position, [ax, ay]: Position, [bx, by]: Position) -> f64 {
    let (dx, dy) = (bx - ax, by - ay);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (((px - ax) * dx + (py - ay) * dy) / len2).clamp(0.0, 1.0)
    };
    (px - ax - t * dx).hypot(py - ay - t * dy)
}

/// Douglas-Peucker on a closed ring: split at the position farthest from the first, so that
/// neither half is a loop, and simplify each half.
fn simplify_ring(ring: &[Position], tolerance: f64) -> Vec<Position> {
    if ring.len() <= 4 {
        return ring.to_vec();
    }
    let first = ring[0];
    let far = (1..ring.len() - 1)
        .max_by(|&a, &b| {
            let d = |i: usize| (ring[i][0] - first[0]).hypot(ring[i][1] - first[1]);
            d(a).total_cmp(&d(b))
        })
        .unwrap_or(1);
    let mut keep = vec![false; ring.len()];
    keep[0] = true;
    keep[far] = true;
    keep[ring.len() - 1] = true;
    douglas_peucker(ring, 0, far, tolerance, &mut keep);
    douglas_peucker(ring, far, ring.len() - 1, tolerance, &mut keep);
    ring.iter()
        .zip(keep)
        .filter_map(|(p, k)| k.then_some(*p))
        .collect()
}

/// Marks the positions between `first` and `last` to keep (iteratively: rings can be long).
fn douglas_peucker(
    points: &[Position],
    first: usize,
    last: usize,
    tolerance: f64,
    keep: &mut [bool],
) {
    let mut stack = vec![(first, last)];
    while let Some((a, b)) = stack.pop() {
        if b <= a + 1 {
            continue;
        }
        let (i, d) = (a + 1..b)
            .map(|i| (i, distance_to_segment(points[i], points[a], points[b])))
            .max_by(|x, y| x.1.total_cmp(&y.1))
            .expect("a position between a and b");
        if d > tolerance {
            keep[i] = true;
            stack.push((a, i));
            stack.push((i, b));
        }
    }
}

/// Rounds positions and drops the repeats that rounding makes.
fn round_ring(ring: &[Position], decimals: i32) -> Vec<Position> {
    let scale = 10f64.powi(decimals);
    let round = |v: f64| (v * scale).round() / scale;
    let mut out: Vec<Position> = Vec::with_capacity(ring.len());
    for &[lon, lat] in ring {
        let p = [round(lon), round(lat)];
        if out.last() != Some(&p) {
            out.push(p);
        }
    }
    out
}
