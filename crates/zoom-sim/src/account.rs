//! A realistic account generator: the awkward cases of real Zoom accounts, for the archive's
//! attribution tests ([`generate_account`], [`AccountSpec`]).
//!
//! One account `realistic-account-{seed}` (client `realistic-client` / `realistic-secret`)
//! with `users` users (at least two): user `i` has extension `1001 + i`, a direct number
//! (DID) `+1415557xxxx` and the e-mail `first.last{i}@corp.example`; the users listed in
//! `inactive_users` are deactivated ([`UserStatus::Inactive`]) but keep their history: their
//! calls and meetings of the period exist and are recorded like anyone else's. Calls and
//! meetings happen between 07:00 and 19:00 UTC of each day.
//!
//! # Phone calls
//!
//! The shares are exact quotas, not odds: of the `days × calls_per_day` calls, exactly
//! `round(share × count)` are of each kind (and as many are missed), at random positions;
//! likewise for the meetings. So every case is present whenever its share is, and the
//! default spec's counts are fixed (see [`AccountSpec`]'s `Default`). Every call is one of:
//!
//! - **Internal call** A → B (`internal_share`, two distinct users): caller number = A's
//!   extension, callee number = B's extension (both `number_type` 1). Zoom records each
//!   recorded *line* separately: if A is a recording user there is a [`SimCall`] for A's
//!   line (owner A, `direction: "outbound"`), if B is one, a [`SimCall`] for B's line (owner
//!   B, `direction: "inbound"`); both have the same `call_id` and the same start and end,
//!   each has its own recording (own id). On **both** lines `outgoing_by` = A and
//!   `accepted_by` = B: Zoom names the call's parties on every line's recording, which is
//!   what makes a naive archive attribute B's line to A (attribute by `owner`). When neither
//!   line records (or the call was missed), one [`SimCall`] (owner A, no recording) keeps
//!   the call in the call history. A missed internal call has no `accepted_by`.
//! - **Call-queue call** (`queue_share`): an outside number calls a queue (callee number =
//!   the queue's extension, `5000` "Support Queue" or `5001` "Sales Queue", `number_type`
//!   1); owner `{type: "callQueue", id: "cq-support" | "cq-sales", name, extension_number}`,
//!   `direction: "inbound"`, `accepted_by` = the agent (any user of the account) who
//!   answered, no `outgoing_by`. Recorded whenever connected: the queue records regardless
//!   of the agent's own policy.
//! - **Common-area call** (`common_area_share`): a shared phone (`8000` "Lobby Phone" or
//!   `8001` "Warehouse Phone", owner `{type: "commonArea", id: "ca-lobby" | "ca-warehouse"}`)
//!   and an outside number, inbound or outbound. Half of the connected ones (rounded up)
//!   name a user who picked up that shared line (`accepted_by` when inbound, `outgoing_by`
//!   when outbound); the others name nobody. Recorded whenever connected.
//! - **External call** (the rest): one user and an outside number, inbound or outbound:
//!   owner = the user (`type: "user"`), `accepted_by` = the user when inbound, `outgoing_by`
//!   = the user when outbound. Recorded when the user is a recording user and the call
//!   connected.
//!
//! `missed_share` of all calls (of any kind) are not connected (`result: "Missed"`) and
//! never recorded. Recordings are `Automatic`, start 2 s into the call and last as long
//! as their bytes play at 128 kbps (the generated MP3), so Zoom's `duration` agrees with
//! the decoded media.
//! "Recording users" are the users of `recording_users` (automatic call recording on), all
//! users when it is empty. If the shares add up to more than 1, the later kinds get what is
//! left (external last). The recording policy and the user statuses change the recordings
//! (and the lines of internal calls) only: the same seed gives the same calls, meetings and
//! user ids whatever `recording_users` and `inactive_users` say.
//!
//! # Meetings
//!
//! `meetings_per_day` meetings a day, hosted by any user (deactivated ones included), with
//! one to four participants (one in ten leaves and rejoins: two join segments) and the usual
//! archive files: an individual (per-participant) audio file per participant, plus, for
//! most meetings, the whole-meeting video, audio, chat and transcript.
//!
//! - `no_individual_share` of the meetings have whole-meeting files only (no individual
//!   files): only the participants API says who was there.
//! - `breakout_share` of the meetings (chosen among those not hosted outside, which then
//!   have at least two participants) also have one breakout room: an extra [`SimMeeting`]
//!   right after the main one, with `parent_uuid` = the main meeting's UUID, the same
//!   meeting number and host, a subset of the main meeting's participants, its own span
//!   inside the main meeting and its own files (whole-meeting files only if the main
//!   meeting has no individual files).
//! - `external_host_share` of the meetings are hosted by another account (`external: true`,
//!   `host_id` not a user of this account): Zoom strips the id, host and topic from the
//!   listing; one to three users of this account take part (with individual files unless
//!   the meeting is also a whole-files-only one).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::scenario::{
    CallParams, FIRST_NAMES, LAST_NAMES, MP3_BYTES_PER_SEC, Rng, Scenario, SimAccount, SimCall,
    SimMeeting, SimOptions, SimOwner, SimParticipant, SimParty, SimPhoneRecording, SimUser, TOPICS,
    UserStatus, call_id, external_number, make_call, meeting_files, participant, user_owner,
    user_party,
};

