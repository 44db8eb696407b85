// A person reading `trustplane scan --report` output in Chromium at 1280 px: the page fits
// the window, the findings filters narrow the table, remediation reads as formatted text,
// evidence starts folded; a failed scan's page says it failed.
// Usage: node report.mjs REPORT_HTML FAILED_REPORT_HTML SCREENSHOT_DIR
import { chromium } from "playwright-core";
import { pathToFileURL } from "node:url";

const [report, failed, shots] = process.argv.slice(2);

function check(ok, what) {
  if (!ok) throw new Error(what);
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  // Self-contained: any request other than the file itself is a failure.
  const requests = [];
  page.on("request", (r) => requests.push(r.url()));
  await page.goto(pathToFileURL(report).href);

  // Nothing wider than the window: not the page, not one table.
  const widths = await page.evaluate(() => ({
    page: document.documentElement.scrollWidth,
    view: window.innerWidth,
    widest: Math.max(...[...document.querySelectorAll("table, svg, pre")].map((e) => e.getBoundingClientRect().right)),
  }));
  check(widths.page <= widths.view, `page is ${widths.page} px wide in a ${widths.view} px window`);
  check(widths.widest <= widths.view, `an element ends at ${widths.widest} px in a ${widths.view} px window`);

  // Scan facts and charts.
  for (const id of ["#scan-date", "#scan-accounts", "#scan-regions", "#scan-version"]) {
    check(((await page.locator(id).textContent()) || "").trim().length > 0, `${id} is empty`);
  }
  check((await page.locator("svg[aria-label$='score per section']").count()) > 0, "no section chart");
  check((await page.locator("svg[aria-label$='score per account']").count()) > 0, "no account chart");

  // Filters: each select narrows the rows to its value; the count follows.
  const rows = page.locator("#findings tbody tr");
  const total = await rows.count();
  check(total > 0, "no findings rows");
  const visible = () => page.locator("#findings tbody tr:not([hidden])");
  for (const name of ["status", "severity", "service", "account", "region"]) {
    const select = page.locator(`.filters select[name=${name}]`);
    const values = await select.locator("option").evaluateAll((os) => os.map((o) => o.value).filter((v) => v));
    check(values.length > 0, `no ${name} options`);
    const value = values[values.length > 1 ? 1 : 0];
    await select.selectOption(value);
    const shown = await visible().count();
    const attrs = await visible().evaluateAll((rs, n) => rs.map((r) => r.dataset[n]), name);
    check(shown > 0 && shown < total || values.length === 1, `${name}=${value} shows ${shown} of ${total}`);
    check(attrs.every((v) => v === value), `${name}=${value} shows other rows: ${[...new Set(attrs)]}`);
    check((await page.locator("#shown").textContent()) === String(shown), "the shown count is stale");
    await select.selectOption("");
  }
  check((await visible().count()) === total, "clearing the filters does not bring every row back");
  // Status and severity together: the failed critical findings.
  await page.locator(".filters select[name=status]").selectOption("FAIL");
  await page.locator(".filters select[name=severity]").selectOption("critical");
  const critical = await visible().evaluateAll((rs) => rs.map((r) => [r.dataset.status, r.dataset.severity]));
  check(critical.length > 0 && critical.every(([s, v]) => s === "FAIL" && v === "critical"), `FAIL+critical: ${critical}`);
  await page.locator(".filters select[name=status]").selectOption("");
  await page.locator(".filters select[name=severity]").selectOption("");
  // Search: free text over the row.
  const needle = ((await rows.first().locator("code").first().textContent()) || "").trim();
  await page.getByLabel("search").fill(needle);
  const found = await visible().evaluateAll((rs) => rs.map((r) => r.textContent));
  check(found.length > 0 && found.every((t) => t.includes(needle)), `search ${needle}`);
  await page.getByLabel("search").fill("no-such-thing-anywhere");
  check((await visible().count()) === 0, "a search for nothing shows rows");
  await page.getByLabel("search").fill("");

  // Findings are sorted by severity among the failed ones.
  const order = ["critical", "high", "medium", "low", "informational"];
  const sev = await rows.evaluateAll((rs) => rs.filter((r) => r.dataset.status === "FAIL").map((r) => r.dataset.severity));
  for (let i = 1; i < sev.length; i++) {
    check(order.indexOf(sev[i - 1]) <= order.indexOf(sev[i]), `severity order broken at ${i}: ${sev[i - 1]} then ${sev[i]}`);
  }

  // Evidence is folded until asked for.
  const evidence = page.locator("#findings details.evidence");
  check((await evidence.count()) > 0, "no evidence");
  check((await page.locator("#findings details.evidence[open]").count()) === 0, "evidence starts open");
  check(!(await evidence.first().locator("pre").isVisible()), "evidence is visible while folded");
  await evidence.first().locator("summary").click();
  check(await evidence.first().locator("pre").isVisible(), "evidence does not unfold");

  // Remediation: rendered lists and code, no Markdown markers, on a failed finding.
  const fix = page.locator("#findings details.fix").first();
  await fix.locator("summary").click();
  const box = fix.locator(".remediation");
  await box.locator("li, p").first().waitFor();
  const text = (await box.innerText()) || "";
  check(text.length > 40, "remediation is empty");
  for (const raw of ["**", "```", "](", "  1. "]) {
    check(!text.includes(raw), `raw Markdown ${JSON.stringify(raw)} in the remediation`);
  }
  const body = await page.locator("body").innerText();
  for (const raw of ["**", "```", "]("]) {
    check(!body.includes(raw), `raw Markdown ${JSON.stringify(raw)} on the page`);
  }
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: `${shots}/report.png`, fullPage: false });
  await page.screenshot({ path: `${shots}/report-full.png`, fullPage: true });

  check(errors.length === 0, `script errors: ${errors}`);
  check(requests.every((u) => u.startsWith("file:")), `outside requests: ${requests.filter((u) => !u.startsWith("file:"))}`);

  // A failed scan: marked, and no findings table pretending to be a result.
  await page.goto(pathToFileURL(failed).href);
  const state = page.locator("#scan-state");
  check((await state.getAttribute("data-state")) === "failed", "the failed scan is not marked");
  check(((await state.textContent()) || "").startsWith("Scan failed:"), "no failure text");
  check((await page.locator("#findings").count()) === 0, "a failed scan shows findings");
  await page.screenshot({ path: `${shots}/report-failed.png` });
  console.log(JSON.stringify({ rows: total, widths }));
} finally {
  await browser.close();
}
