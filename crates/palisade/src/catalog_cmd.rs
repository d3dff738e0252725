//! `palisade catalog ...`: the learned API catalog, read from (and, for
//! `import-spec`, written to) the store of a data directory.
//!
//! A running node persists its catalog every few seconds and at shutdown; run
//! `import-spec` while it is stopped, or list the spec under `[spec] files` so
//! every start imports it.

use std::path::Path;

use anyhow::{Context as _, anyhow};
use palisade_analysis::catalog::CATALOG_DOC;
use palisade_catalog::{Catalog, CatalogConfig, Spec};
use palisade_store::{Store, StoreSpec};

fn load(spec: &StoreSpec) -> anyhow::Result<Catalog> {
    let store = Store::open_read_only_spec(spec).with_context(|| {
        format!(
            "no store at {} (fix: pass --data-dir with the directory a gateway wrote to, or --postgres with its PostgreSQL URL)",
            spec.describe()
        )
    })?;
    let cfg = CatalogConfig::default();
    match store.get_doc(CATALOG_DOC)? {
        Some(v) => Catalog::from_snapshot(v, &cfg).map_err(|e| anyhow!("stored catalog: {e}")),
        None => cfg.build().map_err(|e| anyhow!("{e}")),
    }
}

pub fn list(spec: &StoreSpec) -> anyhow::Result<()> {
    let cat = load(spec)?;
    let eps = cat.endpoints();
    println!(
        "{:<16} {:<7} {:<20} {:<40} {:>8} {:>5} {:<6} data",
        "id", "method", "host", "template", "requests", "risk", "flags"
    );
    for e in &eps {
        let mut flags = String::new();
        if e.shadow {
            flags.push('S');
        }
        if e.zombie {
            flags.push('Z');
        }
        let data: Vec<String> = e
            .data
            .iter()
            .map(|d| {
                serde_json::to_value(d)
                    .ok()
                    .and_then(|v| v["class"].as_str().map(str::to_string))
                    .unwrap_or_default()
            })
            .collect();
        println!(
            "{:<16} {:<7} {:<20} {:<40} {:>8} {:>5} {:<6} {}",
            e.id.to_string(),
            e.method,
            e.host,
            e.template,
            e.requests,
            e.posture.score,
            flags,
            data.join(",")
        );
    }
    println!("{} endpoint(s). Flags: S shadow, Z zombie.", eps.len());
    if cat.spec().is_some() {
        let r = cat.spec_report();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
            "shadow": r.shadow.len(), "zombie": r.zombie.len(), "unused": r.unused.len(), "drift": r.drift.len()}))?
        );
    }
    Ok(())
}

pub fn show(spec: &StoreSpec, what: &str) -> anyhow::Result<()> {
    let cat = load(spec)?;
    let e = cat
        .endpoints()
        .into_iter()
        .find(|e| {
            e.id.to_string() == what
                || e.template == what
                || format!("{} {}", e.method, e.template) == what
        })
        .ok_or_else(|| {
            anyhow!(
                "no endpoint `{what}` (fix: give an id or a template from `palisade catalog list`)"
            )
        })?;
    println!("{}", serde_json::to_string_pretty(&e)?);
    Ok(())
}

pub fn export(spec: &StoreSpec, format: &str, out: Option<&Path>) -> anyhow::Result<()> {
    let cat = load(spec)?;
    let v = match format {
        "openapi" => cat.export_openapi(),
        "json" => {
            serde_json::json!({"endpoints": cat.endpoints(), "spec_report": cat.spec().map(|_| cat.spec_report())})
        }
        other => {
            return Err(anyhow!(
                "unknown format `{other}` (fix: use openapi or json)"
            ));
        }
    };
    let text = serde_json::to_string_pretty(&v)?;
    match out {
        Some(p) => std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))?,
        None => println!("{text}"),
    }
    Ok(())
}

pub fn import_spec(store_at: &StoreSpec, file: &Path) -> anyhow::Result<()> {
    let spec = Spec::from_file(file).map_err(|e| anyhow!("{e}"))?;
    let ops = spec.operations.len();
    let mut cat =
        load(store_at).or_else(|_| CatalogConfig::default().build().map_err(|e| anyhow!("{e}")))?;
    let changes = cat.import_spec(spec);
    let mut store = Store::open_spec(store_at)?;
    store.put_doc(CATALOG_DOC, &cat.to_snapshot(), palisade_core::now_ms())?;
    let r = cat.spec_report();
    println!(
        "imported {} operation(s) from {}; {} endpoint(s) re-matched",
        ops,
        file.display(),
        changes.len()
    );
    println!(
        "shadow {}, zombie {}, unused {}, drift {}",
        r.shadow.len(),
        r.zombie.len(),
        r.unused.len(),
        r.drift.len()
    );
    Ok(())
}