/// A realistic account: the awkward cases of real Zoom accounts, for attribution tests.
///
/// [`generate_account`] says what each share produces. The shares are exact quotas:
/// `round(share × count)` of the calls (or meetings) are of that kind.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct AccountSpec {
    /// PRNG seed: same spec, same scenario (byte for byte).
    pub seed: u64,
    /// First day, 00:00 UTC.
    pub start: DateTime<Utc>,
    /// Number of days covered.
    pub days: u32,
    /// Users of the account (at least 2), each with extension `1001 + i` and a DID.
    pub users: usize,
    /// Indexes of the users whose calls Zoom records (automatic call recording); empty = all
    /// users. Out-of-range indexes are ignored.
    pub recording_users: Vec<usize>,
    /// Indexes of deactivated users (status `inactive`); their history stays.
    pub inactive_users: Vec<usize>,
    /// Phone calls a day.
    pub calls_per_day: usize,
    /// Share of calls between two users of the account.
    pub internal_share: f64,
    /// Share of calls from outside into a call queue, answered by an agent user.
    pub queue_share: f64,
    /// Share of calls on a common-area phone.
    pub common_area_share: f64,
    /// Share of calls not connected (never recorded).
    pub missed_share: f64,
    /// Meetings a day (breakout rooms not counted).
    pub meetings_per_day: usize,
    /// Share of archived meetings with whole-meeting files only.
    pub no_individual_share: f64,
    /// Share of meetings that also have one breakout room (a second [`SimMeeting`] with
    /// `parent_uuid` = the main meeting's UUID).
    pub breakout_share: f64,
    /// Share of meetings hosted by another account (`external: true`); their participants
    /// include users of this account.
    pub external_host_share: f64,
    /// Minimum recording / archive media size in bytes.
    pub min_size: u64,
    /// Maximum recording / archive media size in bytes.
    pub max_size: u64,
}

impl Default for AccountSpec {
    fn default() -> Self {
        AccountSpec {
            seed: 7,
            // 2026-11-02T00:00:00Z
            start: DateTime::from_timestamp(1_793_577_600, 0).expect("valid"),
            days: 5,
            users: 13,
            recording_users: vec![],
            inactive_users: vec![],
            calls_per_day: 40,
            internal_share: 0.3,
            queue_share: 0.15,
            common_area_share: 0.05,
            missed_share: 0.1,
            meetings_per_day: 7,
            no_individual_share: 0.2,
            breakout_share: 0.15,
            external_host_share: 0.1,
            min_size: 20_000,
            max_size: 120_000,
        }
    }
}

/// Call queues: (id, name, extension).
const QUEUES: &[(&str, &str, u32)] = &[
    ("cq-support", "Support Queue", 5000),
    ("cq-sales", "Sales Queue", 5001),
];

