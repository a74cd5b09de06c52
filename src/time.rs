//! Timestamps as regent writes them: RFC 3339 in UTC, second precision, so
//! files diff cleanly and sort as text.

use jiff::Timestamp;

/// Now, honouring `REGENT_NOW` (RFC 3339) so tests and reproducible builds can pin time.
pub fn now() -> Timestamp {
    if let Ok(fixed) = std::env::var("REGENT_NOW")
        && let Ok(ts) = fixed.parse::<Timestamp>()
    {
        return ts;
    }
    Timestamp::now()
}

/// `2026-11-26T18:10:05Z`. Years before 0 (only reachable through a
/// hand-made commit, see [`from_git_seconds`]) are written with a sign and six
/// digits, `-009999-01-02T01:59:59Z`, so [`parse`] reads every output back.
pub fn format(ts: Timestamp) -> String {
    let ts = ts.round(jiff::Unit::Second).unwrap_or(ts);
    if ts.to_zoned_datetime(jiff::tz::TimeZone::UTC).year() < 0 {
        return Timestamp::from_second(ts.as_second())
            .unwrap_or(ts)
            .to_string();
    }
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A Git commit or signature time (seconds since 1970, as stored in the
/// commit object) as a timestamp. Git allows dates far beyond jiff's range
/// (`-009999-01-02T01:59:59Z` to `9999-12-30T22:00:00Z`); those saturate to
/// the nearest end, so the order of commits is kept: a commit made after the
/// year 9999 is never "before" one made in 2026, nor one before the year
/// -9999 after it. Whole seconds, like Git's.
pub fn from_git_seconds(seconds: i64) -> Timestamp {
    let min = Timestamp::MIN.as_second();
    let max = Timestamp::MAX.as_second();
    let clamped = seconds.clamp(min, max);
    Timestamp::from_second(clamped).unwrap_or(if seconds < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// Parses a timestamp written in a registry file: RFC 3339, or the same with
/// a space for the `T` as PyYAML's `safe_dump` writes one
/// (`2026-11-29 11:34:49.123000+00:00`). An offset is required.
pub fn parse(text: &str) -> Option<Timestamp> {
    text.parse::<Timestamp>().ok()
}

/// Parses a time given on the command line: RFC 3339
/// (`2026-11-20T10:00:00Z`, `2026-11-20T10:00:00+01:00`), a date or a date
/// and time in UTC (`2026-11-20`, `2026-11-20 10:00`), `now`, `today`,
/// `yesterday`, or `N units ago` (seconds, minutes, hours, days, weeks).
/// A relative time that falls outside the representable range
/// (`100000000 days ago`) is an error naming the input, never a wrap.
pub fn parse_user_time(text: &str) -> Result<Timestamp, String> {
    let text = text.trim();
    let now = now();
    let out_of_range = || {
        format!(
            "{text:?} is out of range: a time must be between {} and {}",
            format(Timestamp::MIN),
            format(Timestamp::MAX)
        )
    };
    let before = |seconds: i64| -> Result<Timestamp, String> {
        now.checked_sub(jiff::SignedDuration::from_secs(seconds))
            .map_err(|_| out_of_range())
    };
    let midnight = |ts: Timestamp| -> Timestamp {
        let date = ts.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
        date.to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .unwrap_or(ts)
    };
    match text {
        "now" => return Ok(now),
        "today" => return Ok(midnight(now)),
        "yesterday" => return before(86_400).map(midnight),
        _ => {}
    }
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Ok(ts);
    }
    // A valid date or date and time at the very edge of the range (`9999-12-31`)
    // cannot be a timestamp in UTC: out of range, not unreadable.
    if let Ok(dt) = text.replace(' ', "T").parse::<jiff::civil::DateTime>() {
        return dt
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(|_| out_of_range());
    }
    if let Ok(date) = text.parse::<jiff::civil::Date>() {
        return date
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(|_| out_of_range());
    }
    if let Some(rest) = text.strip_suffix(" ago") {
        let mut parts = rest.split_whitespace();
        if let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next())
            && let Ok(n) = n.parse::<i64>()
        {
            let seconds = match unit.trim_end_matches('s') {
                "second" | "sec" => Some(1),
                "minute" | "min" => Some(60),
                "hour" => Some(3600),
                "day" => Some(86_400),
                "week" => Some(604_800),
                _ => None,
            };
            if let Some(s) = seconds {
                return n.checked_mul(s).ok_or_else(out_of_range).and_then(before);
            }
        }
    }
    Err(format!(
        "cannot read {text:?} as a time; use RFC 3339 (2026-11-20T10:00:00Z), a date (2026-11-20), \
         `2026-11-20 10:00` (UTC), `yesterday`, or `3 days ago`"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_file_times_as_regent_and_pyyaml_write_them() {
        let t = |s: &str| parse(s).map(format);
        assert_eq!(t("2026-11-29T11:34:49Z").unwrap(), "2026-11-29T11:34:49Z");
        assert_eq!(
            t("2026-11-29 11:34:49+00:00").unwrap(),
            "2026-11-29T11:34:49Z"
        );
        assert_eq!(
            t("2026-11-29 12:34:49.123000+01:00").unwrap(),
            "2026-11-29T11:34:49Z"
        );
        assert!(parse("2026-11-29 11:34:49").is_none(), "no offset");
        assert!(parse("2026-13-29T11:34:49Z").is_none());
    }

    #[test]
    fn reads_user_times() {
        let t = |s: &str| parse_user_time(s).map(format);
        assert_eq!(t("2026-11-20T10:00:00Z").unwrap(), "2026-11-20T10:00:00Z");
        assert_eq!(
            t("2026-11-20T10:00:00+01:00").unwrap(),
            "2026-11-20T09:00:00Z"
        );
        assert_eq!(t("2026-11-20").unwrap(), "2026-11-20T00:00:00Z");
        assert_eq!(t("2026-11-20 10:30").unwrap(), "2026-11-20T10:30:00Z");
        let ago = parse_user_time("2 days ago").unwrap();
        let elapsed = (now() - ago).as_secs();
        assert!((2 * 86_400..2 * 86_400 + 5).contains(&elapsed), "{elapsed}");
        assert!(parse_user_time("last tuesday-ish").is_err());
    }

    #[test]
    fn relative_times_that_overflow_are_errors() {
        for text in [
            "100000000 days ago",
            "99999999999 weeks ago",
            "9223372036854775807 seconds ago",
            "-9223372036854775808 weeks ago",
        ] {
            let error = parse_user_time(text).unwrap_err();
            assert!(error.contains(text), "{error}");
            assert!(error.contains("out of range"), "{error}");
        }
        assert!(parse_user_time("1000 weeks ago").is_ok());
        let edge = parse_user_time("9999-12-31").unwrap_err();
        assert!(edge.contains("out of range"), "{edge}");
        assert_eq!(
            parse_user_time("9999-12-30T22:00:00Z").map(format).unwrap(),
            "9999-12-30T22:00:00Z"
        );
    }

    #[test]
    fn git_times_keep_their_order() {
        let t = |s: i64| from_git_seconds(s);
        assert_eq!(format(t(1_767_323_045)), "2026-01-02T03:04:05Z");
        assert_eq!(format(t(-86_400)), "1969-12-31T00:00:00Z");
        assert_eq!(format(t(253_402_300_800)), "9999-12-30T22:00:00Z");
        assert_eq!(format(t(i64::MAX)), "9999-12-30T22:00:00Z");
        assert_eq!(format(t(i64::MIN)), "-009999-01-02T01:59:59Z");
        assert!(t(-86_400) < t(0) && t(0) < t(1_767_323_045));
        assert!(t(1_767_323_045) < t(253_402_300_800));
        assert!(t(i64::MIN) < t(-86_400));
        // Every formatted time reads back as itself.
        for s in [
            i64::MIN,
            -62_167_219_201,
            -86_400,
            0,
            253_402_300_800,
            i64::MAX,
        ] {
            assert_eq!(parse(&format(t(s))), Some(t(s)), "{s}");
        }
    }
}
