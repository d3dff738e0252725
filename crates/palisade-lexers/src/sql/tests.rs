//! Data-driven tests of the SQL tokenizer on libinjection's token vectors
//! (testdata/libinjection, BSD licence in COPYING there).

use super::debug_tokens;
use std::path::PathBuf;

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

/// Parses a `--TEST--/--INPUT--/--EXPECTED--` file.
fn parse_vector(text: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let find = |pat: &[u8]| text.windows(pat.len()).position(|w| w == pat);
    let input_at = find(b"--INPUT--\n").map_or(0, |i| i + 10);
    let exp_at = find(b"--EXPECTED--").unwrap_or(text.len());
    let mut input = text[input_at..exp_at].to_vec();
    while input.last() == Some(&b'\n') {
        input.pop();
    }
    let expected = text[exp_at..]
        .split(|&c| c == b'\n')
        .skip(1)
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .map(<[u8]>::to_vec)
        .collect();
    (input, expected)
}

fn check_tokens(name: &str, input: &[u8], expected: &[Vec<u8>]) -> Result<(), String> {
    let got: Vec<Vec<u8>> = debug_tokens(input, 0)
        .into_iter()
        .map(|(k, v)| {
            let mut line = vec![k as u8, b' '];
            line.extend_from_slice(&v);
            line
        })
        .collect();
    if got == expected {
        Ok(())
    } else {
        let show = |v: &[Vec<u8>]| {
            v.iter()
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .collect::<Vec<_>>()
        };
        Err(format!(
            "{name}: input {:?}\n  expected {:?}\n  got      {:?}",
            String::from_utf8_lossy(input),
            show(expected),
            show(&got)
        ))
    }
}

#[test]
fn libinjection_token_vectors() {
    let dir = testdata().join("libinjection");
    let mut failures = Vec::new();
    let deviations = std::fs::read_to_string(dir.join("DEVIATIONS")).unwrap();
    let skip: Vec<&str> = deviations
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with("test-tokens-") || skip.contains(&name.as_str()) {
            continue;
        }
        let text = std::fs::read(e.path()).unwrap();
        let (input, expected) = parse_vector(&text);
        n += 1;
        if let Err(m) = check_tokens(&name, &input, &expected) {
            failures.push(m);
        }
    }
    assert!(n > 200, "token vectors missing: {n}");
    assert!(
        failures.is_empty(),
        "{} of {n} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// libinjection's SQLi decision vectors (test-sqli-*): the same verdict
/// (injection or not), except the deviations listed with their reason. The
/// fingerprints differ by design (our folding is our own).
#[test]
fn libinjection_sqli_decisions() {
    let dir = testdata().join("libinjection");
    let deviations = std::fs::read_to_string(dir.join("DEVIATIONS")).unwrap();
    let skip: Vec<&str> = deviations
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let mut entries: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    let (mut n, mut wrong) = (0, Vec::new());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with("test-sqli-") || skip.contains(&name.as_str()) {
            continue;
        }
        let (input, expected) = parse_vector(&std::fs::read(e.path()).unwrap());
        let input = String::from_utf8_lossy(&input).into_owned();
        n += 1;
        let got = super::sqli(&input);
        let expect_sqli = !expected.is_empty();
        if got.is_some() != expect_sqli {
            wrong.push(format!(
                "{name}: {input:?} expected {:?} got {got:?}",
                expected
                    .first()
                    .map(|e| String::from_utf8_lossy(e).into_owned())
            ));
        }
    }
    assert!(n >= 40, "sqli vectors missing: {n}");
    assert!(
        wrong.is_empty(),
        "{} of {n} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
