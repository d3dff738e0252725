//! Drives scenarios against a target and reports what happened.
//!
//! Every simulated client has its own HTTP connection pool bound to its own
//! source address in 127.0.0.0/8 (when the target is on IPv4 loopback), so a
//! gateway sees distinct peers exactly as it would from the Internet. Runs are
//! bounded in time and count, and only ever target loopback.
//!
//! Customers are population 0; the attack campaigns (populations 1 to 4)
//! live in [`crate::attacks`]. The report has one row per population.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::json;

use crate::attacks::{self, Campaign};
use crate::world::{self, CUSTOMERS};

/// Simulator failures (not: requests that failed; those are counted).
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(
        "target `{0}` is not an http:// URL with a host and port (fix: write it like http://127.0.0.1:8080)"
    )]
    BadTarget(String),
    #[error("target `{0}` is not on loopback: the simulator only sends to 127.0.0.0/8 or ::1")]
    NotLoopback(String),
    #[error("unknown scenario `{0}` (fix: use one of {1})")]
    UnknownScenario(String, String),
}

/// What to simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// Ordinary customers browsing, ordering and paying.
    Customers,
    /// A botnet testing stolen cards with micro charges (see [`crate::attacks`]).
    CardTesting,
    /// Leaked credential pairs tried a few per IP over many IPs.
    CredentialStuffing,
    /// One logged-in scraper walking account ids (BOLA), rotating IPs.
    Enumeration,
    /// A vulnerability scanner probing paths and injections.
    Scanner,
    /// Customers plus all four attack campaigns, attackers starting staggered.
    Mixed,
}

impl Scenario {
    pub const ALL: &'static [&'static str] = &[
        "customers",
        "card-testing",
        "credential-stuffing",
        "enumeration",
        "scanner",
        "mixed",
    ];

    pub fn parse(s: &str) -> Result<Scenario, SimError> {
        match s {
            "customers" => Ok(Scenario::Customers),
            "card-testing" => Ok(Scenario::CardTesting),
            "credential-stuffing" => Ok(Scenario::CredentialStuffing),
            "enumeration" => Ok(Scenario::Enumeration),
            "scanner" => Ok(Scenario::Scanner),
            "mixed" => Ok(Scenario::Mixed),
            other => Err(SimError::UnknownScenario(
                other.into(),
                Self::ALL.join(", "),
            )),
        }
    }
}

/// How to run.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub target: Uri,
    /// Stop after this long.
    pub duration: Duration,
    /// Stop after this many requests in all (a bound for tests).
    pub max_requests: u64,
    /// Requests per second over all customers.
    pub customer_rate: f64,
    /// Customers browsing at once.
    pub concurrent_customers: u32,
    pub seed: u64,
    /// Requests per second of each attack campaign.
    pub attack_rate: f64,
    /// In `mixed`: when the first attack campaign starts.
    pub attack_start: Duration,
    /// In `mixed`: the gap between the starts of successive campaigns.
    pub attack_stagger: Duration,
}

impl SimOptions {
    pub fn new(target: &str) -> Result<Self, SimError> {
        let uri: Uri = target
            .parse()
            .map_err(|_| SimError::BadTarget(target.into()))?;
        if uri.scheme_str() != Some("http") || uri.host().is_none() {
            return Err(SimError::BadTarget(target.into()));
        }
        let host = uri.host().unwrap_or("").trim_matches(['[', ']']);
        let loopback = host == "localhost"
            || host
                .parse::<IpAddr>()
                .map(|ip| ip.is_loopback())
                .unwrap_or(false);
        if !loopback {
            return Err(SimError::NotLoopback(target.into()));
        }
        Ok(Self {
            target: uri,
            duration: Duration::from_secs(30),
            max_requests: u64::MAX,
            customer_rate: 20.0,
            concurrent_customers: 20,
            seed: 7,
            attack_rate: 10.0,
            attack_start: Duration::from_secs(3),
            attack_stagger: Duration::from_secs(2),
        })
    }
}

