//! Chat and transcript files archived beside the media, as timed lines: Zoom's archive
//! transcript JSON (`items[].ts/speaker/text`), WebVTT, and Zoom's chat text
//! (`HH:MM:SS\t From A to B:\ttext`).

/// One timed line.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// Seconds from the start of the recording, when known.
    pub at: Option<f64>,
    /// Who spoke or wrote.
    pub who: String,
    /// What.
    pub text: String,
}

fn hms(s: &str) -> Option<f64> {
    let s = s.trim();
    let mut total = 0.0;
    for part in s.split(':') {
        total = total * 60.0 + part.replace(',', ".").parse::<f64>().ok()?;
    }
    Some(total)
}

/// Parses `bytes` of a file of Zoom type `file_type` (or by its key's extension).
pub fn parse(file_type: &str, key: &str, bytes: &[u8]) -> Vec<Line> {
    let text = String::from_utf8_lossy(bytes);
    let ext = key.rsplit('.').next().unwrap_or_default();
    if ext.eq_ignore_ascii_case("json") {
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        return v["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| Line {
                at: i["ts"].as_str().and_then(hms),
                who: i["speaker"].as_str().unwrap_or_default().to_string(),
                text: i["text"].as_str().unwrap_or_default().to_string(),
            })
            .collect();
    }
    if ext.eq_ignore_ascii_case("vtt") || text.starts_with("WEBVTT") {
        let mut out = Vec::new();
        let mut lines = text.lines().peekable();
        while let Some(l) = lines.next() {
            if let Some((a, _)) = l.split_once("-->") {
                let mut body = Vec::new();
                while let Some(n) = lines.peek() {
                    if n.trim().is_empty() {
                        break;
                    }
                    body.push(lines.next().unwrap_or_default().to_string());
                }
                let joined = body.join(" ");
                let (who, text) = match joined.split_once(": ") {
                    Some((w, t)) if w.len() < 60 => (w.to_string(), t.to_string()),
                    _ => (String::new(), joined),
                };
                out.push(Line {
                    at: hms(a),
                    who,
                    text,
                });
            }
        }
        return out;
    }
    let _ = file_type;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut parts = l.splitn(3, '\t');
            let (t, who, msg) = (parts.next(), parts.next(), parts.next());
            match (t.and_then(hms), who, msg) {
                (Some(at), Some(w), Some(m)) => Line {
                    at: Some(at),
                    who: w
                        .trim()
                        .trim_start_matches("From ")
                        .trim_end_matches(':')
                        .to_string(),
                    text: m.to_string(),
                },
                _ => Line {
                    at: None,
                    who: String::new(),
                    text: l.to_string(),
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoom_json_vtt_and_chat() {
        let j = br#"{"items":[{"ts":"00:01:07","speaker":"A","text":"hi"}]}"#;
        assert_eq!(
            parse("TRANSCRIPT", "x/y.json", j),
            vec![Line {
                at: Some(67.0),
                who: "A".into(),
                text: "hi".into()
            }]
        );
        let v = b"WEBVTT\n\n1\n00:00:02.500 --> 00:00:04.000\nBob: hello there\n\n";
        assert_eq!(parse("CC", "x/y.vtt", v)[0].at, Some(2.5));
        assert_eq!(parse("CC", "x/y.vtt", v)[0].who, "Bob");
        let c = b"00:00:07\t From Speaker 8 to Everyone:\torder yield\n";
        let l = &parse("CHAT", "x/y.txt", c)[0];
        assert_eq!(
            (l.at, l.who.as_str(), l.text.as_str()),
            (Some(7.0), "Speaker 8 to Everyone", "order yield")
        );
    }
}
