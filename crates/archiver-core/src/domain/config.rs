//! Tenant configuration: the Zoom account to import from, its users and its schedule.
//!
//! These types are deserialised from the `[[tenants]]` tables of the config file (and
//! from the tenant configuration object on AWS) with `deny_unknown_fields`; call
//! [`TenantConfig::validate`] at start-up, which names the offending key.

use super::ids::{Source, TenantId};
use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize};
use std::time::Duration;

/// How much of a user's conversations is archived.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordingMode {
    /// Audio only: the user's individual M4A (meetings) or the call recording (phone).
    Voice,
    /// Audio plus the whole-meeting MP4 (video and screen share).
    Video,
}

/// A configured (recorded) user of a tenant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// Zoom user email (meetings: matched against `participant_email`; phone: owner match).
    #[serde(default)]
    pub email: Option<String>,
    /// Zoom Phone extension number.
    #[serde(default)]
    pub extension: Option<String>,
    /// Zoom user id override (default: looked up by email at Zoom, `services::users`):
    /// phone owner and meeting participant match, meeting CDR `user_id`/`from`.
    #[serde(default)]
    pub zoom_user_id: Option<String>,
    /// Display name override for CDRs (default: the user's display name at Zoom, else what
    /// the meeting or call reports, else the email).
    #[serde(default)]
    pub name: Option<String>,
    /// Voice or video.
    pub mode: RecordingMode,
}

impl UserConfig {
    /// True when `email` is this user's (case-insensitive).
    pub fn has_email(&self, email: &str) -> bool {
        self.email
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(email.trim()))
    }

    /// True when `ext` is this user's extension (leading zeros and spaces ignored).
    pub fn has_extension(&self, ext: &str) -> bool {
        fn norm(s: &str) -> &str {
            let t = s.trim();
            let z = t.trim_start_matches('0');
            if z.is_empty() && !t.is_empty() {
                "0"
            } else {
                z
            }
        }
        self.extension
            .as_deref()
            .is_some_and(|e| !e.trim().is_empty() && norm(e) == norm(ext))
    }

    /// A stable key naming this user in CDR ids: the email, else the extension.
    pub fn key(&self) -> String {
        match (&self.email, &self.extension) {
            (Some(e), _) => e.trim().to_ascii_lowercase(),
            (None, Some(x)) => format!("ext:{}", x.trim()),
            (None, None) => String::from("unknown"),
        }
    }
}

