//! `regent show [MODEL[/VERSION]] [--rev REV]`: the registry read from Git
//! objects (works in bare clones and CI without a checkout).

use super::{CliError, CliResult, Ctx};
use crate::names::{self, NameKind};
use crate::output::{Format, Table, number, printable, write_json};
use crate::registry::{ModelFile, VersionFile};
use crate::snapshot::Snapshot;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;

#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  regent show
  regent show churn/v3
  regent show churn --at '3 days ago'")]
pub struct ShowArgs {
    /// MODEL for its versions, or MODEL/VERSION; without it, every model.
    ///
    /// VERSION is `3` or `v3`: `churn/3`, `churn/v3`.
    pub target: Option<String>,
    /// Read the registry at this revision (a commit, branch or tag).
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub rev: String,
    /// Show the registry as the branch was at this time: RFC 3339, a date, `3 days ago`.
    ///
    /// The commit shown is the last one on the branch's first-parent line at or before TIME;
    /// its id is printed on stderr.
    #[arg(long, value_name = "TIME", value_parser = crate::time::parse_user_time)]
    pub at: Option<jiff::Timestamp>,
}

/// A model as `show --json` prints it (DESIGN.md §4).
#[derive(Debug, Serialize)]
pub struct ModelView {
    pub name: String,
    pub description: Option<String>,
    pub owners: Vec<String>,
    pub tags: BTreeMap<String, String>,
    pub stages: BTreeMap<String, u64>,
    pub aliases: BTreeMap<String, u64>,
    pub versions: Vec<VersionView>,
}

/// A version as `show --json` prints it.
#[derive(Debug, Serialize)]
pub struct VersionView {
    pub version: u64,
    pub status: &'static str,
    pub stages: Vec<String>,
    pub aliases: Vec<String>,
    pub artifact: serde_json::Value,
    pub metrics: BTreeMap<String, f64>,
    pub created_at: String,
    pub created_by: String,
    pub run: Option<String>,
    pub source_commit: Option<String>,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// Frozen at registration, like `metrics`.
    pub params: BTreeMap<String, String>,
    /// Why it was deprecated or archived.
    pub status_reason: Option<String>,
}

impl VersionView {
    fn new(model: &ModelFile, v: VersionFile) -> VersionView {
        let pointing = |map: &BTreeMap<String, u64>| {
            map.iter()
                .filter(|(_, n)| **n == v.version)
                .map(|(name, _)| name.clone())
                .collect::<Vec<_>>()
        };
        VersionView {
            version: v.version,
            status: v.status.as_str(),
            stages: pointing(&model.stages),
            aliases: pointing(&model.aliases),
            artifact: serde_json::to_value(&v.artifact).unwrap_or_default(),
            metrics: v.metrics,
            created_at: v.created_at,
            created_by: v.created_by,
            run: v.run,
            source_commit: v.source_commit,
            description: v.description,
            tags: v.tags,
            params: v.params,
            status_reason: v.status_reason,
        }
    }
}

