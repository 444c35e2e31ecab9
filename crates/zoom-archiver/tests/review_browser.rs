//! The review UI in a real headless Chromium (Debian's `chromium` + `chromedriver`, driven
//! over the W3C WebDriver protocol): log in with the one-time password and set a new one,
//! search for a user, open a conversation, play its audio (`currentTime` advances, Range
//! requests answered 206), click the middle of its waveform (drawn from the stored peaks)
//! and see the audio seek to half its duration, see the transcript, export two
//! conversations and check the ZIP's hashes, log out; without a session the media URL is
//! refused.
//!
//! Skipped (printing "skipped") when Chromium or ChromeDriver is missing, unless
//! `ZA_REQUIRE_BROWSER=1` (set by `.ci/run`). With `ZA_UI_SCREENSHOTS=DIR` the main
//! pages are saved there as PNG (docs/ui/ holds the committed ones).

use archiver_core::ReviewRole;
use archiver_review::{Review, ReviewConfig, accounts};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use zoom_archiver::app::Stores;
use zoom_archiver::config::FileConfig;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Driver {
    http: reqwest::Client,
    base: String,
    child: std::process::Child,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Browser {
    d: Driver,
    sid: String,
}

impl Browser {
    async fn start(profile: &Path) -> Browser {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let child = std::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let d = Driver {
            http: reqwest::Client::new(),
            base: format!("http://127.0.0.1:{port}"),
            child,
        };
        for _ in 0..100 {
            if d.http
                .get(format!("{}/status", d.base))
                .send()
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-quic", "--autoplay-policy=no-user-gesture-required",
                "--window-size=1280,900", format!("--user-data-dir={}", profile.display()),
            ]}
        }}});
        let r: Value = d
            .http
            .post(format!("{}/session", d.base))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let sid = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("a WebDriver session: {r}"))
            .to_string();
        Browser { d, sid }
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.d.base, self.sid);
        let mut rq = self.d.http.request(method, url);
        if let Some(b) = body {
            rq = rq.json(&b);
        }
        let v: Value = rq.send().await.unwrap().json().await.unwrap();
        assert!(
            v["value"].get("error").is_none(),
            "WebDriver {path}: {}",
            v["value"]
        );
        v["value"].clone()
    }
    async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }
    async fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap()
            .to_string()
    }
    async fn find(&self, css: &str) -> String {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        match v[ELEMENT].as_str() {
            Some(e) => e.to_string(),
            None => {
                let html = self.js("return document.body.innerHTML;").await;
                panic!("no element {css} at {}: {v}\n{html}", self.url().await)
            }
        }
    }
    async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/click"),
            Some(json!({})),
        )
        .await;
    }
    async fn type_in(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }
    async fn js(&self, script: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }
    async fn js_async(&self, script: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }
    async fn cookie(&self, name: &str) -> Option<String> {
        let url = format!("{}/session/{}/cookie/{name}", self.d.base, self.sid);
        let v: Value = self.d.http.get(url).send().await.ok()?.json().await.ok()?;
        v["value"]["value"].as_str().map(str::to_string)
    }
    async fn screenshot(&self, name: &str) {
        let Ok(dir) = std::env::var("ZA_UI_SCREENSHOTS") else {
            return;
        };
        use base64::Engine;
        let v = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(PathBuf::from(dir).join(format!("{name}.png")), png).unwrap();
    }
    async fn quit(&self) {
        let _ = self
            .d
            .http
            .delete(format!("{}/session/{}", self.d.base, self.sid))
            .send()
            .await;
    }
    /// Polls `script` (a JS expression) until it is truthy.
    async fn wait_for(&self, script: &str, what: &str) {
        for _ in 0..100 {
            if self.js(&format!("return !!({script});")).await == json!(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("timed out waiting for {what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_in_headless_chromium() {
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        assert!(
            std::env::var("ZA_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "ZA_REQUIRE_BROWSER=1 but {CHROMIUM} or {CHROMEDRIVER} is missing"
        );
        println!(
            "skipped: no {CHROMIUM} or {CHROMEDRIVER} (apt-get install chromium chromium-driver)"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let demo = tmp.path().join("demo");
    zoom_archiver::demo::run(&demo).await.unwrap();
    let cfg = FileConfig::load(&demo.join("config.toml")).unwrap();
    let stores = Stores::local(&cfg, None).await.unwrap();
    let audit = stores.audit.clone();
    let users: Arc<dyn archiver_core::ReviewerStore> =
        Arc::new(archiver_local::SqliteReviewerStore::open(demo.join("archive.db")).unwrap());
    let otp = accounts::add_user(
        users.as_ref(),
        "rita",
        ReviewRole::Reviewer,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let tenant = cfg.tenants[0].id.clone();
    accounts::grant(users.as_ref(), "rita", tenant.clone(), None)
        .await
        .unwrap();
    let rc = ReviewConfig::new(vec![tenant.clone()], tmp.path().join("exports"));
    let state = Review::new(stores.ports, stores.audit, users, rc)
        .with_analyser(Arc::new(archiver_media::BlobAnalyser::new()));
    // Counts the 206 answers of the media endpoint.
    let partial = Arc::new(AtomicUsize::new(0));
    let counted = partial.clone();
    let app = archiver_review::router(state).layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            let counted = counted.clone();
            async move {
                let media = req.uri().path().starts_with("/api/v1/media/");
                let r = next.run(req).await;
                if media && r.status() == 206 {
                    counted.fetch_add(1, Ordering::Relaxed);
                }
                r
            }
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(archiver_review::serve(listener, app));

    let b = Browser::start(&tmp.path().join("profile")).await;
    // Log in: redirected to the login page, then to the password change.
    b.goto(&format!("{base}/search")).await;
    assert!(b.url().await.contains("/login"), "{}", b.url().await);
    b.screenshot("login").await;
    b.type_in("#username", "rita").await;
    b.type_in("#password", &otp).await;
    b.click("#login").await;
    // A click returns before its navigation ends on a loaded machine: wait for the page.
    b.wait_for(
        "location.pathname.endsWith('/password')",
        "the password page",
    )
    .await;
    assert!(
        b.url().await.ends_with("/password"),
        "{}: {}",
        b.url().await,
        b.js("return document.body.innerText;").await
    );
    b.type_in("#new-password", "correct horse battery").await;
    b.type_in("#new-password-again", "correct horse battery")
        .await;
    b.click("#set-password").await;
    b.wait_for("location.pathname.includes('/search')", "the search page")
        .await;
    assert!(b.url().await.contains("/search"), "{}", b.url().await);

    // Search for a user.
    b.type_in("#f-user", "alice@acme.example").await;
    b.click("#search").await;
    b.wait_for(
        "location.search.includes('alice') && document.querySelector('#results tbody tr')",
        "the search results",
    )
    .await;
    let users_shown = b
        .js("return [...document.querySelectorAll('#results tbody tr')].map(r => r.children[2].textContent);")
        .await;
    let users_shown = users_shown.as_array().unwrap();
    assert!(users_shown.len() >= 3, "{users_shown:?}");
    assert!(
        users_shown.iter().all(|u| u == "Alice Anders"),
        "{users_shown:?}"
    );
    b.screenshot("search").await;

    // A meeting with its transcript: lines with timestamps.
    b.js("[...document.querySelectorAll('#results tbody tr')].find(r => r.textContent.includes('TRANSCRIPT')).querySelector('a.open').click();").await;
    b.wait_for(
        "document.querySelector('.transcript li button.seek')",
        "the transcript",
    )
    .await;
    b.screenshot("conversation").await;
    b.js("history.back();").await;
    b.wait_for("document.querySelector('#results')", "the results")
        .await;

    // A phone call (MP3): give a reason, play, and watch the time advance.
    b.js("[...document.querySelectorAll('#results tbody tr')].find(r => r.textContent.includes('MP3')).querySelector('a.open').click();").await;
    b.wait_for(
        "document.querySelector('#play-reason')",
        "the conversation page",
    )
    .await;
    b.type_in("#play-reason", "browser test: QA review").await;
    b.click("#start-playback").await;
    let t = b
        .js_async(
            "const cb = arguments[arguments.length - 1];
             const a = document.querySelector('audio.player');
             a.muted = true;
             a.play().then(() => setTimeout(() => cb(a.currentTime), 1500)).catch(e => cb('error: ' + e));",
        )
        .await;
    assert!(
        t.as_f64().is_some_and(|t| t > 0.3),
        "currentTime after 1.5 s: {t}"
    );
    assert!(
        partial.load(Ordering::Relaxed) > 0,
        "Range requests answered 206"
    );
    let played = audit.list(&tenant, 1, 100_000).await.unwrap();
    assert!(
        played.iter().any(|e| e.draft.actor == "review:rita"
            && e.draft.result == "ok: play"
            && e.draft.reason.as_deref() == Some("browser test: QA review")),
        "the play is in the audit trail"
    );

    // The waveform above the player (the peaks the archiver stored beside the recording):
    // a click in its middle seeks the audio to about half its duration.
    b.wait_for(
        "document.querySelector('.file canvas.wave') && document.querySelector('.file canvas.wave').width > 0",
        "the waveform",
    )
    .await;
    let (peaks, audio) = (
        b.js("return document.querySelector('.file canvas.wave').nextElementSibling.tagName;")
            .await,
        b.js("const a = document.querySelector('audio.player'); a.pause(); return a.duration;")
            .await,
    );
    assert_eq!(peaks, json!("AUDIO"), "the waveform sits above its player");
    let duration = audio.as_f64().expect("the audio's duration is known");
    assert!(duration > 5.0, "{duration}");
    b.click(".file canvas.wave").await;
    b.wait_for(
        &format!(
            "Math.abs(document.querySelector('audio.player').currentTime - {}) < {}",
            duration / 2.0,
            (duration * 0.03).max(0.5)
        ),
        "the click on the waveform to seek to the middle",
    )
    .await;
    let t = b
        .js("return document.querySelector('audio.player').currentTime;")
        .await;
    println!("waveform click: currentTime {t} of {duration} s");
    b.screenshot("player").await;

    // Export two conversations.
    b.goto(&format!("{base}/search?user=alice%40acme.example"))
        .await;
    b.js("document.querySelectorAll('input.sel')[0].click(); document.querySelectorAll('input.sel')[1].click();").await;
    b.type_in("#export-reason", "browser test export").await;
    b.click("#export").await;
    b.wait_for(
        "location.pathname == '/exports' && document.querySelector('tr.job[data-state=done]')",
        "the export",
    )
    .await;
    b.screenshot("exports").await;
    let href = b
        .js("return document.querySelector('tr.job[data-state=done] a.download').href;")
        .await;
    let session = b.cookie("za_session").await.expect("the session cookie");
    let http = reqwest::Client::new();
    let zip = http
        .get(href.as_str().unwrap())
        .header("cookie", format!("za_session={session}"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(zip.to_vec())).unwrap();
    let mut read = |name: &str| {
        let mut f = z.by_name(name).unwrap();
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut v).unwrap();
        v
    };
    let sums = String::from_utf8(read("MANIFEST.sha256")).unwrap();
    let mut cdr_files = 0;
    for line in sums.lines() {
        let (sha, path) = line.split_once("  ").unwrap();
        let got = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(read(path)))
        };
        assert_eq!(got, sha, "{path}");
        cdr_files += usize::from(path.starts_with("cdrs/"));
    }
    assert_eq!(cdr_files, 2, "two conversations exported");

    // Log out; the media URL is refused without a session, in the browser and outside.
    b.click("#logout").await;
    b.wait_for("location.pathname.includes('/login')", "the login page")
        .await;
    assert!(b.url().await.contains("/login"), "{}", b.url().await);
    let key = {
        let cdrs = archiver_core::CdrQuery {
            tenant: Some(tenant.clone()),
            ..Default::default()
        };
        let s = Stores::local(&cfg, None).await.unwrap();
        let all = s.ports.meta.query_cdrs(&cdrs).await.unwrap();
        all[0].media[0].key.clone()
    };
    let url = format!("{base}/api/v1/media/{}", key.replace('%', "%25"));
    let status = b
        .js_async(&format!(
            "const cb = arguments[arguments.length - 1]; fetch({url:?}, {{headers: {{Range: 'bytes=0-9'}}}}).then(r => cb(r.status));"
        ))
        .await;
    assert_eq!(status, json!(401), "the browser without a session");
    for cookie in [String::new(), format!("za_session={session}")] {
        let r = http
            .get(&url)
            .header("cookie", cookie)
            .header("range", "bytes=0-9")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "no session, or the logged-out one");
    }
    b.quit().await;
}
