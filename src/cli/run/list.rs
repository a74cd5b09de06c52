//! `regent run list`: runs filtered by `--where` and sorted by a metric.

use super::{ListArgs, run_json};
use crate::cli::{CliError, CliResult, Ctx};
use crate::names::{self, NameKind};
use crate::output::{Format, Table, number, write_json};
use crate::query::{FieldValue, Query};
use crate::registry::{Layout, RunFile};
use crate::snapshot::Snapshot;
use std::collections::BTreeSet;
use std::io::Write;

/// Loads the runs of one experiment (or all), failing on any broken file.
///
/// Each run is kept without its per-step `history`, which can be most of a
/// run file and is never filtered, sorted or shown in a table: 50,000 runs
/// with long histories would otherwise all be in memory at once. Output
/// that shows the history (`--json`) reads each printed run again
/// ([`FullRuns`]).
fn load_runs(snapshot: &Snapshot<'_>, experiment: Option<&str>) -> CliResult<Vec<Listed>> {
    let experiments = match experiment {
        Some(e) => {
            names::check(NameKind::Experiment, e)?;
            vec![e.to_owned()]
        }
        None => snapshot.experiment_names()?,
    };
    let mut runs = Vec::new();
    let mut problems = Vec::new();
    for experiment in &experiments {
        for name in snapshot.run_names(experiment)? {
            match snapshot.run(experiment, &name) {
                Ok(run) => {
                    let mut run = run.value;
                    let history = !std::mem::take(&mut run.history).is_empty();
                    runs.push(Listed {
                        run,
                        path: Layout::run(experiment, &name),
                        history,
                    });
                }
                Err(d) => problems.extend(d),
            }
        }
    }
    if !problems.is_empty() {
        return Err(CliError::bad_files("some run files are invalid", problems)
            .hint("`regent validate` lists every problem"));
    }
    Ok(runs)
}

/// The value of a `--where` field in a run.
fn field(run: &RunFile, path: &str) -> Option<FieldValue> {
    let text = |s: &str| Some(FieldValue::Text(s.to_owned()));
    if let Some((group, key)) = path.split_once('.') {
        return match group {
            "metrics" => run.metrics.get(key).map(|v| FieldValue::Number(*v)),
            "params" => run.params.get(key).map(|v| FieldValue::Text(v.clone())),
            "tags" => run.tags.get(key).map(|v| FieldValue::Text(v.clone())),
            "source" => {
                let source = run.source.as_ref()?;
                match key {
                    "commit" => source.commit.as_deref().and_then(text),
                    "branch" => source.branch.as_deref().and_then(text),
                    "remote" => source.remote.as_deref().and_then(text),
                    "dirty" => Some(FieldValue::Bool(source.dirty)),
                    _ => None,
                }
            }
            _ => None,
        };
    }
    match path {
        "name" => text(&run.name),
        "experiment" => text(&run.experiment),
        "id" => text(&run.id()),
        "status" => text(run.status.as_str()),
        "user" => text(&run.user),
        "start_time" => text(&run.start_time),
        "end_time" => run.end_time.as_deref().and_then(text),
        "note" => run.note.as_deref().and_then(text),
        _ => None,
    }
}

