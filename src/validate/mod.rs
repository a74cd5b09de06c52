//! Checks a whole registry in one pass: every file against its schema, then
//! the rules no schema can express (names match places, pointers name real
//! versions and declared stages, runs exist, version numbers are dense).
//! Every problem is reported, each with its file, line and column.
//!
//! Files are read one at a time and only small facts are kept between them,
//! so memory stays bounded whatever the registry's size.

mod policy;

use crate::diagnostic::{self, Diagnostic};
use crate::git::GitError;
use crate::load::Loaded;
use crate::names::{self, NameKind};
use crate::registry::{
    Config, FileKind, Layout, ModelFile, RunFile, VersionFile, VersionStatus, classify,
};
use crate::snapshot::Snapshot;
use crate::yaml_location::{Step, Target};
use policy::check_config;
use std::collections::{BTreeMap, BTreeSet};

/// Validates everything in `snapshot`. Diagnostics are sorted by file and position.
pub fn validate(snapshot: &Snapshot<'_>) -> Result<Vec<Diagnostic>, GitError> {
    let mut out = Vec::new();
    let files = snapshot.walk("")?;

    // What exists, from paths alone: enough for every cross-file check.
    let mut kinds: BTreeMap<FileKind, String> = BTreeMap::new();
    let mut versions: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    let mut runs: BTreeSet<String> = BTreeSet::new();
    let mut model_dirs: BTreeSet<String> = BTreeSet::new();
    let mut special: BTreeSet<&str> = BTreeSet::new();
    for (path, entry) in &files {
        let shown = snapshot.display_path(path);
        // `models` or `experiments` itself may be the link (to a folder
        // outside the registry): it is listed as a special file then.
        let in_registry = path.starts_with("models/")
            || path.starts_with("experiments/")
            || [Layout::CONFIG, Layout::MODELS, Layout::EXPERIMENTS].contains(&path.as_str());
        if entry.is_special && in_registry {
            out.push(Diagnostic::file_level(
                shown,
                "not a regular file (a symbolic link or a submodule); registry files must be files",
            ));
            special.insert(path);
            continue;
        }
        match classify(path) {
            Ok(Some(kind)) => {
                match &kind {
                    FileKind::Version { model, version } => {
                        versions.entry(model.clone()).or_default().insert(*version);
                        model_dirs.insert(model.clone());
                    }
                    FileKind::Model { model } => {
                        model_dirs.insert(model.clone());
                    }
                    FileKind::Run { experiment, run } => {
                        runs.insert(format!("{experiment}/{run}"));
                    }
                    FileKind::Config => {}
                }
                kinds.insert(kind, path.clone());
            }
            Ok(None) => {}
            Err(message) => out.push(Diagnostic::file_level(shown, message)),
        }
    }

    let config = match snapshot.config() {
        Ok(config) => {
            check_config(&config, &mut out);
            Some(config.value)
        }
        // A linked regent.yaml is reported above, once.
        Err(_) if special.contains(Layout::CONFIG) => None,
        Err(diagnostics) => {
            out.extend(diagnostics);
            None
        }
    };

    let mut statuses: BTreeMap<(String, u64), VersionStatus> = BTreeMap::new();
    for (kind, path) in &kinds {
        match kind {
            FileKind::Config => {}
            FileKind::Version { model, version } => {
                match snapshot.load::<VersionFile>("version", path) {
                    Ok(file) => {
                        statuses.insert((model.clone(), *version), file.value.status);
                        check_version(&file, model, *version, &runs, &mut out);
                    }
                    Err(d) => out.extend(d),
                }
            }
            FileKind::Run { experiment, run } => match snapshot.load::<RunFile>("run", path) {
                Ok(file) => check_run(&file, experiment, run, &mut out),
                Err(d) => out.extend(d),
            },
            FileKind::Model { .. } => {}
        }
    }
    // Models last: their pointers are judged against the versions' statuses.
    for model in &model_dirs {
        let path = Layout::model(model);
        let numbers = versions.get(model).cloned().unwrap_or_default();
        if special.contains(path.as_str()) {
            // Already reported as not a regular file.
        } else if !kinds.contains_key(&FileKind::Model {
            model: model.clone(),
        }) {
            let folder = snapshot
                .list(&format!("models/{model}"))?
                .iter()
                .any(|e| e.is_dir && e.name == "model.yaml");
            out.push(Diagnostic::file_level(
                snapshot.display_path(&path),
                if folder {
                    "a folder where model.yaml must be a file".to_owned()
                } else {
                    format!("missing: models/{model}/ has versions but no model.yaml")
                },
            ));
        } else {
            match snapshot.load::<ModelFile>("model", &path) {
                Ok(file) => {
                    check_model(&file, model, &numbers, config.as_ref(), &statuses, &mut out)
                }
                Err(d) => out.extend(d),
            }
        }
        check_dense(snapshot, model, &numbers, &mut out);
    }
    diagnostic::normalize(&mut out);
    Ok(out)
}

