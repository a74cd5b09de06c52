//! `regent ui` (serve the read-only web UI on loopback) and `regent ui build
//! OUT/` (write it as a static site). The UI itself is in `crate::ui`.

use super::{CliError, CliResult, Ctx};
use crate::output::{Format, write_json};
use crate::snapshot::Snapshot;
use crate::ui::{UiError, build, data::Export, server::Server};
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_long_help = "The UI only reads: every page shows the command that would make a change.\n\n\
                  Examples:\n  regent ui                      # http://127.0.0.1:8470/\n  \
                  regent ui --port 0             # any free port (the URL is printed)\n  \
                  regent ui build site/          # a static site: open site/index.html"
)]
pub struct UiArgs {
    #[command(subcommand)]
    pub command: Option<UiCommand>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum UiCommand {
    /// Write the UI as a static site (open OUT/index.html, or publish OUT).
    #[command(
        after_long_help = "Examples:\n  regent ui build site/                 # then open site/index.html\n  \
                           regent ui build site/ --rev v1.2      # the registry as it was at a tag"
    )]
    Build(BuildArgs),
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The port to listen on (0: any free port).
    #[arg(long, value_name = "N", default_value_t = 8470)]
    pub port: u16,
    /// Serve the registry at this revision (resolved again on each request).
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub rev: String,
    /// Listen on this address instead of 127.0.0.1 (e.g. 0.0.0.0: anyone who
    /// can reach this machine can read the registry).
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<IpAddr>,
}

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// The folder to write (created; a previous build there is replaced).
    pub out: PathBuf,
    /// Build the registry at this revision.
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub rev: String,
}

pub fn run(ctx: &Ctx, args: UiArgs) -> CliResult {
    match args.command {
        Some(UiCommand::Build(build)) => build_site(ctx, build),
        None => serve(ctx, args.serve),
    }
}

fn serve(ctx: &Ctx, args: ServeArgs) -> CliResult {
    let repo = ctx.open_registry()?;
    // Fail now, not on the first page, when the revision names no registry.
    Snapshot::at_rev(&repo, &args.rev)?;
    let ip = args.bind.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let server =
        Server::bind(repo, args.rev.clone(), SocketAddr::new(ip, args.port)).map_err(ui_error)?;
    if !ip.is_loopback() {
        ctx.warn(format!(
            "serving on {ip}, not loopback: anyone who can reach {} can read the registry",
            server.address
        ));
    }
    let mut out = std::io::stdout().lock();
    match ctx.format {
        Format::Json => write_json(&mut out, &serde_json::json!({ "url": server.url() }))?,
        Format::Human => writeln!(out, "{}", server.url())?,
    }
    out.flush()?;
    drop(out);
    ctx.info(format!(
        "Serving the registry at {} read-only; Ctrl-C stops.",
        args.rev
    ));
    server.serve().map_err(ui_error)
}

fn build_site(ctx: &Ctx, args: BuildArgs) -> CliResult {
    let started = std::time::Instant::now();
    let repo = ctx.open_registry()?;
    let snapshot = Snapshot::at_rev(&repo, &args.rev)?;
    let export = Export {
        repo: &repo,
        snapshot: &snapshot,
        rev: args.rev.clone(),
    };
    let built = build::build(&export, &args.out).map_err(ui_error)?;
    let index = args.out.join("index.html");
    let mut out = std::io::stdout().lock();
    match ctx.format {
        Format::Json => write_json(
            &mut out,
            &serde_json::json!({
                "out": args.out, "index": index, "files": built.files, "runs": built.runs,
                "models": built.models, "versions": built.versions,
                "commit": snapshot.commit.map(|c| c.to_string()),
            }),
        )?,
        Format::Human => writeln!(out, "{}", index.display())?,
    }
    out.flush()?;
    ctx.info(format!(
        "Wrote the UI of {} to {} in {:.1}s: {} runs, {} models, {} versions ({} files)",
        args.rev,
        args.out.display(),
        started.elapsed().as_secs_f64(),
        built.runs,
        built.models,
        built.versions,
        built.files
    ));
    Ok(())
}

fn ui_error(e: UiError) -> CliError {
    match e {
        UiError::Git(e) => e.into(),
        UiError::BadFiles { message, problems } => CliError::bad_files(message, problems)
            .hint("`regent validate --rev REV` lists every problem"),
        UiError::NotABuild { .. } => CliError::error(e.to_string())
            .hint("give an empty or new folder; a folder a build made is replaced"),
        UiError::Listen { .. } => {
            CliError::error(e.to_string()).hint("choose another --port (0: any free port)")
        }
        UiError::Io { .. } => CliError::error(e.to_string()),
    }
}
