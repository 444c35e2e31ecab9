//! Scenario model: the accounts, users, meetings, archive files and phone calls the simulator serves.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Everything the simulator serves: a list of accounts plus behaviour options.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Scenario {
    /// Zoom accounts (tenants); each has its own S2S OAuth app credentials.
    pub accounts: Vec<SimAccount>,
    /// Behaviour knobs.
    #[serde(default)]
    pub options: SimOptions,
}

/// One Zoom account with its S2S OAuth app and data.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct SimAccount {
    /// Zoom account id (the `account_id` token parameter).
    pub account_id: String,
    /// S2S OAuth client id.
    pub client_id: String,
    /// S2S OAuth client secret.
    pub client_secret: String,
    /// Users of the account.
    #[serde(default)]
    pub users: Vec<SimUser>,
    /// Archived meetings.
    #[serde(default)]
    pub meetings: Vec<SimMeeting>,
    /// Phone calls (recorded or not).
    #[serde(default)]
    pub calls: Vec<SimCall>,
}

impl SimAccount {
    /// The recordings of the calls this user owns (`owner.type` `user`, `owner.id` =
    /// `user_id`): what Zoom lists as that user's recordings, and what a correct archive
    /// attributes to them. Recordings of other owners' lines that merely *name* the user in
    /// `accepted_by` / `outgoing_by` (the other party of an internal call, a queue agent, a
    /// common-area picker) are not included. Pure: reads the scenario, no server needed.
    pub fn recordings_owned_by(&self, user_id: &str) -> Vec<&SimPhoneRecording> {
        self.calls
            .iter()
            .filter(|c| c.owner.kind == "user" && c.owner.id == user_id)
            .flat_map(|c| c.recordings.iter())
            .collect()
    }
}

/// A Zoom user.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct SimUser {
    /// Zoom user id.
    pub id: String,
    /// E-mail address.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Zoom Phone extension, if the user has a phone licence.
    pub extension: Option<u32>,
    /// Direct phone number (E.164), if any.
    pub phone_number: Option<String>,
    /// Account status of the user (a deactivated user keeps their history).
    #[serde(default)]
    pub status: UserStatus,
}

/// Status of a Zoom user (`status` of `GET /users/{userId}`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum UserStatus {
    /// An active user (`"active"`).
    #[default]
    Active,
    /// A deactivated user (`"inactive"`): can no longer sign in; their data stays.
    Inactive,
    /// An invited user who has not accepted yet (`"pending"`).
    Pending,
}

impl UserStatus {
    /// The status as Zoom spells it: `active`, `inactive` or `pending`.
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Inactive => "inactive",
            UserStatus::Pending => "pending",
        }
    }
}

/// One archived meeting instance.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct SimMeeting {
    /// Meeting instance UUID (base64-like, may contain `/`, `+`, `=`).
    pub uuid: String,
    /// Meeting number.
    pub id: i64,
    /// Host user id.
    pub host_id: String,
    /// Topic.
    pub topic: String,
    /// Actual start time.
    pub start_time: DateTime<Utc>,
    /// Actual length in seconds.
    pub duration_secs: u32,
    /// `meeting_type: external`: id, host_id and topic are stripped from listings.
    pub external: bool,
    /// Parent meeting UUID when this is a breakout room.
    pub parent_uuid: Option<String>,
    /// When the archive completes; before it the meeting is `processing` with `complete_time: ""`.
    pub complete_time: DateTime<Utc>,
    /// Participants (used by the metrics endpoints).
    #[serde(default)]
    pub participants: Vec<SimParticipant>,
    /// Archive files.
    #[serde(default)]
    pub files: Vec<SimArchiveFile>,
}

/// A meeting participant.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct SimParticipant {
    /// Zoom user id, `""` for guests.
    pub user_id: String,
    /// Display name.
    pub name: String,
    /// E-mail (`""` for anonymous guests).
    pub email: String,
    /// Join/leave segments; a rejoin is several segments.
    pub segments: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

