//! `regent run show` and `regent run compare`.

use super::{CompareArgs, ShowArgs, load_run, run_json};
use crate::cli::{CliResult, Ctx};
use crate::output::{Format, Table, number, write_json};
use crate::registry::RunFile;
use crate::snapshot::Snapshot;
use std::collections::BTreeSet;
use std::io::Write;

pub(super) fn show(ctx: &Ctx, args: ShowArgs) -> CliResult {
    let repo = ctx.open_registry()?;
    let snapshot = Snapshot::at_rev(&repo, &args.rev)?;
    let run = load_run(&snapshot, &args.run)?;
    let mut out = std::io::stdout().lock();
    if ctx.format == Format::Json {
        write_json(&mut out, &run_json(&run))?;
        out.flush()?;
        return Ok(());
    }
    let style = &ctx.style;
    writeln!(out, "{} {}", style.bold("run"), run.id())?;
    writeln!(out, "status:  {}", run.status.as_str())?;
    // Fields from the run file are shown escaped: they may hold anything.
    let printable = |text: &str| crate::output::printable(text, false);
    writeln!(out, "user:    {}", printable(&run.user))?;
    writeln!(
        out,
        "time:    {} → {}",
        printable(&run.start_time),
        printable(run.end_time.as_deref().unwrap_or("(running)"))
    )?;
    if let Some(source) = &run.source {
        let commit = source
            .commit
            .as_deref()
            .map_or("(none)", |c| &c[..c.len().min(12)]);
        let line = format!(
            "source:  {commit}{}{}{}",
            source
                .branch
                .as_deref()
                .map(|b| format!(" on {b}"))
                .unwrap_or_default(),
            if source.dirty { " (dirty)" } else { "" },
            source
                .remote
                .as_deref()
                .map(|r| format!(" from {r}"))
                .unwrap_or_default()
        );
        writeln!(out, "{}", printable(&line))?;
    }
    if let Some(note) = &run.note {
        writeln!(out, "note:    {}", crate::output::printable(note, true))?;
    }
    let section =
        |out: &mut dyn Write, title: &str, rows: Vec<(String, String)>| -> std::io::Result<()> {
            if rows.is_empty() {
                return Ok(());
            }
            writeln!(out)?;
            let mut table = Table::new([title.to_uppercase(), "VALUE".into()]);
            for (k, v) in rows {
                table.row([k, v]);
            }
            table.write(out, style)
        };
    section(
        &mut out,
        "params",
        run.params
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )?;
    section(
        &mut out,
        "metrics",
        run.metrics
            .iter()
            .map(|(k, v)| {
                let steps = run
                    .history
                    .get(k)
                    .map(|h| {
                        let total = run.series.get(k).map_or(h.len() as u64, |s| s.points);
                        format!("  ({total} steps)")
                    })
                    .unwrap_or_default();
                (k.clone(), format!("{}{steps}", number(*v)))
            })
            .collect(),
    )?;
    if !run.history.is_empty() {
        writeln!(out)?;
        curves(&mut out, &run, style)?;
    }
    section(
        &mut out,
        "tags",
        run.tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )?;
    section(
        &mut out,
        "artifacts",
        run.artifacts
            .iter()
            .map(|a| {
                let name = a.path.clone().or_else(|| a.uri.clone()).unwrap_or_default();
                let mut detail = match (&a.digest, a.size) {
                    (Some(d), Some(s)) => format!("{} ({s} bytes)", &d[..d.len().min(19)]),
                    (Some(d), None) => d.clone(),
                    _ => "not verified".into(),
                };
                if a.kind == Some(crate::registry::ArtifactKind::Folder) {
                    detail.push_str(", folder");
                }
                match (&a.path, &a.uri) {
                    (Some(_), Some(uri)) => detail = format!("{uri}  {detail}"),
                    // A path without a URI: kept with --keep-local (or
                    // recorded before artifacts were stored).
                    (Some(_), None) => detail.push_str("  [local, not in a store]"),
                    _ => {}
                }
                (name, detail)
            })
            .collect(),
    )?;
    if let Some(env) = &run.environment {
        let mut rows: Vec<(String, String)> = env
            .lockfiles
            .iter()
            .map(|(k, v)| (k.clone(), v[..v.len().min(19)].to_owned()))
            .collect();
        if let Some(i) = &env.interpreter {
            rows.push(("interpreter".into(), i.clone()));
        }
        section(&mut out, "environment", rows)?;
    }
    out.flush()?;
    Ok(())
}

