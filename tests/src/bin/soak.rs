//! Soak: the embedded pipeline over simulated days with random faults.
//!
//! ```text
//! cargo run -p archiver-e2e --bin soak -- --days 3 --fault-rate 0.05 --seed 7
//! ```
//!
//! Prints a summary table and exits 1 when an invariant is violated (2 on a usage error).

use archiver_e2e::soak::{SoakOptions, run};

fn usage() -> ! {
    eprintln!(
        "usage: soak [--days N] [--fault-rate P] [--seed S] [--meetings-per-day N] [--calls-per-day N] [--interval-minutes M]"
    );
    std::process::exit(2)
}

fn main() {
    let mut o = SoakOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--days" => o.days = val().parse().unwrap_or_else(|_| usage()),
            "--fault-rate" => o.fault_rate = val().parse().unwrap_or_else(|_| usage()),
            "--seed" => o.seed = val().parse().unwrap_or_else(|_| usage()),
            "--meetings-per-day" => o.meetings_per_day = val().parse().unwrap_or_else(|_| usage()),
            "--calls-per-day" => o.calls_per_day = val().parse().unwrap_or_else(|_| usage()),
            "--interval-minutes" => {
                o.interval = chrono::Duration::minutes(val().parse().unwrap_or_else(|_| usage()))
            }
            "-h" | "--help" => usage(),
            _ => usage(),
        }
    }
    if o.days == 0 || !(0.0..=1.0).contains(&o.fault_rate) {
        usage();
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let summary = rt.block_on(run(&o));
    println!("{summary}");
    if !summary.passed() {
        std::process::exit(1);
    }
}
