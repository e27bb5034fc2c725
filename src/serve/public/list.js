// The build list: filters (image, state, MR, requester) and pages, kept in the address
// (?image=tinyos&page=2) without reloading; running builds show their current step.
import { cell, duration, getJson, initialData, link, timeElement } from "./common.js";

const PER_PAGE = 50;
const form = document.getElementById("filters");
const params = new URLSearchParams(location.search);
for (const el of form.elements) if (el.name && params.has(el.name)) el.value = params.get(el.name);
let page = Math.max(1, Number(params.get("page")) || 1);
let pages = 1;

function query() {
  const q = new URLSearchParams();
  for (const el of form.elements) if (el.name && el.value.trim()) q.set(el.name, el.value.trim());
  if (page > 1) q.set("page", String(page));
  return q;
}

async function refresh() {
  const q = query();
  history.replaceState(null, "", q.size ? `/?${q}` : "/");
  q.set("per_page", String(PER_PAGE));
  const { body: builds, headers } = await getJson(`/api/builds?${q}`);
  draw(builds, Number(headers.get("X-Total-Count") ?? builds.length));
}

/** Draws a page of the list: the rows and the pager. */
function draw(builds, total) {
  pages = Math.max(1, Math.ceil(total / PER_PAGE));
  document.getElementById("page").textContent = `page ${page} of ${pages} (${total} build${total === 1 ? "" : "s"})`;
  document.getElementById("prev").disabled = page <= 1;
  document.getElementById("next").disabled = page >= pages;
  document.querySelector("#builds tbody").replaceChildren(
    ...builds.map((b) => {
      const tr = document.createElement("tr");
      tr.dataset.build = b.id;
      cell(tr, "").append(link(`#${b.id}`, `/builds/${b.id}`));
      cell(tr, "").append(link(b.image, `/images/${encodeURIComponent(b.image)}`));
      cell(tr, b.version ?? "", "mono");
      cell(tr, "").append(link(`!${b.mrIid}`, b.links.mr));
      cell(tr, "", "mono").append(link(b.sha.slice(0, 8), b.links.commit));
      cell(tr, b.requestedBy);
      const state = cell(tr, b.state, `state ${b.state}`);
      if (b.currentStep) {
        const step = document.createElement("small");
        step.className = "current-step";
        step.textContent = b.currentStep;
        state.append(" ", step);
      }
      cell(tr, "").append(timeElement(b.startedAt ?? b.createdAt));
      cell(tr, duration(b.durationMs), "num");
      return tr;
    }),
  );
}

/** The image filter's suggestions. */
function imageNames(names) {
  document
    .getElementById("image-names")
    .replaceChildren(...names.map((image) => Object.assign(document.createElement("option"), { value: image })));
}

let typing;
form.addEventListener("input", () => {
  clearTimeout(typing);
  typing = setTimeout(() => ((page = 1), refresh()), 250);
});
form.addEventListener("submit", (e) => e.preventDefault());
document.getElementById("prev").onclick = () => ((page = Math.max(1, page - 1)), refresh());
document.getElementById("next").onclick = () => ((page = Math.min(pages, page + 1)), refresh());
// The first page came with the page itself (serve rendered it for this address); else ask.
const first = initialData();
if (first) {
  draw(first.builds, first.total);
  imageNames(first.images);
} else {
  refresh();
  getJson("/api/images").then(({ body }) => imageNames(body.map((i) => i.image)));
}
setInterval(refresh, 5000);
