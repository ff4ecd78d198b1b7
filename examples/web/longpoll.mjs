// Autobahn|JS over WAMP's HTTP long-poll transport, against our router.
// Usage: node longpoll.mjs node LONGPOLL_URL
//        node longpoll.mjs chromium PAGE_URL LONGPOLL_URL DEAD_WS_URL
// "node": Autobahn|JS in Node.js (its long-poll transport needs XMLHttpRequest, which
// Node.js lacks: a small one over fetch stands in). "chromium": a page in headless
// Chromium on another origin than the endpoint (so CORS is exercised); then the same page
// where WebSocket is blocked (its constructor throws, as where a proxy or policy forbids
// it), offered a WebSocket URL first: Autobahn|JS falls back to long-poll. (Autobahn|JS
// moves on to its next transport only when one cannot be created; a WebSocket that is
// created and then fails its handshake ends as "unreachable".)
// Prints "longpoll ok" when a call, a publication to its own subscription and a clean
// close all work.
import { createRequire } from "module";

const [mode, ...urls] = process.argv.slice(2);

/// What the session does once open: call, subscribe and receive its own event, leave.
const scenario = `async (session) => {
  const me = await session.call("wamp.session.get", [session.id]);
  if (me.session !== session.id) throw new Error("wamp.session.get: " + JSON.stringify(me));
  let heard;
  const got = new Promise((resolve) => { heard = resolve; });
  // Subscribed once the router said so: then the publication reaches it.
  await session.subscribe("com.lp.topic", (args) => heard(args[0]));
  await session.publish("com.lp.topic", ["over long-poll"], {}, { acknowledge: true, exclude_me: false });
  const event = await got;
  if (event !== "over long-poll") throw new Error("event: " + event);
  return "call, publish and subscribe ok";
}`;

function run(autobahn, transports, realm) {
  return new Promise((resolve, reject) => {
    const connection = new autobahn.Connection({ transports, realm, max_retries: 0 });
    const timer = setTimeout(() => reject(new Error("no session in time")), 20000);
    connection.onopen = async (session, details) => {
      try {
        const f = eval(scenario);
        const out = await f(session);
        clearTimeout(timer);
        connection.close();
        resolve(out + " via " + connection.transport.info.type);
      } catch (e) {
        reject(e);
      }
    };
    connection.onclose = (reason, details) => {
      if (reason !== "closed") reject(new Error("closed: " + reason + " " + JSON.stringify(details)));
      return true;
    };
    connection.open();
  });
}

/// Enough of XMLHttpRequest for Autobahn|JS's http_post.
class FetchXhr {
  open(method, url) { this.method = method; this.url = url; this.headers = {}; }
  setRequestHeader(k, v) { this.headers[k] = v; }
  send(body) {
    const ctrl = new AbortController();
    const t = this.timeout ? setTimeout(() => { ctrl.abort(); this.ontimeout && this.ontimeout(); }, this.timeout) : null;
    fetch(this.url, { method: this.method, headers: this.headers, body, signal: ctrl.signal })
      .then(async (r) => {
        if (t) clearTimeout(t);
        this.status = r.status;
        this.statusText = r.statusText;
        this.responseText = await r.text();
        this.readyState = 4;
        this.onreadystatechange && this.onreadystatechange();
      })
      .catch(() => {});
  }
}

if (mode === "node") {
  globalThis.window = globalThis;
  globalThis.XMLHttpRequest = FetchXhr;
  const require = createRequire(import.meta.url);
  const autobahn = require("autobahn-browser");
  const out = await run(autobahn, [{ type: "longpoll", url: urls[0] }], "realm1");
  console.log("longpoll ok (node):", out);
  process.exit(0);
} else if (mode === "chromium") {
  const { chromium } = await import("playwright-core");
  const [page_url, lp_url, dead_ws] = urls;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--headless=new"],
  });
  try {
    const page = await browser.newPage();
    page.on("console", (m) => console.log("page:", m.text()));
    await page.goto(page_url);
    await page.addScriptTag({ path: "node_modules/autobahn-browser/autobahn.min.js" });
    const out = await page.evaluate(
      async ([lp, ws, scenario]) => {
        const run = (transports) =>
          new Promise((resolve, reject) => {
            const c = new autobahn.Connection({ transports, realm: "realm1", max_retries: 0 });
            c.onopen = async (session) => {
              try {
                const out = await eval(scenario)(session);
                c.close();
                resolve(out + " via " + c.transport.info.type);
              } catch (e) {
                reject(String(e));
              }
            };
            c.onclose = (reason, d) => {
              if (reason !== "closed") reject("closed: " + reason + " " + JSON.stringify(d));
              return true;
            };
            c.open();
          });
        const direct = await run([{ type: "longpoll", url: lp }]);
        window.WebSocket = function () {
          throw new Error("WebSocket is blocked here");
        };
        const fallback = await run([{ type: "websocket", url: ws }, { type: "longpoll", url: lp }]);
        return direct + "; fallback: " + fallback;
      },
      [lp_url, dead_ws, scenario],
    );
    console.log("longpoll ok (chromium):", out);
  } finally {
    await browser.close();
  }
} else {
  console.error("usage: node longpoll.mjs node|chromium URL...");
  process.exit(2);
}
