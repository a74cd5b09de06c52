//! An MLflow tracking server (`http(s)://host:port`), read through its REST
//! API 2.0: `experiments/search`, `runs/search`, `metrics/get-history`,
//! `registered-models/search` and `model-versions/search`, every page.
//! `MLFLOW_TRACKING_TOKEN` (bearer) or `MLFLOW_TRACKING_USERNAME` and
//! `MLFLOW_TRACKING_PASSWORD` (basic) authenticate, as MLflow's client does.
//!
//! To copy a run's artifacts, the import lists them (`artifacts/list`) and
//! downloads each file (`/get-artifact`) into a scratch folder first; with
//! `--no-copy` they are recorded as the run's artifact URI, unverified.

use super::{Raw, RawExperiment, RawModel, RawRun, RawVersion};
use crate::import::ImportError;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

/// Rows per page asked for (each endpoint's maximum or less).
const PAGE: u64 = 1000;

/// Reads the server's store; with `download`, every active run's artifacts
/// too, into a folder per run under `download`.
pub(super) fn read(base: &str, download: Option<&Path>) -> Result<Raw, ImportError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ImportError::Source(format!("cannot start the I/O runtime: {e}")))?;
    let client = Client {
        http: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| ImportError::Source(format!("cannot start an HTTP client: {e}")))?,
        base: base.trim_end_matches('/').to_owned(),
        shown: crate::git::strip_credentials(base),
    };
    runtime.block_on(read_all(&client, download))
}

struct Client {
    http: reqwest::Client,
    base: String,
    /// The base URL without credentials, for messages.
    shown: String,
}

impl Client {
    /// One call: GET with `query`, or POST with `body`; the JSON answer.
    async fn call(
        &self,
        endpoint: &str,
        query: &[(&str, String)],
        body: Option<Value>,
    ) -> Result<Value, ImportError> {
        let mut url = url::Url::parse(&format!("{}/api/2.0/mlflow/{endpoint}", self.base))
            .map_err(|e| ImportError::Source(format!("{}: not a URL: {e}", self.shown)))?;
        url.query_pairs_mut().extend_pairs(query);
        let shown = format!("{}/api/2.0/mlflow/{endpoint}", self.shown);
        let request = match body {
            Some(body) => self
                .http
                .post(url)
                .header("Content-Type", "application/json")
                .body(body.to_string()),
            None => self.http.get(url),
        };
        let response = self
            .authenticated(request)
            .send()
            .await
            .map_err(|e| ImportError::Source(format!("{shown}: {}", without_url(&e))))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| ImportError::Source(format!("{shown}: {}", without_url(&e))))?;
        if !status.is_success() {
            let excerpt: String = text.chars().take(300).collect();
            return Err(ImportError::Source(format!(
                "{shown}: the server answered {status}: {excerpt}"
            )));
        }
        serde_json::from_str(&text).map_err(|e| {
            ImportError::Source(format!("{shown}: the answer is not MLflow's JSON: {e}"))
        })
    }

    /// The request with MLflow's client credentials, when they are set.
    fn authenticated(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        if let Ok(token) = std::env::var("MLFLOW_TRACKING_TOKEN") {
            request.bearer_auth(token)
        } else if let Ok(user) = std::env::var("MLFLOW_TRACKING_USERNAME") {
            request.basic_auth(user, std::env::var("MLFLOW_TRACKING_PASSWORD").ok())
        } else {
            request
        }
    }

    /// Every item of `field` over all pages of a search.
    async fn all_pages(
        &self,
        endpoint: &str,
        field: &str,
        request: Request<'_>,
    ) -> Result<Vec<Value>, ImportError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let answer = match &request {
                Request::Get(query) => {
                    let mut query = query.clone();
                    if let Some(token) = &token {
                        query.push(("page_token", token.clone()));
                    }
                    self.call(endpoint, &query, None).await?
                }
                Request::Post(body) => {
                    let mut body = body.clone();
                    if let Some(token) = &token {
                        body["page_token"] = json!(token);
                    }
                    self.call(endpoint, &[], Some(body)).await?
                }
            };
            if let Some(items) = answer.get(field).and_then(Value::as_array) {
                out.extend(items.iter().cloned());
            }
            token = answer
                .get("next_page_token")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_owned);
            if token.is_none() {
                return Ok(out);
            }
        }
    }
}

