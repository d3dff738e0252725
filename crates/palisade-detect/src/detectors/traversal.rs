//! Path traversal and file inclusion: `../` sequences (in any encoding the
//! decoder peeled, with `\` and `;` variants), sensitive system files, PHP
//! and Java stream wrappers, remote inclusion of scripts by URL, and NUL
//! bytes cutting an extension.

use palisade_core::Severity;

use super::{Hit, Lazy, Subject, Words};

static FILES: Words = Words::new(&[
    "/etc/passwd",
    "/etc/shadow",
    "/etc/group",
    "/etc/hosts",
    "/etc/issue",
    "/etc/hostname",
    "/etc/sudoers",
    "/etc/crontab",
    "/etc/nginx/",
    "/etc/apache2/",
    "/etc/httpd/",
    "/etc/mysql/",
    "/etc/ssh/",
    "/proc/self/",
    "/proc/sys/",
    "/sys/class/",
    "/sys/kernel/",
    "/sys/class",
    "/etc/services",
    "/etc/resolv.conf",
    "/proc/version",
    "/proc/1/",
    "/var/log/",
    "/var/www/",
    "/root/",
    "/.ssh/",
    "id_rsa",
    "authorized_keys",
    "/.bash_history",
    "/.aws/credentials",
    "/.env",
    "/.git/",
    "/.htpasswd",
    "/.htaccess",
    "web-inf/web.xml",
    "web-inf/classes",
    "meta-inf/",
    "c:\\windows\\",
    "c:/windows/",
    "\\windows\\system32",
    "/windows/system32",
    "win.ini",
    "boot.ini",
    "system.ini",
    "\\inetpub\\",
    "/inetpub/",
    "web.config",
    "wp-config.php",
    "/etc/passwd\0",
    "ntuser.dat",
    "\\c$\\",
    "\\admin$\\",
    "/c$/",
    "etc/passwd",
    "etc/shadow",
]);

/// Indices into [`FILES`] of Unix paths (slash-separated), the ones that
/// survive removing quotes, brackets and backslashes.
const FILE_NAMES_UNIX: std::ops::Range<usize> = 0..34;

static WRAPPERS: Lazy = Lazy::new(
    r"^\s*(php|phar|zip|zlib|compress\.zlib|compress\.bzip2|expect|glob|data|file|jar|netdoc|ogg|rar|ssh2\.\w+|local_file)://|^\s*php://|\bphp://(filter|input|fd|memory|temp|stdin)|^\s*(jar|url):\s*(file|https?|ftp):",
);
static RFI: Lazy = Lazy::new(
    r"^\s*(https?|ftps?)://[^?#\s]*\.(php|txt|jsp|asp|aspx|pl|py|sh|cgi|inc)\?*\s*$|^\s*(https?|ftps?)://[^\s]+\?+\s*$|^\s*(https?|ftps?)://(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:.]+\])[/:]",
);
/// A parameter whose value is an absolute path into the server's system,
/// log or web-server directories (local file inclusion without `../`):
/// `/var/log/apache2/access.log`, `/.bashrc`, `c:\\xampp\\apache\\logs`.
static SYSTEM_PATH: Lazy = Lazy::new(concat!(
    r"^\s*/+(etc|proc|sys|boot|root|dev/(tcp|udp|fd|shm|mem|kmem)|private/(etc|var)|home/[\w.-]+/\.|\.[\w-]+)(/|\\|$)",
    // other system trees, with at least one more segment: /usr/local/php/php.ini
    r"|^\s*/+(var|usr|opt|srv|mnt|tmp|apache\d*|xampp|lampp|php\d*|volumes/[\w.-]+|library/webserver)[/\\]+[\w.-]+",
    r"|^\s*[a-z]:[\\/]*(windows|winnt|system32|boot\.ini|inetpub|program files|apache\d*|xampp|appserv|wamp|php\d*|mysql|documents and settings)([\\/]|$)",
));
/// The whole value names a configuration file of the server or the app.
static CONFIG_FILE: Lazy = Lazy::new(
    r"^\s*(config\.inc\.php|wp-config\.php|configuration\.php|localsettings\.php|settings\.php|web\.config|\.htaccess|\.htpasswd|\.env|php\.ini|my\.cnf|httpd\.conf|nginx\.conf|applicationhost\.config|\.bash_history|\.bashrc|id_rsa)\s*$",
);
/// A script fetched from a bare address: the shape of an inclusion payload.
static RFI_SCRIPT_AT_IP: Lazy = Lazy::new(
    r"^\s*(https?|ftps?)://(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:.]+\])(:\d+)?/[^?#\s]*\.(php|txt|jsp|asp|aspx|pl|py|sh|cgi|inc)\b",
);

