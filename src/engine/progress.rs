//! The progress bar on standard error: trials done, rate, time left.

use super::run::Progress;
use std::io::IsTerminal;

/// An indicatif bar, drawn only when standard error is a terminal.
#[derive(Debug, Clone)]
pub struct ProgressBar {
    bar: indicatif::ProgressBar,
}

impl ProgressBar {
    /// A bar; hidden when `quiet` or when standard error is not a terminal.
    pub fn new(quiet: bool) -> Self {
        let bar = if quiet || !std::io::stderr().is_terminal() {
            indicatif::ProgressBar::hidden()
        } else {
            let bar = indicatif::ProgressBar::new(0);
            let style = indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40.cyan/blue} {human_pos}/{human_len} trials  {rate}  ETA {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .with_key("rate", |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0} trials/s", state.per_sec());
            });
            bar.set_style(style);
            bar
        };
        ProgressBar { bar }
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for ProgressBar {
    fn add_work(&self, trials: u64) {
        self.bar.inc_length(trials);
    }
    fn advance(&self, trials: u64) {
        self.bar.inc(trials);
    }
}
