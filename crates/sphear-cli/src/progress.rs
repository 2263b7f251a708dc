//! Progress bars on stderr, only when stderr is a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar over audio frames, hidden when stderr is not a terminal.
pub struct FrameProgress {
    bar: Option<ProgressBar>,
}

impl FrameProgress {
    /// New bar for `total_frames` with a message.
    pub fn new(total_frames: u64, message: &str) -> Self {
        if !std::io::stderr().is_terminal() || total_frames == 0 {
            return Self { bar: None };
        }
        let bar = ProgressBar::new(total_frames);
        if let Ok(style) = ProgressStyle::with_template(
            "{msg} [{bar:40}] {percent:>3}% {elapsed_precise} eta {eta}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(message.to_string());
        Self { bar: Some(bar) }
    }

    /// Update with frames done.
    pub fn update(&self, done: u64, _total: u64) {
        if let Some(b) = &self.bar {
            b.set_position(done);
        }
    }

    /// Finish and clear.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