/// Common-area phones: (id, name, extension).
const COMMON_AREAS: &[(&str, &str, u32)] = &[
    ("ca-lobby", "Lobby Phone", 8000),
    ("ca-warehouse", "Warehouse Phone", 8001),
];

/// Start of the working day, in seconds after midnight (07:00).
const DAY_OPEN: u64 = 7 * 3600;
/// End of the working day, in seconds after midnight (19:00).
const DAY_CLOSE: u64 = 19 * 3600;

impl Scenario {
    /// A realistic account (see [`generate_account`]).
    pub fn generate_account(spec: &AccountSpec) -> Scenario {
        generate_account(spec)
    }
}

/// Builds the realistic account of `spec`: deterministic (same spec, byte-identical
/// scenario JSON). Account `realistic-account-{seed}`, client `realistic-client` /
/// `realistic-secret`; user `i` has extension `1001 + i` and the DID `+1415557xxxx`.
///
/// The phone calls follow Zoom's attribution rules (the full account is described in the
/// source documentation of the `account` module):
///
/// - **internal call** A → B: one [`SimCall`] per *recorded line*, same `call_id`, start and
///   end: owner A (`outbound`) if A records, owner B (`inbound`) if B records, each with its
///   own recording; on **every** line `outgoing_by` = A and `accepted_by` = B. Neither line
///   recorded (or missed): one line, owner A, no recording;
/// - **call-queue call**: owner `callQueue` (`Support Queue` 5000, `Sales Queue` 5001),
///   `inbound` from an outside number, `accepted_by` = the agent user; recorded whenever
///   connected;
/// - **common-area call**: owner `commonArea` (`Lobby Phone` 8000, `Warehouse Phone` 8001)
///   and an outside number; half of the connected ones name the user who picked up the line
///   (`accepted_by` inbound, `outgoing_by` outbound); recorded whenever connected;
/// - **external call**: owner = the user, `accepted_by` (inbound) or `outgoing_by`
///   (outbound) = the user; recorded when the user records and the call connected;
/// - missed calls are never recorded; deactivated users keep their calls and meetings.
///
/// Meetings: individual files by default, `no_individual_share` with whole-meeting files
/// only, breakout rooms (an extra [`SimMeeting`] with `parent_uuid`, the same meeting
/// number, a subset of the participants) and meetings hosted by another account
/// (`external: true`, a host id outside the account).
pub fn generate_account(spec: &AccountSpec) -> Scenario {
    let mut g = Gen {
        rng: Rng::new(spec.seed),
        media: Rng::new(0),
        spec,
        users: users(spec),
        meetings: Vec::new(),
        calls: Vec::new(),
        call_plan: Vec::new(),
        meeting_plan: Vec::new(),
    };
    for u in g.users.iter_mut() {
        u.id = g.rng.zoom_id();
    }
    g.plan();
    for day in 0..i64::from(spec.days) {
        let day_start = spec.start + Duration::days(day);
        for _ in 0..spec.meetings_per_day {
            g.meeting(day_start);
        }
        for _ in 0..spec.calls_per_day {
            g.call(day_start);
        }
    }
    Scenario {
        accounts: vec![SimAccount {
            account_id: format!("realistic-account-{}", spec.seed),
            client_id: "realistic-client".into(),
            client_secret: "realistic-secret".into(),
            users: g.users,
            meetings: g.meetings,
            calls: g.calls,
        }],
        options: SimOptions::default(),
    }
}

/// The users of the spec (ids filled in by the generator).
fn users(spec: &AccountSpec) -> Vec<SimUser> {
    (0..spec.users.max(2))
        .map(|i| {
            let first = FIRST_NAMES[i % FIRST_NAMES.len()];
            let last = LAST_NAMES[(i / FIRST_NAMES.len()) % LAST_NAMES.len()];
            SimUser {
                id: String::new(),
                email: format!(
                    "{}.{}{}@corp.example",
                    first.to_lowercase(),
                    last.to_lowercase(),
                    i
                ),
                name: format!("{first} {last}"),
                extension: Some(1001 + i as u32),
                phone_number: Some(format!("+1415557{:04}", i)),
                status: if spec.inactive_users.contains(&i) {
                    UserStatus::Inactive
                } else {
                    UserStatus::Active
                },
            }
        })
        .collect()
}

