//! The golden scenario: a small hand-built account whose every case has a known answer
//! (the CDR metadata golden test, `tests/tests/golden.rs`). All media is real, decodable
//! fixture media, so the media fields are known too.

use crate::scenario::{
    Scenario, SimAccount, SimArchiveFile, SimCall, SimMeeting, SimOptions, SimOwner,
    SimParticipant, SimParty, SimPhoneRecording, SimUser, UserStatus, fixture_len,
};
use chrono::{DateTime, Duration, Utc};

const MP3: &str = "phone_tone_silence.mp3";
const AUDIO_A: &str = "meeting_audio.m4a";
const AUDIO_B: &str = "meeting_audio_party_b.m4a";
const VIDEO: &str = "meeting_video.mp4";

struct Build {
    options: SimOptions,
    meetings: Vec<SimMeeting>,
    calls: Vec<SimCall>,
}

impl Build {
    fn file(
        &mut self,
        id: &str,
        file_type: &str,
        individual: Option<&str>,
        span: (DateTime<Utc>, DateTime<Utc>),
        fixture: Option<&str>,
    ) -> SimArchiveFile {
        let size = match fixture {
            Some(f) => {
                self.options.serve_fixture(id, f);
                fixture_len(f)
            }
            None => 4_000,
        };
        SimArchiveFile {
            id: id.into(),
            file_type: file_type.into(),
            recording_type: match file_type {
                "MP4" => "shared_screen_with_speaker_view",
                "M4A" => "audio_only",
                _ => "chat_file",
            }
            .into(),
            individual: individual.is_some(),
            participant_email: individual.map(Into::into),
            join: span.0,
            leave: span.1,
            size,
            available_at: None,
            failed: false,
            deleted: false,
        }
    }

    fn recording(&mut self, id: &str, start: DateTime<Utc>) -> SimPhoneRecording {
        self.options.serve_fixture(id, MP3);
        SimPhoneRecording {
            id: id.into(),
            recording_type: "Automatic".into(),
            start,
            // The fixture is 20 s long: Zoom's duration agrees with the file.
            end: start + Duration::seconds(20),
            size: fixture_len(MP3),
            available_at: start + Duration::minutes(2),
            deleted: false,
        }
    }
}

fn user(id: &str, login: &str, name: &str, ext: Option<u32>) -> SimUser {
    SimUser {
        id: id.into(),
        email: format!("{login}@acme.example"),
        name: name.into(),
        extension: ext,
        phone_number: ext.map(|e| format!("+1415555{e:04}")),
        status: UserStatus::Active,
    }
}

fn part(u: &SimUser, segments: Vec<(DateTime<Utc>, DateTime<Utc>)>) -> SimParticipant {
    SimParticipant {
        user_id: u.id.clone(),
        name: u.name.clone(),
        email: u.email.clone(),
        segments,
    }
}

fn party(u: &SimUser) -> SimParty {
    SimParty {
        name: u.name.clone(),
        extension_number: u.extension.map(|e| e.to_string()).unwrap_or_default(),
    }
}

fn owner(u: &SimUser) -> SimOwner {
    SimOwner {
        kind: "user".into(),
        id: u.id.clone(),
        name: u.name.clone(),
        extension_number: u.extension.unwrap_or_default(),
    }
}

