//! Fields as MLflow's search syntax names them, resolved to regent's, so an
//! MLflow filter string works unchanged:
//!
//! | MLflow | regent |
//! | --- | --- |
//! | `metric.X` | `metrics.X` |
//! | `param.X`, `parameter.X`, `parameters.X` | `params.X` |
//! | `tag.X` | `tags.X` |
//! | `attributes.status` (also `attribute.`, `attr.`, `run.`) | `status`, upper-case (`FINISHED`) |
//! | `attributes.start_time`, `attributes.created`, `attributes.end_time` | `start_time`, `end_time`, in milliseconds since 1970 |
//! | `attributes.run_name` | `name` |
//! | `tags.mlflow.runName`, `tags.mlflow.user`, `tags.mlflow.note.content` | `name`, `user`, `note` |
//! | `tags.mlflow.source.git.commit`, `tags.mlflow.source.git.branch` | `source.commit`, `source.branch` |
//!
//! The same mapping as the MLflow plugin's and `regent import mlflow`'s:
//! what MLflow keeps in those tags, regent keeps in those fields.

use super::eval::{Field, View};
use super::{QueryError, fail};

/// MLflow's run attributes regent has, and the fields they are.
const ATTRIBUTES: [(&str, &str, View); 5] = [
    ("status", "status", View::UpperCase),
    ("start_time", "start_time", View::EpochMillis),
    ("created", "start_time", View::EpochMillis),
    ("end_time", "end_time", View::EpochMillis),
    ("run_name", "name", View::AsIs),
];

/// MLflow's system tags whose values are regent fields.
const SYSTEM_TAGS: [(&str, &str); 5] = [
    ("mlflow.runName", "name"),
    ("mlflow.user", "user"),
    ("mlflow.note.content", "note"),
    ("mlflow.source.git.commit", "source.commit"),
    ("mlflow.source.git.branch", "source.branch"),
];

/// The field `path` (as written, at `column`) names.
pub(super) fn resolve(path: &str, column: usize) -> Result<Field, QueryError> {
    let Some((namespace, key)) = path.split_once('.') else {
        return Ok(Field::plain(path));
    };
    let field = match namespace {
        "metric" => Field::plain(format!("metrics.{key}")),
        "param" | "parameter" | "parameters" => Field::plain(format!("params.{key}")),
        "tag" | "tags" => match SYSTEM_TAGS.iter().find(|(tag, _)| *tag == key) {
            Some((_, field)) => Field::plain(*field),
            None => Field::plain(format!("tags.{key}")),
        },
        "attributes" | "attribute" | "attr" | "run" => {
            match ATTRIBUTES.iter().find(|(name, ..)| *name == key) {
                Some((_, field, view)) => Field {
                    path: (*field).to_owned(),
                    view: *view,
                },
                None => {
                    let names = ATTRIBUTES.iter().map(|(name, ..)| *name);
                    let suggestion = crate::suggest::closest(key, names)
                        .map(|n| format!("; did you mean `{namespace}.{n}`?"))
                        .unwrap_or_default();
                    return fail(
                        column,
                        format!(
                            "`{namespace}.{key}` is not a run attribute regent has (status, start_time, created, end_time, run_name){suggestion}"
                        ),
                    );
                }
            }
        }
        _ => Field::plain(path),
    };
    Ok(field)
}
