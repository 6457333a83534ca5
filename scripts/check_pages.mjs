// The pages a data team looks at, checked in headless Chromium (Debian's package) through
// playwright-core: `studyflow serve` on a demo root, the index, the study page and every file
// report. Each page loads with no console error, no page error and no failed request; every link
// resolves; every plot renders with ink in its area (screenshot pixels, not just markup).
//
// usage: node scripts/check_pages.mjs STUDYFLOW_BINARY ROOT   (NODE_TOOLS: where playwright-core
// and pngjs are installed, default .tools/node; CHROMIUM: the browser, default /usr/bin/chromium)
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { createRequire } from "node:module";
import { resolve } from "node:path";

// playwright-core and pngjs live in the folder scripts/test installs them into.
const require = createRequire(resolve(process.env.NODE_TOOLS || ".tools/node", "package.json"));
const { chromium } = require("playwright-core");
const { PNG } = require("pngjs");

const [binary, root] = process.argv.slice(2);
if (!binary || !root) {
  console.error("usage: node scripts/check_pages.mjs STUDYFLOW_BINARY ROOT");
  process.exit(2);
}

const failures = [];
const fail = (msg) => {
  failures.push(msg);
  console.error(`FAIL ${msg}`);
};

// Start the server on a free port and read its address from the first line it prints.
const server = spawn(binary, ["serve", "--root", root, "--port", "0"], {
  stdio: ["ignore", "pipe", "inherit"],
});
const base = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error("serve printed no address within 30 s")), 30000);
  createInterface({ input: server.stdout }).on("line", (line) => {
    const m = line.match(/on (http:\/\/127\.0\.0\.1:\d+)\//);
    if (m) {
      clearTimeout(timer);
      resolve(m[1]);
    }
  });
  server.on("exit", (code) => reject(new Error(`serve exited with ${code}`)));
});

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

const version = browser.version();

/** Fraction of pixels in a PNG that differ from the most common colour (the background). */
function inkFraction(png) {
  const img = PNG.sync.read(png);
  const counts = new Map();
  for (let i = 0; i < img.data.length; i += 4) {
    const key = (img.data[i] << 16) | (img.data[i + 1] << 8) | img.data[i + 2];
    counts.set(key, (counts.get(key) || 0) + 1);
  }
  const total = img.width * img.height;
  const background = Math.max(...counts.values());
  return (total - background) / total;
}

async function visit(page, url, what) {
  const errors = [];
  const onConsole = (m) => {
    if (m.type() === "error" || m.type() === "warning") errors.push(`console ${m.type()}: ${m.text()}`);
  };
  const onPageError = (e) => errors.push(`page error: ${e.message}`);
  const onFailed = (r) => errors.push(`request failed: ${r.url()}`);
  page.on("console", onConsole);
  page.on("pageerror", onPageError);
  page.on("requestfailed", onFailed);
  const resp = await page.goto(url, { waitUntil: "load" });
  page.off("console", onConsole);
  page.off("pageerror", onPageError);
  page.off("requestfailed", onFailed);
  if (!resp || resp.status() !== 200) fail(`${what}: ${url} answered ${resp && resp.status()}`);
  for (const e of errors) fail(`${what}: ${e}`);
  // Every link on the page resolves.
  const hrefs = await page.$$eval("a[href]", (as) => as.map((a) => a.href));
  for (const href of hrefs) {
    const r = await page.request.get(href);
    if (r.status() !== 200) fail(`${what}: link ${href} answered ${r.status()}`);
  }
  return hrefs;
}

const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
let reports = 0;
let plots = 0;
try {
  const studyLinks = (await visit(page, `${base}/`, "index")).filter((h) => h.includes("/studies/"));
  if (studyLinks.length === 0) fail("index: no study links");
  for (const study of studyLinks) {
    const links = await visit(page, study, `study page ${study}`);
    const rows = await page.$$eval("table.files tr", (r) => r.length - 1);
    if (rows < 1) fail(`${study}: no file rows`);
    const reportLinks = links.filter((h) => h.endsWith("/report.html"));
    const succeeded = await page.$$eval("td.SUCCEEDED", (c) => c.length);
    if (reportLinks.length !== succeeded) {
      fail(`${study}: ${succeeded} files succeeded but ${reportLinks.length} report links`);
    }
    for (const report of reportLinks) {
      await visit(page, report, `report ${report}`);
      reports += 1;
      const svgs = await page.$$("svg.plot");
      if (svgs.length === 0) fail(`${report}: no plots`);
      for (const svg of svgs) {
        const box = await svg.boundingBox();
        if (!box || box.width < 100 || box.height < 20) {
          fail(`${report}: a plot has no size (${JSON.stringify(box)})`);
          continue;
        }
        const ink = inkFraction(await svg.screenshot());
        if (ink < 0.02) fail(`${report}: a plot is blank (${(ink * 100).toFixed(2)} % ink)`);
        plots += 1;
      }
      const tables = await page.$$eval("details table", (t) => t.length);
      if (tables === 0) fail(`${report}: no endpoint tables`);
    }
  }
} finally {
  await browser.close();
  server.kill();
}
if (reports === 0) fail("no report was checked");
console.log(`pages: ${reports} reports, ${plots} plots checked in Chromium ${version}`);
if (failures.length) {
  console.error(`${failures.length} page check(s) failed`);
  process.exit(1);
}