pub fn detect(s: &Subject<'_>) -> Option<Hit> {
    let d = s.decoded;
    if !d
        .bytes()
        .any(|b| matches!(b, b'.' | b'/' | b'\\' | b':' | b'\0'))
    {
        return None;
    }
    // `0x2e0x2e0x2f`: hex spelled out as text; `..2f..2f`: percent signs
    // stripped by a filter that decodes nothing
    let unhexed;
    let lower = if s.lower.contains("0x2") || s.lower.contains("0x5c") {
        unhexed = s
            .lower
            .replace("0x2e", ".")
            .replace("0x2f", "/")
            .replace("0x5c", "\\");
        unhexed.as_str()
    } else if s.lower.contains("..2f") || s.lower.contains("..5c") {
        unhexed = s.lower.replace("2f", "/").replace("5c", "\\");
        unhexed.as_str()
    } else {
        s.lower
    };
    // `..` then a separator (or `;` as in `..;/`), counted
    let ups = traversals(lower);
    // shell globbing and quoting hide a file name from a plain search:
    // `/etc/pas[s]wd`, `/e't'c/pa"ss"wd`, `/etc/pa\sswd`
    let file = FILES.find(lower).or_else(|| {
        if !lower
            .bytes()
            .any(|b| matches!(b, b'[' | b']' | b'\'' | b'"' | b'\\'))
            || !lower.contains('/')
        {
            return None;
        }
        let unquoted = lower.replace(['[', ']', '\'', '"'], "").replace("\\", "");
        FILES
            .find(&unquoted)
            .filter(|(i, _)| FILE_NAMES_UNIX.contains(i))
    });
    if let Some((_, at)) = file {
        let sev = if ups > 0 || s.part != crate::extract::Part::Path {
            Severity::Critical
        } else {
            Severity::High
        };
        return Some(
            Hit::new(
                "traversal",
                "traversal.file",
                sev,
                95,
                "access to a sensitive file",
            )
            .near(lower, at),
        );
    }
    if ups >= 2
        || (ups >= 1
            && (s.layers.overlong
                || s.layers.percent >= 2
                || lower.starts_with("../")
                || lower.starts_with("..\\")))
    {
        let at = lower.find("..").unwrap_or(0);
        return Some(
            Hit::new(
                "traversal",
                "traversal.dotdot",
                Severity::Critical,
                90,
                "path traversal",
            )
            .near(lower, at),
        );
    }
    if ups == 1 {
        // one step up in a parameter that is not prose is an attempt; in text it may be an ellipsis
        let (sev, conf) = if s.part != crate::extract::Part::Path && !lower.trim().contains(' ') {
            (Severity::Critical, 80)
        } else {
            (Severity::Medium, 70)
        };
        return Some(
            Hit::new("traversal", "traversal.dotdot", sev, conf, "path traversal")
                .near(lower, lower.find("..").unwrap_or(0)),
        );
    }
    if s.part != crate::extract::Part::Path
        && let Some(at) = SYSTEM_PATH.find(lower).or_else(|| CONFIG_FILE.find(lower))
    {
        return Some(
            Hit::new(
                "traversal",
                "traversal.file",
                Severity::Critical,
                80,
                "a system or configuration file path as a value",
            )
            .near(lower, at),
        );
    }
    if s.part != crate::extract::Part::Path && lower.contains("://") {
        if let Some(at) = WRAPPERS.find(lower) {
            return Some(
                Hit::new(
                    "traversal",
                    "traversal.wrapper",
                    Severity::Critical,
                    90,
                    "file inclusion through a stream wrapper",
                )
                .near(lower, at),
            );
        }
        if let Some(at) = RFI.find(lower) {
            let conf = if RFI_SCRIPT_AT_IP.find(lower).is_some() {
                100
            } else {
                80
            };
            return Some(
                Hit::new(
                    "traversal",
                    "traversal.rfi",
                    Severity::High,
                    conf,
                    "remote file inclusion",
                )
                .near(lower, at),
            );
        }
    }
    if s.layers.null_byte && d.contains('.') && !s.part.is_body() {
        return Some(Hit::new(
            "traversal",
            "traversal.nul",
            Severity::High,
            85,
            "NUL byte cutting a file name",
        ));
    }
    None
}

/// The number of `..` path steps: `../`, `..\`, `..;/`, `/..` at the end.
pub fn traversals(lower: &str) -> usize {
    let b = lower.as_bytes();
    let mut n = 0;
    let mut i = 0;
    while let Some(p) = memchr::memmem::find(b.get(i..).unwrap_or(&[]), b"..") {
        let at = i + p;
        let before = if at == 0 {
            None
        } else {
            b.get(at - 1).copied()
        };
        let sep_before = matches!(
            before,
            None | Some(b'/' | b'\\' | b'=' | b' ' | b'"' | b'\'')
        );
        let mut j = at + 2;
        while b.get(j) == Some(&b'.') {
            j += 1;
        }
        let after = b.get(j).copied();
        let sep_after =
            matches!(after, Some(b'/' | b'\\' | b';')) || (after.is_none() && j == at + 2);
        if sep_before && sep_after && !(before.is_none() && after.is_none()) {
            n += 1;
        }
        i = j;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::test_util::run;

    #[test]
    fn shapes() {
        for a in [
            "../../../../etc/passwd",
            "%252e%252e%252fwin.ini",
            "..%c0%af..%c0%afetc",
            "php://filter/convert.base64-encode/resource=index",
            "....//....//etc/hosts",
            "http://203.0.113.9/shell.txt?",
            "..\\..\\boot.ini",
            "/var/log/apache2/access.log",
            "/apache2/logs/error.log",
            "/.bashrc",
            "c:\\xampp\\apache\\logs\\access.log",
            "config.inc.php",
            "/boot/grub/grub.conf",
            "/usr/local/php4/lib/php.ini",
            "c:WINDOWS/system32/",
            "..2f..2fetc2fpasswd",
        ] {
            assert!(run(detect, a).is_some(), "{a}");
        }
        for b in [
            "1.2.3",
            "see ... later",
            "https://merchant.example/return",
            "v2..v3",
            "file.pdf",
            "a/b/c",
            "/v1/charges/ch_1",
            "/etc is where config lives",
            "/variance/report",
            "my config.inc.php file is missing",
            "c:\\users\\ana\\invoice.pdf",
            "/exports/2026/report.csv",
            "/usr",
        ] {
            assert!(run(detect, b).is_none(), "{b}");
        }
    }
}
