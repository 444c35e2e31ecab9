//! Prints the report (or error) of each file given on the command line, then times
//! [`archiver_media::analyse`] against the decoder alone ([`archiver_media::decode_only`]) on
//! the same bytes (`ANALYSE_RUNS`, default 20 runs each, from memory).
//!
//! ```bash
//! cargo run --profile bench-fast -p archiver-media --example analyse -- FILE...
//! ```
use std::io::Cursor;
use std::time::Instant;

fn main() {
    let runs: u32 = std::env::var("ANALYSE_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    for p in std::env::args().skip(1) {
        let t = Instant::now();
        match archiver_media::analyse_path(&p) {
            Ok(mut r) => {
                let act: String = r
                    .activity
                    .iter()
                    .map(|&b| if b { '#' } else { '.' })
                    .collect();
                r.activity.clear();
                println!("{p}: {r:?} in {:?}\n  {act}", t.elapsed());
            }
            Err(e) => {
                println!("{p}: ERROR {e:?}");
                continue;
            }
        }
        let bytes = std::fs::read(&p).expect("readable");
        let ext = p.rsplit('.').next().unwrap_or_default().to_string();
        let time = |f: &dyn Fn() -> bool| {
            let t = Instant::now();
            for _ in 0..runs {
                assert!(f());
            }
            t.elapsed().as_secs_f64() * 1e3 / f64::from(runs)
        };
        let analyse = time(&|| archiver_media::analyse(Cursor::new(bytes.clone()), &ext).is_ok());
        let decode =
            time(&|| archiver_media::decode_only(Cursor::new(bytes.clone()), &ext).is_ok());
        println!(
            "  analyse {analyse:.2} ms, decoder alone {decode:.2} ms ({:.0} % of the analysis)",
            decode / analyse * 100.0
        );
    }
}
