//! Retention per group: `[[tenants.retention]]` rules, applied when a file is selected
//! (its object is written with the retain-until date: S3 Object Lock, or recorded and
//! enforced by the local store).
//!
//! A rule matches a file when every criterion it names matches one of the file's CDRs:
//! `users` (email, case-insensitive, or extension), `sources`, `directions`; a rule that
//! names none matches every file. Of the rules that match, the longest period wins (the
//! most protective); a file no rule matches has no retain-until date (kept, and never
//! disposed). The period runs from the conversation's start.

use super::cdr::{Cdr, Direction};
use super::ids::Source;
use chrono::{DateTime, Months, Utc};
use serde::{Deserialize, Serialize};

/// A retention period: whole years (calendar) and days, written `6y`, `7y`, `90d`, `1y30d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Period {
    /// Years.
    pub years: u32,
    /// Days.
    pub days: u32,
}

impl Period {
    /// Parses `6y`, `90d`, `1y30d`.
    pub fn parse(s: &str) -> Result<Period, String> {
        let mut p = Period { years: 0, days: 0 };
        let mut num = String::new();
        let mut any = false;
        for c in s.trim().chars() {
            match c {
                '0'..='9' => num.push(c),
                'y' | 'd' if !num.is_empty() => {
                    let n: u32 = num
                        .parse()
                        .map_err(|_| format!("{s:?}: {num} is too large"))?;
                    if c == 'y' {
                        p.years += n;
                    } else {
                        p.days += n;
                    }
                    num.clear();
                    any = true;
                }
                _ => return Err(format!("{s:?} is not a period like 6y, 7y, 90d or 1y30d")),
            }
        }
        if !num.is_empty() || !any {
            return Err(format!("{s:?} is not a period like 6y, 7y, 90d or 1y30d"));
        }
        Ok(p)
    }

    /// `from` plus this period.
    pub fn after(&self, from: DateTime<Utc>) -> DateTime<Utc> {
        from.checked_add_months(Months::new(self.years.saturating_mul(12)))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
            + chrono::Duration::days(i64::from(self.days))
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.years, self.days) {
            (y, 0) => write!(f, "{y}y"),
            (0, d) => write!(f, "{d}d"),
            (y, d) => write!(f, "{y}y{d}d"),
        }
    }
}

impl Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Period::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// One `[[tenants.retention]]` rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionRule {
    /// Its name (recorded with each object it protects, and in disposition records).
    pub name: String,
    /// How long (`6y` for FINRA 4511, `5y`–`7y` for MiFID II).
    pub period: Period,
    /// Only these users (email or extension).
    #[serde(default)]
    pub users: Vec<String>,
    /// Only these sources.
    #[serde(default)]
    pub sources: Vec<Source>,
    /// Only these directions.
    #[serde(default)]
    pub directions: Vec<Direction>,
}

impl RetentionRule {
    /// Whether the rule covers a file of `source` described by `cdr` (`None`: a file no
    /// CDR describes yet, matched on its source alone).
    pub fn matches(&self, source: Source, cdr: Option<&Cdr>) -> bool {
        if !self.sources.is_empty() && !self.sources.contains(&source) {
            return false;
        }
        let Some(c) = cdr else {
            return self.users.is_empty() && self.directions.is_empty();
        };
        (self.directions.is_empty() || self.directions.contains(&c.direction))
            && (self.users.is_empty()
                || self.users.iter().any(|u| {
                    c.user_email
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(u))
                        || c.user_extension.as_deref() == Some(u.as_str())
                }))
    }
}

/// The retention applied to a file: the rule and the date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retained {
    /// The rule's name.
    pub rule: String,
    /// Not to be deleted before.
    pub until: DateTime<Utc>,
}

/// The retention of a file of `source` that started at `start`, described by `cdrs`: the
/// longest period of the matching rules, or none.
pub fn retention_for(
    rules: &[RetentionRule],
    source: Source,
    start: DateTime<Utc>,
    cdrs: &[&Cdr],
) -> Option<Retained> {
    rules
        .iter()
        .filter(|r| {
            if cdrs.is_empty() {
                r.matches(source, None)
            } else {
                cdrs.iter().any(|c| r.matches(source, Some(c)))
            }
        })
        .map(|r| Retained {
            rule: r.name.clone(),
            until: r.period.after(start),
        })
        .max_by_key(|r| r.until)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_and_add_calendar_years() {
        assert_eq!(Period::parse("6y").unwrap(), Period { years: 6, days: 0 });
        assert_eq!(
            Period::parse("1y30d").unwrap(),
            Period { years: 1, days: 30 }
        );
        assert!(Period::parse("6").is_err() && Period::parse("six years").is_err());
        assert!(Period::parse("").is_err() && Period::parse("y").is_err());
        let start: DateTime<Utc> = "2024-02-29T10:00:00Z".parse().unwrap();
        assert_eq!(
            Period::parse("1y").unwrap().after(start).to_rfc3339(),
            "2025-02-28T10:00:00+00:00"
        );
        assert_eq!(Period::parse("6y").unwrap().to_string(), "6y");
    }
}