/// Validates only the files at `paths` (registry-relative) and what they
/// point at, reading nothing else beyond folder listings: the cost of a
/// pull request's check follows the size of its change, not the registry's.
/// Models whose files changed get their pointer and numbering checks.
pub fn validate_paths(
    snapshot: &Snapshot<'_>,
    paths: &[String],
) -> Result<Vec<Diagnostic>, GitError> {
    let mut out = Vec::new();
    let mut models: BTreeSet<String> = BTreeSet::new();
    let config = match snapshot.config() {
        Ok(config) => {
            if paths.iter().any(|p| p == Layout::CONFIG) {
                check_config(&config, &mut out);
            }
            Some(config.value)
        }
        Err(diagnostics) => {
            out.extend(diagnostics);
            None
        }
    };
    for path in paths {
        if !snapshot.exists(path) {
            // Deleted: reported as an event, not a file problem; but the
            // model's pointers may now name a version that is gone.
            if let Ok(Some(FileKind::Version { model, .. })) = classify(path) {
                models.insert(model);
            }
            continue;
        }
        let shown = snapshot.display_path(path);
        match classify(path) {
            Ok(Some(FileKind::Config)) | Ok(None) => {}
            Ok(Some(FileKind::Model { model })) => {
                models.insert(model);
            }
            Ok(Some(FileKind::Version { model, version })) => {
                match snapshot.load::<VersionFile>("version", path) {
                    Ok(file) => {
                        let runs: BTreeSet<String> = file
                            .value
                            .run
                            .iter()
                            .filter(|id| {
                                id.split_once('/')
                                    .is_some_and(|(e, r)| snapshot.exists(&Layout::run(e, r)))
                            })
                            .cloned()
                            .collect();
                        check_version(&file, &model, version, &runs, &mut out);
                    }
                    Err(d) => out.extend(d),
                }
                models.insert(model);
            }
            Ok(Some(FileKind::Run { experiment, run })) => {
                match snapshot.load::<RunFile>("run", path) {
                    Ok(file) => check_run(&file, &experiment, &run, &mut out),
                    Err(d) => out.extend(d),
                }
            }
            Err(message) => out.push(Diagnostic::file_level(shown, message)),
        }
    }
    for model in &models {
        let numbers: BTreeSet<u64> = snapshot.version_numbers(model)?.into_iter().collect();
        let path = Layout::model(model);
        if !snapshot.exists(&path) {
            if numbers.is_empty() {
                continue; // the whole model is gone: a `delete` event
            }
            out.push(Diagnostic::file_level(
                snapshot.display_path(&path),
                format!("missing: models/{model}/ has versions but no model.yaml"),
            ));
        } else {
            match snapshot.load::<ModelFile>("model", &path) {
                Ok(file) => {
                    // Statuses only of the versions the pointers name.
                    let mut statuses = BTreeMap::new();
                    for v in file
                        .value
                        .stages
                        .values()
                        .chain(file.value.aliases.values())
                    {
                        if numbers.contains(v)
                            && let Ok(version) = snapshot.version(model, *v)
                        {
                            statuses.insert((model.clone(), *v), version.value.status);
                        }
                    }
                    check_model(&file, model, &numbers, config.as_ref(), &statuses, &mut out);
                }
                Err(d) => out.extend(d),
            }
        }
        check_dense(snapshot, model, &numbers, &mut out);
    }
    diagnostic::normalize(&mut out);
    Ok(out)
}