/// Counters of one population (customers, or one attack campaign).
#[derive(Debug, Default, Serialize)]
pub struct CampaignReport {
    pub name: String,
    pub requests: u64,
    /// Answered by the upstream (not stopped by the gateway).
    pub reached_upstream: u64,
    /// Stopped by the gateway (403 or 429 from the gateway).
    pub blocked: u64,
    /// Transport errors and timeouts.
    pub errors: u64,
    /// Distinct clients (customers or bots) that were stopped at least once.
    pub clients_blocked: u64,
    pub clients: u64,
    /// Attacks only: abuses that worked (a stolen card charged, a login
    /// taken over, another customer's account read, a probe answered 2xx).
    pub abuses_succeeded: u64,
    /// How many of this population's requests were sent before the first
    /// one the gateway stopped; `None` when none was stopped.
    pub requests_until_first_block: Option<u64>,
    /// Customers only: customers stopped at least once (false positives);
    /// `None` for attack campaigns.
    pub falsely_blocked: Option<u64>,
}

impl CampaignReport {
    /// Whether this row is an attack campaign (not the customers).
    pub fn is_attack(&self) -> bool {
        self.falsely_blocked.is_none()
    }
}

/// The outcome of a run.
#[derive(Debug, Default, Serialize)]
pub struct SimReport {
    pub elapsed_ms: u64,
    pub campaigns: Vec<CampaignReport>,
}

impl SimReport {
    /// The row of one population by name (`customers`, `card-testing`, ...).
    pub fn campaign(&self, name: &str) -> Option<&CampaignReport> {
        self.campaigns.iter().find(|c| c.name == name)
    }
}

impl std::fmt::Display for SimReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{:<20} {:>8} {:>8} {:>8} {:>6} {:>8} {:>11} {:>15} {:>10}",
            "population",
            "requests",
            "reached",
            "blocked",
            "errors",
            "abuses",
            "first block",
            "blocked/clients",
            "false pos."
        )?;
        for c in &self.campaigns {
            let abuses = if c.is_attack() {
                c.abuses_succeeded.to_string()
            } else {
                "-".into()
            };
            let first = c
                .requests_until_first_block
                .map_or_else(|| "never".to_string(), |n| n.to_string());
            let falsely = c
                .falsely_blocked
                .map_or_else(|| "-".to_string(), |n| n.to_string());
            writeln!(
                f,
                "{:<20} {:>8} {:>8} {:>8} {:>6} {:>8} {:>11} {:>15} {:>10}",
                c.name,
                c.requests,
                c.reached_upstream,
                c.blocked,
                c.errors,
                abuses,
                first,
                format!("{}/{}", c.clients_blocked, c.clients),
                falsely
            )?;
        }
        write!(f, "elapsed {:.1}s", self.elapsed_ms as f64 / 1000.0)
    }
}

pub(crate) struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) reached: AtomicU64,
    pub(crate) blocked: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) clients_blocked: AtomicU64,
    pub(crate) clients: AtomicU64,
    pub(crate) abuses: AtomicU64,
    /// Sequence number of the first stopped request (`u64::MAX`: none).
    pub(crate) first_block: AtomicU64,
}

impl Default for Counters {
    fn default() -> Self {
        Self {
            requests: AtomicU64::new(0),
            reached: AtomicU64::new(0),
            blocked: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            clients_blocked: AtomicU64::new(0),
            clients: AtomicU64::new(0),
            abuses: AtomicU64::new(0),
            first_block: AtomicU64::new(u64::MAX),
        }
    }
}

impl Counters {
    /// Counts a request about to be sent; returns its sequence number.
    pub(crate) fn sent(&self) -> u64 {
        self.requests.fetch_add(1, Ordering::Relaxed)
    }

    /// Counts a stopped request with sequence number `seq`.
    pub(crate) fn stopped(&self, seq: u64) {
        self.blocked.fetch_add(1, Ordering::Relaxed);
        self.first_block.fetch_min(seq, Ordering::Relaxed);
    }

    fn report(&self, name: &str, customers: bool) -> CampaignReport {
        let first = self.first_block.load(Ordering::Relaxed);
        let clients_blocked = self.clients_blocked.load(Ordering::Relaxed);
        CampaignReport {
            name: name.into(),
            requests: self.requests.load(Ordering::Relaxed),
            reached_upstream: self.reached.load(Ordering::Relaxed),
            blocked: self.blocked.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            clients_blocked,
            clients: self.clients.load(Ordering::Relaxed),
            abuses_succeeded: self.abuses.load(Ordering::Relaxed),
            requests_until_first_block: (first != u64::MAX).then_some(first),
            falsely_blocked: customers.then_some(clients_blocked),
        }
    }
}

