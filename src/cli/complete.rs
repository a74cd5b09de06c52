//! Shell completion, answered by regent itself (clap_complete's dynamic
//! completion). `regent completions SHELL` prints a short script; the shell
//! then runs `REGENT_COMPLETE=SHELL regent -- WORDS…` at each TAB, and regent
//! answers with the words that may come next: commands and flags, and names
//! from the registry at HEAD (models, stages, aliases, experiments, runs,
//! version numbers). Completing never prints an error: outside a registry, or
//! when the registry cannot be read, it offers no names.

use super::{Cli, CliResult};
use crate::git::Repo;
use crate::snapshot::Snapshot;
use clap::CommandFactory;
use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};
use clap_complete::env::{CompleteEnv, Shells};
use std::ffi::OsStr;
use std::io::Write;
use std::path::PathBuf;

/// The variable that turns a run of regent into a completion request. Not
/// clap's default `COMPLETE`: a name that plain may well be set in a CI job
/// for something else, and then every regent command would print a script
/// and exit 0 instead of doing its work.
pub const VAR: &str = "REGENT_COMPLETE";

#[derive(Debug, clap::Args)]
#[command(
    after_long_help = "The script asks regent for the words at each TAB: commands, flags, and \
the model, stage, alias, experiment and run names and version numbers of the registry at HEAD \
(of -C DIR when the line has one).

Examples:
  source <(regent completions bash)       # in ~/.bashrc
  source <(regent completions zsh)        # in ~/.zshrc, after compinit
  regent completions fish | source        # in ~/.config/fish/config.fish"
)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    pub shell: clap_complete::Shell,
}

/// Answers the shell and exits when REGENT_COMPLETE is set; returns at once
/// otherwise (before any argument is parsed, and nothing is printed).
pub fn answer_if_asked() {
    CompleteEnv::with_factory(command)
        .var(VAR)
        .bin("regent")
        .complete();
}

/// `regent completions SHELL`: the script `REGENT_COMPLETE=SHELL regent`
/// prints, calling this same binary.
pub fn print_registration(args: CompletionsArgs) -> CliResult {
    let name = args.shell.to_string();
    let shells = Shells::builtins();
    let shell = shells.completer(&name).ok_or_else(|| {
        super::CliError::error(format!("regent cannot complete for {name} (yet)"))
    })?;
    // Written into memory, then out in one write: a closed pipe
    // (`regent completions zsh | head`) is the quiet broken pipe of every
    // other command.
    let mut script = Vec::new();
    shell.write_registration(VAR, "regent", "regent", &completer(), &mut script)?;
    let mut out = std::io::stdout().lock();
    out.write_all(&script)?;
    out.flush()?;
    Ok(())
}

/// The program the script calls, named as CompleteEnv names it (so both
/// ways print the same script): how regent was started, made absolute when
/// it is a relative path such as `./target/debug/regent`.
fn completer() -> String {
    let started_as = PathBuf::from(
        std::env::args_os()
            .next()
            .unwrap_or_else(|| "regent".into()),
    );
    let path = match std::env::current_dir() {
        Ok(dir) if started_as.components().count() > 1 => dir.join(started_as),
        _ => started_as,
    };
    path.to_string_lossy().into_owned()
}

/// What may complete one argument: given the registry at HEAD, the command
/// line and the word typed so far, the candidates and a note on each.
type Names = fn(&Snapshot, &Line, &str) -> Vec<(String, Option<String>)>;

/// Which argument of which command completes with which names (clap ids:
/// the field name, or `VERSION`).
const COMPLETERS: &[(&[&str], &str, Names)] = &[
    (&["register"], "model", models),
    (&["register"], "run", runs),
    (&["promote"], "model", models),
    (&["promote"], "VERSION", versions),
    (&["promote"], "to", stages),
    (&["demote"], "model", models),
    (&["demote"], "from", stages),
    (&["rollback"], "model", models),
    (&["rollback"], "stage", stages),
    (&["rollback"], "to", versions),
    (&["alias", "set"], "model", models),
    (&["alias", "set"], "alias", aliases),
    (&["alias", "set"], "VERSION", versions),
    (&["alias", "rm"], "model", models),
    (&["alias", "rm"], "alias", aliases),
    (&["tag"], "target", models_and_versions),
    (&["describe"], "target", models_and_versions),
    (&["deprecate"], "model", models),
    (&["deprecate"], "VERSION", versions),
    (&["archive"], "model", models),
    (&["archive"], "VERSION", versions),
    (&["approve"], "model", models),
    (&["approve"], "VERSION", versions),
    (&["approve"], "stage", stages),
    (&["approve"], "alias", aliases),
    (&["show"], "target", models_and_versions),
    (&["history"], "model", models),
    (&["history"], "stage", stages),
    (&["run", "log"], "experiment", experiments),
    (&["run", "start"], "experiment", experiments),
    (&["run", "capture"], "experiment", experiments),
    (&["run", "list"], "experiment", experiments),
    (&["run", "show"], "run", runs),
    (&["run", "compare"], "runs", runs),
    (&["run", "update"], "run", runs),
    (&["run", "end"], "run", runs),
];

