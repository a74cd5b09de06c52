//! The UI's files, embedded in the binary: HTML, CSS, the page scripts and
//! the vendored uPlot (charts) with its licence. Nothing is fetched from
//! anywhere else, so the UI works offline and from disk.

/// One embedded file: its path in a build (and on the server), its media
/// type, its bytes.
pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $type:expr) => {
        Asset {
            path: $path,
            content_type: $type,
            bytes: include_bytes!(concat!("../../ui/", $path)),
        }
    };
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// Every file of the UI but the data. `index.html` loads the scripts in
/// this order (classic scripts: pages opened from disk cannot use modules).
pub const ASSETS: &[Asset] = &[
    asset!("index.html", HTML),
    asset!("style.css", CSS),
    asset!("js/where.js", JS),
    asset!("js/core.js", JS),
    asset!("js/charts.js", JS),
    asset!("js/runs.js", JS),
    asset!("js/models.js", JS),
    asset!("js/audit.js", JS),
    asset!("js/app.js", JS),
    asset!("vendor/uplot/uPlot.iife.min.js", JS),
    asset!("vendor/uplot/uPlot.min.css", CSS),
    asset!("vendor/uplot/LICENSE", TEXT),
];

/// The asset at `path` (`""` is `index.html`).
pub fn find(path: &str) -> Option<&'static Asset> {
    let path = if path.is_empty() { "index.html" } else { path };
    ASSETS.iter().find(|a| a.path == path)
}

/// The media type of data files.
pub const DATA_TYPE: &str = JS;
