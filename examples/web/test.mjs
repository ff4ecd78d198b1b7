// Drives the demo page in headless Chromium: the page must join, call the Rust
// calculator when the button is clicked, show its progressive results (and its typed
// error), and show live events from the Rust topic.
// Usage: node test.mjs http://127.0.0.1:PORT/   (CHROMIUM overrides /usr/bin/chromium)
import { chromium } from "playwright-core";

const url = process.argv[2];
if (!url) {
  console.error("usage: node test.mjs URL");
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--headless=new"],
});
try {
  const page = await browser.newPage();
  page.on("console", (m) => console.log("page:", m.text()));
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("joined"), null, { timeout: 15000 });
  await page.fill("#a", "40");
  await page.fill("#b", "2");
  await page.click("#add");
  await page.waitForFunction(() => document.getElementById("sum").textContent === "42", null, { timeout: 10000 });
  await page.click("#count");
  await page.waitForFunction(() => document.getElementById("counted").textContent === "1 2 3 4 5", null, { timeout: 10000 });
  await page.fill("#n", "5000");
  await page.click("#count");
  await page.waitForFunction(() => document.getElementById("counted").textContent === "at most 1000", null, { timeout: 10000 });
  await page.waitForFunction(() => Number(document.getElementById("count").textContent) >= 2, null, { timeout: 15000 });
  const first = await page.textContent("#events li");
  if (!/^lab: -?[0-9.]+ °C$/.test(first)) throw new Error("unexpected event line: " + first);
  console.log("browser demo ok: 40 + 2 = 42, counted 1 to 5 progressively, events:", await page.textContent("#count"));
} finally {
  await browser.close();
}