/// One archive file of a meeting.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct SimArchiveFile {
    /// File id (UUID).
    pub id: String,
    /// `MP4`, `M4A`, `CHAT`, `CC`, `CHAT_MESSAGE`, `TRANSCRIPT`, `SUB_GROUP_MEMBER_LOG`, ...
    pub file_type: String,
    /// `shared_screen_with_speaker_view`, `audio_only`, `chat_file`, ...
    pub recording_type: String,
    /// Per-participant file (`true`) or whole meeting (`false`).
    pub individual: bool,
    /// Participant e-mail for individual files.
    pub participant_email: Option<String>,
    /// Participant (or archiving gateway) join time.
    pub join: DateTime<Utc>,
    /// Participant (or archiving gateway) leave time.
    pub leave: DateTime<Utc>,
    /// Requested size in bytes (the served size is exactly this for media files larger than their headers).
    pub size: u64,
    /// The file is `processing` until this time.
    pub available_at: Option<DateTime<Utc>>,
    /// Status `failed`.
    pub failed: bool,
    /// Download answers 404.
    pub deleted: bool,
}

/// One Zoom Phone call.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct SimCall {
    /// Call id (numeric string).
    pub call_id: String,
    /// Call start.
    pub start: DateTime<Utc>,
    /// Call end.
    pub end: DateTime<Utc>,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// Caller number.
    pub caller_number: String,
    /// Caller name.
    pub caller_name: String,
    /// 1 internal, 2 external.
    pub caller_number_type: u8,
    /// Callee number.
    pub callee_number: String,
    /// Callee name.
    pub callee_name: String,
    /// 1 internal, 2 external, 3 customized emergency.
    pub callee_number_type: u8,
    /// Owner of the recording (user, call queue, common area).
    pub owner: SimOwner,
    /// Who accepted the call (e.g. the call-queue member).
    pub accepted_by: Option<SimParty>,
    /// Who placed the call.
    pub outgoing_by: Option<SimParty>,
    /// Call-log style result, e.g. `Call connected`, `Missed`, `Voicemail`.
    pub result: String,
    /// Recordings; empty = not recorded.
    #[serde(default)]
    pub recordings: Vec<SimPhoneRecording>,
}

/// Owner of a phone call / recording.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct SimOwner {
    /// `user`, `callQueue` or `commonArea`.
    pub kind: String,
    /// Owner id.
    pub id: String,
    /// Owner name.
    pub name: String,
    /// Extension number (an integer in Zoom's payloads).
    pub extension_number: u32,
}

/// A party of a call (`accepted_by` / `outgoing_by`).
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct SimParty {
    /// Name.
    pub name: String,
    /// Extension number (a string in Zoom's payloads).
    pub extension_number: String,
}

/// One phone call recording (served as MP3).
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct SimPhoneRecording {
    /// Recording id (32 hex chars).
    pub id: String,
    /// `Automatic` or `OnDemand`.
    pub recording_type: String,
    /// Recording start.
    pub start: DateTime<Utc>,
    /// Recording end.
    pub end: DateTime<Utc>,
    /// Requested size in bytes (served size is rounded to whole MP3 frames).
    pub size: u64,
    /// Not listed before this time.
    pub available_at: DateTime<Utc>,
    /// Download answers 404.
    pub deleted: bool,
}

/// Behaviour options of the simulator.
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(default)]
pub struct SimOptions {
    /// Access-token lifetime (`expires_in`), default 3600.
    pub token_ttl_secs: u64,
    /// `next_page_token` lifetime, default 900.
    pub page_token_ttl_secs: u64,
    /// Enforce Business+ per-second and daily limits, default true.
    pub rate_limits: bool,
    /// Multiplier applied to every rate limit, default 1.0.
    pub rate_limit_scale: f64,
    /// Shared Heavy + Resource-intensive daily budget (main API), default 60000.
    pub daily_limit: u64,
    /// Shared Heavy + Resource-intensive daily budget (Zoom Phone API), default 30000.
    pub phone_daily_limit: u64,
    /// Emit `encryption_fingerprint` in archive listings, default true.
    pub fingerprints: bool,
    /// Emit dates as `+00:00` instead of `Z`, default false.
    pub plus_offset_dates: bool,
    /// Honour `Range` requests on downloads, default true.
    pub honour_range: bool,
    /// Throttle every download response to this many bytes per second.
    pub throttle_bytes_per_sec_per_conn: Option<u64>,
    /// Files served from an embedded, decodable media fixture instead of generated bytes:
    /// file id (archive file or phone recording) → fixture name (one of
    /// [`SimOptions::fixture_names`]). The served size, `file_size`, digest and fingerprint
    /// are those of the fixture; the file's `size` is ignored. Default empty.
    pub fixtures: BTreeMap<String, String>,
}

