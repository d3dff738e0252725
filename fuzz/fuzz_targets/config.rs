//! Configuration: the `[detect]`, `[actors]`, `[catalog]` and `[incidents]`
//! sections as they sit in palisade.toml, parsed from TOML and validated by
//! the library code the binary calls. Never panics; every problem is an error
//! that renders.
//!
//! The file's own loader (`crates/palisade/src/config.rs`) lives in the
//! binary crate. The `[gateway]` and `[[route]]` sections are covered by the
//! property test `hostile_gateway_config_never_panics` in
//! `crates/palisade-gateway/tests/hostile.rs` instead: linking the gateway
//! (tokio, hyper, rustls) here would double the fuzz build CI waits for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Deserialize;

#[derive(Deserialize)]
struct Sections {
    #[serde(default)]
    detect: palisade_detect::DetectConfig,
    #[serde(default)]
    actors: palisade_actors::ActorsConfig,
    #[serde(default)]
    catalog: palisade_catalog::CatalogConfig,
    #[serde(default)]
    incidents: palisade_incidents::EngineConfig,
}

fuzz_target!(|data: &[u8]| {
    let src = String::from_utf8_lossy(data);
    let Ok(mut s) = toml::from_str::<Sections>(&src) else {
        return;
    };
    // Rule files are read from disk and the built-in set is large: both have
    // their own target (`rules`) and tests.
    s.detect.rules.clear();
    s.detect.builtin_rules = false;
    let _ = s.detect.build().map_err(|d| d.to_string());
    let _ = s
        .actors
        .build(palisade_core::KeyedHasher::insecure_for_tests())
        .map_err(|e| e.to_string());
    let _ = s.catalog.build().map_err(|e| e.to_string());
    let _ = palisade_incidents::IncidentEngine::new(s.incidents);
});
