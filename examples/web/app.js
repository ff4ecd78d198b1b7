// The demo page: Autobahn|JS joins realm1 on the WebSocket endpoint of the page's own
// origin, calls the typed Rust calculator, and shows the typed Rust temperature topic.
"use strict";

const $ = (id) => document.getElementById(id);
const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
const connection = new autobahn.Connection({ url, realm: "realm1", max_retries: -1 });

connection.onopen = async (session) => {
  $("status").textContent = "joined realm1 as session " + session.id;
  $("add").disabled = false;
  $("add").onclick = async () => {
    try {
      const sum = await session.call("com.example.calc.add", [Number($("a").value), Number($("b").value)]);
      $("sum").textContent = String(sum);
    } catch (e) {
      $("sum").textContent = "error: " + (e.error || e);
    }
  };
  let count = 0;
  await session.subscribe(
    "com.example.sensor..temperature",
    (args, kwargs) => {
      count += 1;
      $("count").textContent = String(count);
      const item = document.createElement("li");
      item.textContent = kwargs.room + ": " + kwargs.celsius + " °C";
      $("events").prepend(item);
      while ($("events").children.length > 10) $("events").lastChild.remove();
    },
    { match: "wildcard" },
  );
};

connection.onclose = (reason) => {
  $("status").textContent = "disconnected (" + reason + "), retrying…";
  $("add").disabled = true;
};

connection.open();
