//! Five-field cron schedules (`minute hour day-of-month month day-of-week`, plus `@hourly` and
//! friends) evaluated in UTC, with upstream's rule that a restricted day-of-month and a
//! restricted day-of-week match either.

use k8s_openapi::jiff::Timestamp;

use crate::{Error, Result};

/// A parsed schedule: the allowed values of each field as bit sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// Day-of-month was `*` (then only day-of-week restricts days), and likewise.
    any_day: bool,
    any_weekday: bool,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

impl Schedule {
    /// Parses `*/5 * * * *`, `0 3 * * 1-5`, `@daily`, ...
    pub fn parse(text: &str) -> Result<Schedule> {
        let fail = |reason: String| Error::Config {
            field: "cron schedule",
            value: text.to_string(),
            reason,
        };
        let expanded = match text.trim() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other => other,
        };
        let expanded = expanded
            .strip_prefix("TZ=UTC ")
            .or_else(|| expanded.strip_prefix("CRON_TZ=UTC "))
            .unwrap_or(expanded);
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(fail(format!(
                "expected exactly 5 fields, found {}",
                fields.len()
            )));
        }
        let minutes = field(fields[0], 0, 59, &[]).map_err(&fail)?;
        let hours = field(fields[1], 0, 23, &[]).map_err(&fail)?;
        let days = field(fields[2], 1, 31, &[]).map_err(&fail)?;
        let months = field(fields[3], 1, 12, &MONTHS).map_err(&fail)?;
        let mut weekdays = field(fields[4], 0, 7, &WEEKDAYS).map_err(&fail)?;
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1; // 7 is Sunday too
        }
        let star = |f: &str| f.starts_with('*') || f == "?";
        Ok(Schedule {
            minutes,
            hours,
            days,
            months,
            weekdays,
            any_day: star(fields[2]),
            any_weekday: star(fields[4]),
        })
    }

    fn day_matches(&self, day: u32, weekday: u32) -> bool {
        let dom = self.days & (1 << day) != 0;
        let dow = self.weekdays & (1 << weekday) != 0;
        if self.any_day || self.any_weekday {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// The latest scheduled minute at or before `at`, within about five years.
    pub fn latest_at_or_before(&self, at: Timestamp) -> Option<Timestamp> {
        let mut minute = at.as_second().div_euclid(60);
        for _ in 0..200_000 {
            let c = Civil::from_minute(minute);
            if self.months & (1 << c.month) == 0 {
                minute = days_from_civil(c.year, c.month, 1) * 1440 - 1;
            } else if !self.day_matches(c.day, c.weekday) {
                minute = days_from_civil(c.year, c.month, c.day) * 1440 - 1;
            } else if self.hours & (1 << c.hour) == 0 {
                minute = minute - i64::from(c.minute) - 1;
            } else if self.minutes & (1 << c.minute) == 0 {
                minute -= 1;
            } else {
                return Timestamp::from_second(minute * 60).ok();
            }
        }
        None
    }

    /// The first scheduled minute strictly after `at`, within about five years.
    pub fn next_after(&self, at: Timestamp) -> Option<Timestamp> {
        let mut minute = at.as_second().div_euclid(60) + 1;
        for _ in 0..200_000 {
            let c = Civil::from_minute(minute);
            if self.months & (1 << c.month) == 0 {
                let (y, m) = if c.month == 12 {
                    (c.year + 1, 1)
                } else {
                    (c.year, c.month + 1)
                };
                minute = days_from_civil(y, m, 1) * 1440;
            } else if !self.day_matches(c.day, c.weekday) {
                minute = (days_from_civil(c.year, c.month, c.day) + 1) * 1440;
            } else if self.hours & (1 << c.hour) == 0 {
                minute = minute - i64::from(c.minute) + 60;
            } else if self.minutes & (1 << c.minute) == 0 {
                minute += 1;
            } else {
                return Timestamp::from_second(minute * 60).ok();
            }
        }
        None
    }
}

fn field(text: &str, min: u32, max: u32, names: &[&str]) -> std::result::Result<u64, String> {
    let value = |s: &str| -> std::result::Result<u32, String> {
        let lower = s.to_ascii_lowercase();
        if let Some(i) = names.iter().position(|n| *n == lower) {
            return Ok(i as u32 + if names.len() == 12 { 1 } else { 0 });
        }
        let v: u32 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
        if v < min || v > max {
            return Err(format!("{v} is outside {min}-{max}"));
        }
        Ok(v)
    };
    let mut bits = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<u32>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("bad step in {part:?}"))?,
            ),
            None => (part, 1),
        };
        let (lo, hi) = if range == "*" || range == "?" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a)?, value(b)?)
        } else {
            let v = value(range)?;
            (v, if step > 1 { max } else { v })
        };
        if lo > hi {
            return Err(format!("range {range:?} runs backwards"));
        }
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok(bits)
}

struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    weekday: u32,
}

impl Civil {
    fn from_minute(minute: i64) -> Civil {
        let days = minute.div_euclid(1440);
        let in_day = minute.rem_euclid(1440);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: (in_day / 60) as u32,
            minute: (in_day % 60) as u32,
            weekday: (days + 4).rem_euclid(7) as u32,
        }
    }
}

/// Days since 1970-01-01 → (year, month, day) (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// (year, month, day) → days since 1970-01-01.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn next_and_latest_times_follow_the_schedule() {
        let cases = [
            (
                "*/15 * * * *",
                "2026-03-10T10:07:30Z",
                "2026-03-10T10:15:00Z",
                "2026-03-10T10:00:00Z",
            ),
            (
                "0 3 * * *",
                "2026-03-10T10:00:00Z",
                "2026-03-11T03:00:00Z",
                "2026-03-10T03:00:00Z",
            ),
            (
                "@monthly",
                "2026-12-15T00:00:00Z",
                "2027-01-01T00:00:00Z",
                "2026-12-01T00:00:00Z",
            ),
            // 2026-03-10 is a Tuesday; weekdays only at 09:30.
            (
                "30 9 * * MON-FRI",
                "2026-03-13T10:00:00Z",
                "2026-03-16T09:30:00Z",
                "2026-03-13T09:30:00Z",
            ),
            (
                "0 0 29 2 *",
                "2026-03-01T00:00:00Z",
                "2028-02-29T00:00:00Z",
                "2024-02-29T00:00:00Z",
            ),
            (
                "0 12 1 * 0",
                "2026-03-02T00:00:00Z",
                "2026-03-08T12:00:00Z",
                "2026-03-01T12:00:00Z",
            ),
            (
                "5,10 1-2 * jan,Jul 7",
                "2026-01-04T01:07:00Z",
                "2026-01-04T01:10:00Z",
                "2026-01-04T01:05:00Z",
            ),
        ];
        for (schedule, at, next, latest) in cases {
            let s = Schedule::parse(schedule).unwrap();
            assert_eq!(
                s.next_after(t(at)),
                Some(t(next)),
                "next of {schedule} after {at}"
            );
            assert_eq!(
                s.latest_at_or_before(t(at)),
                Some(t(latest)),
                "latest of {schedule} at {at}"
            );
        }
    }

    #[test]
    fn a_time_on_the_schedule_is_its_own_latest_but_not_its_own_next() {
        let s = Schedule::parse("0 * * * *").unwrap();
        assert_eq!(
            s.latest_at_or_before(t("2026-01-01T05:00:00Z")),
            Some(t("2026-01-01T05:00:00Z"))
        );
        assert_eq!(
            s.next_after(t("2026-01-01T05:00:00Z")),
            Some(t("2026-01-01T06:00:00Z"))
        );
    }

    #[test]
    fn bad_schedules_say_what_is_wrong() {
        let cases = [
            ("* * * *", "expected exactly 5 fields, found 4"),
            ("61 * * * *", "61 is outside 0-59"),
            ("* * * foo *", "\"foo\" is not a number"),
            ("*/0 * * * *", "bad step in \"*/0\""),
        ];
        for (text, reason) in cases {
            let err = Schedule::parse(text).unwrap_err().to_string();
            assert_eq!(err, format!("invalid cron schedule {text:?}: {reason}"));
        }
    }

    #[test]
    fn civil_dates_round_trip() {
        for days in [-1000, 0, 59, 60, 11_016, 20_000, 40_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
    }
}