impl SimOptions {
    /// Names of the embedded media fixtures (see `crates/zoom-sim/fixtures/README.md` for
    /// their content and expected measurements).
    pub fn fixture_names() -> Vec<&'static str> {
        crate::media::FIXTURES.iter().map(|(n, _)| *n).collect()
    }

    /// Bytes of the embedded media fixture `name`.
    pub fn fixture_bytes(name: &str) -> Option<&'static [u8]> {
        crate::media::fixture(name)
    }

    /// Serves file `file_id` from fixture `name` (see [`SimOptions::fixtures`]).
    pub fn serve_fixture(&mut self, file_id: impl Into<String>, name: impl Into<String>) {
        self.fixtures.insert(file_id.into(), name.into());
    }
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            token_ttl_secs: 3600,
            page_token_ttl_secs: 900,
            rate_limits: true,
            rate_limit_scale: 1.0,
            daily_limit: 60_000,
            phone_daily_limit: 30_000,
            fingerprints: true,
            plus_offset_dates: false,
            honour_range: true,
            throttle_bytes_per_sec_per_conn: None,
            fixtures: BTreeMap::new(),
        }
    }
}

/// Parameters of [`Scenario::generate`].
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct GenSpec {
    /// PRNG seed: same spec, same scenario.
    pub seed: u64,
    /// Start of the generated period.
    pub start: DateTime<Utc>,
    /// Number of days covered.
    pub days: u32,
    /// Number of users.
    pub users: usize,
    /// Meetings per day.
    pub meetings_per_day: usize,
    /// Phone calls per day.
    pub calls_per_day: usize,
    /// Fraction of calls that are recorded.
    pub recorded_call_ratio: f64,
    /// Minimum file size in bytes.
    pub min_size: u64,
    /// Maximum file size in bytes.
    pub max_size: u64,
}

impl Default for GenSpec {
    fn default() -> Self {
        GenSpec {
            seed: 42,
            start: DateTime::from_timestamp(1_735_689_600, 0).expect("valid"), // 2025-01-01T00:00:00Z
            days: 3,
            users: 10,
            meetings_per_day: 5,
            calls_per_day: 10,
            recorded_call_ratio: 0.6,
            min_size: 100 * 1024,
            max_size: 3 * 1024 * 1024,
        }
    }
}

/// Small deterministic PRNG (SplitMix64).
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo + 1)
    }
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 >= 1.0 - p
    }
    pub(crate) fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for chunk in out.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        out
    }
    pub(crate) fn uuid(&mut self) -> String {
        uuid::Builder::from_random_bytes(self.bytes::<16>())
            .into_uuid()
            .to_string()
    }
    pub(crate) fn hex32(&mut self) -> String {
        hex::encode(self.bytes::<16>())
    }
    /// Zoom-style id: 22 chars of URL-safe base64.
    pub(crate) fn zoom_id(&mut self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.bytes::<16>())
    }
    /// Meeting UUID: standard base64 of 16 bytes (may contain `/`, `+`, `==`).
    pub(crate) fn meeting_uuid(&mut self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(self.bytes::<16>())
    }
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next_u64() % items.len() as u64) as usize]
    }
}

pub(crate) const FIRST_NAMES: &[&str] = &[
    "Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory",
    "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter", "Yvonne",
];
pub(crate) const LAST_NAMES: &[&str] = &[
    "Anders", "Baker", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jones",
];
pub(crate) const TOPICS: &[&str] = &[
    "Weekly sync",
    "Client review",
    "Trade desk briefing",
    "Compliance training",
    "Sprint planning",
    "Board prep",
    "1:1",
    "Incident review",
];

