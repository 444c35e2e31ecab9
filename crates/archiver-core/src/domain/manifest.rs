//! Daily manifests: what a sealed day lists, how each line is encoded, and the canonical
//! JSON of a CDR. The rules of sealing and checking are in `services::manifest`; the
//! auditor's view is CUSTODY.md.
//!
//! A manifest is one JSON document at `{tenant}/manifests/{day}.json` (an addendum at
//! `{day}.{n}.json`, n = 1, 2, …):
//!
//! ```json
//! { "format": "zoom-archiver-manifest/1", "tenant": "acme", "day": "2026-11-01",
//!   "part": 0, "created_at": "…", "root": "<hex>",
//!   "signature": { "algorithm": "ed25519", "key_id": "ed25519:…", "value": "<hex>" },
//!   "lines": [ "<line>", … ] }
//! ```
//!
//! Every fact is a line, and every line a leaf of the Merkle tree whose root is signed: a
//! line is a JSON object with its keys sorted and no whitespace ([`canonical_json`]), and
//! its leaf is `SHA-256(0x00 || the line's UTF-8 bytes)`. Lines, in this order:
//!
//! 1. `{"day":D,"format":F,"part":N,"t":"day","tenant":T}`;
//! 2. `{"day":D',"hash":H,"key":K,"t":"prev"}`: the previous manifest (part 0: the latest
//!    sealed day before D; an addendum: the previous part of the same day) and the SHA-256
//!    of its stored bytes, or `{"hash":"GENESIS","t":"prev"}` for the first;
//! 3. `{"hash":H,"seq":S,"t":"audit_head"}`: the tenant's audit chain head when sealed
//!    (`seq` 0 and 64 zeros when the chain was empty);
//! 4. `{"t":"reconciliation",…}`: the day's reconciliation (`report`: the stored report's
//!    key, `complete`, `phone` and `meetings` counts), or `{"report":null,"t":"reconciliation"}`;
//! 5. one `{"file_id":I,"key":K,"sha256":H,"size":N,"t":"object"}` per archived object,
//!    sorted by key;
//! 6. one `{"cdr_id":C,"sha256":H,"t":"cdr"}` per CDR, sorted by id; `H` is the SHA-256 of
//!    the CDR's canonical JSON ([`cdr_canonical`]).
//!
//! The signature is over [`crate::ports::signed_message`] of the root.

use super::cdr::Cdr;
use super::ids::TenantId;
use super::keys::ObjectKey;
use crate::ports::SignatureEnvelope;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The `format` of manifests written by this version.
pub const MANIFEST_FORMAT: &str = "zoom-archiver-manifest/1";

/// The `hash` of the first manifest's `prev` line.
pub const GENESIS: &str = "GENESIS";

/// The fields of a CDR left out of its canonical JSON: bookkeeping of the store, which
/// changes without the record changing.
pub const CDR_VOLATILE_FIELDS: [&str; 2] = ["version", "updated_at"];

/// A stored manifest (part 0) or addendum (part n).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManifestDoc {
    /// [`MANIFEST_FORMAT`].
    pub format: String,
    /// The tenant.
    pub tenant: String,
    /// The UTC day of the conversations listed.
    pub day: NaiveDate,
    /// 0 for the seal, n for the n-th addendum.
    pub part: u32,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// The Merkle root of the lines, lowercase hex.
    pub root: String,
    /// The signature of [`crate::ports::signed_message`] of the root.
    pub signature: SignatureEnvelope,
    /// The lines, exactly as hashed.
    pub lines: Vec<String>,
}

impl ManifestDoc {
    /// The leaf hashes of the lines.
    pub fn leaves(&self) -> Vec<super::merkle::Hash> {
        self.lines
            .iter()
            .map(|l| super::merkle::leaf_hash(l.as_bytes()))
            .collect()
    }

    /// The Merkle root of the lines, lowercase hex.
    pub fn computed_root(&self) -> String {
        hex::encode(super::merkle::root(&self.leaves()))
    }
}

/// The key of `tenant`'s manifest of `day`: `{tenant}/manifests/{day}.json` for part 0,
/// `{tenant}/manifests/{day}.{part}.json` for an addendum.
pub fn manifest_key(tenant: &TenantId, day: NaiveDate, part: u32) -> ObjectKey {
    let k = if part == 0 {
        format!("{tenant}/manifests/{day}.json")
    } else {
        format!("{tenant}/manifests/{day}.{part}.json")
    };
    ObjectKey::parse(k).expect("manifest keys are valid")
}

