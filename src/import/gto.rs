//! GTO (iterative/gto) as a source: its registry is the repository's
//! annotated tags, and its artifacts' paths are in `dvc.yaml`'s
//! `artifacts:` (or the older `artifacts.yaml`) at each version's commit.
//!
//! | GTO tag              | regent event                                        |
//! |----------------------|-----------------------------------------------------|
//! | `name@vX.Y.Z`        | register (numbered in order; the semver kept as the tag `semver`) |
//! | `name@vX.Y.Z!`       | deprecate (deregistered)                            |
//! | `name#stage#N`       | promote the version registered at the tag's commit  |
//! | `name#stage!#N`      | demote, if the stage still holds that version       |
//! | `name@deprecated#N`  | deprecate every version registered before it        |
//!
//! Each keeps the tagger and the tag's time. The tags themselves are only
//! read. Lightweight tags (GTO makes none) and names regent refuses are
//! reported and left out.

use super::{ArtifactSource, ImportError, Source, SourceEvent, SourceModel, SourceVersion, Step};
use crate::names::{self, NameKind};
use std::collections::BTreeMap;
use std::path::Path;

/// What a GTO tag says.
#[derive(Debug, Clone, PartialEq)]
enum Action {
    Register { version: String },
    Deregister { version: String },
    Assign { stage: String },
    Unassign { stage: String },
    Deprecate,
}

/// A GTO tag name, parsed as GTO's own pattern does (`gto/constants.py`).
fn parse_tag(tag: &str) -> Option<(String, Action, u64)> {
    static PATTERN: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        let name = r"[a-zA-Z0-9](?:[a-zA-Z0-9\-/_]*[a-zA-Z0-9])?";
        let semver = r"(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)(?:-[0-9A-Za-z\-.]+)?(?:\+[0-9A-Za-z\-.]+)?";
        regex::Regex::new(&format!(
            r"^(?P<artifact>(?:[a-zA-Z0-9\-_./]+=)?{name})(?:(?:#(?P<stage>{name})|@(?P<version>v{semver}))(?P<cancel>!?)|@(?P<deprecated>deprecated)|@created)(?:#(?P<counter>[0-9]+))?$"
        ))
        .expect("a valid pattern")
    });
    let found = PATTERN.captures(tag)?;
    // GTO writes `:` of `folder:name` as `=` in tags.
    let artifact = found["artifact"].replace('=', ":");
    let cancel = found.name("cancel").is_some_and(|c| c.as_str() == "!");
    let counter = found
        .name("counter")
        .and_then(|c| c.as_str().parse().ok())
        .unwrap_or(0);
    let action = match (
        found.name("version"),
        found.name("stage"),
        found.name("deprecated"),
    ) {
        (Some(v), _, _) if cancel => Action::Deregister {
            version: v.as_str().into(),
        },
        (Some(v), _, _) => Action::Register {
            version: v.as_str().into(),
        },
        (_, Some(s), _) if cancel => Action::Unassign {
            stage: s.as_str().into(),
        },
        (_, Some(s), _) => Action::Assign {
            stage: s.as_str().into(),
        },
        (_, _, Some(_)) => Action::Deprecate,
        _ => return None, // `@created`: no event
    };
    Some((artifact, action, counter))
}

/// One GTO tag, read.
struct Tagged {
    name: String,
    artifact: String,
    action: Action,
    counter: u64,
    time: jiff::Timestamp,
    tagger: String,
    commit: git2::Oid,
}