/// Each metric history in one row: how many points (and, for a long one,
/// how many the file keeps), then its first, last, lowest and highest
/// values with their steps. The downsampled history keeps all four.
fn curves(out: &mut dyn Write, run: &RunFile, style: &crate::output::Style) -> std::io::Result<()> {
    let mut table =
        Table::new(["CURVE", "POINTS", "FIRST", "LAST", "MIN", "MAX"].map(String::from));
    let at = |p: &crate::registry::MetricPoint| format!("{} @{}", number(p.value), p.step);
    for (key, points) in &run.history {
        let (Some(first), Some(last)) = (points.first(), points.last()) else {
            continue;
        };
        let mut low = first;
        let mut high = first;
        for p in points {
            if p.value < low.value {
                low = p;
            }
            if p.value > high.value {
                high = p;
            }
        }
        let count = match run.series.get(key) {
            Some(s) if s.points > points.len() as u64 => {
                format!("{} (downsampled to {})", s.points, points.len())
            }
            _ => points.len().to_string(),
        };
        table.row([key.clone(), count, at(first), at(last), at(low), at(high)]);
    }
    table.write(out, style)
}

pub(super) fn compare(ctx: &Ctx, args: CompareArgs) -> CliResult {
    let repo = ctx.open_registry()?;
    let snapshot = Snapshot::at_rev(&repo, &args.rev)?;
    let runs = args
        .runs
        .iter()
        .map(|id| load_run(&snapshot, id))
        .collect::<CliResult<Vec<_>>>()?;

    struct Row {
        kind: &'static str,
        key: String,
        values: Vec<Option<String>>,
        numbers: Vec<Option<f64>>,
    }
    let mut rows = Vec::new();
    let params: BTreeSet<&String> = runs.iter().flat_map(|r| r.params.keys()).collect();
    for key in params {
        rows.push(Row {
            kind: "param",
            key: key.clone(),
            values: runs.iter().map(|r| r.params.get(key).cloned()).collect(),
            numbers: Vec::new(),
        });
    }
    let metrics: BTreeSet<&String> = runs.iter().flat_map(|r| r.metrics.keys()).collect();
    for key in metrics {
        let numbers: Vec<Option<f64>> = runs.iter().map(|r| r.metrics.get(key).copied()).collect();
        rows.push(Row {
            kind: "metric",
            key: key.clone(),
            values: numbers.iter().map(|v| v.map(number)).collect(),
            numbers,
        });
    }
    let differs = |row: &Row| {
        if row.kind == "metric" {
            row.numbers.windows(2).any(|w| w[0] != w[1])
        } else {
            row.values.windows(2).any(|w| w[0] != w[1])
        }
    };

    let mut out = std::io::stdout().lock();
    match ctx.format {
        Format::Json => {
            let json_rows: Vec<_> = rows
                .iter()
                .map(|row| {
                    let values: Vec<serde_json::Value> = if row.kind == "metric" {
                        row.numbers.iter().map(|v| serde_json::json!(v)).collect()
                    } else {
                        row.values.iter().map(|v| serde_json::json!(v)).collect()
                    };
                    serde_json::json!({"kind": row.kind, "key": row.key, "values": values, "differs": differs(row)})
                })
                .collect();
            let ids: Vec<String> = runs.iter().map(RunFile::id).collect();
            write_json(
                &mut out,
                &serde_json::json!({"runs": ids, "rows": json_rows}),
            )?;
        }
        Format::Human => {
            let mut header = vec![String::new(), "KEY".to_owned()];
            header.extend(runs.iter().map(RunFile::id));
            let mut table = Table::new(header);
            for i in 0..runs.len() {
                table = table.align_right(2 + i);
            }
            for row in &rows {
                let mark = if differs(row) {
                    ctx.style.yellow("*")
                } else {
                    String::new()
                };
                let mut cells = vec![
                    mark,
                    format!(
                        "{}.{}",
                        if row.kind == "param" {
                            "params"
                        } else {
                            "metrics"
                        },
                        row.key
                    ),
                ];
                cells.extend(
                    row.values
                        .iter()
                        .map(|v| v.clone().unwrap_or_else(|| "-".into())),
                );
                table.row(cells);
            }
            table.write(&mut out, &ctx.style)?;
            ctx.info("* marks values that differ");
        }
    }
    out.flush()?;
    Ok(())
}
