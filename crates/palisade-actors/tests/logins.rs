//! Logins as populations: credential stuffing that rotates addresses and user
//! agents against a login endpoint with a real baseline of customers (typos,
//! an office NAT, phones changing networks), and the linking of every token a
//! login issues to the customer who logged in.

mod common;

use std::collections::{HashMap, HashSet};

use common::{Client, Sim, respond};
use palisade_actors::{ActorId, Level};
use palisade_core::Exchange;

/// A small deterministic generator (xorshift), so populations are random but
/// every run is the same.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// One customer of the population: their client, address and token.
struct Customer {
    user: String,
    password: String,
    client: Client,
    /// Phones change network at each login.
    mobile: bool,
    logins: u32,
    step: u32,
}

/// `n` customers on the popular browser fingerprints (five variants): the
/// first ten behind one office NAT, every fifth on a phone.
fn population(n: usize) -> Vec<Customer> {
    (0..n)
        .map(|i| {
            let ip = if i < 10 {
                "203.0.113.10".to_string()
            } else {
                format!("198.51.{}.{}", i / 200, i % 200 + 1)
            };
            Customer {
                user: format!("customer{i}@mail.example"),
                password: format!("pw-{i}"),
                client: Client::browser(&ip, i % 5),
                mobile: i % 5 == 4,
                logins: 0,
                step: 0,
            }
        })
        .collect()
}

