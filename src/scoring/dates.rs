//! The date rules of capability-model.md, in one place.

use chrono::{Days, Months, NaiveDate};

/// True when `date` is more than `months` months before `as_of`: strictly
/// before the same calendar day that many months earlier (the last day of
/// the month where that day does not exist).
///
/// ```
/// use chrono::NaiveDate;
/// use iorready::scoring::more_than_months_before;
/// let as_of = NaiveDate::from_ymd_opt(2026, 6, 15).unwrap();
/// assert!(!more_than_months_before(NaiveDate::from_ymd_opt(2025, 6, 15).unwrap(), as_of, 12));
/// assert!(more_than_months_before(NaiveDate::from_ymd_opt(2025, 6, 14).unwrap(), as_of, 12));
/// ```
pub fn more_than_months_before(date: NaiveDate, as_of: NaiveDate, months: u32) -> bool {
    match as_of.checked_sub_months(Months::new(months)) {
        Some(limit) => date < limit,
        None => false,
    }
}

/// True when `date` is within `days` days after `as_of`, both ends included.
pub fn within_days_after(date: NaiveDate, as_of: NaiveDate, days: u32) -> bool {
    let end = as_of
        .checked_add_days(Days::new(u64::from(days)))
        .unwrap_or(NaiveDate::MAX);
    as_of <= date && date <= end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn the_same_calendar_day_n_months_earlier_is_not_more_than_n_months_before() {
        assert!(!more_than_months_before(d(2024, 6, 15), d(2026, 6, 15), 24));
        assert!(more_than_months_before(d(2024, 6, 14), d(2026, 6, 15), 24));
    }

    #[test]
    fn a_missing_day_counts_as_the_last_day_of_that_month() {
        // 12 months before 2025-02-28... and 2024-02-29 from 2025-02-28:
        // 2026-03-31 minus 1 month is 2026-02-28.
        assert!(!more_than_months_before(d(2026, 2, 28), d(2026, 3, 31), 1));
        assert!(more_than_months_before(d(2026, 2, 27), d(2026, 3, 31), 1));
        // From a leap day: 2024-02-29 minus 12 months is 2023-02-28.
        assert!(!more_than_months_before(d(2023, 2, 28), d(2024, 2, 29), 12));
        assert!(more_than_months_before(d(2023, 2, 27), d(2024, 2, 29), 12));
    }

    #[test]
    fn within_days_after_includes_both_ends() {
        let as_of = d(2026, 1, 1);
        assert!(within_days_after(as_of, as_of, 60));
        assert!(within_days_after(d(2026, 3, 2), as_of, 60));
        assert!(!within_days_after(d(2026, 3, 3), as_of, 60));
        assert!(!within_days_after(d(2025, 12, 31), as_of, 60));
    }
}
