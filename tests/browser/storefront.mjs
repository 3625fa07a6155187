// Drives the storefront in Debian's Chromium and writes what it saw as JSON; the assertions live
// in test_storefront.py, which starts the pipeline and reads this report.
//
//   node storefront.mjs <base-url> <report.json> <screenshot.png> <api-pid>
//
// Each scenario runs in a page of its own, so console errors and CSP violations are attributed
// to the scenario that caused them.
import { writeFileSync } from "node:fs";
import { chromium } from "playwright-core";

const [base, reportPath, screenshotPath, apiPid] = process.argv.slice(2);
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
// Root needs --no-sandbox; the rest keep Chromium from dialling out on a closed network.
const ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];
const FULFILLED_WITHIN_MS = 60_000;

// Runs before any of the page's scripts: records CSP violations and each status the page shows.
function observe() {
  window.__csp = [];
  document.addEventListener("securitypolicyviolation", (e) => {
    window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
  });
  window.__statuses = [];
  new MutationObserver(() => {
    const shown = document.getElementById("order-status")?.textContent;
    if (shown && shown !== "…" && shown !== window.__statuses.at(-1)) window.__statuses.push(shown);
  }).observe(document, { subtree: true, childList: true, characterData: true });
}

const report = {};
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
const context = await browser.newContext({ viewport: { width: 1100, height: 760 }, locale: "en-GB" });
await context.addInitScript(observe);

async function scenario(name, body) {
  const page = await context.newPage();
  const console_ = [];
  const posts = [];
  page.on("console", (m) => m.type() === "error" && console_.push(m.text()));
  page.on("pageerror", (e) => console_.push(`uncaught: ${e.message}`));
  page.on("request", (r) => r.method() === "POST" && r.url().endsWith("/api/orders") && posts.push(r.headers()["idempotency-key"]));
  const result = { ok: false };
  try {
    Object.assign(result, await body(page));
    result.ok = true;
  } catch (error) {
    result.failure = String(error && error.stack ? error.stack : error);
    result.bodyText = await page.locator("body").innerText().catch(() => "");
  }
  result.consoleErrors = console_;
  result.cspViolations = await page.evaluate(() => window.__csp).catch(() => ["(page gone)"]);
  result.postedKeys = posts;
  report[name] = result;
  await page.close();
}

async function signIn(page, customer) {
  await page.getByLabel("Customer", { exact: true }).fill(customer);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("#signed-in").filter({ hasText: "Signed in as" }).waitFor();
}

async function openShop(page) {
  await page.goto(`${base}/`);
  await page.locator("#products input[data-sku]").first().waitFor();
}

const orderIdOf = (page) => page.url().split("#/orders/")[1];

await scenario("browse", async (page) => {
  await openShop(page);
  const rows = page.locator("#products tr");
  return {
    rows: await rows.count(),
    firstRow: (await rows.first().innerText()).replace(/\s+/g, " ").trim(),
    focused: await page.evaluate(() => document.activeElement.id),
    landmarks: await page.evaluate(() => ["header", "main", "footer"].filter((t) => document.querySelector(t))),
    unlabelledInputs: await page.evaluate(
      () => [...document.querySelectorAll("input")].filter((i) => !i.labels.length && !i.getAttribute("aria-label")).length,
    ),
  };
});

await scenario("order", async (page) => {
  await openShop(page);
  await signIn(page, "cust-0010");
  await page.getByLabel("Quantity of Product 2", { exact: true }).fill("2");
  await page.getByRole("button", { name: "Place order" }).click();
  await page.waitForURL(/#\/orders\//);
  const status = page.locator("#order-status");
  await status.filter({ hasText: "fulfilled" }).waitFor({ timeout: FULFILLED_WITHIN_MS });
  await page.locator("#order-note").filter({ hasText: "on its way" }).waitFor();
  await page.screenshot({ path: screenshotPath });
  return {
    orderId: orderIdOf(page),
    shown: await page.evaluate(() => window.__statuses),
    history: await page.locator("#order-history li").allInnerTexts(),
    focused: await page.evaluate(() => document.activeElement.id),
    live: await status.getAttribute("aria-live"),
  };
});

await scenario("doubleClick", async (page) => {
  await openShop(page);
  await signIn(page, "cust-0042");
  await page.getByLabel("Quantity of Product 3", { exact: true }).fill("1");
  await page.getByRole("button", { name: "Place order" }).dblclick();
  await page.waitForURL(/#\/orders\//);
  return { orderId: orderIdOf(page) };
});

await scenario("lostResponse", async (page) => {
  await openShop(page);
  await signIn(page, "cust-0043");
  await page.getByLabel("Quantity of Product 4", { exact: true }).fill("1");
  // The API takes the first POST, but its answer never reaches the page.
  let lost = 0;
  await page.route("**/api/orders", async (route) => {
    if (lost++ === 0) {
      await route.fetch();
      await route.abort("connectionreset");
    } else {
      await route.continue();
    }
  });
  await page.getByRole("button", { name: "Place order" }).click();
  const error = await page.locator("#error").filter({ hasText: "cannot be reached" }).innerText();
  const focused = await page.evaluate(() => document.activeElement.id);
  await page.getByRole("button", { name: "Retry order" }).click();
  await page.waitForURL(/#\/orders\//);
  return { error, focused, orderId: orderIdOf(page) };
});

await scenario("serverError", async (page) => {
  await page.route("**/api/products", (route) =>
    route.fulfill({ status: 503, contentType: "text/html", body: "<html><body>Service Unavailable</body></html>" }),
  );
  await page.goto(`${base}/`);
  const error = await page.locator("#error").filter({ hasText: "503" }).innerText();
  return { error, products: await page.locator("#products").innerText() };
});

await scenario("refused", async (page) => {
  await openShop(page);
  await page.getByLabel("Customer", { exact: true }).fill("nobody");
  await page.getByRole("button", { name: "Sign in" }).click();
  const unknownCustomer = await page.locator("#error").filter({ hasText: "nobody" }).innerText();
  await signIn(page, "cust-0044");
  await page.getByLabel("Quantity of Product 5", { exact: true }).fill("101");
  await page.getByRole("button", { name: "Place order" }).click();
  const invalidOrder = await page.locator("#error").filter({ hasText: "quantity" }).innerText();
  return { unknownCustomer, invalidOrder };
});

await scenario("cspProbe", async (page) => {
  // A control: an inline style must be reported, or "no violations" above proves nothing.
  await openShop(page);
  await page.evaluate(() => {
    const style = document.createElement("style");
    style.textContent = "body { color: red }";
    document.head.append(style);
  });
  await page.waitForFunction(() => window.__csp.length > 0, null, { timeout: 5000 });
  return {};
});

await scenario("outage", async (page) => {
  await openShop(page);
  await signIn(page, "cust-0045");
  await page.getByLabel("Quantity of Product 6", { exact: true }).fill("1");
  process.kill(Number(apiPid), "SIGKILL"); // the API goes away under a loaded page
  await page.getByRole("button", { name: "Place order" }).click();
  const placing = await page.locator("#error").filter({ hasText: "cannot be reached" }).innerText();
  await page.evaluate((id) => { location.hash = `#/orders/${id}`; }, report.order.orderId || "00000000-0000-0000-0000-000000000000");
  const following = await page.locator("#error").filter({ hasText: "Retrying" }).innerText();
  return { placing, following, bodyText: await page.locator("main").innerText() };
});

await browser.close();
writeFileSync(reportPath, JSON.stringify(report, null, 2));
