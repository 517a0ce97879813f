//! CommonMark text fields: validation (raw HTML, links, images, math, blanks) and rendering to
//! sanitized HTML.
//!
//! The renderer never passes author bytes through as markup: it feeds pulldown-cmark's own
//! events to pulldown-cmark's HTML writer (which escapes text and attributes), turns raw HTML
//! into escaped text, drops link and image targets that are not allowed, and renders math with
//! pulldown-latex (which escapes its output). No HTML sanitizer is needed after the fact.

use std::collections::BTreeMap;

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};

/// Largest media file an item may show, in bytes (1 MiB).
pub(crate) const MEDIA_LIMIT: usize = 1024 * 1024;

/// Image file extensions an item may show.
pub(crate) const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "gif", "svg", "webp"];

/// Link schemes an item's text may use.
const LINK_SCHEMES: [&str; 3] = ["http", "https", "mailto"];

/// Math nested deeper than this is refused before it reaches the LaTeX parser: no real formula
/// needs it, and it keeps a hostile bank from costing stack or time.
const MATH_MAX_NESTING: usize = 64;

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_MATH | Options::ENABLE_STRIKETHROUGH
}

/// What validation learns from one text field.
#[derive(Debug, Default)]
pub(crate) struct TextReport {
    /// Problems, each a complete message.
    pub(crate) problems: Vec<String>,
    /// `media/...` names of the images shown that exist.
    pub(crate) media: Vec<String>,
    /// Runs of three or more underscores outside code.
    pub(crate) blanks: usize,
}

/// The scheme of a URL (`https` in `https://x`), if it has one.
fn scheme(url: &str) -> Option<&str> {
    let colon = url.find(':')?;
    let before = &url[..colon];
    let valid = !before.is_empty()
        && before.starts_with(|c: char| c.is_ascii_alphabetic())
        && before
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some(before)
}

fn link_allowed(url: &str) -> bool {
    match scheme(url) {
        Some(s) => LINK_SCHEMES
            .iter()
            .any(|allowed| s.eq_ignore_ascii_case(allowed)),
        // A relative link or an anchor: harmless.
        None => true,
    }
}

fn snippet(text: &str) -> String {
    let trimmed = text.trim();
    let mut out: String = trimmed.chars().take(40).collect();
    if trimmed.chars().count() > 40 {
        out.push('…');
    }
    out.replace('\n', " ")
}

/// The byte ranges of the blanks of a text: runs of three or more underscores outside code
/// spans and code blocks. They are found in the source rather than in pulldown-cmark's text
/// events because CommonMark reads `、___、___、` as emphasis, and a blank must stay a blank
/// whatever punctuation surrounds it.
pub(crate) fn blank_ranges(text: &str) -> Vec<std::ops::Range<usize>> {
    if !text.contains("___") {
        return Vec::new();
    }
    let mut code: Vec<std::ops::Range<usize>> = Vec::new();
    let mut code_block_start = None;
    for (event, range) in Parser::new_ext(text, options()).into_offset_iter() {
        match event {
            Event::Code(_) | Event::InlineMath(_) | Event::DisplayMath(_) => code.push(range),
            Event::Start(Tag::CodeBlock(_)) => code_block_start = Some(range.start),
            Event::End(TagEnd::CodeBlock) => {
                code.push(code_block_start.take().unwrap_or(range.start)..range.end);
            }
            Event::Start(Tag::Link { .. } | Tag::Image { .. }) => code.push(range),
            _ => {}
        }
    }
    let bytes = text.as_bytes();
    let mut blanks = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'_' && (i == 0 || bytes[i - 1] != b'\\') {
            let start = i;
            while i < bytes.len() && bytes[i] == b'_' {
                i += 1;
            }
            let inside_code = code.iter().any(|r| r.start <= start && start < r.end);
            if i - start >= 3 && !inside_code {
                blanks.push(start..i);
            }
        } else {
            i += 1;
        }
    }
    blanks
}

/// The text with every blank's underscores escaped, so CommonMark shows them as they are.
fn escape_blanks(text: &str) -> std::borrow::Cow<'_, str> {
    let ranges = blank_ranges(text);
    if ranges.is_empty() {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut last = 0;
    for range in ranges {
        out.push_str(&text[last..range.start]);
        for _ in range.clone() {
            out.push_str("\\_");
        }
        last = range.end;
    }
    out.push_str(&text[last..]);
    std::borrow::Cow::Owned(out)
}

