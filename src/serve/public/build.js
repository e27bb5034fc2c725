// The build page: GitLab links, state, the failure, the step timeline, the console, the
// artifacts and the log, all following the build's event stream without a reload. serve
// sends the build and the log's end with the page (dashboard-pages.ts); the rest follows.
import { cell, duration, getJson, initialData, link, size, timeElement } from "./common.js";
import { LogView } from "./log-view.js";
import { Timeline, seconds } from "./timeline.js";
const id = location.pathname.split("/").pop();
const log = new LogView(document.getElementById("log"), document.getElementById("log-filters"));
const timeline = new Timeline(document.getElementById("timeline"));
const live = document.getElementById("live");
const screen = document.getElementById("screen");
const screenBox = document.getElementById("screen-box");
const SCREEN_EVERY_MS = 3000;
let state = "";
document.getElementById("plain-log").href = `/builds/${id}/log`;

// The console: refreshed while the build runs (the server takes at most one screenshot per
// 1.5 s however many pages ask); afterwards a failed build's last screen, or nothing (404).
screen.onload = () => {
  screenBox.hidden = false;
  document.getElementById("screen-label").textContent = state === "failed" ? "Last screen" : "Console";
  document.getElementById("screen-time").textContent = new Date().toTimeString().slice(0, 8);
};
screen.onerror = () => {
  screenBox.hidden = true;
};
function refreshScreen() {
  screen.src = `/builds/${id}/screenshot.png?at=${Date.now()}`;
}

/** "group/project !12 · commit 1a2b3c4d · asked by alice in this comment", each a link to GitLab. */
function gitlabLinks(b) {
  const p = document.getElementById("gitlab");
  p.replaceChildren(
    link(b.projectPath ?? `project ${b.projectId}`, b.links.project),
    " ",
    link(`!${b.mrIid}`, b.links.mr),
    " · commit ",
    link(b.sha.slice(0, 8), b.links.commit),
    " · asked by ",
    link(b.requestedBy, b.links.requester),
  );
  p.querySelectorAll("a").forEach((a, i) => (a.dataset.link = ["project", "mr", "commit", "requester"][i]));
  if (b.links.comment) {
    const a = link("in this comment", b.links.comment);
    a.dataset.link = "comment";
    p.append(" ", a);
  }
}

async function loadMeta() {
  showMeta((await getJson(`/api/builds/${id}`)).body);
}

/** Title, links, state, the failure and the artifacts of the build (its JSON). */
function showMeta(b) {
  state = b.state;
  document.getElementById("title").textContent = `Build #${b.id}: ${b.image}${b.version ? ` ${b.version}` : ""}`;
  gitlabLinks(b);
  const meta = document.getElementById("meta");
  meta.replaceChildren();
  for (const [k, v] of [
    ["State", b.state],
    ["Current step", b.currentStep ?? ""],
    ["Started", b.startedAt],
    ["Duration", duration(b.durationMs)],
    ["Commit", b.sha],
  ]) {
    if (!v) continue;
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    if (k === "Started") dd.append(timeElement(v));
    else dd.textContent = v;
    if (k === "State") dd.className = v;
    if (k === "Commit") dd.classList.add("mono");
    meta.append(dt, dd);
  }
  const failure = document.getElementById("failure");
  failure.hidden = b.state !== "failed";
  document.getElementById("failure-step").textContent = b.failingStep ?? "";
  document.getElementById("failure-reason").textContent = b.reason ?? "";
  document.querySelector("#artifacts tbody").replaceChildren(
    ...b.artifacts.map((a) => {
      const tr = document.createElement("tr");
      cell(tr, a.name, "mono");
      cell(tr, size(a.size), "num");
      cell(tr, a.sha256 ?? "", "mono");
      cell(tr, "", "mono").append(link(a.uploadedTo ?? "", a.uploadedTo));
      return tr;
    }),
  );
  document.getElementById("artifacts-box").hidden = b.artifacts.length === 0 && b.state !== "success";
}

function drawTimeline() {
  timeline.draw();
  const done = timeline.steps.filter((s) => s.ms !== null);
  document.getElementById("steps-total").textContent = done.length
    ? `(${done.length} done, ${seconds(done.reduce((t, s) => t + s.ms, 0))})`
    : "";
}

/** Draws events in the log and the timeline. */
function draw(taken) {
  log.add(taken);
  if (taken.map((event) => timeline.add(event)).some(Boolean)) drawTimeline();
}

/** Events drawn so far (the line number of the last one): a new stream resumes after it. */
let seen = 0;

/** The events so far, in one request (a long log is one answer, not thousands of messages). */
async function storedEvents() {
  const response = await fetch(`/builds/${id}/events.ndjson`);
  if (!response.ok) throw new Error(`/builds/${id}/events.ndjson: ${response.status}`);
  const lines = (await response.text()).split("\n").filter((l) => l !== "");
  return lines.map((l) => JSON.parse(l));
}

/** Draws what serve sent with the page (the log's end, the timeline's events before it); the lines above the end follow. */
function drawStart({ count, tail, steps }) {
  for (const event of steps) timeline.add(event);
  draw(tail);
  drawTimeline();
  seen = count;
  const above = count - tail.length;
  if (above === 0) return;
  log.reserve(above);
  storedEvents().then(
    (events) => log.above(events.slice(0, above)),
    () => log.above([]),
  );
}

async function follow() {
  // The events so far: those serve sent with the page, or in one request...
  if (seen === 0)
    try {
      if (first?.log) drawStart(first.log);
      else {
        const events = await storedEvents();
        draw(events);
        seen = events.length;
      }
    } catch {
      // the stream below replays from the start
    }
  // ...then the rest live. EventSource reconnects by itself and sends Last-Event-ID: the server resumes after it.
  const events = new EventSource(`/builds/${id}/events?lastEventId=${seen}`);
  // Each message is one event (JSON); a replay's thousands of them are drawn once per frame,
  // so the log's layout is computed once a frame, not once a message.
  let batch = [];
  events.onmessage = (e) => {
    if (batch.length === 0) requestAnimationFrame(() => draw(batch.splice(0)));
    batch.push(JSON.parse(e.data));
    seen = Number(e.lastEventId) || seen;
  };
  let ticking;
  let screening;
  let growing;
  events.addEventListener("state", (e) => {
    const { state: now } = JSON.parse(e.data);
    const active = now === "running" || now === "queued";
    live.textContent = active ? "(live)" : "";
    loadMeta();
    refreshScreen();
    // While it runs, the duration keeps counting, the running step's bar grows and the console refreshes.
    if (active) {
      ticking ??= setInterval(loadMeta, 5000);
      screening ??= setInterval(refreshScreen, SCREEN_EVERY_MS);
      growing ??= setInterval(() => timeline.running && drawTimeline(), 1000);
    } else {
      clearInterval(ticking);
      clearInterval(screening);
      clearInterval(growing);
      events.close();
      setTimeout(drawTimeline, 50);
    }
  });
  events.onerror = () => {
    live.textContent = "(reconnecting)";
    // EventSource gives up on an answer that is not a stream (a 404 for a build not recorded
    // yet, a restarting serve's 502): follow again a little later, after the last event drawn.
    if (events.readyState === EventSource.CLOSED) setTimeout(follow, 3000);
  };
}
// The build as it was when serve sent the page came with it; else ask.
const first = initialData();
if (first) showMeta(first.build);
else loadMeta();
follow();