enum Request<'a> {
    Get(Vec<(&'a str, String)>),
    Post(Value),
}

/// reqwest's message and its causes, without the URL it quotes (which may
/// hold credentials).
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text
            .replace(&format!(" for url ({url})"), "")
            .replace(url.as_str(), "");
    }
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        text.push_str(&format!(": {inner}"));
        source = inner.source();
    }
    crate::git::strip_credentials(&text)
}

async fn read_all(client: &Client, download: Option<&Path>) -> Result<Raw, ImportError> {
    let experiments = client
        .all_pages(
            "experiments/search",
            "experiments",
            Request::Post(json!({"max_results": PAGE, "view_type": "ALL"})),
        )
        .await?;
    let mut out = Vec::new();
    for experiment in experiments {
        let raw = RawExperiment {
            id: text(&experiment, "experiment_id").unwrap_or_default(),
            name: text(&experiment, "name").unwrap_or_default(),
            deleted: text(&experiment, "lifecycle_stage").as_deref() == Some("deleted"),
        };
        let runs = client
            .all_pages(
                "runs/search",
                "runs",
                Request::Post(json!({
                    "experiment_ids": [raw.id],
                    "max_results": PAGE,
                    "run_view_type": "ALL",
                })),
            )
            .await?;
        let mut raw_runs = Vec::new();
        for run in runs {
            let mut raw_run = read_run(client, &run).await?;
            if let Some(scratch) = download
                && !raw_run.deleted
            {
                let dest = scratch.join(&raw_run.id);
                download_artifacts(client, &raw_run.id, &dest).await?;
                raw_run.downloaded = Some(dest);
            }
            raw_runs.push(raw_run);
        }
        out.push((raw, raw_runs));
    }
    let models = client
        .all_pages(
            "registered-models/search",
            "registered_models",
            Request::Get(vec![("max_results", PAGE.to_string())]),
        )
        .await?;
    let mut raw_models = Vec::new();
    for model in models {
        raw_models.push(read_model(client, &model).await?);
    }
    Ok(Raw {
        experiments: out,
        models: raw_models,
    })
}

async fn read_run(client: &Client, run: &Value) -> Result<RawRun, ImportError> {
    let info = run.get("info").cloned().unwrap_or_default();
    let data = run.get("data").cloned().unwrap_or_default();
    let id = text(&info, "run_id")
        .or_else(|| text(&info, "run_uuid"))
        .unwrap_or_default();
    let mut metrics = BTreeMap::new();
    // runs/search gives each metric's latest value; its history has them all.
    for latest in data
        .get("metrics")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(key) = text(latest, "key") else {
            continue;
        };
        let history = client
            .all_pages(
                "metrics/get-history",
                "metrics",
                Request::Get(vec![
                    ("run_id", id.clone()),
                    ("metric_key", key.clone()),
                    ("max_results", "25000".into()),
                ]),
            )
            .await?;
        let points = history
            .iter()
            .map(|p| {
                (
                    number(p, "timestamp").unwrap_or_default(),
                    float(p, "value"),
                    number(p, "step").unwrap_or_default(),
                )
            })
            .collect();
        metrics.insert(key, points);
    }
    Ok(RawRun {
        name: text(&info, "run_name"),
        status: text(&info, "status").unwrap_or_default(),
        start_ms: number(&info, "start_time"),
        end_ms: number(&info, "end_time"),
        user: text(&info, "user_id"),
        deleted: text(&info, "lifecycle_stage").as_deref() == Some("deleted"),
        artifact_uri: text(&info, "artifact_uri"),
        downloaded: None,
        params: key_values(&data, "params"),
        tags: key_values(&data, "tags"),
        metrics,
        id,
    })
}

