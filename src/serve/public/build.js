import { cell, duration, size } from "./common.js";
const id = location.pathname.split("/").pop();
const log = document.getElementById("log");
const live = document.getElementById("live");

async function loadMeta() {
  const b = await (await fetch(`/api/builds/${id}`)).json();
  document.getElementById("title").textContent = `Build #${b.id}: ${b.image}`;
  const meta = document.getElementById("meta");
  meta.replaceChildren();
  for (const [k, v] of [["MR", `!${b.mrIid}`], ["Commit", b.sha], ["Requested by", b.requestedBy], ["State", b.state], ["Duration", duration(b.durationMs)], ["Failing step", b.failingStep ?? ""], ["Reason", b.reason ?? ""]]) {
    if (!v) continue;
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v;
    if (k === "State") dd.className = v;
    if (k === "Commit") dd.classList.add("mono");
    meta.append(dt, dd);
  }
  document.querySelector("#artifacts tbody").replaceChildren(...b.artifacts.map((a) => {
    const tr = document.createElement("tr");
    cell(tr, a.name, "mono"); cell(tr, size(a.size), "num"); cell(tr, a.sha256 ?? "", "mono"); cell(tr, a.uploadedTo ?? "", "mono");
    return tr;
  }));
}

function follow() {
  // EventSource reconnects by itself and sends Last-Event-ID: the server resumes after it.
  const events = new EventSource(`/builds/${id}/events`);
  events.onmessage = (e) => {
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.append(`${e.data}\n`);
    if (atBottom) log.scrollTop = log.scrollHeight;
  };
  let ticking;
  events.addEventListener("state", (e) => {
    const { state } = JSON.parse(e.data);
    const active = state === "running" || state === "queued";
    live.textContent = active ? "(live)" : "";
    loadMeta();
    // While it runs, the duration keeps counting.
    if (active) ticking ??= setInterval(loadMeta, 5000);
    else {
      clearInterval(ticking);
      events.close();
    }
  });
  events.onerror = () => { live.textContent = "(reconnecting)"; };
}
loadMeta();
follow();
