//! The demo payments API: small, but shaped like a real one, with the
//! weaknesses attackers go for (a card endpoint that answers declines, a
//! login that says 401, accounts readable by id for any logged-in user).
//!
//! Routes:
//! - `POST /api/v1/login` `{"username","password"}` → `{"token"}` or 401
//! - `GET /api/v1/products`, `GET /api/v1/products/{id}`
//! - `POST /api/v1/charges` `{"amount","currency","card":{"number","exp_month","exp_year","cvc"}}`
//!   → 200 `{"id","status":"succeeded"}` or 402 `{"error":{"code":"card_declined"}}`
//! - `GET /api/v1/accounts/{id}` (bearer token) → 200, 401, or 404
//!   (any valid token reads any account: the BOLA flaw the enumeration
//!   scenario exploits)
//! - `POST /api/v1/orders`, `GET /api/v1/orders/{id}` (bearer token)
//! - `GET /api/v1/search?q=` free-text product search
//! - `GET /healthz`

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::world::{self, CUSTOMERS};

#[derive(Default)]
struct Inner {
    tokens: HashMap<String, u32>,
    orders: Vec<(u32, Value)>,
    charges: u64,
}

/// Shared state of the demo API.
#[derive(Clone, Default)]
pub struct DemoApi {
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for DemoApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DemoApi")
    }
}

const PRODUCTS: &[(u32, &str, u32)] = &[
    (1, "Starter plan", 900),
    (2, "Business plan", 4900),
    (3, "Card reader", 2900),
    (4, "Select plan (annual)", 49000),
    (5, "Union Pay adapter", 1500),
    (6, "Drop-in checkout", 0),
];

/// The demo API's router.
pub fn router() -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/api/v1/login", post(login))
        .route("/api/v1/products", get(products))
        .route("/api/v1/products/{id}", get(product))
        .route("/api/v1/search", get(search))
        .route("/api/v1/charges", post(charge))
        .route("/api/v1/accounts/{id}", get(account))
        .route("/api/v1/orders", post(create_order))
        .route("/api/v1/orders/{id}", get(order))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                Json(json!({"error": {"code": "not_found"}})),
            )
        })
        .with_state(DemoApi::default())
}

/// Serves the demo API until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router())
        .with_graceful_shutdown(shutdown)
        .await
}

fn err(status: StatusCode, code: &str) -> Response {
    (status, Json(json!({"error": {"code": code}}))).into_response()
}

fn bearer(h: &HeaderMap) -> Option<String> {
    h.get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::to_string)
}

impl DemoApi {
    fn user(&self, h: &HeaderMap) -> Option<u32> {
        let t = bearer(h)?;
        self.inner.lock().ok()?.tokens.get(&t).copied()
    }
}

#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
}

async fn login(
    State(api): State<DemoApi>,
    body: Result<Json<Login>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(l)) = body else {
        return err(StatusCode::BAD_REQUEST, "invalid_json");
    };
    let idx = l
        .username
        .strip_prefix("user")
        .and_then(|r| r.strip_suffix("@example.com"))
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|i| *i < CUSTOMERS);
    match idx {
        Some(i) if world::customer(i).password == l.password => {
            let token = format!("tok_{:016x}", rand::random::<u64>());
            if let Ok(mut g) = api.inner.lock() {
                g.tokens.insert(token.clone(), i);
            }
            Json(json!({"token": token, "account_id": world::customer(i).account_id}))
                .into_response()
        }
        _ => err(StatusCode::UNAUTHORIZED, "invalid_credentials"),
    }
}

async fn products() -> Json<Value> {
    Json(
        json!({"data": PRODUCTS.iter().map(|(id, name, price)| json!({"id": id, "name": name, "price": price, "currency": "eur"})).collect::<Vec<_>>()}),
    )
}

async fn product(Path(id): Path<String>) -> Response {
    match id
        .parse::<u32>()
        .ok()
        .and_then(|id| PRODUCTS.iter().find(|p| p.0 == id))
    {
        Some((id, name, price)) => {
            Json(json!({"id": id, "name": name, "price": price})).into_response()
        }
        None => err(StatusCode::NOT_FOUND, "no_such_product"),
    }
}

