//! Requests for the inspection benchmark and the profiling example: typical
//! payments API traffic and hostile input. Shared by `benches/inspect.rs` and
//! `examples/profile.rs` through `#[path]`.

use palisade_core::{Body, Exchange, RequestPart};

fn headers(ct: Option<&str>) -> Vec<(String, String)> {
    let mut h = vec![
        ("Host".to_string(), "api.payments.example".to_string()),
        ("User-Agent".to_string(), "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15".to_string()),
        ("Accept".to_string(), "application/json".to_string()),
        ("Authorization".to_string(), "Bearer sk_test_4eC39HqLyjWDarjtT1zdp7dc".to_string()),
        ("Idempotency-Key".to_string(), "5b0d7e4c-1f7e-4f43-a1c2-6b0e9f1d2a3b".to_string()),
        ("X-Request-Id".to_string(), "0f8fad5b-d9cb-469f-a165-70867728950e".to_string()),
        ("Cookie".to_string(), "session=9f2c1e7a8b3d4c5e6f708192a3b4c5d6; theme=dark".to_string()),
    ];
    if let Some(ct) = ct {
        h.push(("Content-Type".to_string(), ct.to_string()));
    }
    h
}

fn ex(method: &str, target: &str, ct: Option<&str>, body: Vec<u8>) -> Exchange {
    Exchange {
        request: RequestPart {
            method: method.into(),
            target: target.into(),
            headers: headers(ct),
            body: Body::new(body),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn json_1k() -> Vec<u8> {
    let items: Vec<String> = (0..4)
        .map(|i| format!(r#"{{"price_data":{{"currency":"eur","unit_amount":{},"product_data":{{"name":"Café latte x{i}","description":"Please select the union plan; O'Brien's order"}}}},"quantity":{i}}}"#, 450 + i))
        .collect();
    format!(
        r#"{{"mode":"payment","customer_email":"siobhan.obrien+billing@example.ie","success_url":"https://shop.example.com/success?session_id={{CHECKOUT_SESSION_ID}}","line_items":[{}],"metadata":{{"order_id":"ord_12345678","note":"Drop off at the back door, ring twice"}},"card":{{"number":"4242424242424242","exp_month":12,"exp_year":2030,"cvc":"123"}}}}"#,
        items.join(",")
    )
    .into_bytes()
}

pub fn typical() -> Vec<(&'static str, Exchange)> {
    let form = "amount=2599&currency=eur&description=Fish+%26+Chips+--+table+for+2&customer=cus_NffrFeUfNV2Hib&metadata%5Border_id%5D=ord_123456&metadata%5Bnote%5D=It%27s+5+o%27clock&shipping%5Bname%5D=Zo%C3%AB+O%27Brien&shipping%5Baddress%5D%5Bline1%5D=1st+Ave+%26+5th+St&expand%5B%5D=customer&expand%5B%5D=balance_transaction";
    vec![
        (
            "json_1k",
            ex(
                "POST",
                "/v1/checkout/sessions",
                Some("application/json"),
                json_1k(),
            ),
        ),
        (
            "form",
            ex(
                "POST",
                "/v1/payment_intents",
                Some("application/x-www-form-urlencoded"),
                form.as_bytes().to_vec(),
            ),
        ),
        (
            "get_query",
            ex(
                "GET",
                "/v1/charges?limit=25&created%5Bgte%5D=1700000000&customer=cus_NffrFeUfNV2Hib&q=O%27Brien+refund&expand%5B%5D=data.customer",
                None,
                Vec::new(),
            ),
        ),
    ]
}

pub fn hostile() -> Vec<(&'static str, Exchange)> {
    let deep = format!("{}1{}", "{\"a\":".repeat(5000), "}".repeat(5000));
    let mut big = String::from("{\"items\":[");
    while big.len() < 1024 * 1024 {
        big.push_str(
            r#"{"sku":"SKU-12345","note":"select the union plan; O'Brien & co <3","qty":3},"#,
        );
    }
    big.push_str("{}]}");
    let encoded = "%2525".repeat(20_000);
    let attack = "q=1%27%20un/**/ion%2520select%20password%20from%20users--";
    vec![
        (
            "deep_json",
            ex("POST", "/v1/x", Some("application/json"), deep.into_bytes()),
        ),
        (
            "json_1m",
            ex("POST", "/v1/x", Some("application/json"), big.into_bytes()),
        ),
        (
            "long_encoded_query",
            ex("GET", &format!("/v1/x?q={encoded}"), None, Vec::new()),
        ),
        (
            "sqli_query",
            ex("GET", &format!("/v1/x?{attack}"), None, Vec::new()),
        ),
    ]
}
