//! Rule files (TOML and YAML) parse or report diagnostics; never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_detect::rules::parse_rules;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let src = String::from_utf8_lossy(rest);
    let origin = if sel & 1 == 0 {
        "fuzz.toml"
    } else {
        "fuzz.yaml"
    };
    match parse_rules(&src, origin) {
        Ok(_) => {}
        Err(d) => {
            // every diagnostic renders (file, line, fix)
            let _ = d.to_string();
        }
    }
});
