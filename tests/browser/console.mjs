// The admin console and My Apps in Chromium: a User Administrator signs in (registering an
// authenticator app, as conditional access asks of administrators), finds a person, disables
// them; a person with an AWS role sees one tile per role and reaches the SAML post to AWS.
// axe-core checks every page for serious or critical WCAG 2.1 AA violations.
// Usage: node console.mjs BASE_URL ADMIN_UPN USER_UPN AWS_USER_UPN PASSWORD SCREENSHOT_DIR
import { createRequire } from "node:module";
import { chromium } from "playwright-core";
import { totp } from "./totp.mjs";

const [base, adminUpn, userUpn, awsUpn, password, shots] = process.argv.slice(2);
const axePath = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

// Our pages forbid inline script; axe is injected past the policy for the check only.
async function accessible(page, name) {
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  if (bad.length) {
    throw new Error(`${name}: ${bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target).join(", ")}`).join("; ")}`);
  }
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

async function signIn(page, upn) {
  await page.goto(`${base}/login`);
  await page.getByLabel("User name").fill(upn);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.waitForURL((u) => u.pathname === "/" || u.pathname === "/account/security");
  if (new URL(page.url()).pathname === "/account/security") {
    await page.getByRole("button", { name: "Add an authenticator app" }).click();
    const uri = await page.locator("#otpauth").textContent();
    const secret = new URL(uri).searchParams.get("secret");
    await page.getByLabel("Code shown by the app").fill(totp(secret));
    await page.getByRole("button", { name: "Confirm" }).click();
    await page.waitForURL(`${base}/`);
  }
}

try {
  const admin = await (await browser.newContext({ bypassCSP: true })).newPage();
  await signIn(admin, adminUpn);
  await admin.goto(`${base}/admin`);
  if (!(await admin.locator("#roles").textContent()).includes("User Administrator")) {
    throw new Error("the overview does not name the role");
  }
  await accessible(admin, "admin-overview");

  await admin.getByRole("link", { name: "Users" }).click();
  await admin.getByLabel("Sign-in or display name starts with").fill(userUpn.slice(0, 3));
  await admin.getByRole("button", { name: "Search" }).click();
  await admin.waitForURL(/search=/);
  await accessible(admin, "admin-users");
  await admin.getByRole("link", { name: userUpn }).click();
  await admin.locator("#upn").waitFor();
  await accessible(admin, "admin-user");
  await admin.getByRole("button", { name: "Disable sign-in" }).click();
  await admin.getByRole("button", { name: "Enable sign-in" }).waitFor();
  if ((await admin.locator("#state").textContent()) !== "disabled") throw new Error("not shown as disabled");
  await admin.goto(`${base}/admin/audit`);
  await accessible(admin, "admin-audit-refused");

  // A person with AWS roles: one tile per role, and a click posts the assertion to AWS.
  const person = await (await browser.newContext({ bypassCSP: true })).newPage();
  await signIn(person, awsUpn);
  const tiles = person.locator("#my-apps a.tile");
  if ((await tiles.count()) !== 2) throw new Error(`tiles: ${await person.locator("main").innerHTML()}`);
  await accessible(person, "my-apps");
  let posted = null;
  await person.route("https://signin.aws.amazon.com/**", async (route) => {
    posted = route.request().postData();
    await route.fulfill({ status: 200, contentType: "text/html", body: "<title>AWS</title>" });
  });
  await tiles.first().click();
  await person.waitForURL("https://signin.aws.amazon.com/**");
  if (!posted || !posted.includes("SAMLResponse=")) throw new Error(`no SAML post: ${posted}`);
  console.log("console and My Apps checked");
} finally {
  await browser.close();
}
