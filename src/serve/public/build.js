import { cell, duration, size } from "./common.js";
import { LogView } from "./log-view.js";
const id = location.pathname.split("/").pop();
const log = new LogView(document.getElementById("log"), document.getElementById("log-filters"));
const live = document.getElementById("live");
const screen = document.getElementById("screen");
const screenBox = document.getElementById("screen-box");
const SCREEN_EVERY_MS = 3000;

// The console: refreshed while the build runs (the server takes at most one screenshot per
// 1.5 s however many pages ask); afterwards a failed build's last screen, or nothing (404).
screen.onload = () => {
  screenBox.hidden = false;
  document.getElementById("screen-time").textContent = new Date().toTimeString().slice(0, 8);
};
screen.onerror = () => {
  screenBox.hidden = true;
};
function refreshScreen() {
  screen.src = `/builds/${id}/screenshot.png?at=${Date.now()}`;
}

async function loadMeta() {
  const b = await (await fetch(`/api/builds/${id}`)).json();
  document.getElementById("title").textContent = `Build #${b.id}: ${b.image}`;
  const meta = document.getElementById("meta");
  meta.replaceChildren();
  for (const [k, v] of [
    ["MR", `!${b.mrIid}`],
    ["Commit", b.sha],
    ["Requested by", b.requestedBy],
    ["State", b.state],
    ["Duration", duration(b.durationMs)],
    ["Failing step", b.failingStep ?? ""],
    ["Reason", b.reason ?? ""],
  ]) {
    if (!v) continue;
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    if (k === "State") dd.className = v;
    if (k === "Commit") dd.classList.add("mono");
    meta.append(dt, dd);
  }
  document.querySelector("#artifacts tbody").replaceChildren(
    ...b.artifacts.map((a) => {
      const tr = document.createElement("tr");
      cell(tr, a.name, "mono");
      cell(tr, size(a.size), "num");
      cell(tr, a.sha256 ?? "", "mono");
      cell(tr, a.uploadedTo ?? "", "mono");
      return tr;
    }),
  );
}

function follow() {
  // EventSource reconnects by itself and sends Last-Event-ID: the server resumes after it.
  const events = new EventSource(`/builds/${id}/events`);
  // Each message is one event (JSON); a replay's thousands of them are drawn in batches.
  let batch = [];
  events.onmessage = (e) => {
    if (batch.length === 0) setTimeout(() => log.add(batch.splice(0)), 0);
    batch.push(JSON.parse(e.data));
  };
  let ticking;
  let screening;
  events.addEventListener("state", (e) => {
    const { state } = JSON.parse(e.data);
    const active = state === "running" || state === "queued";
    live.textContent = active ? "(live)" : "";
    loadMeta();
    refreshScreen();
    // While it runs, the duration keeps counting and the console keeps refreshing.
    if (active) {
      ticking ??= setInterval(loadMeta, 5000);
      screening ??= setInterval(refreshScreen, SCREEN_EVERY_MS);
    } else {
      clearInterval(ticking);
      clearInterval(screening);
      events.close();
    }
  });
  events.onerror = () => {
    live.textContent = "(reconnecting)";
  };
}
loadMeta();
follow();
