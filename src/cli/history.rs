//! `regent history` and `regent diff`: the audit trail, from commits.

use super::{CliError, CliResult, Ctx};
use crate::events::Event;
use crate::history::{self, Filter};
use crate::names::{self, NameKind};
use crate::output::{Format, Table, write_json};
use std::io::Write;

/// Where `--format csv` applies: said in these two commands' help only, since
/// the global `--format` hides `csv` from every other command.
macro_rules! output_formats {
    () => {
        "Output: a table, --json, or --format csv (RFC 4180, the fields of --json)."
    };
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = output_formats!(),
    after_long_help = concat!(
        output_formats!(),
        "\n\nExamples:\n  regent history churn --stage production",
        "\n  regent history --since '30 days ago' --format csv > audit.csv"
    )
)]
pub struct HistoryArgs {
    /// Only this model's events.
    pub model: Option<String>,
    /// Only events of this stage.
    #[arg(long, value_name = "STAGE")]
    pub stage: Option<String>,
    /// Only events at or after this time: RFC 3339, a date, `3 days ago`.
    #[arg(long, value_name = "TIME", value_parser = crate::time::parse_user_time)]
    pub since: Option<jiff::Timestamp>,
    /// Only events at or before this time, in the forms of --since.
    #[arg(long, value_name = "TIME", value_parser = crate::time::parse_user_time)]
    pub until: Option<jiff::Timestamp>,
    /// Walk the history of this revision (a commit, branch or tag).
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub rev: String,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = output_formats!(),
    after_long_help = concat!(
        output_formats!(),
        "\n\nExamples:\n  regent diff v1.4 HEAD\n  regent diff origin/main HEAD --json"
    )
)]
pub struct DiffArgs {
    /// The older revision (a commit, branch or tag); its events are left out.
    #[arg(value_name = "REV_A")]
    pub from: String,
    /// The newer revision.
    #[arg(value_name = "REV_B")]
    pub to: String,
}

pub fn history(ctx: &Ctx, args: HistoryArgs) -> CliResult {
    if let Some(model) = &args.model {
        names::check(NameKind::Model, model)?;
    }
    if let Some(stage) = &args.stage {
        names::check(NameKind::Stage, stage)?;
    }
    let repo = ctx.open_registry()?;
    let filter = Filter {
        model: args.model,
        stage: args.stage,
        since: args.since,
        until: args.until,
    };
    let history = history::walk(&repo, &args.rev, &filter)?;
    if history.events.is_empty() {
        unknown_filter(&repo, &args.rev, &filter)?;
    }
    if history.shallow {
        ctx.warn(
            "this is a shallow clone: events before its first commit are missing. \
             Fetch the whole history with `git fetch --unshallow` (in GitHub Actions: \
             actions/checkout with `fetch-depth: 0`)",
        );
    }
    print_events(ctx, &history.events)
}

/// No events for a model or stage that the registry at `rev` does not know
/// either: most likely a typo, so say so (exit 1) rather than "No events."
/// A model or stage that had events and is gone now is not an error.
fn unknown_filter(repo: &crate::git::Repo, rev: &str, filter: &Filter) -> CliResult {
    let snapshot = crate::snapshot::Snapshot::at_rev(repo, rev)?;
    if let Some(model) = &filter.model
        && !snapshot.exists(&crate::registry::Layout::model(model))
    {
        let known = snapshot.model_names()?;
        let error = CliError::no(format!(
            "no model named {model} at {rev}, and none in its history"
        ));
        return Err(
            match crate::suggest::did_you_mean(model, known.iter().map(String::as_str)) {
                Some(suggestion) => error.hint(suggestion),
                None => error.hint("`regent show` lists the models"),
            },
        );
    }
    if let Some(stage) = &filter.stage
        && let Ok(config) = snapshot.config()
        && config.value.stage(stage).is_none()
    {
        let declared: Vec<&str> = config
            .value
            .stages
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        let error = CliError::no(format!(
            "no stage {stage} is declared at {rev}, and none in its history (declared: {})",
            declared.join(", ")
        ));
        return Err(match crate::suggest::did_you_mean(stage, declared) {
            Some(suggestion) => error.hint(suggestion),
            None => error,
        });
    }
    Ok(())
}

