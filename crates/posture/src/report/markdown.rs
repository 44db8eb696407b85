//! Renders the CIS benchmarks' remediation text to HTML.
//!
//! The benchmark files carry Markdown whose line breaks were flattened into runs of two or
//! more spaces (`**From Console:**  1. Login ... 2. Click ...`), so this reads those runs as
//! line breaks, splits numbered steps that share a line, and knows only what the files use:
//! paragraphs, numbered and bulleted lists, fenced code, `code`, **bold**, links and bare
//! URLs. Every piece of text is escaped; only http(s) links become anchors.

use super::html::escape;

enum Block {
    Para(String),
    Code(Vec<String>),
    /// Numbered steps; each may carry bullets of its own.
    Ordered(Vec<(String, Vec<String>)>),
    Bullets(Vec<String>),
}

/// Words a fence may open with that name a language rather than being code.
const LANGUAGES: &[&str] = &[
    "bash",
    "sh",
    "shell",
    "json",
    "yaml",
    "powershell",
    "console",
    "text",
    "sql",
    "hcl",
];

/// The remediation text as HTML (block elements, no outer wrapper).
pub fn render(text: &str) -> String {
    let mut blocks: Vec<Block> = Vec::new();
    for (n, segment) in text.split("```").enumerate() {
        // Odd segments sit between fences. An unclosed fence leaves a last odd segment:
        // still code, which is what its author meant.
        if n % 2 == 1 {
            let mut lines = split_lines(segment);
            if lines.len() > 1 && LANGUAGES.contains(&lines[0].to_ascii_lowercase().as_str()) {
                lines.remove(0);
            }
            if !lines.is_empty() {
                blocks.push(Block::Code(lines.into_iter().map(str::to_string).collect()));
            }
            continue;
        }
        for line in split_lines(segment) {
            push_line(&mut blocks, line);
        }
    }
    let mut h = String::new();
    for b in blocks {
        match b {
            Block::Para(t) => {
                h.push_str("<p>");
                h.push_str(&inline(&t));
                h.push_str("</p>");
            }
            Block::Code(lines) => {
                h.push_str("<pre><code>");
                h.push_str(&escape(&lines.join("\n")));
                h.push_str("</code></pre>");
            }
            Block::Ordered(items) => {
                h.push_str("<ol>");
                for (t, subs) in items {
                    h.push_str("<li>");
                    h.push_str(&inline(&t));
                    if !subs.is_empty() {
                        h.push_str("<ul>");
                        for s in subs {
                            h.push_str("<li>");
                            h.push_str(&inline(&s));
                            h.push_str("</li>");
                        }
                        h.push_str("</ul>");
                    }
                    h.push_str("</li>");
                }
                h.push_str("</ol>");
            }
            Block::Bullets(items) => {
                h.push_str("<ul>");
                for t in items {
                    h.push_str("<li>");
                    h.push_str(&inline(&t));
                    h.push_str("</li>");
                }
                h.push_str("</ul>");
            }
        }
    }
    h
}

