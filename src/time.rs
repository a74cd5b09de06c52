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