/// Reads the GTO registry of the repository at `path`. With `copy`, each
/// version's artifact files (when Git tracks them) are extracted into a
/// scratch folder to be stored; without, their path is recorded.
pub fn read(path: &Path, copy: bool) -> Result<Source, ImportError> {
    let repo = git2::Repository::discover(path).map_err(|e| {
        ImportError::Source(format!(
            "{}: not a Git repository: {}",
            path.display(),
            e.message()
        ))
    })?;
    let shown = repo
        .workdir()
        .unwrap_or_else(|| repo.path())
        .display()
        .to_string();
    let mut source = Source {
        kind: "gto",
        location: shown,
        ..Source::default()
    };
    let mut tags = Vec::new();
    let names = repo
        .tag_names(None)
        .map_err(|e| ImportError::Source(format!("listing tags: {}", e.message())))?;
    for name in names.iter().flatten().flatten() {
        let name: &str = name;
        let Some((artifact, action, counter)) = parse_tag(name) else {
            continue;
        };
        let reference = repo
            .find_reference(&format!("refs/tags/{name}"))
            .map_err(|e| ImportError::Source(format!("tag {name}: {}", e.message())))?;
        let Ok(tag) = reference.peel_to_tag() else {
            source.skipped.push(format!(
                "tag {name}: a lightweight tag (GTO's tags are annotated: they carry who and when)"
            ));
            continue;
        };
        let Ok(commit) = tag.target().and_then(|t| t.peel_to_commit()) else {
            source
                .skipped
                .push(format!("tag {name}: it does not point at a commit"));
            continue;
        };
        let (tagger, time) = match tag.tagger() {
            Some(sig) => (
                sig.name().unwrap_or("unknown").to_owned(),
                crate::time::from_git_seconds(sig.when().seconds()),
            ),
            None => (
                "unknown".to_owned(),
                crate::time::from_git_seconds(commit.time().seconds()),
            ),
        };
        tags.push(Tagged {
            name: name.to_owned(),
            artifact,
            action,
            counter,
            time,
            tagger,
            commit: commit.id(),
        });
    }
    // GTO's order: by time; within a second, registrations first, then the
    // counters GTO gave.
    let rank = |a: &Action| match a {
        Action::Register { .. } => 0,
        _ => 1,
    };
    tags.sort_by(|a, b| {
        (a.time, rank(&a.action), a.counter, &a.name).cmp(&(
            b.time,
            rank(&b.action),
            b.counter,
            &b.name,
        ))
    });
    let mut by_artifact: BTreeMap<String, Vec<Tagged>> = BTreeMap::new();
    for tag in tags {
        by_artifact
            .entry(tag.artifact.clone())
            .or_default()
            .push(tag);
    }
    for (artifact, tags) in by_artifact {
        if let Err(e) = names::check(NameKind::Model, &artifact) {
            source.skipped.push(format!(
                "GTO artifact {artifact:?} ({} tags): {e}",
                tags.len()
            ));
            continue;
        }
        let model = read_artifact(&repo, &artifact, &tags, copy, &mut source)?;
        source.models.push(model);
    }
    Ok(source)
}

