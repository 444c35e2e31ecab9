//! CDR export: JSON lines and CSV.

use archiver_core::Cdr;
use serde_json::{Value, json};
use std::io::Write;

/// One CDR as the JSON object of the export contract.
pub fn cdr_json(c: &Cdr) -> Value {
    json!({
        "tenant": c.tenant.as_str(),
        "cdr_id": c.cdr_id,
        "source_platform": c.source_platform,
        "platform_call_id": c.platform_call_id,
        "user": c.user,
        "user_id": c.user_id,
        "start_time": c.start_time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "end_time": c.end_time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "duration_seconds": c.duration_seconds,
        "from": c.from,
        "from_info": c.from_info,
        "to": c.to,
        "to_info": c.to_info,
        "participants": c.participants,
        "direction": c.direction,
        "direction_user": c.direction_user,
        "location": c.location,
        "conversation_type": c.conversation_type,
        "record_type": c.record_type,
        "recording_failed": c.recording_failed,
        "failure_reason": c.failure_reason,
        "parent_meeting_id": c.parent_meeting_id,
        "segments": c.segments,
        "media_length": c.media_length,
        "media_error": c.media_error,
        "voice_quality": c.voice_quality,
        "audio_codec": c.audio_codec,
        "video_codec": c.video_codec,
        "silence_ratio": c.silence_ratio,
        "longest_silence_seconds": c.longest_silence_seconds,
        "talkover_ratio": c.talkover_ratio,
        "media": c.media.iter().map(|m| json!({
            "key": m.key,
            "file_type": m.file_type,
            "size": m.size,
            "sha256": m.sha256,
            "state": m.state,
            "start_time": m.start_time.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            "end_time": m.end_time.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        })).collect::<Vec<_>>(),
    })
}

/// Writes CDRs as JSON lines.
pub fn write_jsonl(out: &mut dyn Write, cdrs: &[Cdr]) -> std::io::Result<()> {
    for c in cdrs {
        serde_json::to_writer(&mut *out, &cdr_json(c))?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The CSV columns: the spec's metadata titles that the archive fills, in the spec's order,
/// then the archive's own (tenant, parent meeting, failure reason, media).
pub const CSV_COLUMNS: [&str; 33] = [
    "Start Date",
    "Start Time",
    "End Date",
    "End Time",
    "Duration",
    "User",
    "From",
    "From Info",
    "To",
    "To Info",
    "Participants",
    "Direction",
    "Direction (User)",
    "Location",
    "Audio Codec",
    "Video codec",
    "Platform Call ID",
    "Silence Ratio",
    "Talkover Ratio",
    "Longest Silence",
    "User ID / Agent ID",
    "Source Platform",
    "Conversation Type",
    "Recording failed",
    "Media Length",
    "Media Error",
    "Voice Quality",
    "Record Type",
    "Tenant",
    "Parent Meeting ID",
    "Failure Reason",
    "Segments",
    "Media",
];

fn secs_hms(secs: f64) -> String {
    archiver_core::format_media_length(secs)
}

/// Writes CDRs as CSV (UTC dates and times; media as `key sha256` pairs separated by `;`).
pub fn write_csv(out: &mut dyn Write, cdrs: &[Cdr]) -> std::io::Result<()> {
    writeln!(out, "{}", CSV_COLUMNS.join(","))?;
    for c in cdrs {
        let d = c.duration_seconds.max(0);
        let media = c
            .media
            .iter()
            .map(|m| {
                format!(
                    "{} {}",
                    m.key,
                    m.sha256.as_deref().unwrap_or(m.state.as_str())
                )
            })
            .collect::<Vec<_>>()
            .join(";");
        let row = [
            c.start_time.format("%Y-%m-%d").to_string(),
            c.start_time.format("%H:%M:%S").to_string(),
            c.end_time.format("%Y-%m-%d").to_string(),
            c.end_time.format("%H:%M:%S").to_string(),
            format!("{:02}:{:02}:{:02}", d / 3600, d / 60 % 60, d % 60),
            c.user.clone(),
            c.from.clone(),
            c.from_info.clone(),
            c.to.clone(),
            c.to_info.clone(),
            c.participants.join("; "),
            c.direction.to_string(),
            c.direction_user.to_string(),
            c.location.clone(),
            c.audio_codec.clone().unwrap_or_default(),
            c.video_codec.clone().unwrap_or_default(),
            c.platform_call_id.clone(),
            c.silence_ratio
                .map(|v| format!("{v:.3}"))
                .unwrap_or_default(),
            c.talkover_ratio
                .map(|v| format!("{v:.3}"))
                .unwrap_or_default(),
            c.longest_silence_seconds.map(secs_hms).unwrap_or_default(),
            c.user_id.clone(),
            c.source_platform.clone(),
            c.conversation_type.to_string(),
            if c.recording_failed {
                "Yes".into()
            } else {
                "No".into()
            },
            c.media_length.clone().unwrap_or_default(),
            c.media_error.clone().unwrap_or_default(),
            c.voice_quality
                .map(|v| format!("{v:.1}"))
                .unwrap_or_default(),
            c.record_type.to_string(),
            c.tenant.to_string(),
            c.parent_meeting_id.clone().unwrap_or_default(),
            c.failure_reason.clone().unwrap_or_default(),
            c.segments
                .iter()
                .map(|sg| {
                    format!(
                        "{}/{}",
                        sg.join_time.format("%Y-%m-%dT%H:%M:%SZ"),
                        sg.leave_time.format("%Y-%m-%dT%H:%M:%SZ")
                    )
                })
                .collect::<Vec<_>>()
                .join(";"),
            media,
        ];
        writeln!(
            out,
            "{}",
            row.iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(",")
        )?;
    }
    Ok(())
}
