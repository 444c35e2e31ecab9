//! What the Zoom payload parsers keep of Zoom's real sample payloads
//! (`tests/zoom-samples/`, see its README): each parsed page, as JSON, against a reviewed
//! snapshot in `tests/snapshots/`. A parser change that drops or renames a field shows up
//! as a snapshot diff (`cargo insta review`, or `INSTA_UPDATE=always` then `git diff`).

use archiver_core::{
    ArchiveFilesPage, CallHistoryPage, CallPath, DashboardMeetingsPage, ParticipantsPage,
    PhoneRecordingsPage,
};
use serde::de::DeserializeOwned;

fn parse<T: DeserializeOwned>(name: &str) -> T {
    let path = format!("{}/tests/zoom-samples/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} does not parse: {e}"))
}

#[test]
fn archive_files_list() {
    insta::assert_json_snapshot!(parse::<ArchiveFilesPage>("archive_files_list.json"));
}

#[test]
fn phone_recordings_list() {
    insta::assert_json_snapshot!(parse::<PhoneRecordingsPage>("phone_recordings_list.json"));
}

#[test]
fn metrics_participants() {
    insta::assert_json_snapshot!(parse::<ParticipantsPage>("metrics_participants.json"));
}

#[test]
fn metrics_meetings() {
    insta::assert_json_snapshot!(parse::<DashboardMeetingsPage>("metrics_meetings.json"));
}

#[test]
fn call_history() {
    insta::assert_json_snapshot!(parse::<CallHistoryPage>("call_history.json"));
}

/// The legacy call logs parse onto the call history's names.
#[test]
fn call_logs() {
    insta::assert_json_snapshot!(parse::<CallHistoryPage>("call_logs.json"));
}

#[test]
fn call_history_call_path() {
    insta::assert_json_snapshot!(parse::<CallPath>("call_history_call_path.json"));
}
