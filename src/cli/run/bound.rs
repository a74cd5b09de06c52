//! The one place a run's metric histories grow: `run log`, `run start`,
//! `update`, `end` and `--batch` all add points through [`add_history`], so
//! the bound on a run file's history ([`series::MAX_POINTS`]) holds however
//! the points came.

use crate::cli::{CliError, CliResult, Ctx};
use crate::git::Repo;
use crate::registry::{MetricPoint, RunFile, SeriesPart};
use crate::runs::Spills;
use crate::series::{self, SeriesFile, SeriesWriter};
use std::collections::BTreeMap;

/// Adds `history` (new points by metric) to `record`. A metric whose points
/// (those it had and the new ones) pass [`series::MAX_POINTS`] keeps a
/// downsampled history; its full series goes to the artifact store as a
/// new part (the new points, or every point when it is the first part), and
/// `series` says how many points it has and where they are. `spills` holds
/// the full series of new histories too long to have been kept in memory
/// (their entry in `history` is downsampled already).
///
/// With no store configured the history is bounded all the same, and a
/// warning says the full series was not kept.
pub(crate) fn add_history(
    ctx: &Ctx,
    repo: &Repo,
    record: &mut RunFile,
    history: &BTreeMap<String, Vec<MetricPoint>>,
    spills: &Spills,
) -> CliResult {
    for (key, new) in history {
        let spilled = spills.get(key);
        let new_count = spilled.map_or(new.len() as u64, |s| s.points);
        let old = record.history.remove(key).unwrap_or_default();
        let old_series = record.series.remove(key);
        let old_count = old_series.as_ref().map_or(old.len() as u64, |s| s.points);
        let total = old_count + new_count;
        if old_series.is_none() && total <= series::MAX_POINTS as u64 {
            let mut joined = old;
            joined.extend(new.iter().cloned());
            record.history.insert(key.clone(), joined);
            continue;
        }
        // The parts concatenate to the full series: the first part holds
        // every point so far, a later one the points this call adds.
        let earlier: &[MetricPoint] = if old_series.is_none() { &old } else { &[] };
        let written;
        let part = match spilled {
            Some(file) if earlier.is_empty() => file,
            _ => {
                written = write_part(earlier, new, spilled).map_err(|e| {
                    CliError::error(format!(
                        "cannot write the series of metric `{key}` to a temporary file"
                    ))
                    .cause(e.to_string())
                })?;
                &written
            }
        };
        let mut entry = old_series.unwrap_or_default();
        match crate::cli::artifact::store_file(ctx, repo, part.file.path())? {
            Some(stored) => {
                ctx.info(format!(
                    "Stored {} points of metric `{key}` ({} bytes) as {}",
                    part.points, stored.size, stored.uri
                ));
                entry.parts.push(SeriesPart {
                    uri: stored.uri,
                    digest: stored.digest.to_string(),
                    size: stored.size,
                    points: part.points,
                    extensions: Default::default(),
                });
            }
            None => ctx.warn(format!(
                "metric `{key}` has {total} points; the run file keeps {} of them \
                 (downsampled) and the full series was not kept: no artifact store is \
                 configured (set `artifacts: {{root: …}}` in regent.yaml or {})",
                series::MAX_POINTS,
                crate::artifacts::store::ROOT_ENV
            )),
        }
        entry.points = total;
        let mut kept = old;
        kept.extend(new.iter().cloned());
        record
            .history
            .insert(key.clone(), series::downsample(&kept));
        record.series.insert(key.clone(), entry);
    }
    Ok(())
}

/// A series file of `earlier` then the new points: read back from their
/// spilled file when there is one, else `new` itself.
fn write_part(
    earlier: &[MetricPoint],
    new: &[MetricPoint],
    spilled: Option<&SeriesFile>,
) -> std::io::Result<SeriesFile> {
    let mut writer = SeriesWriter::new()?;
    for point in earlier {
        writer.push(point)?;
    }
    match spilled {
        Some(file) => {
            series::read_series(file.file.path(), &mut |p| writer.push(&p))?;
        }
        None => {
            for point in new {
                writer.push(point)?;
            }
        }
    }
    writer.finish()
}
