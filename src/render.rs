//! Text regent writes for people (commit subjects now; PR bodies, comments
//! and step summaries later) rendered from minijinja templates. The defaults
//! are embedded from `templates/`; a registry may override one by putting a
//! file of the same name in its `.regent/templates/` folder.

use std::path::Path;

/// The embedded templates, by file name.
const EMBEDDED: [(&str, &str); 6] = [
    (
        "commit-subject.j2",
        include_str!("../templates/commit-subject.j2"),
    ),
    ("pr-title.j2", include_str!("../templates/pr-title.j2")),
    ("pr-body.md.j2", include_str!("../templates/pr-body.md.j2")),
    (
        "pr-events-title.j2",
        include_str!("../templates/pr-events-title.j2"),
    ),
    (
        "pr-events.md.j2",
        include_str!("../templates/pr-events.md.j2"),
    ),
    (
        "check-report.md.j2",
        include_str!("../templates/check-report.md.j2"),
    ),
];

/// A template could not be found, parsed or rendered.
#[derive(Debug, thiserror::Error)]
#[error("template {name}: {message}")]
pub struct RenderError {
    pub name: String,
    pub message: String,
}

/// Renders template `name` with `context`, preferring the registry's
/// override in `registry_dir/.regent/templates/` when there is one.
pub fn render(
    registry_dir: Option<&Path>,
    name: &str,
    context: &serde_json::Value,
) -> Result<String, RenderError> {
    let fail = |message: String| RenderError {
        name: name.to_owned(),
        message,
    };
    let override_path = registry_dir.map(|d| d.join(OVERRIDES).join(name));
    let custom = match override_path.filter(|p| p.is_file()) {
        Some(path) => Some(fs_err::read_to_string(&path).map_err(|e| fail(e.to_string()))?),
        None => None,
    };
    render_source(name, custom.as_deref(), context)
}

/// Where a registry keeps its template overrides, relative to its folder.
pub const OVERRIDES: &str = ".regent/templates";

/// Renders template `name` from `custom` source text when given (an override
/// read by the caller, e.g. from the base commit of a pull request, so that
/// the change being judged cannot restyle its own verdict), else the
/// embedded default.
pub fn render_source(
    name: &str,
    custom: Option<&str>,
    context: &serde_json::Value,
) -> Result<String, RenderError> {
    let fail = |message: String| RenderError {
        name: name.to_owned(),
        message,
    };
    let source = match custom {
        Some(text) => text.to_owned(),
        None => EMBEDDED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| (*s).to_owned())
            .ok_or_else(|| fail("no such template".into()))?,
    };
    let mut env = minijinja::Environment::new();
    // Unknown variables are errors, so a typo in an override is caught.
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    if name.ends_with(".md.j2") {
        // Markdown for GitHub: every value is escaped unless marked safe, so
        // a description cannot inject HTML, links, tables or @-mentions.
        env.set_formatter(|out, _state, value| {
            let text = value.to_string();
            let text = if value.is_safe() {
                text
            } else {
                escape_markdown(&text)
            };
            out.write_str(&text).map_err(|e| {
                minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string())
            })
        });
    }
    env.add_template_owned(name.to_owned(), source)
        .map_err(|e| fail(e.to_string()))?;
    env.get_template(name)
        .and_then(|t| t.render(minijinja::value::Serde(context)))
        .map_err(|e| fail(e.to_string()))
}

/// Escapes text for GitHub-flavoured Markdown inside a table cell or a
/// paragraph: HTML is neutralised, Markdown punctuation is backslashed, line
/// breaks become spaces, and `@` cannot mention anyone.
pub fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' | '\r' | '\t' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' | '!' | '{' | '}' | '(' | ')' => {
                out.push('\\');
                out.push(c);
            }
            '@' => out.push_str("@\u{200b}"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Renders a commit subject: one line, trimmed.
pub fn commit_subject(
    registry_dir: Option<&Path>,
    context: &serde_json::Value,
) -> Result<String, RenderError> {
    let text = render(registry_dir, "commit-subject.j2", context)?;
    Ok(text.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_default_subjects() {
        let ctx =
            json!({"event": "run", "experiment": "e", "run": "r", "model": null, "version": null});
        assert_eq!(commit_subject(None, &ctx).unwrap(), "log run e/r");
        let ctx = json!({"event": "init", "summary": "x"});
        assert_eq!(commit_subject(None, &ctx).unwrap(), "init regent registry");
        let ctx = json!({"event": "promote", "summary": "promote m v2 to production (was v1)"});
        assert_eq!(
            commit_subject(None, &ctx).unwrap(),
            "promote m v2 to production (was v1)"
        );
    }

    #[test]
    fn markdown_templates_escape_every_value() {
        let ctx = json!({
            "marker": "<!-- regent:check -->", "ok": false, "base": "abc", "head": "def", "approvers": [],
            "errors": [],
            "events": [{"description": "promote m v1", "allowed": false,
                        "reasons": ["<script>alert(1)</script> | [x](http://evil) @everyone {{ 7*7 }}"],
                        "checks": []}],
        });
        let text = render(None, "check-report.md.j2", &ctx).unwrap();
        assert!(text.starts_with("<!-- regent:check -->\n"), "{text}");
        assert!(!text.contains("<script>"), "{text}");
        assert!(text.contains("&lt;script&gt;"), "{text}");
        assert!(text.contains("\\| \\[x\\]\\(http://evil\\)"), "{text}");
        assert!(text.contains("@\u{200b}everyone"), "{text}");
        assert!(
            text.contains("\\{\\{ 7\\*7 \\}\\}"),
            "the value is text, not a template: {text}"
        );
    }

    #[test]
    fn registry_overrides_win_and_stay_on_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let templates = dir.path().join(".regent/templates");
        std::fs::create_dir_all(&templates).unwrap();
        std::fs::write(
            templates.join("commit-subject.j2"),
            "[ml] {{ event }}\n\nextra",
        )
        .unwrap();
        let ctx = json!({"event": "run"});
        assert_eq!(
            commit_subject(Some(dir.path()), &ctx).unwrap(),
            "[ml] run extra"
        );
        std::fs::write(templates.join("commit-subject.j2"), "{{ evnt }}").unwrap();
        assert!(commit_subject(Some(dir.path()), &ctx).is_err());
    }
}
