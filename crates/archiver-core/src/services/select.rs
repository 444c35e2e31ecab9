//! Selection rules: which Zoom files belong to which configured user, and the CDR drafts.
//!
//! Pure functions, no I/O. The rules (from the product spec):
//! - **Meetings**: individual archive files are matched to configured users by
//!   `participant_email`. A `voice` user gets their individual audio (M4A); a `video`
//!   user also gets the whole-meeting MP4 (linked to every video user's CDR, with its own
//!   span). Whole-meeting chat, transcript and caption files are linked to every recorded
//!   user's CDR when `archive_meeting_extras` is on (the spec's "chat not supported"
//!   limitation, beaten). Files of users who are not configured are never selected.
//! - **Phone**: a recording belongs to a configured user when its owner's extension or
//!   Zoom id is theirs, or when they accepted or placed it for a call queue / shared line.
//! - Files that are not `completed` at Zoom are not selected yet; the plan says so, and
//!   the poller holds its watermark back so that a later poll picks them up.

use crate::domain::{
    ArchiveFile, ArchiveMeeting, Cdr, ContentKind, Direction, DirectionUser, FileRecord, FileState,
    MediaRef, MeetingCdr, MeetingParticipant, ObjectKey, PhoneCdr, PhoneRecording, RecordingMode,
    Segment, Source, TenantConfig, UserConfig,
};
use chrono::{DateTime, Utc};

/// What the poller should store for one conversation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// Files to archive (inserted if absent).
    pub files: Vec<FileRecord>,
    /// CDR drafts (inserted if absent, else merged).
    pub cdrs: Vec<Cdr>,
    /// True when a file that would be selected is still processing at Zoom.
    pub waiting: bool,
    /// Files skipped because Zoom gave no download URL (on-prem storage).
    pub without_url: usize,
}

impl Plan {
    /// Applies the tenant's retention rules to the planned files (from the CDRs that link
    /// each): the object is then written with its retain-until date.
    pub fn apply_retention(&mut self, tenant: &TenantConfig) {
        if tenant.retention.is_empty() {
            return;
        }
        for f in &mut self.files {
            let cdrs: Vec<&Cdr> = self
                .cdrs
                .iter()
                .filter(|c| f.cdr_ids.contains(&c.cdr_id))
                .collect();
            f.retention = crate::domain::retention_for(
                &tenant.retention,
                f.source,
                f.conversation_start,
                &cdrs,
            );
        }
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "the parts of one request, named at the call site"
)]
fn file_record(
    tenant: &TenantConfig,
    source: Source,
    conversation_id: &str,
    conversation_start: DateTime<Utc>,
    file_id: &str,
    file_type: &str,
    extension: &str,
    kind: ContentKind,
    size: Option<u64>,
    fingerprint: Option<String>,
    url: &str,
    span: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    now: DateTime<Utc>,
) -> FileRecord {
    FileRecord {
        tenant: tenant.id.clone(),
        source,
        file_id: file_id.to_string(),
        conversation_id: conversation_id.to_string(),
        conversation_start,
        file_type: file_type.to_string(),
        content_kind: kind,
        expected_size: size.filter(|s| *s > 0),
        fingerprint: fingerprint
            .filter(|f| f.len() == 64 && f.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(|f| f.to_ascii_lowercase()),
        download_url: url.to_string(),
        recording_start: span.0,
        recording_end: span.1,
        object_key: ObjectKey::derive(
            &tenant.id,
            source,
            conversation_start,
            conversation_id,
            file_id,
            extension,
        ),
        cdr_ids: Vec::new(),
        state: FileState::Pending,
        attempts: 0,
        upload: None,
        expected_duration_secs: None,
        media: None,
        queued: false,
        out_of_scope: None,
        transient_since: None,
        not_before: None,
        next_due: Some(now),
        retention: None,
        holds: Vec::new(),
        disposed: None,
        last_verified: None,
        deleted_at_zoom: None,
        history: Vec::new(),
        first_seen: now,
        updated_at: now,
        version: 0,
    }
}

fn extension_for(f: &ArchiveFile) -> String {
    match f.file_type.to_ascii_uppercase().as_str() {
        "MP4" => "mp4".into(),
        "M4A" => "m4a".into(),
        "CHAT" => "txt".into(),
        "CC" => "vtt".into(),
        "CHAT_MESSAGE" | "TRANSCRIPT" | "SUB_GROUP_MEMBER_LOG" => "json".into(),
        _ => f.file_extension.clone().unwrap_or_else(|| "bin".into()),
    }
}

fn is_video(f: &ArchiveFile) -> bool {
    f.file_type.eq_ignore_ascii_case("MP4")
}

fn is_audio(f: &ArchiveFile) -> bool {
    f.file_type.eq_ignore_ascii_case("M4A")
}

/// True when the meeting has per-participant files: presence then comes from the files
/// themselves and the participants API is not needed.
pub fn has_individual_files(m: &ArchiveMeeting) -> bool {
    m.archive_files.iter().any(|f| f.is_individual())
}

/// A recorded user present in a meeting, and what is known of them there.
struct Present<'a> {
    user: &'a UserConfig,
    segments: Vec<Segment>,
    display_name: Option<String>,
    zoom_user_id: Option<String>,
}

