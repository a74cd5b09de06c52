//! Text regent writes for people (commit subjects now; PR bodies, comments
//! and step summaries later) rendered from minijinja templates. The defaults
//! are embedded from `templates/`; a registry may override one by putting a
//! file of the same name in its `.regent/templates/` folder.

use std::path::Path;

/// The embedded templates, by file name.
const EMBEDDED: [(&str, &str); 1] = [(
    "commit-subject.j2",
    include_str!("../templates/commit-subject.j2"),
)];

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
    let override_path = registry_dir.map(|d| d.join(".regent/templates").join(name));
    let source = match override_path.filter(|p| p.is_file()) {
        Some(path) => fs_err::read_to_string(&path).map_err(|e| fail(e.to_string()))?,
        None => EMBEDDED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| (*s).to_owned())
            .ok_or_else(|| fail("no such template".into()))?,
    };
    let mut env = minijinja::Environment::new();
    // Unknown variables are errors, so a typo in an override is caught.
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_template_owned(name.to_owned(), source)
        .map_err(|e| fail(e.to_string()))?;
    env.get_template(name)
        .and_then(|t| t.render(minijinja::value::Serde(context)))
        .map_err(|e| fail(e.to_string()))
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
