//! What the docs show is what the code takes: every `zoom-archiver` command line in
//! README.md and infra/README.md parses with the real command-line parser, every TOML
//! example parses with the real configuration parser (commented-out keys included), the
//! README's CDR field list is the export's, and its metric list is the code's.

use clap::Parser;
use std::path::Path;
use zoom_archiver::cli::Cli;
use zoom_archiver::config::FileConfig;

fn doc(rel: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The bodies of the fenced code blocks of `lang` (indented fences too).
fn blocks(md: &str, lang: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in md.lines() {
        let t = line.trim_start();
        match &mut cur {
            None if t == format!("```{lang}") => cur = Some(String::new()),
            Some(_) if t.starts_with("```") => out.push(cur.take().unwrap_or_default()),
            Some(b) => {
                b.push_str(t);
                b.push('\n');
            }
            None => {}
        }
    }
    out
}

/// Inline code spans that are `zoom-archiver` command lines.
fn inline_commands(md: &str) -> Vec<String> {
    md.split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| s.starts_with("zoom-archiver ") && s.contains(" --"))
        .map(str::to_string)
        .collect()
}

/// A documented command line made concrete: comments, pipes and redirections cut,
/// optional parts kept, the first of `a|b` alternatives taken, placeholders filled.
fn argv(line: &str) -> Vec<String> {
    let line = line.split(" #").next().unwrap_or(line);
    let line = line.split(" | ").next().unwrap_or(line);
    let line = line.split(" > ").next().unwrap_or(line);
    let line = line
        .trim()
        .trim_start_matches("cargo run -p zoom-archiver -- ")
        .trim_start_matches("zoom-archiver ")
        .replace(['[', ']'], " ");
    let mut out = vec!["zoom-archiver".to_string()];
    // Words as a shell splits them: "a quoted phrase" is one word.
    let mut owned: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for ch in line.chars() {
        match ch {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    owned.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        owned.push(cur);
    }
    let words: Vec<&str> = owned.iter().map(String::as_str).collect();
    let command = words
        .iter()
        .find(|w| {
            matches!(
                **w,
                "verify" | "reconcile" | "cdrs" | "status" | "retry" | "run"
            )
        })
        .copied()
        .unwrap_or("");
    for w in words {
        if w == "..." || w == "…" {
            continue;
        }
        let w = w.split('|').next().unwrap_or(w);
        let filled = match w {
            "YYYY-MM-DD" => "2026-11-01".to_string(),
            "T1" | "T2" if command == "verify" => "2026-11-01".to_string(),
            "T1" | "T2" => "2026-11-01T00:00:00Z".to_string(),
            "N" => "10".to_string(),
            "ADDR" => "127.0.0.1:9464".to_string(),
            w if w.len() > 1
                && w.chars().any(|c| c.is_ascii_uppercase())
                && w.chars()
                    .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit()) =>
            {
                "x".to_string()
            }
            "T" => "acme".to_string(),
            w => w.to_string(),
        };
        out.push(filled);
    }
    out
}

#[test]
fn every_documented_command_line_parses() {
    let mut seen = 0;
    for rel in ["README.md", "infra/README.md"] {
        let md = doc(rel);
        let mut lines: Vec<String> = blocks(&md, "bash")
            .iter()
            .flat_map(|b| b.lines().map(str::to_string).collect::<Vec<_>>())
            .filter(|l| {
                l.starts_with("zoom-archiver ") || l.starts_with("cargo run -p zoom-archiver -- ")
            })
            .collect();
        lines.extend(inline_commands(&md));
        for l in lines {
            let args = argv(&l);
            if let Err(e) = Cli::try_parse_from(&args) {
                panic!("{rel}: `{l}` does not parse as {args:?}:\n{e}");
            }
            seen += 1;
        }
    }
    assert!(
        seen >= 20,
        "only {seen} command lines found: the extraction broke"
    );
}

#[test]
fn a_wrong_command_line_is_caught() {
    // The check itself can fail: an unknown flag or command does not parse.
    assert!(
        Cli::try_parse_from(argv("zoom-archiver --config a.toml status --frobnicate")).is_err()
    );
    assert!(Cli::try_parse_from(argv("zoom-archiver --config a.toml dead-letters")).is_err());
}

const MINIMAL_TENANT: &str = r#"
[[tenants]]
id = "doc"
account_id = "a"
client_id = "c"
client_secret = "s"
"#;

/// Comment markers taken off lines that are commented-out keys (`# key = value`).
fn uncomment(block: &str) -> String {
    block
        .lines()
        .map(|l| {
            let t = l.trim_start();
            match t.strip_prefix("# ") {
                Some(rest)
                    if rest.split_once(" = ").is_some_and(|(k, _)| {
                        k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    }) =>
                {
                    rest.to_string()
                }
                _ => l.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_documented_configuration_parses() {
    let mut seen = 0;
    for rel in ["README.md", "infra/README.md"] {
        for block in blocks(&doc(rel), "toml") {
            let text = uncomment(&block);
            let is_file = ["[storage]", "[aws]", "[download]", "[[tenants]]"]
                .iter()
                .any(|t| text.contains(t));
            if is_file {
                let text = if text.contains("[[tenants]]") {
                    text
                } else {
                    format!("{text}\n{MINIMAL_TENANT}")
                };
                if let Err(e) = FileConfig::parse(&text) {
                    panic!("{rel}: this example does not parse: {e}\n{text}");
                }
            } else if let Err(e) =
                archiver_aws::stack::parse_tenant_config(&text, rel, Some("zoom-archiver/doc/zoom"))
            {
                panic!("{rel}: this tenant configuration does not parse: {e}\n{text}");
            }
            seen += 1;
        }
    }
    assert!(seen >= 3, "only {seen} TOML examples found");
    // The check can fail: an unknown key is refused.
    assert!(FileConfig::parse(&format!("{MINIMAL_TENANT}\nfrobnicate = 1\n")).is_err());
}

/// The backticked names of a README paragraph that starts with `start`, up to `end`.
fn names_between(md: &str, start: &str, end: &str) -> Vec<String> {
    let from = md
        .find(start)
        .unwrap_or_else(|| panic!("README lost {start:?}"));
    let rest = &md[from..];
    let to = rest
        .find(end)
        .unwrap_or_else(|| panic!("README lost {end:?}"));
    rest[..to]
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| s.chars().all(|c| c.is_ascii_lowercase() || c == '_') && !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_readme_lists_every_cdr_field_the_export_writes() {
    let md = doc("README.md");
    let mut listed = names_between(&md, "One JSON object per CDR with", "and `media`:");
    listed.push("media".into());
    listed.sort();
    listed.dedup();
    // A CDR as the export writes it: every key, null or not.
    let cdr = archiver_testkit::fixtures::cdr(
        "doc",
        "c1",
        archiver_testkit::fixtures::t0(),
        "a@doc.example",
    );
    let mut written: Vec<String> = zoom_archiver::export::cdr_json(&cdr)
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    written.sort();
    assert_eq!(
        listed, written,
        "README's CDR export paragraph vs export::cdr_json"
    );
}

#[test]
fn the_readme_lists_every_metric() {
    let md = doc("README.md");
    let mut listed = names_between(&md, "The metrics, all labelled by", "## Installing");
    listed.retain(|n| n != "tenant" && n != "source");
    listed.sort();
    let mut names: Vec<String> = archiver_core::metrics::NAMES
        .iter()
        .map(|s| s.to_string())
        .collect();
    names.sort();
    assert_eq!(
        listed, names,
        "README's metric list vs archiver_core::metrics::NAMES"
    );
}