/// The entry of `u` in `present`, added (last) when missing.
fn presence_of<'a, 'b>(
    present: &'b mut Vec<Present<'a>>,
    u: &'a UserConfig,
) -> &'b mut Present<'a> {
    let i = match present.iter().position(|p| std::ptr::eq(p.user, u)) {
        Some(i) => i,
        None => {
            present.push(Present {
                user: u,
                segments: Vec::new(),
                display_name: None,
                zoom_user_id: None,
            });
            present.len() - 1
        }
    };
    &mut present[i]
}

fn push_segment(
    segments: &mut Vec<Segment>,
    join: Option<DateTime<Utc>>,
    leave: Option<DateTime<Utc>>,
) {
    if let (Some(join_time), Some(leave_time)) = (join, leave) {
        let s = Segment {
            join_time,
            leave_time: leave_time.max(join_time),
        };
        if !segments.contains(&s) {
            segments.push(s);
        }
    }
}

/// Plans one archived meeting for `tenant`. `location` fills the CDRs' `location`.
///
/// `participants` (the dashboard's participants of the meeting, one entry per join) is only
/// consulted when the meeting has no individual files (see [`has_individual_files`]): the
/// recorded users present are then found by email or Zoom user id, their presence comes
/// from their joins, voice users get the whole-meeting audio and video users the
/// whole-meeting MP4.
pub fn plan_meeting(
    tenant: &TenantConfig,
    m: &ArchiveMeeting,
    participants: Option<&[MeetingParticipant]>,
    now: DateTime<Utc>,
    location: &str,
) -> Plan {
    let mut plan = Plan::default();
    let start = m
        .start_time
        .or_else(|| {
            m.archive_files
                .iter()
                .filter_map(|f| f.participant_join_time)
                .min()
        })
        .unwrap_or(now);
    let meeting_end = start + chrono::Duration::seconds(m.duration_in_second.unwrap_or(0).max(0));
    let individual = has_individual_files(m);

    // Configured users present, in the order of first appearance.
    let mut present: Vec<Present> = Vec::new();
    if individual {
        for f in m.archive_files.iter().filter(|f| f.is_individual()) {
            let Some(u) = f
                .participant_email
                .as_deref()
                .and_then(|e| tenant.user_by_email(e))
            else {
                continue;
            };
            push_segment(
                &mut presence_of(&mut present, u).segments,
                f.participant_join_time,
                f.participant_leave_time,
            );
        }
    } else {
        for p in participants.unwrap_or_default() {
            let u = p
                .email
                .as_deref()
                .and_then(|e| tenant.user_by_email(e))
                .or_else(|| p.zoom_user_id().and_then(|id| tenant.user_by_zoom_id(id)));
            let Some(u) = u else { continue };
            let x = presence_of(&mut present, u);
            if x.display_name.is_none() {
                x.display_name = p.user_name.clone().filter(|n| !n.is_empty());
            }
            if x.zoom_user_id.is_none() {
                x.zoom_user_id = p.zoom_user_id().map(str::to_string);
            }
            push_segment(&mut x.segments, p.join_time, p.leave_time);
        }
    }
    if present.is_empty() {
        return plan;
    }
    for p in &mut present {
        p.segments.sort_by_key(|s| s.join_time);
    }
    let any_video = present.iter().any(|p| p.user.mode == RecordingMode::Video);
    let users_with = |mode: RecordingMode| -> Vec<usize> {
        present
            .iter()
            .enumerate()
            .filter(|(_, p)| p.user.mode == mode)
            .map(|(i, _)| i)
            .collect()
    };

    // Decide each file: which users it belongs to.
    let mut links: Vec<(usize, Vec<usize>)> = Vec::new(); // (file index in plan.files, user indexes)
    for f in &m.archive_files {
        let owners: Vec<usize> = if f.is_individual() {
            let Some(ui) = f
                .participant_email
                .as_deref()
                .and_then(|e| present.iter().position(|p| p.user.has_email(e)))
            else {
                continue;
            };
            let u = present[ui].user;
            if is_video(f) && u.mode != RecordingMode::Video {
                continue;
            }
            if !is_video(f) && !is_audio(f) && !tenant.archive_meeting_extras {
                continue;
            }
            vec![ui]
        } else if is_video(f) {
            if !any_video {
                continue;
            }
            users_with(RecordingMode::Video)
        } else if is_audio(f) {
            // The whole-meeting audio mixes everyone: recorded users get their individual
            // audio instead, when the meeting has individual files.
            if individual {
                continue;
            }
            let voice = users_with(RecordingMode::Voice);
            if voice.is_empty() {
                continue;
            }
            voice
        } else {
            if !tenant.archive_meeting_extras {
                continue;
            }
            (0..present.len()).collect()
        };
        if !f.is_completed() {
            if !f.is_failed() {
                plan.waiting = true;
            }
            continue;
        }
        let Some(url) = f.download_url.as_deref().filter(|u| !u.is_empty()) else {
            plan.without_url += 1;
            continue;
        };
        let rec = file_record(
            tenant,
            Source::Meetings,
            &m.uuid,
            start,
            &f.id,
            &f.file_type,
            &extension_for(f),
            ContentKind::for_archive_type(&f.file_type),
            f.file_size,
            f.encryption_fingerprint.clone(),
            url,
            (f.participant_join_time, f.participant_leave_time),
            now,
        );
        plan.files.push(rec);
        links.push((plan.files.len() - 1, owners));
    }

    let topic = m.topic.clone().unwrap_or_default();
    let names: Vec<String> = present.iter().map(display_name).collect();
    for (ui, p) in present.iter().enumerate() {
        let u = p.user;
        let key = u.key();
        let cdr_id = Cdr::make_id(Source::Meetings, &m.uuid, &key);
        let user_start = p
            .segments
            .iter()
            .map(|s| s.join_time)
            .min()
            .unwrap_or(start);
        let user_end = p
            .segments
            .iter()
            .map(|s| s.leave_time)
            .max()
            .unwrap_or(meeting_end)
            .max(user_start);
        let email = u.email.clone().unwrap_or_default();
        let name = names[ui].clone();
        let zoom_id = u
            .zoom_user_id
            .clone()
            .or_else(|| p.zoom_user_id.clone())
            .unwrap_or_else(|| email.clone());
        let media: Vec<MediaRef> = links
            .iter()
            .filter(|(_, owners)| owners.contains(&ui))
            .map(|(fi, _)| MediaRef::of(&plan.files[*fi]))
            .collect();
        for (fi, owners) in &links {
            if owners.contains(&ui) {
                plan.files[*fi].cdr_ids.push(cdr_id.clone());
            }
        }
        plan.cdrs.push(Cdr::for_meeting_user(
            MeetingCdr {
                tenant: &tenant.id,
                user: u,
                meeting_uuid: &m.uuid,
                topic: &topic,
                parent_meeting_id: m.parent_meeting_id.clone(),
                name,
                zoom_user_id: zoom_id,
                // Limited to the recorded users of this tenant (the spec's rule for
                // meetings hosted outside the tenant, applied to every meeting).
                participants: names.clone(),
                segments: p.segments.clone(),
                start: user_start,
                end: user_end,
                location,
            },
            media,
            now,
        ));
    }
    // A user present only through files that are not downloadable yet still gets a CDR draft
    // (it fills in when the files arrive); a CDR without any media is kept only while waiting.
    plan.cdrs.retain(|c| !c.media.is_empty() || plan.waiting);
    plan.apply_retention(tenant);
    plan
}