/// The day and part of a manifest key (`None` for anything else).
pub fn parse_manifest_key(key: &str) -> Option<(NaiveDate, u32)> {
    let name = key.rsplit('/').next()?;
    let stem = name.strip_suffix(".json")?;
    let (day, part) = match stem.split_once('.') {
        Some((d, p)) => (d, p.parse::<u32>().ok().filter(|p| *p > 0)?),
        None => (stem, 0),
    };
    Some((day.parse().ok()?, part))
}

/// The conversation day a media key is dated with (`{tenant}/{source}/{yyyy}/{mm}/{dd}/…`).
pub fn key_day(key: &str) -> Option<NaiveDate> {
    let mut parts = key.split('/').skip(2);
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// The UTC day of the conversation a CDR describes: the day its media keys are dated with
/// (the conversation's start, as the object keys and reconciliation date it), else, for a
/// CDR without media (a "recording failed" CDR), the day of its `start_time`.
pub fn cdr_day(cdr: &Cdr) -> NaiveDate {
    cdr.media
        .iter()
        .find_map(|m| key_day(&m.key))
        .unwrap_or_else(|| cdr.start_time.date_naive())
}

/// JSON with every object's keys sorted (by their UTF-8 bytes) and no whitespace; strings
/// and numbers as `serde_json` writes them (strings escape only `"`, `\` and control
/// characters; floats in their shortest round-trip form).
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).unwrap_or_default());
                out.push(':');
                write_canonical(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&serde_json::to_string(scalar).unwrap_or_default()),
    }
}

/// The canonical JSON of a CDR: its stored JSON form (`serde_json` of [`Cdr`]) without the
/// [`CDR_VOLATILE_FIELDS`], written by [`canonical_json`].
pub fn cdr_canonical(cdr: &Cdr) -> String {
    let mut v = serde_json::to_value(cdr).unwrap_or(Value::Null);
    if let Some(m) = v.as_object_mut() {
        for f in CDR_VOLATILE_FIELDS {
            m.remove(f);
        }
    }
    canonical_json(&v)
}

/// SHA-256 (lowercase hex) of [`cdr_canonical`].
pub fn cdr_digest(cdr: &Cdr) -> String {
    hex::encode(Sha256::digest(cdr_canonical(cdr).as_bytes()))
}

/// One line of a manifest, parsed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Line {
    /// Which tenant, day and part.
    Day {
        /// The tenant.
        tenant: String,
        /// The day.
        day: NaiveDate,
        /// The part.
        part: u32,
        /// [`MANIFEST_FORMAT`].
        format: String,
    },
    /// The previous manifest.
    Prev {
        /// Its key (none for the first).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
        /// Its day (none for the first).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        day: Option<NaiveDate>,
        /// SHA-256 of its stored bytes, or [`GENESIS`].
        hash: String,
    },
    /// The audit chain head when sealed.
    AuditHead {
        /// Its sequence number (0: empty chain).
        seq: u64,
        /// Its hash.
        hash: String,
    },
    /// The day's reconciliation counts.
    Reconciliation {
        /// The stored report's key (none when the day has no report).
        report: Option<String>,
        /// Whether the day was final.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        complete: Option<bool>,
        /// Phone counts.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phone: Option<Value>,
        /// Meeting counts.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        meetings: Option<Value>,
    },
    /// An archived object.
    Object {
        /// Its key.
        key: String,
        /// SHA-256 of its bytes.
        sha256: String,
        /// Its size.
        size: u64,
        /// Zoom's file id.
        file_id: String,
    },
    /// A CDR.
    Cdr {
        /// Its id.
        cdr_id: String,
        /// SHA-256 of its canonical JSON.
        sha256: String,
    },
}

impl Line {
    /// The line's bytes as hashed ([`canonical_json`]).
    pub fn encode(&self) -> String {
        canonical_json(&serde_json::to_value(self).unwrap_or(Value::Null))
    }

    /// Parses a line.
    pub fn parse(s: &str) -> Result<Line, String> {
        serde_json::from_str(s).map_err(|e| format!("unreadable line {s:?}: {e}"))
    }

