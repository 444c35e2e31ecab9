//! Lenient parsing of the date forms Zoom sends.
//!
//! Zoom sends `2021-03-12T02:12:27Z`, SDK fixtures carry `2021-03-12T02:12:27.0000000+00:00`,
//! some fields are `""` while a value is pending (`complete_time`), and query echoes may be
//! plain dates. All of them map to UTC; an empty or unparsable value maps to `None`
//! (logged by the caller where it matters), never to an error that loses a whole page.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer};

/// Parses one Zoom date or date-time; `None` for empty or unrecognised input.
pub fn parse_zoom_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.f",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    }
    None
}

/// Formats a time the way Zoom's query parameters expect (`yyyy-MM-ddTHH:mm:ssZ`).
pub fn format_zoom_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Serde helper: an optional, lenient Zoom time.
pub fn de_opt_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let v: Option<serde_json::Value> = Option::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::String(s)) => parse_zoom_time(&s),
        _ => None,
    })
}

/// Serde helper: a value Zoom sends either as a string or as a number (extension numbers, call ids).
pub fn de_opt_string_or_number<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    let v: Option<serde_json::Value> = Option::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_zoom_sends() {
        let z = parse_zoom_time("2021-03-12T02:12:27Z").unwrap();
        assert_eq!(
            parse_zoom_time("2021-03-12T02:12:27.0000000+00:00"),
            Some(z)
        );
        assert_eq!(parse_zoom_time("2021-03-12T04:12:27+02:00"), Some(z));
        assert_eq!(parse_zoom_time("2021-03-12 02:12:27"), Some(z));
        assert_eq!(format_zoom_time(z), "2021-03-12T02:12:27Z");
        assert!(parse_zoom_time("2021-03-12").is_some());
        assert_eq!(parse_zoom_time(""), None);
        assert_eq!(parse_zoom_time("yesterday"), None);
    }
}