fn read_artifact(
    repo: &git2::Repository,
    artifact: &str,
    tags: &[Tagged],
    copy: bool,
    source: &mut Source,
) -> Result<SourceModel, ImportError> {
    let mut versions: Vec<SourceVersion> = Vec::new();
    let mut at_commit: BTreeMap<git2::Oid, String> = BTreeMap::new();
    let mut events = Vec::new();
    let mut annotation = None;
    for tag in tags {
        let event = |step: Step| SourceEvent {
            id: tag.name.clone(),
            time: tag.time,
            actor: tag.tagger.clone(),
            step,
        };
        match &tag.action {
            Action::Register { version } => {
                if versions.iter().any(|v| &v.key == version) {
                    continue;
                }
                let found = annotation_at(repo, tag.commit, artifact)?;
                let artifact_source = artifact_at(
                    repo,
                    tag.commit,
                    found.as_ref(),
                    copy,
                    source,
                    artifact,
                    version,
                )?;
                if found.is_some() {
                    annotation = found.clone();
                }
                at_commit.insert(tag.commit, version.clone());
                versions.push(SourceVersion {
                    key: version.clone(),
                    number: None,
                    run: None,
                    source_commit: Some(tag.commit.to_string()),
                    artifact: artifact_source,
                    description: None,
                    tags: [("semver".to_owned(), version.clone())].into(),
                });
                events.push(event(Step::Register {
                    key: version.clone(),
                }));
            }
            Action::Deregister { version } => events.push(event(Step::Deprecate {
                key: version.clone(),
                reason: "deregistered in GTO".into(),
            })),
            Action::Assign { stage } | Action::Unassign { stage } => {
                if let Err(e) = names::check(NameKind::Stage, stage) {
                    source.skipped.push(format!("tag {}: {e}", tag.name));
                    continue;
                }
                let Some(key) = at_commit.get(&tag.commit).cloned() else {
                    source.skipped.push(format!(
                        "tag {}: no version of {artifact} was registered at its commit {} before it",
                        tag.name,
                        &tag.commit.to_string()[..12]
                    ));
                    continue;
                };
                let step = match tag.action {
                    Action::Assign { .. } => Step::Promote {
                        key,
                        stage: stage.clone(),
                    },
                    _ => Step::Demote {
                        stage: stage.clone(),
                        key: Some(key),
                    },
                };
                events.push(event(step));
            }
            Action::Deprecate => {
                for version in &versions {
                    events.push(SourceEvent {
                        id: format!("{}:{}", tag.name, version.key),
                        ..event(Step::Deprecate {
                            key: version.key.clone(),
                            reason: "deprecated in GTO".into(),
                        })
                    });
                }
            }
        }
    }
    let created = tags.first().map_or(jiff::Timestamp::UNIX_EPOCH, |t| t.time);
    let (description, model_tags) = match &annotation {
        Some(a) => (a.description.clone(), a.tags()),
        None => (None, BTreeMap::new()),
    };
    Ok(SourceModel {
        name: artifact.to_owned(),
        description,
        tags: model_tags,
        created,
        versions,
        events,
    })
}

/// What `dvc.yaml`'s `artifacts:` (or `artifacts.yaml`) says of an artifact.
#[derive(Debug, Clone)]
struct Annotation {
    path: Option<String>,
    kind: Option<String>,
    description: Option<String>,
    labels: Vec<String>,
}

impl Annotation {
    fn tags(&self) -> BTreeMap<String, String> {
        let mut tags = BTreeMap::new();
        if let Some(kind) = &self.kind {
            tags.insert("gto.type".to_owned(), kind.clone());
        }
        if !self.labels.is_empty() {
            tags.insert("gto.labels".to_owned(), self.labels.join(","));
        }
        tags
    }
}

/// The artifact's annotation at `commit`, from `dvc.yaml` or `artifacts.yaml`
/// at the repository's root.
fn annotation_at(
    repo: &git2::Repository,
    commit: git2::Oid,
    artifact: &str,
) -> Result<Option<Annotation>, ImportError> {
    let tree = repo
        .find_commit(commit)
        .and_then(|c| c.tree())
        .map_err(|e| ImportError::Source(format!("reading commit {commit}: {}", e.message())))?;
    for (file, nested) in [("dvc.yaml", true), ("artifacts.yaml", false)] {
        let Ok(entry) = tree.get_path(Path::new(file)) else {
            continue;
        };
        let Ok(blob) = repo.find_blob(entry.id()) else {
            continue;
        };
        let shown = format!("{file} (at commit {})", &commit.to_string()[..12]);
        let value = super::parse_yaml(blob.content(), &shown)?;
        let all = if nested {
            value.get("artifacts")
        } else {
            Some(&value)
        };
        let Some(entry) = all.and_then(|a| a.get(artifact)) else {
            continue;
        };
        let text = |key: &str| entry.get(key).and_then(|v| v.as_str()).map(str::to_owned);
        return Ok(Some(Annotation {
            path: text("path"),
            kind: text("type"),
            description: text("desc").or_else(|| text("description")),
            labels: entry
                .get("labels")
                .and_then(|l| l.as_array())
                .into_iter()
                .flatten()
                .filter_map(|l| l.as_str().map(str::to_owned))
                .collect(),
        }));
    }
    Ok(None)
}