pub(super) fn list(ctx: &Ctx, args: ListArgs) -> CliResult {
    let query = args
        .filter
        .as_deref()
        .map(|text| {
            Query::parse(text).map_err(|e| {
                // The message once, under the caret that points at it.
                CliError::error(format!("invalid --where expression (column {})", e.column))
                    .detail(e.render(text))
            })
        })
        .transpose()?;
    let repo = ctx.open_registry()?;
    let snapshot = Snapshot::at_rev(&repo, &args.rev)?;
    if let Some(experiment) = &args.experiment {
        names::check(NameKind::Experiment, experiment)?;
        if let Some(hint) = super::unknown_experiment(&snapshot, experiment)? {
            return Err(CliError::no(format!("no experiment named {experiment}")).hint(hint));
        }
    }
    let mut runs = load_runs(&snapshot, args.experiment.as_deref())?;

    let sort = args.sort.as_deref().map(|key| sort_field(&runs, key));
    for warning in unknown_fields(&runs, query.as_ref(), sort.as_deref()) {
        ctx.warn(warning);
    }
    if let Some(query) = &query {
        runs.retain(|listed| query.matches(&|path| field(&listed.run, path)));
    }
    match &sort {
        Some(key) => runs.sort_by(|a, b| {
            let (a, b) = (&a.run, &b.run);
            match (field(a, key), field(b, key)) {
                (Some(x), Some(y)) if args.asc => compare(&x, &y),
                (Some(x), Some(y)) => compare(&y, &x),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            }
            .then_with(|| b.start_time.cmp(&a.start_time))
        }),
        // Newest first, like MLflow's run list.
        None => runs.sort_by(|a, b| {
            let (a, b) = (&a.run, &b.run);
            b.start_time
                .cmp(&a.start_time)
                .then_with(|| b.name.cmp(&a.name))
        }),
    }
    if let Some(limit) = args.limit {
        runs.truncate(limit);
    }

    let mut out = std::io::stdout().lock();
    match ctx.format {
        Format::Json => write_json(
            &mut out,
            &FullRuns {
                snapshot: &snapshot,
                runs: &runs,
            },
        )?,
        Format::Human => {
            if runs.is_empty() {
                ctx.info("No runs.");
                return Ok(());
            }
            let metrics = metric_columns(
                &runs,
                sort.as_deref().and_then(|k| k.strip_prefix("metrics.")),
            );
            let mut header = vec!["RUN".to_owned(), "STATUS".into(), "STARTED".into()];
            header.extend(metrics.iter().cloned());
            let mut table = Table::new(header);
            for i in 0..metrics.len() {
                table = table.align_right(3 + i);
            }
            for Listed { run, .. } in &runs {
                let mut row = vec![
                    run.id(),
                    run.status.as_str().to_owned(),
                    short_time(&run.start_time),
                ];
                row.extend(
                    metrics
                        .iter()
                        .map(|m| run.metrics.get(m).map_or("-".into(), |v| number(*v))),
                );
                table.row(row);
            }
            table.write(&mut out, &ctx.style)?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Listed runs as JSON, each run that has a history read again whole as it
/// is written, so that only one run's history is in memory at a time.
struct FullRuns<'a, 's> {
    snapshot: &'a Snapshot<'s>,
    runs: &'a [Listed],
}

/// A listed run (without its history), the file it was read from, and
/// whether that file has a history.
struct Listed {
    run: RunFile,
    path: String,
    history: bool,
}

impl serde::Serialize for FullRuns<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeSeq};
        let mut seq = serializer.serialize_seq(Some(self.runs.len()))?;
        for listed in self.runs {
            if !listed.history {
                seq.serialize_element(&run_json(&listed.run))?;
                continue;
            }
            // The same Git objects as a moment ago: it loads as it did then.
            let run = self
                .snapshot
                .load::<RunFile>("run", &listed.path)
                .map_err(|d| {
                    let first = d.first().map(ToString::to_string).unwrap_or_default();
                    S::Error::custom(format!("reading {} again: {first}", listed.path))
                })?;
            seq.serialize_element(&run_json(&run.value))?;
        }
        seq.end()
    }
}

/// What `--sort KEY` sorts by: `metrics.X` and `params.X` as given; a bare
/// name is the metric if any run has it, else the param if any run has
/// that, else the metric (and the warning says no run has it).
fn sort_field(runs: &[Listed], key: &str) -> String {
    if key.starts_with("metrics.") || key.starts_with("params.") {
        return key.to_owned();
    }
    let has = |path: &str| runs.iter().any(|l| field(&l.run, path).is_some());
    let param = format!("params.{key}");
    if !has(&format!("metrics.{key}")) && has(&param) {
        param
    } else {
        format!("metrics.{key}")
    }
}