    /// The subject of an object or CDR line (`object:{key}`, `cdr:{id}`), by which later
    /// parts supersede earlier ones.
    pub fn subject(&self) -> Option<String> {
        match self {
            Line::Object { key, .. } => Some(format!("object:{key}")),
            Line::Cdr { cdr_id, .. } => Some(format!("cdr:{cdr_id}")),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        let t = TenantId::new("acme").unwrap();
        let d: NaiveDate = "2026-11-01".parse().unwrap();
        assert_eq!(
            manifest_key(&t, d, 0).as_str(),
            "acme/manifests/2026-11-01.json"
        );
        assert_eq!(
            manifest_key(&t, d, 2).as_str(),
            "acme/manifests/2026-11-01.2.json"
        );
        assert_eq!(
            parse_manifest_key("acme/manifests/2026-11-01.json"),
            Some((d, 0))
        );
        assert_eq!(
            parse_manifest_key("acme/manifests/2026-11-01.12.json"),
            Some((d, 12))
        );
        assert_eq!(parse_manifest_key("acme/manifests/2026-11-01.0.json"), None);
        assert_eq!(parse_manifest_key("acme/manifests/x.json"), None);
        assert_eq!(
            key_day("acme/phone/2026/11/01/c/f.mp3"),
            Some(d),
            "media keys are dated"
        );
        assert_eq!(key_day("acme/reports/reconcile/2026-11-01/x.json"), None);
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level_without_spaces() {
        let v = serde_json::json!({"b": 1, "a": {"z": [1, 2.5, "x\"y"], "m": null}, "é": true});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"m":null,"z":[1,2.5,"x\"y"]},"b":1,"é":true}"#
        );
    }

    fn cdr() -> Cdr {
        let t = TenantId::new("acme").unwrap();
        let user: super::super::UserConfig = serde_json::from_value(serde_json::json!({
            "email": "alice@acme.example", "extension": "1001", "mode": "voice"
        }))
        .unwrap();
        let start: DateTime<Utc> = "2026-11-19T23:50:00Z".parse().unwrap();
        Cdr::for_meeting_user(
            super::super::MeetingCdr {
                tenant: &t,
                user: &user,
                meeting_uuid: "m1==",
                topic: "Desk review",
                parent_meeting_id: None,
                name: "Alice Anders".into(),
                zoom_user_id: "u-alice".into(),
                participants: vec!["Alice Anders".into()],
                segments: vec![],
                start,
                end: start + chrono::Duration::minutes(30),
                location: "host",
            },
            vec![],
            start,
        )
    }

    #[test]
    fn a_cdr_digest_ignores_the_stores_bookkeeping_only() {
        let c = cdr();
        let canonical = cdr_canonical(&c);
        assert!(!canonical.contains("\"version\"") && !canonical.contains("\"updated_at\""));
        assert!(
            canonical.starts_with("{\"audio_codec\":null,"),
            "{canonical}"
        );
        let mut bumped = c.clone();
        bumped.version += 3;
        bumped.updated_at += chrono::Duration::hours(1);
        assert_eq!(cdr_digest(&bumped), cdr_digest(&c));
        let mut renamed = c.clone();
        renamed.user = "Alice A.".into();
        assert_ne!(cdr_digest(&renamed), cdr_digest(&c));
        // Without media, a CDR is dated by its start (here 23:50 UTC on the 19th).
        assert_eq!(cdr_day(&c), "2026-11-19".parse::<NaiveDate>().unwrap());
    }

    #[test]
    fn lines_encode_canonically_and_parse_back() {
        let l = Line::Object {
            key: "acme/phone/2026/11/01/c/f.mp3".into(),
            sha256: "ab".repeat(32),
            size: 42,
            file_id: "f".into(),
        };
        let s = l.encode();
        assert_eq!(
            s,
            format!(
                r#"{{"file_id":"f","key":"acme/phone/2026/11/01/c/f.mp3","sha256":"{}","size":42,"t":"object"}}"#,
                "ab".repeat(32)
            )
        );
        assert_eq!(Line::parse(&s).unwrap(), l);
        let g = Line::Prev {
            key: None,
            day: None,
            hash: GENESIS.into(),
        };
        assert_eq!(g.encode(), r#"{"hash":"GENESIS","t":"prev"}"#);
        let r = Line::Reconciliation {
            report: None,
            complete: None,
            phone: None,
            meetings: None,
        };
        assert_eq!(r.encode(), r#"{"report":null,"t":"reconciliation"}"#);
        assert!(Line::parse("{\"t\":\"nope\"}").is_err());
    }
}
