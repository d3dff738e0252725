//! Measures the lexers on a JSONL corpus (format: /work/shared/data/README.md).
//!
//! `cargo run --release -p palisade-lexers --example corpus -- FILE.jsonl [--whole] [--show CAT]`
//!
//! Every parameter value of the query string and of a form body is
//! percent-decoded (with `+` as space) and given to each lexer; a request is
//! flagged by a lexer when any of its values is. Prints, per label/category,
//! how many requests each lexer flagged. `--show CAT` prints the misses of
//! attack category CAT (or the hits on benign rows when CAT is `benign`).
//! `--value` explains FILE taken as one value (fingerprints and verdicts).
//! `--lines` treats every line of FILE as one benign value and prints hits.
//! `--headers` also judges header values, cookie values and JSON string leaves.
//! `--whole` also judges the whole decoded query string and body as one value.

use std::collections::BTreeMap;
use std::io::BufRead;

use percent_encoding::percent_decode;

fn decode(s: &str) -> String {
    let plus = s.replace('+', " ");
    percent_decode(plus.as_bytes())
        .decode_utf8_lossy()
        .into_owned()
}

fn values(target: &str, body: &str, whole: bool) -> Vec<String> {
    let mut out = Vec::new();
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
    for part in [query, body] {
        // With --whole, the decoded query string / body counts as one more
        // value (a detector may inspect it whole, and `&` inside a payload
        // splits it into pieces otherwise).
        if whole && part.contains('&') {
            out.push(decode(part));
        }
        for kv in part.split('&').filter(|p| !p.is_empty()) {
            let v = kv.split_once('=').map_or(kv, |(_, v)| v);
            out.push(decode(v));
        }
    }
    out
}

/// Header values (cookies split into their values) and the string leaves of
/// a JSON body: what a detector also hands to the lexers.
fn extra_values(j: &serde_json::Value, out: &mut Vec<String>) {
    if let Some(hs) = j["headers"].as_array() {
        for h in hs {
            let name = h[0].as_str().unwrap_or("").to_ascii_lowercase();
            let v = h[1].as_str().unwrap_or("");
            if name == "cookie" {
                for c in v.split(';') {
                    out.push(decode(c.split_once('=').map_or(c, |(_, v)| v).trim()));
                }
            } else if !matches!(
                name.as_str(),
                "host" | "content-length" | "content-type" | "connection"
            ) {
                out.push(v.to_string());
            }
        }
    }
    let body = j["body"].as_str().unwrap_or("").trim_start();
    if (body.starts_with('{') || body.starts_with('['))
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(body)
    {
        let mut stack = vec![v];
        while let Some(v) = stack.pop() {
            match v {
                serde_json::Value::String(s) => out.push(s),
                serde_json::Value::Array(a) => stack.extend(a),
                serde_json::Value::Object(o) => {
                    for (k, v) in o {
                        out.push(k);
                        stack.push(v);
                    }
                }
                _ => {}
            }
        }
    }
}