async fn read_model(client: &Client, model: &Value) -> Result<RawModel, ImportError> {
    let name = text(model, "name").unwrap_or_default();
    let quoted = name.replace('\'', "\\'");
    let versions = client
        .all_pages(
            "model-versions/search",
            "model_versions",
            Request::Get(vec![
                ("filter", format!("name='{quoted}'")),
                ("max_results", "10000".into()),
            ]),
        )
        .await?;
    let mut aliases = BTreeMap::new();
    for alias in model
        .get("aliases")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let (Some(alias), Some(version)) = (text(alias, "alias"), number(alias, "version")) {
            aliases.insert(alias, u64::try_from(version).unwrap_or_default());
        }
    }
    Ok(RawModel {
        description: text(model, "description"),
        created_ms: number(model, "creation_timestamp"),
        updated_ms: number(model, "last_updated_timestamp"),
        tags: key_values(model, "tags"),
        aliases,
        versions: versions
            .iter()
            .map(|v| RawVersion {
                version: number(v, "version")
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or_default(),
                created_ms: number(v, "creation_timestamp"),
                updated_ms: number(v, "last_updated_timestamp"),
                description: text(v, "description"),
                user: text(v, "user_id"),
                stage: text(v, "current_stage"),
                source: text(v, "source"),
                run_id: text(v, "run_id"),
                status: text(v, "status"),
                storage_location: text(v, "storage_location"),
                tags: key_values(v, "tags"),
            })
            .collect(),
        name,
    })
}

/// Every file of a run's artifacts, downloaded under `dest` by its path.
async fn download_artifacts(client: &Client, run: &str, dest: &Path) -> Result<(), ImportError> {
    std::fs::create_dir_all(dest)
        .map_err(ImportError::io(format!("creating {}", dest.display())))?;
    let mut folders = vec![String::new()];
    while let Some(folder) = folders.pop() {
        let mut query = vec![("run_id", run.to_owned())];
        if !folder.is_empty() {
            query.push(("path", folder.clone()));
        }
        let files = client
            .all_pages("artifacts/list", "files", Request::Get(query))
            .await?;
        for file in files {
            let Some(path) = text(&file, "path") else {
                continue;
            };
            // The server names the paths: each must stay inside `dest`.
            let safe = !path.is_empty()
                && std::path::Path::new(&path)
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_)));
            if !safe {
                return Err(ImportError::Source(format!(
                    "{}: run {run} lists an artifact path {path:?} outside its artifacts",
                    client.shown
                )));
            }
            if file.get("is_dir").and_then(Value::as_bool).unwrap_or(false) {
                folders.push(path);
            } else {
                client.download(run, &path, &dest.join(&path)).await?;
            }
        }
    }
    Ok(())
}

impl Client {
    /// One artifact file of a run, written to `target` as it arrives.
    async fn download(&self, run: &str, path: &str, target: &Path) -> Result<(), ImportError> {
        use std::io::Write;
        let shown = format!("{}/get-artifact ({path} of run {run})", self.shown);
        let mut url = url::Url::parse(&format!("{}/get-artifact", self.base))
            .map_err(|e| ImportError::Source(format!("{}: not a URL: {e}", self.shown)))?;
        url.query_pairs_mut()
            .append_pair("run_id", run)
            .append_pair("path", path);
        let mut response = self
            .authenticated(self.http.get(url))
            .send()
            .await
            .map_err(|e| ImportError::Source(format!("{shown}: {}", without_url(&e))))?;
        if !response.status().is_success() {
            return Err(ImportError::Source(format!(
                "{shown}: the server answered {}",
                response.status()
            )));
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(ImportError::io(format!("creating {}", parent.display())))?;
        }
        let mut file = std::fs::File::create(target)
            .map_err(ImportError::io(format!("creating {}", target.display())))?;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| ImportError::Source(format!("{shown}: {}", without_url(&e))))?
        {
            file.write_all(&chunk)
                .map_err(ImportError::io(format!("writing {}", target.display())))?;
        }
        Ok(())
    }
}

fn text(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// An integer field; MLflow's JSON writes int64 as a number or as text.
fn number(value: &Value, key: &str) -> Option<i64> {
    match value.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// A metric value; `NaN` and the infinities come as text.
fn float(value: &Value, key: &str) -> f64 {
    match value.get(key) {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
        Some(Value::String(s)) => s.parse().unwrap_or(f64::NAN),
        _ => f64::NAN,
    }
}

/// `[{"key", "value"}]` (params, tags) as a map.
fn key_values(value: &Value, field: &str) -> BTreeMap<String, String> {
    value
        .get(field)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|kv| Some((text(kv, "key")?, text(kv, "value").unwrap_or_default())))
        .collect()
}