impl Scenario {
    /// The golden account (`golden-account`, client `golden-client` / `golden-secret`):
    /// users Alice (1001), Bob (1002), Carol (1003) and Dave (1004, never configured in the
    /// golden test); numbers `+1415555xxxx` are the organisation's DIDs. Everything happened
    /// on the day before `now`:
    ///
    /// Meetings
    /// 1. `golden-voice-video==` "Desk review" 09:00–09:30: Alice, Bob and Dave, individual
    ///    audio each (Alice's and Bob's overlap 2 s in 14 s of speech), the meeting video,
    ///    audio and chat.
    /// 2. `golden-rejoin==` "Rejoin" 10:00–10:40: Carol leaves at 10:15 and rejoins at 10:20
    ///    (two individual files).
    /// 3. `golden-breakout==` "Breakout A" 09:10–09:20, breakout room of meeting 1: Alice.
    /// 4. `golden-external==`: a meeting hosted outside the account (topic and host removed)
    ///    11:00–11:20: Alice.
    /// 5. `golden-noindiv==` "All hands" 13:00–14:00 without individual files (video, audio):
    ///    Bob 13:00–14:00, Carol 13:00–13:20 and 13:30–14:00.
    ///
    /// Calls (each recording 20 s, the MP3 fixture)
    /// 1. `9100000000000000001`: Alice (1001) calls Bob (1002), both recorded (one
    ///    recording each, owner Alice outbound, owner Bob inbound).
    /// 2. `9100000000000000002`: `+442071234567` calls Carol's DID `+14155551003` (Zoom
    ///    calls that number external).
    /// 3. `9100000000000000003`: Alice calls `+33123456789`.
    /// 4. `9100000000000000004`: `+442071234567` forwarded by Alice's line to `+33123456789`.
    /// 5. `9100000000000000005`: `+12125550123` calls the Trade Desk queue (2001), Bob accepts.
    /// 6. `9100000000000000006`: Dave (1004) calls `+33123456789` (Dave is not recorded).
    /// 7. `9100000000000000007`: `+442071234567` calls Carol (1003); Zoom's duration says
    ///    60 s, the recording holds 20 s.
    pub fn golden(now: DateTime<Utc>) -> Scenario {
        let day = (now - Duration::days(1)).date_naive();
        let at = |h: u32, m: u32| {
            DateTime::<Utc>::from_naive_utc_and_offset(day.and_hms_opt(h, m, 0).unwrap(), Utc)
        };
        let alice = user("u-alice", "alice", "Alice Anders", Some(1001));
        let bob = user("u-bob", "bob", "Bob Baker", Some(1002));
        let carol = user("u-carol", "carol", "Carol Chen", Some(1003));
        let dave = user("u-dave", "dave", "Dave Diaz", Some(1004));
        let mut b = Build {
            options: SimOptions::default(),
            meetings: Vec::new(),
            calls: Vec::new(),
        };
        let meeting = |uuid: &str,
                       topic: &str,
                       host: &SimUser,
                       span: (DateTime<Utc>, DateTime<Utc>)| SimMeeting {
            uuid: uuid.into(),
            id: 85_000_000_000 + uuid.len() as i64,
            host_id: host.id.clone(),
            topic: topic.into(),
            start_time: span.0,
            duration_secs: (span.1 - span.0).num_seconds() as u32,
            external: false,
            parent_uuid: None,
            complete_time: span.1 + Duration::minutes(10),
            participants: vec![],
            files: vec![],
        };

        // 1. Voice + video users, talk-over.
        let s1 = (at(9, 0), at(9, 30));
        let mut m = meeting("golden-voice-video==", "Desk review", &alice, s1);
        m.participants = vec![
            part(&alice, vec![s1]),
            part(&bob, vec![s1]),
            part(&dave, vec![s1]),
        ];
        m.files = vec![
            b.file("g1-video", "MP4", None, s1, Some(VIDEO)),
            b.file("g1-audio", "M4A", None, s1, Some(AUDIO_A)),
            b.file("g1-chat", "CHAT", None, s1, None),
            b.file("g1-alice", "M4A", Some(&alice.email), s1, Some(AUDIO_A)),
            b.file("g1-bob", "M4A", Some(&bob.email), s1, Some(AUDIO_B)),
            b.file("g1-dave", "M4A", Some(&dave.email), s1, Some(AUDIO_A)),
        ];
        b.meetings.push(m);

        // 2. Rejoin.
        let s2 = (at(10, 0), at(10, 40));
        let (c1, c2) = ((at(10, 0), at(10, 15)), (at(10, 20), at(10, 40)));
        let mut m = meeting("golden-rejoin==", "Rejoin", &carol, s2);
        m.participants = vec![part(&carol, vec![c1, c2])];
        m.files = vec![
            b.file("g2-carol-1", "M4A", Some(&carol.email), c1, Some(AUDIO_A)),
            b.file("g2-carol-2", "M4A", Some(&carol.email), c2, Some(AUDIO_A)),
        ];
        b.meetings.push(m);

        // 3. Breakout room of meeting 1.
        let s3 = (at(9, 10), at(9, 20));
        let mut m = meeting("golden-breakout==", "Breakout A", &alice, s3);
        m.parent_uuid = Some("golden-voice-video==".into());
        m.participants = vec![part(&alice, vec![s3])];
        m.files = vec![b.file("g3-alice", "M4A", Some(&alice.email), s3, Some(AUDIO_A))];
        b.meetings.push(m);

        // 4. External host.
        let s4 = (at(11, 0), at(11, 20));
        let mut m = meeting("golden-external==", "Partner pitch", &alice, s4);
        m.external = true;
        m.host_id = "ExtHost_9aQ1xYz7Lq0w".into();
        m.participants = vec![part(&alice, vec![s4])];
        m.files = vec![b.file("g4-alice", "M4A", Some(&alice.email), s4, Some(AUDIO_A))];
        b.meetings.push(m);

        // 5. No individual files.
        let s5 = (at(13, 0), at(14, 0));
        let mut m = meeting("golden-noindiv==", "All hands", &bob, s5);
        m.participants = vec![
            part(&bob, vec![s5]),
            part(
                &carol,
                vec![(at(13, 0), at(13, 20)), (at(13, 30), at(14, 0))],
            ),
            part(&dave, vec![s5]),
        ];
        m.files = vec![
            b.file("g5-video", "MP4", None, s5, Some(VIDEO)),
            b.file("g5-audio", "M4A", None, s5, Some(AUDIO_A)),
        ];
        b.meetings.push(m);

        // Calls.
        let ext_uk = ("+442071234567", "Uma King");
        let ext_fr = ("+33123456789", "Fabrice Roux");
        let call = |id: u64,
                    start: DateTime<Utc>,
                    dir: &str,
                    from: (&str, &str, u8),
                    to: (&str, &str, u8),
                    own: SimOwner| SimCall {
            call_id: format!("91000000000000000{id:02}"),
            start,
            end: start + Duration::seconds(20),
            direction: dir.into(),
            caller_number: from.0.into(),
            caller_name: from.1.into(),
            caller_number_type: from.2,
            callee_number: to.0.into(),
            callee_name: to.1.into(),
            callee_number_type: to.2,
            owner: own,
            accepted_by: None,
            outgoing_by: None,
            result: "Call connected".into(),
            recordings: vec![],
        };
        let t1 = at(15, 0);
        let mut c = call(
            1,
            t1,
            "outbound",
            ("1001", &alice.name, 1),
            ("1002", &bob.name, 1),
            owner(&alice),
        );
        c.recordings
            .push(b.recording("a0000000000000000000000000000001", t1));
        b.calls.push(c);
        let mut c = call(
            1,
            t1,
            "inbound",
            ("1001", &alice.name, 1),
            ("1002", &bob.name, 1),
            owner(&bob),
        );
        c.recordings
            .push(b.recording("b0000000000000000000000000000001", t1));
        b.calls.push(c);
        let t2 = at(15, 10);
        let mut c = call(
            2,
            t2,
            "inbound",
            (ext_uk.0, ext_uk.1, 2),
            ("+14155551003", &carol.name, 2),
            owner(&carol),
        );
        c.recordings
            .push(b.recording("c0000000000000000000000000000002", t2));
        b.calls.push(c);
        let t3 = at(15, 20);
        let mut c = call(
            3,
            t3,
            "outbound",
            ("1001", &alice.name, 1),
            (ext_fr.0, ext_fr.1, 2),
            owner(&alice),
        );
        c.recordings
            .push(b.recording("a0000000000000000000000000000003", t3));
        b.calls.push(c);
        let t4 = at(15, 30);
        let mut c = call(
            4,
            t4,
            "inbound",
            (ext_uk.0, ext_uk.1, 2),
            (ext_fr.0, ext_fr.1, 2),
            owner(&alice),
        );
        c.recordings
            .push(b.recording("a0000000000000000000000000000004", t4));
        b.calls.push(c);
        let t5 = at(15, 40);
        let mut c = call(
            5,
            t5,
            "inbound",
            ("+12125550123", "Ray Lee", 2),
            ("2001", "Trade Desk Queue", 1),
            SimOwner {
                kind: "callQueue".into(),
                id: "CQ_trade_desk_01".into(),
                name: "Trade Desk Queue".into(),
                extension_number: 2001,
            },
        );
        c.accepted_by = Some(party(&bob));
        c.recordings
            .push(b.recording("d0000000000000000000000000000005", t5));
        b.calls.push(c);
        let t6 = at(15, 50);
        let mut c = call(
            6,
            t6,
            "outbound",
            ("1004", &dave.name, 1),
            (ext_fr.0, ext_fr.1, 2),
            owner(&dave),
        );
        c.recordings
            .push(b.recording("e0000000000000000000000000000006", t6));
        b.calls.push(c);

        // 7. Zoom says the recording lasted 60 s; the file holds 20 s (a media error).
        let t7 = at(16, 0);
        let mut c = call(
            7,
            t7,
            "inbound",
            (ext_uk.0, ext_uk.1, 2),
            ("1003", &carol.name, 1),
            owner(&carol),
        );
        let mut r = b.recording("c0000000000000000000000000000007", t7);
        r.end = t7 + Duration::seconds(60);
        c.end = r.end;
        c.recordings.push(r);
        b.calls.push(c);

        Scenario {
            accounts: vec![SimAccount {
                account_id: "golden-account".into(),
                client_id: "golden-client".into(),
                client_secret: "golden-secret".into(),
                users: vec![alice, bob, carol, dave],
                meetings: b.meetings,
                calls: b.calls,
            }],
            options: b.options,
        }
    }
}