/// A response as the simulator sees it.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
    /// The gateway stopped it (403 `blocked` or 429 `rate_limited`).
    pub stopped: bool,
}

/// One simulated client: its own source address and connection pool.
pub struct SimClient {
    http: Client<HttpConnector, Full<Bytes>>,
    target: Uri,
    user_agent: String,
    token: Option<String>,
    extra_headers: Vec<(String, String)>,
}

impl std::fmt::Debug for SimClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimClient")
            .field("target", &self.target)
            .finish()
    }
}

impl SimClient {
    /// A client bound to `source` (when the target is IPv4 loopback).
    pub fn new(target: &Uri, source: Option<Ipv4Addr>, user_agent: &str) -> Self {
        let mut conn = HttpConnector::new();
        conn.set_connect_timeout(Some(Duration::from_secs(3)));
        let v4_loopback = target
            .host()
            .and_then(|h| h.parse::<Ipv4Addr>().ok())
            .map(|ip| ip.is_loopback())
            .unwrap_or(false);
        if let (Some(src), true) = (source, v4_loopback) {
            conn.set_local_address(Some(IpAddr::V4(src)));
        }
        Self {
            http: Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(10))
                .build(conn),
            target: target.clone(),
            user_agent: user_agent.into(),
            token: None,
            extra_headers: Vec::new(),
        }
    }

    pub fn set_token(&mut self, token: Option<String>) {
        self.token = token;
    }

    pub fn add_header(&mut self, name: &str, value: &str) {
        self.extra_headers.push((name.into(), value.into()));
    }

    /// Sends one request; `json` bodies get the JSON content type.
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        json: Option<serde_json::Value>,
    ) -> Result<Answer, String> {
        let uri = format!(
            "{}://{}{}",
            self.target.scheme_str().unwrap_or("http"),
            self.target
                .authority()
                .map(|a| a.as_str())
                .unwrap_or("127.0.0.1"),
            path_and_query
        );
        let mut b = Request::builder()
            .method(method)
            .uri(uri)
            .header("user-agent", &self.user_agent)
            .header("accept", "application/json");
        if let Some(t) = &self.token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        for (n, v) in &self.extra_headers {
            b = b.header(n, v);
        }
        let body = match json {
            Some(v) => {
                b = b.header("content-type", "application/json");
                Full::new(Bytes::from(v.to_string()))
            }
            None => Full::new(Bytes::new()),
        };
        let req = b.body(body).map_err(|e| e.to_string())?;
        let resp = tokio::time::timeout(Duration::from_secs(10), self.http.request(req))
            .await
            .map_err(|_| "timeout".to_string())?
            .map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let body = tokio::time::timeout(Duration::from_secs(10), resp.into_body().collect())
            .await
            .map_err(|_| "timeout".to_string())?
            .map_err(|e| e.to_string())?
            .to_bytes();
        let stopped = (status == 403 && body.starts_with(b"{\"error\":\"blocked\""))
            || (status == 429 && body.starts_with(b"{\"error\":\"rate_limited\""))
            || (status == 403
                && serde_json::from_slice::<serde_json::Value>(&body)
                    .map(|v| v["error"] == "blocked")
                    .unwrap_or(false));
        Ok(Answer {
            status,
            body,
            stopped,
        })
    }
}

/// The source address of simulated client `n` in a population `pop`
/// (distinct /24s per population: 127.(10 + pop).x.y).
pub fn source_addr(pop: u8, n: u32) -> Ipv4Addr {
    Ipv4Addr::new(
        127,
        10u8.saturating_add(pop),
        ((n / 250) % 250) as u8,
        (n % 250 + 1) as u8,
    )
}

pub(crate) struct Budget {
    pub(crate) deadline: Instant,
    left: AtomicU64,
}

impl Budget {
    /// Takes one request from the budget; false once time or count is spent.
    pub(crate) fn take(&self) -> bool {
        Instant::now() < self.deadline
            && self
                .left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
    }
}

