//! `regent ui build OUT/`: the UI as a static site. Works opened from disk
//! (every link and script is relative, data comes as scripts) and from any
//! static host. Written to a temporary folder beside OUT and renamed into
//! place, so a failed build leaves OUT as it was.

use super::UiError;
use super::assets::ASSETS;
use super::audit::{self, HISTORY_CHUNK};
use super::data::{CHUNK, DataFile, Export, run_detail, run_row, runs_chunk, script};
use crate::events::Event;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Marks a folder as a build, so a later build may replace it (and nothing
/// else is ever replaced).
const MARKER: &str = ".regent-ui";

/// What a build wrote.
#[derive(Debug, Clone, Copy, Default)]
pub struct Built {
    pub files: usize,
    pub runs: usize,
    pub models: usize,
    pub versions: usize,
}

/// Writes the UI of `export` to `out`, replacing a previous build there.
pub fn build(export: &Export<'_, '_>, out: &Path) -> Result<Built, UiError> {
    check_replaceable(out)?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs_err::create_dir_all(&parent).map_err(|e| UiError::io("creating", &parent, e))?;
    let temp = tempfile::Builder::new()
        .prefix(".regent-ui-")
        .tempdir_in(&parent)
        .map_err(|e| UiError::io("creating a folder in", &parent, e))?;
    let mut writer = Writer {
        root: temp.path().to_path_buf(),
        built: Built::default(),
    };
    writer.write(
        MARKER,
        b"Made by `regent ui build`; a new build replaces this folder.\n",
    )?;
    for asset in ASSETS {
        writer.write(asset.path, asset.bytes)?;
    }
    write_data(export, &mut writer)?;
    let built = writer.built;
    swap_into_place(temp, out)?;
    Ok(built)
}

/// OUT may be absent, an empty folder, or a previous build.
fn check_replaceable(out: &Path) -> Result<(), UiError> {
    let not_a_build = || UiError::NotABuild {
        path: out.display().to_string(),
    };
    match fs_err::symlink_metadata(out) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(UiError::io("reading", out, e)),
        Ok(meta) if !meta.is_dir() => Err(not_a_build()),
        Ok(_) => {
            let empty = fs_err::read_dir(out)
                .map_err(|e| UiError::io("reading", out, e))?
                .next()
                .is_none();
            if empty || out.join(MARKER).is_file() {
                Ok(())
            } else {
                Err(not_a_build())
            }
        }
    }
}

/// Renames the finished build to `out`; a previous build there is moved
/// aside first and removed after.
fn swap_into_place(temp: tempfile::TempDir, out: &Path) -> Result<(), UiError> {
    let new = temp.keep();
    let old = out.exists().then(|| {
        let mut aside = new.clone().into_os_string();
        aside.push(".old");
        PathBuf::from(aside)
    });
    if let Some(old) = &old {
        fs_err::rename(out, old).map_err(|e| UiError::io("moving aside", out, e))?;
    }
    if let Err(e) = fs_err::rename(&new, out) {
        // Put the previous build back; the new one is removed.
        if let Some(old) = &old {
            let _ = fs_err::rename(old, out);
        }
        let _ = fs_err::remove_dir_all(&new);
        return Err(UiError::io("renaming the build to", out, e));
    }
    if let Some(old) = old {
        let _ = fs_err::remove_dir_all(old);
    }
    Ok(())
}

struct Writer {
    root: PathBuf,
    built: Built,
}

impl Writer {
    fn write(&mut self, path: &str, bytes: &[u8]) -> Result<(), UiError> {
        let path = self.root.join(path);
        if let Some(dir) = path.parent() {
            fs_err::create_dir_all(dir).map_err(|e| UiError::io("creating", dir, e))?;
        }
        fs_err::write(&path, bytes).map_err(|e| UiError::io("writing", &path, e))?;
        self.built.files += 1;
        Ok(())
    }

    fn data(&mut self, file: &DataFile, value: &serde_json::Value) -> Result<(), UiError> {
        self.write(&file.path(), script(&file.key(), value).as_bytes())
    }
}

/// Every data file, each registry file read once: the history is walked once
/// and split by model, and each run is loaded once for its row and its page.
fn write_data(export: &Export<'_, '_>, writer: &mut Writer) -> Result<(), UiError> {
    writer.data(&DataFile::Registry, &export.registry()?)?;
    let events = export.history()?;
    let mut by_model: BTreeMap<String, Vec<Event>> = BTreeMap::new();
    for event in &events {
        if let Some(model) = &event.model {
            by_model
                .entry(model.clone())
                .or_default()
                .push(event.clone());
        }
    }
    writer.data(
        &DataFile::HistoryIndex,
        &audit::index(&events, HISTORY_CHUNK),
    )?;
    let mut chunk = 0;
    while let Some(value) = audit::chunk(&events, HISTORY_CHUNK, chunk) {
        writer.data(&DataFile::HistoryChunk { chunk }, &value)?;
        chunk += 1;
    }
    drop(events);

    for model in export.model_names()? {
        let events = by_model.remove(&model).unwrap_or_default();
        let value = export.model(&model, &events)?;
        writer.built.models += 1;
        writer.built.versions += value["versions"].as_array().map_or(0, Vec::len);
        writer.data(&DataFile::Model { model }, &value)?;
    }

    let lineage = export.lineage()?;
    for experiment in export.experiment_names()? {
        let names = export.snapshot.run_names(&experiment)?;
        for (chunk, names) in names.chunks(CHUNK).enumerate() {
            let mut rows = Vec::with_capacity(names.len());
            for name in names {
                let run = export.run(&experiment, name)?;
                rows.push(run_row(&run));
                let file = DataFile::Run {
                    experiment: experiment.clone(),
                    run: name.clone(),
                };
                writer.data(&file, &run_detail(&run, &lineage))?;
                writer.built.runs += 1;
            }
            let file = DataFile::Runs {
                experiment: experiment.clone(),
                chunk,
            };
            writer.data(&file, &runs_chunk(&experiment, chunk, rows))?;
        }
    }
    Ok(())
}
