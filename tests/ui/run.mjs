// regent's web UI in a real browser: Debian's headless Chromium driven by
// playwright-core. Builds a fixture registry with the real binary
// (fixture.sh), then checks every page twice: the static build opened from
// disk (file://) and the server (`regent ui --port 0`). On every page: what
// the DOM shows, that no dialog fires (hostile text stays text), that there
// is no console error, page error, CSP violation or request to another
// origin; on the audit page, which data files were requested (the index and
// only the history chunks the page reads). Also runs tests/data/where-cases.json through the page's `--where`
// implementation, and checks that the server shows a new commit on reload.
// Screenshots go to target/ui-screenshots/ (and docs/screenshots/ with --docs).
//
// Usage: node tests/ui/run.mjs [--docs]   (REGENT_BIN: the binary; default target/debug/regent)

import { chromium } from "playwright-core";
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import assert from "node:assert/strict";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const REGENT = path.resolve(process.env.REGENT_BIN || path.join(ROOT, "target/debug/regent"));
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SHOTS = path.join(ROOT, "target/ui-screenshots");
const DOCS = process.argv.includes("--docs") ? path.join(ROOT, "docs/screenshots") : null;
const HOSTILE = "<img src=x onerror=alert(1)>";

const temp = fs.mkdtempSync(path.join(os.tmpdir(), "regent-ui-"));
const repo = path.join(temp, "repo");
const site = path.join(temp, "site");
const gitEnv = {
  ...process.env,
  GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1", HOME: repo, NO_COLOR: "1",
  GIT_AUTHOR_NAME: "alice", GIT_AUTHOR_EMAIL: "alice@example.com",
  GIT_COMMITTER_NAME: "alice", GIT_COMMITTER_EMAIL: "alice@example.com",
};
delete gitEnv.REGENT_ACTOR;
delete gitEnv.GITHUB_ACTOR;

let failures = 0;
let checks = 0;
async function check(name, fn) {
  const started = Date.now();
  try {
    await fn();
    checks++;
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}\n     ${String(e.stack || e).split("\n").slice(0, 6).join("\n     ")}`);
  }
}

function regent(args, options = {}) {
  return execFileSync(REGENT, args, { cwd: repo, env: gitEnv, encoding: "utf8", ...options });
}

// ---- the browser side --------------------------------------------------------------------------

// A page that records every problem a user would never see but must not happen.
async function open(browser, base, allowed) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  // Every URL the page asked for, to check which data files a page loads.
  const requests = [];
  page.on("request", (r) => requests.push(r.url()));
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("dialog", (d) => { problems.push(`dialog: ${d.message()}`); d.dismiss().catch(() => {}); });
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (allowed(url)) return route.continue();
    problems.push(`request to another origin: ${url}`);
    return route.abort();
  });
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
  });
  return { context, page, problems, requests, base };
}

async function visit(t, hash) {
  await t.page.goto(t.base + hash);
  await t.page.waitForFunction((h) => document.body.dataset.ready === h, hash, { timeout: 15000 });
}

async function settle(t, hash) {
  // A route change made by the page itself (a form, a link).
  await t.page.waitForFunction((h) => document.body.dataset.ready === h, hash, { timeout: 15000 });
}

// The data files (`history/0`, …) a fresh load of `hash` asked for, sorted.
async function loads(t, hash) {
  await t.page.goto("about:blank");
  t.requests.length = 0;
  await visit(t, hash);
  const keys = t.requests.map((u) => (u.match(/\/data\/(.+)\.js$/) || [])[1]).filter(Boolean);
  return [...new Set(keys)].sort();
}

const texts = (t, selector) => t.page.$$eval(selector, (els) => els.map((e) => e.textContent.trim()));

// No element that hostile text could have made, and the text itself shown as text.
async function noInjection(t) {
  const injected = await t.page.$$eval("main img, main svg, main iframe, main script, main object", (els) => els.length);
  assert.equal(injected, 0, "no element was made from data");
  const text = await t.page.textContent("main");
  // The fixture holds none of these words: here they would be a JavaScript value shown as text.
  assert.doesNotMatch(text, /null|undefined|NaN|\[object /, "no JavaScript value shown as text");
}

async function shot(t, mode, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${mode}-${name}.png`);
  await t.page.screenshot({ path: file, fullPage: false });
  if (DOCS && mode === "static") {
    fs.mkdirSync(DOCS, { recursive: true });
    fs.copyFileSync(file, path.join(DOCS, `${name}.png`));
  }
}

