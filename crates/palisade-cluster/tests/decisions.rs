//! A real tracker's decision, carried in its wire form, holds on another
//! node for the same actor's next request, even from another address and
//! client: what the shared decision keys promise. Pure: no Redis.

use palisade_actors::{ActorsConfig, DecisionSnapshot, request_keys};
use palisade_cluster::WireDecision;
use palisade_core::{Exchange, KeyedHasher, Verdict};

fn charge(i: u32, ip: &str, ua: &str) -> Exchange {
    let body = format!("424242{i:09}");
    let check = (0..10)
        .map(|d| format!("{body}{d}"))
        .find(|c| palisade_core::sensitive::luhn_valid(c.as_bytes()))
        .unwrap();
    serde_json::from_value(serde_json::json!({
        "ts_ms": 1_000 + i64::from(i),
        "client_ip": ip,
        "request": {
            "method": "POST",
            "target": "/api/v1/charges",
            "headers": [
                ["user-agent", ua],
                ["authorization", "Bearer tok-7f3a9c"],
                ["content-type", "application/json"]
            ],
            "body": format!("{{\"amount\":50,\"card\":{{\"number\":\"{check}\"}}}}")
        },
        "response": {"status": 402, "body": "{\"error\":{\"code\":\"card_declined\"}}"}
    }))
    .unwrap()
}

#[test]
fn a_block_in_wire_form_stops_the_same_token_elsewhere() {
    let hasher = KeyedHasher::insecure_for_tests();
    let mut tracker = ActorsConfig::default().build(hasher.clone()).unwrap();
    let mut now = 1_000_000;
    let mut snapshot = DecisionSnapshot::empty();
    for i in 0..40 {
        now += 500;
        tracker.observe(&charge(i, "192.0.2.10", "curl/8.5.0"), now);
        snapshot = tracker.snapshot(now);
        if snapshot
            .export()
            .iter()
            .any(|e| matches!(e.decision.verdict, Verdict::Block { .. }))
        {
            break;
        }
    }
    let exported = snapshot.export();
    let blocked = exported
        .iter()
        .find(|e| matches!(e.decision.verdict, Verdict::Block { .. }))
        .expect("the tracker never blocked the card tester");
    assert!(!blocked.keys.is_empty());

    // Across Redis: JSON, then the receiving node's remote snapshot.
    let wire = WireDecision::from_exported("node-a", blocked);
    let json = serde_json::to_string(&wire).unwrap();
    assert!(
        !json.contains("tok-7f3a9c"),
        "a raw token in a decision: {json}"
    );
    let back: WireDecision = serde_json::from_str(&json).unwrap();
    let remote = DecisionSnapshot::from_exported(back.to_exported(), now);

    // The same token from another address and client is stopped there...
    let other = charge(99, "198.51.100.7", "python-requests/2.32");
    let d = remote
        .decide(&request_keys(&other, &hasher), now + 1)
        .expect("the remote snapshot does not match the token");
    assert!(matches!(d.verdict, Verdict::Block { .. }), "{d:?}");
    assert!(d.reason.contains("node-a"), "{}", d.reason);
    // ...an unrelated client is not, and the decision lapses with its end.
    let mut stranger = charge(100, "198.51.100.8", "python-requests/2.32");
    stranger
        .request
        .headers
        .retain(|(n, _)| n != "authorization");
    assert!(
        remote
            .decide(&request_keys(&stranger, &hasher), now + 1)
            .is_none()
    );
    assert!(
        remote
            .decide(&request_keys(&other, &hasher), d.until_ms)
            .is_none()
    );
}