/// The login endpoint of the demo API: the right password gets a fresh token.
fn login_answer(e: Exchange, ok: bool, token: &str) -> Exchange {
    if ok {
        respond(e, 200, &format!(r#"{{"token":"{token}","account_id":1}}"#))
    } else {
        respond(e, 401, r#"{"error":"invalid credentials"}"#)
    }
}

/// Plays one customer step: a login (with a typo now and then: a wrong
/// password, or now and then a mistyped username first) every sixth step,
/// otherwise an ordinary request with the current token. Returns the actor
/// of a request made with a token (`None` for a login) and whether the
/// gateway stopped the request.
fn customer_step(
    sim: &mut Sim,
    c: &mut Customer,
    rng: &mut Rng,
    step_ms: i64,
) -> (Option<ActorId>, bool) {
    let login = c.step.is_multiple_of(6) || c.client.token.is_none();
    let s = if login {
        c.client.token = None;
        if c.mobile && c.logins > 0 {
            let ip = format!("100.64.{}.{}", rng.below(200), rng.below(200) + 1);
            c.client = c.client.at(&ip);
        }
        let typo = rng.chance(12);
        let (user, pw) = if typo && rng.chance(10) {
            (format!("{}x", c.user), c.password.clone())
        } else if typo {
            (c.user.clone(), format!("{}!", c.password))
        } else {
            (c.user.clone(), c.password.clone())
        };
        let ok = !typo;
        let token = format!("tok-{}-{}", c.user, c.logins);
        let s = sim.send(c.client.login(&user, &pw), step_ms, |e| {
            login_answer(e, ok, &token)
        });
        if ok && !s.decision.as_ref().is_some_and(|d| d.verdict.is_stop()) {
            c.client.token = Some(token);
            c.logins += 1;
        }
        s
    } else {
        let target = match c.step % 3 {
            0 => "/api/v1/products".to_string(),
            1 => format!("/api/v1/products/{}", 1 + rng.below(6)),
            _ => "/api/v1/search?q=plan".to_string(),
        };
        sim.send(c.client.request("GET", &target, ""), step_ms, |e| {
            respond(e, 200, "[]")
        })
    };
    c.step += 1;
    let stopped = s.decision.as_ref().is_some_and(|d| d.verdict.is_stop());
    ((!login).then_some(s.obs.actor_id), stopped)
}

const STUFFER_UAS: [&str; 4] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
    "okhttp/4.12.0",
];

/// A stuffing bot: its own address, one of four user agents, no language.
fn stuffer(n: usize, ua: &str) -> Client {
    let mut c = Client::bot(&format!("192.0.{}.{}", 100 + n / 250, n % 250 + 1));
    c.ua = ua.to_string();
    c.ja4 = None;
    c
}

#[derive(Default, Debug)]
struct Outcome {
    attack_requests: usize,
    attack_forwarded: usize,
    first_stop: Option<usize>,
    takeovers: usize,
    customers_stopped: usize,
    customer_requests: usize,
}

/// Customers warm the baseline for `warmup` steps, then a stuffing run
/// (four workers, one user agent each, two to four attempts per address,
/// 8 % leaked pairs) goes on beside them for `attack` attempts.
fn stuffing_beside_customers(seed: u64, warmup: usize, attack: usize) -> (Sim, Outcome) {
    let mut sim = Sim::default_config();
    let mut rng = Rng(seed);
    let mut customers = population(40);
    let mut out = Outcome::default();
    for k in 0..warmup {
        let i = k % customers.len();
        let (_, stopped) = customer_step(&mut sim, &mut customers[i], &mut rng, 50);
        out.customer_requests += 1;
        out.customers_stopped += usize::from(stopped);
    }
    let leaked: Vec<usize> = vec![3, 17, 29];
    let mut bots: [(usize, u64); 4] = [(0, 0); 4];
    let mut next_ip = 0usize;
    for w in &mut bots {
        *w = (next_ip, 2 + rng.below(3));
        next_ip += 1;
    }
    let mut c = 0usize;
    for k in 0..attack {
        // four workers at 15 attempts a second in all, customers in between
        let w = k % 4;
        if bots[w].1 == 0 {
            bots[w] = (next_ip, 2 + rng.below(3));
            next_ip += 1;
        }
        bots[w].1 -= 1;
        let bot = stuffer(bots[w].0, STUFFER_UAS[w]);
        // on odd seeds the very first attempt is a hit: the bot then reads
        // the account it took over before anything can know better
        let roll = if k == 0 && seed % 2 == 1 {
            0
        } else {
            rng.below(100)
        };
        let (user, ok) = if roll < 8 {
            let i = leaked[rng.below(leaked.len() as u64) as usize];
            (format!("customer{i}@mail.example"), true)
        } else if roll < 60 {
            (format!("customer{}@mail.example", rng.below(40)), false)
        } else {
            (format!("someone{}@mail.example", rng.below(50_000)), false)
        };
        out.attack_requests += 1;
        let s = sim.send(bot.login(&user, "Summer2025!"), 67, |e| {
            login_answer(e, ok, &format!("tok-stolen-{k}"))
        });
        if s.decision.as_ref().is_some_and(|d| d.verdict.is_stop()) {
            out.first_stop.get_or_insert(k);
        } else {
            out.attack_forwarded += 1;
            out.takeovers += usize::from(ok);
            if ok {
                // a hit: read what the account holds, with the new token
                let mut b = bot.clone();
                b.token = Some(format!("tok-stolen-{k}"));
                let _ = sim.send(b.request("GET", "/api/v1/accounts/1", ""), 67, |e| {
                    respond(e, 200, r#"{"id":1,"iban":"DE00"}"#)
                });
            }
        }
        if k % 3 == 0 {
            let i = c % customers.len();
            c += 1;
            let (_, stopped) = customer_step(&mut sim, &mut customers[i], &mut rng, 1);
            out.customer_requests += 1;
            out.customers_stopped += usize::from(stopped);
        }
    }
    (sim, out)
}

/// The population view of issue 4: a stuffer rotating addresses and user
/// agents beside a live customer base is stopped within a handful of attempts,
/// takes over almost nothing, and never stops a customer. Several seeds, so
/// the figures hold for the population, not for one lucky ordering.
#[test]
fn stuffing_that_rotates_ips_and_user_agents_is_stopped_early_and_customers_never_are() {
    let mut firsts = Vec::new();
    for seed in [7u64, 11, 23, 42, 99] {
        let (sim, o) = stuffing_beside_customers(seed, 2_400, 300);
        eprintln!("seed {seed}: {o:?}");
        let first = o.first_stop.expect("the stuffing run was never stopped");
        firsts.push(first);
        assert!(first <= 12, "seed {seed}: first stop after {first}: {o:?}");
        assert!(o.takeovers <= 2, "seed {seed}: {o:?}");
        assert!(
            o.attack_forwarded * 10 <= o.attack_requests,
            "seed {seed}: {o:?}"
        );
        assert_eq!(o.customers_stopped, 0, "seed {seed}: {o:?}");
        // the customers' own actors stay below any response
        let camps = sim.tracker.campaigns(sim.now);
        assert!(
            camps.iter().any(|c| c.kind == "credential_stuffing"),
            "{camps:?}"
        );
        for v in sim.tracker.actors(sim.now) {
            if v.ips.iter().any(|ip| ip.to_string().starts_with("192.0.")) {
                continue;
            }
            assert!(v.level < Level::RateLimit, "seed {seed}: customer {v:?}");
            assert!(v.campaign_id.is_none(), "seed {seed}: customer {v:?}");
        }
    }
    firsts.sort_unstable();
    eprintln!("first stops: {firsts:?}");
    assert!(
        firsts[firsts.len() / 2] <= 10,
        "median first stop {firsts:?}"
    );
}

/// Customers only, with a realistic failure rate (one login in eight with a
/// typo, a few with a mistyped username), ten of them behind one office NAT
/// and a fifth on phones that change network at every login: no credential
/// finding, no campaign, no decision, and about one actor per customer.
#[test]
fn customers_with_typos_behind_a_nat_and_on_phones_are_never_suspected() {
    let mut sim = Sim::default_config();
    let mut rng = Rng(5);
    let mut customers = population(60);
    let mut actors: HashMap<usize, HashSet<ActorId>> = HashMap::new();
    for k in 0..6_000 {
        let i = k % customers.len();
        let (id, stopped) = customer_step(&mut sim, &mut customers[i], &mut rng, 40);
        assert!(!stopped, "customer {i} stopped at step {k}");
        if let Some(id) = id {
            actors.entry(i).or_default().insert(id);
        }
    }
    let kinds: HashSet<String> = sim
        .tracker
        .actors(sim.now)
        .iter()
        .flat_map(|v| v.finding_kinds.clone())
        .collect();
    assert!(
        !kinds.contains("credential_stuffing") && !kinds.contains("account_takeover"),
        "{kinds:?}"
    );
    assert!(sim.tracker.campaigns(sim.now).is_empty());
    assert!(sim.tracker.snapshot(sim.now).is_empty());
    // every login's new token is linked to the customer who logged in: one
    // actor per customer for everything they do with their tokens, from home,
    // behind the NAT, or on a phone changing networks (a failed login from a
    // new network, or with a mistyped username, is an anonymous actor of its
    // own, a request long)
    for (i, ids) in &actors {
        assert_eq!(ids.len(), 1, "customer {i} is {} actors", ids.len());
    }
    assert_eq!(actors.len(), customers.len());
}

/// One customer logs in five times from two addresses and gets a new token
/// each time: every request resolves to one actor.
#[test]
fn one_customer_logging_in_five_times_from_two_ips_is_one_actor() {
    let mut sim = Sim::default_config();
    let home = Client::browser("198.51.100.20", 1);
    let mut ids = HashSet::new();
    for k in 0..5 {
        let mut c = home.at(if k % 2 == 0 {
            "198.51.100.20"
        } else {
            "100.70.3.9"
        });
        let token = format!("tok-alice-{k}-0123456789");
        let s = sim.send(c.login("alice@mail.example", "right"), 1_000, |e| {
            login_answer(e, true, &token)
        });
        ids.insert(s.obs.actor_id);
        c.token = Some(token);
        for p in [
            "/api/v1/products",
            "/api/v1/accounts/10001",
            "/api/v1/orders",
        ] {
            let s = sim.send(c.request("GET", p, ""), 1_000, |e| respond(e, 200, "{}"));
            ids.insert(s.obs.actor_id);
        }
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(sim.tracker.len(), 1);
    let v = sim
        .tracker
        .actor(*ids.iter().next().unwrap(), sim.now)
        .unwrap();
    assert_eq!(v.requests, 20);
    assert_eq!(v.ips.len(), 2);
    assert!(v.finding_kinds.is_empty(), "{v:?}");
}

/// A session cookie set by the login answer (`Set-Cookie`) and a token nested
/// in the JSON (`data.access_token`) link like a bearer token; the raw values
/// are nowhere in the tracker's views.
#[test]
fn session_cookies_and_nested_tokens_issued_at_login_are_linked_and_hashed() {
    let mut sim = Sim::default_config();
    let c = Client::browser("198.51.100.30", 2);
    let login = sim.send(c.login("bob@mail.example", "right"), 1_000, |e| {
        let mut e = respond(
            e,
            200,
            r#"{"data":{"access_token":"eyJhbGciOi.secret-access-token","expires_in":3600}}"#,
        );
        if let Some(r) = e.response.as_mut() {
            r.headers.push((
                "Set-Cookie".into(),
                "sessionid=s3cr3t-cookie-value; HttpOnly; Path=/".into(),
            ));
        }
        e
    });
    // another network, the cookie only
    let by_cookie = c.at("100.64.9.9").with_session("unused");
    let mut ex = by_cookie.request("GET", "/api/v1/orders", "");
    for (n, v) in ex.request.headers.iter_mut() {
        if n == "cookie" {
            *v = "sessionid=s3cr3t-cookie-value".into();
        }
    }
    let s1 = sim.send(ex, 1_000, |e| respond(e, 200, "[]"));
    // a third network, the bearer token only
    let mut by_token = c.at("100.65.1.1");
    by_token.token = Some("eyJhbGciOi.secret-access-token".into());
    let s2 = sim.send(by_token.request("GET", "/api/v1/orders", ""), 1_000, |e| {
        respond(e, 200, "[]")
    });
    assert_eq!(s1.obs.actor_id, login.obs.actor_id);
    assert_eq!(s2.obs.actor_id, login.obs.actor_id);
    let shown = format!(
        "{:?}{:?}",
        sim.tracker.actors(sim.now),
        sim.tracker.snapshot(sim.now)
    );
    assert!(!shown.contains("s3cr3t") && !shown.contains("secret-access"));
}

/// Someone else logging in to a customer's account from another client (a
/// takeover with a stolen password) is not merged into the customer: the
/// account's usual actor only takes logins from the same client.
#[test]
fn a_login_from_another_client_is_not_merged_into_the_account_owner() {
    let mut sim = Sim::default_config();
    let owner = Client::browser("198.51.100.40", 0);
    let s = sim.send(owner.login("carol@mail.example", "right"), 1_000, |e| {
        login_answer(e, true, "tok-carol-0-abcdefgh")
    });
    let thief = Client::bot("192.0.2.77");
    let t = sim.send(thief.login("carol@mail.example", "right"), 1_000, |e| {
        login_answer(e, true, "tok-carol-1-abcdefgh")
    });
    assert_ne!(s.obs.actor_id, t.obs.actor_id);
    let mut thief = thief;
    thief.token = Some("tok-carol-1-abcdefgh".into());
    let r = sim.send(thief.request("GET", "/api/v1/accounts/7", ""), 1_000, |e| {
        respond(e, 200, "{}")
    });
    assert_eq!(
        r.obs.actor_id, t.obs.actor_id,
        "the thief's token is the thief's"
    );
}