async function pages(t, mode) {
  await check(`${mode}: experiments`, async () => {
    await visit(t, "#/");
    assert.deepEqual(await texts(t, "#experiments tbody tr"), ["churn3", "sweep1200"]);
    assert.match(await t.page.textContent("#rev"), /^HEAD · [0-9a-f]{12}/);
    await noInjection(t);
  });

  await check(`${mode}: runs table, sort, columns`, async () => {
    await visit(t, "#/experiment/churn");
    assert.deepEqual(await texts(t, "#runs tbody tr td:nth-child(2)"), ["wide", "tuned", "baseline"], "newest first");
    const headers = await texts(t, "#runs thead th");
    assert.ok(headers.includes("metrics.accuracy") && headers.includes("params.optimizer"), headers.join("|"));
    const col = headers.indexOf("metrics.accuracy") + 1;
    assert.deepEqual(await texts(t, `#runs tbody tr td:nth-child(${col})`), ["0.88", "0.94", "0.9"]);
    assert.equal(await t.page.textContent("#runs tbody tr:nth-child(2) td:nth-child(5)"), "1h 5m", "duration");
    await noInjection(t);
    await shot(t, mode, "runs");
    // Sort by accuracy (descending, then ascending) through the header links.
    await t.page.click("#runs thead th >> text=metrics.accuracy");
    await t.page.waitForFunction(() => /sort=metrics.accuracy/.test(document.body.dataset.ready || ""));
    assert.deepEqual(await texts(t, "#runs tbody tr td:nth-child(2)"), ["tuned", "baseline", "wide"]);
    assert.match(await t.page.textContent("section.commands"), /regent run list churn --sort metrics.accuracy(?! --asc)/);
    // Choose columns: only the loss metric.
    await visit(t, "#/experiment/churn?cols=metrics.loss");
    const only = await texts(t, "#runs thead th");
    assert.ok(only.includes("metrics.loss") && !only.includes("metrics.accuracy"), only.join("|"));
    await t.page.click("details.columns summary");
    await t.page.check("details.columns input[value='params.lr']");
    await t.page.click("details.columns button");
    await t.page.waitForFunction(() => /params.lr/.test(document.body.dataset.ready || ""));
    assert.ok((await texts(t, "#runs thead th")).includes("params.lr"));
  });

  await check(`${mode}: --where filter`, async () => {
    await visit(t, "#/experiment/churn");
    await t.page.fill("#where", "params.optimizer == 'adam' and metrics.accuracy > 0.9");
    await t.page.click("form.filter button[type=submit]");
    await t.page.waitForFunction(() => /where=/.test(document.body.dataset.ready || ""));
    assert.deepEqual(await texts(t, "#runs tbody tr td:nth-child(2)"), ["tuned"]);
    assert.equal(await t.page.textContent("#count"), "1 of 3 runs match");
    assert.match(await t.page.textContent("section.commands"), /regent run list churn --where 'params.optimizer == '\\''adam'\\'' and metrics.accuracy > 0.9'/);
    await visit(t, "#/experiment/churn?where=" + encodeURIComponent("metrics.accuracy > > 1"));
    assert.match(await t.page.textContent("#where-error"), /\^ expected a value after `>`/);
  });

  await check(`${mode}: 1200 runs in two chunks, pages`, async () => {
    await visit(t, "#/experiment/sweep");
    assert.equal(await t.page.textContent("#count"), "1200 of 1200 runs");
    assert.equal(await t.page.textContent("#page"), "page 1 of 24");
    assert.equal((await texts(t, "#runs tbody tr")).length, 50);
    await visit(t, "#/experiment/sweep?sort=metrics.accuracy&asc=1&page=2");
    assert.equal(await t.page.textContent("#runs tbody tr:first-child td:nth-child(2)"), "trial-0051");
    await visit(t, "#/experiment/sweep?where=" + encodeURIComponent("params.depth == 8 and metrics.accuracy >= 0.8"));
    const expected = Array.from({ length: 1200 }, (_, k) => k + 1).filter((i) => i % 7 + 2 === 8 && 0.5 + i * 3 / 10000 >= 0.8).length;
    assert.equal(await t.page.textContent("#count"), `${expected} of 1200 runs match`);
  });

  await check(`${mode}: run page`, async () => {
    await visit(t, "#/run/churn/baseline");
    assert.equal(await t.page.textContent("#note"), HOSTILE, "the note is text");
    assert.deepEqual(await texts(t, "#params tbody tr"), ["lr0.1", "optimizersgd"]);
    assert.deepEqual(await texts(t, "#metrics tbody tr"), ["accuracy0.9", "loss0.3"]);
    assert.deepEqual(await texts(t, "#tags tbody tr td:last-child"), ["</script><script>alert(2)</script>"]);
    const charts = await t.page.evaluate(() => regent.charts.map((c) => [c.title, c.plot.data[0].length, c.plot.data[1].filter((v) => v != null).length]));
    assert.deepEqual(charts, [["accuracy", 4, 4], ["loss", 4, 4]]);
    assert.deepEqual(await texts(t, "#registered tbody tr td:nth-child(2)"), ["v1"]);
    await noInjection(t);
    await shot(t, mode, "run");
  });

  await check(`${mode}: compare`, async () => {
    await visit(t, "#/experiment/churn");
    await t.page.check("#runs tr[data-run=baseline] input.select");
    await t.page.check("#runs tr[data-run=tuned] input.select");
    await t.page.click("#compare");
    await t.page.waitForFunction(() => /^#\/compare/.test(document.body.dataset.ready || ""));
    const differing = await texts(t, "#compare-table tr.differs th");
    assert.deepEqual(differing, ["params.comment", "params.lr", "params.optimizer", "metrics.accuracy", "metrics.loss"]);
    assert.equal(await t.page.textContent("#compare-table tr:has(th:text-is('params.comment')) td:nth-child(2)"), "—");
    const charts = await t.page.evaluate(() => regent.charts.map((c) => [c.kind, c.title, c.plot.data.length - 1, Number(c.el.dataset.points)]));
    assert.deepEqual(charts, [
      ["history", "accuracy", 2, 9],
      ["history", "loss", 2, 9],
      ["scatter", "metrics.accuracy against params.lr", 1, 2],
    ]);
    await t.page.selectOption("#scatter-y", "metrics.loss");
    await t.page.waitForFunction(() => /y=metrics.loss/.test(document.body.dataset.ready || ""));
    const scatter = await t.page.evaluate(() => regent.charts.find((c) => c.kind === "scatter").plot.data);
    assert.deepEqual(scatter, [[0.01, 0.1], [0.18, 0.3]]);
    await noInjection(t);
    await shot(t, mode, "compare");
  });

  await check(`${mode}: models`, async () => {
    await visit(t, "#/models");
    const rows = await texts(t, "#models tbody tr");
    assert.equal(rows.length, 2);
    assert.equal(rows[0], "churn" + HOSTILE + "production: v1staging: v3@candidate: v3v33");
    assert.equal(rows[1], "fraud</script><img src=x onerror=alert(4)>staging: v1v11");
    await noInjection(t);
    await shot(t, mode, "models");
  });

  await check(`${mode}: model page and stage timeline`, async () => {
    await visit(t, "#/model/churn");
    assert.equal(await t.page.textContent("#description"), HOSTILE);
    assert.deepEqual(await texts(t, "#versions tbody tr td:first-child"), ["v3", "v2", "v1"]);
    assert.deepEqual(await texts(t, "#versions tr[data-version='3'] td:nth-child(3) .badge"), ["staging", "@candidate"]);
    assert.equal(await t.page.textContent("#versions tr[data-version='1'] td:nth-child(6)"), "churn/baseline");
    const entries = await t.page.$$eval("#timeline-list tr.timeline-entry", (rows) => rows.map((r) => [r.dataset.stage, r.dataset.version, r.dataset.via, r.children[5].textContent]));
    assert.deepEqual(entries, [
      ["staging", "1", "regent", "promote"],
      ["production", "1", "regent", "promote"],
      ["staging", "2", "regent", "promote"],
      ["production", "2", "regent", "promote"],
      ["production", "1", "regent", "rollback"],
      ["staging", "3", "manual", "promotemanual"],
    ]);
    assert.equal(await t.page.$$eval("#timeline .segment", (s) => s.length), 6);
    assert.equal(await t.page.$$eval("#timeline .segment.manual", (s) => s.length), 1);
    assert.match(await t.page.textContent("section.commands"), /regent promote churn 3 --to staging --pr/);
    await noInjection(t);
    await shot(t, mode, "model");
  });

  await check(`${mode}: audit, a page of the history from its newest chunk`, async () => {
    // The fixture's ~1,230 events are two chunks: the newest 1,000 (every
    // model event and most of the sweep's runs) and the rest.
    assert.deepEqual(await loads(t, "#/audit"), ["history/0", "history/index", "registry"]);
    const total = Number((await t.page.textContent("#event-count")).split(" ")[0]);
    assert.ok(total > 1200 && total <= 2000, "every run and model event");
    assert.equal((await texts(t, "#events tbody tr")).length, 100, "a page of events");
    assert.equal(await t.page.textContent("#events-page"), `page 1 of ${Math.ceil(total / 100)}`);
    assert.deepEqual((await texts(t, "#events tbody tr td:nth-child(2)")).slice(0, 2), ["describe", "describe"], "newest first");
    assert.equal(await t.page.$("#event-scan"), null, "nothing left unread");
    // Page 11 is events 1,000 to 1,099: the second chunk alone.
    assert.deepEqual(await loads(t, "#/audit?page=11"), ["history/1", "history/index", "registry"]);
    assert.equal(await t.page.textContent("#events-page"), `page 11 of ${Math.ceil(total / 100)}`);
    assert.deepEqual((await texts(t, "#events tbody tr")).length, Math.min(100, total - 1000));
    await noInjection(t);
  });

  await check(`${mode}: audit filters read chunks newest first until a page is full`, async () => {
    // Every model event is in the newest chunk: the index says the older
    // one holds none of churn's, so it is never read.
    assert.deepEqual(await loads(t, "#/audit?model=churn&stage=production"), ["history/0", "history/index", "registry"]);
    assert.deepEqual(await texts(t, "#events tbody tr td:nth-child(2)"), ["rollback", "promote", "promote"]);
    assert.match(await t.page.textContent("#event-count"), /^3 of \d+ events, newest first$/);
    await visit(t, "#/audit?via=manual&event=promote");
    assert.deepEqual(await texts(t, "#events tbody tr td:nth-child(4)"), ["v3"]);
    // The hand edits are in both chunks: both are read.
    assert.deepEqual(await loads(t, "#/audit?via=manual"), ["history/0", "history/1", "history/index", "registry"]);
    assert.deepEqual(await texts(t, "#events tbody tr td:nth-child(2)"), ["promote", "policy"]);
    // A time range passes over the older chunk, whose events are all earlier.
    assert.deepEqual(await loads(t, "#/audit?since=2026-11-15&until=2026-11-16T23:00:00Z&model=churn"), ["history/0", "history/index", "registry"]);
    assert.deepEqual(await texts(t, "#events tbody tr td:nth-child(2)"), ["rollback", "promote"]);
    assert.deepEqual(await loads(t, "#/audit?until=2026-11-04T10:00:00Z"), ["history/1", "history/index", "registry"]);
    assert.deepEqual(await texts(t, "#events tbody tr td:nth-child(2)"), ["run", "policy", "init"]);

    // Runs fill a page from the newest chunk: the page says how far it read.
    assert.deepEqual(await loads(t, "#/audit?event=run"), ["history/0", "history/index", "registry"]);
    const total = Number((await t.page.textContent("#event-scan")).match(/^scanned 1000 of (\d+) events$/)[1]);
    assert.match(await t.page.textContent("#event-count"), new RegExp(`^at least 9\\d\\d of ${total} events, newest first$`));
    assert.equal(await t.page.textContent("#events-page"), "page 1");
    // The run events newest first, as `regent history` has them; page n shows 100 of them.
    const all = JSON.parse(regent(["history", "--json"])).filter((e) => e.event === "run").reverse().map((e) => e.experiment + "/" + e.run);
    assert.equal(all.length, 1203);
    const trials = (n) => all.slice((n - 1) * 100, n * 100);
    const runs = () => texts(t, "#events tbody tr td:nth-child(3)");
    assert.deepEqual(await runs(), trials(1));
    // The next page goes on from where this one stopped, and back.
    await t.page.click(".pager a:text-is('older ›')");
    await t.page.waitForFunction(() => /page=2/.test(document.body.dataset.ready || ""));
    assert.deepEqual(await runs(), trials(2));
    assert.equal(await t.page.textContent("#events-page"), "page 2");
    await t.page.click(".pager a:text-is('‹ newer')");
    await t.page.waitForFunction(() => /page=1(?!\d)/.test(document.body.dataset.ready || ""));
    assert.doesNotMatch(await t.page.evaluate(() => location.hash), /from=/, "page 1 reads from the newest");
    assert.deepEqual(await runs(), trials(1));
    // A page across the chunks' boundary, and the last page, where every
    // chunk has been read and the count is exact.
    await visit(t, "#/audit?event=run&page=10");
    assert.deepEqual(await runs(), trials(10));
    await visit(t, "#/audit?event=run&page=12");
    assert.deepEqual(await runs(), trials(12));
    // Page 13 starts in the older chunk, where page 12 stopped: it reads that chunk alone.
    const older = await t.page.getAttribute(".pager a:text-is('older ›')", "href");
    assert.match(older, /page=13&from=(\d+%2C){11}\d+$/);
    assert.deepEqual(await loads(t, older), ["history/1", "history/index", "registry"]);
    assert.deepEqual(await runs(), ["churn/wide", "churn/tuned", "churn/baseline"]);
    assert.deepEqual(await runs(), trials(13));
    assert.equal(await t.page.textContent("#event-count"), `1203 of ${total} events, newest first`);
    assert.equal(await t.page.textContent("#events-page"), "page 13 of 13");
    assert.equal(await t.page.$("#event-scan"), null);
    await t.page.click(".pager a:text-is('‹ newer')");
    await t.page.waitForFunction(() => /page=12/.test(document.body.dataset.ready || ""));
    assert.deepEqual(await runs(), trials(12));
    await noInjection(t);
  });

  await check(`${mode}: what version of a model was in a stage at a time, from the model's file`, async () => {
    await visit(t, "#/audit?model=fraud");
    assert.equal(await t.page.inputValue("#at-model"), "fraud", "the model filter's model");
    await visit(t, "#/audit");
    await t.page.selectOption("#at-model", "churn");
    await t.page.selectOption("#at-stage", "production");
    await t.page.fill("#at-time", "2026-11-15 12:00");
    await t.page.click("section.at button");
    await t.page.waitForFunction(() => /at=/.test(document.body.dataset.ready || ""));
    assert.deepEqual(await texts(t, "#at-result tbody tr td:nth-child(2)"), ["v2"]);
    const asked = "#/audit?at_model=churn&at_stage=production&at=" + encodeURIComponent("2026-11-16 12:00");
    assert.deepEqual(await loads(t, asked), ["history/0", "history/index", "model/churn", "registry"]);
    assert.deepEqual(await texts(t, "#at-result tbody tr td:nth-child(2)"), ["v1"]);
    await visit(t, "#/audit?at_model=churn&at_stage=staging&at=2026-11-20");
    assert.deepEqual(await texts(t, "#at-result tbody tr"), ["churnv32026-11-19 10:00:00Zmanual"]);
    assert.match(await t.page.textContent("section.at section.commands"), /regent show churn --at 2026-11-20/);
    await shot(t, mode, "audit");
    await visit(t, "#/audit?at_model=fraud&at_stage=staging&at=2026-11-20");
    assert.deepEqual(await texts(t, "#at-result tbody tr"), ["fraudv12026-11-18 10:00:00Zpromote"]);
    await visit(t, "#/audit?at_model=fraud&at_stage=production&at=2026-11-20");
    assert.equal(await t.page.textContent("#at-result"), "No version of fraud was in production at 2026-11-20 00:00:00Z.");
    await visit(t, "#/audit?at_model=churn&at_stage=staging&at=2026-11-01");
    assert.equal(await t.page.textContent("#at-result"), "No version of churn was in staging at 2026-11-01 00:00:00Z.");
    await noInjection(t);
  });

  await check(`${mode}: policy in words`, async () => {
    await visit(t, "#/policy");
    const production = await t.page.textContent("#policy-stages li[data-stage=production]");
    assert.match(production, /must have been in staging before/);
    assert.match(production, /accuracy must be at least 0\.8/);
    assert.match(production, /accuracy may be at most 0\.05 worse than the version now in the stage/);
    assert.match(production, /A rollback needs no approval/);
    assert.match(await t.page.textContent("#policy-aliases"), /@champion: needs 1 approval from alice, @acme\/ml-leads/);
    assert.match(await t.page.textContent("#policy-owners"), /policy owners: alice/);
    await noInjection(t);
    await shot(t, mode, "policy");
  });

  await check(`${mode}: no console error, dialog, CSP violation or outside request`, async () => {
    assert.deepEqual(t.problems, []);
  });
}

// ---- the conformance cases -------------------------------------------------------------------

async function whereCases(t) {
  await check("where-cases.json through the UI's JavaScript", async () => {
    const file = JSON.parse(fs.readFileSync(path.join(ROOT, "tests/data/where-cases.json"), "utf8"));
    await visit(t, "#/policy");
    const failed = await t.page.evaluate((file) => {
      const out = [];
      for (const c of file.cases) {
        const record = c.record || file.record;
        const lookup = (p) => (Object.prototype.hasOwnProperty.call(record, p) ? RegentWhere.fieldValue(record[p]) : null);
        try {
          const got = RegentWhere.parse(c.where).matches(lookup);
          if (!("expect" in c) || got !== c.expect) out.push(`${JSON.stringify(c.where)}: matched ${got}`);
        } catch (e) {
          if (!(e instanceof RegentWhere.QueryError)) out.push(`${JSON.stringify(c.where)}: ${e}`);
          else if (e.column !== c.error_column) out.push(`${JSON.stringify(c.where)}: ${e.message}`);
        }
      }
      return out;
    }, file);
    assert.deepEqual(failed, []);
    assert.ok(file.cases.length > 50);
  });
}

// ---- main ----------------------------------------------------------------------------------------

async function main() {
  execFileSync("bash", [path.join(ROOT, "tests/ui/fixture.sh"), REGENT, repo], { stdio: ["ignore", "ignore", "inherit"] });
  regent(["ui", "build", site], { stdio: ["ignore", "ignore", "inherit"] });

  const server = spawn(REGENT, ["ui", "--port", "0"], { cwd: repo, env: gitEnv, stdio: ["ignore", "pipe", "inherit"] });
  // Whatever ends this process (a failure, a timeout's signal), the server ends with it.
  process.on("exit", () => server.kill());
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(1));
  const url = await new Promise((resolve, reject) => {
    let out = "";
    server.stdout.on("data", (d) => {
      out += d;
      if (out.includes("\n")) resolve(out.split("\n")[0].trim());
    });
    server.on("exit", (code) => reject(new Error(`regent ui exited with ${code}`)));
  });
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  try {
    const index = pathToFileURL(path.join(site, "index.html")).href;
    const staticTab = await open(browser, index, (u) => u.startsWith("file://" + site) || u.startsWith("data:"));
    await pages(staticTab, "static");
    await whereCases(staticTab);
    await staticTab.context.close();

    const served = await open(browser, url, (u) => u.startsWith(url) || u.startsWith("data:"));
    await pages(served, "served");
    await check("served: the policy header on every response, a new commit on reload", async () => {
      const response = await served.page.goto(url + "?fresh=1#/experiment/churn");
      assert.match(response.headers()["content-security-policy"], /^default-src 'none'; script-src 'self'; style-src 'self'/);
      assert.equal(response.headers()["x-content-type-options"], "nosniff");
      await settle(served, "#/experiment/churn");
      assert.equal((await texts(served, "#runs tbody tr")).length, 3);
      regent(["-q", "run", "log", "churn", "--name", "late", "--metric", "accuracy=0.99"]);
      await served.page.reload();
      await settle(served, "#/experiment/churn");
      assert.deepEqual((await texts(served, "#runs tbody tr td:nth-child(2)")).slice(0, 1), ["late"]);
      assert.deepEqual(served.problems, []);
    });
    await served.context.close();
  } finally {
    await browser.close();
    server.kill();
    fs.rmSync(temp, { recursive: true, force: true });
  }
  console.log(`${checks} passed, ${failures} failed; screenshots in ${path.relative(ROOT, SHOTS)}/`);
  process.exit(failures ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
