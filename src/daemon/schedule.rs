//! When a job runs: a cron expression in a time zone. Five fields are the
//! crontab(5) form admins know (minute hour day month weekday, Sunday 0 or
//! 7; a restricted day of the month and weekday fire on either, as in
//! crontab); six add seconds in front; `@hourly`, `@daily` and the like work too.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// A job's schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    expr: String,
    /// The times it fires: one schedule, or two whose union crontab means
    /// when both the day of the month and the weekday are restricted.
    cron: Vec<cron::Schedule>,
    tz: Tz,
}

/// A schedule or time zone that was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleError {
    /// What is wrong, in words.
    pub message: String,
    /// True when the time zone, not the expression, is wrong.
    pub in_timezone: bool,
}

impl Schedule {
    /// Parses `expr` in the IANA time zone `tz` (`Europe/Berlin`, `UTC`).
    pub fn parse(expr: &str, tz: &str) -> Result<Schedule, ScheduleError> {
        let tz: Tz = tz.parse().map_err(|_| ScheduleError {
            message: format!("'{tz}' is not an IANA time zone such as Europe/Berlin or UTC"),
            in_timezone: true,
        })?;
        let fields: Vec<&str> = expr.split_whitespace().collect();
        let not_cron = |message: String| ScheduleError {
            message: format!("'{expr}' is not a cron schedule: {message}"),
            in_timezone: false,
        };
        if let Some(message) = shorthand_problem(expr.trim()).or_else(|| bounds_problem(&fields)) {
            return Err(ScheduleError {
                message: format!("'{}': {message}", expr.trim()),
                in_timezone: false,
            });
        }
        let full: Vec<String> = match fields.len() {
            _ if expr.trim_start().starts_with('@') => vec![expr.trim().to_owned()],
            5 => {
                let weekdays = crontab_weekdays(fields[4]).map_err(not_cron)?;
                let (minute, hour, day, month) = (fields[0], fields[1], fields[2], fields[3]);
                // crontab(5): with both the day of the month and the weekday
                // restricted, a job runs when either matches; the `cron`
                // crate wants both, so the two are kept as two schedules.
                if !day.starts_with('*') && !fields[4].starts_with('*') {
                    vec![
                        format!("0 {minute} {hour} {day} {month} *"),
                        format!("0 {minute} {hour} * {month} {weekdays}"),
                    ]
                } else {
                    vec![format!("0 {minute} {hour} {day} {month} {weekdays}")]
                }
            }
            6 => vec![fields.join(" ")],
            n => {
                return Err(ScheduleError {
                    message: format!(
                        "'{expr}' has {n} fields; write five (minute hour day month weekday, as in crontab) or six (seconds first)"
                    ),
                    in_timezone: false,
                })
            }
        };
        let cron = full
            .iter()
            // The crate's message quotes the six-field form it was given,
            // with a caret line; its last line is the reason.
            .map(|f| {
                cron::Schedule::from_str(f).map_err(|e| {
                    let text = e.to_string();
                    not_cron(
                        text.lines()
                            .rev()
                            .find(|l| !l.trim().is_empty())
                            .unwrap_or(&text)
                            .trim()
                            .to_owned(),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if cron.iter().all(|c| c.upcoming(tz).next().is_none()) {
            return Err(ScheduleError {
                message: format!("'{expr}' never fires"),
                in_timezone: false,
            });
        }
        Ok(Schedule {
            expr: expr.trim().to_owned(),
            cron,
            tz,
        })
    }

    /// Midnight UTC daily: stands in for a schedule that was refused while
    /// the rest of a configuration is checked.
    pub(crate) fn placeholder() -> Schedule {
        Schedule {
            expr: "0 0 * * *".into(),
            // The expression is a constant known to parse.
            cron: vec![cron::Schedule::from_str("0 0 0 * * *").unwrap_or_else(|_| unreachable!())],
            tz: Tz::UTC,
        }
    }

    /// The expression as written.
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// The time zone.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The first time the schedule fires strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = t.with_timezone(&self.tz);
        self.cron
            .iter()
            .filter_map(|c| c.after(&local).next())
            .min()
            .map(|n| n.to_utc())
    }

    /// True when the schedule fired between `last` (the last run's start)
    /// and `now`: a run missed while the service was down, to be made up
    /// once however many slots were missed.
    pub fn missed(&self, last: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        self.next_after(last).is_some_and(|n| n <= now)
    }
}

/// crontab numbers weekdays 0-7 from Sunday (both 0 and 7 are Sunday);
/// the `cron` crate 1-7 from Sunday. Translating number by number breaks
/// ranges that end in 7 (`5-7` would become `6-1`), so the field is
/// expanded the crontab way (lists, ranges, steps, names) into the set of
/// days it means, and that set is written as the `cron` crate's list.
/// Why a `@` form cannot be scheduled, if it cannot.
fn shorthand_problem(expr: &str) -> Option<String> {
    let word = expr.strip_prefix('@')?;
    match word.to_ascii_lowercase().as_str() {
        "yearly" | "annually" | "monthly" | "weekly" | "daily" | "midnight" | "hourly" => None,
        "reboot" => Some(
            "@reboot is not a time: iorready's jobs run at set times; to run once at boot, start `iorready run` from a systemd unit (or use cron's own @reboot line)".to_owned(),
        ),
        _ => Some(format!(
            "'@{word}' is not one of @yearly, @monthly, @weekly, @daily, @hourly"
        )),
    }
}

/// The first field of a five- (or six-) field schedule with a number
/// outside its bounds, said in crontab's terms.
fn bounds_problem(fields: &[&str]) -> Option<String> {
    const FIVE: [(&str, u32, u32); 5] = [
        ("minutes", 0, 59),
        ("hours", 0, 23),
        ("days of the month", 1, 31),
        ("months", 1, 12),
        ("weekdays", 0, 7),
    ];
    let bounds: Vec<(&str, u32, u32)> = match fields.len() {
        5 => FIVE.to_vec(),
        6 => std::iter::once(("seconds", 0, 59)).chain(FIVE).collect(),
        _ => return None,
    };
    fields.iter().zip(bounds).find_map(|(field, (what, lo, hi))| {
        numbers_of(field).into_iter().find(|n| *n < lo || *n > hi).map(|n| {
            if *field == n.to_string() {
                format!("{what} must be {lo}-{hi} ('{n}' given)")
            } else {
                format!("{what} must be {lo}-{hi} ('{n}' given in '{field}')")
            }
        })
    })
}

/// The numbers a cron field names (not its steps, not month or day names).
fn numbers_of(field: &str) -> Vec<u32> {
    field
        .split(',')
        .flat_map(|item| item.split('/').next().unwrap_or_default().split('-'))
        .filter_map(|n| n.parse().ok())
        .collect()
}

fn crontab_weekdays(field: &str) -> Result<String, String> {
    let mut days = [false; 7];
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("'{s}' is not a step in the weekday field '{field}'"))?;
                (r, step)
            }
            None => (item, 1),
        };
        let (first, last) = match range {
            "*" => (0, 6),
            _ => match range.split_once('-') {
                Some((a, b)) => (weekday(a, field)?, weekday(b, field)?),
                // `5/2` in crontab means 5 to the end, every 2nd.
                None if step > 1 => (weekday(range, field)?, 7),
                None => {
                    let d = weekday(range, field)?;
                    (d, d)
                }
            },
        };
        if first > last {
            return Err(format!("the weekday range '{range}' runs backwards in '{field}'"));
        }
        for d in (first..=last).step_by(step as usize) {
            days[(d % 7) as usize] = true;
        }
    }
    if days.iter().all(|d| *d) {
        return Ok("*".into());
    }
    let list: Vec<String> = (0..7u32)
        .filter(|d| days[*d as usize])
        .map(|d| (d + 1).to_string())
        .collect();
    Ok(list.join(","))
}

