//! Known scanners and exploit tools: user agents (sqlmap, nikto, nuclei...)
//! and probe paths that no API serves (`/.env`, `/.git/config`,
//! `/wp-login.php`, `/actuator/env`). Recon, not exploitation: a probe path
//! alone only logs at the default sensitivity; a tool's user agent blocks.

use palisade_core::{Phase, RequestPart, Severity};

use super::{Hit, Words};

static AGENTS: Words = Words::new(&[
    "sqlmap",
    "nikto",
    "nmap",
    "masscan",
    "zgrab",
    "nuclei",
    "acunetix",
    "netsparker",
    "invicti",
    "wpscan",
    "dirbuster",
    "gobuster",
    "feroxbuster",
    "ffuf",
    "wfuzz",
    "havij",
    "w3af",
    "arachni",
    "skipfish",
    "openvas",
    "nessus",
    "jaeles",
    "commix",
    "fimap",
    "whatweb",
    "zmeu",
    "morfeus",
    "struts-pwn",
    "burpcollaborator",
    "appscan",
    "webinspect",
    "qualys",
    "paros",
    "vega/",
    "brutus",
    "hydra",
    "dirb/",
    "bsqlbf",
    "sqlninja",
    "pangolin",
    "webshag",
    "metasploit",
    "zap/",
    "owasp zap",
    "wapiti",
    "xsser",
    "nosqlmap",
    "tplmap",
    "dotdotpwn",
    "interactsh",
    "(hydra)",
    "l9explore",
    "l9tcpid",
    "censysinspect",
    "httpx - open-source",
    "fuzz faster u fool",
    "mozilla/5.0 sf/",
    "crimscanner",
    "w00t",
]);

static PROBES: Words = Words::new(&[
    "/.env",
    "/.git/",
    "/.git",
    "/.svn/",
    "/.hg/",
    "/.aws/",
    "/.ssh/",
    "/.htpasswd",
    "/.htaccess",
    "/.ds_store",
    "/wp-login.php",
    "/wp-admin",
    "/wp-config",
    "/xmlrpc.php",
    "/phpmyadmin",
    "/pma/",
    "/myadmin",
    "/server-status",
    "/server-info",
    "/actuator/env",
    "/actuator/heapdump",
    "/actuator/gateway",
    "/cgi-bin/",
    "/.well-known/security.txt.bak",
    "/config.php",
    "/configuration.php",
    "/web.config",
    "/backup.sql",
    "/dump.sql",
    "/database.sql",
    "/.bash_history",
    "/id_rsa",
    "/etc/passwd",
    "/boaform/",
    "/hnap1",
    "/shell.php",
    "/cmd.php",
    "/c99.php",
    "/r57.php",
    "/vendor/phpunit/",
    "/solr/admin",
    "/jmx-console",
    "/manager/html",
    "/console/login",
    "/owa/auth",
    "/.vscode/",
    "/.idea/",
    "/druid/index.html",
    "/telescope/requests",
    "/_profiler",
    "/elmah.axd",
    "/trace.axd",
    "/.npmrc",
    "/.dockerenv",
    "/docker-compose.yml",
]);

/// Header names every client sends: no tool announces itself through them.
fn standard_header(n: &str) -> bool {
    const PREFIXES: &[&str] = &["accept", "content-", "sec-", "x-forwarded-", "if-"];
    const NAMES: &[&str] = &[
        "host",
        "authorization",
        "connection",
        "cookie",
        "referer",
        "origin",
        "cache-control",
        "pragma",
        "x-request-id",
        "idempotency-key",
        "traceparent",
        "tracestate",
        "upgrade-insecure-requests",
        "dnt",
        "te",
        "priority",
    ];
    PREFIXES
        .iter()
        .any(|p| n.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p)))
        || NAMES.iter().any(|m| n.eq_ignore_ascii_case(m))
}

