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

/// `2026-11-26T18:10:05Z`.
pub fn format(ts: Timestamp) -> String {
    ts.round(jiff::Unit::Second)
        .unwrap_or(ts)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Parses an RFC 3339 timestamp written in a registry file.
pub fn parse(text: &str) -> Option<Timestamp> {
    text.parse::<Timestamp>().ok()
}

/// Parses a time given on the command line: RFC 3339
/// (`2026-11-20T10:00:00Z`, `2026-11-20T10:00:00+01:00`), a date or a date
/// and time in UTC (`2026-11-20`, `2026-11-20 10:00`), `now`, `today`,
/// `yesterday`, or `N units ago` (seconds, minutes, hours, days, weeks).
pub fn parse_user_time(text: &str) -> Result<Timestamp, String> {
    let text = text.trim();
    let now = now();
    let midnight = |ts: Timestamp| -> Timestamp {
        let date = ts.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
        date.to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .unwrap_or(ts)
    };
    match text {
        "now" => return Ok(now),
        "today" => return Ok(midnight(now)),
        "yesterday" => return Ok(midnight(now - jiff::SignedDuration::from_hours(24))),
        _ => {}
    }
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Ok(ts);
    }
    if let Ok(dt) = text.replace(' ', "T").parse::<jiff::civil::DateTime>()
        && let Ok(z) = dt.to_zoned_datetime(jiff::tz::TimeZone::UTC)
    {
        return Ok(z.timestamp());
    }
    if let Ok(date) = text.parse::<jiff::civil::Date>()
        && let Ok(z) = date.to_zoned_datetime(jiff::tz::TimeZone::UTC)
    {
        return Ok(z.timestamp());
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
                return Ok(now - jiff::SignedDuration::from_secs(n.saturating_mul(s)));
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
}