/// A version's artifact: the annotated path at its commit. Git-tracked
/// files are extracted to be stored (with `copy`) or recorded by their path;
/// anything else (a URI, a DVC-tracked path) is recorded as given.
fn artifact_at(
    repo: &git2::Repository,
    commit: git2::Oid,
    annotation: Option<&Annotation>,
    copy: bool,
    source: &mut Source,
    artifact: &str,
    version: &str,
) -> Result<ArtifactSource, ImportError> {
    let Some(path) = annotation.and_then(|a| a.path.clone()) else {
        source.skipped.push(format!(
            "the artifact path of {artifact} {version}: neither dvc.yaml nor artifacts.yaml \
             names it at its commit; recorded as git:{commit}"
        ));
        return Ok(ArtifactSource::Uri {
            name: None,
            uri: format!("git:{commit}"),
        });
    };
    let tree = repo
        .find_commit(commit)
        .and_then(|c| c.tree())
        .map_err(|e| ImportError::Source(format!("reading commit {commit}: {}", e.message())))?;
    let tracked = tree.get_path(Path::new(&path)).ok();
    let (Some(entry), true) = (tracked, copy) else {
        return Ok(ArtifactSource::Uri {
            name: None,
            uri: path,
        });
    };
    let name = Path::new(&path)
        .file_name()
        .map_or_else(|| artifact.to_owned(), |n| n.to_string_lossy().into_owned());
    let scratch = tempfile::tempdir().map_err(ImportError::io(
        "creating a scratch folder for GTO's artifacts",
    ))?;
    let target = scratch.path().join(&name);
    extract(
        repo,
        &entry
            .to_object(repo)
            .map_err(|e| ImportError::Source(e.message().to_owned()))?,
        &target,
    )?;
    source.scratch.push(scratch);
    Ok(ArtifactSource::Local { name, path: target })
}

/// Writes a blob or a whole tree from Git to `target`.
fn extract(
    repo: &git2::Repository,
    object: &git2::Object<'_>,
    target: &Path,
) -> Result<(), ImportError> {
    let failed = |e: git2::Error| {
        ImportError::Source(format!("extracting {}: {}", target.display(), e.message()))
    };
    if let Some(blob) = object.as_blob() {
        return std::fs::write(target, blob.content())
            .map_err(ImportError::io(format!("writing {}", target.display())));
    }
    let tree = object.peel_to_tree().map_err(failed)?;
    std::fs::create_dir_all(target)
        .map_err(ImportError::io(format!("creating {}", target.display())))?;
    for entry in tree.iter() {
        let Ok(name) = entry.name() else {
            continue;
        };
        // Only files and folders: a submodule or a link is not an artifact's content.
        if !matches!(
            entry.kind(),
            Some(git2::ObjectType::Blob | git2::ObjectType::Tree)
        ) || entry.filemode() == i32::from(git2::FileMode::Link)
        {
            continue;
        }
        let child = entry.to_object(repo).map_err(failed)?;
        extract(repo, &child, &target.join(name))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gto_tag_names() {
        let register = |v: &str| Action::Register { version: v.into() };
        assert_eq!(
            parse_tag("churn@v1.0.0"),
            Some(("churn".into(), register("v1.0.0"), 0))
        );
        assert_eq!(
            parse_tag("churn@v1.0.0!"),
            Some((
                "churn".into(),
                Action::Deregister {
                    version: "v1.0.0".into()
                },
                0
            ))
        );
        assert_eq!(
            parse_tag("churn#prod#3"),
            Some((
                "churn".into(),
                Action::Assign {
                    stage: "prod".into()
                },
                3
            ))
        );
        assert_eq!(
            parse_tag("churn#prod!#4"),
            Some((
                "churn".into(),
                Action::Unassign {
                    stage: "prod".into()
                },
                4
            ))
        );
        assert_eq!(
            parse_tag("churn@deprecated#5"),
            Some(("churn".into(), Action::Deprecate, 5))
        );
        assert_eq!(
            parse_tag("models=churn@v2.0.0-rc.1"),
            Some(("models:churn".into(), register("v2.0.0-rc.1"), 0))
        );
        assert_eq!(parse_tag("churn@created"), None);
        assert_eq!(parse_tag("v1.0.0"), None);
        assert_eq!(parse_tag("churn@1.0.0"), None);
    }
}