/// Generator state.
struct Gen<'a> {
    /// Draws the skeleton: users, times, kinds, parties, meetings.
    rng: Rng,
    /// Draws a call's id and recordings; reseeded from `rng` for every call, so the
    /// recording policy (`recording_users`) changes the recordings and nothing else.
    media: Rng,
    spec: &'a AccountSpec,
    users: Vec<SimUser>,
    meetings: Vec<SimMeeting>,
    calls: Vec<SimCall>,
    /// What each call of the period is, in order (consumed from the back).
    call_plan: Vec<CallPlan>,
    /// What each meeting of the period is, in order (consumed from the back).
    meeting_plan: Vec<MeetingPlan>,
}

/// The kind of one planned call.
#[derive(Clone, Copy)]
struct CallPlan {
    kind: Kind,
    connected: bool,
    /// Common-area call: a user picked up the shared line.
    named: bool,
}

/// The kind of one planned meeting.
#[derive(Clone, Copy, Default)]
struct MeetingPlan {
    external: bool,
    whole_only: bool,
    breakout: bool,
}

/// `round(share × n)`, within `0..=n`.
fn quota(share: f64, n: usize) -> usize {
    ((share.clamp(0.0, 1.0) * n as f64).round() as usize).min(n)
}

/// Which kind of call a draw gave.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Internal,
    Queue,
    CommonArea,
    External,
}