fn check_model(
    file: &Loaded<ModelFile>,
    folder: &str,
    numbers: &BTreeSet<u64>,
    config: Option<&Config>,
    statuses: &BTreeMap<(String, u64), VersionStatus>,
    out: &mut Vec<Diagnostic>,
) {
    let model = &file.value;
    if model.name != folder {
        out.push(file.at_key(
            "name",
            format!(
                "the name `{}` does not match its folder models/{folder}/",
                model.name
            ),
        ));
    }
    for (stage, version) in &model.stages {
        let at = [Step::Key("stages".into()), Step::Key(stage.clone())];
        if let Some(config) = config
            && config.stage(stage).is_none()
        {
            out.push(file.at(
                &at,
                Target::Key,
                format!("`{stage}` is not a stage declared in regent.yaml"),
            ));
        }
        if !numbers.contains(version) {
            out.push(file.at(
                &at,
                Target::Value,
                format!("stage `{stage}` points at version {version}, which does not exist"),
            ));
        } else if statuses.get(&(folder.to_owned(), *version)) == Some(&VersionStatus::Archived) {
            out.push(file.at(
                &at,
                Target::Value,
                format!("stage `{stage}` points at version {version}, which is archived"),
            ));
        }
    }
    for (alias, version) in &model.aliases {
        let at = [Step::Key("aliases".into()), Step::Key(alias.clone())];
        if let Err(e) = names::check(NameKind::Alias, alias) {
            out.push(file.at(&at, Target::Key, e.to_string()));
        }
        if !numbers.contains(version) {
            out.push(file.at(
                &at,
                Target::Value,
                format!("alias `{alias}` points at version {version}, which does not exist"),
            ));
        }
    }
}

fn check_version(
    file: &Loaded<VersionFile>,
    folder: &str,
    number: u64,
    runs: &BTreeSet<String>,
    out: &mut Vec<Diagnostic>,
) {
    let version = &file.value;
    if version.model != folder {
        out.push(file.at_key(
            "model",
            format!(
                "`{}` does not match the model folder models/{folder}/",
                version.model
            ),
        ));
    }
    if version.version != number {
        out.push(file.at_key(
            "version",
            format!(
                "version {} is stored in {number}.yaml; the file name must be its number",
                version.version
            ),
        ));
    }
    if let Some(run) = &version.run
        && !runs.contains(run)
    {
        out.push(file.at_key(
            "run",
            match run.split_once('/') {
                Some((experiment, name)) => format!(
                    "run `{run}` does not exist (no {})",
                    Layout::run(experiment, name)
                ),
                None => format!("run `{run}` does not exist"),
            },
        ));
    }
    if version.artifact.digest.is_none() && version.artifact.verified != Some(false) {
        out.push(file.at(
            &[Step::Key("artifact".into())],
            Target::Value,
            "the artifact has no digest; add `digest: sha256:…` or mark it `verified: false`",
        ));
    }
    if crate::time::parse(&version.created_at).is_none() {
        out.push(file.at_key("created_at", "not an RFC 3339 time"));
    }
}