/// Lines: real newlines, or the runs of two or more spaces that replaced them.
fn split_lines(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for physical in s.split('\n') {
        let mut rest = physical;
        while let Some(at) = rest.find("  ") {
            out.push(&rest[..at]);
            rest = rest[at..].trim_start_matches(' ');
        }
        out.push(rest);
    }
    out.into_iter()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

/// `12. Text` or `12.Text` at the start: the number and the text.
fn step(line: &str) -> Option<(u32, &str)> {
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 2 {
        return None;
    }
    let rest = line[digits..].strip_prefix('.')?;
    // `1.2` is a version or a control id, not a step.
    if rest.starts_with(|c: char| c.is_ascii_digit()) || rest.trim().is_empty() {
        return None;
    }
    Some((line[..digits].parse().ok()?, rest.trim_start()))
}

/// Where step `n` starts inside a line (` 4. Click` or ` 10.Click`) and the marker length.
fn next_step(text: &str, n: u32) -> Option<(usize, usize)> {
    let marker = format!(" {n}.");
    let mut from = 0;
    while let Some(rel) = text[from..].find(&marker) {
        let at = from + rel;
        let after = &text[at + marker.len()..];
        if after.starts_with(' ') {
            return Some((at, marker.len() + 1));
        }
        if after.starts_with(|c: char| c.is_ascii_uppercase() || c == '`' || c == '*') {
            return Some((at, marker.len()));
        }
        from = at + marker.len();
    }
    None
}

fn push_line(blocks: &mut Vec<Block>, line: &str) {
    if let Some((n, text)) = step(line) {
        // Steps flattened onto one line: `1. Login ... 2. Click ...`.
        let mut items = Vec::new();
        let mut text = text;
        let mut next = n + 1;
        while let Some((at, len)) = next_step(text, next) {
            items.push(text[..at].trim().to_string());
            text = &text[at + len..];
            next += 1;
        }
        items.push(text.trim().to_string());
        let items = items.into_iter().map(|t| (t, Vec::new()));
        match blocks.last_mut() {
            Some(Block::Ordered(list)) => list.extend(items),
            _ => blocks.push(Block::Ordered(items.collect())),
        }
        return;
    }
    if let Some(text) = line.strip_prefix("- ").or_else(|| line.strip_prefix("* ")) {
        let text = text.trim().to_string();
        match blocks.last_mut() {
            Some(Block::Ordered(list)) => match list.last_mut() {
                Some((_, subs)) => subs.push(text),
                None => list.push((text, Vec::new())),
            },
            Some(Block::Bullets(list)) => list.push(text),
            _ => blocks.push(Block::Bullets(vec![text])),
        }
        return;
    }
    let text = line.trim_start_matches('#').trim();
    blocks.push(Block::Para(text.to_string()));
}

/// Inline Markdown: `code`, **bold**, [text](http...), bare URLs; the rest escaped.
fn inline(s: &str) -> String {
    let mut h = String::with_capacity(s.len() + 16);
    let mut rest = s;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('`') {
            if let Some(end) = after.find('`') {
                h.push_str("<code>");
                h.push_str(&escape(&after[..end]));
                h.push_str("</code>");
                rest = &after[end + 1..];
                continue;
            }
        }
        if let Some(after) = rest.strip_prefix("**") {
            // An unclosed marker (CIS AWS 3.0 1.7 has one) emphasises the rest of its line.
            let (inner, next) = match after.find("**") {
                Some(end) => (&after[..end], &after[end + 2..]),
                None => (after, ""),
            };
            h.push_str("<strong>");
            h.push_str(&inline(inner));
            h.push_str("</strong>");
            rest = next;
            continue;
        }
        if let Some(after) = rest.strip_prefix('[') {
            if let Some((label, url, len)) = link(after) {
                let _ = write_link(&mut h, url, &inline(label));
                rest = &after[len..];
                continue;
            }
        }
        if rest.starts_with("https://") || rest.starts_with("http://") {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '<' || c == '"')
                .unwrap_or(rest.len());
            // Sentence punctuation after a URL is not part of it.
            let url = rest[..end].trim_end_matches(['.', ',', ';', ':', ')']);
            let _ = write_link(&mut h, url, &escape(url));
            rest = &rest[url.len()..];
            continue;
        }
        let c = rest.chars().next().unwrap_or(' ');
        h.push_str(&escape(&rest[..c.len_utf8()]));
        rest = &rest[c.len_utf8()..];
    }
    h
}

/// After `[`: `label](url)` with an http(s) URL; the label, the URL and the bytes consumed.
fn link(after: &str) -> Option<(&str, &str, usize)> {
    let close = after.find("](")?;
    let label = &after[..close];
    if label.contains('[') {
        return None;
    }
    let tail = &after[close + 2..];
    let end = tail.find(')')?;
    let url = &tail[..end];
    (url.starts_with("https://") || url.starts_with("http://")).then_some((
        label,
        url,
        close + 2 + end + 1,
    ))
}

fn write_link(h: &mut String, url: &str, label_html: &str) -> std::fmt::Result {
    use std::fmt::Write as _;
    write!(
        h,
        "<a href=\"{}\" rel=\"noopener noreferrer\">{label_html}</a>",
        escape(url)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattened_steps_become_a_list_with_code_and_bold() {
        let h = render("**From Console:**  1. Login to the console: 2. Click `Services`  3. Click `IAM`  - Click on `Make Inactive`  4. Select it 5.Click `Apply`");
        assert_eq!(
            h,
            "<p><strong>From Console:</strong></p><ol><li>Login to the console:</li><li>Click <code>Services</code></li><li>Click <code>IAM</code><ul><li>Click on <code>Make Inactive</code></li></ul></li><li>Select it</li><li>Click <code>Apply</code></li></ol>"
        );
    }

    #[test]
    fn fences_keep_their_lines_and_drop_a_language_word() {
        let h = render("Run: ```bash  aws iam get-credential-report --query 'Content'  echo <done> ``` Then check.");
        assert_eq!(
            h,
            "<p>Run:</p><pre><code>aws iam get-credential-report --query &#39;Content&#39;\necho &lt;done&gt;</code></pre><p>Then check.</p>"
        );
    }

    #[test]
    fn links_are_http_only_and_escaped() {
        let h = render("- [docs](https://example.com/a?b=1&c=2)  - [x](javascript:alert(1))  See https://example.com/p.");
        assert!(h.contains("<a href=\"https://example.com/a?b=1&amp;c=2\" rel=\"noopener noreferrer\">docs</a>"), "{h}");
        assert!(!h.contains("href=\"javascript"), "{h}");
        assert!(h.contains("<a href=\"https://example.com/p\" rel=\"noopener noreferrer\">https://example.com/p</a>."), "{h}");
    }

    #[test]
    fn versions_and_html_are_text() {
        assert_eq!(
            render("Use TLS 1.2 <b>now</b>"),
            "<p>Use TLS 1.2 &lt;b&gt;now&lt;/b&gt;</p>"
        );
        assert_eq!(
            render("Note:  **Remember this"),
            "<p>Note:</p><p><strong>Remember this</strong></p>"
        );
    }
}
