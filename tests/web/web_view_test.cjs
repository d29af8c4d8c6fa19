// Drives Debian's chromium (headless, through playwright-core) against a coordinator's web view
// while the sensor network runs (web_view_test.sh starts it), as a user would: opens the list of
// dataflows, follows the link to the sensor network, and checks that the graph shows the four
// machines with their nodes, that edge rates become non-zero and the nodes show pids, that the
// log tail fills, and that clicking the aggregator's sensor_temp input shows a sensor value that
// changes (and is plotted). Saves a screenshot.
//   NODE_PATH=<npm dir>/node_modules node web_view_test.cjs <view url> <screenshot.png>
"use strict";
const { chromium } = require("playwright-core");

const [url, screenshot] = process.argv.slice(2);
const fail = (why) => {
  console.error(`FAILED: ${why}`);
  process.exitCode = 1;
};

async function main() {
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("requestfailed", (r) => {
    if (!r.url().includes("/watch?") && !r.url().includes("/events")) {
      errors.push(`request failed: ${r.url()}`);
    }
  });

  await page.goto(url);
  await page.waitForSelector("#dataflows a", { timeout: 15000 });
  await page.click("#dataflows a");
  await page.waitForSelector("svg.dora-graph", { timeout: 15000 });

  const machines = await page.$$eval("g.machine", (els) => els.map((e) => e.getAttribute("data-machine")).sort());
  if (JSON.stringify(machines) !== JSON.stringify(["cloud", "edge1", "edge2", "edge3"])) {
    fail(`the graph shows machines ${JSON.stringify(machines)}`);
  }
  const nodes = await page.$$eval("g.node", (els) => els.map((e) => e.getAttribute("data-node")).sort());
  if (nodes.length !== 4) fail(`the graph shows nodes ${JSON.stringify(nodes)}`);
  const edges = await page.$$eval("g.edge", (els) => els.length);
  if (edges !== 3) fail(`the graph shows ${edges} edges, not 3`);

  // Live rates on the edges (the sensors tick every 1, 1.5 and 2 s) and pids in the node table.
  await page.waitForFunction(() => [...document.querySelectorAll("[data-rate]")]
    .filter((e) => parseFloat(e.textContent) > 0).length >= 3, null, { timeout: 20000 })
    .catch(() => fail("the edges never showed non-zero rates"));
  const rates = await page.$$eval("[data-rate]", (els) => els.map((e) => `${e.getAttribute("data-rate")}: ${e.textContent}`));
  console.log("edge rates:", rates.join("; "));
  await page.waitForFunction(() => [...document.querySelectorAll("#nodes tr[data-node]")]
    .every((tr) => /^[0-9]+$/.test(tr.children[3].textContent)), null, { timeout: 10000 })
    .catch(() => fail("the node table shows no pids"));
  await page.waitForFunction(() => document.getElementById("logs").textContent.includes("Received from"),
    null, { timeout: 15000 }).catch(() => fail("the log tail stayed empty"));

  // Click the aggregator's temperature input: the value of sensor-temp/reading shows and changes.
  await page.click('g.node[data-node="cloud-aggregator"] [data-port="cloud-aggregator/sensor_temp"]');
  const valueOf = () => page.$eval("#value", (e) => e.textContent);
  await page.waitForFunction(() => document.getElementById("value").textContent.includes('"sensor_id": "sensor_temp"'),
    null, { timeout: 15000 }).catch(() => fail("clicking the input showed no sensor value"));
  const first = await valueOf();
  await page.waitForFunction((before) => document.getElementById("value").textContent !== before &&
    document.getElementById("value").textContent.includes("sensor_temp"), first, { timeout: 15000 })
    .catch(() => fail("the sensor value did not change"));
  const second = await valueOf();
  console.log("first value:", first.split("\n").join(" "));
  console.log("later value:", second.split("\n").join(" "));
  await page.waitForFunction(() => document.querySelectorAll('#plot path[data-series="value"]').length === 1,
    null, { timeout: 10000 }).catch(() => fail("the sensor value was not plotted"));

  await page.screenshot({ path: screenshot, fullPage: true });
  console.log("screenshot:", screenshot);
  if (errors.length) fail(`the page had errors: ${errors.join("; ")}`);
} finally {
  await browser.close();
}
}

main().catch((e) => {
  console.error(`FAILED: ${e.stack || e}`);
  process.exitCode = 1;
});
