// Shared helpers of the dashboard pages (plain ES modules, no build step). Everything from
// a build or a user goes into the page as text (textContent), never as HTML.
export function duration(ms) {
  if (ms === null || ms === undefined) return "";
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
}
export function size(bytes) {
  if (bytes === null || bytes === undefined) return "";
  const units = ["B", "KiB", "MiB", "GiB"];
  let v = bytes,
    u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u ? v.toFixed(1) : v} ${units[u]}`;
}
export function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  row.append(td);
  return td;
}

/** "5 min ago" for a time (ms since the epoch). */
export function relative(time, now = Date.now()) {
  const s = Math.round((now - time) / 1000);
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** "2026-12-02 09:31:05" in the reader's time zone. */
export function absolute(time) {
  const d = new Date(time);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A <time> showing both: "5 min ago" and the absolute time beside it (and as its tooltip). */
export function timeElement(time) {
  const el = document.createElement("time");
  if (!time) return el;
  el.dateTime = new Date(time).toISOString();
  el.title = absolute(time);
  const rel = document.createElement("span");
  rel.className = "rel";
  rel.textContent = relative(time);
  const abs = document.createElement("small");
  abs.className = "abs";
  abs.textContent = absolute(time);
  el.append(rel, " ", abs);
  return el;
}

/** A link with text; only http(s) and same-site paths become links (no javascript: URL from a build). */
export function link(text, href) {
  if (!href || !(/^https?:\/\//i.test(href) || href.startsWith("/"))) {
    const span = document.createElement("span");
    span.textContent = text;
    return span;
  }
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  return a;
}

/** GETs JSON from the dashboard's API. */
export async function getJson(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return { body: await response.json(), headers: response.headers };
}

/** The first view's data serve rendered into the page (the same JSON as its API), once; undefined when there is none. */
export function initialData() {
  const block = document.getElementById("initial-data");
  if (!block) return undefined;
  block.remove();
  return JSON.parse(block.textContent);
}

/** Rows a table shows at once; the ones below them (the reader scrolls to them) come a frame later. */
const FIRST_ROWS = 40;

/** Fills a table body with a row per item: the first rows now, the rest once the page has been drawn. */
export function fillRows(tbody, items, row) {
  const generation = (tbody.generation = (tbody.generation ?? 0) + 1);
  tbody.replaceChildren(...items.slice(0, FIRST_ROWS).map(row));
  if (items.length > FIRST_ROWS)
    requestAnimationFrame(() =>
      setTimeout(() => {
        // A newer fill came first: these rows are out of date.
        if (tbody.generation === generation) tbody.append(...items.slice(FIRST_ROWS).map(row));
      }, 0),
    );
}
