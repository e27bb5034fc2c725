// The workers table (docs/scale-out.md): GET /api/workers every 2 s.
import { cell } from "./common.js";

async function refresh() {
  const response = await fetch("/api/workers");
  if (!response.ok) return;
  const { queue, workers } = await response.json();
  document.getElementById("mode").textContent = queue
    ? `${workers.length} worker${workers.length === 1 ? "" : "s"} known to the queue`
    : "No [queue] in serve.toml: builds run in serve's own process.";
  const body = document.querySelector("#workers tbody");
  body.replaceChildren(
    ...workers.map((w) => {
      const row = document.createElement("tr");
      cell(row, w.name);
      cell(row, w.labels.join(", "));
      cell(row, String(w.slots));
      cell(row, w.busy.map((id) => `#${id}`).join(" "));
      cell(row, `${Math.max(0, Math.round((Date.now() - w.heartbeat) / 1000))} s ago`);
      cell(row, w.gone ? "gone" : w.draining ? "draining" : w.busy.length >= w.slots ? "busy" : "idle");
      return row;
    }),
  );
}
void refresh();
setInterval(refresh, 2000);
