//! The poller handler on the fixture events, with in-memory ports and an empty Zoom.

use archiver_core::services::poller::{PollOptions, Poller};
use archiver_core::{
    ArchiveDateType, ArchiveMeeting, Download, Page, PhoneRecording, Ports, Source, TenantConfig,
    Window, ZoomApi, ZoomError,
};
use archiver_testkit::{ManualClock, MemBlobStore, MemMetaStore, MemTaskQueue, fixtures};
use async_trait::async_trait;
use lambda_runtime::{Context, LambdaEvent};
use poller::{PollerEnv, PollerInput, handle};
use std::sync::{Arc, Mutex};

/// A Zoom account with nothing recorded; remembers which listings were asked for.
#[derive(Default)]
struct EmptyZoom(Mutex<Vec<&'static str>>);

#[async_trait]
impl ZoomApi for EmptyZoom {
    async fn list_archived_meetings(
        &self,
        _: Window,
        _: ArchiveDateType,
        _: Option<&str>,
    ) -> Result<Page<ArchiveMeeting>, ZoomError> {
        self.0.lock().unwrap().push("meetings");
        Ok(Page {
            items: vec![],
            next_page_token: None,
            to: None,
            total_records: Some(0),
        })
    }
    async fn get_meeting_archive(&self, _: &str) -> Result<Option<ArchiveMeeting>, ZoomError> {
        Ok(None)
    }
    async fn list_meeting_participants(
        &self,
        _: &str,
        _: Option<&str>,
    ) -> Result<Page<archiver_core::MeetingParticipant>, ZoomError> {
        self.0.lock().unwrap().push("participants");
        Ok(Page {
            items: vec![],
            next_page_token: None,
            to: None,
            total_records: Some(0),
        })
    }
    async fn list_phone_recordings(
        &self,
        _: Window,
        _: Option<&str>,
    ) -> Result<Page<PhoneRecording>, ZoomError> {
        self.0.lock().unwrap().push("phone");
        Ok(Page {
            items: vec![],
            next_page_token: None,
            to: None,
            total_records: Some(0),
        })
    }
    async fn download(&self, _: &str) -> Result<Download, ZoomError> {
        Err(ZoomError::NotFound("nothing here".into()))
    }
}

fn event(name: &str) -> serde_json::Value {
    let path = format!("{}/../../infra/events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn env(zoom: Arc<EmptyZoom>) -> PollerEnv {
    let clock = Arc::new(ManualClock::new(fixtures::t0()));
    let ports = Ports {
        blobs: Arc::new(MemBlobStore::new()),
        meta: Arc::new(MemMetaStore::new()),
        queue: Arc::new(MemTaskQueue::new(clock.clone())),
        clock,
    };
    let tenant: TenantConfig = serde_json::from_value(serde_json::json!({
        "id": "acme", "account_id": "acc", "client_id": "cid", "client_secret_ref": "acme/zoom",
        "users": [{"email": "alice@acme.example", "mode": "voice"}]
    }))
    .unwrap();
    PollerEnv {
        poller: Poller::new(ports, "test"),
        tenant,
        zoom,
        options: PollOptions::default(),
    }
}

#[test]
fn both_input_shapes_parse() {
    assert!(matches!(
        serde_json::from_value::<PollerInput>(event("scheduled-event.json")).unwrap(),
        PollerInput::Envelope(_)
    ));
    match serde_json::from_value::<PollerInput>(event("schedule-v2-input.json")).unwrap() {
        PollerInput::Custom(c) => assert_eq!(c.source, Some(Source::Phone)),
        other => panic!("{other:?}"),
    }
    assert!(serde_json::from_value::<PollerInput>(serde_json::json!({"source": "fax"})).is_err());
}

#[tokio::test]
async fn a_scheduled_event_polls_every_source_and_a_custom_input_one() {
    let zoom = Arc::new(EmptyZoom::default());
    let e = env(zoom.clone());
    let results = handle(
        &e,
        LambdaEvent::new(event("scheduled-event.json"), Context::default()),
    )
    .await
    .unwrap();
    assert_eq!(
        results.iter().map(|r| r.source).collect::<Vec<_>>(),
        [Source::Meetings, Source::Phone]
    );
    assert!(
        results
            .iter()
            .all(|r| r.error.is_none() && r.report.is_some())
    );
    assert!(zoom.0.lock().unwrap().contains(&"meetings"));

    let zoom = Arc::new(EmptyZoom::default());
    let e = env(zoom.clone());
    let results = handle(
        &e,
        LambdaEvent::new(event("schedule-v2-input.json"), Context::default()),
    )
    .await
    .unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].source, Source::Phone);
    assert!(!zoom.0.lock().unwrap().contains(&"meetings"));

    assert!(
        handle(
            &e,
            LambdaEvent::new(serde_json::json!({"unexpected": true}), Context::default())
        )
        .await
        .is_err()
    );
}
