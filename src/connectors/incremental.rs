//! Incremental sync of a stream: ask only for records changed since a
//! cursor (a date-time), and find the cursor a complete read reached. The
//! cursor is a date-time because every shipped vendor filters on a
//! modification date; it is kept by whoever stores the records (the
//! scheduled job's state), never advanced here, so a read that fails or is
//! cut short cannot lose changes.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use serde_json::Value;

/// How a stream asks for changes.
#[derive(Debug, Clone)]
pub struct Incremental {
    /// JSON pointer to the record's modification date-time.
    pub cursor_field: String,
    /// chrono format of that field and of the value sent; RFC 3339 is also
    /// accepted when reading.
    pub format: String,
    /// Query parameter carrying the value; `None` when the stream's query
    /// holds `{since}` (a filter expression) instead.
    pub param: Option<String>,
    /// Where a first read starts.
    pub start: DateTime<Utc>,
    /// Read again this far before the cursor, for changes committed late
    /// or clocks that disagree.
    pub lookback: Duration,
}

impl Incremental {
    /// The moment to ask from: the saved cursor less the look-back, never
    /// before the start.
    pub fn since(&self, saved: Option<DateTime<Utc>>) -> DateTime<Utc> {
        saved.map_or(self.start, |c| (c - self.lookback).max(self.start))
    }

    /// `at` written in the stream's format, in UTC.
    pub fn format(&self, at: DateTime<Utc>) -> String {
        at.format(&self.format).to_string()
    }

    /// Reads a date-time written in `format`, RFC 3339, or as a bare date
    /// or date-time taken as UTC.
    pub fn parse(&self, text: &str) -> Option<DateTime<Utc>> {
        let text = text.trim();
        DateTime::parse_from_str(text, &self.format)
            .map(|d| d.with_timezone(&Utc))
            .ok()
            .or_else(|| DateTime::parse_from_rfc3339(text).map(|d| d.with_timezone(&Utc)).ok())
            .or_else(|| {
                NaiveDateTime::parse_from_str(text, &self.format)
                    .ok()
                    .map(|d| d.and_utc())
            })
            .or_else(|| {
                NaiveDate::parse_from_str(text, &self.format)
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|d| d.and_utc())
            })
    }

    /// The latest modification among `records`, which follow `before`
    /// records of the same read; a record without a readable one is an
    /// error naming it (by its place in the read), because skipping it
    /// could move the cursor past changes.
    pub fn reached(&self, records: &[Value], before: usize) -> Result<Option<DateTime<Utc>>, String> {
        let mut latest: Option<DateTime<Utc>> = None;
        for (i, record) in records.iter().enumerate() {
            let value = record.pointer(&self.cursor_field);
            let at = value
                .and_then(Value::as_str)
                .and_then(|t| self.parse(t))
                .ok_or_else(|| {
                    let shown = value.map_or_else(|| "nothing".to_owned(), |v| v.to_string());
                    format!(
                        "record {} has no date-time at '{}' (found {shown}; expected the format {})",
                        before + i + 1,
                        self.cursor_field,
                        self.format
                    )
                })?;
            latest = latest.max(Some(at));
        }
        Ok(latest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coupa() -> Incremental {
        Incremental {
            cursor_field: "/updated-at".into(),
            format: "%Y-%m-%dT%H:%M:%S%:z".into(),
            param: Some("updated_at[gt_or_eq]".into()),
            start: DateTime::parse_from_rfc3339("2020-01-01T00:00:00Z").unwrap().to_utc(),
            lookback: Duration::minutes(10),
        }
    }

    #[test]
    fn the_first_read_starts_at_the_start() {
        let c = coupa();
        assert_eq!(c.format(c.since(None)), "2020-01-01T00:00:00+00:00");
    }

    #[test]
    fn a_later_read_starts_a_look_back_before_the_saved_cursor() {
        let c = coupa();
        let saved = c.parse("2026-10-01T12:00:00+02:00");
        assert_eq!(c.format(c.since(saved)), "2026-10-01T09:50:00+00:00");
    }

    #[test]
    fn the_cursor_reached_is_the_latest_modification() {
        let c = coupa();
        let records = [
            serde_json::json!({"updated-at": "2026-10-01T09:31:00+00:00"}),
            serde_json::json!({"updated-at": "2026-10-02T08:00:00+00:00"}),
        ];
        assert_eq!(
            c.format(c.reached(&records, 0).unwrap().unwrap()),
            "2026-10-02T08:00:00+00:00"
        );
    }

    #[test]
    fn a_record_without_a_readable_date_is_an_error_naming_it() {
        let e = coupa()
            .reached(&[serde_json::json!({"updated-at": "yesterday"})], 40)
            .unwrap_err();
        assert!(e.contains("record 41") && e.contains("\"yesterday\""), "{e}");
    }
}
