//! The `estimate` command line (the capacity planner).

#[test]
fn estimate_prints_both_tables() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zoom-archiver"))
        .args([
            "estimate",
            "--meetings-per-day",
            "29000",
            "--calls-per-day",
            "4400000",
            "--interval",
            "5m",
            "--reconcile",
            "--recorded-users",
            "500",
            "--users",
            "2000",
        ])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("| phone:Heavy | /phone/call_history |"),
        "{text}"
    );
    assert!(
        text.contains("| Meetings Heavy + Resource-intensive |"),
        "{text}"
    );
    assert!(text.contains("| Total |"), "{text}");
}
