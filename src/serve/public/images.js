// The images page: one row per image with its latest version, its last result and a
// sparkline of its last builds' durations. Refreshes itself every 10 s.
import { sparkline } from "./charts.js";
import { cell, getJson, initialData, link, timeElement } from "./common.js";

async function refresh() {
  draw((await getJson("/api/images")).body);
}

function draw(images) {
  document.getElementById("empty").hidden = images.length > 0;
  document.querySelector("#images tbody").replaceChildren(
    ...images.map((row) => {
      const tr = document.createElement("tr");
      tr.dataset.image = row.image;
      cell(tr, "").append(link(row.image, `/images/${encodeURIComponent(row.image)}`));
      cell(tr, row.version ?? "", "mono version");
      const last = cell(tr, "", `result ${row.lastState}`);
      last.append(link(`${row.lastState} (#${row.lastBuildId})`, `/builds/${row.lastBuildId}`), " ");
      if (row.lastFinishedAt) last.append(timeElement(row.lastFinishedAt));
      cell(tr, String(row.builds), "num");
      cell(tr, "", "spark").append(sparkline(row.durations));
      return tr;
    }),
  );
}
// The first view came with the page; else ask.
const first = initialData();
if (first) draw(first);
else refresh();
setInterval(refresh, 10_000);