/// Runs a scenario until its duration or request budget is spent.
pub async fn run(scenario: Scenario, opts: &SimOptions) -> SimReport {
    let start = Instant::now();
    let budget = Arc::new(Budget {
        deadline: start + opts.duration,
        left: AtomicU64::new(opts.max_requests),
    });
    let mut tasks = Vec::new();
    let mut rows: Vec<(&'static str, Arc<Counters>)> = Vec::new();
    if matches!(scenario, Scenario::Customers | Scenario::Mixed) {
        let customers = Arc::new(Counters::default());
        for n in 0..opts.concurrent_customers.max(1) {
            tasks.push(tokio::spawn(customer_loop(
                n,
                opts.clone(),
                budget.clone(),
                customers.clone(),
            )));
        }
        rows.push(("customers", customers));
    }
    let campaigns: &[Campaign] = match scenario {
        Scenario::Customers => &[],
        Scenario::CardTesting => &[Campaign::CardTesting],
        Scenario::CredentialStuffing => &[Campaign::CredentialStuffing],
        Scenario::Enumeration => &[Campaign::Enumeration],
        Scenario::Scanner => &[Campaign::Scanner],
        Scenario::Mixed => &Campaign::ALL,
    };
    for (i, campaign) in campaigns.iter().enumerate() {
        let delay = if scenario == Scenario::Mixed {
            opts.attack_start + opts.attack_stagger.saturating_mul(i as u32)
        } else {
            Duration::ZERO
        };
        let counters = Arc::new(Counters::default());
        tasks.extend(attacks::spawn(
            *campaign,
            delay,
            opts,
            budget.clone(),
            counters.clone(),
        ));
        rows.push((campaign.name(), counters));
    }
    for t in tasks {
        let _ = t.await;
    }
    SimReport {
        elapsed_ms: start.elapsed().as_millis() as u64,
        campaigns: rows
            .iter()
            .map(|(name, c)| c.report(name, *name == "customers"))
            .collect(),
    }
}

const UAS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "PayApp/4.2.1 (Android 15; Pixel 8)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15",
];

const SEARCHES: &[&str] = &[
    "plan",
    "select plan",
    "union pay",
    "card reader",
    "drop-in",
    "business",
    "O'Brien's order",
    "annual",
    "reader & dock",
    "50% off",
];

const NOTES: &[&str] = &[
    "Please deliver to O'Brien's office, 3rd floor",
    "Leave at reception; select the side door if closed",
    "Gift for Zoë: drop it off after 5pm",
    "Invoice to D'Angelo & Sons Ltd., VAT DE123456789",
    "Call before delivery: +49 30 1234567",
    "Union Street 5 -- back entrance",
    "",
];

