//! Progress bars on standard error, drawn only when it is a terminal: piped or redirected
//! output (scripts, CI logs, `--output json`) never gets control characters.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar that draws nothing when standard error is not a terminal. Cheap to clone; clones
/// drive the same bar.
#[derive(Clone)]
pub struct Bar(ProgressBar);

impl Bar {
    /// A bar of `len` steps, labelled `what` (`files`, `collections`).
    pub fn new(len: u64, what: &str) -> Bar {
        let bar = ProgressBar::with_draw_target(Some(len), target());
        let template = format!("{{spinner}} [{{bar:30}}] {{pos}}/{{len}} {what} {{msg}}");
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        Bar(bar)
    }

    /// Whether anything is drawn at all.
    pub fn visible() -> bool {
        std::io::stderr().is_terminal()
    }

    /// More steps became known.
    pub fn grow(&self, by: u64) {
        self.0.inc_length(by);
    }

    /// One step done.
    pub fn step(&self) {
        self.0.inc(1);
    }

    /// Text after the counts.
    pub fn message(&self, msg: String) {
        self.0.set_message(msg);
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

fn target() -> ProgressDrawTarget {
    if Bar::visible() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}