/// One tenant: a Zoom account imported as one or two sources.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// Tenant id, `[a-z0-9-]+`.
    pub id: TenantId,
    /// Zoom account id.
    pub account_id: String,
    /// Server-to-Server OAuth client id.
    pub client_id: String,
    /// Client secret inline (prefer `client_secret_env`).
    #[serde(default, skip_serializing)]
    pub client_secret: Option<SecretString>,
    /// Name of the environment variable that holds the client secret.
    #[serde(default)]
    pub client_secret_env: Option<String>,
    /// Name of the secret (Secrets Manager id or file path) holding the credentials.
    #[serde(default)]
    pub client_secret_ref: Option<String>,
    /// Zoom API base URL.
    #[serde(default = "default_api_base_url")]
    pub api_base_url: String,
    /// Zoom OAuth token URL.
    #[serde(default = "default_oauth_url")]
    pub oauth_url: String,
    /// Which sources to import.
    #[serde(default = "default_sources")]
    pub sources: Vec<Source>,
    /// Poll interval.
    #[serde(
        default = "default_interval",
        deserialize_with = "de_duration",
        serialize_with = "ser_duration"
    )]
    pub interval: Duration,
    /// How far back the first run archives.
    #[serde(
        default = "default_lookback",
        deserialize_with = "de_duration",
        serialize_with = "ser_duration"
    )]
    pub initial_lookback: Duration,
    /// How far before the watermark each meetings poll starts again.
    #[serde(
        default = "default_meetings_overlap",
        deserialize_with = "de_duration",
        serialize_with = "ser_duration"
    )]
    pub meetings_overlap: Duration,
    /// How far before the watermark each phone poll starts again (Zoom lists phone
    /// recordings by call time, not by when they became available).
    #[serde(
        default = "default_phone_overlap",
        deserialize_with = "de_duration",
        serialize_with = "ser_duration"
    )]
    pub phone_overlap: Duration,
    /// How long a meeting whose selected files are still processing at Zoom holds the watermark back.
    #[serde(
        default = "default_max_wait",
        deserialize_with = "de_duration",
        serialize_with = "ser_duration"
    )]
    pub max_processing_wait: Duration,
    /// Archive whole-meeting chat, transcript and caption files for meetings of recorded users.
    #[serde(default = "default_true")]
    pub archive_meeting_extras: bool,
    /// Forward proxy URL (`http://user:pass@host:3128`); never logged.
    #[serde(default, skip_serializing)]
    pub proxy: Option<SecretString>,
    /// Phone numbers of this organisation, as patterns: `*` matches any run of
    /// characters, `?` exactly one (e.g. `"+1415555*"`, `"1???"`). Numbers are compared
    /// with spaces, dashes, dots and parentheses removed. Decides a phone CDR's `direction`.
    #[serde(default)]
    pub internal_numbers: Vec<String>,
    /// Email domains of this organisation (`acme.example`; subdomains included).
    #[serde(default)]
    pub internal_domains: Vec<String>,
    /// Retention per group (`[[tenants.retention]]`): see [`super::retention`].
    #[serde(default)]
    pub retention: Vec<super::retention::RetentionRule>,
    /// How long after a call or meeting ended a missing recording counts as failed in
    /// reconciliation (Zoom may still be processing it before that).
    #[serde(
        default = "default_reconcile_grace",
        deserialize_with = "de_duration",
        serialize_with = "ser_duration"
    )]
    pub reconcile_grace: Duration,
    /// The share of Zoom's daily limits this system may spend (0–1; other apps of the
    /// account use the rest).
    #[serde(default = "default_quota_share")]
    pub quota_share: f64,
    /// Zoom's daily limit of Heavy + Resource-intensive Meetings-API calls for the
    /// account's plan (Business+: 60,000; Pro: 30,000).
    #[serde(default = "default_heavy_daily")]
    pub heavy_daily_limit: u64,
    /// Zoom's daily limit of Heavy + Resource-intensive Phone-API calls (Business+: 30,000).
    #[serde(default = "default_phone_heavy_daily")]
    pub phone_heavy_daily_limit: u64,
    /// The recorded users.
    #[serde(default)]
    pub users: Vec<UserConfig>,
    /// Delete at Zoom what the archive has sealed and verified (opt-in; off by default):
    /// see [`DeleteAtZoom`].
    #[serde(default, skip_serializing_if = "DeleteAtZoom::is_off")]
    pub delete_at_zoom: DeleteAtZoom,
}

/// Whether, and how, a source's files are deleted at Zoom once archived (`services::zoom_delete`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeleteMode {
    /// Never (the default).
    #[default]
    Off,
    /// Once the file's day is sealed, its object is listed in the sealed manifest, its
    /// last recorded fixity check (after the seal) found it intact, and no legal hold
    /// holds it: phone recordings with `DELETE /phone/recordings/{recordingId}`;
    /// meetings with `DELETE /past_meetings/{meetingUUID}/archive_files`, which deletes
    /// every archive file of the meeting, so only when each file Zoom lists for the meeting
    /// is archived here and passes those checks.
    AfterSeal,
    /// Meetings only: the same checks, then each file is tagged for Zoom's own deletion
    /// with `PATCH /archive_files/{fileId}` `{"auto_delete": true}` (one file at a time,
    /// whatever else the meeting holds; Zoom Support must enable the account's "Tag
    /// Archiving Files for Deletion" feature).
    AutoDeleteAfterSeal,
}