#[derive(Default)]
struct Row {
    n: usize,
    sqli: usize,
    xss: usize,
    cmdi: usize,
    any: usize,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: corpus FILE.jsonl [--show CATEGORY]");
        std::process::exit(2);
    };
    let whole = args.iter().any(|a| a == "--whole");
    let headers = args.iter().any(|a| a == "--headers");
    if args.iter().any(|a| a == "--value") {
        // Explain one value: its folded SQL streams and every lexer's verdict.
        println!("{:?}", palisade_lexers::sqli_fingerprints(path));
        println!("{:?}", palisade_lexers::sqli(path));
        println!("{:?}", palisade_lexers::xss(path));
        println!("{:?}", palisade_lexers::shell_injection(path));
        return;
    }
    if args.iter().any(|a| a == "--lines") {
        // Every line of the file is one benign value: print the ones flagged.
        let text = std::fs::read(path).expect("read lines");
        let text = String::from_utf8_lossy(&text);
        let (mut n, mut flagged) = (0usize, 0usize);
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            n += 1;
            let hits: Vec<String> = [
                palisade_lexers::sqli(line)
                    .map(|m| format!("sqli {} {} {}", m.context, m.fingerprint, m.reason)),
                palisade_lexers::xss(line).map(|m| format!("xss {} {}", m.context, m.reason)),
                palisade_lexers::shell_injection(line).map(|m| format!("cmdi {}", m.reason)),
            ]
            .into_iter()
            .flatten()
            .collect();
            if !hits.is_empty() {
                flagged += 1;
                println!("FP {line:?} -> {}", hits.join("; "));
            }
        }
        println!(
            "{flagged} of {n} lines flagged ({:.3} %)",
            100.0 * flagged as f64 / n.max(1) as f64
        );
        return;
    }
    let show = args
        .iter()
        .position(|a| a == "--show")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let file = std::fs::File::open(path).expect("open corpus");
    let mut rows: BTreeMap<(String, String), Row> = BTreeMap::new();
    let mut values_seen = 0usize;
    let mut benign_values = 0usize;
    let mut benign_values_flagged = 0usize;
    let started = std::time::Instant::now();
    for line in std::io::BufReader::new(file).lines() {
        let Ok(line) = line else { continue };
        let Ok(j) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        let label = j["label"].as_str().unwrap_or("").to_string();
        let cat = j["category"].as_str().unwrap_or("").to_string();
        let mut vals = values(
            j["target"].as_str().unwrap_or(""),
            j["body"].as_str().unwrap_or(""),
            whole,
        );
        if headers {
            extra_values(&j, &mut vals);
        }
        let (mut s, mut x, mut c) = (None, None, None);
        for v in &vals {
            values_seen += 1;
            let (vs, vx, vc) = (
                palisade_lexers::sqli(v),
                palisade_lexers::xss(v),
                palisade_lexers::shell_injection(v),
            );
            if label == "benign" {
                benign_values += 1;
                if vs.is_some() || vx.is_some() || vc.is_some() {
                    benign_values_flagged += 1;
                }
            }
            if s.is_none() {
                s = vs.map(|m| format!("sqli {} {} {}", m.context, m.fingerprint, m.reason));
            }
            if x.is_none() {
                x = vx.map(|m| format!("xss {} {}", m.context, m.reason));
            }
            if c.is_none() {
                c = vc.map(|m| format!("cmdi {}", m.reason));
            }
        }
        let r = rows.entry((label.clone(), cat.clone())).or_default();
        r.n += 1;
        r.sqli += usize::from(s.is_some());
        r.xss += usize::from(x.is_some());
        r.cmdi += usize::from(c.is_some());
        let any = s.is_some() || x.is_some() || c.is_some();
        r.any += usize::from(any);
        if let Some(want) = &show {
            let joined = vals.join(" | ");
            if (want == "benign" || want == "nonmatch") && label == *want && any {
                println!(
                    "FP {joined:?} -> {}",
                    [s, x, c]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join("; ")
                );
            } else if *want == cat && label == "attack" {
                let own = match cat.as_str() {
                    "sqli" => s.is_some(),
                    "xss" => x.is_some(),
                    "cmdi" => c.is_some(),
                    _ => any,
                };
                if !own {
                    println!("MISS {joined:?}");
                }
            }
        }
    }
    let pct = |a: usize, n: usize| {
        if n == 0 {
            0.0
        } else {
            100.0 * a as f64 / n as f64
        }
    };
    println!("{path}");
    println!(
        "{:<8} {:<18} {:>7} {:>8} {:>8} {:>8} {:>8}",
        "label", "category", "rows", "sqli%", "xss%", "cmdi%", "any%"
    );
    for ((label, cat), r) in &rows {
        println!(
            "{:<8} {:<18} {:>7} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
            label,
            cat,
            r.n,
            pct(r.sqli, r.n),
            pct(r.xss, r.n),
            pct(r.cmdi, r.n),
            pct(r.any, r.n)
        );
    }
    println!(
        "benign values flagged: {benign_values_flagged} of {benign_values} ({:.3} %); {values_seen} values in {:?}",
        pct(benign_values_flagged, benign_values),
        started.elapsed()
    );
}