fn display_name(p: &Present) -> String {
    p.user
        .name
        .clone()
        .or_else(|| p.display_name.clone())
        .or_else(|| p.user.email.clone())
        .or_else(|| p.user.extension.clone())
        .unwrap_or_default()
}

/// Owner types whose recordings belong to whoever of the configured users took or placed
/// the call on them: call queues and common-area phones (shared lines), with Zoom's
/// deprecated and call-history spellings.
const SHARED_OWNER_TYPES: [&str; 4] =
    ["callQueue", "commonArea", "sharedOffice", "sharedLineGroup"];

/// The configured users a phone recording belongs to (docs/cdr-fields.md, "Who a phone
/// recording belongs to"):
/// - owner `user` (or no type): its owner alone, matched by extension or Zoom user id. Zoom
///   records each recorded line of a call separately; the other party of the call is named
///   in `accepted_by`/`outgoing_by` of this line's recording, and never makes it theirs;
/// - owner a call queue or a common area (shared line): the configured users named in
///   `accepted_by` (the agent who answered) or `outgoing_by` (who placed the call);
/// - any other owner (auto receptionist, …): nobody.
pub fn phone_owners<'a>(tenant: &'a TenantConfig, r: &PhoneRecording) -> Vec<&'a UserConfig> {
    let mut out: Vec<&UserConfig> = Vec::new();
    let mut push = |u: Option<&'a UserConfig>| {
        if let Some(u) = u
            && !out.iter().any(|x| std::ptr::eq(*x, u))
        {
            out.push(u);
        }
    };
    let kind = r.owner.as_ref().and_then(|o| o.kind.as_deref());
    match kind {
        None | Some("user") => {
            if let Some(o) = &r.owner {
                push(
                    o.extension_number
                        .as_deref()
                        .and_then(|x| tenant.user_by_extension(x))
                        .or_else(|| o.id.as_deref().and_then(|id| tenant.user_by_zoom_id(id))),
                );
            }
        }
        Some(k) if SHARED_OWNER_TYPES.contains(&k) => {
            for party in [&r.accepted_by, &r.outgoing_by].into_iter().flatten() {
                push(
                    party
                        .extension_number
                        .as_deref()
                        .and_then(|x| tenant.user_by_extension(x)),
                );
            }
        }
        Some(_) => {}
    }
    out
}

/// Whether one party of a call is internal: `Some(true)` for an extension (Zoom number
/// type 1), a number matching `internal_numbers`, a configured user's extension or an
/// email in `internal_domains`; `Some(false)` when Zoom says external (types 2, 3) or
/// patterns are configured and the number matches none; `None` when nothing tells.
pub fn party_is_internal(
    tenant: &TenantConfig,
    number: Option<&str>,
    number_type: Option<i64>,
    email: Option<&str>,
) -> Option<bool> {
    let number = number.map(str::trim).filter(|n| !n.is_empty());
    if number_type == Some(1)
        || number
            .is_some_and(|n| tenant.is_internal_number(n) || tenant.user_by_extension(n).is_some())
        || email.is_some_and(|e| tenant.is_internal_email(e))
    {
        return Some(true);
    }
    if matches!(number_type, Some(2) | Some(3))
        || (number.is_some() && !tenant.internal_numbers.is_empty())
    {
        return Some(false);
    }
    None
}

