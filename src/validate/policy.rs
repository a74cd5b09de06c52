//! The rules of `regent.yaml` no schema can express: stages declared once,
//! `requires` naming declared stages without cycles, approvals that somebody
//! could give, and tag formats that give valid Git tag names.

use crate::diagnostic::Diagnostic;
use crate::load::Loaded;
use crate::registry::Config;
use crate::yaml_location::{Step, Target};
use std::collections::{BTreeMap, BTreeSet};

/// The placeholders tag formats may use.
const TAG_PLACEHOLDERS: [&str; 4] = ["{model}", "{version}", "{stage}", "{n}"];

pub(super) fn check_config(config: &Loaded<Config>, out: &mut Vec<Diagnostic>) {
    let value = &config.value;
    let mut seen = BTreeSet::new();
    for (i, stage) in value.stages.iter().enumerate() {
        let at = |key: &str| {
            vec![
                Step::Key("stages".into()),
                Step::Index(i),
                Step::Key(key.into()),
            ]
        };
        if stage.name == "none" {
            out.push(config.at(
                &at("name"),
                Target::Value,
                "`none` is implicit (registered, in no stage) and cannot be declared",
            ));
        }
        if crate::names::looks_like_version(&stage.name) {
            out.push(config.at(
                &at("name"),
                Target::Value,
                format!(
                    "a stage cannot be called `{}`: models:/MODEL/{} means version {}",
                    stage.name,
                    stage.name,
                    &stage.name[1..]
                ),
            ));
        }
        if !seen.insert(stage.name.as_str()) {
            out.push(config.at(
                &at("name"),
                Target::Value,
                format!("stage `{}` is declared twice", stage.name),
            ));
        }
        for (j, required) in stage.requires.iter().enumerate() {
            let path = [at("requires"), vec![Step::Index(j)]].concat();
            if required == &stage.name {
                out.push(config.at(
                    &path,
                    Target::Value,
                    format!(
                        "stage `{required}` requires itself: a version would have to hold it \
                         before entering it, so it can never be entered"
                    ),
                ));
            } else if value.stage(required).is_none() {
                out.push(config.at(
                    &path,
                    Target::Value,
                    format!("`{required}` is not a declared stage"),
                ));
            }
        }
        if let Some(message) = unsatisfiable_approvals(stage.approvals, &stage.approvers) {
            out.push(config.at(&at("approvals"), Target::Value, message));
        }
        let rollback = stage.rollback.as_ref().and_then(|r| r.approvals);
        if let Some(message) = unsatisfiable_approvals(rollback, &stage.approvers) {
            let path = [at("rollback"), vec![Step::Key("approvals".into())]].concat();
            out.push(config.at(&path, Target::Value, format!("rollback: {message}")));
        }
    }
    for (from, j, cycle) in requires_cycles(value) {
        let path = [
            Step::Key("stages".into()),
            Step::Index(from),
            Step::Key("requires".into()),
            Step::Index(j),
        ];
        out.push(config.at(
            &path,
            Target::Value,
            format!(
                "`requires` makes a cycle, {}: each of these stages needs a version to have \
                 held the next one first, so no version can ever enter any of them",
                cycle.join(" requires ")
            ),
        ));
    }
    for (alias, policy) in &value.aliases {
        if let Some(message) = unsatisfiable_approvals(policy.approvals, &policy.approvers) {
            let path = [
                Step::Key("aliases".into()),
                Step::Key(alias.clone()),
                Step::Key("approvals".into()),
            ];
            out.push(config.at(&path, Target::Value, format!("alias `{alias}`: {message}")));
        }
    }
    if let Some(tags) = &value.tags {
        for (key, format) in [("register", &tags.register), ("assign", &tags.assign)] {
            if let Some(format) = format
                && let Err(message) = check_tag_format(format)
            {
                out.push(config.at(
                    &[Step::Key("tags".into()), Step::Key(key.into())],
                    Target::Value,
                    message,
                ));
            }
        }
    }
}

