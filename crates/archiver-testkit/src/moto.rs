//! The local AWS emulator of the test suites (`moto_server`, started by `.ci/run`).

/// The emulator's endpoint from `MOTO` (e.g. `http://127.0.0.1:5055`, trailing `/`
/// dropped), or `None` so that the caller skips (it prints why) — unless
/// `ZA_REQUIRE_MOTO=1`, which makes a missing endpoint a failure (CI sets it: an AWS test
/// must never pass by skipping there).
pub fn moto_endpoint() -> Option<String> {
    match std::env::var("MOTO") {
        Ok(v) if !v.trim().is_empty() => Some(v.trim().trim_end_matches('/').to_string()),
        _ => {
            assert!(
                std::env::var("ZA_REQUIRE_MOTO").as_deref() != Ok("1"),
                "MOTO is not set but ZA_REQUIRE_MOTO=1"
            );
            println!("skipped: MOTO not set");
            None
        }
    }
}
