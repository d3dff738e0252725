//! Every detector's vectors (`testdata/vectors/<kind>.jsonl`), each run
//! through the whole engine: extraction, decoding, detection, scoring.

mod common;

fn run(kind: &str) {
    let engine = common::engine();
    let vs = common::vectors(kind);
    assert!(!vs.is_empty());
    let failures: Vec<String> = vs
        .iter()
        .filter_map(|v| common::check(&engine, v).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} {kind} vectors failed:\n{}",
        failures.len(),
        vs.len(),
        failures.join("\n")
    );
}

macro_rules! detector_vectors {
    ($($kind:ident),*) => { $( #[test] fn $kind() { run(stringify!($kind)); } )* };
}

detector_vectors!(
    sqli,
    xss,
    cmdi,
    traversal,
    ssrf,
    xxe,
    ssti,
    nosql,
    ldap,
    jndi,
    crlf,
    proto_pollution,
    code,
    scanner,
    protocol
);
