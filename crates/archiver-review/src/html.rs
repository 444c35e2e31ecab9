//! Hand-written HTML: escaping and the page frame.

use std::fmt::Write;

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Percent-encodes a query parameter value.
pub fn qv(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The characters of an object key that must be escaped in a URL path (`%` above all:
/// keys hold escaped conversation ids).
const KEY_PATH: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.');

/// An object key as a URL path (each `%` as `%25`).
pub fn key_path(key: &str) -> String {
    percent_encoding::utf8_percent_encode(key, KEY_PATH).to_string()
}

/// Who is looking, for the page frame.
pub struct Frame<'a> {
    /// The user's name (none on the login page).
    pub user: Option<&'a str>,
    /// The session's CSRF token (for the logout form).
    pub csrf: Option<&'a str>,
}

/// A whole page.
pub fn page(title: &str, frame: &Frame<'_>, body: &str) -> String {
    let mut nav = String::new();
    if let Some(u) = frame.user {
        let _ = write!(
            nav,
            r#"<nav><a href="/search">Search</a> <a href="/exports">Exports</a>
<span class="who">{}</span>
<form method="post" action="/logout" class="inline"><input type="hidden" name="csrf" value="{}"><button id="logout">Log out</button></form></nav>"#,
            esc(u),
            esc(frame.csrf.unwrap_or_default())
        );
    }
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t} · Zoom archive review</title><link rel="stylesheet" href="/static/app.css"><script src="/static/app.js" defer></script></head>
<body><header><strong>Zoom archive review</strong>{nav}</header><main>
<h1>{t}</h1>
{body}
</main></body></html>"#,
        t = esc(title)
    )
}
