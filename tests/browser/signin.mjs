// A person at a browser: signs in with a password, adds an authenticator app on the
// security-info page, signs out, and signs in again with password + TOTP.
// Usage: node signin.mjs BASE_URL UPN PASSWORD SCREENSHOT_DIR
import { chromium } from "playwright-core";
import { totp } from "./totp.mjs";

const [base, upn, password, shots] = process.argv.slice(2);

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

  await page.goto(`${base}/account/security`);
  await page.getByRole("button", { name: "Add an authenticator app" }).click();
  const uri = await page.locator("#otpauth").textContent();
  const secret = new URL(uri).searchParams.get("secret");
  await page.getByLabel("Code shown by the app").fill(totp(secret));
  await page.getByRole("button", { name: "Confirm" }).click();
  await page.waitForURL(`${base}/account/security`);
  if (!(await page.content()).includes("Authenticator app")) throw new Error("the app is not listed");

  await page.goto(`${base}/`);
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(`${base}/login`);

  await page.getByLabel("User name").fill(upn);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.waitForURL(/\/login\/mfa/);
  // The enrolment code is spent; the next time step's code is within the accepted window.
  await page.getByLabel("Code", { exact: true }).fill(totp(secret, 1));
  await page.getByRole("button", { name: "Verify" }).click();
  await page.waitForURL(`${base}/`);
  const shown = await page.locator("#upn").textContent();
  if (shown !== upn) throw new Error(`home page shows ${shown}`);
  await page.screenshot({ path: `${shots}/home.png` });
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === "tp_session");
  if (!session || !session.httpOnly || !session.secure || session.sameSite !== "Lax") {
    throw new Error("session cookie attributes: " + JSON.stringify(session));
  }
  console.log("signed in with password + TOTP as " + shown);
} finally {
  await browser.close();
}
