// A person with an eligible role: signs in with a password, opens "My roles", activates the
// role with a justification, and sees it under Active with the time left.
// Usage: node roles.mjs BASE_URL UPN PASSWORD ROLE_NAME SCREENSHOT_DIR
import { chromium } from "playwright-core";

const [base, upn, password, role, shots] = process.argv.slice(2);

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${base}/login`);
  await page.getByLabel("User name").fill(upn);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.waitForURL(`${base}/`);

  await page.getByRole("link", { name: "My roles" }).click();
  await page.waitForURL(`${base}/account/roles`);
  const eligible = page.locator("section.eligible", { hasText: role });
  if ((await eligible.count()) !== 1) throw new Error(`${role} is not listed as eligible`);
  await eligible.getByLabel("Minutes").fill("45");
  await eligible.getByLabel("Justification").fill("checking the audit trail");
  await eligible.getByRole("button", { name: "Activate" }).click();
  await page.waitForURL(`${base}/account/roles`);

  const active = page.locator("tr.active", { hasText: role });
  if ((await active.count()) !== 1) throw new Error(`${role} is not active:\n${await page.content()}`);
  const left = Number(await active.locator("td.remaining").getAttribute("data-seconds"));
  if (!(left > 0 && left <= 45 * 60)) throw new Error(`time left: ${left}`);
  const shown = await active.locator("td.remaining").textContent();
  if (!/min/.test(shown)) throw new Error(`time left shown as ${shown}`);
  await page.screenshot({ path: `${shots}/roles.png` });
  console.log(`${role} active, ${shown} left`);
} finally {
  await browser.close();
}