/// Orders two values of one field: numbers as numbers, a param that reads
/// as a number likewise, text as text.
fn compare(a: &FieldValue, b: &FieldValue) -> std::cmp::Ordering {
    let number = |v: &FieldValue| match v {
        FieldValue::Number(n) => Some(*n),
        FieldValue::Text(t) => t.trim().parse::<f64>().ok(),
        FieldValue::Bool(_) => None,
    };
    match (number(a), number(b), a, b) {
        (Some(x), Some(y), ..) => x.total_cmp(&y),
        (.., FieldValue::Text(x), FieldValue::Text(y)) => x.cmp(y),
        (.., FieldValue::Bool(x), FieldValue::Bool(y)) => x.cmp(y),
        // Numbers before words.
        (Some(_), None, ..) => std::cmp::Ordering::Greater,
        (None, Some(_), ..) => std::cmp::Ordering::Less,
        _ => std::cmp::Ordering::Equal,
    }
}

/// The field names a run has, as `--where` spells them.
fn known_fields(runs: &[Listed]) -> BTreeSet<String> {
    let mut known: BTreeSet<String> = [
        "name",
        "experiment",
        "id",
        "status",
        "user",
        "start_time",
        "end_time",
        "note",
        "source.commit",
        "source.branch",
        "source.remote",
        "source.dirty",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    for listed in runs {
        let run = &listed.run;
        known.extend(run.metrics.keys().map(|k| format!("metrics.{k}")));
        known.extend(run.params.keys().map(|k| format!("params.{k}")));
        known.extend(run.tags.keys().map(|k| format!("tags.{k}")));
    }
    known
}

/// Warnings for fields of `--where` and `--sort` that no run has (a typo,
/// or a namespace that does not exist, such as `metric.accuracy`), each
/// with the likely field: such a filter would silently match nothing.
fn unknown_fields(runs: &[Listed], query: Option<&Query>, sort: Option<&str>) -> Vec<String> {
    if runs.is_empty() {
        return Vec::new();
    }
    let mut fields = query.map(Query::fields).unwrap_or_default();
    fields.extend(sort.map(str::to_owned));
    let known = known_fields(runs);
    let namespaces = ["metrics", "params", "tags", "source"];
    let mut warnings = BTreeSet::new();
    for f in fields {
        // Optional fields most runs lack are no typo.
        if matches!(f.as_str(), "end_time" | "note")
            || runs.iter().any(|l| field(&l.run, &f).is_some())
        {
            continue;
        }
        let likely = match f.split_once('.') {
            Some((group, key)) if !namespaces.contains(&group) => {
                let namespace = crate::suggest::closest(group, namespaces).unwrap_or("metrics");
                let guess = format!("{namespace}.{key}");
                let named = if known.contains(&guess) {
                    Some(guess)
                } else {
                    crate::suggest::closest(&guess, known.iter().map(String::as_str))
                        .map(str::to_owned)
                };
                warnings.insert(format!(
                    "`{group}` is not a field namespace (metrics, params, tags, source){}",
                    named
                        .map(|n| format!("; did you mean `{n}`?"))
                        .unwrap_or_default()
                ));
                continue;
            }
            _ => crate::suggest::closest(&f, known.iter().map(String::as_str)),
        };
        warnings.insert(format!(
            "no run has a field `{f}`{}",
            likely
                .map(|n| format!("; did you mean `{n}`?"))
                .unwrap_or_default()
        ));
    }
    warnings.into_iter().collect()
}

/// Which metrics get a column: the sort metric first, then the others, at most six.
fn metric_columns(runs: &[Listed], sort: Option<&str>) -> Vec<String> {
    let all: BTreeSet<&String> = runs.iter().flat_map(|l| l.run.metrics.keys()).collect();
    let mut columns: Vec<String> = sort.map(str::to_owned).into_iter().collect();
    for m in all {
        if columns.len() >= 6 {
            break;
        }
        if Some(m.as_str()) != sort {
            columns.push(m.clone());
        }
    }
    columns
}

/// `2026-11-26T18:10:05Z` -> `2026-11-26 18:10`.
fn short_time(rfc3339: &str) -> String {
    crate::time::parse(rfc3339)
        .map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| rfc3339.to_owned())
}
