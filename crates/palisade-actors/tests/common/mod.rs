//! Shared helpers for the scenario tests: clients with fingerprints, the demo
//! API's requests and responses, and a small simulator that plays the gateway
//! (decide with the current snapshot, enforce, then observe) and publishes a
//! new snapshot every 250 ms of simulated time.

#![allow(dead_code)]

use std::net::IpAddr;

use palisade_actors::{
    ActorTracker, ActorsConfig, Decision, DecisionSnapshot, Observation, request_keys,
};
use palisade_core::{Body, Exchange, KeyedHasher, RequestPart, ResponsePart, TlsInfo, Verdict};

pub const T0: i64 = 1_800_000_000_000;

#[derive(Clone, Debug)]
pub struct Client {
    pub ip: IpAddr,
    pub ua: String,
    pub ja4: Option<String>,
    pub lang: String,
    pub session: Option<String>,
    pub token: Option<String>,
}

impl Client {
    pub fn browser(ip: &str, variant: usize) -> Self {
        Client {
            ip: ip.parse().unwrap(),
            ua: format!(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{}.0.0.0 Safari/537.36",
                100 + variant
            ),
            ja4: Some(format!(
                "t13d1516h2_8daaf6152771_{:012x}",
                0xd8a2_da3f_0000u64 + variant as u64
            )),
            lang: ["en-US", "de-DE", "fr-FR", "es-ES", "it-IT"][variant % 5].into(),
            session: None,
            token: None,
        }
    }

    pub fn bot(ip: &str) -> Self {
        Client {
            ip: ip.parse().unwrap(),
            ua: "python-requests/2.31.0".into(),
            ja4: Some("t13i1811h1_85036bcba153_b26ce05bbdd6".into()),
            lang: String::new(),
            session: None,
            token: None,
        }
    }

    pub fn with_session(mut self, s: &str) -> Self {
        self.session = Some(s.into());
        self
    }

    pub fn at(&self, ip: &str) -> Self {
        let mut c = self.clone();
        c.ip = ip.parse().unwrap();
        c
    }

    pub fn request(&self, method: &str, target: &str, body: &str) -> Exchange {
        let mut headers: Vec<(String, String)> = vec![
            ("host".into(), "api.example".into()),
            ("user-agent".into(), self.ua.clone()),
            ("accept".into(), "application/json".into()),
        ];
        if !self.lang.is_empty() {
            headers.push(("accept-language".into(), self.lang.clone()));
        }
        if !body.is_empty() {
            headers.push(("content-type".into(), "application/json".into()));
        }
        if let Some(s) = &self.session {
            headers.push(("cookie".into(), format!("session={s}; theme=dark")));
        }
        if let Some(t) = &self.token {
            headers.push(("authorization".into(), format!("Bearer {t}")));
        }
        Exchange {
            client_ip: self.ip,
            tls: self.ja4.as_ref().map(|j| TlsInfo {
                ja4: Some(j.clone()),
                ..Default::default()
            }),
            request: RequestPart {
                method: method.into(),
                target: target.into(),
                headers,
                body: Body::new(body.to_string()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    pub fn charge(&self, card: &str, amount: u64) -> Exchange {
        self.request(
            "POST",
            "/api/v1/charges",
            &format!(
                r#"{{"amount":{amount},"currency":"usd","card":{{"number":"{card}","exp_month":12,"exp_year":2030,"cvc":"123"}}}}"#
            ),
        )
    }

    pub fn login(&self, user: &str, password: &str) -> Exchange {
        self.request(
            "POST",
            "/api/v1/login",
            &format!(r#"{{"username":"{user}","password":"{password}"}}"#),
        )
    }
}

pub fn respond(mut ex: Exchange, status: u16, body: &str) -> Exchange {
    ex.response = Some(ResponsePart {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: Body::new(body.to_string()),
    });
    ex
}

pub const DECLINED: &str = r#"{"error":{"code":"card_declined"}}"#;

/// A Luhn-valid card number from a BIN and a serial.
pub fn card(bin: u32, serial: u64) -> String {
    let body = format!("{bin:06}{serial:09}");
    let digits: Vec<u32> = body.chars().map(|c| c.to_digit(10).unwrap()).collect();
    let mut sum = 0;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = *d;
        if i.is_multiple_of(2) {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    format!("{body}{}", (10 - sum % 10) % 10)
}

pub struct Sim {
    pub tracker: ActorTracker,
    pub hasher: KeyedHasher,
    pub now: i64,
    pub snap: DecisionSnapshot,
    last_publish: i64,
    pub forwarded: usize,
    pub stopped: usize,
}

pub struct Step {
    pub decision: Option<Decision>,
    pub obs: Observation,
}

impl Sim {
    pub fn new(cfg: ActorsConfig) -> Self {
        let hasher = KeyedHasher::insecure_for_tests();
        Sim {
            tracker: cfg.build(hasher.clone()).unwrap(),
            hasher,
            now: T0,
            snap: DecisionSnapshot::empty(),
            last_publish: T0,
            forwarded: 0,
            stopped: 0,
        }
    }

    pub fn default_config() -> Self {
        Self::new(ActorsConfig::default())
    }

    /// The inline decision for a request at the current time.
    pub fn decide(&self, ex: &Exchange) -> Option<Decision> {
        self.snap.decide(&request_keys(ex, &self.hasher), self.now)
    }

    /// Plays one request through the gateway and analysis; `upstream` gives
    /// the response when the request is forwarded. Time moves `step_ms`.
    pub fn send(
        &mut self,
        ex: Exchange,
        step_ms: i64,
        upstream: impl FnOnce(Exchange) -> Exchange,
    ) -> Step {
        self.now += step_ms;
        let mut ex = ex;
        ex.ts_ms = self.now;
        let decision = self.decide(&ex);
        let stop = decision.as_ref().filter(|d| d.verdict.is_stop());
        let ex = if let Some(d) = stop {
            self.stopped += 1;
            let status = match d.verdict {
                Verdict::Block { status, .. } => status,
                _ => 429,
            };
            let mut e = respond(ex, status, r#"{"error":"blocked"}"#);
            e.verdict = d.verdict.clone();
            e.enforced = true;
            e
        } else {
            self.forwarded += 1;
            upstream(ex)
        };
        let obs = self.tracker.observe(&ex, self.now);
        if self.now - self.last_publish >= 250 {
            self.publish();
        }
        Step { decision, obs }
    }

    pub fn publish(&mut self) {
        self.snap = self.tracker.snapshot(self.now);
        self.last_publish = self.now;
    }
}