impl Gen<'_> {
    fn records(&self, user: usize) -> bool {
        self.spec.recording_users.is_empty() || self.spec.recording_users.contains(&user)
    }

    fn user_index(&mut self) -> usize {
        self.rng.range(0, self.users.len() as u64 - 1) as usize
    }

    /// A start time inside the working day, leaving `room` seconds before it closes.
    fn start_in(&mut self, day_start: DateTime<Utc>, room: u64) -> DateTime<Utc> {
        day_start + Duration::seconds(self.rng.range(DAY_OPEN, DAY_CLOSE - room) as i64)
    }

    fn sizes(&self) -> (u64, u64) {
        (
            self.spec.min_size,
            self.spec.max_size.max(self.spec.min_size),
        )
    }

    /// One recording of a call line: starts 2 s into the call, lasts as long as its bytes
    /// play at 128 kbps. `available_at` is set by [`Gen::finish`].
    fn recording(&mut self, start: DateTime<Utc>) -> SimPhoneRecording {
        let (lo, hi) = self.sizes();
        let size = self.media.range(lo, hi);
        let rs = start + Duration::seconds(2);
        let re = rs + Duration::milliseconds((size * 1000 / MP3_BYTES_PER_SEC).max(1000) as i64);
        SimPhoneRecording {
            id: self.media.hex32(),
            recording_type: "Automatic".into(),
            start: rs,
            end: re,
            size,
            available_at: re,
            deleted: false,
        }
    }

    /// Extends the lines' end to their recordings and sets when the recordings appear.
    fn finish(&mut self, mut lines: Vec<SimCall>) {
        let end = lines
            .iter()
            .flat_map(|c| c.recordings.iter().map(|r| r.end))
            .chain(lines.iter().map(|c| c.end))
            .max();
        for line in lines.iter_mut() {
            line.end = end.unwrap_or(line.end);
            for r in line.recordings.iter_mut() {
                r.available_at = line.end + Duration::seconds(self.media.range(30, 300) as i64);
            }
        }
        self.calls.extend(lines);
    }

    /// Shuffles `items` in place (Fisher–Yates).
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.rng.range(0, i as u64) as usize;
            items.swap(i, j);
        }
    }

    /// `k` of the `candidates`, chosen at random.
    fn choose(&mut self, mut candidates: Vec<usize>, k: usize) -> Vec<usize> {
        self.shuffle(&mut candidates);
        candidates.truncate(k);
        candidates
    }

    /// Draws the plan of the period: exactly `round(share × count)` calls and meetings of
    /// each kind, at random positions.
    fn plan(&mut self) {
        let s = self.spec;
        let n = s.calls_per_day * s.days as usize;
        let mut left = n;
        let mut kinds = Vec::with_capacity(n);
        for (kind, share) in [
            (Kind::Internal, s.internal_share),
            (Kind::Queue, s.queue_share),
            (Kind::CommonArea, s.common_area_share),
        ] {
            let k = quota(share, n).min(left);
            left -= k;
            kinds.extend(std::iter::repeat_n(kind, k));
        }
        kinds.extend(std::iter::repeat_n(Kind::External, left));
        self.shuffle(&mut kinds);
        let mut plan: Vec<CallPlan> = kinds
            .into_iter()
            .map(|kind| CallPlan {
                kind,
                connected: true,
                named: false,
            })
            .collect();
        for i in self.choose((0..n).collect(), quota(s.missed_share, n)) {
            plan[i].connected = false;
        }
        let shared: Vec<usize> = (0..n)
            .filter(|&i| plan[i].kind == Kind::CommonArea && plan[i].connected)
            .collect();
        let half = shared.len().div_ceil(2);
        for i in self.choose(shared, half) {
            plan[i].named = true;
        }
        plan.reverse();
        self.call_plan = plan;

        let m = s.meetings_per_day * s.days as usize;
        let mut plan = vec![MeetingPlan::default(); m];
        for i in self.choose((0..m).collect(), quota(s.external_host_share, m)) {
            plan[i].external = true;
        }
        for i in self.choose((0..m).collect(), quota(s.no_individual_share, m)) {
            plan[i].whole_only = true;
        }
        let internal: Vec<usize> = (0..m).filter(|&i| !plan[i].external).collect();
        let k = quota(s.breakout_share, m).min(internal.len());
        for i in self.choose(internal, k) {
            plan[i].breakout = true;
        }
        plan.reverse();
        self.meeting_plan = plan;
    }

    fn call(&mut self, day_start: DateTime<Utc>) {
        self.media = Rng::new(self.rng.next_u64());
        let id = call_id(&mut self.media);
        let start = self.start_in(day_start, 1_800);
        let secs = self.rng.range(20, 1_200) as i64;
        let plan = self.call_plan.pop().expect("a planned call");
        let connected = plan.connected;
        let result = if connected {
            "Call connected"
        } else {
            "Missed"
        };
        match plan.kind {
            Kind::Internal => self.internal_call(id, start, secs, connected, result),
            Kind::Queue => self.queue_call(id, start, secs, connected, result),
            Kind::CommonArea => {
                self.common_area_call(id, start, secs, plan.named, connected, result)
            }
            Kind::External => {
                let user = self.user_index();
                let inbound = self.rng.chance(0.5);
                let num = external_number(&mut self.rng);
                let name = self.outside_name();
                let (min_size, max_size) = self.sizes();
                let recorded = connected && self.records(user);
                let mut call = make_call(
                    &mut self.media,
                    CallParams {
                        start,
                        secs,
                        user: &self.users[user],
                        inbound,
                        external_number: num,
                        external_name: name,
                        result,
                        recordings: u8::from(recorded),
                        min_size,
                        max_size,
                    },
                );
                call.call_id = id;
                self.calls.push(call);
            }
        }
    }

    fn outside_name(&mut self) -> String {
        format!(
            "{} {}",
            self.rng.pick(FIRST_NAMES),
            self.rng.pick(LAST_NAMES)
        )
    }

    /// A → B between two users: one line per recorded side, same call id.
    fn internal_call(
        &mut self,
        id: String,
        start: DateTime<Utc>,
        secs: i64,
        connected: bool,
        result: &str,
    ) {
        let a = self.user_index();
        let b = {
            let k = self.rng.range(0, self.users.len() as u64 - 2) as usize;
            if k >= a { k + 1 } else { k }
        };
        let (ua, ub) = (&self.users[a], &self.users[b]);
        let ext = |u: &SimUser| u.extension.map(|e| e.to_string()).unwrap_or_default();
        let base = SimCall {
            call_id: id,
            start,
            end: start + Duration::seconds(secs),
            direction: "outbound".into(),
            caller_number: ext(ua),
            caller_name: ua.name.clone(),
            caller_number_type: 1,
            callee_number: ext(ub),
            callee_name: ub.name.clone(),
            callee_number_type: 1,
            owner: user_owner(ua),
            accepted_by: connected.then(|| user_party(ub)),
            outgoing_by: Some(user_party(ua)),
            result: result.into(),
            recordings: vec![],
        };
        let owner_b = user_owner(ub);
        let mut lines = Vec::new();
        if connected && self.records(a) {
            let mut line = base.clone();
            line.recordings.push(self.recording(start));
            lines.push(line);
        }
        if connected && self.records(b) {
            let mut line = base.clone();
            line.direction = "inbound".into();
            line.owner = owner_b;
            line.recordings.push(self.recording(start));
            lines.push(line);
        }
        if lines.is_empty() {
            lines.push(base);
        }
        self.finish(lines);
    }

    /// An outside number calls a queue; an agent answers.
    fn queue_call(
        &mut self,
        id: String,
        start: DateTime<Utc>,
        secs: i64,
        connected: bool,
        result: &str,
    ) {
        let &(owner_id, name, ext) = self.rng.pick(QUEUES);
        let agent = self.user_index();
        let caller_number = external_number(&mut self.rng);
        let caller_name = self.outside_name();
        let mut call = SimCall {
            call_id: id,
            start,
            end: start + Duration::seconds(secs),
            direction: "inbound".into(),
            caller_number,
            caller_name,
            caller_number_type: 2,
            callee_number: ext.to_string(),
            callee_name: name.into(),
            callee_number_type: 1,
            owner: SimOwner {
                kind: "callQueue".into(),
                id: owner_id.into(),
                name: name.into(),
                extension_number: ext,
            },
            accepted_by: connected.then(|| user_party(&self.users[agent])),
            outgoing_by: None,
            result: result.into(),
            recordings: vec![],
        };
        if connected {
            call.recordings.push(self.recording(start));
        }
        self.finish(vec![call]);
    }

    /// A shared phone and an outside number; half the time a named user picked up the line.
    fn common_area_call(
        &mut self,
        id: String,
        start: DateTime<Utc>,
        secs: i64,
        named: bool,
        connected: bool,
        result: &str,
    ) {
        let &(owner_id, name, ext) = self.rng.pick(COMMON_AREAS);
        let inbound = self.rng.chance(0.5);
        let picker = self.user_index();
        let number = external_number(&mut self.rng);
        let outside = self.outside_name();
        let party: Option<SimParty> = (connected && named).then(|| user_party(&self.users[picker]));
        let (caller_number, caller_name, caller_type, callee_number, callee_name, callee_type) =
            if inbound {
                (number, outside, 2, ext.to_string(), name.to_string(), 1)
            } else {
                (ext.to_string(), name.to_string(), 1, number, outside, 2)
            };
        let mut call = SimCall {
            call_id: id,
            start,
            end: start + Duration::seconds(secs),
            direction: if inbound { "inbound" } else { "outbound" }.into(),
            caller_number,
            caller_name,
            caller_number_type: caller_type,
            callee_number,
            callee_name,
            callee_number_type: callee_type,
            owner: SimOwner {
                kind: "commonArea".into(),
                id: owner_id.into(),
                name: name.into(),
                extension_number: ext,
            },
            accepted_by: if inbound { party.clone() } else { None },
            outgoing_by: if inbound { None } else { party },
            result: result.into(),
            recordings: vec![],
        };
        if connected {
            call.recordings.push(self.recording(start));
        }
        self.finish(vec![call]);
    }

    /// Distinct user indexes, `count` of them (at most the number of users).
    fn people(&mut self, first: Option<usize>, count: usize) -> Vec<usize> {
        let count = count.min(self.users.len());
        let mut people: Vec<usize> = first.into_iter().collect();
        while people.len() < count {
            let p = self.user_index();
            if !people.contains(&p) {
                people.push(p);
            }
        }
        people
    }

    fn meeting(&mut self, day_start: DateTime<Utc>) {
        let start = self.start_in(day_start, 3_600);
        let mins = self.rng.range(10, 60) as i64;
        let end = start + Duration::minutes(mins);
        let plan = self.meeting_plan.pop().expect("a planned meeting");
        let (external, whole_only) = (plan.external, plan.whole_only);
        let with_whole = whole_only || self.rng.chance(0.7);
        let (host_id, people) = if external {
            let host = format!("ext-{}", self.rng.zoom_id());
            let count = self.rng.range(1, 3) as usize;
            (host, self.people(None, count))
        } else {
            let host = self.user_index();
            // A meeting with a breakout room has at least two participants.
            let count = self.rng.range(if plan.breakout { 2 } else { 1 }, 4) as usize;
            (self.users[host].id.clone(), self.people(Some(host), count))
        };
        let participants: Vec<SimParticipant> = people
            .iter()
            .map(|&p| {
                let rejoin = self.rng.chance(0.1);
                participant(&self.users[p], start, end, rejoin)
            })
            .collect();
        let (lo, hi) = self.sizes();
        let mut files = meeting_files(&mut self.rng, start, end, &participants, lo, hi, with_whole);
        if whole_only {
            files.retain(|f| !f.individual);
        }
        let main = SimMeeting {
            uuid: self.rng.meeting_uuid(),
            id: self.rng.range(81_000_000_000, 99_999_999_999) as i64,
            host_id,
            topic: (*self.rng.pick(TOPICS)).into(),
            start_time: start,
            duration_secs: (mins * 60) as u32,
            external,
            parent_uuid: None,
            complete_time: end + Duration::minutes(self.rng.range(5, 40) as i64),
            participants,
            files,
        };
        let breakout = plan.breakout && main.participants.len() >= 2;
        let room = breakout.then(|| self.breakout(&main, whole_only));
        self.meetings.push(main);
        self.meetings.extend(room);
    }

    /// A breakout room of `main`: a subset of its participants, inside its span.
    fn breakout(&mut self, main: &SimMeeting, whole_only: bool) -> SimMeeting {
        let total = i64::from(main.duration_secs);
        let offset = self.rng.range(60, (total / 4).max(60) as u64) as i64;
        let len = self.rng.range(180, (total / 2).max(180) as u64) as i64;
        let start = main.start_time + Duration::seconds(offset);
        let end =
            (start + Duration::seconds(len)).min(main.start_time + Duration::seconds(total - 30));
        let n = main.participants.len();
        let count = self.rng.range(1, n as u64 - 1) as usize;
        let mut picked: Vec<usize> = Vec::new();
        while picked.len() < count {
            let p = self.rng.range(0, n as u64 - 1) as usize;
            if !picked.contains(&p) {
                picked.push(p);
            }
        }
        picked.sort_unstable();
        let participants: Vec<SimParticipant> = picked
            .iter()
            .map(|&i| SimParticipant {
                segments: vec![(start, end)],
                ..main.participants[i].clone()
            })
            .collect();
        let (lo, hi) = self.sizes();
        let mut files = meeting_files(&mut self.rng, start, end, &participants, lo, hi, whole_only);
        if whole_only {
            files.retain(|f| !f.individual);
        }
        SimMeeting {
            uuid: self.rng.meeting_uuid(),
            id: main.id,
            host_id: main.host_id.clone(),
            topic: format!("{} (Breakout Room 1)", main.topic),
            start_time: start,
            duration_secs: (end - start).num_seconds() as u32,
            external: false,
            parent_uuid: Some(main.uuid.clone()),
            complete_time: main.complete_time,
            participants,
            files,
        }
    }
}
