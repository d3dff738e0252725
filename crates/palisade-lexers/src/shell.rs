//! OS command injection by shell lexing.
//!
//! The value is read the way a POSIX shell (or `cmd.exe`) would read it if
//! it were pasted into a command line, unquoted or inside quotes: quotes and
//! backslashes inside words vanish (`c'a't`, `c\at`, `w"h"oami` are `cat`,
//! `cat`, `whoami`), `$@`/`$*` expand to nothing, `${IFS}` is a space. It
//! fires when a command would start:
//!
//! - after a command separator (`;`, `&&`, `||`, `|`, `&`, newline) with a
//!   plausible command word after it;
//! - inside a command substitution `$(...)` or backticks;
//! - with `${IFS}`/brace-expansion obfuscation, or a redirection into or out
//!   of a file around a command word (`cat</etc/passwd`, `2>&1`);
//! - as a server-side include `<!--#exec cmd=...-->`.
//!
//! A command word is a name from the command table (Unix and Windows),
//! possibly with a path (`/usr/bin/id`). Names that are English words (`cat`,
//! `id`, `echo`, `sleep`, `type`...) also need arguments that look like a
//! command's (a flag, a path, a number, the end of the value, another
//! separator), so "Tom & Jerry; the best", "rock | paper", "a;b" and prices
//! like "$5" do not fire. It is not a shell: it neither expands nor runs.

/// A value that would run a command if placed into a shell command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellMatch {
    /// What was found: `;`, `$(...)`, a backtick, a pipe into a known command...
    pub reason: String,
    /// The command that would run, when known (e.g. `cat`, `wget`).
    pub command: Option<String>,
    pub confidence: u8,
}

/// Commands that are never English words.
const STRONG: &[&str] = &[
    "whoami",
    "uname",
    "wget",
    "curl",
    "nc",
    "ncat",
    "netcat",
    "bash",
    "sh",
    "zsh",
    "ksh",
    "csh",
    "tcsh",
    "dash",
    "ifconfig",
    "ipconfig",
    "nslookup",
    "netstat",
    "passwd",
    "chmod",
    "chown",
    "chgrp",
    "python",
    "python2",
    "python3",
    "perl",
    "php",
    "ruby",
    "lua",
    "telnet",
    "ssh",
    "scp",
    "tftp",
    "certutil",
    "bitsadmin",
    "rm",
    "mkfifo",
    "base64",
    "xterm",
    "systeminfo",
    "tasklist",
    "taskkill",
    "wmic",
    "powershell",
    "pwsh",
    "cmd",
    "regsvr32",
    "rundll32",
    "mshta",
    "cscript",
    "wscript",
    "msiexec",
    "useradd",
    "usermod",
    "adduser",
    "crontab",
    "nohup",
    "sudo",
    "busybox",
    "socat",
    "tcpdump",
    "nmap",
    "traceroute",
    "tracert",
    "iptables",
    "awk",
    "gawk",
    "sed",
    "xargs",
    "grep",
    "egrep",
    "fgrep",
    "chroot",
    "mknod",
    "gunzip",
    "unzip",
    "lsof",
    "pkill",
    "killall",
    "uptime",
    "hostname",
    "getent",
    "printenv",
    "locate",
    "whereis",
    "mkdir",
    "rmdir",
    "pwd",
    "systemctl",
    "reboot",
    "sendmail",
    "openssl",
    "gcc",
    "javac",
    "jrunscript",
    "xxd",
    "ulimit",
    "umask",
    "uniq",
    "nproc",
    "lscpu",
    "dmesg",
    "sysctl",
    "ipconfig",
    "arp",
    "nbtstat",
    "net1",
    "schtasks",
    "vssadmin",
    "icacls",
    "attrib",
    "findstr",
    "wevtutil",
    "netsh",
    "qwinsta",
    "cacls",
    "cipher",
    "diskpart",
    "bcdedit",
    "fsutil",
    "gzip",
    "bzip2",
    "xz",
    "zcat",
    "lsb_release",
    "ldd",
    "strace",
    "gdb",
    "tclsh",
    "expect",
    "mysql",
    "psql",
    "sqlite3",
    "lastlog",
    "aptitude",
    "apt-get",
    "yum",
    "dnf",
    "ansible",
    "ansible-playbook",
    "ansible-doc",
    "ansible-vault",
    "ansible-galaxy",
    "ansible-inventory",
    "chef-run",
    "chef-shell",
    "chef-vault",
    "strace",
    "cpulimit",
    "ifup",
    "ifdown",
    "visudo",
    "shred",
    "kubectl",
    "docker",
    "base32",
    "bsdtar",
    "cpulimit",
    "flock",
    "ionice",
    "setarch",
    "stdbuf",
    "unshare",
    "nsenter",
    "capsh",
    "pkexec",
    "doas",
    "runuser",
    "setsid",
    "rlwrap",
    "ghci",
    "irb",
    "jjs",
    "rview",
    "rvim",
    "vimdiff",
    "busctl",
    "journalctl",
    "dmsetup",
    "ansible-config",
    "ansible-console",
    "ansible-pull",
];

