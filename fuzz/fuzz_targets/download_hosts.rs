//! The download host rule (issue 14): for a client on Zoom's API, on a simulator at a
//! loopback address and on a gateway, any URL and any redirect is either refused or obeys
//! the rule: https on a Zoom host or the configured host (plain http only to loopback
//! when the API host is loopback), never an IP literal on a redirect (except loopback to a
//! loopback API), and the token only to the API or OAuth origin.
#![no_main]
use archiver_zoom::fuzzing::HostRules;
use libfuzzer_sys::fuzz_target;
use url::{Host, Url};

const CONFIGS: [(&str, &str); 3] = [
    ("https://api.zoom.us/v2", "https://zoom.us/oauth/token"),
    (
        "http://127.0.0.1:8080/v2",
        "http://127.0.0.1:8080/oauth/token",
    ),
    (
        "https://zoom-gw.corp.example/v2",
        "https://zoom.us/oauth/token",
    ),
];

fn is_zoom(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    h == "zoom.us" || h == "zoom.com" || h.ends_with(".zoom.us") || h.ends_with(".zoom.com")
}

fn is_loopback(u: &Url) -> bool {
    match u.host() {
        Some(Host::Domain(d)) => d.trim_end_matches('.').eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v| v.is_loopback())
        }
        None => false,
    }
}

fn same_host(a: &Url, b: &Url) -> bool {
    let norm = |u: &Url| {
        u.host_str()
            .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
    };
    norm(a) == norm(b)
}

/// A URL from structured input, so that most inputs parse.
fn url(scheme: u8, host: &str, port: Option<u16>, path: &str) -> String {
    let scheme = ["https", "http", "ftp", "file"][usize::from(scheme % 4)];
    match port {
        Some(p) => format!("{scheme}://{host}:{p}/{path}"),
        None => format!("{scheme}://{host}/{path}"),
    }
}

type Input<'a> = (
    u8,
    (u8, &'a str, Option<u16>, &'a str),
    (u8, &'a str, Option<u16>, &'a str),
    bool,
);

fuzz_target!(|input: Input<'_>| {
    let (config, (s1, h1, p1, path1), (s2, h2, p2, path2), raw) = input;
    let (api, oauth) = CONFIGS[usize::from(config) % CONFIGS.len()];
    let rules = HostRules::new(api, oauth).expect("configured URLs parse");
    let api = Url::parse(api).unwrap();
    let oauth = Url::parse(oauth).unwrap();
    let first = if raw {
        h1.to_string()
    } else {
        url(s1, h1, p1, path1)
    };
    let second = url(s2, h2, p2, path2);
    let api_loopback = is_loopback(&api);
    // The rule as the issue states it, written apart from the code.
    let allowed = |u: &Url| {
        let zoom = matches!(u.host(), Some(Host::Domain(d)) if is_zoom(d));
        let configured = same_host(u, &api) || same_host(u, &oauth);
        let host_ok = zoom || configured || (api_loopback && is_loopback(u));
        let scheme_ok = u.scheme() == "https" || (u.scheme() == "http" && is_loopback(u));
        host_ok && scheme_ok
    };
    if let Some(Ok(())) = rules.download(&first) {
        let u = Url::parse(&first).unwrap();
        assert!(allowed(&u), "download allowed: {first} (API {api})");
    }
    if let Some(Ok(())) = rules.redirect(&second, &first) {
        let u = Url::parse(&second).unwrap();
        assert!(allowed(&u), "redirect allowed: {second} (API {api})");
        let literal = matches!(u.host(), Some(Host::Ipv4(_) | Host::Ipv6(_)));
        assert!(
            !literal || (api_loopback && is_loopback(&u)),
            "redirect to an IP literal: {second}"
        );
    }
    if rules.gets_token(&first) {
        let u = Url::parse(&first).unwrap();
        let origin = |a: &Url| {
            (
                a.scheme().to_string(),
                a.host_str()
                    .map(|h| h.trim_end_matches('.').to_ascii_lowercase()),
                a.port_or_known_default(),
            )
        };
        assert!(
            origin(&u) == origin(&api) || origin(&u) == origin(&oauth),
            "token to {first}"
        );
    }
});