fn check_run(file: &Loaded<RunFile>, experiment: &str, name: &str, out: &mut Vec<Diagnostic>) {
    let run = &file.value;
    if run.name != name {
        out.push(file.at_key(
            "name",
            format!(
                "the name `{}` does not match the file name {name}.yaml",
                run.name
            ),
        ));
    }
    if run.experiment != experiment {
        out.push(file.at_key(
            "experiment",
            format!(
                "`{}` does not match the folder experiments/{experiment}/",
                run.experiment
            ),
        ));
    }
    if let (Some(start), Some(end)) = (
        crate::time::parse(&run.start_time),
        run.end_time.as_deref().and_then(crate::time::parse),
    ) && end < start
    {
        out.push(file.at_key("end_time", "the run ends before it starts"));
    }
    for metric in run.history.keys() {
        if !run.metrics.contains_key(metric) {
            out.push(file.at(
                &[Step::Key("history".into()), Step::Key(metric.clone())],
                Target::Key,
                format!("history for `{metric}`, which has no final value under `metrics`"),
            ));
        }
    }
}

/// Versions are numbered 1, 2, 3 … without gaps, so "the next number" is
/// unambiguous and a deleted version cannot go unnoticed.
fn check_dense(
    snapshot: &Snapshot<'_>,
    model: &str,
    numbers: &BTreeSet<u64>,
    out: &mut Vec<Diagnostic>,
) {
    let Some(&max) = numbers.last() else { return };
    if max as usize == numbers.len() {
        return;
    }
    let missing: Vec<String> = (1..=max)
        .filter(|n| !numbers.contains(n))
        .take(10)
        .map(|n| n.to_string())
        .collect();
    out.push(Diagnostic::file_level(
        snapshot.display_path(&Layout::version(model, max)),
        format!(
            "versions of `{model}` must be numbered 1..{max} without gaps; missing: {}{}",
            missing.join(", "),
            if (max as usize) - numbers.len() > missing.len() {
                ", …"
            } else {
                ""
            }
        ),
    ));
}

#[cfg(test)]
mod tests {
    use super::policy::*;
    use super::*;

    fn loaded<T: serde::de::DeserializeOwned>(schema: &str, text: &str) -> Loaded<T> {
        crate::load::load(schema, "f.yaml", text.as_bytes()).unwrap()
    }

    fn messages(out: &[Diagnostic]) -> Vec<String> {
        out.iter()
            .map(|d| format!("{}:{} {}", d.line, d.column, d.message))
            .collect()
    }

    #[test]
    fn tag_formats() {
        assert!(check_tag_format("{model}@v{version}").is_ok());
        assert!(check_tag_format("{model}#{stage}#{n}").is_ok());
        assert!(check_tag_format("{modle}@v{version}").is_err());
        assert!(check_tag_format("{model} v{version}").is_err());
        assert!(check_tag_format("-{model}").is_err());
        assert!(check_tag_format("{model}..{version}").is_err());
    }

    #[test]
    fn config_rules() {
        let config: Loaded<Config> = loaded(
            "regent",
            "registry: 1\nstages:\n- name: none\n- name: a\n  requires: [a, b]\n  approvals: 1\n- name: a\n",
        );
        let mut out = Vec::new();
        check_config(&config, &mut out);
        assert_eq!(
            messages(&out),
            [
                "3:9 `none` is implicit (registered, in no stage) and cannot be declared",
                "5:14 stage `a` requires itself: a version would have to hold it before entering it, so it can never be entered",
                "5:17 `b` is not a declared stage",
                "6:14 1 approval is required but `approvers` is empty: nobody could approve, so this can never be satisfied",
                "7:9 stage `a` is declared twice",
            ]
        );
    }

    #[test]
    fn requires_cycles_are_found_once_each() {
        let config: Loaded<Config> = loaded(
            "regent",
            "registry: 1\nstages:\n\
             - {name: a, requires: [d, b]}\n\
             - {name: b, requires: [c]}\n\
             - {name: c, requires: [a]}\n\
             - {name: d}\n\
             - {name: e, requires: [f, a]}\n\
             - {name: f, requires: [e]}\n\
             - {name: g, requires: [a, d]}\n",
        );
        let cycles: Vec<(usize, usize, String)> = requires_cycles(&config.value)
            .into_iter()
            .map(|(i, j, names)| (i, j, names.join(">")))
            .collect();
        assert_eq!(
            cycles,
            [(0, 1, "a>b>c>a".to_owned()), (4, 0, "e>f>e".to_owned())]
        );
    }