fn math_nesting(latex: &str) -> usize {
    let (mut depth, mut max) = (0_usize, 0_usize);
    for c in latex.chars() {
        match c {
            '{' => {
                depth += 1;
                max = max.max(depth);
            }
            '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Checks LaTeX math; `Err` says what is wrong.
fn check_math(latex: &str) -> Result<(), String> {
    if math_nesting(latex) > MATH_MAX_NESTING {
        return Err(format!(
            "math is nested more than {MATH_MAX_NESTING} braces deep"
        ));
    }
    let storage = pulldown_latex::Storage::new();
    let parser = pulldown_latex::Parser::new(latex, &storage);
    for event in parser {
        if let Err(error) = event {
            // The error's display continues with a drawing of the context; the first line
            // says what is wrong.
            let text = error.to_string();
            return Err(text.lines().next().unwrap_or("invalid LaTeX").to_owned());
        }
    }
    Ok(())
}

fn image_problem(url: &str, media: &BTreeMap<String, Vec<u8>>) -> Option<String> {
    if scheme(url).is_some() || url.starts_with("//") {
        return Some(format!(
            "image `{url}` is remote; exam content must be self-contained: put the file in the bank's media/ folder and write ![...](media/NAME)"
        ));
    }
    let Some(name) = url.strip_prefix("media/") else {
        return Some(format!(
            "image `{url}` must be a path inside the bank's media/ folder, written as media/NAME"
        ));
    };
    if name.is_empty()
        || name
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Some(format!("image `{url}` is not a plain path inside media/"));
    }
    let extension = name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase());
    if !extension
        .as_deref()
        .is_some_and(|ext| IMAGE_EXTENSIONS.contains(&ext))
    {
        return Some(format!(
            "image `{url}` is not an image file: use one of {}",
            IMAGE_EXTENSIONS.join(", ")
        ));
    }
    match media.get(url) {
        None => Some(format!(
            "image `{url}` is missing: no such file in the bank's media/ folder"
        )),
        Some(bytes) if bytes.len() > MEDIA_LIMIT => Some(format!(
            "image `{url}` is {} bytes, over the 1 MiB limit for one image: shrink or compress it",
            bytes.len()
        )),
        Some(_) => None,
    }
}

/// Validates one text field against the bank's media.
pub(crate) fn check_text(text: &str, media: &BTreeMap<String, Vec<u8>>) -> TextReport {
    let mut report = TextReport {
        blanks: blank_ranges(text).len(),
        ..TextReport::default()
    };
    // Raw HTML and autolinks need `<`, links and images `[`, math `$`: a text with none of
    // them has nothing else to check, and skipping the Markdown parser for it saves a third
    // of the validation time on a large bank.
    if !text.contains(['<', '[', '$']) {
        return report;
    }
    for event in Parser::new_ext(text, options()) {
        match event {
            Event::Html(html) | Event::InlineHtml(html) => {
                let shown = snippet(&html);
                if !shown.is_empty() {
                    report.problems.push(format!(
                        "raw HTML `{shown}` is not allowed: write markup as code, `like <this>` or in a fenced code block"
                    ));
                }
            }
            Event::Start(Tag::Link { dest_url, .. }) if !link_allowed(&dest_url) => {
                report.problems.push(format!(
                    "link `{dest_url}` uses a scheme that is not allowed: use http, https or mailto"
                ));
            }
            Event::Start(Tag::Image { dest_url, .. }) => match image_problem(&dest_url, media) {
                Some(problem) => report.problems.push(problem),
                None => report.media.push(dest_url.to_string()),
            },
            Event::InlineMath(latex) | Event::DisplayMath(latex) => {
                if let Err(error) = check_math(&latex) {
                    report.problems.push(format!(
                        "invalid LaTeX math `{}`: {error} (write a literal dollar sign as \\$)",
                        snippet(&latex)
                    ));
                }
            }
            _ => {}
        }
    }
    report.media.sort();
    report.media.dedup();
    report
}

/// Counts the blanks (runs of three or more underscores outside code) of a stem.
#[cfg(test)]
pub(crate) fn blanks_in(text: &str) -> usize {
    check_text(text, &BTreeMap::new()).blanks
}

fn math_to_mathml(latex: &str, display: bool) -> Option<String> {
    check_math(latex).ok()?;
    let storage = pulldown_latex::Storage::new();
    let parser = pulldown_latex::Parser::new(latex, &storage);
    let config = pulldown_latex::RenderConfig {
        display_mode: if display {
            pulldown_latex::config::DisplayMode::Block
        } else {
            pulldown_latex::config::DisplayMode::Inline
        },
        ..pulldown_latex::RenderConfig::default()
    };
    let mut out = String::new();
    pulldown_latex::push_mathml(&mut out, parser, config).ok()?;
    Some(escape_stray_markup(&out))
}

/// pulldown-latex escapes text but writes single-character operators as they are, so `$a<b$`
/// gives `<mo><</mo>`. Every `<` that does not open a tag (a letter or `/` must follow) and
/// every `&` that does not start an entity is escaped here, which leaves only the writer's
/// own tags in the output.
fn escape_stray_markup(mathml: &str) -> String {
    let bytes = mathml.as_bytes();
    let mut out = String::with_capacity(mathml.len() + 8);
    for (i, c) in mathml.char_indices() {
        let next = bytes.get(i + 1).copied();
        match c {
            '<' if !next.is_some_and(|b| b.is_ascii_alphabetic() || b == b'/') => {
                out.push_str("&lt;");
            }
            '&' if !next.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'#') => {
                out.push_str("&amp;");
            }
            c => out.push(c),
        }
    }
    out
}

