//! Path templating vectors: lists of observed paths and the templates expected
//! for them afterwards (`testdata/templating.json`).

mod common;

use std::collections::BTreeMap;

use palisade_catalog::CatalogConfig;
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    #[serde(default)]
    host: String,
    #[serde(default)]
    config: Option<CatalogConfig>,
    learn: Vec<String>,
    expect: BTreeMap<String, String>,
}

#[test]
fn templating_vectors() {
    common::check("templating.json", |c: &Case| {
        let mut cat = c
            .config
            .clone()
            .unwrap_or_default()
            .build()
            .map_err(|e| e.to_string())?;
        for p in &c.learn {
            let (host, path) = p.split_once(' ').unwrap_or((c.host.as_str(), p.as_str()));
            cat.observe(&common::get(host, path, 200), 1);
        }
        let mut bad = Vec::new();
        for (p, want) in &c.expect {
            let (host, path) = p.split_once(' ').unwrap_or((c.host.as_str(), p.as_str()));
            let got = cat.template_of(Some(host), path);
            if got.as_deref() != Some(want.as_str()) {
                bad.push(format!("{p}: want {want}, got {got:?}"));
            }
            // the endpoint is known under the same template
            if got.is_some()
                && cat.endpoint_for(Some(host), "GET", path).is_none()
                && c.learn.contains(p)
            {
                bad.push(format!("{p}: no endpoint"));
            }
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(bad.join("; "))
        }
    });
}

#[test]
fn scanners_do_not_create_endpoints_from_404s() {
    let mut cat = CatalogConfig::default().build().unwrap();
    for i in 0..50 {
        cat.observe(
            &common::get("api.example", &format!("/wp-admin/probe{i}.php"), 404),
            1,
        );
    }
    assert_eq!(cat.stats().0, 0);
    cat.observe(&common::get("api.example", "/v1/charges", 200), 1);
    cat.observe(&common::get("api.example", "/v1/charges", 404), 2);
    let eps = cat.endpoints();
    assert_eq!(eps.len(), 1);
    assert_eq!(eps[0].requests, 2, "a 404 on a known endpoint still counts");
}

#[test]
fn memory_is_bounded_by_max_endpoints() {
    let cfg = CatalogConfig {
        max_endpoints: 10,
        ..Default::default()
    };
    let mut cat = cfg.build().unwrap();
    for i in 0..100 {
        cat.observe(&common::get("h", &format!("/r{i}/x"), 200), 1);
    }
    let (n, dropped, _) = cat.stats();
    assert_eq!(n, 10);
    assert_eq!(dropped, 90);
}
