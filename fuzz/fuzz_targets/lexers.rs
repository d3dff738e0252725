//! The SQL, HTML/JS and shell lexers take any text without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let _ = palisade_lexers::sql::sqli(&s);
    let _ = palisade_lexers::sql::sqli_fingerprints(&s);
    let _ = palisade_lexers::html::xss(&s);
    let _ = palisade_lexers::shell::shell_injection(&s);
});
