//! Logs of a function: what Lambda's advanced logging controls ask for.
//!
//! `lambda_runtime::tracing::init_default_subscriber` reads the same variables, but prints
//! text unless told otherwise and takes no extra filter directives (the downloader mutes
//! the media decoders' chatter); this is the same setup with JSON as the default.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The filter of a function's logs: `AWS_LAMBDA_LOG_LEVEL` (`TRACE` … `ERROR`; `FATAL` is
/// `ERROR`) when set, else `RUST_LOG`'s directives, else `info`; then `extra` directives
/// (e.g. `archiver_media::QUIET_DECODERS`). Unparsable input falls back to `info`.
pub fn log_filter(lambda_level: Option<&str>, rust_log: Option<&str>, extra: &str) -> EnvFilter {
    let base = match lambda_level.map(str::trim).filter(|l| !l.is_empty()) {
        Some(l) if l.eq_ignore_ascii_case("fatal") => "error".to_string(),
        Some(l) => l.to_ascii_lowercase(),
        None => rust_log
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .unwrap_or("info")
            .to_string(),
    };
    let directives = if extra.is_empty() {
        base
    } else {
        format!("{base},{extra}")
    };
    EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// A subscriber writing to `writer`: JSON lines unless `format` is `Text` (Lambda's
/// `AWS_LAMBDA_LOG_FORMAT`), each carrying the fields of every span it is in — so the
/// runtime's invocation span puts `requestId` on every line of an invocation.
pub fn subscriber<W>(
    filter: EnvFilter,
    format: Option<&str>,
    writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(false)
        // Lambda stamps every line itself.
        .without_time()
        .with_ansi(false);
    if format.is_some_and(|f| f.eq_ignore_ascii_case("text")) {
        Box::new(builder.finish())
    } else {
        Box::new(
            builder
                .json()
                .with_current_span(false)
                .with_span_list(true)
                .flatten_event(true)
                .finish(),
        )
    }
}

/// Installs the function's logging (see the module docs): level from
/// `AWS_LAMBDA_LOG_LEVEL` / `RUST_LOG`, format from `AWS_LAMBDA_LOG_FORMAT` (JSON unless
/// `Text`), `extra` filter directives, stdout. A second call changes nothing.
pub fn init_tracing(extra: &str) {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL").ok();
    let rust_log = std::env::var("RUST_LOG").ok();
    let format = std::env::var("AWS_LAMBDA_LOG_FORMAT").ok();
    let s = subscriber(
        log_filter(level.as_deref(), rust_log.as_deref(), extra),
        format.as_deref(),
        std::io::stdout,
    );
    let _ = tracing::subscriber::set_global_default(s);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Buf {
        type Writer = Buf;
        fn make_writer(&'w self) -> Buf {
            self.clone()
        }
    }

    fn lines_of(format: Option<&str>, filter: EnvFilter) -> Vec<String> {
        let buf = Buf::default();
        let s = subscriber(filter, format, buf.clone());
        tracing::subscriber::with_default(s, || {
            let mut ctx = lambda_runtime::Context::default();
            ctx.request_id = "req-7f3a".into();
            let invoke = lambda_runtime::layers::trace::request_span(&ctx);
            let _i = invoke.enter();
            tracing::info!(tenant = "acme", "poll started");
            let record = tracing::info_span!("record", file_id = "f1");
            let _r = record.enter();
            tracing::warn!("task will be retried");
            tracing::debug!("hidden at info");
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn json_lines_carry_the_request_id_inside_nested_spans() {
        let lines = lines_of(None, log_filter(None, None, ""));
        assert_eq!(lines.len(), 2, "{lines:#?}");
        for l in &lines {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            let spans = v["spans"].as_array().expect("the span list");
            assert_eq!(spans[0]["requestId"], "req-7f3a", "{l}");
        }
        let last: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
        assert_eq!(last["level"], "WARN");
        assert_eq!(last["message"], "task will be retried");
        assert_eq!(last["spans"][1]["file_id"], "f1");
    }

    #[test]
    fn text_format_and_levels_follow_the_lambda_controls() {
        let lines = lines_of(Some("Text"), log_filter(Some("DEBUG"), Some("error"), ""));
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(lines.iter().all(|l| l.contains("req-7f3a")), "{lines:#?}");
        let lines = lines_of(None, log_filter(None, Some("warn"), ""));
        assert_eq!(
            lines.len(),
            1,
            "RUST_LOG applies without AWS_LAMBDA_LOG_LEVEL"
        );
        let lines = lines_of(None, log_filter(Some("FATAL"), None, ""));
        assert!(lines.is_empty(), "FATAL is error: {lines:#?}");
        // Extra directives add to the level.
        let lines = lines_of(
            None,
            log_filter(Some("INFO"), None, "archiver_lambda=error"),
        );
        assert!(lines.is_empty(), "{lines:#?}");
    }
}
