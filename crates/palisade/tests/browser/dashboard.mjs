// Drives Debian's headless Chromium through the dashboard as a person would:
// signs in by typing into the login form, visits every page, opens an
// incident and changes its status (a CSRF-protected write through the
// session), checks the audit log, signs out. Prints what each page showed as
// JSON for the Rust test to check; saves screenshots.
//
//   node dashboard.mjs CONSOLE_URL USER PASSWORD SCREENSHOT_DIR
import { chromium } from "playwright-core";

const [url, user, password, shots] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const out = {};
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.setDefaultTimeout(15000);
  await page.goto(url + "/#/overview");
  await page.waitForSelector("form#login");
  out.login = await page.innerText("main");
  await page.screenshot({ path: `${shots}/login.png` });
  await page.fill("input[name=username]", user);
  await page.fill("input[name=password]", password);
  await page.click("button[type=submit]");
  await page.waitForSelector("#k-requests");
  await page.waitForFunction(() => document.querySelector("#logout"));
  out.who = await page.innerText("#who");
  out.overview = await page.innerText("main");
  await page.screenshot({ path: `${shots}/overview.png` });

  // Waits until the page's own heading is shown (the previous page's
  // elements must not count as the new page being ready).
  const heading = async (start) => page.waitForFunction(
    (s) => { const h = document.querySelector("main h1"); return h && h.innerText.startsWith(s); }, start);
  for (const [name, route, title] of [
    ["incidents", "incidents", "Incidents"],
    ["actors", "actors", "Actors"],
    ["catalog", "catalog", "API catalog"],
    ["traffic", "exchanges?flagged=1", "Traffic"],
    ["rules", "rules", "Rules"],
    ["settings", "settings", "Settings"],
  ]) {
    await page.goto(url + "/#/" + route);
    await heading(title);
    out[name] = await page.innerText("main");
    if (name === "traffic") out.traffic_html = await page.content();
    await page.screenshot({ path: `${shots}/${name}.png`, fullPage: false });
  }

  // An actor's page.
  await page.goto(url + "/#/actors");
  await heading("Actors");
  await page.click("main tr[data-href]");
  await page.waitForFunction(() => document.querySelector("main").innerText.includes("Risk over time"));
  out.actor = await page.innerText("main");
  await page.screenshot({ path: `${shots}/actor.png` });

  // An incident, then triage it.
  await page.goto(url + "/#/incidents");
  await heading("Incidents");
  await page.click("main tr[data-href]");
  await page.waitForSelector("#apply");
  out.incident = await page.innerText("main");
  await page.screenshot({ path: `${shots}/incident.png` });
  await page.selectOption("#st", "acknowledged");
  await page.fill("#note", "on it: checking the card BINs");
  await page.click("#apply");
  await page.waitForFunction(() => document.querySelector("main").innerText.includes("on it: checking the card BINs"));
  out.incident_after = await page.innerText("main");

  await page.goto(url + "/#/audit");
  await heading("Audit log");
  await page.waitForFunction(() => document.querySelector("main").innerText.includes("incident.status"), null, { timeout: 10000 }).catch(() => {});
  out.audit = await page.innerText("main");
  await page.screenshot({ path: `${shots}/audit.png` });

  await page.click("#logout");
  await page.waitForSelector("form#login");
  out.after_logout = await page.innerText("main");
} catch (e) {
  out.error = String(e && e.stack || e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