impl DeleteMode {
    /// The configuration value.
    pub fn as_str(self) -> &'static str {
        match self {
            DeleteMode::Off => "off",
            DeleteMode::AfterSeal => "after_seal",
            DeleteMode::AutoDeleteAfterSeal => "auto_delete_after_seal",
        }
    }
}

/// `delete_at_zoom` of a tenant: one mode for every source, or one per source.
///
/// ```toml
/// delete_at_zoom = "after_seal"                              # meetings and phone
/// delete_at_zoom = { meetings = "after_seal", phone = "off" } # per source (missing: off)
/// delete_at_zoom = { meetings = "auto_delete_after_seal" }    # tag meeting files only
/// ```
///
/// Values: `off` (the default), `after_seal`, and for meetings `auto_delete_after_seal`
/// (see [`DeleteMode`]). A tenant without the key never deletes anything at Zoom.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DeleteAtZoom {
    /// Mode for meeting archive files.
    pub meetings: DeleteMode,
    /// Mode for phone recordings.
    pub phone: DeleteMode,
}

impl DeleteAtZoom {
    /// The mode of `source`.
    pub fn mode(&self, source: Source) -> DeleteMode {
        match source {
            Source::Meetings => self.meetings,
            Source::Phone => self.phone,
        }
    }

    /// True when no source deletes at Zoom.
    pub fn is_off(&self) -> bool {
        self.meetings == DeleteMode::Off && self.phone == DeleteMode::Off
    }
}

impl<'de> Deserialize<'de> for DeleteAtZoom {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct PerSource {
            #[serde(default)]
            meetings: DeleteMode,
            #[serde(default)]
            phone: DeleteMode,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            All(String),
            PerSource(PerSource),
        }
        let parse = |s: &str| -> Result<DeleteMode, D::Error> {
            match s {
                "off" => Ok(DeleteMode::Off),
                "after_seal" => Ok(DeleteMode::AfterSeal),
                "auto_delete_after_seal" => Ok(DeleteMode::AutoDeleteAfterSeal),
                other => Err(serde::de::Error::custom(format!(
                    "{other:?} is not one of \"off\", \"after_seal\", \"auto_delete_after_seal\""
                ))),
            }
        };
        match Form::deserialize(d).map_err(|_| {
            serde::de::Error::custom(
                "expected \"off\", \"after_seal\", or a table such as { meetings = \"after_seal\", phone = \"off\" }",
            )
        })? {
            Form::All(s) => {
                let m = parse(&s)?;
                Ok(DeleteAtZoom {
                    meetings: m,
                    phone: m,
                })
            }
            Form::PerSource(p) => Ok(DeleteAtZoom {
                meetings: p.meetings,
                phone: p.phone,
            }),
        }
    }
}

fn default_quota_share() -> f64 {
    0.8
}
fn default_heavy_daily() -> u64 {
    60_000
}
fn default_phone_heavy_daily() -> u64 {
    30_000
}

fn default_reconcile_grace() -> Duration {
    Duration::from_secs(6 * 3_600)
}

/// Removes the formatting characters people put in phone numbers.
pub fn normalize_number(n: &str) -> String {
    n.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\t'))
        .collect()
}

/// Glob match with `*` (any run) and `?` (one character).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn default_api_base_url() -> String {
    "https://api.zoom.us/v2".into()
}
fn default_oauth_url() -> String {
    "https://zoom.us/oauth/token".into()
}
fn default_sources() -> Vec<Source> {
    Source::ALL.to_vec()
}
fn default_interval() -> Duration {
    Duration::from_secs(300)
}
fn default_lookback() -> Duration {
    Duration::from_secs(30 * 86_400)
}
fn default_meetings_overlap() -> Duration {
    Duration::from_secs(3_600)
}
fn default_phone_overlap() -> Duration {
    Duration::from_secs(6 * 3_600)
}
fn default_max_wait() -> Duration {
    Duration::from_secs(3 * 86_400)
}
fn default_true() -> bool {
    true
}