/// The direction of a call from its two parties; a party nothing classifies takes the side
/// Zoom's own `direction` (`inbound`/`outbound`, from the owner's perspective) implies.
pub fn classify_call(
    caller_internal: Option<bool>,
    callee_internal: Option<bool>,
    zoom_direction: Option<&str>,
) -> Direction {
    let inbound = zoom_direction.is_some_and(|d| d.eq_ignore_ascii_case("inbound"));
    let caller = caller_internal.unwrap_or(!inbound);
    let callee = callee_internal.unwrap_or(true);
    match (caller, callee) {
        (true, true) => Direction::Internal,
        (false, true) => Direction::Inbound,
        (true, false) => Direction::Outbound,
        (false, false) => Direction::External,
    }
}

fn phone_direction(tenant: &TenantConfig, r: &PhoneRecording) -> Direction {
    let caller = party_is_internal(
        tenant,
        r.caller_number.as_deref(),
        r.caller_number_type,
        None,
    );
    let callee = party_is_internal(
        tenant,
        r.callee_number.as_deref(),
        r.callee_number_type,
        None,
    );
    classify_call(caller, callee, r.direction.as_deref())
}

/// `Incoming` or `Outgoing` from the recorded user's perspective: the user placed the call
/// (caller number is their extension, or they placed it for a queue / shared line) or
/// received it (callee number, or accepted it); otherwise Zoom's `direction` of the owner.
fn user_direction(r: &PhoneRecording, u: &UserConfig) -> DirectionUser {
    let is_user = |n: Option<&str>| n.is_some_and(|n| u.has_extension(n.trim()));
    if is_user(
        r.outgoing_by
            .as_ref()
            .and_then(|p| p.extension_number.as_deref()),
    ) || is_user(r.caller_number.as_deref())
    {
        return DirectionUser::Outgoing;
    }
    if is_user(
        r.accepted_by
            .as_ref()
            .and_then(|p| p.extension_number.as_deref()),
    ) || is_user(r.callee_number.as_deref())
    {
        return DirectionUser::Incoming;
    }
    if r.direction
        .as_deref()
        .is_some_and(|d| d.eq_ignore_ascii_case("inbound"))
    {
        DirectionUser::Incoming
    } else {
        DirectionUser::Outgoing
    }
}

