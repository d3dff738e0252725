//! OpenAPI import (JSON or YAML) parses or errs; lookups on what it built
//! never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_catalog::Spec;

fuzz_target!(|data: &[u8]| {
    let src = String::from_utf8_lossy(data);
    if let Ok(spec) = Spec::parse(&src, "fuzz.yaml") {
        let _ = spec.shapes();
        for (m, p) in [
            ("GET", "/"),
            ("POST", "/v1/a/1"),
            ("get", "//x/{y}"),
            ("DELETE", ""),
        ] {
            let _ = spec.operation_for(m, p);
        }
    }
});
