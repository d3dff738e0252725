//! Decoding never panics, terminates, and does not grow its input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_detect::decode;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let (d, _) = decode::decode(&s);
    // every layer shortens or keeps the text (entities may turn 4 bytes into a 4-byte char)
    assert!(d.len() <= s.len() * 2 + 4);
    let n = decode::normalize(&d);
    let _ = decode::squeeze(&n);
    let _ = decode::base64_text(&s);
});
