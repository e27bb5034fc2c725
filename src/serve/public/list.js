import { cell, duration } from "./common.js";
async function refresh() {
  const builds = await (await fetch("/api/builds")).json();
  const body = document.querySelector("#builds tbody");
  body.replaceChildren(
    ...builds.map((b) => {
      const tr = document.createElement("tr");
      const a = document.createElement("a");
      a.href = `/builds/${b.id}`;
      a.textContent = `#${b.id}`;
      cell(tr, "").append(a);
      cell(tr, b.image);
      cell(tr, `!${b.mrIid}`);
      cell(tr, b.sha.slice(0, 8), "mono");
      cell(tr, b.requestedBy);
      cell(tr, b.state, b.state);
      cell(tr, duration(b.durationMs), "num");
      return tr;
    }),
  );
}
refresh();
setInterval(refresh, 5000);
