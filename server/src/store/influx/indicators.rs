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
use influxdb2_structmap::value::Value as FluxValue;
use ioc_protocol::indicator::{Period, Revision, SeriesPoint, Way, latest_by_series};

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
        self.write_lines(body).await
    }

    /// The revisions of an indicator for an area (of one period, if given), oldest first.
    pub async fn revisions(
        &self,
        indicator: &str,
        area: &str,
        period: Option<Period>,
    ) -> Result<Vec<Revision>, StoreError> {
        let records = self
            .query(revisions_flux(
                &self.bucket,
                Some((indicator, area)),
                period,
            ))
            .await?;
        Ok(decode_revisions(&records))
    }

    /// The series of every indicator and area that has values.
    pub async fn latest_indicators(
        &self,
    ) -> Result<BTreeMap<(String, String), Vec<SeriesPoint>>, StoreError> {
        let records = self.query(revisions_flux(&self.bucket, None, None)).await?;
        Ok(latest_by_series(decode_revisions(&records)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(period: &str, value: f64, by: &str) -> Revision {
        Revision {
            indicator: "budget_revenue".into(),
            area: "q1".into(),
            period: period.parse().unwrap(),
            value,
            reported_ms: 1_795_300_000_000,
            received_ms: 1_795_309_200_000,
            unit: "q1".into(),
            by: by.into(),
            way: Way::Import,
        }
    }

    #[test]
    fn each_revision_is_a_point_of_its_own_at_its_received_time() {
        let lines = revision_lines(&[
            rev("2026-10", 812.5, "Lan \"Q1\""),
            rev("2026-10", 813.0, "lan"),
        ])
        .unwrap();
        assert_eq!(
            lines,
            "indicator,area=q1,indicator=budget_revenue,period=2026-10,unit=q1 \
             value=812.5,reported_ms=1795300000000i,by=\"Lan \\\"Q1\\\"\",way=\"import\" \
             1795309200000000000\n\
             indicator,area=q1,indicator=budget_revenue,period=2026-10,unit=q1 \
             value=813,reported_ms=1795300000000i,by=\"lan\",way=\"import\" \
             1795309200000000001\n"
        );
        let mut bad = rev("2026-10", 1.0, "x");
        bad.area = String::new();
        assert!(revision_lines(&[bad]).is_err());
    }

    #[test]
    fn the_flux_filters_by_key_and_quotes_what_it_is_given() {
        let flux = revisions_flux(
            "ioc",
            Some(("budget_revenue", "q\"1")),
            "2026-Q3".parse().ok(),
        );
        assert!(flux.contains(
            "r._measurement == \"indicator\" and r.indicator == \"budget_revenue\" and \
             r.area == \"q\\\"1\" and r.period == \"2026-Q3\""
        ));
        assert!(flux.contains("pivot(rowKey: [\"_time\"], columnKey: [\"_field\"]"));
        let all = revisions_flux("ioc", None, None);
        assert!(all.contains("filter(fn: (r) => r._measurement == \"indicator\")"));
    }

    #[test]
    fn pivoted_records_read_back_as_revisions_in_time_order() {
        use chrono::{DateTime, FixedOffset};
        let record = |ns: i64, value: FluxValue, by: &str| {
            let t: DateTime<FixedOffset> = DateTime::from_timestamp_nanos(ns).fixed_offset();
            let mut values = std::collections::BTreeMap::new();
            for (k, v) in [
                ("indicator", "budget_revenue"),
                ("area", "q1"),
                ("period", "2026-10"),
                ("unit", "q1"),
                ("by", by),
                ("way", "mqtt"),
            ] {
                values.insert(k.to_owned(), FluxValue::String(v.into()));
            }
            values.insert("_time".into(), FluxValue::TimeRFC(t));
            values.insert("value".into(), value);
            values.insert("reported_ms".into(), FluxValue::Long(42));
            FluxRecord { table: 0, values }
        };
        let got = decode_revisions(&[
            record(2_000_000_001, FluxValue::Double(2.5.into()), "b"),
            record(2_000_000_000, FluxValue::Double(1.5.into()), "a"),
            record(3_000_000_000, FluxValue::String("x".into()), "c"),
        ]);
        let seen: Vec<(f64, &str, i64)> = got
            .iter()
            .map(|r| (r.value, r.by.as_str(), r.received_ms))
            .collect();
        assert_eq!(seen, [(1.5, "a", 2_000), (2.5, "b", 2_000)]);
        assert_eq!((got[0].reported_ms, got[0].way), (42, Way::Mqtt));
    }
}