/// Commands that are also English words: they need command-like arguments.
const WEAK: &[&str] = &[
    "id", "ls", "ps", "env", "node", "java", "sc", "dig", "nodejs", "cat", "echo", "ping", "sleep",
    "dir", "type", "more", "less", "head", "tail", "touch", "kill", "time", "date", "who", "last",
    "find", "which", "file", "mv", "cp", "cd", "set", "net", "copy", "del", "start", "timeout",
    "service", "mail", "make", "true", "false", "test", "printf", "sort", "cut", "exit", "wait",
    "read", "host", "route", "tar", "zip", "dd", "su", "ln", "tr", "wc", "bc", "od", "ver", "vol",
    "reg", "top", "free", "wall", "users", "groups", "export", "source", "alias", "history",
    "expr", "stat", "nice", "watch", "split", "eval", "exec", "shutdown", "halt", "fetch", "tee",
    "strings", "rev", "seq", "diff", "nl", "sum", "login", "logout", "cal", "df", "du", "uptime",
    "whois", "ftp", "finger", "mount", "column", "bridge", "perf", "c89", "c99", "ip", "vi", "vim",
    "nano", "ed", "man", "rsync", "git", "pip", "npm", "gem", "go", "cargo", "script", "screen",
    "tmux",
];

/// Weak commands attackers use as probes, rarely prose at a value's end.
const PROBES: &[&str] = &["id", "ls", "dir", "ver", "pwd"];

/// Windows commands: case-insensitive, with or without `.exe`.
const WINDOWS: &[(&str, bool)] = &[
    ("cmd", true),
    ("powershell", true),
    ("pwsh", true),
    ("whoami", true),
    ("ipconfig", true),
    ("systeminfo", true),
    ("tasklist", true),
    ("taskkill", true),
    ("netstat", true),
    ("nslookup", true),
    ("certutil", true),
    ("bitsadmin", true),
    ("wmic", true),
    ("regsvr32", true),
    ("rundll32", true),
    ("mshta", true),
    ("cscript", true),
    ("wscript", true),
    ("msiexec", true),
    ("schtasks", true),
    ("vssadmin", true),
    ("icacls", true),
    ("findstr", true),
    ("net1", true),
    ("netsh", true),
    ("wevtutil", true),
    ("qwinsta", true),
    ("cacls", true),
    ("bcdedit", true),
    ("bcdboot", true),
    ("regedit", true),
    ("diskshadow", true),
    ("ntdsutil", true),
    ("wbadmin", true),
    ("tracert", true),
    ("ping", false),
    ("dir", false),
    ("type", false),
    ("ver", false),
    ("copy", false),
    ("del", false),
    ("net", false),
    ("echo", false),
    ("set", false),
    ("start", false),
    ("timeout", false),
    ("iwr", true),
    ("iex", true),
    ("irm", true),
    ("iwmi", true),
    ("invoke-expression", true),
    ("invoke-webrequest", true),
    ("invoke-restmethod", true),
    ("invoke-wmimethod", true),
    ("invoke-command", true),
    ("start-process", true),
    ("new-object", true),
    ("set-executionpolicy", true),
];

/// Whether `word` is a command; `Some(true)` when it is not an English word.
fn lookup(word: &str) -> Option<bool> {
    use std::sync::OnceLock;
    // every separator in a value costs a lookup: a fast hash, not SipHash
    // (the keys are our own constants, so flooding is no concern)
    static T: OnceLock<foldhash::HashMap<&'static str, bool>> = OnceLock::new();
    let t = T.get_or_init(|| {
        let mut t: foldhash::HashMap<&'static str, bool> =
            WEAK.iter().map(|&w| (w, false)).collect();
        t.extend(STRONG.iter().map(|&w| (w, true)));
        t.extend(WINDOWS.iter().copied());
        t
    });
    if word.is_empty() || word.len() > 24 || !word.as_bytes()[0].is_ascii_alphabetic() {
        return None;
    }
    if let Some(&strong) = t.get(word) {
        return Some(strong);
    }
    // versioned interpreters and compilers: python3.10, gcc10.1, perl5.36
    let base = word.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    if base.len() + 2 <= word.len()
        && matches!(
            base,
            "python"
                | "perl"
                | "ruby"
                | "php"
                | "gcc"
                | "g++"
                | "clang"
                | "node"
                | "lua"
                | "pip"
                | "tclsh"
        )
        && word.as_bytes()[base.len()].is_ascii_digit()
    {
        return Some(true);
    }
    if word
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && !word.contains('.')
    {
        return None;
    }
    let lw = word.to_ascii_lowercase();
    // "Net", "Type": capitalised prose, not cmd.exe.
    if lw != word && word.to_ascii_uppercase() != word && !word.contains('-') {
        return None;
    }
    let exe = lw.strip_suffix(".exe");
    let base = exe.unwrap_or(&lw);
    WINDOWS
        .iter()
        .find(|(w, _)| *w == base)
        .map(|(_, strong)| *strong || exe.is_some())
}

