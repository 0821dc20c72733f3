//! The command-line reference, docs/cli.md, written from clap's own model
//! of the commands: the page says what `--help` says because it is made
//! from the same definitions, and a test fails when the checked-in page is
//! behind them.

use std::fmt::Write as _;

use clap::{Arg, ArgAction, Command};

/// How to bring docs/cli.md up to date; the test's failure message says it.
pub const REGENERATE: &str = "cargo run -p kensa -- cli-reference > docs/cli.md";

/// The whole page, for the root command.
pub fn markdown(mut root: Command) -> String {
    // Building sets every subcommand's full name ("kensa db import"), which
    // the usage lines need.
    root.build();
    let mut out = String::new();
    out.push_str("# Command-line reference\n\n");
    let _ = writeln!(
        out,
        "<!-- Generated from the clap definitions by `{REGENERATE}`; \
         a test fails when this page is behind them. Do not edit by hand. -->\n"
    );
    out.push_str(
        "Every command and flag of `kensa`, as `kensa <command> --help` prints it. \
         `KENSA_LOG` sets the log level (error, warn, info, debug, trace; default info) \
         of every command.\n\n",
    );
    contents(&root, 0, &mut out);
    out.push('\n');
    section(&root, &mut out);
    out
}

fn visible(cmd: &Command) -> impl Iterator<Item = &Command> {
    cmd.get_subcommands()
        .filter(|c| !c.is_hide_set() && c.get_name() != "help")
}

fn full_name(cmd: &Command) -> String {
    cmd.get_bin_name()
        .map(str::to_owned)
        .unwrap_or_else(|| cmd.get_name().to_owned())
}

/// The anchor GitHub and most renderers give a heading `kensa db import`.
fn anchor(cmd: &Command) -> String {
    full_name(cmd).replace(' ', "-")
}

fn contents(cmd: &Command, depth: usize, out: &mut String) {
    let _ = writeln!(
        out,
        "{}- [`{}`](#{})",
        "  ".repeat(depth),
        full_name(cmd),
        anchor(cmd)
    );
    for sub in visible(cmd) {
        contents(sub, depth + 1, out);
    }
}

fn section(cmd: &Command, out: &mut String) {
    let _ = writeln!(out, "## {}\n", full_name(cmd));
    if let Some(about) = cmd.get_long_about().or(cmd.get_about()) {
        let _ = writeln!(out, "{}\n", about.to_string().trim_end());
    }
    let usage = cmd.clone().render_usage().to_string();
    let usage = usage.trim_start_matches("Usage: ").trim_end();
    let _ = writeln!(out, "```text\n{usage}\n```\n");

    let subs: Vec<&Command> = visible(cmd).collect();
    if !subs.is_empty() {
        out.push_str("**Commands:**\n\n");
        for sub in &subs {
            let about = sub
                .get_about()
                .map(|a| one_line(&a.to_string()))
                .unwrap_or_default();
            let _ = writeln!(out, "- [`{}`](#{}): {about}", sub.get_name(), anchor(sub));
        }
        out.push('\n');
    }

    let (positionals, options): (Vec<&Arg>, Vec<&Arg>) = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set())
        .partition(|a| a.is_positional());
    if !positionals.is_empty() {
        out.push_str("**Arguments:**\n\n");
        for a in positionals {
            argument(a, out);
        }
        out.push('\n');
    }
    if !options.is_empty() {
        out.push_str("**Options:**\n\n");
        for a in options {
            argument(a, out);
        }
        out.push('\n');
    }
    for sub in subs {
        section(sub, out);
    }
}

fn argument(a: &Arg, out: &mut String) {
    let value = a
        .get_value_names()
        .map(|v| v.iter().map(|n| format!("<{n}>")).collect::<Vec<_>>())
        .unwrap_or_else(|| vec![format!("<{}>", a.get_id().as_str().to_uppercase())]);
    let takes_value = a.get_action().takes_values();
    let mut name = if a.is_positional() {
        value.join(" ")
    } else {
        let mut n = String::new();
        if let Some(s) = a.get_short() {
            let _ = write!(n, "-{s}");
        }
        if let Some(l) = a.get_long() {
            if !n.is_empty() {
                n.push_str(", ");
            }
            let _ = write!(n, "--{l}");
        }
        if takes_value {
            let _ = write!(n, " {}", value.join(" "));
        }
        n
    };
    if a.is_positional() && matches!(a.get_action(), ArgAction::Append) {
        name.push_str("...");
    }
    let help = a
        .get_long_help()
        .or(a.get_help())
        .map(|h| one_line(&h.to_string()))
        .unwrap_or_default();
    let _ = write!(out, "- `{name}`");
    if !help.is_empty() {
        let _ = write!(out, ": {help}");
    }
    let mut notes = Vec::new();
    if a.is_required_set() {
        notes.push("required".to_owned());
    }
    let defaults: Vec<String> = a
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if !defaults.is_empty() && takes_value {
        notes.push(format!("default: `{}`", defaults.join(",")));
    }
    let values: Vec<String> = a
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| match v.get_help() {
            Some(h) => format!("`{}` ({})", v.get_name(), one_line(&h.to_string())),
            None => format!("`{}`", v.get_name()),
        })
        .collect();
    if !values.is_empty() && takes_value {
        notes.push(format!("values: {}", values.join(", ")));
    }
    if let Some(env) = a.get_env() {
        notes.push(format!("environment: `{}`", env.to_string_lossy()));
    }
    if !notes.is_empty() {
        let _ = write!(out, " ({})", notes.join("; "));
    }
    out.push('\n');
}

/// Help text joined into one paragraph per blank-line-separated block,
/// which is how clap wraps it on a terminal too.
fn one_line(s: &str) -> String {
    s.split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
