//! Ages as kubectl prints them: upstream `duration.HumanDuration` and `translateTimestampSince`.

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// Formats a duration like upstream's `HumanDuration`: `45s`, `3m20s`, `15m`, `5h10m`, `20h`,
/// `3d4h`, `30d`, `2y45d`, `9y`; `<invalid>` for more than a second in the future.
pub fn human_duration(d: Duration) -> String {
    let seconds = d.whole_seconds();
    if seconds < -1 {
        return "<invalid>".to_owned();
    }
    if seconds < 0 {
        return "0s".to_owned();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = d.whole_minutes();
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = d.whole_hours();
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let days = (hours / 24) % 365;
        return if days == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{days}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// Parses an RFC 3339 timestamp as found in objects (`creationTimestamp`, `eventTime`, ...).
pub(crate) fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// The age of an RFC 3339 timestamp at `now`, or `<unknown>` when absent or unparsable
/// (upstream `translateTimestampSince`).
pub fn since(timestamp: Option<&str>, now: OffsetDateTime) -> String {
    match timestamp.filter(|t| !t.is_empty()).and_then(parse_time) {
        Some(t) => human_duration(now - t),
        None => "<unknown>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_duration_matches_upstream_table() {
        let cases = [
            (Duration::seconds(-5), "<invalid>"),
            (Duration::milliseconds(-1500), "0s"),
            (Duration::seconds(0), "0s"),
            (Duration::seconds(5), "5s"),
            (Duration::seconds(119), "119s"),
            (Duration::seconds(120), "2m"),
            (Duration::seconds(200), "3m20s"),
            (Duration::seconds(599), "9m59s"),
            (Duration::minutes(10), "10m"),
            (Duration::minutes(179), "179m"),
            (Duration::minutes(180), "3h"),
            (Duration::minutes(310), "5h10m"),
            (Duration::hours(8), "8h"),
            (Duration::hours(47), "47h"),
            (Duration::hours(48), "2d"),
            (Duration::hours(76), "3d4h"),
            (Duration::days(8), "8d"),
            (Duration::days(729), "729d"),
            (Duration::days(730), "2y"),
            (Duration::days(775), "2y45d"),
            (Duration::days(365 * 8), "8y"),
            (Duration::days(365 * 9 + 100), "9y"),
        ];
        for (d, want) in cases {
            assert_eq!(human_duration(d), want, "{d}");
        }
    }

    #[test]
    fn since_handles_missing_and_bad_timestamps() {
        let now = parse_time("2024-05-01T12:00:00Z").unwrap();
        assert_eq!(since(Some("2024-05-01T11:55:00Z"), now), "5m");
        assert_eq!(since(None, now), "<unknown>");
        assert_eq!(since(Some(""), now), "<unknown>");
        assert_eq!(since(Some("yesterday"), now), "<unknown>");
    }
}