pub(crate) fn meeting_files(
    rng: &mut Rng,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    participants: &[SimParticipant],
    min_size: u64,
    max_size: u64,
    with_whole: bool,
) -> Vec<SimArchiveFile> {
    let mut files = Vec::new();
    let whole = |rng: &mut Rng, ft: &str, rt: &str, lo: u64, hi: u64| SimArchiveFile {
        id: rng.uuid(),
        file_type: ft.into(),
        recording_type: rt.into(),
        individual: false,
        participant_email: None,
        join: start,
        leave: end,
        size: rng.range(lo, hi),
        available_at: None,
        failed: false,
        deleted: false,
    };
    if with_whole {
        files.push(whole(
            rng,
            "MP4",
            "shared_screen_with_speaker_view",
            min_size,
            max_size,
        ));
        files.push(whole(rng, "M4A", "audio_only", min_size, max_size));
        files.push(whole(rng, "CHAT", "chat_file", 2_000, 20_000));
        files.push(whole(rng, "TRANSCRIPT", "audio_transcript", 4_000, 40_000));
    }
    for p in participants {
        let (join, leave) = (
            p.segments.first().map(|s| s.0).unwrap_or(start),
            p.segments.last().map(|s| s.1).unwrap_or(end),
        );
        files.push(SimArchiveFile {
            id: rng.uuid(),
            file_type: "M4A".into(),
            recording_type: "audio_only".into(),
            individual: true,
            participant_email: Some(p.email.clone()),
            join,
            leave,
            size: rng.range(min_size, max_size),
            available_at: None,
            failed: false,
            deleted: false,
        });
    }
    files
}

pub(crate) fn participant(
    u: &SimUser,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    rejoin: bool,
) -> SimParticipant {
    let segments = if rejoin {
        let mid = start + (end - start) / 2;
        vec![
            (start, mid - Duration::seconds(60)),
            (mid + Duration::seconds(30), end),
        ]
    } else {
        vec![(start, end)]
    };
    SimParticipant {
        user_id: u.id.clone(),
        name: u.name.clone(),
        email: u.email.clone(),
        segments,
    }
}

pub(crate) fn call_id(rng: &mut Rng) -> String {
    format!(
        "{}",
        7_000_000_000_000_000_000u64 + rng.next_u64() % 999_999_999_999_999_999
    )
}

pub(crate) fn user_party(u: &SimUser) -> SimParty {
    SimParty {
        name: u.name.clone(),
        extension_number: u.extension.map(|e| e.to_string()).unwrap_or_default(),
    }
}

pub(crate) fn user_owner(u: &SimUser) -> SimOwner {
    SimOwner {
        kind: "user".into(),
        id: u.id.clone(),
        name: u.name.clone(),
        extension_number: u.extension.unwrap_or(0),
    }
}

/// Inputs of [`make_call`]: a call between one user and an outside number.
pub(crate) struct CallParams<'a> {
    pub(crate) start: DateTime<Utc>,
    pub(crate) secs: i64,
    pub(crate) user: &'a SimUser,
    pub(crate) inbound: bool,
    pub(crate) external_number: String,
    pub(crate) external_name: String,
    pub(crate) result: &'a str,
    pub(crate) recordings: u8,
    pub(crate) min_size: u64,
    pub(crate) max_size: u64,
}

pub(crate) fn make_call(rng: &mut Rng, p: CallParams<'_>) -> SimCall {
    let end = p.start + Duration::seconds(p.secs);
    let ext = p.user.extension.map(|e| e.to_string()).unwrap_or_default();
    let (caller_number, caller_name, caller_type, callee_number, callee_name, callee_type) =
        if p.inbound {
            (
                p.external_number,
                p.external_name,
                2,
                ext.clone(),
                p.user.name.clone(),
                1,
            )
        } else {
            (
                ext.clone(),
                p.user.name.clone(),
                1,
                p.external_number,
                p.external_name,
                2,
            )
        };
    let mut recordings = Vec::new();
    let mut end = end;
    for i in 0..p.recordings {
        let rs = p.start + Duration::seconds(2 + i as i64 * (p.secs / 2));
        let size = rng.range(p.min_size, p.max_size);
        // The generated MP3 is 128 kbps (16,000 bytes a second): the recording lasts as
        // long as its bytes play, so Zoom's `duration` agrees with the decoded length.
        let re = rs + Duration::milliseconds((size * 1000 / MP3_BYTES_PER_SEC).max(1000) as i64);
        end = end.max(re);
        recordings.push(SimPhoneRecording {
            id: rng.hex32(),
            recording_type: if i == 0 { "Automatic" } else { "OnDemand" }.into(),
            start: rs,
            end: re,
            size,
            available_at: end + Duration::seconds(rng.range(30, 300) as i64),
            deleted: false,
        });
    }
    SimCall {
        call_id: call_id(rng),
        start: p.start,
        end,
        direction: if p.inbound { "inbound" } else { "outbound" }.into(),
        caller_number,
        caller_name,
        caller_number_type: caller_type,
        callee_number,
        callee_name,
        callee_number_type: callee_type,
        owner: user_owner(p.user),
        accepted_by: p.inbound.then(|| user_party(p.user)),
        outgoing_by: (!p.inbound).then(|| user_party(p.user)),
        result: p.result.into(),
        recordings,
    }
}

