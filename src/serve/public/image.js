// One image's history: its builds (versions, commits, results), their durations as a chart,
// and what changed in the image since the build before it on the same target branch (each
// build's `diff`: from the two SBOMs; null when serve recorded none). Refreshes itself every 10 s.
import { durationChart } from "./charts.js";
import { cell, duration, fillRows, getJson, initialData, link, timeElement } from "./common.js";

const name = decodeURIComponent(location.pathname.split("/").pop());

/** The diff cell: what changed since which build (a summary, then the first changes), or a dash. */
function diffCell(tr, diff) {
  const td = cell(tr, "", "diff");
  if (diff === null || diff === undefined) {
    td.textContent = "—";
    td.title = "no SBOM recorded for this build (it failed, or came before serve kept them)";
    return;
  }
  const summary = document.createElement("div");
  summary.className = "diff-summary";
  summary.textContent = diff.base === null ? diff.summary : `since #${diff.base}: ${diff.summary}`;
  td.append(summary);
  if (diff.changes.length > 0) {
    const ul = document.createElement("ul");
    for (const change of diff.changes) {
      const li = document.createElement("li");
      li.textContent = change;
      ul.append(li);
    }
    td.append(ul);
  }
}

async function refresh() {
  draw((await getJson(`/api/images/${encodeURIComponent(name)}`)).body);
}

function draw(body) {
  document.title = `tsimg: ${name}`;
  document.getElementById("title").textContent = name;
  const { image, builds } = body;
  document.getElementById("summary").textContent =
    `${image.builds} build${image.builds === 1 ? "" : "s"}; latest version ${image.version ?? "unknown"}; last result ${image.lastState}`;
  const finished = builds.filter((b) => b.durationMs !== null && b.finishedAt !== null).reverse();
  document
    .getElementById("chart")
    .replaceChildren(
      durationChart(finished.map((b) => ({ label: b.version ?? `#${b.id}`, ms: b.durationMs, state: b.state }))),
    );
  fillRows(document.querySelector("#history tbody"), builds, (b) => {
    const tr = document.createElement("tr");
    tr.dataset.build = b.id;
    cell(tr, "").append(link(`#${b.id}`, `/builds/${b.id}`));
    cell(tr, b.version ?? "", "mono version");
    cell(tr, "", "mono").append(link(b.sha.slice(0, 8), b.links.commit));
    cell(tr, "").append(link(`!${b.mrIid}`, b.links.mr));
    cell(tr, b.state, b.state);
    cell(tr, duration(b.durationMs), "num duration");
    cell(tr, "").append(timeElement(b.finishedAt));
    diffCell(tr, b.diff);
    return tr;
  });
}
// The first view came with the page; else ask.
const first = initialData();
if (first) draw(first);
else refresh();
setInterval(refresh, 10_000);
