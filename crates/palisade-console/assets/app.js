// Palisade console: a small single-page app over /api/v1. No build step.
// Every value shown may come from an attacker (paths, fragments, user agents):
// all of it goes through esc() before it touches the DOM.
"use strict";
const S = { csrf: null, token: sessionStorage.getItem("palisade_token"), timer: null, me: null };

function esc(v) {
  return String(v ?? "").replace(/[&<>"'`]/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "`": "&#96;" }[c]));
}
function num(n) { return (n ?? 0).toLocaleString("en-US"); }
function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return s + "s ago"; if (s < 3600) return Math.round(s / 60) + "m ago";
  if (s < 86400) return Math.round(s / 3600) + "h ago"; return Math.round(s / 86400) + "d ago";
}
function time(ms) { return new Date(ms).toISOString().replace("T", " ").slice(0, 19); }
const $main = () => document.getElementById("main");

async function api(path, opts = {}) {
  const headers = Object.assign({ "Accept": "application/json" }, opts.headers || {});
  if (S.token) headers["Authorization"] = "Bearer " + S.token;
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  if (S.csrf && opts.method && opts.method !== "GET") headers["X-CSRF-Token"] = S.csrf;
  const r = await fetch("/api/v1" + path, { method: opts.method || "GET", headers, credentials: "same-origin",
    body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined });
  if (r.status === 401) { throw { auth: true }; }
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw { status: r.status, message: (data.error && data.error.message) || r.statusText };
  return data;
}

function pill(text, cls) { return `<span class="pill ${esc(cls || String(text).toLowerCase())}">${esc(text)}</span>`; }
function risk(r) { return `<span class="risk"><i style="width:${Math.min(100, r | 0)}%"></i></span>${esc(r)}`; }
function delta(now, before) {
  if (!before) return `<span class="delta muted">no data a week before</span>`;
  const d = Math.round((now - before) / before * 100);
  return `<span class="delta ${d > 0 ? "up" : "down"}">${d > 0 ? "+" : ""}${d}% vs a week before</span>`;
}

// A bar chart of series [{ts_ms, a, b}] drawn as SVG: a in blue, b in red on top.
function bars(series, keys, colors, height = 140) {
  const w = 900, pad = 28, n = Math.max(series.length, 1);
  const max = Math.max(1, ...series.map(p => p[keys[0]]));
  const bw = (w - pad) / n;
  let out = `<svg viewBox="0 0 ${w} ${height + 18}" width="100%" role="img" aria-label="traffic chart">`;
  out += `<text x="0" y="10">${num(max)}</text><text x="0" y="${height}">0</text>`;
  series.forEach((p, i) => {
    keys.forEach((k, j) => {
      const h = (p[k] / max) * (height - 12);
      out += `<rect x="${(pad + i * bw).toFixed(1)}" y="${(height - h).toFixed(1)}" width="${Math.max(1, bw - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${colors[j]}"><title>${esc(time(p.ts_ms))}: ${esc(k)} ${num(p[k])}</title></rect>`;
    });
  });
  if (series.length) {
    out += `<text x="${pad}" y="${height + 14}">${esc(time(series[0].ts_ms).slice(11, 16))}</text>`;
    out += `<text x="${w - 40}" y="${height + 14}">${esc(time(series[series.length - 1].ts_ms).slice(11, 16))}</text>`;
  }
  return out + "</svg>";
}

function line(points, height = 120) {
  const w = 900; if (!points.length) return `<p class="muted">No risk history yet.</p>`;
  const t0 = points[0].ts_ms, t1 = Math.max(points[points.length - 1].ts_ms, t0 + 1);
  const xy = points.map(p => `${((p.ts_ms - t0) / (t1 - t0) * (w - 10) + 5).toFixed(1)},${(height - p.risk / 100 * (height - 10)).toFixed(1)}`).join(" ");
  return `<svg viewBox="0 0 ${w} ${height}" width="100%" role="img" aria-label="risk over time"><polyline fill="none" stroke="#ff5c5c" stroke-width="2" points="${xy}"/><text x="0" y="10">100</text><text x="0" y="${height}">0</text></svg>`;
}

const PHASES = ["recon", "probing", "exploitation", "abuse"];
function phases(current) {
  const at = PHASES.indexOf(current);
  return `<div class="phases">${PHASES.map((p, i) => `<div class="phase ${i <= at && at >= 0 ? "on" : ""}">${esc(p)}</div>`).join("")}</div>`;
}

// ---- pages ----
async function overview() {
  const o = await api("/overview?minutes=60");
  const c = o.current, w = o.week_before;
  // one slot per bucket over the whole window, empty ones included
  const byTs = new Map(o.series.map(p => [p.ts_ms, p]));
  const first = Math.floor((o.now_ms - o.window_ms) / o.bucket_ms) * o.bucket_ms;
  const slots = [];
  for (let t = first + o.bucket_ms; t <= o.now_ms; t += o.bucket_ms) slots.push(byTs.get(t) || { ts_ms: t, requests: 0, blocked: 0, flagged: 0 });
  const status = o.status.map(([k, v]) => `${pill(k, k === "2xx" ? "allow" : k === "5xx" ? "block" : "watch")} ${num(v)}`).join(" ");
  return `<h1>Overview <span class="muted">· last hour</span></h1>
  <div class="cards">
    <div class="card"><div class="l">Requests</div><div class="v" id="k-requests">${num(c.exchanges)}</div>${delta(c.exchanges, w.exchanges)}</div>
    <div class="card"><div class="l">Blocked</div><div class="v" id="k-blocked">${num(c.blocked)}</div>${delta(c.blocked, w.blocked)}</div>
    <div class="card"><div class="l">Flagged</div><div class="v">${num(c.flagged)}</div>${delta(c.flagged, w.flagged)}</div>
    <div class="card"><div class="l">Actors tracked</div><div class="v">${num(o.actors_tracked)}</div><span class="muted">${num(o.campaigns)} campaign(s)</span></div>
    <div class="card"><div class="l">Endpoints</div><div class="v">${num(o.endpoints)}</div><span class="muted">${num(o.shadow_endpoints)} shadow</span></div>
  </div>
  <h2>Requests, risky requests and blocks per minute</h2>
  <div class="panel">${bars(slots, ["requests", "flagged", "blocked"], ["#2f6f9f", "#ffb347", "#ff5c5c"])}
    <div class="legend"><span><i style="background:#2f6f9f"></i>requests</span><span><i style="background:#ffb347"></i>flagged (risky)</span><span><i style="background:#ff5c5c"></i>blocked</span></div></div>
  <div class="grid2">
    <div><h2>Riskiest actors</h2><div class="panel"><table><tr><th>Actor</th><th>Risk</th><th>Level</th><th>Phase</th><th>Requests</th></tr>
      ${o.top_actors.map(a => `<tr class="click" data-href="#/actors/${esc(a.id)}"><td>${esc(a.name)}</td><td>${risk(a.risk)}</td><td>${pill(a.level)}</td><td>${esc(a.phase || "")}</td><td>${num(a.requests)}</td></tr>`).join("") || `<tr><td colspan="5" class="muted">No risky actor.</td></tr>`}
    </table></div></div>
    <div><h2>Most targeted endpoints</h2><div class="panel"><table><tr><th>Endpoint</th><th>Flagged</th><th>Blocked</th></tr>
      ${o.top_targets.map(t => `<tr><td class="mono">${esc(t.method)} ${esc(t.path)}</td><td>${num(t.flagged)}</td><td>${num(t.blocked)}</td></tr>`).join("") || `<tr><td colspan="3" class="muted">No attack traffic.</td></tr>`}
    </table></div></div>
  </div>
  <h2>Status codes</h2><div class="panel">${status || `<span class="muted">No traffic.</span>`}</div>`;
}

async function actors() {
  const [a, c] = await Promise.all([api("/actors?limit=200"), api("/campaigns")]);
  return `<h1>Actors <span class="muted">· ${num(a.total)} tracked</span></h1>
  <h2>Campaigns</h2><div class="panel"><table><tr><th>Campaign</th><th>Kind</th><th>Members</th><th>Risk</th><th>Level</th><th>Last seen</th><th>What links them</th></tr>
  ${c.items.map(x => `<tr><td>${esc(x.name)}</td><td>${pill(x.kind, "watch")}</td><td>${num(x.member_count)}</td><td>${risk(x.risk)}</td><td>${pill(x.level)}</td><td>${esc(ago(x.last_seen_ms))}</td><td class="muted">${esc(x.message)}</td></tr>`).join("") || `<tr><td colspan="7" class="muted">No campaign.</td></tr>`}
  </table></div>
  <h2>Actors by risk</h2><div class="panel"><table><tr><th>Actor</th><th>Risk</th><th>Level</th><th>Phase</th><th>Requests</th><th>IPs</th><th>Seen</th><th>Findings</th></tr>
  ${a.items.map(x => `<tr class="click" data-href="#/actors/${esc(x.id)}"><td>${esc(x.name)}</td><td>${risk(x.risk)}</td><td>${pill(x.level)}</td><td>${esc(x.phase || "")}</td><td>${num(x.requests)}</td><td class="mono">${x.ips.map(esc).join("<br>")}</td><td>${esc(ago(x.last_seen_ms))}</td><td>${x.finding_kinds.map(k => pill(k, "watch")).join("")}</td></tr>`).join("") || `<tr><td colspan="8" class="muted">No actor yet.</td></tr>`}
  </table></div>`;
}

async function actor(id) {
  const a = await api("/actors/" + encodeURIComponent(id));
  const ex = a.ips.length ? await api("/exchanges?limit=25&client_ip=" + encodeURIComponent(a.ips[0])) : { items: [] };
  return `<h1>${esc(a.name)} <span class="muted">· actor ${esc(a.id)}</span></h1>
  <div class="cards">
    <div class="card"><div class="l">Risk</div><div class="v">${esc(a.risk)}</div>${pill(a.level)}</div>
    <div class="card"><div class="l">Requests</div><div class="v">${num(a.requests)}</div><span class="muted">${num(a.findings)} finding(s)</span></div>
    <div class="card"><div class="l">First seen</div><div class="v" style="font-size:16px">${esc(time(a.first_seen_ms))}</div></div>
    <div class="card"><div class="l">Last seen</div><div class="v" style="font-size:16px">${esc(ago(a.last_seen_ms))}</div></div>
  </div>
  <h2>Phase: getting their feet wet → really trying</h2>${phases(a.phase)}
  <h2>Risk over time</h2><div class="panel">${line(a.risk_history)}</div>
  <div class="grid2"><div><h2>Identity</h2><div class="panel"><table>
    <tr><th>IPs</th><td class="mono">${a.ips.map(esc).join("<br>")}</td></tr>
    <tr><th>JA4</th><td class="mono">${esc(a.ja4 || "–")}</td></tr><tr><th>HTTP fingerprint</th><td class="mono">${esc(a.ja4h || "–")}</td></tr>
    <tr><th>User agent</th><td>${esc(a.ua_family || "–")}</td></tr><tr><th>Strong keys</th><td>${esc(a.strong_keys)} (session, token, API key, device; hashed)</td></tr>
    <tr><th>Campaign</th><td>${esc(a.campaign_id || "–")}</td></tr><tr><th>Blocks</th><td>${esc(a.blocks)}</td></tr>
  </table></div></div>
  <div><h2>Findings</h2><div class="panel">${a.finding_kinds.map(k => pill(k, "watch")).join(" ") || `<span class="muted">None.</span>`}</div></div></div>
  <h2>Recent requests from ${esc(a.ips[0] || "")}</h2>${exchangeTable(ex.items)}`;
}

function exchangeTable(items) {
  return `<div class="panel"><table><tr><th>Time</th><th>Request</th><th>Status</th><th>Action</th><th>Findings (masked)</th></tr>
  ${items.map(e => `<tr><td>${esc(time(e.ts_ms))}</td><td class="mono">${esc(e.method)} ${esc(e.path)}<br><span class="muted">${esc(e.client_ip)}</span></td><td>${esc(e.status ?? "")}</td><td>${pill(e.action)}${e.enforced ? "" : ` <span class="muted">(not enforced)</span>`}</td>
  <td>${e.findings.map(f => `<div>${pill(f.kind, f.severity)} <span class="mono">${esc(f.location)}</span> <span class="mono muted">${esc(f.fragment)}</span></div>`).join("")}</td></tr>`).join("") || `<tr><td colspan="5" class="muted">No request.</td></tr>`}
  </table></div>`;
}

async function exchanges(params) {
  const flagged = params.get("flagged") === "1";
  const x = await api("/exchanges?limit=100" + (flagged ? "&flagged=true" : ""));
  return `<h1>Traffic</h1><p><a href="#/exchanges${flagged ? "" : "?flagged=1"}">${flagged ? "Show all requests" : "Show only flagged requests"}</a></p>${exchangeTable(x.items)}`;
}

async function catalog() {
  const e = await api("/catalog/endpoints?limit=500");
  let spec = "";
  try {
    const r = await api("/catalog/spec-report");
    const rows = (k) => (r[k] || []).map(x => `<div class="mono">${esc(x.method || "")} ${esc(x.template || x.path || x.operation || JSON.stringify(x))}</div>`).join("") || `<span class="muted">none</span>`;
    spec = `<h2>Against the declared spec</h2><div class="grid2"><div class="panel"><b>Shadow</b> (called, not declared)${rows("shadow")}</div>
      <div class="panel"><b>Zombie</b> (deprecated, still called)${rows("zombie")}</div>
      <div class="panel"><b>Unused</b> (declared, never called)${rows("unused")}</div>
      <div class="panel"><b>Drift</b> (requests unlike the spec)${rows("drift")}</div></div>`;
  } catch (_) { spec = `<p class="muted">No OpenAPI spec imported: add <span class="mono">[spec] files = ["openapi.yaml"]</span> or run <span class="mono">palisade catalog import-spec</span> to find shadow, zombie and unused endpoints.</p>`; }
  return `<h1>API catalog <span class="muted">· ${num(e.total)} endpoint(s) learned from traffic</span></h1>
  <div class="panel"><table><tr><th>Endpoint</th><th>Host</th><th>Requests</th><th>Auth</th><th>Sensitive data</th><th>Flags</th><th>Risk</th></tr>
  ${e.items.map(x => `<tr class="click" data-href="#/catalog/${esc(x.id)}"><td class="mono">${esc(x.method)} ${esc(x.template)}</td><td>${esc(x.host)}</td><td>${num(x.requests)}</td>
    <td>${esc(authText(x.auth))}</td><td>${x.data.map(d => pill(d.class || d.kind || JSON.stringify(d), "watch")).join("")}</td>
    <td>${x.shadow ? pill("shadow") : ""}${x.zombie ? pill("zombie") : ""}</td><td>${risk(Math.min(100, x.posture.score))}</td></tr>`).join("") || `<tr><td colspan="7" class="muted">Nothing learned yet.</td></tr>`}
  </table></div>${spec}`;
}
function authText(a) {
  if (!a) return "";
  const s = a.schemes || a.seen || a;
  if (Array.isArray(s)) return s.map(x => typeof x === "string" ? x : (x.scheme || JSON.stringify(x))).join(", ");
  if (typeof s === "object") return Object.entries(s).filter(([, v]) => typeof v === "number").map(([k, v]) => `${k} ${num(v)}`).join(", ");
  return String(s);
}

async function endpoint(id) {
  const x = await api("/catalog/endpoints/" + encodeURIComponent(id));
  return `<h1 class="mono">${esc(x.method)} ${esc(x.template)}</h1>
  <div class="cards"><div class="card"><div class="l">Requests</div><div class="v">${num(x.requests)}</div></div>
  <div class="card"><div class="l">Posture risk</div><div class="v">${esc(x.posture.score)}</div></div>
  <div class="card"><div class="l">Declared</div><div class="v" style="font-size:14px">${esc(x.declared || (x.shadow ? "shadow (not in spec)" : "no spec"))}</div></div></div>
  <h2>Why this risk</h2><div class="panel">${x.posture.reasons.map(r => `<div>${pill(r.code || r.reason || "reason", "watch")} ${esc(r.detail || r.message || "")}</div>`).join("") || `<span class="muted">Nothing notable.</span>`}</div>
  <h2>Parameters</h2><div class="panel"><table><tr><th>Where</th><th>Name</th><th>Types</th><th>Required</th></tr>
  ${x.params.map(p => `<tr><td>${esc(p.location)}</td><td class="mono">${esc(p.name)}</td><td>${esc((p.types || []).join(", "))}</td><td>${p.required ? "yes" : ""}</td></tr>`).join("")}</table></div>
  <h2>Everything known</h2><pre class="mono">${esc(JSON.stringify(x, null, 2))}</pre>`;
}

async function audit() {
  const [a, v] = await Promise.all([api("/audit?limit=100"), api("/audit/verify")]);
  const items = a.items || a.entries || [];
  return `<h1>Audit log</h1><p>${v.broken ? `<span class="error">Chain broken at entry ${esc(v.broken.seq)}: ${esc(v.broken.reason)}</span>` : `Chain verified: ${num(v.entries)} entries.`}</p>
  <div class="panel"><table><tr><th>#</th><th>Time</th><th>Who</th><th>Action</th><th>Target</th></tr>
  ${items.map(e => `<tr><td>${esc(e.seq)}</td><td>${esc(time(e.ts_ms))}</td><td>${esc(e.actor)}</td><td>${esc(e.action)}</td><td class="mono">${esc(e.target)}</td></tr>`).join("") || `<tr><td colspan="5" class="muted">No entry.</td></tr>`}</table></div>`;
}

function loginForm(message) {
  document.getElementById("who").textContent = "";
  $main().innerHTML = `<form class="login" id="login"><h1>Sign in to Palisade</h1>
    <label>User<input name="username" autocomplete="username" required></label>
    <label>Password<input name="password" type="password" autocomplete="current-password" required></label>
    <button type="submit">Sign in</button><p class="error" id="login-error">${esc(message || "")}</p>
    <p class="muted">The first admin password is printed once when Palisade first starts.</p></form>`;
  document.getElementById("login").addEventListener("submit", async ev => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    try {
      const r = await api("/auth/login", { method: "POST", body: { username: f.get("username"), password: f.get("password") } });
      S.csrf = r.csrf_token; S.me = null; // whoami() draws the user bar from /auth/me
      if (!location.hash || location.hash === "#/login") location.hash = "#/overview"; else route();
    } catch (e) { document.getElementById("login-error").textContent = e.message || "Sign-in failed."; }
  });
}

async function incidents(params) {
  const status = params.get("status") || "";
  const x = await api("/incidents?limit=200" + (status ? "&status=" + encodeURIComponent(status) : ""));
  const tabs = ["", "open", "acknowledged", "resolved", "false_positive"].map(s =>
    `<a href="#/incidents${s ? "?status=" + s : ""}" style="margin-right:12px">${esc(s || "all")}</a>`).join("");
  return `<h1>Incidents <span class="muted">· ${num(x.total)}</span></h1><p>${tabs}</p>
  <div class="panel"><table><tr><th>Incident</th><th>Severity</th><th>Phase</th><th>Status</th><th>Requests</th><th>Endpoints</th><th>Got through</th><th>Last seen</th></tr>
  ${x.items.map(i => `<tr class="click" data-href="#/incidents/${esc(i.id)}"><td>${esc(i.title)}</td><td>${pill(i.severity)}</td><td>${esc(i.phase)}</td><td>${pill(i.status, i.status === "open" ? "block" : "allow")}</td>
    <td>${num(i.counts && (i.counts.requests ?? i.counts.exchanges))}</td><td>${num(i.endpoints)}</td><td>${i.attack_succeeded ? pill("yes", "block") : pill("no", "allow")}</td><td>${esc(ago(i.last_seen_ms))}</td></tr>`).join("") || `<tr><td colspan="8" class="muted">No incident.</td></tr>`}
  </table></div>`;
}

async function incident(id) {
  const i = await api("/incidents/" + encodeURIComponent(id));
  const list = v => Array.isArray(v) ? v : [];
  const steps = list(i.next_steps_text);
  const br = i.blast_radius || {};
  const html = `<h1>${esc(i.title)}</h1>
  <div class="cards">
    <div class="card"><div class="l">Severity</div><div class="v" style="font-size:18px">${pill(i.severity)}</div></div>
    <div class="card"><div class="l">Status</div><div class="v" style="font-size:18px">${pill(i.status, i.status === "open" ? "block" : "allow")}</div></div>
    <div class="card"><div class="l">Opened</div><div class="v" style="font-size:15px">${esc(time(i.opened_ms))}</div></div>
    <div class="card"><div class="l">Last seen</div><div class="v" style="font-size:15px">${esc(ago(i.last_seen_ms))}</div></div>
  </div>
  <h2>What happened</h2><div class="panel"><p>${esc(i.summary_text)}</p></div>
  <h2>Phase: getting their feet wet → really trying</h2>${phases(i.phase)}
  <div class="grid2"><div><h2>Timeline</h2><div class="panel"><table>${list(i.timeline).map(t => `<tr><td class="muted" style="white-space:nowrap">${esc(time(t.ts_ms))}</td><td>${esc(t.text || t.message || t.kind || JSON.stringify(t))}</td></tr>`).join("")}</table></div></div>
  <div><h2>Blast radius</h2><div class="panel"><pre class="mono">${esc(JSON.stringify(br, null, 2))}</pre></div>
  <h2>Who</h2><div class="panel"><table><tr><th>Actors</th><td>${list(i.actors).map(a => esc(a.name || a.id || a)).join(", ")}</td></tr>
    <tr><th>IPs</th><td class="mono">${list(i.ips).slice(0, 12).map(esc).join(", ")}${list(i.ips).length > 12 ? " …" : ""}</td></tr>
    <tr><th>Endpoints</th><td class="mono">${list(i.endpoints).map(e => esc(e.endpoint || e.template || e.path || JSON.stringify(e))).join("<br>")}</td></tr></table></div></div></div>
  <h2>Next steps</h2><div class="panel">${steps.map(s => `<div style="margin-bottom:10px">${esc(s.text || s.title || s.action || "")}${s.config ? `<pre class="mono">${esc(s.config)}</pre>` : ""}</div>`).join("") || `<pre class="mono">${esc(JSON.stringify(i.next_steps_text, null, 2))}</pre>`}</div>
  <h2>Evidence (masked)</h2><div class="panel"><pre class="mono">${esc(JSON.stringify(i.evidence, null, 2))}</pre></div>
  <h2>Triage</h2><div class="panel" id="triage"><select id="st">${["acknowledged", "resolved", "false_positive", "open"].map(s => `<option value="${s}">${s}</option>`).join("")}</select>
    <input id="note" placeholder="note (who and why)" style="width:50%"> <button id="apply">Change status</button> <span id="triage-msg"></span>
    <div>${list(i.notes).map(n => `<p class="muted">${esc(n.who || "")}: ${esc(n.text || "")}</p>`).join("")}</div></div>`;
  setTimeout(() => {
    const b = document.getElementById("apply");
    if (b) b.addEventListener("click", async () => {
      try {
        await api("/incidents/" + encodeURIComponent(id) + "/status", { method: "POST", body: { status: document.getElementById("st").value, note: document.getElementById("note").value } });
        route();
      } catch (e) { document.getElementById("triage-msg").textContent = e.message || "failed"; }
    });
  }, 0);
  return html;
}

async function rules() {
  const r = await api("/rules");
  const html = `<h1>Rules</h1>
  <p class="muted">Custom rules in <span class="mono">${esc(r.file)}</span> (TOML, see docs/rules.md), beside ${num(r.builtin)} built-in rules.
  Check validates every line; Test runs the engine with your text over recent traffic; Save (admins) applies it without dropping connections.</p>
  <div class="panel"><table><tr><th>Rule</th><th>Action</th><th>Description</th><th>Line</th></tr>
  ${r.rules.map(x => `<tr><td class="mono">${esc(x.id)}</td><td>${pill(x.action, x.action === "block" ? "block" : "watch")}</td><td>${esc(x.description)}</td><td>${esc(x.line)}</td></tr>`).join("") || `<tr><td colspan="4" class="muted">No custom rule yet.</td></tr>`}</table></div>
  <h2>Edit</h2><textarea id="rules-text" spellcheck="false" style="width:100%;height:320px" class="mono">${esc(r.text)}</textarea>
  <p><button id="rules-check">Check</button> <button id="rules-test">Test on recent traffic</button> <button id="rules-save">Save</button></p>
  <div id="rules-out" class="panel"><span class="muted">Results appear here.</span></div>`;
  setTimeout(() => {
    const out = document.getElementById("rules-out");
    const text = () => document.getElementById("rules-text").value;
    const show = (h) => { out.innerHTML = h; };
    const fail = (e) => show(`<pre class="error">${esc(e.message || "failed")}</pre>`);
    document.getElementById("rules-check").addEventListener("click", async () => {
      try { const x = await api("/rules/check", { method: "POST", body: { text: text() } }); show(`Valid: ${x.length} rule(s): ${x.map(r => esc(r.id)).join(", ")}`); } catch (e) { fail(e); }
    });
    document.getElementById("rules-test").addEventListener("click", async () => {
      try {
        const x = await api("/rules/test", { method: "POST", body: { text: text(), limit: 500 } });
        show(`<p>Fires on ${num(x.length)} of the last 500 recorded requests.</p><table><tr><th>Request</th><th>Rules</th><th>Verdict</th></tr>${x.slice(0, 100).map(h => `<tr><td class="mono">${esc(h.method)} ${esc(h.path)}</td><td>${h.rules.map(esc).join(", ")}</td><td>${pill(h.verdict)}</td></tr>`).join("")}</table>`);
      } catch (e) { fail(e); }
    });
    document.getElementById("rules-save").addEventListener("click", async () => {
      try { const x = await api("/rules", { method: "PUT", body: { text: text() } }); show(`Saved and applied: ${x.length} rule(s).`); } catch (e) { fail(e); }
    });
  }, 0);
  return html;
}

async function settings() {
  const c = await api("/settings");
  const section = (name, v) => `<h2>${esc(name)}</h2><div class="panel"><pre class="mono">${esc(JSON.stringify(v, null, 2))}</pre></div>`;
  return `<h1>Settings</h1><p class="muted">The running configuration (secrets masked). Change it in the configuration file and send SIGHUP,
    or edit rules on the Rules page; every change is in the audit log.</p>
    ${Object.entries(c).map(([k, v]) => section(k, v)).join("")}`;
}

const ROUTES = [
  [/^\/settings$/, settings],
  [/^\/rules$/, rules],
  [/^\/incidents$/, incidents], [/^\/incidents\/([^/]+)$/, incident],
  [/^\/overview$/, overview], [/^\/actors$/, actors], [/^\/actors\/([^/]+)$/, actor],
  [/^\/catalog$/, catalog], [/^\/catalog\/([^/]+)$/, endpoint], [/^\/exchanges$/, exchanges], [/^\/audit$/, audit],
];

async function whoami() {
  if (S.me) return;
  const me = await api("/auth/me");
  S.me = me; if (me.csrf_token) S.csrf = me.csrf_token;
  const name = (me.user && (me.user.name || me.user)) || me.name || me.token_name || "token";
  document.getElementById("who").innerHTML = `${esc(typeof name === "string" ? name : JSON.stringify(name))} · ${esc(me.role || "")} <button id="logout">Sign out</button>`;
  document.getElementById("logout").addEventListener("click", async () => {
    try { await api("/auth/logout", { method: "POST", body: {} }); } catch (_) {}
    sessionStorage.removeItem("palisade_token"); S.token = null; S.me = null; S.csrf = null; location.hash = "#/login";
  });
}

async function route() {
  clearTimeout(S.timer);
  const [path, query] = (location.hash.slice(1) || "/overview").split("?");
  const params = new URLSearchParams(query || "");
  document.querySelectorAll("nav a").forEach(a => a.classList.toggle("active", path.startsWith(a.getAttribute("href").slice(1))));
  if (path === "/login") { loginForm(); return; }
  try {
    await whoami();
    for (const [re, page] of ROUTES) {
      const m = path.match(re);
      if (m) {
        $main().innerHTML = await page(...m.slice(1).map(decodeURIComponent), params);
        document.querySelectorAll("tr[data-href]").forEach(tr => tr.addEventListener("click", () => { location.hash = tr.dataset.href; }));
        document.getElementById("updated").textContent = "Updated " + new Date().toLocaleTimeString() + " · refreshes every 5 s";
        // live updates by polling (not on an incident, where a note may be half typed)
        if (!/^\/incidents\/./.test(path) && path !== "/rules") S.timer = setTimeout(route, 5000);
        return;
      }
    }
    $main().innerHTML = `<p class="muted">No such page.</p>`;
  } catch (e) {
    if (e.auth) { S.me = null; loginForm(S.token ? "The token was refused." : ""); return; }
    $main().innerHTML = `<p class="error">${esc(e.message || "Something went wrong.")}</p>`;
  }
}

// Automation: a token may be handed in the fragment (#token=...); it is kept in
// this tab only and removed from the address bar at once.
(function takeToken() {
  const m = location.hash.match(/[#&?]token=([A-Za-z0-9_\-.]+)/);
  if (m) {
    S.token = m[1]; sessionStorage.setItem("palisade_token", m[1]);
    const rest = location.hash.replace(/[#&?]?token=[A-Za-z0-9_\-.]+/, "");
    history.replaceState(null, "", location.pathname + (rest.startsWith("#") ? rest : "#/overview" + rest));
  }
})();
window.addEventListener("hashchange", route);
route();
