//! regent: a Git-native model registry and CI governance tool.
//!
//! The registry is a folder of schema-validated YAML files in a Git repository
//! (see the README). This crate is layered; each module uses only
//! those listed after it:
//!
//! - [`cli`]: clap definitions and one module per command; turns flags into plain values.
//! - [`ui`]: the read-only web UI: its data files, a static build, a loopback server.
//! - [`validate`]: schema and semantic checks of a whole registry, with locations.
//! - [`snapshot`]: the registry at one commit or in the working tree, read by path.
//! - [`load`]: bytes to a typed registry file, or every problem with its position.
//! - [`artifacts`]: the artifact store: content-addressed uploads, folder manifests, verified
//!   downloads (through `object_store`; its own small runtime per operation).
//! - [`runs`]: building experiment-run records (params, metrics, artifacts, source).
//! - [`series`]: long metric histories: the bound, downsampling, the gzip CSV of a full series.
//! - [`workspace`]: applying a change as exactly one commit on a branch.
//! - [`registry`]: the file types, their paths and their YAML (the only serde_yaml user).
//! - [`schema`]: the embedded JSON Schemas, compiled once per process.
//! - [`git`]: git2 for objects and refs; the system `git` for the network.
//! - leaves: [`lock`] (one writer per checkout), [`names`], [`query`], [`yaml_location`],
//!   [`output`], [`render`], [`time`], [`random`], [`diagnostic`].
#![forbid(unsafe_code)]

pub mod artifacts;
pub mod cli;
pub mod diagnostic;
pub mod events;
pub mod fault;
pub mod gate;
pub mod git;
pub mod github;
pub mod history;
pub mod history_cache;
pub mod import;
pub mod imported;
pub mod lifecycle;
pub mod load;
pub mod lock;
pub mod names;
pub mod output;
pub mod policy;
pub mod publish;
pub mod query;
pub mod random;
pub mod recovery;
pub mod registry;
pub mod render;
pub mod runs;
pub mod schema;
pub mod series;
pub mod snapshot;
pub mod suggest;
pub mod time;
pub mod ui;
pub mod validate;
pub mod workspace;
pub mod yaml_location;