/// regent's command tree with the registry's names attached where they
/// complete an argument.
pub fn command() -> clap::Command {
    COMPLETERS
        .iter()
        .fold(Cli::command(), |cmd, &(path, arg, names)| {
            attach(cmd, path, arg, names)
        })
}

fn attach(cmd: clap::Command, path: &[&str], arg: &str, names: Names) -> clap::Command {
    match path.split_first() {
        Some((sub, rest)) => cmd.mut_subcommand(*sub, |sub| attach(sub, rest, arg, names)),
        None => {
            // `mut_arg` moves the argument last, and positional arguments
            // without an index take their place in that order: pin them
            // first, where they are (once per command).
            let positionals: Vec<clap::Id> = cmd
                .get_positionals()
                .filter(|a| a.get_index().is_none())
                .map(|a| a.get_id().clone())
                .collect();
            let cmd = positionals
                .iter()
                .enumerate()
                .fold(cmd, |cmd, (i, id)| cmd.mut_arg(id, |a| a.index(i + 1)));
            cmd.mut_arg(arg, |a| {
                a.add(ArgValueCompleter::new(move |current: &OsStr| {
                    offer(names, current)
                }))
            })
        }
    }
}

/// The candidates that start with what is typed; none when anything fails.
fn offer(names: Names, current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(current) = current.to_str() else {
        return Vec::new();
    };
    let line = Line::from_args();
    let Ok(repo) = Repo::open_registry(&line.dir()) else {
        return Vec::new();
    };
    let Ok(head) = Snapshot::at_rev(&repo, "HEAD") else {
        return Vec::new();
    };
    names(&head, &line, current)
        .into_iter()
        .filter(|(name, _)| name.to_lowercase().starts_with(&current.to_lowercase()))
        .map(|(name, note)| CompletionCandidate::new(name).help(note.map(Into::into)))
        .collect()
}

fn models(head: &Snapshot, _: &Line, _: &str) -> Vec<(String, Option<String>)> {
    plain(head.model_names().unwrap_or_default())
}

fn experiments(head: &Snapshot, _: &Line, _: &str) -> Vec<(String, Option<String>)> {
    plain(head.experiment_names().unwrap_or_default())
}

/// The stages the policy declares, in promotion order.
fn stages(head: &Snapshot, _: &Line, _: &str) -> Vec<(String, Option<String>)> {
    let Ok(config) = head.config() else {
        return Vec::new();
    };
    plain(config.value.stages.iter().map(|s| s.name.clone()))
}

/// The aliases of the line's model, and those the policy protects.
fn aliases(head: &Snapshot, line: &Line, _: &str) -> Vec<(String, Option<String>)> {
    let mut names = std::collections::BTreeMap::new();
    if let Ok(config) = head.config() {
        for alias in config.value.aliases.keys() {
            names.insert(alias.clone(), Some("protected".to_owned()));
        }
    }
    if let Some(model) = line.model()
        && let Ok(file) = head.model(&model)
    {
        for (alias, version) in &file.value.aliases {
            names.insert(alias.clone(), Some(format!("v{version}")));
        }
    }
    names.into_iter().collect()
}

/// The version numbers of the line's model, each noted with the stages and
/// aliases that point at it.
fn versions(head: &Snapshot, line: &Line, current: &str) -> Vec<(String, Option<String>)> {
    line.model()
        .map(|model| numbered(head, &model, version_prefix(current)))
        .unwrap_or_default()
}

/// `v` when the version typed so far starts with it (regent prints `v3`
/// and takes `3` and `v3` alike).
fn version_prefix(typed: &str) -> &'static str {
    if typed.starts_with(['v', 'V']) {
        "v"
    } else {
        ""
    }
}

