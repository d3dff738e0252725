//! The route table: which upstream serves a request, by host and path prefix.
//!
//! Matching is by host first (exact, then `*.suffix` wildcards, then routes
//! without a host), then by the longest path prefix on a segment boundary.
//! The table is immutable once built; a reload builds a new one.

use http::Uri;
use http::uri::{Authority, Scheme};

use crate::config::{ConfigIssue, Mode, RouteConfig};

/// A validated route.
#[derive(Debug, Clone)]
pub struct Route {
    pub name: String,
    host: Option<HostMatch>,
    prefix: String,
    pub scheme: Scheme,
    pub authority: Authority,
    /// Path prefix of the upstream URL (`http://u/base` forwards `/x` to `/base/x`).
    pub base_path: String,
    pub mode: Mode,
    pub preserve_host: bool,
}

#[derive(Debug, Clone)]
enum HostMatch {
    Exact(String),
    Suffix(String),
}

impl Route {
    fn host_rank(&self, host: Option<&str>) -> Option<u8> {
        match (&self.host, host) {
            (None, _) => Some(0),
            (Some(HostMatch::Exact(h)), Some(req)) if h.eq_ignore_ascii_case(req) => Some(2),
            (Some(HostMatch::Suffix(s)), Some(req))
                if req.len() > s.len()
                    && req
                        .get(req.len() - s.len()..)
                        .is_some_and(|tail| tail.eq_ignore_ascii_case(s))
                    && req.as_bytes()[req.len() - s.len() - 1] == b'.' =>
            {
                Some(1)
            }
            _ => None,
        }
    }

    fn path_matches(&self, path: &str) -> bool {
        let p = self.prefix.trim_end_matches('/');
        if p.is_empty() {
            return true;
        }
        path == p || (path.starts_with(p) && path.as_bytes().get(p.len()) == Some(&b'/'))
    }

    /// The upstream URI for a request's path and query.
    pub fn upstream_uri(&self, path_and_query: &str) -> Result<Uri, http::Error> {
        let pq = if self.base_path.is_empty() || self.base_path == "/" {
            path_and_query.to_string()
        } else {
            format!("{}{}", self.base_path.trim_end_matches('/'), path_and_query)
        };
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(pq)
            .build()
    }
}

/// All routes.
#[derive(Debug, Clone, Default)]
pub struct Routes {
    routes: Vec<Route>,
}

impl Routes {
    /// Validates route configs, collecting every problem.
    pub fn build(
        cfgs: &[RouteConfig],
        default_mode: Mode,
        issues: &mut Vec<ConfigIssue>,
    ) -> Routes {
        let mut routes = Vec::new();
        if cfgs.is_empty() {
            issues.push(ConfigIssue {
                field: "route".into(),
                message: "no route is configured".into(),
                hint: "add a [[route]] with `upstream = \"http://127.0.0.1:9000\"`, or pass --upstream".into(),
            });
        }
        for (i, c) in cfgs.iter().enumerate() {
            let field = |f: &str| format!("route[{i}].{f}");
            let uri: Option<Uri> = match c.upstream.parse::<Uri>() {
                Ok(u) if u.scheme().is_some() && u.authority().is_some() => Some(u),
                _ => {
                    issues.push(ConfigIssue {
                        field: field("upstream"),
                        message: format!("`{}` is not an absolute URL", c.upstream),
                        hint: "write it like \"http://127.0.0.1:9000\"".into(),
                    });
                    None
                }
            };
            if let Some(u) = &uri {
                let s = u.scheme_str().unwrap_or("");
                if s != "http" && s != "https" {
                    issues.push(ConfigIssue {
                        field: field("upstream"),
                        message: format!("scheme `{s}` is not supported"),
                        hint: "use http:// or https://".into(),
                    });
                }
            }
            if !c.path_prefix.starts_with('/') {
                issues.push(ConfigIssue {
                    field: field("path_prefix"),
                    message: format!("`{}` does not start with `/`", c.path_prefix),
                    hint: "write it like \"/api\"".into(),
                });
            }
            let host = match c.host.as_deref() {
                None | Some("") | Some("*") => None,
                Some(h) if h.starts_with("*.") => Some(HostMatch::Suffix(h[2..].to_string())),
                Some(h) if h.contains(['/', ':', ' ']) => {
                    issues.push(ConfigIssue {
                        field: field("host"),
                        message: format!("`{h}` is not a host name"),
                        hint:
                            "write the bare name, like \"api.example.com\", without scheme or port"
                                .into(),
                    });
                    None
                }
                Some(h) => Some(HostMatch::Exact(h.to_string())),
            };
            let Some(u) = uri else { continue };
            let (Some(scheme), Some(authority)) = (u.scheme().cloned(), u.authority().cloned())
            else {
                continue;
            };
            routes.push(Route {
                name: c.name.clone().unwrap_or_else(|| {
                    format!("{}{}", c.host.as_deref().unwrap_or("*"), c.path_prefix)
                }),
                host,
                prefix: c.path_prefix.clone(),
                scheme,
                authority,
                base_path: u.path().to_string(),
                mode: c.mode.unwrap_or(default_mode),
                preserve_host: c.preserve_host,
            });
        }
        Routes { routes }
    }

