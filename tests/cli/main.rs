//! regent's integration tests: the real binary against real Git repositories.

mod common;

mod action;
mod audit;
mod bad_input;
mod github;
mod init;
mod lifecycle;
mod properties;
mod publish;
mod push;
mod quickstart;
mod runs;
mod show;
mod validate;
