//! JA4 vectors (testdata/ja4.json) through one `check` helper, plus malformed
//! input that must be an error and never a panic.

use palisade_actors::ja4::ja4_from_client_hello;
use serde_json::Value;

fn hex16(s: &str) -> u16 {
    u16::from_str_radix(s, 16).unwrap()
}

fn list16(v: &Value) -> Vec<u16> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| hex16(x.as_str().unwrap()))
        .collect()
}

/// Builds a TLS record holding a ClientHello from the vector's fields.
fn client_hello(v: &Value) -> Vec<u8> {
    let ciphers = list16(&v["ciphers"]);
    let exts = list16(&v["extensions"]);
    let versions = list16(&v["versions"]);
    let sigalgs = list16(&v["sigalgs"]);
    let alpn: Vec<Vec<u8>> = v["alpn"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let s = a.as_str().unwrap();
            if v["alpn_hex"].as_bool().unwrap_or(false) {
                (0..s.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                    .collect()
            } else {
                s.as_bytes().to_vec()
            }
        })
        .collect();
    let mut ext_bytes = Vec::new();
    for e in exts {
        let data: Vec<u8> = match e {
            0x0000 => {
                let name = b"api.example";
                let mut d = Vec::new();
                d.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
                d.push(0);
                d.extend_from_slice(&(name.len() as u16).to_be_bytes());
                d.extend_from_slice(name);
                d
            }
            0x0010 => {
                let mut list = Vec::new();
                for p in &alpn {
                    list.push(p.len() as u8);
                    list.extend_from_slice(p);
                }
                let mut d = (list.len() as u16).to_be_bytes().to_vec();
                d.extend(list);
                d
            }
            0x002b => {
                let mut d = vec![(versions.len() * 2) as u8];
                for x in &versions {
                    d.extend_from_slice(&x.to_be_bytes());
                }
                d
            }
            0x000d => {
                let mut d = ((sigalgs.len() * 2) as u16).to_be_bytes().to_vec();
                for x in &sigalgs {
                    d.extend_from_slice(&x.to_be_bytes());
                }
                d
            }
            _ => vec![0u8; 2],
        };
        ext_bytes.extend_from_slice(&e.to_be_bytes());
        ext_bytes.extend_from_slice(&(data.len() as u16).to_be_bytes());
        ext_bytes.extend(data);
    }
    let mut body = Vec::new();
    body.extend_from_slice(&hex16(v["legacy_version"].as_str().unwrap()).to_be_bytes());
    body.extend_from_slice(&[0x11; 32]);
    body.push(32);
    body.extend_from_slice(&[0x22; 32]);
    body.extend_from_slice(&((ciphers.len() * 2) as u16).to_be_bytes());
    for c in &ciphers {
        body.extend_from_slice(&c.to_be_bytes());
    }
    body.extend_from_slice(&[1, 0]);
    body.extend_from_slice(&(ext_bytes.len() as u16).to_be_bytes());
    body.extend(ext_bytes);
    let mut hs = vec![0x01];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend(body);
    let mut rec = vec![0x16, 0x03, 0x01];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend(hs);
    rec
}

fn check(v: &Value) {
    let name = v["name"].as_str().unwrap();
    let rec = client_hello(v);
    let got = ja4_from_client_hello(&rec).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(got, v["expected"].as_str().unwrap(), "{name}");
    // the bare handshake message (without the record header) gives the same
    assert_eq!(
        ja4_from_client_hello(&rec[5..]).unwrap(),
        got,
        "{name} (handshake only)"
    );
}

#[test]
fn ja4_vectors() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/ja4.json")).unwrap();
    let vectors: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert!(vectors.len() >= 3);
    for v in &vectors {
        check(v);
    }
}

#[test]
fn malformed_hellos_are_errors_not_panics() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/ja4.json")).unwrap();
    let vectors: Vec<Value> = serde_json::from_str(&text).unwrap();
    let rec = client_hello(&vectors[0]);
    // every truncation either parses (extensions cut at a boundary) or errs
    for cut in 0..rec.len() {
        let _ = ja4_from_client_hello(&rec[..cut]);
    }
    assert!(ja4_from_client_hello(&rec[..40]).is_err());
    assert!(ja4_from_client_hello(b"GET / HTTP/1.1\r\n").is_err());
    assert!(ja4_from_client_hello(&[]).is_err());
    // pseudo-random garbage
    let mut x: u64 = 0x1234_5678;
    for _ in 0..2000 {
        let mut buf = vec![0x16, 0x03, 0x01, 0x00, 0x40, 0x01];
        for _ in 0..70 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf.push(x as u8);
        }
        let _ = ja4_from_client_hello(&buf);
    }
}
