// A person in Chromium behind Trustplane's identity-aware proxy: signs in from the office and
// downloads a file, is refused the download from a café while pages still load, is sent back to
// sign-in after an administrator revokes the session, and is asked for a TOTP code on a step-up
// path. The test driving this script (crates/server/tests/proxy/mod.rs) owns the node's clock:
// the script asks it through stdout ("ASK ...") and reads the answer from stdin.
// Usage: node proxy.mjs WIKI_URL UPN PASSWORD OFFICE_IP CAFE_IP SCREENSHOT_DIR
import { readFile } from "node:fs/promises";
import readline from "node:readline";
import { chromium } from "playwright-core";

const [wiki, upn, password, officeIp, cafeIp, shots] = process.argv.slice(2);
const answers = readline.createInterface({ input: process.stdin });
const lines = answers[Symbol.asyncIterator]();
async function ask(question) {
  console.log(`ASK ${question}`);
  const { value } = await lines.next();
  return value;
}
function check(ok, what) {
  if (!ok) throw new Error(what);
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const context = await browser.newContext({ acceptDownloads: true });
  await context.setExtraHTTPHeaders({ "x-forwarded-for": officeIp });
  const page = await context.newPage();

  async function signIn() {
    await page.waitForURL(/\/login/);
    await page.getByLabel("User name").fill(upn);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.waitForURL(`${wiki}/`);
  }

  // From the office: sign in through Trustplane, and the download works.
  await page.goto(`${wiki}/`);
  await signIn();
  check((await page.locator("h1").textContent()) === "Wiki home", "the wiki's home page");
  const [download] = await Promise.all([
    page.waitForEvent("download", { timeout: 10000 }).catch(async (e) => {
      throw new Error(`no download (${e.message}); the page is ${page.url()}: ${await page.content()}`);
    }),
    page.click("#report"),
  ]);
  const saved = await readFile(await download.path(), "utf8");
  check(saved.includes("salary"), `the file downloaded: ${saved}`);
  console.log("office: download works");

  // From a café: the download is replaced by a page naming the policy; pages still load.
  await context.setExtraHTTPHeaders({ "x-forwarded-for": cafeIp });
  await page.goto(`${wiki}/files/report.csv`);
  const blocked = await page.content();
  check(blocked.includes("Download blocked"), "the download is blocked");
  check(blocked.includes("Block downloads outside the office"), "the page names the policy");
  check(!blocked.includes("salary"), "nothing of the file is shown");
  await page.screenshot({ path: `${shots}/download-blocked.png` });
  await page.goto(`${wiki}/`);
  check((await page.locator("h1").textContent()) === "Wiki home", "pages still load from the café");
  console.log("café: download blocked, pages load");

  // An administrator revokes the sessions: the next request goes back to sign-in.
  await context.setExtraHTTPHeaders({ "x-forwarded-for": officeIp });
  check((await ask("REVOKE")) === "ok", "revoked");
  await page.goto(`${wiki}/`);
  await page.waitForURL(/\/login/);
  console.log("revoked: back at sign-in");
  await signIn();

  // A step-up path asks for a TOTP code once the person has an authenticator app.
  await page.goto(`${await ask("TRUSTPLANE")}/account/security`);
  await page.getByRole("button", { name: "Add an authenticator app" }).click();
  const uri = await page.locator("#otpauth").textContent();
  await page.getByLabel("Code shown by the app").fill(await ask(`CODE ${uri}`));
  await page.getByRole("button", { name: "Confirm" }).click();
  await page.waitForURL(/\/account\/security/);
  // Enrolling proved a factor; later it no longer counts for step-up.
  check((await ask("ADVANCE 660000")) === "ok", "clock moved");
  await page.goto(`${wiki}/admin`);
  await page.waitForURL(/\/account\/verify/);
  check((await ask("ADVANCE 30000")) === "ok", "clock moved");
  await page.getByLabel("Code", { exact: true }).fill(await ask(`CODE ${uri}`));
  await page.getByRole("button", { name: "Verify" }).click();
  await page.waitForURL(`${wiki}/admin`);
  check((await page.locator("h1").textContent()) === "Wiki admin", "the step-up path opens");
  await page.screenshot({ path: `${shots}/admin.png` });
  console.log("step-up: TOTP asked, then back to the admin page");
} finally {
  await browser.close();
  // The answers' stream would keep Node running.
  answers.close();
}