/// Renders CommonMark to sanitized HTML.
///
/// Raw HTML is shown as escaped text; links keep only http, https, mailto and relative targets;
/// images keep only `media/...` targets, rewritten through `media_url` (which receives the
/// `media/NAME` path); `$...$` and `$$...$$` become MathML. Invalid math is shown as code.
pub fn render_html(markdown: &str, media_url: impl Fn(&str) -> String) -> String {
    let markdown = escape_blanks(markdown);
    let events = Parser::new_ext(&markdown, options()).map(|event| match event {
        Event::Html(html) | Event::InlineHtml(html) => Event::Text(html),
        Event::InlineMath(latex) => match math_to_mathml(&latex, false) {
            Some(mathml) => Event::InlineHtml(mathml.into()),
            None => Event::Code(latex),
        },
        Event::DisplayMath(latex) => match math_to_mathml(&latex, true) {
            Some(mathml) => Event::InlineHtml(mathml.into()),
            None => Event::Code(latex),
        },
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let dest_url = if link_allowed(&dest_url) {
                dest_url
            } else {
                CowStr::Borrowed("")
            };
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            })
        }
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let dest_url = if scheme(&dest_url).is_none()
                && !dest_url.starts_with("//")
                && dest_url.starts_with("media/")
            {
                CowStr::from(media_url(&dest_url))
            } else {
                CowStr::Borrowed("")
            };
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            })
        }
        other => other,
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    fn media() -> BTreeMap<String, Vec<u8>> {
        let mut media = BTreeMap::new();
        media.insert("media/box.svg".to_owned(), b"<svg/>".to_vec());
        media.insert("media/big.png".to_owned(), vec![0; MEDIA_LIMIT + 1]);
        media.insert("media/notes.txt".to_owned(), b"x".to_vec());
        media
    }

    #[test]
    fn plain_text_has_no_problems() {
        assert!(
            check_text("Which element marks the main content?", &media())
                .problems
                .is_empty()
        );
    }

    #[test]
    fn html_inside_code_is_allowed() {
        let report = check_text(
            "Is `<main>` right?\n\n```html\n<div>x</div>\n```\n",
            &media(),
        );
        assert!(report.problems.is_empty(), "{:?}", report.problems);
    }

    #[test]
    fn inline_raw_html_is_refused() {
        let report = check_text("Use <b>bold</b> here", &media());
        assert_eq!(report.problems.len(), 2);
        assert!(report.problems[0].contains("raw HTML `<b>`"));
    }

    #[test]
    fn block_raw_html_is_refused() {
        let report = check_text("<div>\nhello\n</div>\n", &media());
        assert!(!report.problems.is_empty());
    }

    #[test]
    fn a_javascript_link_is_refused() {
        let report = check_text("[click](javascript:alert(1))", &media());
        assert!(report.problems[0].contains("scheme that is not allowed"));
    }

    #[test]
    fn https_and_relative_links_are_allowed() {
        let report = check_text("[spec](https://html.spec.whatwg.org) [top](#top)", &media());
        assert!(report.problems.is_empty());
    }

    #[test]
    fn an_existing_image_is_recorded() {
        let report = check_text("![box](media/box.svg)", &media());
        assert!(report.problems.is_empty());
        assert_eq!(report.media, vec!["media/box.svg".to_owned()]);
    }

    #[test]
    fn a_missing_image_is_refused() {
        let report = check_text("![x](media/none.png)", &media());
        assert!(report.problems[0].contains("missing"));
    }

    #[test]
    fn an_oversized_image_is_refused() {
        let report = check_text("![x](media/big.png)", &media());
        assert!(report.problems[0].contains("1 MiB"));
    }

    #[test]
    fn a_remote_image_is_refused() {
        let report = check_text("![x](https://example.com/x.png)", &media());
        assert!(report.problems[0].contains("remote"));
    }

    #[test]
    fn an_image_outside_media_is_refused() {
        let report = check_text("![x](../secret.png)", &media());
        assert!(report.problems[0].contains("media/"));
    }

    #[test]
    fn a_non_image_media_file_is_refused_as_an_image() {
        let report = check_text("![x](media/notes.txt)", &media());
        assert!(report.problems[0].contains("not an image"));
    }

    #[test]
    fn valid_math_is_accepted() {
        let report = check_text(r"The area is $\pi r^2$ and $$\frac{a}{b}$$", &media());
        assert!(report.problems.is_empty(), "{:?}", report.problems);
    }

    #[test]
    fn invalid_math_is_refused() {
        let report = check_text(r"Broken $\frac{a}$ here", &media());
        assert!(
            report.problems.iter().any(|p| p.contains("LaTeX")),
            "{:?}",
            report.problems
        );
    }

    #[test]
    fn deeply_nested_math_is_refused_without_recursing() {
        let latex = format!("${}x{}$", "{".repeat(100_000), "}".repeat(100_000));
        let report = check_text(&latex, &media());
        assert!(report.problems.iter().any(|p| p.contains("nested")));
    }

    #[test]
    fn pathologically_nested_markdown_is_checked_and_rendered_without_overflow() {
        for text in [
            format!("{}x", "> ".repeat(50_000)),
            format!("{}x", "- ".repeat(50_000)),
            format!("{}x{}", "[".repeat(50_000), "](a)".repeat(50_000)),
            format!("{}x{}", "*".repeat(50_000), "*".repeat(50_000)),
            "`".repeat(100_000),
        ] {
            let report = check_text(&text, &media());
            assert!(report.media.is_empty());
            let html = render_html(&text, |n| n.to_owned());
            assert!(!html.is_empty());
        }
    }

    #[test]
    fn blanks_are_counted_outside_code_only() {
        assert_eq!(
            blanks_in("The ___ element and the _____ attribute, not `___`."),
            2
        );
        assert_eq!(blanks_in("使用___元素"), 1);
        assert_eq!(blanks_in("snake_case is not a blank"), 0);
        assert_eq!(blanks_in("内容区 content、___、___、外边距 margin"), 2);
        assert_eq!(blanks_in("```\nlet ___ = 1;\n```\n\nthen ___"), 1);
        assert_eq!(blanks_in("escaped \\___ is not a blank"), 0);
    }

    #[test]
    fn rendering_shows_blanks_as_underscores_not_emphasis() {
        let html = render_html("依次是：content、___、___、margin", |n| n.to_owned());
        assert!(html.contains("、___、___、"), "{html}");
        assert!(!html.contains("<em>"), "{html}");
    }

    #[test]
    fn rendering_escapes_raw_html_and_filters_urls() {
        let html = render_html(
            "<script>alert(1)</script>\n\nx <b>y</b> [a](javascript:alert(1)) ![i](media/box.svg) ![r](http://evil/x.png)",
            |name| format!("/media/v1/{name}"),
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains("src=\"/media/v1/media/box.svg\""), "{html}");
        assert!(!html.contains("evil"), "{html}");
    }

    #[test]
    fn rendering_turns_math_into_escaped_mathml() {
        let html = render_html(r"$a < b$ and $x \& y$", |name| name.to_owned());
        assert!(html.contains("<math"), "{html}");
        assert!(html.contains("<mo>&lt;</mo>"), "{html}");
        assert!(!html.contains("<<"), "{html}");
    }

    #[test]
    fn rendering_keeps_tables_and_code() {
        let html = render_html(
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n```js\nlet x = `<p>`;\n```\n",
            |n| n.to_owned(),
        );
        assert!(html.contains("<table>"), "{html}");
        assert!(html.contains("&lt;p&gt;"), "{html}");
    }
}
