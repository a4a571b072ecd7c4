//! One output discipline for every command: data on stdout (human lines, or one
//! JSON object per line with `--json`), diagnostics and progress on stderr,
//! colour through anstream (only on a terminal, never with NO_COLOR, forced
//! either way with `--color`), progress bars through indicatif (drawn only when
//! stderr is a terminal).

use std::sync::LazyLock;
use std::time::Duration;

use anstyle::{AnsiColor, Style as AnsiStyle};
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// When to colour the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set (or CLICOLOR=0).
    Auto,
    /// Always, even into a pipe or file (CLICOLOR_FORCE does the same).
    Always,
    /// Never.
    Never,
}

/// Applies `--color` to every stream anstream writes for the rest of the run.
pub fn use_color(when: ColorWhen) {
    let choice = match when {
        ColorWhen::Auto => anstream::ColorChoice::Auto,
        ColorWhen::Always => anstream::ColorChoice::Always,
        ColorWhen::Never => anstream::ColorChoice::Never,
    };
    choice.write_global();
}

/// Whether stdout keeps colour, decided once per run by anstream's rules
/// (`--color`, NO_COLOR, CLICOLOR_FORCE, a terminal).
static STDOUT_COLOUR: LazyLock<bool> = LazyLock::new(|| {
    anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never
});

/// Whether data written to stdout keeps its colour: commands that build coloured
/// text (the status table) can skip the colour where it would be removed again.
pub fn stdout_has_colour() -> bool {
    *STDOUT_COLOUR
}

/// Writes data to stdout. A reader that went away (a closed pipe) ends the program
/// quietly with status 0, as `yes | head` does; any other failure to write is an
/// error, exit status 1. Text goes out as it is unless it holds colour that must
/// not be shown: most data has none, and need not be scanned for it byte by byte.
pub fn write_out(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let text = args.to_string();
    let mut stdout = std::io::stdout().lock();
    let written = match *STDOUT_COLOUR || !text.contains('\x1b') {
        true => stdout.write_all(text.as_bytes()),
        false => write!(stdout, "{}", anstream::adapter::strip_str(&text)),
    };
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        anstream::eprintln!("{} cannot write the output: {e}", style().error("error:"));
        std::process::exit(1);
    }
}

/// One JSON object on its own line of stdout (`--json`).
pub fn json_line(value: &impl serde::Serialize) {
    match serde_json::to_string(value) {
        Ok(line) => write_out(format_args!("{line}\n")),
        Err(e) => anstream::eprintln!("{} cannot write JSON: {e}", style().error("error:")),
    }
}

/// The few styles the commands use. Text is always painted; anstream removes the
/// colour where it must not be shown, so no command decides that for itself.
pub struct Style;

pub fn style() -> Style {
    Style
}

impl Style {
    fn paint(&self, style: AnsiStyle, text: &str) -> String {
        format!("{style}{text}{style:#}")
    }

    pub fn error(&self, text: &str) -> String {
        self.paint(AnsiColor::Red.on_default().bold(), text)
    }

    pub fn ok(&self, text: &str) -> String {
        self.paint(AnsiColor::Green.on_default().bold(), text)
    }

    pub fn warn(&self, text: &str) -> String {
        self.paint(AnsiColor::Yellow.on_default().bold(), text)
    }
}

/// A progress indicator on stderr, drawn only when stderr is a terminal and not
/// asked for JSON (a script reading `--json` has no one to show it to). It spins
/// with a message until [`count`] gives it a number of steps. Print through
/// [`ProgressBar::suspend`] while it shows.
pub fn progress(json: bool) -> ProgressBar {
    let target = match json {
        true => ProgressDrawTarget::hidden(),
        false => ProgressDrawTarget::stderr(),
    };
    let bar = ProgressBar::with_draw_target(None, target);
    if let Ok(style) = ProgressStyle::with_template("{spinner} {wide_msg}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Turns the spinner into a bar of `total` steps of `what` ("forms", "files").
pub fn count(bar: &ProgressBar, total: u64, what: &str) {
    if bar.length() != Some(total) {
        let template = format!("{{spinner}} {{pos}}/{{len}} {what} [{{bar:30}}] {{wide_msg}}");
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_length(total);
    }
}