async fn search(Query(q): Query<HashMap<String, String>>) -> Json<Value> {
    let term = q.get("q").map(|s| s.to_lowercase()).unwrap_or_default();
    let hits: Vec<_> = PRODUCTS
        .iter()
        .filter(|p| p.1.to_lowercase().contains(&term))
        .map(|(id, name, _)| json!({"id": id, "name": name}))
        .collect();
    Json(json!({"query": term, "data": hits}))
}

async fn charge(
    State(api): State<DemoApi>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(v)) = body else {
        return err(StatusCode::BAD_REQUEST, "invalid_json");
    };
    let number = v["card"]["number"]
        .as_str()
        .map(|s| s.replace([' ', '-'], ""))
        .unwrap_or_default();
    let amount = v["amount"].as_u64().unwrap_or(0);
    if number.is_empty() || amount == 0 {
        return err(StatusCode::BAD_REQUEST, "missing_fields");
    }
    if !palisade_core::sensitive::luhn_valid(number.as_bytes()) {
        return err(StatusCode::PAYMENT_REQUIRED, "incorrect_number");
    }
    let n = {
        let Ok(mut g) = api.inner.lock() else {
            return err(StatusCode::INTERNAL_SERVER_ERROR, "busy");
        };
        g.charges += 1;
        g.charges
    };
    // The bank approves customers' cards, and by chance 1 in 8 unknown ones
    // (stolen cards that still work: what card testers look for).
    let approved = world::card_owner(&number).is_some()
        || number.bytes().map(u32::from).sum::<u32>().is_multiple_of(8);
    if !approved {
        return err(StatusCode::PAYMENT_REQUIRED, "card_declined");
    }
    let last4 = &number[number.len().saturating_sub(4)..];
    Json(
        json!({"id": format!("ch_{n:08}"), "status": "succeeded", "amount": amount,
        "card": {"last4": last4, "brand": palisade_core::sensitive::card_brand(&number)}}),
    )
    .into_response()
}

async fn account(
    State(api): State<DemoApi>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if api.user(&headers).is_none() {
        return err(StatusCode::UNAUTHORIZED, "unauthenticated");
    }
    let Some(i) = id
        .parse::<u32>()
        .ok()
        .and_then(|id| id.checked_sub(world::ACCOUNT_BASE))
        .filter(|i| *i < CUSTOMERS)
    else {
        return err(StatusCode::NOT_FOUND, "no_such_account");
    };
    let c = world::customer(i);
    Json(
        json!({"id": c.account_id, "name": c.name, "email": c.username,
        "iban": "DE89370400440532013000", "balance": (i * 1337) % 100_000, "currency": "eur"}),
    )
    .into_response()
}

async fn create_order(
    State(api): State<DemoApi>,
    headers: HeaderMap,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Some(user) = api.user(&headers) else {
        return err(StatusCode::UNAUTHORIZED, "unauthenticated");
    };
    let Ok(Json(v)) = body else {
        return err(StatusCode::BAD_REQUEST, "invalid_json");
    };
    let Ok(mut g) = api.inner.lock() else {
        return err(StatusCode::INTERNAL_SERVER_ERROR, "busy");
    };
    let id = g.orders.len() as u32 + 1;
    let order = json!({"id": id, "product_id": v["product_id"], "quantity": v["quantity"], "note": v["note"], "status": "created"});
    g.orders.push((user, order.clone()));
    (StatusCode::CREATED, Json(order)).into_response()
}

async fn order(State(api): State<DemoApi>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let Some(user) = api.user(&headers) else {
        return err(StatusCode::UNAUTHORIZED, "unauthenticated");
    };
    let Ok(g) = api.inner.lock() else {
        return err(StatusCode::INTERNAL_SERVER_ERROR, "busy");
    };
    match id
        .parse::<usize>()
        .ok()
        .and_then(|i| i.checked_sub(1))
        .and_then(|i| g.orders.get(i))
    {
        Some((owner, o)) if *owner == user => Json(o.clone()).into_response(),
        Some(_) => err(StatusCode::FORBIDDEN, "forbidden"),
        None => err(StatusCode::NOT_FOUND, "no_such_order"),
    }
}
