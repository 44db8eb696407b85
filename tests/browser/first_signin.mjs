// A person's first sign-in with a password someone else set (the bootstrap administrator's
// one-time password, or one an administrator typed in): the pages must lead through changing
// it, then registering a second factor where conditional access requires one, to a working
// session, without sending the browser round in circles.
// Usage: node first_signin.mjs BASE_URL UPN ONE_TIME_PASSWORD NEW_PASSWORD SCREENSHOT_DIR
import { chromium } from "playwright-core";
import { totp } from "./totp.mjs";

const [base, upn, oneTime, chosen, shots] = process.argv.slice(2);

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${base}/login`);
  await page.getByLabel("User name").fill(upn);
  await page.getByLabel("Password").fill(oneTime);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();

  // Step 1: the password that was set for the person is replaced, and the page says why.
  await page.waitForURL(`${base}/account/password`);
  await page.locator("#must-change").waitFor();
  await page.screenshot({ path: `${shots}/1-password.png` });
  await page.getByLabel("Current password").fill(oneTime);
  await page.getByLabel("New password", { exact: true }).fill(chosen);
  await page.getByLabel("New password again").fill(chosen);
  await page.getByRole("button", { name: "Change password" }).click();

  // Step 2: a second factor, where required; the page says why.
  await page.waitForURL(`${base}/account/security`);
  await page.locator("#mfa-required").waitFor();
  await page.screenshot({ path: `${shots}/2-security.png` });
  await page.getByRole("button", { name: "Add an authenticator app" }).click();
  const uri = await page.locator("#otpauth").textContent();
  const secret = new URL(uri).searchParams.get("secret");
  await page.getByLabel("Code shown by the app").fill(totp(secret));
  await page.getByRole("button", { name: "Confirm" }).click();

  // Step 3: on to a working session.
  await page.waitForURL(`${base}/`);
  const shown = await page.locator("#upn").textContent();
  if (shown !== upn) throw new Error(`home page shows ${shown}`);
  for (const path of ["/account/security", "/account/roles", "/account/sessions"]) {
    await page.goto(`${base}${path}`);
    if (new URL(page.url()).pathname !== path) throw new Error(`${path} sent the browser to ${page.url()}`);
  }
  await page.screenshot({ path: `${shots}/3-signed-in.png` });

  // The new password works and the old one no longer does, with the registered app.
  await page.goto(`${base}/`);
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(`${base}/login`);
  await page.getByLabel("User name").fill(upn);
  await page.getByLabel("Password").fill(oneTime);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.locator(".error").waitFor();
  await page.getByLabel("User name").fill(upn);
  await page.getByLabel("Password").fill(chosen);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.waitForURL(/\/login\/mfa/);
  await page.getByLabel("Code", { exact: true }).fill(totp(secret, 1));
  await page.getByRole("button", { name: "Verify" }).click();
  await page.waitForURL(`${base}/`);
  console.log("first sign-in completed for " + upn);
} finally {
  await browser.close();
}