    #[test]
    fn approvals_that_nobody_could_give() {
        let check = |n: u32, list: &[&str]| {
            let list: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
            unsatisfiable_approvals(Some(n), &list)
        };
        assert!(check(2, &["alice", "bob"]).is_none());
        assert!(check(0, &[]).is_none());
        assert!(
            check(5, &["alice", "@acme/leads"]).is_none(),
            "a team may be large"
        );
        assert!(check(1, &[]).unwrap().contains("nobody could approve"));
        let message = check(2, &["alice", "@Alice", "ALICE"]).unwrap();
        assert!(
            message.contains("lists only 1 distinct person (alice)"),
            "{message}"
        );
        assert!(
            check(3, &["alice", "bob"])
                .unwrap()
                .contains("only 2 distinct people")
        );
        assert!(unsatisfiable_approvals(None, &[]).is_none());
    }

    #[test]
    fn model_pointers() {
        let config = Config::new(&["staging".into(), "production".into()]);
        let model: Loaded<ModelFile> = loaded(
            "model",
            "name: other\nstages:\n  staging: 1\n  production: 2\n  qa: 1\naliases:\n  champion: 9\n",
        );
        let numbers = BTreeSet::from([1, 2]);
        let statuses = BTreeMap::from([(("m".to_owned(), 2), VersionStatus::Archived)]);
        let mut out = Vec::new();
        check_model(&model, "m", &numbers, Some(&config), &statuses, &mut out);
        assert_eq!(
            messages(&out),
            [
                "1:7 the name `other` does not match its folder models/m/",
                "4:15 stage `production` points at version 2, which is archived",
                "5:3 `qa` is not a stage declared in regent.yaml",
                "7:13 alias `champion` points at version 9, which does not exist",
            ]
        );
    }

    #[test]
    fn version_rules() {
        let version: Loaded<VersionFile> = loaded(
            "version",
            "model: n\nversion: 2\ncreated_at: 2026-01-01T00:00:00Z\ncreated_by: a\nrun: e/r\nartifact:\n  uri: s3://x\nstatus: active\n",
        );
        let mut out = Vec::new();
        check_version(&version, "m", 3, &BTreeSet::new(), &mut out);
        assert_eq!(
            messages(&out),
            [
                "1:8 `n` does not match the model folder models/m/",
                "2:10 version 2 is stored in 3.yaml; the file name must be its number",
                "5:6 run `e/r` does not exist (no experiments/e/45/r.yaml)",
                "7:3 the artifact has no digest; add `digest: sha256:…` or mark it `verified: false`",
            ]
        );
        let mut out = Vec::new();
        check_version(
            &version,
            "n",
            2,
            &BTreeSet::from(["e/r".to_owned()]),
            &mut out,
        );
        assert_eq!(out.len(), 1, "only the digest is missing: {out:?}");
    }

    #[test]
    fn run_rules() {
        let run: Loaded<RunFile> = loaded(
            "run",
            "name: r\nexperiment: e\nstatus: finished\nstart_time: 2026-01-02T00:00:00Z\nend_time: 2026-01-01T00:00:00Z\nuser: a\nmetrics: {acc: 1}\nhistory:\n  loss: [{step: 0, value: 1}]\n",
        );
        let mut out = Vec::new();
        check_run(&run, "x", "s", &mut out);
        assert_eq!(
            messages(&out),
            [
                "1:7 the name `r` does not match the file name s.yaml",
                "2:13 `e` does not match the folder experiments/x/",
                "5:11 the run ends before it starts",
                "9:3 history for `loss`, which has no final value under `metrics`",
            ]
        );
    }
}