/// Bytes per second of the generated phone MP3 (MPEG-1 Layer III, 128 kbps).
pub(crate) const MP3_BYTES_PER_SEC: u64 = 16_000;

/// Length of an embedded fixture (0 if unknown).
pub(crate) fn fixture_len(name: &str) -> u64 {
    crate::media::fixture(name).map_or(0, |b| b.len() as u64)
}

pub(crate) fn external_number(rng: &mut Rng) -> String {
    format!("+1{}", rng.range(2_012_000_000, 9_899_999_999))
}

impl Scenario {
    /// A small hand-shaped demo scenario covering the quirks, in the 3 days before `now`.
    ///
    /// One account `demo-account` (client `demo-client` / `demo-secret`), six users,
    /// eight meetings (incl. a breakout room, an external-host meeting, a UUID with `/`, `//`,
    /// `+`, `=`, a late-completing meeting, a failed file) and twenty phone calls.
    pub fn demo(now: DateTime<Utc>) -> Scenario {
        let mut rng = Rng::new(0xDE30);
        let names = [
            ("alice", "Alice Anders", Some(1001)),
            ("bob", "Bob Baker", Some(1002)),
            ("carol", "Carol Chen", Some(1003)),
            ("dave", "Dave Diaz", Some(1004)),
            ("erin", "Erin Evans", Some(1005)),
            ("frank", "Frank Fischer", None),
        ];
        let users: Vec<SimUser> = names
            .iter()
            .enumerate()
            .map(|(i, (login, name, ext))| SimUser {
                id: rng.zoom_id(),
                email: format!("{login}@acme.example"),
                name: (*name).into(),
                extension: *ext,
                phone_number: ext.map(|_| format!("+1415555{:04}", 100 + i)),
                status: UserStatus::Active,
            })
            .collect();
        let (kb, mb) = (1024u64, 1024u64 * 1024);
        let base = now - Duration::days(3);
        let mut meetings = Vec::new();
        let mut add_meeting = |rng: &mut Rng,
                               uuid: String,
                               host: usize,
                               topic: &str,
                               start: DateTime<Utc>,
                               mins: i64,
                               people: &[usize],
                               whole: bool| {
            let end = start + Duration::minutes(mins);
            let participants: Vec<SimParticipant> = people
                .iter()
                .enumerate()
                .map(|(k, &u)| participant(&users[u], start, end, k == 1 && mins > 20))
                .collect();
            let files = meeting_files(rng, start, end, &participants, 100 * kb, 3 * mb, whole);
            meetings.push(SimMeeting {
                uuid,
                id: rng.range(81_000_000_000, 99_999_999_999) as i64,
                host_id: users[host].id.clone(),
                topic: topic.into(),
                start_time: start,
                duration_secs: (mins * 60) as u32,
                external: false,
                parent_uuid: None,
                complete_time: end + Duration::minutes(12),
                participants,
                files,
            });
        };
        let h = |d: i64, hh: i64| base + Duration::days(d) + Duration::hours(hh);
        let main_uuid = rng.meeting_uuid();
        add_meeting(
            &mut rng,
            main_uuid.clone(),
            0,
            "Weekly sync",
            h(0, 9),
            45,
            &[0, 1, 2],
            true,
        );
        let u = rng.meeting_uuid();
        add_meeting(&mut rng, u, 1, "Weekly sync", h(0, 9), 20, &[1, 2], false);
        let u = rng.meeting_uuid();
        add_meeting(&mut rng, u, 3, "Partner call", h(0, 14), 30, &[0, 3], true);
        add_meeting(
            &mut rng,
            "/Xk2//qQ+Lm9eR3w7Tz4A==".into(),
            2,
            "Trade desk briefing",
            h(1, 8),
            25,
            &[2, 4],
            true,
        );
        let u = rng.meeting_uuid();
        add_meeting(
            &mut rng,
            u,
            4,
            "Compliance training",
            h(1, 15),
            60,
            &[4, 5, 0, 1],
            true,
        );
        let u = rng.meeting_uuid();
        add_meeting(&mut rng, u, 5, "1:1", h(2, 10), 15, &[5, 3], true);
        let u = rng.meeting_uuid();
        add_meeting(
            &mut rng,
            u,
            0,
            "Client review",
            h(2, 16),
            40,
            &[0, 2, 3],
            true,
        );
        let u = rng.meeting_uuid();
        add_meeting(
            &mut rng,
            u,
            1,
            "Incident review",
            now - Duration::minutes(90),
            30,
            &[1, 4],
            true,
        );
        // Breakout room of the first meeting.
        meetings[1].parent_uuid = Some(main_uuid);
        meetings[1].id = meetings[0].id;
        // External-host meeting: PII stripped; host is not an account user.
        meetings[2].external = true;
        meetings[2].host_id = "ExtHost_9aQ1xYz7Lq0w".into();
        // Failed closed captions on the training.
        let training_start = meetings[4].start_time;
        let training_end = training_start + Duration::minutes(60);
        meetings[4].files.push(SimArchiveFile {
            id: rng.uuid(),
            file_type: "CC".into(),
            recording_type: "closed_caption".into(),
            individual: false,
            participant_email: None,
            join: training_start,
            leave: training_end,
            size: 12_000,
            available_at: None,
            failed: true,
            deleted: false,
        });
        // Late-completing archive: completes one hour after `now`.
        let last = meetings.len() - 1;
        meetings[last].complete_time = now + Duration::hours(1);

        // Decodable media: every meeting audio and video file is real media (the fixtures),
        // so the CDRs carry measured lengths, codecs, silence and voice quality. Alice's and
        // Bob's individual audio of the first "Weekly sync" overlap for a known span
        // (talk-over), and so do the second and third recorded users of every meeting.
        let mut options = SimOptions::default();
        for m in meetings.iter_mut() {
            // Individual audio alternates between the two parties' fixtures.
            let mut individual = 0usize;
            for f in m.files.iter_mut() {
                let fixture = match f.file_type.as_str() {
                    "MP4" => "meeting_video.mp4",
                    "M4A" if f.individual => {
                        individual += 1;
                        if individual.is_multiple_of(2) {
                            "meeting_audio_party_b.m4a"
                        } else {
                            "meeting_audio.m4a"
                        }
                    }
                    "M4A" => "meeting_audio.m4a",
                    _ => continue,
                };
                f.size = fixture_len(fixture);
                options.serve_fixture(f.id.clone(), fixture);
            }
        }

        let mut calls = Vec::new();
        let results = ["Call connected", "Call connected", "Missed", "Voicemail"];
        for i in 0..20u32 {
            let start = base
                + Duration::hours(2 + (i as i64 * 7) / 2)
                + Duration::minutes(rng.range(0, 50) as i64);
            let phone_users = [0usize, 1, 2, 3, 4];
            let user = &users[*rng.pick(&phone_users)];
            let result = if i % 5 == 4 {
                *rng.pick(&results)
            } else {
                "Call connected"
            };
            let recorded = result == "Call connected" && i % 3 != 2;
            let num = external_number(&mut rng);
            let name = format!("{} {}", rng.pick(FIRST_NAMES), rng.pick(LAST_NAMES));
            let secs = rng.range(40, 600) as i64;
            let mut call = make_call(
                &mut rng,
                CallParams {
                    start,
                    secs,
                    user,
                    inbound: i % 2 == 0,
                    external_number: num,
                    external_name: name,
                    result,
                    recordings: if !recorded {
                        0
                    } else if i == 6 {
                        2
                    } else {
                        1
                    },
                    min_size: 100 * kb,
                    max_size: 3 * mb,
                },
            );
            if i == 10 {
                // Call-queue call accepted by Bob.
                call.direction = "inbound".into();
                call.owner = SimOwner {
                    kind: "callQueue".into(),
                    id: "CQ_trade_desk_01".into(),
                    name: "Trade Desk Queue".into(),
                    extension_number: 2001,
                };
                call.callee_number = "2001".into();
                call.callee_name = "Trade Desk Queue".into();
                call.accepted_by = Some(user_party(&users[1]));
                call.outgoing_by = None;
            }
            calls.push(call);
        }
        // Decodable media: the first two phone recordings are a real Zoom-Phone-like MP3.
        for rec in calls
            .iter_mut()
            .flat_map(|c| c.recordings.iter_mut())
            .take(2)
        {
            rec.size = fixture_len("phone_tone_silence.mp3");
            rec.end = rec.start + Duration::seconds(20);
            options.serve_fixture(rec.id.clone(), "phone_tone_silence.mp3");
        }
        Scenario {
            accounts: vec![SimAccount {
                account_id: "demo-account".into(),
                client_id: "demo-client".into(),
                client_secret: "demo-secret".into(),
                users,
                meetings,
                calls,
            }],
            options,
        }
    }