/// Whether `input` would inject a command into a shell command line.
pub fn shell_injection(input: &str) -> Option<ShellMatch> {
    let s = input.as_bytes();
    if !s.iter().any(|&c| {
        matches!(
            c,
            b';' | b'|'
                | b'&'
                | b'\''
                | b'"'
                | b'\\'
                | b'\n'
                | b'\r'
                | b'`'
                | b'$'
                | b'<'
                | b'>'
                | b'{'
                | b'/'
                | b'%'
                | b' '
                | b'\t'
        )
    }) {
        return None;
    }
    // Server-side includes.
    if memchr::memchr(b'<', s).is_some() && find_ci(s, b"<!--#exec").is_some() {
        return Some(m("server-side include exec", None, 90));
    }
    // ${IFS} and friends: only a shell attack writes them.
    for pat in [&b"${IFS"[..], b"$IFS$", b"$IFS"] {
        if let Some(p) = memchr::memmem::find(s, pat) {
            let after = s.get(p + pat.len()).copied().unwrap_or(0);
            if pat != b"$IFS" || !after.is_ascii_alphanumeric() {
                return Some(m("${IFS} obfuscation", None, 90));
            }
        }
    }
    let mut i = 0;
    let mut budget = 10_000usize;
    while i < s.len() {
        budget = budget.saturating_sub(1);
        if budget == 0 {
            break;
        }
        let c = s[i];
        match c {
            b'<' | b'>' if s.get(i + 1) == Some(&b'(') => {
                // Process substitution: <(cmd), >(cmd).
                if let Some((w, _)) = command_at(s, i + 2) {
                    return Some(m("process substitution", Some(w), 85));
                }
                i += 2;
            }
            b'$' if s.get(i + 1) == Some(&b'(') => {
                // $(cmd) or $((arith))
                if s.get(i + 2) == Some(&b'(') {
                    let inner = s.get(i + 3..).unwrap_or(&[]);
                    if inner.iter().take(32).any(|c| c.is_ascii_digit())
                        && memchr::memmem::find(inner, b"))").is_some()
                    {
                        return Some(m("$((...)) arithmetic expansion", None, 80));
                    }
                }
                if let Some((w, strong)) = command_at(s, i + 2) {
                    let _ = strong;
                    return Some(m("$(...) command substitution", Some(w), 95));
                }
                i += 2;
            }
            b'`' => {
                // Markdown writes `make install` between spaces; an injection
                // glues its backticks to the value ("x`id`", "`uname`").
                let close = memchr::memchr(b'`', s.get(i + 1..).unwrap_or(&[])).map(|o| i + 1 + o);
                if let Some(close) = close {
                    let open_glued = i > 0 && !s[i - 1].is_ascii_whitespace();
                    let close_glued = match s.get(close + 1) {
                        // The whole value is the substitution: "`uname`", " `id`".
                        None => s[..i]
                            .iter()
                            .all(|c| c.is_ascii_whitespace() || matches!(c, b'\'' | b'"')),
                        Some(c) => {
                            !c.is_ascii_whitespace()
                                && !matches!(c, b'.' | b',' | b':' | b')' | b'\'' | b'-')
                        }
                    };
                    let doubled = s.get(i + 1) == Some(&b'`');
                    if !doubled
                        && (open_glued || close_glued)
                        && let Some((w, strong)) = command_at(s, i + 1)
                        && (strong || first_arg_plausible(s, after_word(s, i + 1), true))
                    {
                        return Some(m("backtick command substitution", Some(w), 90));
                    }
                    i = close + 1;
                    continue;
                }
                i += 1;
            }
            b'\n' | b'\r' if paragraph_of_prose(s, i) => {
                // "...wrote:\n\ncurl https://api... -d x": a paragraph of a
                // ticket, not an injected command line
                i += 1;
            }
            b';' | b'|' | b'&' | b'\n' | b'\r' => {
                let mut j = i + 1;
                // "&&", "||", "|&", ";;"
                while s.get(j).is_some_and(|&d| matches!(d, b'&' | b'|' | b';')) && j < i + 3 {
                    j += 1;
                }
                if let Some((w, strong)) = command_at(s, j) {
                    let sep = String::from_utf8_lossy(s.get(i..j).unwrap_or(&[]))
                        .replace('\n', "\\n")
                        .replace('\r', "\\r");
                    let end = after_word(s, j);
                    // "| id |" is a Markdown table cell, not a pipeline.
                    let cell = c == b'|'
                        && s.get(j).is_some_and(|c| *c == b' ')
                        && s.get(end..)
                            .and_then(|r| r.iter().find(|c| !c.is_ascii_whitespace()))
                            == Some(&b'|');
                    // After a lone '&' (English "and") or a line break, a weak
                    // command needs real arguments: "ps & top", "salt & pepper".
                    let end_ok = !(j == i + 1 && matches!(c, b'&' | b'\n' | b'\r'))
                        || PROBES.contains(&w.as_str());
                    let args_ok = if end_ok {
                        plausible_args(s, end)
                    } else {
                        first_arg_plausible(s, end, false) || redirect_soon(s, end)
                    };
                    if !prose_follows(s, end) && (strong || (!cell && args_ok)) {
                        return Some(m(
                            &format!("command after `{sep}`"),
                            Some(w),
                            if strong { 90 } else { 80 },
                        ));
                    }
                }
                i = j;
            }
            b'{' => {
                // Brace expansion: {cat,/etc/passwd}
                if let Some((w, _)) = command_word(s, i + 1) {
                    let end = after_word(s, i + 1);
                    if s.get(end) == Some(&b',')
                        && s.get(end + 1)
                            .is_some_and(|c| matches!(c, b'/' | b'-' | b'~' | b'$'))
                    {
                        return Some(m("brace expansion {cmd,arg}", Some(w), 85));
                    }
                }
                if let Some(w) = brace_command(s, i) {
                    return Some(m("brace expansion spelling a command", Some(w), 80));
                }
                i += 1;
            }
            b'>' | b'<' => {
                // "2>&1", ">/dev/null", "</etc/passwd" next to a command word
                if c == b'>'
                    && s.get(i + 1) == Some(&b'&')
                    && s.get(i + 2).is_some_and(u8::is_ascii_digit)
                {
                    return Some(m("redirection >&", None, 75));
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    // cmd.exe loops: "for /f %i in (...) do cmd", "& FOR %@ IN (a,b)DO cmd".
    if memchr::memchr(b'%', s).is_some()
        && let Some(p) = find_ci(s, b"for ")
        && (p == 0 || !s[p - 1].is_ascii_alphanumeric())
    {
        let rest = s.get(p..(p + 120).min(s.len())).unwrap_or(&[]);
        if rest.contains(&b'%')
            && find_ci(rest, b" in (").is_some()
            && (find_ci(rest, b" do ").is_some() || find_ci(rest, b")do ").is_some())
        {
            return Some(m("cmd.exe FOR loop", None, 80));
        }
    }
    // Shell function definitions: "f(){ f|f& };f", ":(){ :|:& };:".
    for pat in [&b"(){"[..], b"() {"] {
        if let Some(p) = memchr::memmem::find(s, pat) {
            let body = s.get(p..(p + 40).min(s.len())).unwrap_or(&[]);
            if body.iter().any(|&c| matches!(c, b'|' | b'&' | b';')) {
                return Some(m("shell function definition", None, 80));
            }
        }
    }
    // Code that runs a command: ";system('id')", "passthru(\"cat /etc/passwd\")".
    let has_call = memchr::memchr(b'(', s).is_some();
    for f in [
        &b"system("[..],
        b"exec(",
        b"passthru(",
        b"shell_exec(",
        b"popen(",
        b"proc_open(",
        b"os.system(",
        b"subprocess.",
    ] {
        if !has_call {
            break;
        }
        if let Some(p) = find_ci(s, f) {
            let a = p + f.len();
            if let Some((w, _)) = command_at(s, a) {
                return Some(m("code calling a shell command", Some(w), 85));
            }
        }
    }
    if let Some(hit) = leading(s) {
        return Some(hit);
    }
    // The whole value is a command with a redirection or a path invocation:
    // "cat</etc/passwd", "/bin/ls -al", "/usr/bin/id|".
    if let Some((w, _)) = command_at(s, 0) {
        let end = after_word(s, 0);
        let mut k = end;
        while s.get(k).is_some_and(|c| *c == b' ' || *c == b'\t') {
            k += 1;
        }
        if matches!(s.get(k), Some(b'<' | b'>')) {
            let mut t = k + 1;
            while s
                .get(t)
                .is_some_and(|c| matches!(c, b' ' | b'\t' | b'>' | b'&'))
            {
                t += 1;
            }
            if s.get(t)
                .is_some_and(|c| matches!(c, b'/' | b'~' | b'.' | b'$'))
            {
                return Some(m("command with file redirection", Some(w), 80));
            }
        }
        let lead = s
            .iter()
            .position(|c| !matches!(c, b' ' | b'\t' | b'\'' | b'"'))
            .unwrap_or(0);
        if s.get(lead) == Some(&b'/')
            && starts_in_bin_dir(s.get(lead..).unwrap_or(&[]))
            && plausible_args(s, end)
        {
            return Some(m("command invoked by path", Some(w), 70));
        }
    }
    None
}

/// A value that starts with a command and its arguments: "cat /etc/passwd",
/// "ping -i 30 127.0.0.1", "id;", "time sh -c id". Also read on its own by
/// callers for values without separators ([`command_line`]).
fn leading(s: &[u8]) -> Option<ShellMatch> {
    let lead = s
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t'))
        .unwrap_or(0);
    if s.get(lead)
        .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'/' | b'\'' | b'"'))
        && let Some((w, strong)) = command_at(s, 0)
    {
        let end = after_word(s, 0);
        // Windows' case-insensitive names at the start ("SET 8", "Type A"),
        // and quoted values ("'true'") are no command lines.
        // A quote opened and never closed breaks out of a quoted argument
        // ("\" ping.exe -n 3 host") and counts as no quoting.
        let quoted = s.get(lead).is_some_and(|&c| {
            c.is_ascii_uppercase()
                || (matches!(c, b'\'' | b'"')
                    && s.iter().rev().find(|d| !d.is_ascii_whitespace()) == Some(&c))
        });
        let mut k = end;
        while s.get(k).is_some_and(|c| *c == b' ' || *c == b'\t') {
            k += 1;
        }
        // "'i'fconfig", "w\\hoami": quotes inside the word hide a command.
        let raw = s.get(lead..end).unwrap_or(&[]);
        let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or(&[]);
        if strong && inner.iter().any(|&c| matches!(c, b'\'' | b'"' | b'\\')) {
            return Some(m("obfuscated command word", Some(w), 85));
        }
        // "id;", "whoami|": a separator, then the end or another command
        // ("gzip;q=1.0" is an Accept-Encoding header).
        let sep_next = (strong || PROBES.contains(&w.as_str()))
            && matches!(s.get(k), Some(b';' | b'|' | b'&'))
            && {
                let mut t = k;
                while s.get(t).is_some_and(|c| matches!(c, b';' | b'|' | b'&')) {
                    t += 1;
                }
                s.get(t..)
                    .is_none_or(|r| r.iter().all(u8::is_ascii_whitespace))
                    || command_at(s, t).is_some()
            };
        // a Windows drive: "dir c:", "type c:\\boot.ini"
        let drive = s.get(k).is_some_and(u8::is_ascii_alphabetic)
            && s.get(k + 1) == Some(&b':')
            && s.get(k + 2)
                .is_none_or(|c| matches!(c, b'\\' | b'/' | b' ' | b'\t' | b'|' | b'&' | b';'));
        // a Windows variable as the argument: "type %SYSTEMROOT%\\repair\\SAM"
        let env_var = s.get(k) == Some(&b'%')
            && s.get(k + 1..)
                .and_then(|r| r.iter().position(|&c| c == b'%'))
                .is_some_and(|n| {
                    n >= 2
                        && s[k + 1..k + 1 + n]
                            .iter()
                            .all(|c| c.is_ascii_alphanumeric() || *c == b'_')
                });
        let arg = drive
            || env_var
            || s.get(k).is_some_and(|c| matches!(c, b'-' | b'/' | b'~'))
            || (s.get(k).is_some_and(u8::is_ascii_digit)
                && ["sleep", "ping", "timeout"].contains(&w.as_str())
                && first_arg_plausible(s, end, false));
        // "dir c: is full": English after a short first argument (a path
        // such as "C:\\Documents and Settings" is no prose)
        let arg_end = after_word(s, k);
        let prose = arg_end.saturating_sub(k) <= 3 && prose_follows(s, arg_end);
        if !quoted && (sep_next || (arg && !prose && first_arg_plausible(s, end, false))) {
            return Some(m("value is a command line", Some(w), 65));
        }
        // Windows administration: "net user x y /ADD", "net view", "reg add HKLM\\..."
        if !quoted && let Some(sub) = admin_subcommand(s, &w, end) {
            return Some(m("Windows administration command", Some(sub), 80));
        }
        // "which gcc", "whereis nc": the whole value asks where a binary is
        if !quoted
            && matches!(w.as_str(), "which" | "whereis")
            && let Some((next, true)) = command_at(s, end)
            && s.get(after_word(s, end)..)
                .is_none_or(|r| r.iter().all(u8::is_ascii_whitespace))
        {
            return Some(m("lookup of a binary", Some(next), 70));
        }
        // A wrapper before a command: "time sh -c id", "flock -u / whoami",
        // "nohup curl ...", "env python3 x.py".
        if !quoted && let Some(next) = wrapped_command(s, &w, end) {
            return Some(m("command run through a wrapper", Some(next), 75));
        }
    }
    None
}

/// `net` and `reg` with a sub-command only administration uses: account and
/// group changes need their switch (`/add`, `/delete`, `/domain`), share
/// and session listings stand alone, registry edits name a hive.
fn admin_subcommand(s: &[u8], w: &str, end: usize) -> Option<String> {
    if !matches!(w, "net" | "net1" | "reg") {
        return None;
    }
    let k = word_start(s, end);
    let sub_end = after_word(s, k);
    let sub = std::str::from_utf8(s.get(k..sub_end)?)
        .ok()?
        .to_ascii_lowercase();
    let rest = String::from_utf8_lossy(s.get(sub_end..)?).to_ascii_lowercase();
    let alone = rest.trim().is_empty();
    let ok = match (w, sub.as_str()) {
        ("reg", "add" | "query" | "delete" | "save" | "export" | "import" | "load") => {
            rest.contains("hk")
        }
        ("reg", _) => false,
        (_, "user" | "localgroup" | "group" | "accounts") => {
            rest.contains("/add") || rest.contains("/del") || rest.contains("/domain") || alone
        }
        (_, "view" | "share" | "session" | "use" | "start" | "stop" | "config") => {
            alone || rest.trim_start().starts_with(['\\', '/'])
        }
        _ => false,
    };
    ok.then(|| format!("{w} {sub}"))
}

/// Commands that run the command after them (and their own options).
const WRAPPERS: &[&str] = &[
    "time", "nohup", "sudo", "doas", "env", "timeout", "nice", "ionice", "exec", "xargs", "strace",
    "ltrace", "flock", "cpulimit", "watch", "stdbuf", "setsid", "setarch", "unshare", "chroot",
    "busybox", "command", "builtin", "runuser", "su", "perf", "taskset", "rlwrap", "script",
];

/// After a wrapper command word `w` ending at `end`: the first command word
/// that is never English within the next few words ("flock -u / whoami").
fn wrapped_command(s: &[u8], w: &str, end: usize) -> Option<String> {
    if !WRAPPERS.contains(&w) {
        return None;
    }
    let mut k = end;
    for _ in 0..5 {
        while s.get(k).is_some_and(|c| *c == b' ' || *c == b'\t') {
            k += 1;
        }
        if k >= s.len() {
            return None;
        }
        if let Some((next, strong)) = command_at(s, k)
            && strong
            && !WRAPPERS.contains(&next.as_str())
        {
            return Some(next);
        }
        let e = after_word(s, k);
        if e <= k {
            return None;
        }
        k = e;
    }
    None
}

/// A value with no separator at all that is a command line by itself:
/// `ping -n 31 127.0.0.1`, `time bsdtar`, `" ping.exe -n 3 host`.
pub fn command_line(input: &str) -> Option<ShellMatch> {
    leading(input.as_bytes())
}

/// Bash brace expansion that spells a command: `{,ifconfig}`, `{l,-lh}s`
/// (`ls -lhs`), `c{a,oun}t` (`cat count`) when the word is the whole value,
/// `{,ip,a}`. The group at `open` is expanded once (no nesting), with the
/// word's text before and after it, and the first resulting word must name
/// a command: a never-English one, or any with option-like arguments.
fn brace_command(s: &[u8], open: usize) -> Option<String> {
    let close = open
        + 1
        + s.get(open + 1..(open + 65).min(s.len()))?
            .iter()
            .position(|&c| c == b'}')?;
    let inner = s.get(open + 1..close)?;
    let simple = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'/' | b'_');
    if !inner.contains(&b',') || !inner.iter().all(|c| *c == b',' || simple(c)) {
        return None;
    }
    let mut start = open;
    while start > 0 && s.get(start - 1).is_some_and(simple) {
        start -= 1;
    }
    let mut stop = close + 1;
    while s.get(stop).is_some_and(simple) {
        stop += 1;
    }
    let (pre, post) = (s.get(start..open)?, s.get(close + 1..stop)?);
    let mut line = Vec::with_capacity(2 * (stop - start));
    for alt in inner.split(|&c| c == b',') {
        if pre.is_empty() && alt.is_empty() && post.is_empty() {
            continue;
        }
        if !line.is_empty() {
            line.push(b' ');
        }
        line.extend_from_slice(pre);
        line.extend_from_slice(alt);
        line.extend_from_slice(post);
    }
    let (w, strong) = command_word(&line, 0)?;
    let whole = s[..start].iter().all(u8::is_ascii_whitespace)
        && s[stop..].iter().all(u8::is_ascii_whitespace);
    let end = after_word(&line, 0);
    let args = line
        .get(end..)
        .and_then(|r| r.iter().find(|c| !c.is_ascii_whitespace()))
        .is_some_and(|c| matches!(c, b'-' | b'/'));
    (strong || whole || args).then_some(w)
}

/// Whether the line break at `i` opens a new paragraph (a blank line) of a
/// text with prose before it (three spaces or more), and the line after it
/// chains, substitutes or redirects nothing.
fn paragraph_of_prose(s: &[u8], i: usize) -> bool {
    let mut start = i;
    while start > 0 && s.get(start - 1).is_some_and(u8::is_ascii_whitespace) {
        start -= 1;
    }
    let mut end = i;
    while s.get(end).is_some_and(u8::is_ascii_whitespace) {
        end += 1;
    }
    let breaks = s
        .get(start..end)
        .unwrap_or(&[])
        .iter()
        .filter(|&&c| c == b'\n')
        .count();
    // three spaces, or a few characters of a script written without them
    // (Chinese, Japanese, Thai: two or more non-ASCII characters)
    let before = s.get(..start).unwrap_or(&[]);
    let prose = before.iter().filter(|&&c| c == b' ').count() >= 3
        || before.iter().filter(|&&c| c >= 0x80).count() >= 6;
    let line = s.get(end..).unwrap_or(&[]);
    let line = line
        .get(..memchr::memchr(b'\n', line).unwrap_or(line.len()))
        .unwrap_or(&[]);
    breaks >= 2
        && prose
        && !line
            .iter()
            .any(|c| matches!(c, b'|' | b';' | b'&' | b'`' | b'$' | b'>' | b'<'))
}

/// "xz is enough", "unzip can seek": an English word follows the command.
fn prose_follows(s: &[u8], end: usize) -> bool {
    const STOP: &[&str] = &[
        "is", "are", "was", "were", "can", "could", "will", "would", "should", "may", "might",
        "must", "does", "did", "has", "have", "had", "and", "or", "but", "the", "a", "an", "to",
        "of", "in", "on", "for", "with", "as", "it", "not", "be", "been", "that", "this", "which",
        "when", "if", "so", "now", "also",
    ];
    let mut k = end;
    while s.get(k).is_some_and(|c| *c == b' ' || *c == b'\t') {
        k += 1;
    }
    let rest = s.get(k..).unwrap_or(&[]);
    let w = rest
        .iter()
        .position(|c| !c.is_ascii_alphabetic())
        .unwrap_or(rest.len());
    let word = rest.get(..w).unwrap_or(&[]);
    STOP.iter()
        .any(|st| word.eq_ignore_ascii_case(st.as_bytes()))
}

fn m(reason: &str, command: Option<String>, confidence: u8) -> ShellMatch {
    ShellMatch {
        reason: reason.to_string(),
        command,
        confidence,
    }
}

/// Case-insensitive search; `pat` must be lowercase ASCII.
fn find_ci(s: &[u8], pat: &[u8]) -> Option<usize> {
    let first = *pat.first()?;
    let upper = first.to_ascii_uppercase();
    let mut from = 0;
    while let Some(o) = memchr::memchr2(first, upper, s.get(from..)?) {
        let p = from + o;
        if s.get(p..p + pat.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(pat))
        {
            return Some(p);
        }
        from = p + 1;
    }
    None
}

fn starts_in_bin_dir(p: &[u8]) -> bool {
    [
        &b"/bin/"[..],
        b"/usr/bin/",
        b"/sbin/",
        b"/usr/sbin/",
        b"/usr/local/bin/",
        b"/???/",
        b"/?in/",
        b"/b?n/",
    ]
    .iter()
    .any(|d| p.len() > d.len() && p[..d.len()].eq_ignore_ascii_case(d))
}

/// Characters that end a shell word.
fn is_word_end(c: u8) -> bool {
    matches!(
        c,
        b' ' | b'\t'
            | b'\n'
            | b'\r'
            | b';'
            | b'|'
            | b'&'
            | b'<'
            | b'>'
            | b'('
            | b')'
            | b'`'
            | b','
            | b'}'
            | b'#'
            | b'+'
    )
}

/// Skips blanks and opening quotes/parens before a word.
fn word_start(s: &[u8], mut i: usize) -> usize {
    let mut n = 0;
    while let Some(&c) = s.get(i) {
        if matches!(
            c,
            b' ' | b'\t' | b'\'' | b'"' | b'(' | b'{' | b'\n' | b'\r' | b'+'
        ) && n < 16
        {
            i += 1;
            n += 1;
        } else {
            break;
        }
    }
    i
}

/// End of the word starting (after blanks) at `i`.
fn after_word(s: &[u8], i: usize) -> usize {
    let mut j = word_start(s, i);
    while let Some(&c) = s.get(j) {
        if is_word_end(c) {
            break;
        }
        if c == b'$' && matches!(s.get(j + 1), Some(b'{') | Some(b'I')) {
            break;
        }
        j += 1;
    }
    j
}

/// The command word at `i` (quotes, backslashes, `$@` removed; path
/// stripped), if it names a known command; `true` when it is not an
/// English word (or was invoked by path or obfuscated).
fn command_at(s: &[u8], i: usize) -> Option<(String, bool)> {
    // "data:text/plain;base64,SGVs": a comma glues the word to more text
    // (the shell would read "base64,SGVs" as one word).
    if s.get(after_word(s, word_start(s, i))) == Some(&b',') {
        return None;
    }
    command_word(s, i)
}

/// Like `command_at`, for a word inside a brace expansion `{cmd,arg}`.
fn command_word(s: &[u8], i: usize) -> Option<(String, bool)> {
    let start = word_start(s, i);
    let end = after_word(s, start);
    let raw = s.get(start..end)?;
    if raw.is_empty() || raw.len() > 128 {
        return None;
    }
    // the word without its quoting, on the stack: most words are no command
    let mut buf = [0u8; 128];
    let mut len = 0;
    let mut obfuscated = false;
    let mut k = 0;
    while let Some(&c) = raw.get(k) {
        match c {
            b'\'' | b'"' | b'\\' => obfuscated = true,
            b'$' if matches!(raw.get(k + 1), Some(b'@' | b'*')) => {
                obfuscated = true;
                k += 1;
            }
            _ => {
                if let Some(slot) = buf.get_mut(len) {
                    *slot = c;
                    len += 1;
                }
            }
        }
        k += 1;
    }
    let mut w = buf.get(..len)?;
    // "cat$()": an empty expansion glued to the word ends it.
    if let Some(d) = w.iter().position(|&c| c == b'$') {
        obfuscated = true;
        w = w.get(..d)?;
    }
    let word = std::str::from_utf8(w).ok()?;
    let (path, name) = match word.rfind(['/', '\\']) {
        Some(p) => (true, word.get(p + 1..).unwrap_or("")),
        None => (false, word),
    };
    // Paths need to look like a binary directory ("/bin/cat", "c:\windows\...\cmd"),
    // not "a/b" prose.
    let path_ok = !path
        || word.starts_with('/')
        || word.contains(":\\")
        || word.starts_with('\\')
        || word.starts_with("usr/")
        || word.starts_with("bin/");
    if !path_ok || name.is_empty() {
        return None;
    }
    // Globs in a path: "/???/c?t" stays unknown, but "/bin/c?t" style is an attack.
    if path
        && (name.contains('?') || name.contains('*'))
        && name.len() <= 12
        && starts_in_bin_dir(word.as_bytes())
    {
        return Some((word.to_string(), true));
    }
    let strong = lookup(name)?;
    Some((name.to_string(), strong || path || obfuscated))
}

/// Whether what follows a weak command word looks like its arguments.
fn plausible_args(s: &[u8], end: usize) -> bool {
    first_arg_plausible(s, end, true) || redirect_soon(s, end)
}

/// "echo some words > /tmp/x": a file redirection within a few words.
fn redirect_soon(s: &[u8], mut k: usize) -> bool {
    for _ in 0..6 {
        while s.get(k).is_some_and(|c| *c == b' ' || *c == b'\t') {
            k += 1;
        }
        match s.get(k) {
            Some(b'>' | b'<') => {
                let mut t = k + 1;
                while s.get(t).is_some_and(|c| matches!(c, b' ' | b'>' | b'&')) {
                    t += 1;
                }
                return s
                    .get(t)
                    .is_some_and(|c| matches!(c, b'/' | b'~' | b'.' | b'$' | b'0'..=b'9'));
            }
            None => return false,
            _ => {}
        }
        while s.get(k).is_some_and(|&c| !is_word_end(c)) {
            k += 1;
        }
        if s.get(k)
            .is_some_and(|&c| !matches!(c, b' ' | b'\t' | b'>' | b'<'))
        {
            return false;
        }
    }
    false
}

/// Whether the first argument after a command word looks like one.
/// `end_ok`: the end of the value counts ("; id").
fn first_arg_plausible(s: &[u8], end: usize, end_ok: bool) -> bool {
    let mut k = end;
    while s
        .get(k)
        .is_some_and(|c| *c == b' ' || *c == b'\t' || *c == b'+')
    {
        k += 1;
    }
    let Some(&c) = s.get(k) else { return end_ok };
    if !end_ok && c == b')' {
        return false;
    }
    if matches!(
        c,
        b';' | b'|' | b'&' | b'\n' | b'\r' | b')' | b'`' | b'#' | b'>' | b'<' | b'$'
    ) {
        return true;
    }
    if matches!(c, b'\'' | b'"') {
        // A quoted argument: judge what it holds ("echo 'x' >", "cat '/etc/passwd'").
        return s
            .get(k + 1)
            .is_some_and(|d| matches!(d, b'/' | b'-' | b'$' | b'~' | b'0'..=b'9'))
            || s.get(k + 1) == Some(&c);
    }
    let next = s.get(k..).unwrap_or(&[]);
    let word_end = next
        .iter()
        .position(|&d| is_word_end(d))
        .unwrap_or(next.len());
    let arg = &next[..word_end];
    match c {
        // "-la", "--version"; a bare "--" is punctuation in prose
        b'-' => match arg.get(1) {
            Some(d) if d.is_ascii_alphabetic() => true,
            Some(b'-') => arg.get(2).is_some_and(u8::is_ascii_alphabetic),
            _ => false,
        },
        b'/' | b'~' | b'\\' | b'%' => arg.len() > 1,
        b'.' => arg.starts_with(b"./") || arg.starts_with(b"../"),
        b'0'..=b'9' => arg.iter().all(|d| d.is_ascii_digit() || *d == b'.'),
        _ => {
            // "c:\...", "127.0.0.1", "host.example.com"
            (arg.len() >= 2 && arg.get(1) == Some(&b':') && arg.len() <= 3
                || arg.get(2).is_some_and(|&d| d == b'\\' || d == b'/')
                    && arg.get(1) == Some(&b':'))
                || (arg.iter().filter(|&&d| d == b'.').count() >= 2 && !arg.ends_with(b"."))
        }
    }
}