/// A crontab weekday: 0-7 from Sunday, or a name's first three letters.
fn weekday(s: &str, field: &str) -> Result<u32, String> {
    const NAMES: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    if let Ok(n) = s.parse::<u32>() {
        return if n <= 7 {
            Ok(n)
        } else {
            Err(format!(
                "weekday {n} is out of range 0-7 (Sunday is 0 or 7) in '{field}'"
            ))
        };
    }
    let lower = s.to_ascii_lowercase();
    NAMES
        .iter()
        .position(|n| lower == *n)
        .map(|i| i as u32)
        .ok_or_else(|| format!("'{s}' is not a weekday (0-7 or SUN-SAT) in '{field}'"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).single().unwrap()
    }

    #[test]
    fn five_fields_are_crontab_minutes_first() {
        let s = Schedule::parse("*/15 * * * *", "UTC").unwrap();
        assert_eq!(s.next_after(utc(2026, 12, 1, 7, 1)), Some(utc(2026, 12, 1, 7, 15)));
    }

    #[test]
    fn crontab_weekday_numbers_count_from_sunday_zero() {
        // 2026-12-05 is a Saturday: Monday to Friday at 06:00 means Monday the 7th.
        let s = Schedule::parse("0 6 * * 1-5", "UTC").unwrap();
        assert_eq!(s.next_after(utc(2026, 12, 5, 0, 0)), Some(utc(2026, 12, 7, 6, 0)));
        let sunday = Schedule::parse("0 6 * * 0", "UTC").unwrap();
        assert_eq!(sunday.next_after(utc(2026, 12, 5, 0, 0)), Some(utc(2026, 12, 6, 6, 0)));
        let seven = Schedule::parse("0 6 * * 7", "UTC").unwrap();
        assert_eq!(seven.next_after(utc(2026, 12, 5, 0, 0)), Some(utc(2026, 12, 6, 6, 0)));
    }

    #[test]
    fn the_time_zone_decides_the_hour() {
        let s = Schedule::parse("0 6 * * *", "Europe/Berlin").unwrap();
        // 06:00 in Berlin in December is 05:00 UTC.
        assert_eq!(s.next_after(utc(2026, 12, 1, 0, 0)), Some(utc(2026, 12, 1, 5, 0)));
    }

    #[test]
    fn six_fields_start_with_seconds() {
        let s = Schedule::parse("*/5 * * * * *", "UTC").unwrap();
        let t = utc(2026, 12, 1, 7, 0);
        assert_eq!(s.next_after(t), Some(t + chrono::Duration::seconds(5)));
    }

    #[test]
    fn many_missed_slots_are_one_missed_run() {
        let s = Schedule::parse("0 * * * *", "UTC").unwrap();
        assert!(s.missed(utc(2026, 12, 1, 1, 30), utc(2026, 12, 1, 9, 10)));
        assert!(!s.missed(utc(2026, 12, 1, 9, 0), utc(2026, 12, 1, 9, 10)));
    }

    #[test]
    fn a_wrong_expression_says_what_is_expected() {
        let e = Schedule::parse("every hour", "UTC").unwrap_err();
        assert!(!e.in_timezone);
        assert!(e.message.contains("five"), "{}", e.message);
        assert!(Schedule::parse("61 * * * *", "UTC").is_err());
    }

    #[test]
    fn an_unknown_time_zone_is_refused() {
        let e = Schedule::parse("0 6 * * *", "Europe/Atlantis").unwrap_err();
        assert!(e.in_timezone);
    }

    #[test]
    fn crontab_weekday_ranges_may_end_on_sunday_seven() {
        // 2026-12-07 is a Monday; Friday to Sunday next fires on Friday the 11th.
        let s = Schedule::parse("0 6 * * 5-7", "UTC").unwrap();
        assert_eq!(s.next_after(utc(2026, 12, 7, 0, 0)), Some(utc(2026, 12, 11, 6, 0)));
        assert_eq!(s.next_after(utc(2026, 12, 12, 7, 0)), Some(utc(2026, 12, 13, 6, 0)));
        let every = Schedule::parse("0 6 * * 1-7", "UTC").unwrap();
        assert_eq!(every.next_after(utc(2026, 12, 6, 7, 0)), Some(utc(2026, 12, 7, 6, 0)));
    }

    #[test]
    fn crontab_weekday_names_lists_and_steps_mean_what_crontab_means() {
        // Saturday the 5th: MON,WED next fires Monday the 7th, then Wednesday.
        let s = Schedule::parse("0 6 * * MON,wed", "UTC").unwrap();
        assert_eq!(s.next_after(utc(2026, 12, 5, 0, 0)), Some(utc(2026, 12, 7, 6, 0)));
        assert_eq!(s.next_after(utc(2026, 12, 7, 7, 0)), Some(utc(2026, 12, 9, 6, 0)));
        // */2 is Sunday, Tuesday, Thursday, Saturday.
        let step = Schedule::parse("0 6 * * */2", "UTC").unwrap();
        assert_eq!(step.next_after(utc(2026, 12, 6, 7, 0)), Some(utc(2026, 12, 8, 6, 0)));
        let names = Schedule::parse("0 6 * * mon-fri", "UTC").unwrap();
        assert_eq!(names.next_after(utc(2026, 12, 5, 0, 0)), Some(utc(2026, 12, 7, 6, 0)));
    }

    #[test]
    fn a_wrong_weekday_field_is_refused_with_the_reason() {
        for bad in ["0 6 * * 8", "0 6 * * 5-2", "0 6 * * funday", "0 6 * * */0"] {
            let e = Schedule::parse(bad, "UTC").unwrap_err();
            assert!(
                e.message.contains("weekday") || e.message.contains("step"),
                "{bad}: {}",
                e.message
            );
        }
    }

    #[test]
    fn a_day_of_the_month_and_a_weekday_fire_on_either_as_in_crontab() {
        // The 1st of the month or any Monday: from Tuesday 2026-12-01 07:00
        // the next is Monday the 7th, and from Monday 2026-12-28 07:00 it is
        // Friday 2027-01-01.
        let s = Schedule::parse("0 6 1 * MON", "UTC").unwrap();
        assert_eq!(s.next_after(utc(2026, 12, 1, 7, 0)), Some(utc(2026, 12, 7, 6, 0)));
        assert_eq!(s.next_after(utc(2026, 12, 28, 7, 0)), Some(utc(2027, 1, 1, 6, 0)));
        // A star in either field keeps the other alone deciding.
        let days = Schedule::parse("0 6 1 * *", "UTC").unwrap();
        assert_eq!(days.next_after(utc(2026, 12, 1, 7, 0)), Some(utc(2027, 1, 1, 6, 0)));
    }

    #[test]
    fn a_number_out_of_bounds_is_named_with_crontabs_bounds_in_the_users_form() {
        let e = Schedule::parse("61 6 * * *", "UTC").unwrap_err().message;
        assert_eq!(e, "'61 6 * * *': minutes must be 0-59 ('61' given)");
        let e = Schedule::parse("0 25 * * *", "UTC").unwrap_err().message;
        assert!(e.contains("hours must be 0-23 ('25' given"), "{e}");
        let e = Schedule::parse("0 6 1-32 * *", "UTC").unwrap_err().message;
        assert!(e.contains("days of the month must be 1-31"), "{e}");
        assert!(!e.contains("0 0 6"), "never the six-field form: {e}");
    }

    #[test]
    fn reboot_is_refused_with_a_reason() {
        let e = Schedule::parse("@reboot", "UTC").unwrap_err().message;
        assert!(e.contains("systemd"), "{e}");
    }
}