/// Plans one phone recording for `tenant`.
pub fn plan_phone_recording(
    tenant: &TenantConfig,
    r: &PhoneRecording,
    now: DateTime<Utc>,
    location: &str,
) -> Plan {
    let mut plan = Plan::default();
    let owners = phone_owners(tenant, r);
    if owners.is_empty() {
        return plan;
    }
    let Some(url) = r.download_url.as_deref().filter(|u| !u.is_empty()) else {
        plan.without_url += 1;
        return plan;
    };
    let start = r.date_time.unwrap_or(now);
    let end = r
        .end_time
        .unwrap_or_else(|| start + chrono::Duration::seconds(r.duration.unwrap_or(0).max(0)))
        .max(start);
    let call_id = r.call_id.clone().unwrap_or_else(|| r.id.clone());
    let mut file = file_record(
        tenant,
        Source::Phone,
        &call_id,
        start,
        &r.id,
        "MP3",
        "mp3",
        ContentKind::Mp3,
        None,
        None,
        url,
        (Some(start), Some(end)),
        now,
    );
    let mut participants: Vec<String> = Vec::new();
    for n in [
        r.caller_name.as_ref(),
        r.callee_name.as_ref(),
        r.accepted_by.as_ref().and_then(|p| p.name.as_ref()),
        r.outgoing_by.as_ref().and_then(|p| p.name.as_ref()),
    ]
    .into_iter()
    .flatten()
    {
        if !n.is_empty() && !participants.contains(n) {
            participants.push(n.clone());
        }
    }
    let direction = phone_direction(tenant, r);
    file.expected_duration_secs = r.duration.filter(|d| *d > 0).map(|d| d as f64);
    for u in owners {
        let cdr_id = Cdr::make_id(Source::Phone, &r.id, &u.key());
        file.cdr_ids.push(cdr_id.clone());
        let ext = u
            .extension
            .clone()
            .or_else(|| r.owner.as_ref().and_then(|o| o.extension_number.clone()))
            .unwrap_or_default();
        let name = u
            .name
            .clone()
            .or_else(|| {
                // The queue agent or shared-line member who took or placed the call.
                [&r.accepted_by, &r.outgoing_by]
                    .into_iter()
                    .flatten()
                    .find(|p| {
                        p.extension_number
                            .as_deref()
                            .is_some_and(|x| u.has_extension(x))
                    })
                    .and_then(|p| p.name.clone())
            })
            .or_else(|| {
                r.owner
                    .as_ref()
                    .filter(|o| o.kind.as_deref() == Some("user"))
                    .and_then(|o| o.name.clone())
            })
            .or_else(|| u.email.clone())
            .unwrap_or_else(|| ext.clone());
        plan.cdrs.push(Cdr::for_phone_recording(
            PhoneCdr {
                tenant: &tenant.id,
                user: u,
                recording_id: &r.id,
                call_id: &call_id,
                name,
                extension: ext,
                start,
                end,
                // Zoom's own `duration` when given (its end time may differ by a second).
                duration_seconds: r
                    .duration
                    .filter(|d| *d > 0)
                    .unwrap_or_else(|| (end - start).num_seconds()),
                from: (
                    r.caller_number.clone().unwrap_or_default(),
                    r.caller_name.clone().unwrap_or_default(),
                ),
                to: (
                    r.callee_number.clone().unwrap_or_default(),
                    r.callee_name.clone().unwrap_or_default(),
                ),
                participants: participants.clone(),
                direction,
                direction_user: user_direction(r, u),
                location,
            },
            Vec::new(),
            now,
        ));
    }
    let mref = MediaRef::of(&file);
    for c in &mut plan.cdrs {
        c.media.push(mref.clone());
    }
    plan.files.push(file);
    plan.apply_retention(tenant);
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ConversationType;
    use crate::domain::{PhoneOwner, PhoneParty};

    fn tenant() -> TenantConfig {
        serde_json::from_value(serde_json::json!({
            "id": "acme", "account_id": "a", "client_id": "c", "client_secret": "s",
            "users": [
                {"email": "alice@acme.example", "extension": "1001", "mode": "voice"},
                {"email": "bob@acme.example", "extension": "1002", "mode": "video"},
            ]
        }))
        .unwrap()
    }

    fn file(id: &str, ty: &str, individual: bool, email: Option<&str>) -> ArchiveFile {
        ArchiveFile {
            id: id.into(),
            file_type: ty.into(),
            file_size: Some(100),
            download_url: Some(format!("https://zoom.example/rec/archive/download/{id}")),
            status: Some("completed".into()),
            individual: Some(individual),
            participant_email: email.map(Into::into),
            participant_join_time: Some("2026-11-20T10:00:00Z".parse().unwrap()),
            participant_leave_time: Some("2026-11-20T10:30:00Z".parse().unwrap()),
            ..Default::default()
        }
    }

    fn meeting(files: Vec<ArchiveFile>) -> ArchiveMeeting {
        ArchiveMeeting {
            uuid: "u/1==".into(),
            topic: Some("Weekly".into()),
            start_time: Some("2026-11-20T09:59:00Z".parse().unwrap()),
            duration_in_second: Some(3600),
            archive_files: files,
            ..Default::default()
        }
    }

    fn ids(p: &Plan) -> Vec<&str> {
        p.files.iter().map(|f| f.file_id.as_str()).collect()
    }

    #[test]
    fn voice_users_get_their_audio_video_users_also_the_meeting_mp4() {
        let m = meeting(vec![
            file("a-m4a", "M4A", true, Some("Alice@acme.example")),
            file("b-m4a", "M4A", true, Some("bob@acme.example")),
            file("x-m4a", "M4A", true, Some("stranger@else.example")),
            file("all-mp4", "MP4", false, None),
            file("all-m4a", "M4A", false, None),
            file("chat", "CHAT", false, None),
        ]);
        let p = plan_meeting(&tenant(), &m, None, Utc::now(), "host");
        assert_eq!(ids(&p), vec!["a-m4a", "b-m4a", "all-mp4", "chat"]);
        let alice = p
            .cdrs
            .iter()
            .find(|c| c.user_email.as_deref() == Some("alice@acme.example"))
            .unwrap();
        let bob = p
            .cdrs
            .iter()
            .find(|c| c.user_email.as_deref() == Some("bob@acme.example"))
            .unwrap();
        let media = |c: &Cdr| {
            c.media
                .iter()
                .map(|m| m.file_id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(media(alice), vec!["a-m4a", "chat"]);
        assert_eq!(media(bob), vec!["b-m4a", "all-mp4", "chat"]);
        assert_eq!(alice.conversation_type, ConversationType::Voice);
        assert_eq!(bob.conversation_type, ConversationType::ScreenShare);
        assert_eq!(alice.to_info, "Weekly");
        assert_eq!(alice.duration_seconds, 1800);
        let mp4 = p.files.iter().find(|f| f.file_id == "all-mp4").unwrap();
        assert_eq!(mp4.cdr_ids, vec![bob.cdr_id.clone()]);
    }

    #[test]
    fn no_configured_participant_means_nothing_selected() {
        let m = meeting(vec![
            file("x", "M4A", true, Some("stranger@else.example")),
            file("all", "MP4", false, None),
        ]);
        assert!(
            plan_meeting(&tenant(), &m, None, Utc::now(), "h")
                .files
                .is_empty()
        );
    }

    #[test]
    fn voice_only_meeting_skips_the_mp4_and_processing_files_wait() {
        let mut pending = file("a2", "M4A", true, Some("alice@acme.example"));
        pending.status = Some("processing".into());
        let m = meeting(vec![
            file("a-m4a", "M4A", true, Some("alice@acme.example")),
            pending,
            file("all-mp4", "MP4", false, None),
        ]);
        let p = plan_meeting(&tenant(), &m, None, Utc::now(), "h");
        assert_eq!(ids(&p), vec!["a-m4a"]);
        assert!(p.waiting);
    }

    #[test]
    fn phone_recordings_belong_to_owner_or_queue_agent() {
        let t = tenant();
        let mut r = PhoneRecording {
            id: "r1".into(),
            call_id: Some("c1".into()),
            download_url: Some("https://zoom.example/v2/phone/recording/download/r1".into()),
            direction: Some("inbound".into()),
            caller_number: Some("+14155550100".into()),
            caller_name: Some("Ext Caller".into()),
            caller_number_type: Some(2),
            callee_number: Some("1001".into()),
            callee_name: Some("Alice".into()),
            callee_number_type: Some(1),
            owner: Some(PhoneOwner {
                kind: Some("user".into()),
                extension_number: Some("1001".into()),
                ..Default::default()
            }),
            date_time: Some("2026-11-20T10:00:00Z".parse().unwrap()),
            duration: Some(65),
            ..Default::default()
        };
        let p = plan_phone_recording(&t, &r, Utc::now(), "h");
        assert_eq!(p.cdrs.len(), 1);
        let c = &p.cdrs[0];
        assert_eq!(
            (
                c.direction.as_str(),
                c.direction_user.as_str(),
                c.user_id.as_str()
            ),
            ("Inbound", "Incoming", "1001")
        );
        assert_eq!(c.duration_seconds, 65);
        assert_eq!(
            p.files[0].object_key.as_str(),
            "acme/phone/2026/11/20/c1/r1.mp3"
        );

        r.owner = Some(PhoneOwner {
            kind: Some("callQueue".into()),
            extension_number: Some("5000".into()),
            ..Default::default()
        });
        r.accepted_by = Some(PhoneParty {
            name: Some("Bob".into()),
            extension_number: Some("1002".into()),
        });
        let p = plan_phone_recording(&t, &r, Utc::now(), "h");
        assert_eq!(p.cdrs[0].user_extension.as_deref(), Some("1002"));
        assert!(p.cdrs[0].participants.contains(&"Bob".to_string()));

        r.accepted_by = None;
        assert!(
            plan_phone_recording(&t, &r, Utc::now(), "h")
                .files
                .is_empty()
        );
    }

    fn participant(
        email: &str,
        name: &str,
        id: &str,
        join: &str,
        leave: &str,
    ) -> MeetingParticipant {
        MeetingParticipant {
            id: Some(id.into()),
            participant_user_id: Some(id.into()),
            user_name: Some(name.into()),
            email: Some(email.into()),
            join_time: Some(join.parse().unwrap()),
            leave_time: Some(leave.parse().unwrap()),
            ..Default::default()
        }
    }

    #[test]
    fn meeting_without_individual_files_uses_participants() {
        let m = meeting(vec![
            file("all-mp4", "MP4", false, None),
            file("all-m4a", "M4A", false, None),
            file("chat", "CHAT", false, None),
        ]);
        assert!(!has_individual_files(&m));
        // Without participants nobody is known to be there.
        assert!(
            plan_meeting(&tenant(), &m, None, Utc::now(), "h")
                .files
                .is_empty()
        );
        let parts = vec![
            participant(
                "alice@acme.example",
                "Alice A.",
                "zid-a",
                "2026-11-20T10:00:00Z",
                "2026-11-20T10:10:00Z",
            ),
            participant(
                "stranger@else.example",
                "S",
                "zid-s",
                "2026-11-20T10:00:00Z",
                "2026-11-20T10:50:00Z",
            ),
            participant(
                "bob@acme.example",
                "Bob B.",
                "zid-b",
                "2026-11-20T10:05:00Z",
                "2026-11-20T10:20:00Z",
            ),
            // Alice rejoins.
            participant(
                "alice@acme.example",
                "Alice A.",
                "zid-a",
                "2026-11-20T10:30:00Z",
                "2026-11-20T10:45:00Z",
            ),
        ];
        let p = plan_meeting(&tenant(), &m, Some(&parts), Utc::now(), "h");
        assert_eq!(ids(&p), vec!["all-mp4", "all-m4a", "chat"]);
        let alice = &p.cdrs[0];
        assert_eq!(alice.user, "Alice A.");
        assert_eq!(
            (alice.from.as_str(), alice.user_id.as_str()),
            ("zid-a", "zid-a")
        );
        assert_eq!(alice.segments.len(), 2);
        assert_eq!(alice.start_time.to_rfc3339(), "2026-11-20T10:00:00+00:00");
        assert_eq!(alice.end_time.to_rfc3339(), "2026-11-20T10:45:00+00:00");
        assert_eq!(alice.duration_seconds, 45 * 60);
        let media = |c: &Cdr| {
            c.media
                .iter()
                .map(|m| m.file_id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            media(alice),
            vec!["all-m4a", "chat"],
            "voice: the meeting audio"
        );
        assert_eq!(
            media(&p.cdrs[1]),
            vec!["all-mp4", "chat"],
            "video: the meeting video"
        );
        assert_eq!(
            alice.participants,
            vec!["Alice A.", "Bob B."],
            "only recorded users"
        );
    }

    fn call(
        caller: (&str, i64),
        callee: (&str, i64),
        dir: &str,
        owner_ext: &str,
    ) -> PhoneRecording {
        PhoneRecording {
            id: "r".into(),
            call_id: Some("c".into()),
            download_url: Some("https://zoom.example/v2/phone/recording/download/r".into()),
            direction: Some(dir.into()),
            caller_number: Some(caller.0.into()),
            caller_number_type: Some(caller.1),
            caller_name: Some("Caller".into()),
            callee_number: Some(callee.0.into()),
            callee_number_type: Some(callee.1),
            callee_name: Some("Callee".into()),
            owner: Some(PhoneOwner {
                kind: Some("user".into()),
                extension_number: Some(owner_ext.into()),
                ..Default::default()
            }),
            date_time: Some("2026-11-20T10:00:00Z".parse().unwrap()),
            duration: Some(60),
            ..Default::default()
        }
    }

    #[test]
    fn phone_directions_from_internal_patterns() {
        let mut t = tenant();
        t.internal_numbers = vec!["+1415555*".into()];
        let dirs_in = |t: &TenantConfig, r: &PhoneRecording| {
            let p = plan_phone_recording(t, r, Utc::now(), "h");
            (
                p.cdrs[0].direction.as_str(),
                p.cdrs[0].direction_user.as_str(),
            )
        };
        let dirs = |r: &PhoneRecording| dirs_in(&t, r);
        assert_eq!(
            dirs(&call(("1001", 1), ("1002", 1), "outbound", "1001")),
            ("Internal", "Outgoing")
        );
        assert_eq!(
            dirs(&call(("1001", 1), ("1002", 1), "inbound", "1002")),
            ("Internal", "Incoming")
        );
        assert_eq!(
            dirs(&call(
                ("+442071234567", 2),
                ("+14155550100", 2),
                "inbound",
                "1001"
            )),
            ("Inbound", "Incoming"),
            "a DID of ours matches the pattern although Zoom calls it external"
        );
        assert_eq!(
            dirs(&call(("1001", 1), ("+442071234567", 2), "outbound", "1001")),
            ("Outbound", "Outgoing")
        );
        assert_eq!(
            dirs(&call(
                ("+442071234567", 2),
                ("+33123456789", 2),
                "outbound",
                "1001"
            )),
            ("External", "Outgoing"),
            "forwarded out: both ends external"
        );
        // Without patterns or number types, Zoom's direction decides.
        let mut r = call(("+442071234567", 0), ("1001", 0), "inbound", "1001");
        r.caller_number_type = None;
        r.callee_number_type = None;
        t.internal_numbers.clear();
        assert_eq!(dirs_in(&t, &r), ("Inbound", "Incoming"));
        assert_eq!(
            plan_phone_recording(&t, &r, Utc::now(), "h").files[0].expected_duration_secs,
            Some(60.0)
        );
    }

    fn sample(name: &str) -> String {
        let path = format!("{}/tests/zoom-samples/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn real_samples_map_to_cdrs() {
        let t: TenantConfig = serde_json::from_value(serde_json::json!({
            "id": "acme", "account_id": "a", "client_id": "c", "client_secret": "s",
            "users": [
                {"email": "jchill@example.com", "mode": "video", "name": "Jill Chill"},
                {"extension": "1000123476", "mode": "voice"},
            ]
        }))
        .unwrap();
        let page: crate::domain::ArchiveFilesPage =
            serde_json::from_str(&sample("archive_files_list.json")).unwrap();
        let m = &page.meetings[0];
        let p = plan_meeting(&t, m, None, Utc::now(), "host-1");
        assert_eq!(p.cdrs.len(), 1);
        let c = &p.cdrs[0];
        assert_eq!(c.platform_call_id, m.uuid);
        assert_eq!(c.user, "Jill Chill");
        assert_eq!(c.to, "Conference");
        assert_eq!(c.to_info, m.topic.clone().unwrap_or_default());
        assert_eq!(
            (c.direction.as_str(), c.direction_user.as_str()),
            ("Conference", "Outgoing")
        );
        assert_eq!(c.source_platform, "Zoom Meeting");
        assert_eq!(c.conversation_type, ConversationType::ScreenShare);
        assert_eq!(
            c.parent_meeting_id.as_deref(),
            Some("atsXxhSEQWit9t+U02HXNQ==")
        );
        assert_eq!(c.location, "host-1");
        assert!(!c.media.is_empty());

        let page: crate::domain::PhoneRecordingsPage =
            serde_json::from_str(&sample("phone_recordings_list.json")).unwrap();
        let r = &page.recordings[0];
        let p = plan_phone_recording(&t, r, Utc::now(), "host-1");
        assert_eq!(p.cdrs.len(), 1, "the owner of the recorded line");
        let c = &p.cdrs[0];
        assert_eq!(c.platform_call_id, "7072598989368295984");
        assert_eq!(c.user_id, "1000123476");
        assert_eq!(c.source_platform, "Zoom Phone");
        assert_eq!(c.conversation_type, ConversationType::Voice);
        assert_eq!(
            c.direction_user,
            DirectionUser::Outgoing,
            "the owner placed the call"
        );
        assert_eq!(c.duration_seconds, 115);
        assert_eq!(c.from, r.caller_number.clone().unwrap());
        assert!(
            c.participants
                .iter()
                .any(|n| Some(n) == r.accepted_by.as_ref().and_then(|a| a.name.as_ref()))
        );
        assert_eq!(p.files[0].expected_duration_secs, Some(115.0));
        // The user who accepted it is named on this line, but the line is its owner's.
        let other: TenantConfig = serde_json::from_value(serde_json::json!({
            "id": "acme", "account_id": "a", "client_id": "c", "client_secret": "s",
            "users": [{"extension": "10201", "mode": "voice"}]
        }))
        .unwrap();
        assert!(
            plan_phone_recording(&other, r, Utc::now(), "h")
                .files
                .is_empty()
        );
    }

    /// docs/cdr-fields.md, "Who a phone recording belongs to": each row of its table,
    /// planned, gives the recording to exactly the users it names.
    #[test]
    fn the_attribution_table_of_the_docs_holds() {
        let doc = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/cdr-fields.md"
        ))
        .unwrap();
        let table = doc.split("<!-- attribution-table -->").nth(1).unwrap();
        let t: TenantConfig = serde_json::from_value(serde_json::json!({
            "id": "acme", "account_id": "a", "client_id": "c", "client_secret": "s",
            "users": [
                {"email": "a@acme.example", "extension": "1001", "zoom_user_id": "zid-a", "mode": "voice"},
                {"email": "b@acme.example", "extension": "1002", "mode": "voice"},
                {"email": "c@acme.example", "extension": "1003", "mode": "voice"},
            ]
        }))
        .unwrap();
        let party = |cell: &str| -> Option<PhoneParty> {
            let ext = match cell {
                "A" => "1001",
                "B" => "1002",
                "C" => "1003",
                "not configured" => "1999",
                "—" => return None,
                other => panic!("unknown party {other:?}"),
            };
            Some(PhoneParty {
                name: Some(format!("party {cell}")),
                extension_number: Some(ext.into()),
            })
        };
        let mut rows = 0;
        for line in table
            .lines()
            .map(str::trim)
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .skip(2)
        {
            let c: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            let (kind, owner, accepted, outgoing, expected) = (c[0], c[1], c[2], c[3], c[4]);
            let owner = match (kind, owner) {
                ("user", "A") => PhoneOwner {
                    kind: Some("user".into()),
                    extension_number: Some("1001".into()),
                    ..Default::default()
                },
                ("user", "A, by Zoom user id only") => PhoneOwner {
                    kind: Some("user".into()),
                    id: Some("zid-a".into()),
                    extension_number: Some("7001".into()),
                    ..Default::default()
                },
                ("user", "not configured") => PhoneOwner {
                    kind: Some("user".into()),
                    id: Some("zid-x".into()),
                    extension_number: Some("1999".into()),
                    ..Default::default()
                },
                (k, name) => PhoneOwner {
                    kind: Some(k.into()),
                    name: Some(name.into()),
                    extension_number: Some("5000".into()),
                    ..Default::default()
                },
            };
            let r = PhoneRecording {
                id: format!("rec-{rows}"),
                call_id: Some(format!("call-{rows}")),
                download_url: Some("https://zoom.example/v2/phone/recording/download/r".into()),
                owner: Some(owner),
                accepted_by: party(accepted),
                outgoing_by: party(outgoing),
                date_time: Some("2026-11-20T10:00:00Z".parse().unwrap()),
                duration: Some(60),
                ..Default::default()
            };
            let p = plan_phone_recording(&t, &r, Utc::now(), "h");
            let mut got: Vec<String> = p
                .cdrs
                .iter()
                .map(|c| match c.user_email.as_deref() {
                    Some("a@acme.example") => "A".to_string(),
                    Some("b@acme.example") => "B".to_string(),
                    Some("c@acme.example") => "C".to_string(),
                    other => panic!("{other:?}"),
                })
                .collect();
            got.sort();
            let want: Vec<String> = if expected == "nobody" {
                Vec::new()
            } else {
                expected.split(',').map(|x| x.trim().to_string()).collect()
            };
            assert_eq!(got, want, "row: {line}");
            assert_eq!(p.files.len(), usize::from(!want.is_empty()), "row: {line}");
            if let Some(f) = p.files.first() {
                assert_eq!(
                    f.cdr_ids.len(),
                    want.len(),
                    "one CDR per recorded user: {line}"
                );
                for c in &p.cdrs {
                    assert_eq!(c.media.len(), 1, "each CDR links the recording: {line}");
                    assert_eq!(c.platform_call_id, format!("call-{rows}"));
                }
            }
            rows += 1;
        }
        assert!(rows >= 12, "the table has its rows: {rows}");
    }

    /// An internal call recorded on both configured lines: two recordings, two CDRs (one
    /// per user, each with its own MP3), one platform call id.
    #[test]
    fn a_call_recorded_on_two_configured_lines_gives_one_cdr_per_line() {
        let t = tenant();
        let line = |id: &str, owner_ext: &str, dir: &str| PhoneRecording {
            id: id.into(),
            call_id: Some("c-int".into()),
            download_url: Some(format!(
                "https://zoom.example/v2/phone/recording/download/{id}"
            )),
            direction: Some(dir.into()),
            caller_number: Some("1001".into()),
            caller_number_type: Some(1),
            callee_number: Some("1002".into()),
            callee_number_type: Some(1),
            owner: Some(PhoneOwner {
                kind: Some("user".into()),
                extension_number: Some(owner_ext.into()),
                ..Default::default()
            }),
            outgoing_by: Some(PhoneParty {
                name: Some("Alice".into()),
                extension_number: Some("1001".into()),
            }),
            accepted_by: Some(PhoneParty {
                name: Some("Bob".into()),
                extension_number: Some("1002".into()),
            }),
            date_time: Some("2026-11-20T10:00:00Z".parse().unwrap()),
            duration: Some(60),
            ..Default::default()
        };
        let a = plan_phone_recording(&t, &line("ra", "1001", "outbound"), Utc::now(), "h");
        let b = plan_phone_recording(&t, &line("rb", "1002", "inbound"), Utc::now(), "h");
        assert_eq!((a.cdrs.len(), b.cdrs.len()), (1, 1));
        let (ca, cb) = (&a.cdrs[0], &b.cdrs[0]);
        assert_eq!(ca.user_extension.as_deref(), Some("1001"));
        assert_eq!(cb.user_extension.as_deref(), Some("1002"));
        assert_eq!(ca.media[0].file_id, "ra");
        assert_eq!(cb.media[0].file_id, "rb");
        assert_eq!(ca.platform_call_id, cb.platform_call_id);
        assert_ne!(ca.cdr_id, cb.cdr_id);
        assert_eq!(
            (ca.direction_user, cb.direction_user),
            (DirectionUser::Outgoing, DirectionUser::Incoming)
        );
        assert_eq!(ca.direction, Direction::Internal);
        // The other party stays on the CDR, named, not archived for.
        assert!(ca.participants.contains(&"Bob".to_string()));
        assert_eq!(ca.to, "1002");
    }
}
