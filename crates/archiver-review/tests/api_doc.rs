//! docs/api.md against the server's code: every `/api/v1/` route (with its methods) has a
//! `## \`METHOD /path\`` heading, every such heading is a route, and every search
//! parameter is in the parameter table.

use std::collections::BTreeSet;

const API_RS: &str = include_str!("../src/api.rs");
const SEARCH_RS: &str = include_str!("../src/search.rs");
const DOC: &str = include_str!("../../../docs/api.md");

/// `(METHOD, path)` of each `.route("/api/v1/…", get(…).post(…))` in api.rs, with axum's
/// `{*key}` written `{key}`.
fn routes() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for chunk in API_RS.split(".route(\"").skip(1) {
        let (path, rest) = chunk.split_once('"').unwrap();
        let call = rest.split(")\n").next().unwrap();
        let path = path.replace("{*", "{");
        for (m, name) in [("GET", "get("), ("POST", "post(")] {
            if call.contains(name) {
                out.insert((m.to_string(), path.clone()));
            }
        }
    }
    out
}

/// `(METHOD, path)` of each `## \`METHOD /api/v1/…\`` heading, without its query part.
fn documented() -> BTreeSet<(String, String)> {
    DOC.lines()
        .filter_map(|l| l.strip_prefix("## `"))
        .filter_map(|l| l.split('`').next())
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, p)| p.starts_with("/api/v1/"))
        .map(|(m, p)| (m.to_string(), p.split('[').next().unwrap().to_string()))
        .collect()
}

#[test]
fn every_api_route_is_documented_and_every_documented_route_exists() {
    let (code, doc) = (routes(), documented());
    assert!(code.len() >= 7, "routes parsed from api.rs: {code:?}");
    assert_eq!(
        code, doc,
        "api.rs routes (left) against docs/api.md headings (right)"
    );
}

#[test]
fn every_search_parameter_is_documented() {
    let body = SEARCH_RS
        .split("pub struct SearchParams {")
        .nth(1)
        .and_then(|s| s.split("\n}").next())
        .unwrap();
    let params: Vec<&str> = body
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub "))
        .filter_map(|l| l.split(':').next())
        .collect();
    assert!(params.len() >= 10, "{params:?}");
    for p in params {
        assert!(
            DOC.contains(&format!("| `{p}`")) || DOC.contains(&format!(", `{p}`")),
            "search parameter {p} is not in docs/api.md's table"
        );
    }
}
