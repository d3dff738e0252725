//! `palisade ingest`: the passive sensor over a file or standard input. The
//! exchanges go through detection (recorded, never enforced) and the same
//! analysis as the gateway's (actors, catalog), into the same store.

use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, anyhow};
use palisade_sensor::Format;

use crate::config::Config;
use crate::engine::passive_inspect;
use crate::node;

pub async fn run(input: &Path, format: Option<Format>, config: Config) -> anyhow::Result<()> {
    let engine = Arc::new(
        config
            .detect
            .build()
            .map_err(|d| anyhow!("[detect]:\n{d}"))?,
    );
    let analysis = node::start_analysis(&config)?;
    let sink = analysis.pipeline.sink();
    let input = input.to_path_buf();
    let (report, format) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let mut reader: Box<dyn BufRead> = if input.as_os_str() == "-" {
            Box::new(std::io::BufReader::new(std::io::stdin()))
        } else {
            let f = std::fs::File::open(&input).with_context(|| format!("cannot open {}", input.display()))?;
            Box::new(std::io::BufReader::with_capacity(1 << 20, f))
        };
        let format = match format {
            Some(f) => f,
            None => {
                let head = reader.fill_buf()?.to_vec();
                Format::detect(&head).ok_or_else(|| anyhow!(
                    "cannot tell the format of {} (fix: pass --format ndjson|nginx-json|envoy|har)", input.display()))?
            }
        };
        let report = palisade_sensor::read_exchanges(reader, format, |mut ex| {
            passive_inspect(&engine, &mut ex);
            sink.send_blocking(ex);
        })?;
        Ok((report, format))
    })
    .await??;
    let live = analysis.live.clone();
    let stats = analysis.pipeline.stats();
    tokio::task::spawn_blocking(move || analysis.pipeline.shutdown()).await?;
    println!("ingested ({format}): {report}");
    println!(
        "stored {} exchange(s) in {}",
        stats.stored.load(std::sync::atomic::Ordering::Relaxed),
        config.store.data_dir.display()
    );
    let endpoints = live.endpoints.load();
    println!(
        "catalog: {} endpoint(s); `palisade catalog list --data-dir {}` shows them",
        endpoints.len(),
        config.store.data_dir.display()
    );
    Ok(())
}
