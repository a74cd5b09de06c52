//! regent's integration tests: the real binary against real Git repositories.

mod common;

mod action;
mod artifacts;
mod audit;
mod bad_input;
mod batch;
mod bypass;
mod concurrency;
mod crash;
mod everyday;
mod fuzz_corpus;
mod github;
mod github_events;
mod hostile;
mod identity;
mod init;
mod integrity;
mod lifecycle;
mod properties;
mod publish;
mod push;
mod pyyaml;
mod quickstart;
mod runs;
mod s3;
mod series;
mod show;
mod torture;
mod track;
mod ui;
mod validate;
mod where_cases;
