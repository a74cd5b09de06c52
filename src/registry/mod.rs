//! The registry's files: their Rust types, where they live, and their YAML.
//! This is the only module that touches serde_yaml, so the on-disk format has
//! one owner.

mod layout;
mod types;
mod yaml;
mod yaml11;

pub use layout::{FileKind, Layout, classify};
pub use types::*;
pub use yaml::{
    MAX_FILE_BYTES, MAX_NODES, YamlError, count_json_nodes, decode, modeline, parse_value, text_of,
    to_yaml, too_large,
};
