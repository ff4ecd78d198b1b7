// The demo page: Autobahn|JS joins realm1 on the WebSocket endpoint of the page's own
// origin, calls the typed Rust calculator (one result, and progressive results) and shows the typed Rust temperature topic,
// both through the client generated from the Rust contracts (services.ts, written by
// `wamp codegen typescript`): a call with the wrong types does not compile.

import { CalculatorClient, CalcErrorOverflow, TemperatureTopic, WampError, type WampSession } from "./services.js";

/** The part of Autobahn|JS (loaded by a script tag, as `autobahn`) the page uses. */
declare const autobahn: {
  Connection: new (options: { url: string; realm: string; max_retries?: number }) => {
    onopen: (session: WampSession & { id: number }) => void;
    onclose: (reason: string) => boolean | void;
    open(): void;
  };
};

const $ = (id: string): HTMLElement => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`no #${id}`);
  return el;
};
const input = (id: string) => $(id) as HTMLInputElement;
const button = (id: string) => $(id) as HTMLButtonElement;

const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
const connection = new autobahn.Connection({ url, realm: "realm1", max_retries: -1 });

connection.onopen = (session) => {
  $("status").textContent = "joined realm1 as session " + session.id;
  const calc = new CalculatorClient(session, { timeout: 5000 });
  button("add").disabled = false;
  button("add").onclick = async () => {
    try {
      const sum = await calc.add(Number(input("a").value), Number(input("b").value));
      $("sum").textContent = String(sum);
    } catch (e) {
      if (e instanceof CalcErrorOverflow) $("sum").textContent = "too large (the limit is " + e.limit + ")";
      else if (e instanceof WampError) $("sum").textContent = "error: " + e.uri;
      else $("sum").textContent = "error: " + String(e);
    }
  };
  button("count").disabled = false;
  button("count").onclick = async () => {
    $("counted").textContent = "";
    try {
      for await (const n of calc.countTo(Number(input("n").value))) {
        $("counted").textContent = ($("counted").textContent + " " + n).trim();
      }
    } catch (e) {
      $("counted").textContent = e instanceof CalcErrorOverflow ? "at most " + e.limit : String(e);
    }
  };
  let count = 0;
  void TemperatureTopic.subscribe(session, (reading) => {
    count += 1;
    $("count").textContent = String(count);
    const item = document.createElement("li");
    item.textContent = reading.room + ": " + reading.celsius + " °C";
    $("events").prepend(item);
    while ($("events").children.length > 10) $("events").lastChild?.remove();
  });
};

connection.onclose = (reason) => {
  $("status").textContent = "disconnected (" + reason + "), retrying…";
  button("add").disabled = true;
  button("count").disabled = true;
};

connection.open();
