//! `regent schema [NAME]`: the embedded JSON Schemas, for editors and CI.

use super::{CliError, CliResult, Ctx};
use std::io::Write;

#[derive(Debug, clap::Args)]
#[command(after_long_help = "Examples:
  regent schema
  regent schema run > run.schema.json")]
pub struct SchemaArgs {
    /// The file kind: regent, model, version or run; without it, the names are listed.
    pub name: Option<String>,
}

pub fn run(_ctx: &Ctx, args: SchemaArgs) -> CliResult {
    let mut out = std::io::stdout().lock();
    match args.name {
        None => {
            for name in crate::schema::names() {
                writeln!(out, "{name}")?;
            }
        }
        Some(name) => {
            let source = crate::schema::source(&name).ok_or_else(|| {
                CliError::error(format!("no schema named {name:?}")).hint(format!(
                    "the schemas are: {}",
                    crate::schema::names().collect::<Vec<_>>().join(", ")
                ))
            })?;
            out.write_all(source.as_bytes())?;
        }
    }
    out.flush()?;
    Ok(())
}
