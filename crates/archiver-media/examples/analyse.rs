//! Prints the report (or error) of each file given on the command line.
fn main() {
    for p in std::env::args().skip(1) {
        let t = std::time::Instant::now();
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
            Err(e) => println!("{p}: ERROR {e:?}"),
        }
    }
}