pub fn detect(req: &RequestPart, head: bool, out: &mut Vec<(String, Hit)>) {
    if !head {
        return;
    }
    for (n, v) in &req.headers {
        if n.eq_ignore_ascii_case("user-agent") {
            if let Some((i, at)) = AGENTS.find(v) {
                let tool = AGENTS
                    .get()
                    .and_then(|_| AGENT_NAMES.get(i))
                    .copied()
                    .unwrap_or("scanner");
                out.push((
                    "header.user-agent".into(),
                    Hit::new(
                        "scanner",
                        "scanner.user_agent",
                        Severity::High,
                        100,
                        format!("user agent of a known attack tool ({tool})"),
                    )
                    .phase(Phase::Recon)
                    .near(v, at),
                ));
            }
        } else if n.len() > 3
            && !standard_header(n)
            && let Some((_, at)) = AGENTS.find(n)
        {
            // tools that announce themselves in a header name (x-scanner, acunetix-aspect)
            out.push((
                format!("header.{}", n.to_ascii_lowercase()),
                Hit::new(
                    "scanner",
                    "scanner.header",
                    Severity::High,
                    90,
                    "header of a known attack tool",
                )
                .phase(Phase::Recon)
                .near(n, at),
            ));
        }
    }
    let path = req.path().to_ascii_lowercase();
    // a hidden file or directory (`/.env`, `/.cursor/mcp.json`): no API serves one
    if let Some(at) = hidden_segment(&path) {
        out.push((
            "path".into(),
            Hit::new(
                "scanner",
                "scanner.hidden_file",
                Severity::High,
                95,
                "request for a hidden file or directory",
            )
            .phase(Phase::Recon)
            .near(&path, at),
        ));
        return;
    }
    if let Some((_, at)) = PROBES.find(&path) {
        // `/.git` must be a segment of its own; `/.github-pages` is not a probe
        let matched_end = PROBES
            .get()
            .and_then(|ac| ac.find(&path))
            .map_or(path.len(), |m| m.end());
        let next = path.as_bytes().get(matched_end).copied();
        if matches!(next, None | Some(b'/' | b'?' | b'.' | b'_' | b'-' | b'~'))
            || path.as_bytes().get(matched_end - 1) == Some(&b'/')
        {
            let sev = if path.contains("/.env")
                || path.contains("/.git")
                || path.contains("/.aws")
                || path.contains("/.ssh")
                || path.contains("passwd")
            {
                Severity::High
            } else {
                Severity::Medium
            };
            out.push((
                "path".into(),
                Hit::new(
                    "scanner",
                    "scanner.probe_path",
                    sev,
                    100,
                    "path that scanners probe",
                )
                .phase(Phase::Recon)
                .near(&path, at),
            ));
        }
    }
}

/// The offset of the first path segment that names a hidden file (`.x`,
/// not `.well-known`, `.` or `..`).
fn hidden_segment(path: &str) -> Option<usize> {
    let mut off = 0;
    for seg in path.split('/') {
        if seg.len() > 1 && seg.starts_with('.') && !seg.starts_with("..") && seg != ".well-known" {
            return Some(off);
        }
        off += seg.len() + 1;
    }
    None
}

/// Tool names, in the order of `AGENTS`, for messages.
static AGENT_NAMES: &[&str] = &[
    "sqlmap",
    "nikto",
    "nmap",
    "masscan",
    "zgrab",
    "nuclei",
    "acunetix",
    "netsparker",
    "invicti",
    "wpscan",
    "dirbuster",
    "gobuster",
    "feroxbuster",
    "ffuf",
    "wfuzz",
    "havij",
    "w3af",
    "arachni",
    "skipfish",
    "openvas",
    "nessus",
    "jaeles",
    "commix",
    "fimap",
    "whatweb",
    "zmeu",
    "morfeus",
    "struts-pwn",
    "burp collaborator",
    "appscan",
    "webinspect",
    "qualys",
    "paros",
    "vega",
    "brutus",
    "hydra",
    "dirb",
    "bsqlbf",
    "sqlninja",
    "pangolin",
    "webshag",
    "metasploit",
    "zap",
    "owasp zap",
    "wapiti",
    "xsser",
    "nosqlmap",
    "tplmap",
    "dotdotpwn",
    "interactsh",
    "hydra",
    "leakix",
    "leakix",
    "censys",
    "httpx",
    "ffuf",
    "sf",
    "crimscanner",
    "w00t",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn run(path: &str, ua: &str) -> Vec<String> {
        let req = RequestPart {
            target: path.into(),
            headers: vec![("User-Agent".into(), ua.into())],
            ..Default::default()
        };
        let mut out = Vec::new();
        detect(&req, true, &mut out);
        out.into_iter()
            .map(|(_, h)| h.rule_id.to_string())
            .collect()
    }

    #[test]
    fn agents_and_probes() {
        assert_eq!(
            run("/", "sqlmap/1.7.2#stable (https://sqlmap.org)"),
            ["scanner.user_agent"]
        );
        assert_eq!(run("/.git/config", "curl/8"), ["scanner.hidden_file"]);
        assert_eq!(
            run("/app/.claude/settings.local.json", "Mozilla/5.0"),
            ["scanner.hidden_file"]
        );
        assert_eq!(run("/wp-login.php", "Mozilla/5.0"), ["scanner.probe_path"]);
        assert!(run("/.well-known/openid-configuration", "Mozilla/5.0").is_empty());
        assert!(run("/v1/charges", "Mozilla/5.0 (Windows NT 10.0)").is_empty());
        assert!(run("/v1/files/report.final.pdf", "okhttp/4.12").is_empty());
        assert_eq!(AGENTS.1.len(), AGENT_NAMES.len());
    }
}
