//! OS command injection by shell tokenising. (Stub: the real lexer lands with issue 3.)

/// A value that would run a command if placed into a shell command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellMatch {
    /// What was found: `;`, `$(...)`, a backtick, a pipe into a known command...
    pub reason: String,
    /// The command that would run, when known (e.g. `cat`, `wget`).
    pub command: Option<String>,
    pub confidence: u8,
}

/// Whether `input` would inject a command into a shell command line.
pub fn shell_injection(_input: &str) -> Option<ShellMatch> {
    None
}
