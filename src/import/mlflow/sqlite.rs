//! MLflow's SQLite store (`sqlite:///path/to/mlflow.db`), read through its
//! tables as MLflow 3's migrations leave them: `experiments`, `runs`,
//! `params`, `tags`, `metrics` (every point), `registered_models`,
//! `registered_model_tags`, `registered_model_aliases`, `model_versions`,
//! `model_version_tags`. Opened read-only: the import never writes to it.

use super::{Raw, RawExperiment, RawModel, RawRun, RawVersion};
use crate::import::ImportError;
use rusqlite::{Connection, OpenFlags, params};
use std::collections::BTreeMap;
use std::path::Path;

pub(super) fn read(path: &Path) -> Result<Raw, ImportError> {
    if !path.is_file() {
        return Err(ImportError::Source(format!(
            "{}: no such file (an MLflow SQLite store is the database file of `sqlite:///…`)",
            path.display()
        )));
    }
    let db = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| sql_error(path, e))?;
    read_all(&db).map_err(|e| sql_error(path, e))
}

fn sql_error(path: &Path, e: rusqlite::Error) -> ImportError {
    ImportError::Source(format!(
        "{}: cannot read it as an MLflow store: {e}",
        path.display()
    ))
}

fn read_all(db: &Connection) -> rusqlite::Result<Raw> {
    let mut experiments = Vec::new();
    let mut statement = db.prepare(
        "SELECT experiment_id, name, lifecycle_stage FROM experiments ORDER BY experiment_id",
    )?;
    let rows = statement.query_map([], |row| {
        Ok(RawExperiment {
            id: row.get::<_, i64>(0)?.to_string(),
            name: row.get(1)?,
            deleted: row.get::<_, Option<String>>(2)?.as_deref() == Some("deleted"),
        })
    })?;
    for experiment in rows {
        let experiment = experiment?;
        let runs = read_runs(db, &experiment.id)?;
        experiments.push((experiment, runs));
    }
    Ok(Raw {
        experiments,
        models: read_models(db)?,
    })
}

fn read_runs(db: &Connection, experiment: &str) -> rusqlite::Result<Vec<RawRun>> {
    let mut statement = db.prepare(
        "SELECT run_uuid, name, status, start_time, end_time, user_id, lifecycle_stage, artifact_uri
         FROM runs WHERE experiment_id = ?1 ORDER BY start_time, run_uuid",
    )?;
    let rows = statement.query_map(params![experiment], |row| {
        Ok(RawRun {
            id: row.get(0)?,
            name: row.get(1)?,
            status: row.get::<_, Option<String>>(2)?.unwrap_or_default(),
            start_ms: row.get(3)?,
            end_ms: row.get(4)?,
            user: row.get(5)?,
            deleted: row.get::<_, Option<String>>(6)?.as_deref() == Some("deleted"),
            artifact_uri: row.get(7)?,
            ..RawRun::default()
        })
    })?;
    let mut runs = Vec::new();
    for run in rows {
        let mut run = run?;
        run.params = pairs(
            db,
            "SELECT key, value FROM params WHERE run_uuid = ?1",
            &run.id,
        )?;
        run.tags = pairs(
            db,
            "SELECT key, value FROM tags WHERE run_uuid = ?1",
            &run.id,
        )?;
        let mut statement = db.prepare(
            "SELECT key, timestamp, value, step, is_nan FROM metrics WHERE run_uuid = ?1",
        )?;
        let points = statement.query_map(params![run.id], |row| {
            let nan: bool = row.get(4)?;
            let value: f64 = if nan { f64::NAN } else { row.get(2)? };
            Ok((
                row.get::<_, String>(0)?,
                (row.get::<_, i64>(1)?, value, row.get::<_, i64>(3)?),
            ))
        })?;
        for point in points {
            let (key, point) = point?;
            run.metrics.entry(key).or_default().push(point);
        }
        runs.push(run);
    }
    Ok(runs)
}

/// `key -> value` rows of one run or model (a NULL value as empty text).
fn pairs(db: &Connection, sql: &str, id: &str) -> rusqlite::Result<BTreeMap<String, String>> {
    let mut statement = db.prepare(sql)?;
    let rows = statement.query_map(params![id], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, Option<String>>(1)?.unwrap_or_default(),
        ))
    })?;
    rows.collect()
}

fn read_models(db: &Connection) -> rusqlite::Result<Vec<RawModel>> {
    let mut statement = db.prepare(
        "SELECT name, description, creation_time, last_updated_time FROM registered_models ORDER BY name",
    )?;
    let rows = statement.query_map([], |row| {
        Ok(RawModel {
            name: row.get(0)?,
            description: row.get(1)?,
            created_ms: row.get(2)?,
            updated_ms: row.get(3)?,
            ..RawModel::default()
        })
    })?;
    let mut models = Vec::new();
    for model in rows {
        let mut model = model?;
        model.tags = pairs(
            db,
            "SELECT key, value FROM registered_model_tags WHERE name = ?1",
            &model.name,
        )?;
        let mut aliases =
            db.prepare("SELECT alias, version FROM registered_model_aliases WHERE name = ?1")?;
        for alias in aliases.query_map(params![model.name], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })? {
            let (alias, version) = alias?;
            model
                .aliases
                .insert(alias, u64::try_from(version).unwrap_or_default());
        }
        let mut versions = db.prepare(
            "SELECT version, creation_time, last_updated_time, description, user_id, current_stage,
                    source, run_id, status, storage_location
             FROM model_versions WHERE name = ?1 ORDER BY version",
        )?;
        let rows = versions.query_map(params![model.name], |row| {
            Ok(RawVersion {
                version: u64::try_from(row.get::<_, i64>(0)?).unwrap_or_default(),
                created_ms: row.get(1)?,
                updated_ms: row.get(2)?,
                description: row.get(3)?,
                user: row.get(4)?,
                stage: row.get(5)?,
                source: row.get(6)?,
                run_id: row.get(7)?,
                status: row.get(8)?,
                storage_location: row.get(9)?,
                tags: BTreeMap::new(),
            })
        })?;
        for version in rows {
            let mut version = version?;
            let mut tags = db.prepare(
                "SELECT key, value FROM model_version_tags WHERE name = ?1 AND version = ?2",
            )?;
            for tag in tags.query_map(params![model.name, version.version as i64], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, Option<String>>(1)?.unwrap_or_default(),
                ))
            })? {
                let (key, value) = tag?;
                version.tags.insert(key, value);
            }
            model.versions.push(version);
        }
        models.push(model);
    }
    Ok(models)
}