    /// One account (`single-account`, client `single-client` / `single-secret`) with one user,
    /// `alice@acme.example` (extension 1001), and one meeting that ended two hours before `now`
    /// whose only file is her individual M4A `big-file` of `size` bytes. For benchmarks and
    /// large-file tests; fingerprints are off (hashing gigabytes at listing time would dominate).
    pub fn single_file(now: DateTime<Utc>, size: u64) -> Scenario {
        let start = now - Duration::hours(3);
        let end = start + Duration::hours(1);
        let email = "alice@acme.example".to_string();
        Scenario {
            accounts: vec![SimAccount {
                account_id: "single-account".into(),
                client_id: "single-client".into(),
                client_secret: "single-secret".into(),
                users: vec![SimUser {
                    id: "u-alice".into(),
                    email: email.clone(),
                    name: "Alice".into(),
                    extension: Some(1001),
                    phone_number: None,
                    status: UserStatus::Active,
                }],
                meetings: vec![SimMeeting {
                    uuid: "single-meeting==".into(),
                    id: 81_000_000_001,
                    host_id: "u-alice".into(),
                    topic: "One large file".into(),
                    start_time: start,
                    duration_secs: 3600,
                    external: false,
                    parent_uuid: None,
                    complete_time: end + Duration::minutes(5),
                    participants: vec![SimParticipant {
                        user_id: "u-alice".into(),
                        name: "Alice".into(),
                        email: email.clone(),
                        segments: vec![(start, end)],
                    }],
                    files: vec![SimArchiveFile {
                        id: "big-file".into(),
                        file_type: "M4A".into(),
                        recording_type: "audio_only".into(),
                        individual: true,
                        participant_email: Some(email),
                        join: start,
                        leave: end,
                        size,
                        available_at: None,
                        failed: false,
                        deleted: false,
                    }],
                }],
                calls: vec![],
            }],
            options: SimOptions {
                fingerprints: false,
                ..SimOptions::default()
            },
        }
    }

