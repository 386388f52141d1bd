//! Renders step-runner events: indicatif spinners on a terminal, plain lines otherwise.

use clusterctl_steps::{Event, Reporter};
use indicatif::{ProgressBar, ProgressStyle};
use std::{
    io::{IsTerminal, Write},
    sync::Mutex,
    time::Duration,
};

/// The one status type progress goes through.
#[derive(Debug)]
pub struct Progress {
    mode: Mode,
    bar: Mutex<Option<ProgressBar>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A spinner per step, ✓/✗ with colours.
    Terminal,
    /// One plain line per event, no colours, no cursor movement.
    Plain,
    /// Nothing (`-q`).
    Quiet,
}

impl Progress {
    /// Progress on stderr: spinners on a terminal, plain lines when piped, nothing when quiet.
    pub fn new(quiet: bool) -> Self {
        let mode = if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() && std::env::var_os("CI").is_none() {
            Mode::Terminal
        } else {
            Mode::Plain
        };
        Self {
            mode,
            bar: Mutex::new(None),
        }
    }

    fn line(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{text}");
    }

    fn finish(&self, mark: &str, title: &str, elapsed: Duration) {
        let text = format!("{mark} {title} ({})", human(elapsed));
        match self.mode {
            Mode::Terminal => {
                if let Some(bar) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
                    bar.finish_and_clear();
                }
                let styled = match mark {
                    "✓" => console::style(text).green().to_string(),
                    "✗" => console::style(text).red().to_string(),
                    _ => text,
                };
                self.line(&styled);
            }
            Mode::Plain => self.line(&text),
            Mode::Quiet => {}
        }
    }
}

impl Reporter for Progress {
    fn report(&self, event: Event) {
        if self.mode == Mode::Quiet {
            return;
        }
        match event {
            Event::StepStarted {
                index,
                total,
                title,
            } => match self.mode {
                Mode::Terminal => {
                    let bar = ProgressBar::new_spinner();
                    bar.set_style(
                        ProgressStyle::with_template("{spinner} {prefix}{msg} {elapsed:.dim}")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    bar.set_prefix(format!("[{index}/{total}] "));
                    bar.set_message(title);
                    bar.enable_steady_tick(Duration::from_millis(100));
                    *self.bar.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar);
                }
                _ => self.line(&format!("• [{index}/{total}] {title}")),
            },
            Event::StepProgress { message } => match self.mode {
                Mode::Terminal => {
                    if let Some(bar) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                        bar.set_message(message);
                    }
                }
                _ => self.line(&format!("  {message}")),
            },
            Event::StepFinished { title, elapsed } => self.finish("✓", &title, elapsed),
            Event::StepSkipped {
                index,
                total,
                title,
            } => self.line(&format!("✓ [{index}/{total}] {title} (already done)")),
            Event::StepFailed {
                title,
                error,
                elapsed,
            } => {
                self.finish("✗", &title, elapsed);
                self.line(&format!("  {error}"));
            }
            Event::StepCancelled { title, elapsed } => {
                self.finish("✗", &format!("{title} (interrupted)"), elapsed)
            }
            Event::CleanupStarted { title } => self.line(&format!("• cleaning up: {title}")),
            Event::CleanupFinished { title, elapsed } => {
                self.finish("✓", &format!("cleaned up: {title}"), elapsed)
            }
            Event::CleanupFailed {
                title,
                error,
                elapsed,
            } => {
                self.finish("✗", &format!("clean up: {title}"), elapsed);
                self.line(&format!("  {error}"));
            }
        }
    }
}

/// `850ms`, `4.2s`, `1m05s`.
pub fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_kind_progress() {
        assert_eq!(human(Duration::from_millis(850)), "850ms");
        assert_eq!(human(Duration::from_millis(4200)), "4.2s");
        assert_eq!(human(Duration::from_secs(65)), "1m05s");
    }
}