/// Serde helper: a humantime duration such as `5m`, `30d`, `1h 30m`.
pub fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    humantime::parse_duration(&s)
        .map_err(|e| serde::de::Error::custom(format!("invalid duration {s:?}: {e}")))
}

/// Serde helper: writes a duration in humantime form.
pub fn ser_duration<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_duration(*d).to_string())
}

/// A configuration error that names the key at fault.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{key}: {message}")]
pub struct ConfigError {
    /// Dotted path of the key, e.g. `tenants[0].users[2].mode`.
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

impl ConfigError {
    /// Builds an error for `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl TenantConfig {
    /// Checks the rules serde cannot express. `prefix` is the key path of this tenant (e.g. `tenants[0]`).
    pub fn validate(&self, prefix: &str) -> Result<(), ConfigError> {
        let k = |name: &str| format!("{prefix}.{name}");
        if self.account_id.trim().is_empty() {
            return Err(ConfigError::new(k("account_id"), "must not be empty"));
        }
        if self.client_id.trim().is_empty() {
            return Err(ConfigError::new(k("client_id"), "must not be empty"));
        }
        let secrets = [
            self.client_secret.is_some(),
            self.client_secret_env.is_some(),
            self.client_secret_ref.is_some(),
        ];
        match secrets.iter().filter(|b| **b).count() {
            0 => {
                return Err(ConfigError::new(
                    k("client_secret"),
                    "set one of client_secret, client_secret_env or client_secret_ref",
                ));
            }
            1 => {}
            _ => {
                return Err(ConfigError::new(
                    k("client_secret"),
                    "set only one of client_secret, client_secret_env or client_secret_ref",
                ));
            }
        }
        for (name, url) in [
            ("api_base_url", &self.api_base_url),
            ("oauth_url", &self.oauth_url),
        ] {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(ConfigError::new(
                    k(name),
                    format!("{url:?} is not an http(s) URL"),
                ));
            }
        }
        if self.sources.is_empty() {
            return Err(ConfigError::new(
                k("sources"),
                "must name at least one of \"meetings\", \"phone\"",
            ));
        }
        if self.interval < Duration::from_secs(1) {
            return Err(ConfigError::new(k("interval"), "must be at least 1s"));
        }
        if self.initial_lookback.is_zero() {
            return Err(ConfigError::new(
                k("initial_lookback"),
                "must be more than 0",
            ));
        }
        if !(self.quota_share > 0.0 && self.quota_share <= 1.0) {
            return Err(ConfigError::new(
                k("quota_share"),
                format!(
                    "{} is not a share between 0 (excluded) and 1",
                    self.quota_share
                ),
            ));
        }
        for (i, pat) in self.internal_numbers.iter().enumerate() {
            let n = normalize_number(pat);
            if n.is_empty()
                || !n
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '+' | '*' | '?'))
            {
                return Err(ConfigError::new(
                    format!("{prefix}.internal_numbers[{i}]"),
                    format!("{pat:?} is not a number pattern (digits, '+', '*' and '?')"),
                ));
            }
        }
        for (i, d) in self.internal_domains.iter().enumerate() {
            let d = d.trim();
            if d.is_empty()
                || d.contains('@')
                || d.contains(char::is_whitespace)
                || !d.contains('.')
            {
                return Err(ConfigError::new(
                    format!("{prefix}.internal_domains[{i}]"),
                    format!("{d:?} is not a domain name"),
                ));
            }
        }
        if self.delete_at_zoom.phone == DeleteMode::AutoDeleteAfterSeal {
            return Err(ConfigError::new(
                k("delete_at_zoom.phone"),
                "\"auto_delete_after_seal\" is for meetings only: phone recordings are deleted with \"after_seal\"",
            ));
        }
        for (i, u) in self.users.iter().enumerate() {
            let uk = format!("{prefix}.users[{i}]");
            if u.email.as_deref().is_none_or(|e| e.trim().is_empty())
                && u.extension.as_deref().is_none_or(|e| e.trim().is_empty())
            {
                return Err(ConfigError::new(
                    format!("{uk}.email"),
                    "a user needs an email or an extension",
                ));
            }
            if let Some(e) = &u.email
                && !e.contains('@')
            {
                return Err(ConfigError::new(
                    format!("{uk}.email"),
                    format!("{e:?} is not an email address"),
                ));
            }
            if let Some(x) = &u.extension
                && (x.trim().is_empty() || !x.trim().chars().all(|c| c.is_ascii_digit()))
            {
                return Err(ConfigError::new(
                    format!("{uk}.extension"),
                    format!("{x:?} is not an extension number"),
                ));
            }
        }
        Ok(())
    }

    /// The overlap used for `source`.
    pub fn overlap(&self, source: Source) -> Duration {
        match source {
            Source::Meetings => self.meetings_overlap,
            Source::Phone => self.phone_overlap,
        }
    }

    /// The configured user with this email, if any.
    pub fn user_by_email(&self, email: &str) -> Option<&UserConfig> {
        if email.trim().is_empty() {
            return None;
        }
        self.users.iter().find(|u| u.has_email(email))
    }

    /// The configured user with this extension, if any.
    pub fn user_by_extension(&self, ext: &str) -> Option<&UserConfig> {
        self.users.iter().find(|u| u.has_extension(ext))
    }

    /// This tenant's daily budget (see `services::budget`).
    pub fn budget(&self) -> crate::services::budget::Budget {
        crate::services::budget::Budget {
            meetings_daily: self.heavy_daily_limit,
            phone_daily: self.phone_heavy_daily_limit,
            share: self.quota_share,
        }
    }

    /// True when `number` matches one of `internal_numbers`.
    pub fn is_internal_number(&self, number: &str) -> bool {
        let n = normalize_number(number);
        !n.is_empty()
            && self
                .internal_numbers
                .iter()
                .any(|p| glob_match(&normalize_number(p), &n))
    }

    /// True when `email`'s domain is one of `internal_domains` (or a subdomain of one).
    pub fn is_internal_email(&self, email: &str) -> bool {
        let Some((_, domain)) = email.trim().rsplit_once('@') else {
            return false;
        };
        let domain = domain.to_ascii_lowercase();
        self.internal_domains.iter().any(|d| {
            let d = d.trim().to_ascii_lowercase();
            domain == d || domain.ends_with(&format!(".{d}"))
        })
    }

    /// The configured user with this Zoom user id, if any.
    pub fn user_by_zoom_id(&self, id: &str) -> Option<&UserConfig> {
        self.users
            .iter()
            .find(|u| u.zoom_user_id.as_deref() == Some(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(extra: &str) -> Result<TenantConfig, String> {
        let json = format!(
            r#"{{"id":"acme","account_id":"a","client_id":"c","client_secret":"s"{extra}}}"#
        );
        serde_json::from_str(&json).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_validation() {
        let t = tenant("").unwrap();
        assert_eq!(t.sources, vec![Source::Meetings, Source::Phone]);
        assert_eq!(t.interval, Duration::from_secs(300));
        assert_eq!(t.initial_lookback, Duration::from_secs(30 * 86400));
        t.validate("tenants[0]").unwrap();

        let t = tenant(r#","users":[{"mode":"voice"}]"#).unwrap();
        assert_eq!(
            t.validate("tenants[0]").unwrap_err().key,
            "tenants[0].users[0].email"
        );
        let t = tenant(r#","client_secret_env":"X""#).unwrap();
        assert_eq!(
            t.validate("tenants[1]").unwrap_err().key,
            "tenants[1].client_secret"
        );
        assert!(tenant(r#","bogus":1"#).unwrap_err().contains("bogus"));
        assert!(
            tenant(r#","interval":"5 parsecs""#)
                .unwrap_err()
                .contains("invalid duration")
        );
        assert!(
            tenant(r#","users":[{"email":"a@b","mode":"audio"}]"#)
                .unwrap_err()
                .contains("audio")
        );
    }

    #[test]
    fn internal_number_and_domain_patterns() {
        let t = tenant(
            r#","internal_numbers":["+1415555*","1???"],"internal_domains":["acme.example"]"#,
        )
        .unwrap();
        t.validate("tenants[0]").unwrap();
        assert!(t.is_internal_number("+1 (415) 555-0100"));
        assert!(t.is_internal_number("1001"));
        assert!(!t.is_internal_number("10011"));
        assert!(!t.is_internal_number("+14165550100"));
        assert!(!t.is_internal_number(""));
        assert!(t.is_internal_email("a@acme.example"));
        assert!(t.is_internal_email("a@eu.ACME.example"));
        assert!(!t.is_internal_email("a@notacme.example"));
        assert_eq!(t.reconcile_grace, Duration::from_secs(6 * 3600));
        let bad = tenant(r#","internal_numbers":["+1415x*"]"#).unwrap();
        assert_eq!(
            bad.validate("tenants[0]").unwrap_err().key,
            "tenants[0].internal_numbers[0]"
        );
        let bad = tenant(r#","internal_domains":["@acme"]"#).unwrap();
        assert_eq!(
            bad.validate("tenants[0]").unwrap_err().key,
            "tenants[0].internal_domains[0]"
        );
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b?c", "axxbyc"));
        assert!(!glob_match("a*b?c", "axxbc"));
    }

    #[test]
    fn delete_at_zoom_is_off_unless_asked_for_per_tenant_or_source() {
        let t = tenant("").unwrap();
        assert!(t.delete_at_zoom.is_off());
        let t = tenant(r#","delete_at_zoom":"after_seal""#).unwrap();
        assert_eq!(
            t.delete_at_zoom.mode(Source::Meetings),
            DeleteMode::AfterSeal
        );
        assert_eq!(t.delete_at_zoom.mode(Source::Phone), DeleteMode::AfterSeal);
        let t = tenant(r#","delete_at_zoom":{"meetings":"auto_delete_after_seal"}"#).unwrap();
        assert_eq!(
            t.delete_at_zoom.mode(Source::Meetings),
            DeleteMode::AutoDeleteAfterSeal
        );
        assert_eq!(t.delete_at_zoom.mode(Source::Phone), DeleteMode::Off);
        t.validate("tenants[0]").unwrap();
        let t = tenant(r#","delete_at_zoom":{"phone":"auto_delete_after_seal"}"#).unwrap();
        assert_eq!(
            t.validate("tenants[0]").unwrap_err().key,
            "tenants[0].delete_at_zoom.phone"
        );
        assert!(
            tenant(r#","delete_at_zoom":"always""#)
                .unwrap_err()
                .contains("after_seal")
        );
        assert!(tenant(r#","delete_at_zoom":{"video":"after_seal"}"#).is_err());
        // Written back as a table, and not at all when off.
        let t = tenant(r#","delete_at_zoom":{"phone":"after_seal"}"#).unwrap();
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(
            v["delete_at_zoom"],
            serde_json::json!({"meetings": "off", "phone": "after_seal"})
        );
        let back: TenantConfig = serde_json::from_value(v).unwrap();
        assert_eq!(back.delete_at_zoom, t.delete_at_zoom);
        let v = serde_json::to_value(tenant("").unwrap()).unwrap();
        assert!(v.get("delete_at_zoom").is_none());
    }

    #[test]
    fn user_matching() {
        let u = UserConfig {
            email: Some("Alice@Acme.example".into()),
            extension: Some("1001".into()),
            zoom_user_id: None,
            name: None,
            mode: RecordingMode::Voice,
        };
        assert!(u.has_email("alice@acme.example "));
        assert!(u.has_extension("01001"));
        assert!(!u.has_extension("100"));
        assert_eq!(u.key(), "alice@acme.example");
    }
}