/// One browsing customer: logs in, browses, reads their account, orders, pays.
async fn customer_loop(n: u32, opts: SimOptions, budget: Arc<Budget>, c: Arc<Counters>) {
    let mut rng = StdRng::seed_from_u64(opts.seed ^ u64::from(n).wrapping_mul(0x9E37_79B9));
    let pace = Duration::from_secs_f64(
        f64::from(opts.concurrent_customers.max(1)) / opts.customer_rate.max(0.1),
    );
    // Every fourth customer sits behind one office NAT (they share address
    // 0); every fifth is on a phone that changes network at each new login.
    let cust = world::customer((n * 37 + opts.seed as u32) % CUSTOMERS);
    let ua = UAS[(n as usize) % UAS.len()];
    let home = if n.is_multiple_of(4) { 0 } else { n % 40 };
    let mobile = n % 5 == 3;
    let mut client = SimClient::new(&opts.target, Some(source_addr(0, home)), ua);
    let mut logins = 0u32;
    c.clients.fetch_add(1, Ordering::Relaxed);
    let mut was_blocked = false;
    let mut step = 0u32;
    while budget.take() {
        let (method, path, body) = match step % 7 {
            0 => {
                if mobile && logins > 0 {
                    let net = 1000 + n * 50 + logins % 50;
                    client = SimClient::new(&opts.target, Some(source_addr(0, net)), ua);
                }
                client.set_token(None);
                // One login in ten starts with a typo.
                let pw = if rng.random_ratio(1, 10) {
                    format!("{}x", cust.password)
                } else {
                    cust.password.clone()
                };
                (
                    Method::POST,
                    "/api/v1/login".to_string(),
                    Some(json!({"username": cust.username, "password": pw})),
                )
            }
            1 => (Method::GET, "/api/v1/products".into(), None),
            2 => {
                let q = SEARCHES[rng.random_range(0..SEARCHES.len())];
                (Method::GET, format!("/api/v1/search?q={}", encode(q)), None)
            }
            3 => (
                Method::GET,
                format!("/api/v1/accounts/{}", cust.account_id),
                None,
            ),
            4 => (
                Method::GET,
                format!("/api/v1/products/{}", rng.random_range(1..=6)),
                None,
            ),
            5 => (
                Method::POST,
                "/api/v1/orders".into(),
                Some(json!({
                "product_id": rng.random_range(1..=6), "quantity": rng.random_range(1..=3),
                "note": NOTES[rng.random_range(0..NOTES.len())],
                "shipping": {"name": cust.name, "line1": "12 Select Road", "city": "Dublin", "postcode": "D02 X285"}})),
            ),
            _ => {
                // One payment in twelve uses a mistyped card (declined).
                let number = if rng.random_ratio(1, 12) {
                    world::card_for(u64::from(n) + 100_000)
                } else {
                    cust.card.clone()
                };
                (
                    Method::POST,
                    "/api/v1/charges".into(),
                    Some(json!({
                    "amount": rng.random_range(500..20_000), "currency": "eur", "description": format!("Order for {}", cust.name),
                    "card": {"number": number, "exp_month": rng.random_range(1..=12), "exp_year": 2028, "cvc": format!("{:03}", rng.random_range(0..1000))}})),
                )
            }
        };
        let seq = c.sent();
        match client.send(method, &path, body).await {
            Ok(a) => {
                if a.stopped {
                    c.stopped(seq);
                    if !was_blocked {
                        was_blocked = true;
                        c.clients_blocked.fetch_add(1, Ordering::Relaxed);
                    }
                } else {
                    c.reached.fetch_add(1, Ordering::Relaxed);
                }
                if step.is_multiple_of(7) && a.status == 200 {
                    logins += 1;
                    let token = serde_json::from_slice::<serde_json::Value>(&a.body)
                        .ok()
                        .and_then(|v| v["token"].as_str().map(str::to_string));
                    client.set_token(token);
                } else if step.is_multiple_of(7) {
                    step = step.wrapping_sub(1); // try the login again
                }
            }
            Err(_) => {
                c.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        step = step.wrapping_add(1);
        let jitter = rng.random_range(0.5..1.5);
        tokio::time::sleep(pace.mul_f64(jitter)).await;
    }
}

/// Percent-encodes a query value.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_http_targets() {
        assert!(SimOptions::new("http://127.0.0.1:8080").is_ok());
        assert!(SimOptions::new("http://[::1]:8080").is_ok());
        assert!(SimOptions::new("http://localhost:8080").is_ok());
        assert!(matches!(
            SimOptions::new("http://10.0.0.1:80"),
            Err(SimError::NotLoopback(_))
        ));
        assert!(matches!(
            SimOptions::new("ftp://127.0.0.1"),
            Err(SimError::BadTarget(_))
        ));
        assert!(matches!(
            Scenario::parse("chaos"),
            Err(SimError::UnknownScenario(..))
        ));
    }

    #[tokio::test]
    async fn customers_reach_the_demo_api_from_distinct_addresses() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(crate::upstream::serve(listener, async {
            let _ = rx.await;
        }));
        let mut opts = SimOptions::new(&format!("http://{addr}")).unwrap();
        opts.duration = Duration::from_secs(20);
        opts.max_requests = 140;
        opts.customer_rate = 2000.0;
        opts.concurrent_customers = 10;
        let report = run(Scenario::Customers, &opts).await;
        let c = &report.campaigns[0];
        assert_eq!(c.requests, 140);
        assert_eq!(c.errors, 0, "{report}");
        assert_eq!(c.reached_upstream, 140);
        assert_eq!(c.blocked, 0);
        let _ = tx.send(());
        server.await.unwrap().unwrap();
    }
}
