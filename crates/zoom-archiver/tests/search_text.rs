//! Free text over transcripts end to end on the embedded default (issue 17): `run --once`
//! archives the simulator's meetings with their transcripts, captions and chat, the
//! downloader indexes each document's words, and a search by a word read from an archived
//! transcript finds the conversations that have it (and only those); a word of no document
//! finds nothing.

use archiver_core::{
    CdrSearch, ContentKind, FileQuery, FileState, MetaStore, SearchScope, TenantId,
};
use std::path::Path;
use std::process::Output;
use zoom_sim::{Scenario, SimServer};

async fn run(cfg: &Path, args: &[&str]) -> Output {
    let mut argv = vec!["--config".to_string(), cfg.display().to_string()];
    argv.extend(args.iter().map(|a| a.to_string()));
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_zoom-archiver"))
            .args(&argv)
            .env_remove("RUST_LOG")
            .env("ZA_SEARCH_SECRET", "demo-secret")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_word_of_an_archived_transcript_finds_its_conversations() {
    let sim = SimServer::start(Scenario::demo(chrono::Utc::now()))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = dir.path().join("archiver.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"[storage]
data_dir = "{data}"

[download]
retry_base = "10ms"
max_attempts = 2
analyse_media = false

[[tenants]]
id = "acme"
account_id = "demo-account"
client_id = "demo-client"
client_secret_env = "ZA_SEARCH_SECRET"
api_base_url = "{api}"
oauth_url = "{oauth}"
initial_lookback = "7d"

[[tenants.users]]
email = "alice@acme.example"
extension = "1001"
mode = "voice"

[[tenants.users]]
email = "bob@acme.example"
extension = "1002"
mode = "video"
"#,
            data = data.display(),
            api = sim.api_base_url(),
            oauth = sim.oauth_url(),
        ),
    )
    .unwrap();
    let out = run(&cfg, &["run", "--once"]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let meta = archiver_local::SqliteMetaStore::open(data.join("archive.db")).unwrap();
    let files = meta.list_files(&FileQuery::default()).await.unwrap();
    let docs: Vec<_> = files
        .iter()
        .filter(|f| {
            f.content_kind == ContentKind::Document && matches!(f.state, FileState::Archived { .. })
        })
        .collect();
    assert!(!docs.is_empty(), "the demo archives transcripts and chat");
    // A word of one archived transcript, read from the stored object.
    let doc = docs
        .iter()
        .find(|f| f.file_type == "TRANSCRIPT")
        .or(docs.first())
        .unwrap();
    let bytes = std::fs::read(data.join("objects").join(doc.object_key.as_str())).unwrap();
    let body = String::from_utf8_lossy(&bytes);
    // After the first `"text":"` (transcript JSON), chat's `:\t`, or a caption's timing.
    let start = body
        .find("\"text\":\"")
        .map(|i| i + 8)
        .or_else(|| body.find(":\t").map(|i| i + 2))
        .or_else(|| body.find("-->").map(|i| i + 3))
        .expect("a document with text");
    let word = body[start..]
        .split(|c: char| !c.is_ascii_alphabetic())
        .find(|w| w.len() >= 4)
        .expect("a word in the transcript")
        .to_uppercase();
    let search = |text: &str| CdrSearch {
        scope: vec![SearchScope::tenant(TenantId::new("acme").unwrap())],
        text: Some(text.to_string()),
        limit: 1000,
        ..CdrSearch::default()
    };
    let found = meta.search_cdrs(&search(&word)).await.unwrap();
    assert!(
        found
            .cdrs
            .iter()
            .any(|c| c.conversation_id == doc.conversation_id),
        "{word:?} of {} finds its conversation: {:?}",
        doc.object_key,
        found.cdrs.iter().map(|c| &c.cdr_id).collect::<Vec<_>>()
    );
    // Every hit is a conversation with an archived document holding the word.
    for c in &found.cdrs {
        let has = docs.iter().any(|f| {
            f.conversation_id == c.conversation_id
                && std::fs::read(data.join("objects").join(f.object_key.as_str()))
                    .map(|b| {
                        String::from_utf8_lossy(&b)
                            .to_lowercase()
                            .contains(&word.to_lowercase())
                    })
                    .unwrap_or(false)
        });
        assert!(
            has,
            "{} matched {word:?} without a document holding it",
            c.cdr_id
        );
    }
    let none = meta.search_cdrs(&search("zyzzyvas")).await.unwrap();
    assert_eq!(none.total, 0);
    // Through the command line too: `export --query` runs the same search.
    let out = run(
        &cfg,
        &[
            "export",
            "--query",
            "q=zyzzyvas",
            "--out",
            &dir.path().join("none.zip").display().to_string(),
            "--reason",
            "test",
        ],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "nothing matches: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