/// MODEL, or MODEL/VERSION once a model and `/` are typed.
fn models_and_versions(
    head: &Snapshot,
    line: &Line,
    current: &str,
) -> Vec<(String, Option<String>)> {
    match current.split_once('/') {
        Some((model, version)) => {
            numbered(head, model, &format!("{model}/{}", version_prefix(version)))
        }
        None => models(head, line, current),
    }
}

/// EXPERIMENT/RUN: the experiments (each with its `/`), then that
/// experiment's runs once one and `/` are typed.
fn runs(head: &Snapshot, _: &Line, current: &str) -> Vec<(String, Option<String>)> {
    match current.split_once('/') {
        Some((experiment, _)) => plain(
            head.run_names(experiment)
                .unwrap_or_default()
                .into_iter()
                .map(|run| format!("{experiment}/{run}")),
        ),
        None => plain(
            head.experiment_names()
                .unwrap_or_default()
                .into_iter()
                .map(|experiment| format!("{experiment}/")),
        ),
    }
}

fn numbered(head: &Snapshot, model: &str, prefix: &str) -> Vec<(String, Option<String>)> {
    let pointers = head.model(model).map(|m| m.value).ok();
    head.version_numbers(model)
        .unwrap_or_default()
        .into_iter()
        .map(|version| {
            let notes: Vec<String> = pointers
                .iter()
                .flat_map(|m| {
                    let stages = m
                        .stages
                        .iter()
                        .filter(|(_, v)| **v == version)
                        .map(|(s, _)| s.clone());
                    let aliases = m
                        .aliases
                        .iter()
                        .filter(|(_, v)| **v == version)
                        .map(|(a, _)| format!("@{a}"));
                    stages.chain(aliases).collect::<Vec<_>>()
                })
                .collect();
            (
                format!("{prefix}{version}"),
                (!notes.is_empty()).then(|| notes.join(", ")),
            )
        })
        .collect()
}

fn plain(names: impl IntoIterator<Item = String>) -> Vec<(String, Option<String>)> {
    names.into_iter().map(|name| (name, None)).collect()
}

/// The command line being completed, as the shell passed it after `--`.
struct Line {
    words: Vec<String>,
}

impl Line {
    fn from_args() -> Line {
        let words = std::env::args_os()
            .map(|arg| arg.to_string_lossy().into_owned())
            .skip_while(|arg| arg != "--")
            .skip(1)
            .collect();
        Line { words }
    }

    /// `-C DIR` when the line has one, else the current folder.
    fn dir(&self) -> PathBuf {
        let given = self
            .words
            .iter()
            .enumerate()
            .find_map(|(i, word)| match word.as_str() {
                "-C" => self.words.get(i + 1).cloned(),
                _ => word
                    .strip_prefix("-C")
                    .filter(|d| !d.is_empty())
                    .map(str::to_owned),
            });
        given.map_or_else(|| PathBuf::from("."), PathBuf::from)
    }

    /// The model the line names: the command's first positional argument
    /// (MODEL, or the model of MODEL/VERSION).
    fn model(&self) -> Option<String> {
        let mut cmd = Cli::command();
        cmd.build();
        let mut current = &cmd;
        let mut words = self.words.iter().skip(1);
        while let Some(word) = words.next() {
            let takes_value =
                |arg: Option<&clap::Arg>| arg.is_some_and(|a| a.get_action().takes_values());
            if word == "--" {
                return words.next().map(|w| model_of(w));
            } else if let Some(long) = word.strip_prefix("--") {
                if !long.contains('=')
                    && takes_value(current.get_arguments().find(|a| a.get_long() == Some(long)))
                {
                    words.next();
                }
            } else if let Some(short) = word.strip_prefix('-').filter(|s| !s.is_empty()) {
                let mut letters = short.chars();
                let first = letters.next();
                if letters.next().is_none()
                    && takes_value(current.get_arguments().find(|a| a.get_short() == first))
                {
                    words.next();
                }
            } else if let Some(sub) = current.find_subcommand(word) {
                current = sub;
            } else {
                return Some(model_of(word));
            }
        }
        None
    }
}

fn model_of(target: &str) -> String {
    target.split('/').next().unwrap_or(target).to_owned()
}

#[cfg(test)]
mod tests {
    /// Every argument named in COMPLETERS exists (clap panics otherwise).
    #[test]
    fn every_completer_names_a_real_argument() {
        super::command().debug_assert();
    }
}
