//! The naming rules of DESIGN.md §1. Names become paths, tag names and Git
//! arguments, so these checks are the first line against path traversal and
//! option injection: nothing reaches the filesystem or `git` unchecked.

use std::fmt;

/// What a name names; each kind has its own rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    Model,
    Experiment,
    Run,
    Stage,
    Alias,
}

impl NameKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NameKind::Model => "model",
            NameKind::Experiment => "experiment",
            NameKind::Run => "run",
            NameKind::Stage => "stage",
            NameKind::Alias => "alias",
        }
    }

    /// The rule in words, as shown to users (README.md gives the regular
    /// expressions).
    pub fn rule(self) -> &'static str {
        match self {
            NameKind::Model | NameKind::Experiment | NameKind::Run => {
                "ASCII letters, digits, `.`, `_` and `-`, starting with a letter or digit, at most 100 characters, without `..`"
            }
            NameKind::Stage | NameKind::Alias => {
                "lowercase ASCII letters, digits, `_` and `-`, starting with a letter, at most 32 characters"
            }
        }
    }

    fn max_len(self) -> usize {
        match self {
            NameKind::Model | NameKind::Experiment | NameKind::Run => 100,
            NameKind::Stage | NameKind::Alias => 32,
        }
    }
}

/// A name that breaks its rule, with the first reason found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {} name {:?}: {reason}; {} names are {}", kind.as_str(), name, kind.as_str(), kind.rule())]
pub struct NameError {
    pub kind: NameKind,
    pub name: String,
    pub reason: String,
}

/// Checks `name` against the rule for `kind`.
pub fn check(kind: NameKind, name: &str) -> Result<(), NameError> {
    match first_problem(kind, name) {
        None => Ok(()),
        Some(reason) => Err(NameError {
            kind,
            name: name.to_owned(),
            reason,
        }),
    }
}

fn first_problem(kind: NameKind, name: &str) -> Option<String> {
    let Some(first) = name.chars().next() else {
        return Some("it is empty".into());
    };
    let len = name.chars().count();
    if len > kind.max_len() {
        return Some(format!(
            "it is {len} characters long, at most {} are allowed",
            kind.max_len()
        ));
    }
    let strict = matches!(kind, NameKind::Stage | NameKind::Alias);
    let first_ok = if strict {
        first.is_ascii_lowercase()
    } else {
        first.is_ascii_alphanumeric()
    };
    if !first_ok {
        return Some(format!(
            "it starts with {}, it must start with {}",
            Described(first),
            // "ASCII": a Cyrillic `а` is a letter too, and the reason must not deny it.
            if strict {
                "a lowercase ASCII letter (a-z)"
            } else {
                "an ASCII letter or digit"
            }
        ));
    }
    for c in name.chars() {
        let ok = if strict {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'
        } else {
            c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-'
        };
        if !ok {
            return Some(format!("it contains {}", Described(c)));
        }
    }
    if !strict && name.contains("..") {
        return Some("it contains `..`".into());
    }
    if kind == NameKind::Stage && looks_like_version(name) {
        return Some(format!(
            "it reads as a version (models:/MODEL/{name} means version {})",
            &name[1..]
        ));
    }
    None
}

/// A version number as users write it: `3`, or `v3` as regent prints it.
/// Versions are numbered from 1.
pub fn parse_version(text: &str) -> Result<u64, String> {
    // Without the `v`, what Rust reads as an integer (`+1` and `01` are 1);
    // after it, digits only.
    let (digits, prefixed) = match text.strip_prefix(['v', 'V']) {
        Some(digits) => (digits, true),
        None => (text, false),
    };
    match digits.parse::<u64>() {
        Ok(0) => Err(format!(
            "{text:?} is not a version number: versions are numbered from 1"
        )),
        Ok(n) if !prefixed || digits.starts_with(|c: char| c.is_ascii_digit()) => Ok(n),
        _ => Err(format!(
            "{text:?} is not a version number (1, 2, 3 … or v1, v2, v3 …, at most {})",
            u64::MAX
        )),
    }
}

/// Whether `name` reads as a version (`v3`): no stage may be called that,
/// since `models:/MODEL/v3` means version 3.
pub fn looks_like_version(name: &str) -> bool {
    name.strip_prefix(['v', 'V'])
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// Shows a character so that spaces, control characters and look-alikes are visible.
struct Described(char);

impl fmt::Display for Described {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.0;
        match c {
            ' ' => f.write_str("a space"),
            c if c.is_ascii_graphic() => write!(f, "`{c}`"),
            c => write!(f, "{:?} (U+{:04X})", c, c as u32),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_good_names() {
        for n in ["churn", "Churn-2", "a", "0", "x.y_z-1", &"a".repeat(100)] {
            check(NameKind::Model, n).unwrap();
        }
        for n in ["production", "pre-prod", "a_1", &"a".repeat(32)] {
            check(NameKind::Stage, n).unwrap();
        }
    }

    #[test]
    fn rejects_bad_names_with_reasons() {
        let cases = [
            ("../x", "starts with `.`"),
            ("a..b", "contains `..`"),
            ("a b", "contains a space"),
            ("x#y", "contains `#`"),
            ("a/b", "contains `/`"),
            ("-rf", "starts with `-`"),
            ("", "empty"),
            ("a\u{7}", "U+0007"),
            ("аbc", "U+0430"), // Cyrillic a
        ];
        for (name, why) in cases {
            let err = check(NameKind::Model, name).unwrap_err();
            assert!(err.to_string().contains(why), "{name:?}: {err}");
        }
        let long = "a".repeat(101);
        let err = check(NameKind::Model, &long).unwrap_err();
        assert!(err.reason.contains("101 characters"), "{err}");
        assert!(check(NameKind::Stage, "Production").is_err());
        assert!(check(NameKind::Alias, "1st").is_err());
        assert!(check(NameKind::Alias, &"a".repeat(33)).is_err());
    }

    #[test]
    fn versions_are_read_with_or_without_a_v() {
        assert_eq!(parse_version("3"), Ok(3));
        assert_eq!(parse_version("v3"), Ok(3));
        assert_eq!(parse_version("V12"), Ok(12));
        assert_eq!(parse_version("+1"), Ok(1));
        assert_eq!(parse_version("01"), Ok(1));
        for bad in [
            "",
            "v",
            "0",
            "v0",
            "-1",
            "v+1",
            "1.5",
            "vv1",
            "x3",
            "99999999999999999999",
        ] {
            assert!(parse_version(bad).is_err(), "{bad:?}");
        }
        assert!(check(NameKind::Stage, "v2").is_err());
        assert!(check(NameKind::Stage, "v2-canary").is_ok());
        assert!(check(NameKind::Alias, "v2").is_ok());
    }

    proptest! {
        #[test]
        fn valid_model_names_are_safe_path_components(name in "\\PC{0,120}") {
            if check(NameKind::Model, &name).is_ok() {
                prop_assert!(!name.contains('/') && !name.contains("..") && !name.starts_with('-'));
                prop_assert!(!name.is_empty() && name.len() <= 100);
            }
        }

        #[test]
        fn the_regex_and_the_check_agree(name in "[A-Za-z0-9._ #/-]{0,8}") {
            let by_rule = !name.is_empty()
                && name.chars().next().unwrap().is_ascii_alphanumeric()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
                && !name.contains("..");
            prop_assert_eq!(check(NameKind::Run, &name).is_ok(), by_rule);
        }
    }
}
