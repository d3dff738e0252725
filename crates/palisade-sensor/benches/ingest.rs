//! Ingest throughput: records parsed per second for NDJSON exchanges and
//! nginx JSON access log lines (realistic payments-API records, ~10% with a
//! JSON request body).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use palisade_sensor::{Format, read_exchanges};

const LINES: usize = 10_000;

fn ndjson_input() -> Vec<u8> {
    let mut out = String::new();
    for i in 0..LINES {
        let body = if i % 10 == 0 {
            r#","body":"{\"amount\":1999,\"currency\":\"eur\",\"payment_method\":\"pm_card_visa\"}""#
        } else {
            ""
        };
        out.push_str(&format!(
            r#"{{"id":"r{i}","ts_ms":{ts},"client_ip":"198.51.{a}.{b}","request":{{"method":"POST","target":"/v1/payment_intents/pi_{i}/confirm?expand=charges","host":"api.payshop.example","version":"HTTP/1.1","headers":[["content-type","application/json"],["user-agent","python-requests/2.32.3"],["authorization","Bearer tok_{i}"]]{body}}},"response":{{"status":200,"headers":[["content-type","application/json"]]}},"timings":{{"total_us":1200,"upstream_us":900}}}}"#,
            ts = 1_795_242_296_000u64 + i as u64,
            a = i % 250,
            b = i % 200,
        ));
        out.push('\n');
    }
    out.into_bytes()
}

fn nginx_input() -> Vec<u8> {
    let mut out = String::new();
    for i in 0..LINES {
        let body = if i % 10 == 0 {
            r#"{\"amount\":1999,\"currency\":\"eur\",\"payment_method\":\"pm_card_visa\"}"#
        } else {
            "-"
        };
        out.push_str(&format!(
            r#"{{"msec":"{s}.{ms:03}","remote_addr":"198.51.{a}.{b}","remote_port":"{port}","request_id":"{i:016x}","request":"POST /v1/payment_intents/pi_{i}/confirm?expand=charges HTTP/1.1","status":"200","body_bytes_sent":"734","request_time":"0.012","upstream_response_time":"0.010","http_host":"api.payshop.example","http_user_agent":"python-requests/2.32.3","http_referer":"-","http_x_forwarded_for":"-","http_content_type":"application/json","sent_http_content_type":"application/json","ssl_protocol":"TLSv1.3","ssl_server_name":"api.payshop.example","request_body":"{body}"}}"#,
            s = 1_795_242_296u64 + (i / 1000) as u64,
            ms = i % 1000,
            a = i % 250,
            b = i % 200,
            port = 40_000 + i % 20_000,
        ));
        out.push('\n');
    }
    out.into_bytes()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Elements(LINES as u64));
    for (name, format, input) in [
        ("ndjson", Format::Ndjson, ndjson_input()),
        ("nginx-json", Format::NginxJson, nginx_input()),
    ] {
        // the vectors must be clean, or the figure measures error paths
        let report = read_exchanges(&input[..], format, |_| ()).unwrap();
        assert_eq!(report.parsed as usize, LINES, "{name}: {report}");
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut n = 0usize;
                read_exchanges(&input[..], format, |e| n += e.request.target.len()).unwrap();
                n
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
