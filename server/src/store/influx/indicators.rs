//! The indicator revisions in InfluxDB: measurement `indicator`, one point per revision.
//!
//! - Tags: `indicator`, `area`, `period` (`2026-10`, `2026-Q3`, `2026`) and `unit` (the unit
//!   whose figure it is): one series per value reported, a few thousand a year for the whole
//!   catalogue.
//! - Fields: `value` (float), `reported_ms` (integer, when the sender reported it), `by` and
//!   `way` (strings: who sent it, and `mqtt`, `api` or `import`).
//! - Time: when the server received it, in ms, plus the revision's place in its submission in
//!   nanoseconds: every revision is a point of its own (a later one never overwrites an earlier
//!   one, even within the same millisecond), and the points of a series in time order are its
//!   revisions in the order received. The latest counts.
//!
//! Read back with Flux: the points of an indicator and area (and period), pivoted into one
//! row per revision, in time order.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use influxdb2::api::query::FluxRecord;
use influxdb2::api::write::TimestampPrecision;
use influxdb2_structmap::value::Value as FluxValue;
use ioc_protocol::indicator::{Period, Revision, SeriesPoint, Way, latest_by_period};

use super::InfluxStore;
use super::flux::flux_str;
use super::line_protocol::{Fields, push_key, push_measurement};
use crate::store::StoreError;

/// The measurement of indicator revisions.
pub(super) const MEASUREMENT: &str = "indicator";

/// The revisions as line protocol, received at `received_ms` each plus its place in the list
/// in nanoseconds.
pub(super) fn revision_lines(revisions: &[Revision]) -> Result<String, String> {
    let mut out = String::with_capacity(revisions.len() * 160);
    for (i, r) in revisions.iter().enumerate() {
        push_measurement(&mut out, MEASUREMENT);
        for (tag, value) in [
            ("area", r.area.as_str()),
            ("indicator", r.indicator.as_str()),
            ("period", &r.period.to_string()),
            ("unit", r.unit.as_str()),
        ] {
            out.push(',');
            out.push_str(tag);
            out.push('=');
            push_key(&mut out, value)
                .ok_or_else(|| format!("{tag} {value:?} cannot be written in line protocol"))?;
        }
        out.push(' ');
        let mut fields = Fields {
            out: &mut out,
            first: true,
        };
        fields
            .known("value")
            .float(r.value)
            .ok_or_else(|| format!("the value of {} is not finite", r.indicator))?;
        fields.known("reported_ms").int(r.reported_ms);
        fields.known("by").string(&r.by);
        fields.known("way").string(r.way.as_str());
        let ns = r
            .received_ms
            .checked_mul(1_000_000)
            .and_then(|ns| ns.checked_add(i64::try_from(i).ok()?))
            .ok_or_else(|| format!("received_ms {} is out of range", r.received_ms))?;
        let _ = writeln!(out, " {ns}");
    }
    Ok(out)
}

/// The Flux of the revisions of an indicator and area (of one period, if given), or of every
/// indicator and area (`None`): one row per revision, in the order received.
pub(super) fn revisions_flux(
    bucket: &str,
    key: Option<(&str, &str)>,
    period: Option<Period>,
) -> String {
    let mut filter = format!("r._measurement == {}", flux_str(MEASUREMENT));
    if let Some((indicator, area)) = key {
        let _ = write!(
            filter,
            " and r.indicator == {} and r.area == {}",
            flux_str(indicator),
            flux_str(area)
        );
    }
    if let Some(p) = period {
        let _ = write!(filter, " and r.period == {}", flux_str(&p.to_string()));
    }
    format!(
        "from(bucket: {})\n    \
         |> range(start: 0)\n    \
         |> filter(fn: (r) => {filter})\n    \
         |> pivot(rowKey: [\"_time\"], columnKey: [\"_field\"], valueColumn: \"_value\")\n    \
         |> group()\n    \
         |> sort(columns: [\"_time\"])\n",
        flux_str(bucket)
    )
}

fn text<'a>(record: &'a FluxRecord, column: &str) -> Option<&'a str> {
    match record.values.get(column) {
        Some(FluxValue::String(s)) => Some(s),
        _ => None,
    }
}

/// Revisions from the records of [`revisions_flux`], in time order; a record that is not a
/// whole revision is left out (and counted in the log).
pub(super) fn decode_revisions(records: &[FluxRecord]) -> Vec<Revision> {
    let mut out: Vec<(i64, Revision)> = Vec::with_capacity(records.len());
    let mut skipped = 0usize;
    for record in records {
        let decoded = (|| {
            let ns = match record.values.get("_time")? {
                FluxValue::TimeRFC(t) => t.timestamp_nanos_opt()?,
                _ => return None,
            };
            let v = record.values.get("value")?;
            let value = v.f64().or_else(|| v.i64().map(|n| n as f64))?;
            let reported_ms = record.values.get("reported_ms")?.i64()?;
            Some((
                ns,
                Revision {
                    indicator: text(record, "indicator")?.to_owned(),
                    area: text(record, "area")?.to_owned(),
                    period: text(record, "period")?.parse().ok()?,
                    value,
                    reported_ms,
                    received_ms: ns.div_euclid(1_000_000),
                    unit: text(record, "unit")?.to_owned(),
                    by: text(record, "by")?.to_owned(),
                    way: text(record, "way")?.parse::<Way>().ok()?,
                },
            ))
        })();
        match decoded {
            Some(r) => out.push(r),
            None => skipped += 1,
        }
    }
    if skipped > 0 {
        tracing::warn!(skipped, "indicator points that are not whole revisions");
    }
    // Sorted already by the query; kept in order whatever the answer's tables.
    out.sort_by_key(|(ns, _)| *ns);
    out.into_iter().map(|(_, r)| r).collect()
}

impl InfluxStore {
    /// Writes revisions as one request: all of them or, on an error, what InfluxDB says.
    pub async fn write_revisions(&self, revisions: &[Revision]) -> Result<(), StoreError> {
        if revisions.is_empty() {
            return Ok(());
        }
        let body = revision_lines(revisions).map_err(|reason| StoreError::Rejected { reason })?;
        self.client
            .write_line_protocol_with_precision(
                &self.org,
                &self.bucket,
                body,
                TimestampPrecision::Nanoseconds,
            )
            .await
            .map_err(|e| self.write_error(e))
    }

    /// The revisions of an indicator for an area (of one period, if given), oldest first.
    pub async fn revisions(
        &self,
        indicator: &str,
        area: &str,
        period: Option<Period>,
    ) -> Result<Vec<Revision>, StoreError> {
        let records = self
            .query(revisions_flux(&self.bucket, Some((indicator, area)), period))
            .await?;
        Ok(decode_revisions(&records))
    }

    /// The series of every indicator and area that has values.
    pub async fn latest_indicators(
        &self,
    ) -> Result<BTreeMap<(String, String), Vec<SeriesPoint>>, StoreError> {
        let records = self
            .query(revisions_flux(&self.bucket, None, None))
            .await?;
        let mut by_key: BTreeMap<(String, String), Vec<Revision>> = BTreeMap::new();
        for r in decode_revisions(&records) {
            by_key
                .entry((r.indicator.clone(), r.area.clone()))
                .or_default()
                .push(r);
        }
        Ok(by_key
            .into_iter()
            .map(|(key, revs)| (key, latest_by_period(&revs)))
            .collect())
    }
}
