//! `zoom-sim`: serves `Scenario::demo(now)` or a JSON scenario file and prints the two URLs.
//!
//! Usage: `zoom-sim [scenario.json] [--api-addr 127.0.0.1:8081] [--web-addr 127.0.0.1:8082]`.

use zoom_sim::{Scenario, SimClock, SimServer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (mut file, mut api, mut web) = (None, "127.0.0.1:0".to_string(), "127.0.0.1:0".to_string());
    while let Some(a) = args.next() {
        match a.as_str() {
            "--api-addr" => api = args.next().ok_or("--api-addr needs a value")?,
            "--web-addr" => web = args.next().ok_or("--web-addr needs a value")?,
            "-h" | "--help" => {
                println!("usage: zoom-sim [scenario.json] [--api-addr ADDR] [--web-addr ADDR]");
                return Ok(());
            }
            other => file = Some(other.to_string()),
        }
    }
    let scenario = match file {
        Some(path) => serde_json::from_str::<Scenario>(&std::fs::read_to_string(path)?)?,
        None => Scenario::demo(chrono::Utc::now()),
    };
    let sim = SimServer::start_on(scenario, SimClock::system(), &api, &web).await?;
    println!("ZOOM_API_BASE_URL={}", sim.api_base_url());
    println!("ZOOM_OAUTH_URL={}", sim.oauth_url());
    for a in &sim.scenario().accounts {
        println!(
            "account_id={} client_id={} client_secret={}",
            a.account_id, a.client_id, a.client_secret
        );
    }
    tokio::signal::ctrl_c().await?;
    sim.shutdown();
    Ok(())
}