/// Why `approvals` from `approvers` can never be given, if they cannot: nobody
/// is listed, or fewer distinct people than approvals are needed and no team
/// (`@org/team`, whose size regent cannot know offline) is listed. Logins are
/// compared like the policy compares them: case-insensitively, `@alice` is
/// `alice`.
pub(super) fn unsatisfiable_approvals(
    approvals: Option<u32>,
    approvers: &[String],
) -> Option<String> {
    let required = approvals.filter(|n| *n > 0)?;
    let needed = if required == 1 {
        "1 approval is required".to_owned()
    } else {
        format!("{required} approvals are required")
    };
    if approvers.is_empty() {
        return Some(format!(
            "{needed} but `approvers` is empty: nobody could approve, so this can never be \
             satisfied"
        ));
    }
    let is_team = |entry: &String| entry.strip_prefix('@').is_some_and(|e| e.contains('/'));
    if approvers.iter().any(is_team) {
        return None;
    }
    let mut people: Vec<String> = Vec::new();
    for entry in approvers {
        let login = entry.trim_start_matches('@');
        if !people
            .iter()
            .any(|p| p.to_lowercase() == login.to_lowercase())
        {
            people.push(login.to_owned());
        }
    }
    (people.len() < required as usize).then(|| {
        format!(
            "{needed} but `approvers` lists only {} distinct {} ({}) \
             and no team: each person counts once, so this can never be satisfied",
            people.len(),
            if people.len() == 1 {
                "person"
            } else {
                "people"
            },
            people.join(", ")
        )
    })
}

/// Cycles of `requires` between declared stages (a stage requiring itself is
/// reported on its own): for each, the stage it is reported at (the first
/// declared of the cycle), the index of its `requires` entry that starts the
/// cycle, and the cycle's stage names, first repeated at the end. Each set of
/// stages is reported once; every stage on a cycle is on a reported one.
pub(super) fn requires_cycles(config: &Config) -> Vec<(usize, usize, Vec<String>)> {
    // Declared stages by name (the first declaration, as `Config::stage`).
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, stage) in config.stages.iter().enumerate() {
        index.entry(stage.name.as_str()).or_insert(i);
    }
    let edges = |i: usize| -> Vec<(usize, usize)> {
        config.stages[i]
            .requires
            .iter()
            .enumerate()
            .filter_map(|(j, r)| index.get(r.as_str()).map(|&to| (j, to)))
            .filter(|&(_, to)| to != i)
            .collect()
    };
    let mut reported: BTreeSet<BTreeSet<usize>> = BTreeSet::new();
    let mut out = Vec::new();
    for (start, stage) in config.stages.iter().enumerate() {
        if index.get(stage.name.as_str()) != Some(&start) {
            continue; // declared twice: reported as such
        }
        // Breadth first from `start`: the shortest way back to it.
        let mut came_from: BTreeMap<usize, usize> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        let mut last = None;
        'search: while let Some(node) = queue.pop_front() {
            for (_, to) in edges(node) {
                if to == start {
                    last = Some(node);
                    break 'search;
                }
                if let std::collections::btree_map::Entry::Vacant(e) = came_from.entry(to) {
                    e.insert(node);
                    queue.push_back(to);
                }
            }
        }
        let Some(last) = last else { continue };
        // The stages from `last` back to `start` (which has no predecessor).
        let mut path = vec![last];
        while let Some(&prev) = path.last().and_then(|n| came_from.get(n)) {
            path.push(prev);
        }
        path.reverse();
        if !reported.insert(path.iter().copied().collect()) {
            continue;
        }
        let next = path.get(1).copied().unwrap_or(start);
        let Some((j, _)) = edges(start).into_iter().find(|&(_, to)| to == next) else {
            continue;
        };
        let mut names: Vec<String> = path
            .iter()
            .map(|&i| config.stages[i].name.clone())
            .collect();
        names.push(stage.name.clone());
        out.push((start, j, names));
    }
    out
}

/// A tag format must expand to a valid Git tag name for every valid input.
pub(super) fn check_tag_format(format: &str) -> Result<(), String> {
    let mut rest = format.to_owned();
    for p in TAG_PLACEHOLDERS {
        rest = rest.replace(p, "x");
    }
    if rest.contains('{') || rest.contains('}') {
        return Err(format!(
            "unknown placeholder in tag format {format:?}; use {}",
            TAG_PLACEHOLDERS.join(" ")
        ));
    }
    if !git2::Reference::is_valid_name(&format!("refs/tags/{rest}"))
        || rest.starts_with('-')
        || rest.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "tag format {format:?} does not give a valid Git tag name"
        ));
    }
    Ok(())
}