    /// The best route for a host (without port) and path.
    pub fn find(&self, host: Option<&str>, path: &str) -> Option<&Route> {
        self.routes
            .iter()
            .filter_map(|r| {
                let rank = r.host_rank(host)?;
                r.path_matches(path)
                    .then_some((rank, r.prefix.trim_end_matches('/').len(), r))
            })
            .max_by_key(|(rank, len, _)| (*rank, *len))
            .map(|(_, _, r)| r)
    }

    pub fn len(&self) -> usize {
        self.routes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Route> {
        self.routes.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(host: Option<&str>, prefix: &str, upstream: &str) -> RouteConfig {
        RouteConfig {
            name: None,
            host: host.map(str::to_string),
            path_prefix: prefix.into(),
            upstream: upstream.into(),
            mode: None,
            preserve_host: true,
        }
    }

    #[test]
    fn host_then_longest_prefix() {
        let mut issues = Vec::new();
        let routes = Routes::build(
            &[
                route(None, "/", "http://a:1"),
                route(None, "/api", "http://b:1"),
                route(Some("pay.example"), "/", "http://c:1"),
                route(Some("*.example"), "/api", "http://d:1/base"),
            ],
            Mode::Block,
            &mut issues,
        );
        assert!(issues.is_empty(), "{issues:?}");
        let up = |h: Option<&str>, p: &str| routes.find(h, p).unwrap().authority.to_string();
        assert_eq!(up(None, "/x"), "a:1");
        assert_eq!(up(None, "/api/x"), "b:1");
        assert_eq!(up(None, "/apix"), "a:1");
        assert_eq!(up(Some("pay.example"), "/api/x"), "c:1");
        assert_eq!(up(Some("web.example"), "/api/x"), "d:1");
        assert_eq!(up(Some("web.example"), "/other"), "a:1");
        let r = routes.find(Some("web.example"), "/api/x").unwrap();
        assert_eq!(
            r.upstream_uri("/api/x?q=1").unwrap().to_string(),
            "http://d:1/base/api/x?q=1"
        );
    }

    #[test]
    fn every_bad_route_is_reported() {
        let mut issues = Vec::new();
        Routes::build(
            &[
                route(Some("http://x"), "api", "localhost:9000"),
                route(None, "/", "ftp://x"),
                route(None, "/ws", "ws://upstream:443"),
                route(None, "/tls", "https://upstream:443"),
            ],
            Mode::Block,
            &mut issues,
        );
        let fields: Vec<_> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "route[0].upstream",
                "route[0].path_prefix",
                "route[0].host",
                "route[1].upstream",
                "route[2].upstream"
            ]
        );
        // ws:// is refused with the schemes that work; https:// (route 3) is fine
        assert!(issues[4].message.contains("ws"), "{issues:?}");
        assert!(issues[4].hint.contains("https://"), "{issues:?}");
    }
}