    /// A deterministic scenario of arbitrary size (one account `gen-account-{seed}`,
    /// client `gen-client` / `gen-secret`): every meeting archived, with individual files
    /// for every participant; `recorded_call_ratio` of the calls recorded, whoever the user.
    pub fn generate(spec: &GenSpec) -> Scenario {
        Self::generate_mixed(spec, 0.0, 0.0, None)
    }

    /// [`Scenario::generate`] with a less ideal account (the `generate` defaults are
    /// `0.0, 0.0, None`, which give exactly the `generate` scenario):
    ///
    /// - `unarchived_ratio`: share of meetings Zoom did not archive (archiving off for the
    ///   host's group, end-to-end encrypted meetings): no files, an archive that never
    ///   completes (so the archive listing, by completion time, never shows them) and
    ///   `has_archiving: false` in the dashboard;
    /// - `no_individual_ratio`: share of the archived meetings without individual
    ///   (per-participant) files: whole-meeting files only, so the participants API is the
    ///   only way to know who was there;
    /// - `recording_users`: `Some(k)` records only the calls of the first `k` users (the
    ///   users with automatic call recording); `recorded_call_ratio` is then the share of
    ///   calls connected (the others are missed, never recorded), and the connected calls of
    ///   the other users are connected but not recorded.
    pub fn generate_mixed(
        spec: &GenSpec,
        unarchived_ratio: f64,
        no_individual_ratio: f64,
        recording_users: Option<usize>,
    ) -> Scenario {
        // Draws only when a knob is set, so the defaults keep `generate`'s sequence.
        let draw = |rng: &mut Rng, p: f64| p > 0.0 && rng.chance(p);
        let mut rng = Rng::new(spec.seed);
        let n_users = spec.users.max(2);
        let users: Vec<SimUser> = (0..n_users)
            .map(|i| {
                let first = FIRST_NAMES[i % FIRST_NAMES.len()];
                let last = LAST_NAMES[(i / FIRST_NAMES.len()) % LAST_NAMES.len()];
                SimUser {
                    id: rng.zoom_id(),
                    email: format!(
                        "{}.{}{}@corp.example",
                        first.to_lowercase(),
                        last.to_lowercase(),
                        i
                    ),
                    name: format!("{first} {last}"),
                    extension: Some(1001 + i as u32),
                    phone_number: Some(format!("+1415556{:04}", i)),
                    status: UserStatus::Active,
                }
            })
            .collect();
        let mut meetings = Vec::new();
        let mut calls = Vec::new();
        for day in 0..spec.days as i64 {
            let day_start = spec.start + Duration::days(day);
            for _ in 0..spec.meetings_per_day {
                let start = day_start + Duration::seconds(rng.range(0, 86_399 - 3_600) as i64);
                let mins = rng.range(5, 60) as i64;
                let end = start + Duration::minutes(mins);
                let host = rng.range(0, n_users as u64 - 1) as usize;
                let count = rng.range(1, 4.min(n_users as u64)) as usize;
                let mut people = vec![host];
                while people.len() < count {
                    let p = rng.range(0, n_users as u64 - 1) as usize;
                    if !people.contains(&p) {
                        people.push(p);
                    }
                }
                let participants: Vec<SimParticipant> = people
                    .iter()
                    .map(|&p| participant(&users[p], start, end, rng.chance(0.1)))
                    .collect();
                let with_whole = rng.chance(0.7);
                let unarchived = draw(&mut rng, unarchived_ratio);
                let whole_only = !unarchived && draw(&mut rng, no_individual_ratio);
                let mut files = meeting_files(
                    &mut rng,
                    start,
                    end,
                    &participants,
                    spec.min_size,
                    spec.max_size,
                    with_whole || whole_only,
                );
                if whole_only {
                    files.retain(|f| !f.individual);
                }
                if unarchived {
                    files.clear();
                }
                meetings.push(SimMeeting {
                    uuid: rng.meeting_uuid(),
                    id: rng.range(81_000_000_000, 99_999_999_999) as i64,
                    host_id: users[host].id.clone(),
                    topic: (*rng.pick(TOPICS)).into(),
                    start_time: start,
                    duration_secs: (mins * 60) as u32,
                    external: rng.chance(0.05),
                    parent_uuid: None,
                    complete_time: {
                        let done = end + Duration::minutes(rng.range(5, 40) as i64);
                        if unarchived {
                            end + Duration::days(36_500)
                        } else {
                            done
                        }
                    },
                    participants,
                    files,
                });
            }
            for _ in 0..spec.calls_per_day {
                let start = day_start + Duration::seconds(rng.range(0, 86_399 - 1_800) as i64);
                let user_index = rng.range(0, n_users as u64 - 1) as usize;
                let user = &users[user_index];
                let connected = rng.chance(spec.recorded_call_ratio);
                let recorded = connected && recording_users.is_none_or(|k| user_index < k);
                let num = external_number(&mut rng);
                let name = format!("{} {}", rng.pick(FIRST_NAMES), rng.pick(LAST_NAMES));
                let secs = rng.range(20, 1_200) as i64;
                let inbound = rng.chance(0.5);
                let call = make_call(
                    &mut rng,
                    CallParams {
                        start,
                        secs,
                        user,
                        inbound,
                        external_number: num,
                        external_name: name,
                        result: if connected {
                            "Call connected"
                        } else {
                            "Missed"
                        },
                        recordings: u8::from(recorded),
                        min_size: spec.min_size,
                        max_size: spec.max_size,
                    },
                );
                calls.push(call);
            }
        }
        Scenario {
            accounts: vec![SimAccount {
                account_id: format!("gen-account-{}", spec.seed),
                client_id: "gen-client".into(),
                client_secret: "gen-secret".into(),
                users,
                meetings,
                calls,
            }],
            options: SimOptions::default(),
        }
    }
}