pub fn diff(ctx: &Ctx, args: DiffArgs) -> CliResult {
    let repo = ctx.open_registry()?;
    let history = history::walk_range(&repo, Some(&args.from), &args.to, &Filter::default())?;
    print_events(ctx, &history.events)
}

fn print_events(ctx: &Ctx, events: &[Event]) -> CliResult {
    let mut out = std::io::stdout().lock();
    if ctx.csv {
        write_csv(&mut out, events)?;
    } else if ctx.format == Format::Json {
        write_json(&mut out, &events)?;
    } else if events.is_empty() {
        ctx.info("No events.");
    } else {
        let mut table = Table::new([
            "TIME", "EVENT", "MODEL", "VERSION", "STAGE", "PREVIOUS", "ACTOR", "VIA", "COMMIT",
        ]);
        for e in events {
            let target = e
                .stage
                .clone()
                .or_else(|| e.alias.as_ref().map(|a| format!("@{a}")))
                .unwrap_or_default();
            let model = match (&e.model, &e.experiment, &e.run) {
                (Some(m), _, _) => m.clone(),
                (None, Some(x), Some(r)) => format!("{x}/{r}"),
                _ => String::new(),
            };
            table.row([
                e.time
                    .as_deref()
                    .unwrap_or_default()
                    .replace('T', " ")
                    .trim_end_matches('Z')
                    .to_owned(),
                match &e.fields {
                    Some(fields) if !fields.is_empty() => {
                        format!("{} ({})", e.event.as_str(), fields.join(", "))
                    }
                    _ => e.event.as_str().to_owned(),
                },
                model,
                e.version.map(|v| format!("v{v}")).unwrap_or_default(),
                target,
                e.previous.map(|v| format!("v{v}")).unwrap_or_default(),
                e.actor.clone().unwrap_or_default(),
                match e.via {
                    crate::events::Via::Regent => "regent".to_owned(),
                    crate::events::Via::Manual => ctx.style.yellow("manual"),
                    crate::events::Via::Import => "import".to_owned(),
                },
                e.commit
                    .as_deref()
                    .map(|c| c[..c.len().min(12)].to_owned())
                    .unwrap_or_default(),
            ]);
        }
        table.write(&mut out, &ctx.style)?;
    }
    out.flush()?;
    Ok(())
}

/// RFC 4180 CSV with the fields of `history --json`.
fn write_csv(out: &mut dyn Write, events: &[Event]) -> std::io::Result<()> {
    const COLUMNS: [&str; 14] = [
        "event",
        "model",
        "version",
        "stage",
        "alias",
        "previous",
        "actor",
        "commit",
        "time",
        "via",
        "pr",
        "experiment",
        "run",
        "fields",
    ];
    writeln!(out, "{}", COLUMNS.join(","))?;
    for event in events {
        let value = serde_json::to_value(event).unwrap_or_default();
        let cells: Vec<String> = COLUMNS
            .iter()
            .map(|c| match &value[*c] {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) => csv_field(s),
                // An edit's fields, space-separated (field names hold no spaces).
                serde_json::Value::Array(items) => csv_field(
                    &items
                        .iter()
                        .filter_map(|i| i.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                other => csv_field(&other.to_string()),
            })
            .collect();
        writeln!(out, "{}", cells.join(","))?;
    }
    Ok(())
}

/// Quotes a field when it needs it; a leading `=`, `+`, `-` or `@` is
/// prefixed with `'` so a spreadsheet does not run it as a formula.
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// A CSV request for a command that has no CSV form.
pub fn csv_unsupported() -> CliError {
    CliError::error("--format csv is available for `history` and `diff` only")
}