pub fn run(ctx: &Ctx, args: ShowArgs) -> CliResult {
    let repo = ctx.open_registry()?;
    let rev = match args.at {
        Some(at) => {
            let commit = crate::history::commit_at(&repo, &args.rev, at)?;
            // Say which state is shown: the last commit at or before that time.
            let when = repo
                .repo
                .find_commit(commit)
                .map(|c| crate::time::format(crate::history::commit_time(&c)))
                .unwrap_or_default();
            ctx.info(format!(
                "The registry as of {}: commit {} of {when}",
                crate::time::format(at),
                &commit.to_string()[..12]
            ));
            commit.to_string()
        }
        None => args.rev.clone(),
    };
    let snapshot = Snapshot::at_rev(&repo, &rev)?;
    let mut out = std::io::stdout().lock();
    match args.target.as_deref() {
        None => match ctx.format {
            Format::Json => {
                let models = listed_models(ctx, &snapshot)?
                    .iter()
                    .map(|m| model_view(&snapshot, m))
                    .collect::<CliResult<Vec<_>>>()?;
                write_json(&mut out, &models)?;
            }
            // The table needs each model's pointers and version numbers, not
            // its version files: reading only those keeps it fast at scale.
            Format::Human => {
                let mut rows = Vec::new();
                for name in listed_models(ctx, &snapshot)? {
                    if !snapshot.exists(&crate::registry::Layout::model(&name)) {
                        continue;
                    }
                    let file = snapshot
                        .model(&name)
                        .map_err(|d| CliError::bad_files(format!("model {name} is invalid"), d))?
                        .value;
                    let latest = latest_active(&snapshot, &name)?;
                    rows.push((file, snapshot.version_numbers(&name)?.len(), latest));
                }
                print_models(ctx, &mut out, &rows)?;
            }
        },
        Some(target) => {
            let (model, version) = parse_target(target)?;
            let view = model_view(&snapshot, &model)?;
            match version {
                None => match ctx.format {
                    Format::Json => write_json(&mut out, &view)?,
                    Format::Human => print_model(ctx, &mut out, &view)?,
                },
                Some(n) => {
                    let version =
                        view.versions
                            .iter()
                            .find(|v| v.version == n)
                            .ok_or_else(|| {
                                CliError::no(format!("model {model} has no version {n}"))
                                    .hint(format!("its versions are 1..{}", view.versions.len()))
                            })?;
                    match ctx.format {
                        Format::Json => {
                            let mut value = serde_json::to_value(version).unwrap_or_default();
                            value["model"] = model.clone().into();
                            write_json(&mut out, &value)?;
                        }
                        Format::Human => print_version(ctx, &mut out, &model, version)?,
                    }
                }
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// The model folders to list: a folder whose name breaks the rule (a
/// hand-made `models/../`, a look-alike, an escape sequence) is skipped with a
/// warning that shows it escaped; `regent validate` reports it in full.
fn listed_models(ctx: &Ctx, snapshot: &Snapshot<'_>) -> CliResult<Vec<String>> {
    let mut names = snapshot.model_names()?;
    names.retain(|name| match names::check(NameKind::Model, name) {
        Ok(()) => true,
        Err(e) => {
            ctx.warn(format!("skipping models/{name:?}: {e}"));
            false
        }
    });
    Ok(names)
}

/// `churn` or `churn/3`.
pub(super) fn parse_target(target: &str) -> CliResult<(String, Option<u64>)> {
    let model = target.split_once('/').map_or(target, |(m, _)| m);
    names::check(NameKind::Model, model)?;
    let (model, version) = match target.split_once('/') {
        Some((m, v)) => {
            let n = names::parse_version(v).map_err(CliError::error)?;
            (m, Some(n))
        }
        None => (target, None),
    };
    Ok((model.to_owned(), version))
}

fn model_view(snapshot: &Snapshot<'_>, model: &str) -> CliResult<ModelView> {
    if !snapshot.exists(&crate::registry::Layout::model(model)) {
        let known = snapshot.model_names()?;
        let error = CliError::no(format!("no model named {model}"));
        return Err(
            match crate::suggest::did_you_mean(model, known.iter().map(String::as_str)) {
                Some(suggestion) => error.hint(suggestion),
                None => error.hint("`regent show` lists the models"),
            },
        );
    }
    let file = snapshot
        .model(model)
        .map_err(|d| CliError::bad_files(format!("model {model} is invalid"), d))?
        .value;
    let mut versions = Vec::new();
    let mut problems = Vec::new();
    for n in snapshot.version_numbers(model)? {
        match snapshot.version(model, n) {
            Ok(v) => versions.push(VersionView::new(&file, v.value)),
            Err(d) => problems.extend(d),
        }
    }
    if !problems.is_empty() {
        return Err(
            CliError::bad_files(format!("model {model} has invalid versions"), problems)
                .hint("`regent validate` lists every problem"),
        );
    }
    Ok(ModelView {
        name: file.name,
        description: file.description,
        owners: file.owners,
        tags: file.tags,
        stages: file.stages,
        aliases: file.aliases,
        versions,
    })
}

fn pointers(map: &BTreeMap<String, u64>) -> String {
    map.iter()
        .map(|(k, v)| format!("{k}: v{v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The highest active version: what `models:/MODEL/latest` resolves to.
/// Read from the newest down, so usually one version file per model.
fn latest_active(snapshot: &Snapshot<'_>, model: &str) -> CliResult<Option<u64>> {
    for n in snapshot.version_numbers(model)?.into_iter().rev() {
        let version = snapshot
            .version(model, n)
            .map_err(|d| CliError::bad_files(format!("{model} v{n} is invalid"), d))?;
        if version.value.status == crate::registry::VersionStatus::Active {
            return Ok(Some(n));
        }
    }
    Ok(None)
}

/// One row of the models table: the model, how many versions, the latest
/// active one.
type ModelRow = (ModelFile, usize, Option<u64>);

fn print_models(ctx: &Ctx, out: &mut dyn Write, models: &[ModelRow]) -> CliResult {
    if models.is_empty() {
        ctx.info("No models registered yet.");
        return Ok(());
    }
    let mut table = Table::new(["MODEL", "VERSIONS", "LATEST", "STAGES", "ALIASES"]).align_right(1);
    for (m, count, latest) in models {
        table.row([
            m.name.clone(),
            count.to_string(),
            latest.map_or("-".into(), |v| format!("v{v}")),
            pointers(&m.stages),
            pointers(&m.aliases),
        ]);
    }
    table.write(out, &ctx.style)?;
    Ok(())
}

fn print_model(ctx: &Ctx, out: &mut dyn Write, m: &ModelView) -> CliResult {
    writeln!(out, "{} {}", ctx.style.bold("model"), m.name)?;
    if let Some(d) = &m.description {
        writeln!(out, "description: {}", printable(d, true))?;
    }
    if !m.owners.is_empty() {
        writeln!(out, "owners:  {}", printable(&m.owners.join(", "), false))?;
    }
    if !m.tags.is_empty() {
        let tags: Vec<String> = m
            .tags
            .iter()
            .map(|(k, v)| printable(&format!("{k}={v}"), false))
            .collect();
        writeln!(out, "tags:    {}", tags.join(", "))?;
    }
    writeln!(
        out,
        "stages:  {}",
        if m.stages.is_empty() {
            "(none)".into()
        } else {
            pointers(&m.stages)
        }
    )?;
    if !m.aliases.is_empty() {
        writeln!(out, "aliases: {}", pointers(&m.aliases))?;
    }
    writeln!(out)?;
    let mut table = Table::new([
        "VERSION", "STATUS", "STAGES", "ALIASES", "CREATED", "BY", "RUN",
    ])
    .align_right(0);
    for v in &m.versions {
        table.row([
            v.version.to_string(),
            v.status.to_owned(),
            v.stages.join(", "),
            v.aliases.join(", "),
            v.created_at
                .replace('T', " ")
                .trim_end_matches('Z')
                .to_owned(),
            v.created_by.clone(),
            v.run.clone().unwrap_or_default(),
        ]);
    }
    table.write(out, &ctx.style)?;
    Ok(())
}

fn print_version(ctx: &Ctx, out: &mut dyn Write, model: &str, v: &VersionView) -> CliResult {
    writeln!(out, "{} {model}/{}", ctx.style.bold("version"), v.version)?;
    writeln!(out, "status:      {}", v.status)?;
    if let Some(reason) = &v.status_reason {
        writeln!(out, "reason:      {}", printable(reason, false))?;
    }
    writeln!(
        out,
        "stages:      {}",
        if v.stages.is_empty() {
            "(none)".into()
        } else {
            v.stages.join(", ")
        }
    )?;
    if !v.aliases.is_empty() {
        writeln!(out, "aliases:     {}", v.aliases.join(", "))?;
    }
    writeln!(
        out,
        "created:     {} by {}",
        printable(&v.created_at, false),
        printable(&v.created_by, false)
    )?;
    if let Some(run) = &v.run {
        writeln!(out, "run:         {}", printable(run, false))?;
    }
    if let Some(commit) = &v.source_commit {
        writeln!(out, "commit:      {}", printable(commit, false))?;
    }
    let field = |k: &str| {
        v.artifact
            .get(k)
            .and_then(|x| x.as_str())
            .map(|x| printable(x, false))
    };
    let uri = field("uri").unwrap_or_default();
    let folder = if field("kind").as_deref() == Some("folder") {
        " (folder)"
    } else {
        ""
    };
    // A path, not a URI: kept with --keep-local, so only a checkout has it.
    let local = if crate::runs::is_uri(&uri) {
        ""
    } else {
        "  [local, not in a store]"
    };
    writeln!(out, "artifact:    {uri}{folder}{local}")?;
    writeln!(
        out,
        "digest:      {}",
        field("digest").unwrap_or_else(|| "(not verified)".into())
    )?;
    if !v.tags.is_empty() {
        let tags: Vec<String> = v
            .tags
            .iter()
            .map(|(k, value)| printable(&format!("{k}={value}"), false))
            .collect();
        writeln!(out, "tags:        {}", tags.join(", "))?;
    }
    if let Some(d) = &v.description {
        writeln!(out, "description: {}", printable(d, true))?;
    }
    if !v.params.is_empty() {
        writeln!(out)?;
        let mut table = Table::new(["PARAM (frozen)", "VALUE"]);
        for (k, value) in &v.params {
            table.row([printable(k, false), printable(value, false)]);
        }
        table.write(out, &ctx.style)?;
    }
    if !v.metrics.is_empty() {
        writeln!(out)?;
        let mut table = Table::new(["METRIC (frozen)", "VALUE"]).align_right(1);
        for (k, value) in &v.metrics {
            table.row([printable(k, false), number(*value)]);
        }
        table.write(out, &ctx.style)?;
    }
    Ok(())
}
