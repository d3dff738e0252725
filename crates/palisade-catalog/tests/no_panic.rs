//! Nothing panics on input: arbitrary targets, headers, bodies and spec
//! documents go through `observe`, the views, the export, the snapshot and
//! `Spec::parse`, the baselines and the schema check; the catalog and the
//! baselines stay within their limits.

mod common;

use palisade_catalog::{Catalog, CatalogConfig, Spec, classify_value};
use proptest::prelude::*;

fn small_cfg() -> CatalogConfig {
    CatalogConfig {
        max_endpoints: 50,
        max_nodes: 200,
        max_params_per_endpoint: 8,
        ..Default::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn observe_never_panics(
        paths in proptest::collection::vec("(/[a-zA-Z0-9_%@.~-]{0,12}){0,6}(\\?[a-z=&%0-9]{0,20})?", 1..40),
        body in "\\PC{0,200}",
        header in "\\PC{0,40}",
        status in 100u16..600,
    ) {
        let mut cat = small_cfg().build().unwrap();
        for (i, p) in paths.iter().enumerate() {
            let target = if p.is_empty() { "/".to_string() } else { p.clone() };
            let ex = common::req("h", if i % 2 == 0 { "GET" } else { "POST" }, &target,
                &[("Authorization", header.as_str()), ("X-Api-Key", header.as_str()), ("Cookie", header.as_str())],
                &body, status, &body);
            cat.observe(&ex, i as i64);
            let _ = cat.template_of(Some("h"), &target);
            let _ = cat.check_against_spec(&ex);
        }
        let (n, _, _) = cat.stats();
        prop_assert!(n <= 50);
        for e in cat.endpoints() {
            prop_assert!(e.params.len() <= 8);
        }
        let _ = cat.export_openapi();
        let back = Catalog::from_snapshot(cat.to_snapshot(), &small_cfg()).unwrap();
        prop_assert_eq!(back.stats().0, n);
    }

    #[test]
    fn baselines_and_schema_checks_never_panic(
        paths in proptest::collection::vec("(/[a-zA-Z0-9_%@.{}~-]{0,12}){0,6}(\\?[a-z=&%0-9\\[\\]]{0,20})?", 1..40),
        body in "\\PC{0,200}",
        status in 100u16..600,
        size in 0u64..u64::MAX,
    ) {
        use palisade_catalog::{BaselineConfig, SchemaConfig, SchemaMode, SchemaSnapshot, SchemaSource};
        let mut cat = small_cfg().build().unwrap();
        let mut base = BaselineConfig { window: "100ms".into(), min_windows: 1, min_actors: 1, min_support: 1, max_endpoints: 5, max_params: 4, max_values: 2, ..Default::default() }.build().unwrap();
        for round in 0..2 {
            for (i, p) in paths.iter().enumerate() {
                let target = if p.is_empty() { "/".to_string() } else { p.clone() };
                let mut ex = common::req("h", if i % 2 == 0 { "GET" } else { "POST" }, &target, &[], &body, status, &body);
                if let Some(r) = ex.response.as_mut() { r.body.size = size; }
                ex.client_ip = std::net::IpAddr::from([10, 0, 0, i as u8]);
                cat.observe(&ex, i as i64);
                if let Some(at) = cat.last_observed() {
                    let _ = base.observe(at, &ex, true, (round * 1000 + i * 7) as i64);
                }
            }
        }
        prop_assert!(base.stats().0 <= 5);
        let learned = base.learned_schemas();
        for l in &learned {
            prop_assert!(l.params.len() <= 4);
        }
        let cfg = SchemaConfig { mode: SchemaMode::Block, source: SchemaSource::Learned, ..Default::default() };
        let snap = SchemaSnapshot::build(&cfg, None, &learned);
        for p in &paths {
            let mut ex = common::req("h", "POST", if p.is_empty() { "/" } else { p }, &[], &body, status, "");
            let _ = snap.check(&mut ex);
        }
        let back = palisade_catalog::Baselines::from_snapshot(base.to_snapshot(), base.config()).unwrap();
        prop_assert_eq!(back.stats(), base.stats());
    }

    #[test]
    fn classify_never_panics(name in proptest::option::of("\\PC{0,20}"), value in "\\PC{0,60}") {
        let _ = classify_value(name.as_deref(), &value);
    }

    #[test]
    fn spec_parse_never_panics(src in "\\PC{0,300}") {
        let _ = Spec::parse(&src, "fuzz");
        let _ = Spec::parse(&format!("{{\"openapi\":\"3.1.0\",\"paths\":{src}}}"), "fuzz");
        let _ = Spec::parse(&format!("openapi: 3.0.0\npaths:\n  /a/{{x}}:\n    get: {src}\n"), "fuzz");
    }
}
