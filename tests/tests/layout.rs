//! The workspace layout of docs/adr/0006-layout.md, held against `cargo metadata`: each of
//! our crates depends only on the crates of ours its row allows, and the forbidden crates
//! stay out of the rooms that must not have them.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

fn metadata() -> Value {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

/// The ADR's table: crate → the crates of ours it may depend on.
fn adr_rules() -> BTreeMap<String, BTreeSet<String>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/adr/0006-layout.md");
    let text = std::fs::read_to_string(path).expect("the layout ADR");
    let table = text
        .split("<!-- layout-rules")
        .nth(1)
        .expect("the ADR marks its rules table");
    let mut rules = BTreeMap::new();
    for line in table.lines().skip(1) {
        let line = line.trim();
        if !line.starts_with('|') {
            if rules.is_empty() {
                continue;
            }
            break;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        if cells.len() != 3 || cells[0] == "crate" || cells[0].starts_with("---") {
            continue;
        }
        let allowed = cells[2]
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty() && *c != "—")
            .map(str::to_string)
            .collect();
        rules.insert(cells[0].to_string(), allowed);
    }
    assert!(rules.len() > 10, "the rules table parsed: {rules:?}");
    rules
}

struct Graph {
    /// package id → name.
    names: BTreeMap<String, String>,
    /// package id → (dependency id, is it a normal or build dependency).
    deps: BTreeMap<String, Vec<(String, bool)>>,
    /// Our packages: name → id.
    ours: BTreeMap<String, String>,
}

fn graph(m: &Value) -> Graph {
    let mut names = BTreeMap::new();
    for p in m["packages"].as_array().unwrap() {
        names.insert(
            p["id"].as_str().unwrap().to_string(),
            p["name"].as_str().unwrap().to_string(),
        );
    }
    let mut ours = BTreeMap::new();
    for id in m["workspace_members"].as_array().unwrap() {
        let id = id.as_str().unwrap().to_string();
        ours.insert(names[&id].clone(), id);
    }
    let mut deps = BTreeMap::new();
    for n in m["resolve"]["nodes"].as_array().unwrap() {
        let id = n["id"].as_str().unwrap().to_string();
        let list = n["deps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                let shipped = d["dep_kinds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k["kind"].is_null() || k["kind"] == "build");
                (d["pkg"].as_str().unwrap().to_string(), shipped)
            })
            .collect();
        deps.insert(id, list);
    }
    Graph { names, deps, ours }
}

impl Graph {
    /// The names of what `name` ships with: its normal and build dependencies, transitively.
    fn tree(&self, name: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![self.ours[name].clone()];
        while let Some(id) = todo.pop() {
            for (d, shipped) in &self.deps[&id] {
                if *shipped && seen.insert(d.clone()) {
                    todo.push(d.clone());
                }
            }
        }
        seen.iter().map(|id| self.names[id].clone()).collect()
    }

    /// Our crates `name` depends on directly (normal dependencies).
    fn direct_ours(&self, name: &str) -> BTreeSet<String> {
        self.deps[&self.ours[name]]
            .iter()
            .filter(|(d, shipped)| *shipped && self.ours.contains_key(&self.names[d]))
            .map(|(d, _)| self.names[d].clone())
            .collect()
    }
}

#[test]
fn each_crate_depends_only_on_what_the_layout_allows() {
    let g = graph(&metadata());
    let rules = adr_rules();
    let members: BTreeSet<&String> = g.ours.keys().collect();
    let ruled: BTreeSet<&String> = rules.keys().collect();
    assert_eq!(
        members, ruled,
        "every workspace crate has a row in docs/adr/0006-layout.md, and only those"
    );
    for (name, allowed) in &rules {
        let used = g.direct_ours(name);
        let extra: Vec<&String> = used.difference(allowed).collect();
        assert!(
            extra.is_empty(),
            "{name} depends on {extra:?}, which docs/adr/0006-layout.md does not allow"
        );
    }
}

#[test]
fn the_forbidden_crates_stay_out_of_the_core_the_functions_and_the_cli() {
    let g = graph(&metadata());
    let core = g.tree("archiver-core");
    for bad in [
        "aws-config",
        "aws-sdk-s3",
        "aws-sdk-dynamodb",
        "aws-sdk-sqs",
        "reqwest",
        "hyper",
        "axum",
        "rusqlite",
        "libsqlite3-sys",
        "symphonia",
    ] {
        assert!(!core.contains(bad), "archiver-core ships with {bad}");
    }
    for f in ["poller", "downloader", "reconciler"] {
        let tree = g.tree(f);
        for bad in [
            "libsqlite3-sys",
            "rusqlite",
            "archiver-local",
            "archiver-testkit",
            "zoom-sim",
        ] {
            assert!(!tree.contains(bad), "the {f} function ships with {bad}");
        }
    }
    assert!(
        !g.direct_ours("zoom-archiver").contains("archiver-testkit"),
        "the CLI depends on the test kit"
    );
    for name in g.ours.keys() {
        let ours = g.direct_ours(name);
        if name != "archiver-bench" {
            assert!(!ours.contains("zoom-archiver"), "{name} depends on the CLI");
        }
        for f in ["poller", "downloader", "reconciler"] {
            assert!(!ours.contains(f), "{name} depends on the {f} function");
        }
    }
}
