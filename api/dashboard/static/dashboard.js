// The cellrouter dashboard: the tree, live; a cell's hosts and instances; a
// placement dry run. It logs in as any OpenStack client does (Keystone
// password auth), keeps the token for this tab only, and sends it as
// X-Auth-Token. Every text from the server goes in as text, never as HTML.
"use strict";

const STATES = ["BUILDING", "ACTIVE", "PAUSED", "SUSPENDED", "STOPPED", "SHELVED",
  "SHELVED_OFFLOADED", "ERROR", "UNKNOWN"];
const OPEN_DEPTH = 2;     // subtrees shallower than this start open...
const OPEN_AT_MOST = 30;  // ...when they have at most this many children
const SHOWN_AT_ONCE = 100; // children drawn before a "show more" button

const ui = {
  token: sessionStorage.getItem("cellrouter-token") || "",
  tree: null,          // the last answer of /dashboard/api/tree
  drawn: "",           // the tree it drew, as JSON: unchanged, nothing is redrawn
  open: new Map(),     // path -> true/false, where the user toggled a subtree
  more: new Map(),     // path -> how many children to draw
  selected: "",        // the path of the cell in the side pane
  pages: [""],         // page tokens of the instance pages seen (for "previous")
  page: 0,
  timer: 0,
  live: false,         // the event stream is up and the bus followed: poll rarely
  stream: null,        // the AbortController of the open stream
  streamTimer: 0,      // when to open it again
  redraw: 0,           // a refresh asked for by events, coming shortly
};
// While events flow the tree is still asked now and then: for an event lost, and for what no
// event tells yet (a router's cell going down: routers send no events so far).
const LIVE_POLL_MS = 10000;
const RETRY_STREAM_MS = 5000; // how soon a broken stream is opened again...
const RETRY_OFF_MS = 60000;   // ...or asked for again when notifications are off (503)
const SILENT_MS = 40000;      // a stream with no byte for this long (pings come every 15 s) is broken
const EVENTS_SHOWN = 25;

const $ = (id) => document.getElementById(id);

function el(tag, props, ...kids) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (key === "text") node.textContent = value;
    else if (key === "on") for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
    else if (key.startsWith("data-") || key === "title" || key === "type") node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const kid of kids) if (kid != null) node.append(kid);
  return node;
}

// ------------------------------------------------------------ talking

class HttpError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function call(path, options = {}) {
  const headers = Object.assign({ "X-Auth-Token": ui.token }, options.headers || {});
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.ok) return response.json();
  let message = `${response.status} ${response.statusText}`;
  try {  // Nova's {"forbidden": {"message": ...}} or Keystone's {"error": {...}}
    const body = await response.json();
    const inner = Object.values(body)[0];
    if (inner && inner.message) message = inner.message;
  } catch (_) { /* not JSON: keep the status line */ }
  throw new HttpError(response.status, message);
}

function failed(error) {
  if (error.status === 401) { logout("Your session ended; log in again."); return; }
  banner(error.status === 403 ? error.message : `The API did not answer: ${error.message}`);
}

function banner(text) {
  $("banner").textContent = text;
  $("banner").hidden = !text;
}

// ------------------------------------------------------------ login

async function login(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  const body = { auth: { identity: { methods: ["password"], password: { user: {
    name: $("user").value, domain: { id: "default" }, password: $("password").value } } } } };
  const response = await fetch("/identity/v3/auth/tokens", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (response.status !== 201) {
    $("login-error").textContent = response.status === 401
      ? "Wrong user or password." : `Login failed (${response.status}).`;
    return;
  }
  ui.token = response.headers.get("X-Subject-Token");
  sessionStorage.setItem("cellrouter-token", ui.token);
  $("password").value = "";
  start();
}

function logout(message) {
  clearTimeout(ui.timer);
  stopFollowing();
  ui.token = "";
  ui.drawn = "";
  sessionStorage.removeItem("cellrouter-token");
  $("main").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  banner("");
}

function start() {
  $("login").hidden = true;
  $("main").hidden = false;
  $("logout").hidden = false;
  poll();
  follow();
}

// ------------------------------------------------------------ the tree, live

async function poll() {
  clearTimeout(ui.timer);
  let wait = 2000;
  try {
    ui.tree = await call("/dashboard/api/tree");
    wait = ui.live ? LIVE_POLL_MS : Math.max(250, ui.tree.refresh_s * 1000);
    banner("");
    $("freshness").textContent = `as of ${new Date(ui.tree.taken_at * 1000).toLocaleTimeString()}`;
    const seen = JSON.stringify(ui.tree.tree);
    if (seen !== ui.drawn) {
      ui.drawn = seen;
      drawTree();
      drawFlavors();
      if (!ui.selected) select(ui.tree.tree.path);
      else drawDetail();
    }
  } catch (error) {
    failed(error);
    if (error.status === 401) return;
  }
  ui.timer = setTimeout(poll, wait);
}

// ------------------------------------------------------------ events, followed

// The API's server-sent events, read with fetch so the token goes as a header.
// While they flow the page redraws on each and polls rarely; when the stream
// breaks or says the bus is not followed, it polls as before and tries again.
async function follow() {
  stopFollowing();
  const controller = ui.stream = new AbortController();
  let silent = 0;
  let retry = RETRY_STREAM_MS;
  const watch = () => { clearTimeout(silent); silent = setTimeout(() => controller.abort(), SILENT_MS); };
  try {
    const response = await fetch("/dashboard/api/events", {
      headers: { "X-Auth-Token": ui.token, Accept: "text/event-stream" }, signal: controller.signal });
    if (!response.ok) throw new HttpError(response.status, response.statusText);
    const reader = response.body.getReader();
    const text = new TextDecoder();
    let buffer = "";
    watch();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      watch();
      buffer += text.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        heard(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
  } catch (error) {
    if (error.status === 401) { logout("Your session ended; log in again."); return; }
    if (error.status === 503) retry = RETRY_OFF_MS;
  } finally {
    clearTimeout(silent);
  }
  if (ui.stream !== controller) return;  // stopped on purpose, or replaced
  ui.stream = null;
  setLive(false);
  ui.streamTimer = setTimeout(follow, retry);
}

function stopFollowing() {
  clearTimeout(ui.streamTimer);
  const stream = ui.stream;
  ui.stream = null;
  if (stream) stream.abort();
  setLive(false);
}

function heard(block) {
  let kind = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) kind = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trim());
  }
  if (!data.length) return;  // a ping
  const body = JSON.parse(data.join("\n"));
  if (kind === "status") setLive(body.following);
  else if (kind === "event") { showEvent(body); refreshSoon(); }
}

function setLive(live) {
  const was = ui.live;
  ui.live = live;
  $("live").dataset.mode = live ? "live" : "polling";
  $("live").textContent = live ? "live" : "polling";
  $("live").title = live ? "following the tree's events" : "no event stream: polling the tree";
  if (was && !live && ui.token) poll();  // back to the usual pace at once
}

function showEvent(e) {
  const when = e.timestamp ? e.timestamp.slice(11, 19) : "";
  const what = [e.display_name || e.uuid || e.host || "", e.state || ""].filter(Boolean).join(" ");
  $("events").prepend(el("li", { "data-type": e.event_type, "data-uuid": e.uuid || "" },
    el("span", { className: "when", text: when }), " ",
    el("b", { text: e.event_type }), " ", el("span", { text: what }),
    e.cell_path ? el("span", { className: "where", text: ` in ${e.cell_path}` }) : null));
  while ($("events").children.length > EVENTS_SHOWN) $("events").lastChild.remove();
}

function refreshSoon() {
  if (ui.redraw) return;
  ui.redraw = setTimeout(() => {
    ui.redraw = 0;
    poll();
    if (ui.selected) loadInstances();
  }, 300);
}

function isOpen(node, depth) {
  if (ui.open.has(node.path)) return ui.open.get(node.path);
  return depth < OPEN_DEPTH && node.children.length <= OPEN_AT_MOST;
}

function drawTree() {
  const top = ui.tree.tree;
  const all = [top, ...descendants(top)];
  const down = all.filter((c) => c.health !== "up").length;
  $("summary").textContent = `${all.length} cells (${down ? `${down} not up` : "all up"}), ` +
    `${top.capacity.instances} instances`;
  $("tree").replaceChildren(drawCell(top, 0));
}

function* descendants(node) {
  for (const child of node.children) { yield child; yield* descendants(child); }
}

function drawCell(node, depth) {
  const open = isOpen(node, depth);
  const box = el("div", { className: "cell", "data-path": node.path, "data-health": node.health });
  if (node.path === ui.selected) box.classList.add("selected");
  const toggle = node.children.length
    ? el("button", { className: "toggle", type: "button", text: open ? "▾" : "▸",
                     title: open ? "collapse" : "expand",
                     on: { click: () => { ui.open.set(node.path, !open); drawTree(); } } })
    : el("span", { className: "toggle" });
  const procs = node.processes.map((p) =>
    `${p.address}${p.standby ? " (standby)" : ""}${p.silent_s ? ` (silent ${p.silent_s}s)` : ""}`);
  box.append(el("div", { className: "head" },
    toggle,
    el("span", { className: "name", text: node.name, title: node.path,
                 on: { click: () => select(node.path) } }),
    el("span", { className: "badge", text: node.kind }),
    node.driver ? el("span", { className: "badge driver", text: node.driver,
                               title: "the driver that backs this leaf" }) : null,
    el("span", { className: "health", text: node.health }),
    el("span", { className: "procs", text: procs.length ? procs.join("  ") : node.address }),
    node.children.length && !open ? el("span", { className: "badge", text: `${node.cells} cells below` }) : null));
  box.append(figures(node.capacity), facts(node));
  if (open && node.children.length) {
    const shown = ui.more.get(node.path) || SHOWN_AT_ONCE;
    const kids = el("div", { className: "kids" });
    for (const child of node.children.slice(0, shown)) kids.append(drawCell(child, depth + 1));
    if (node.children.length > shown) {
      kids.append(el("button", { className: "more", type: "button",
        text: `show ${Math.min(SHOWN_AT_ONCE, node.children.length - shown)} more of ${node.children.length - shown}`,
        on: { click: () => { ui.more.set(node.path, shown + SHOWN_AT_ONCE); drawTree(); } } }));
    }
    box.append(kids);
  }
  return box;
}

function bar(label, pair, unit) {
  const [used, total] = pair;
  const share = total > 0 ? Math.min(100, (100 * used) / total) : 0;
  const fill = el("i");
  fill.style.width = `${share}%`;  // through the CSSOM: the page's policy allows no inline styles
  return el("div", { className: "bar", title: `${label}: ${used} of ${total} ${unit} used`,
                     "data-used": used, "data-total": total },
    fill, el("span", { text: `${label} ${used}/${total}${unit ? " " + unit : ""}` }));
}

function figures(c) {
  return el("div", { className: "figures" },
    bar("vCPU", c.vcpus, ""), bar("RAM", c.ram_mb, "MB"), bar("disk", c.disk_gb, "GB"));
}

function facts(node) {
  const c = node.capacity;
  const states = Object.entries(c.states).map(([s, n]) => `${s} ${n}`).join(", ") || "none";
  const fits = Object.entries(c.fits).map(([f, n]) => `${f} ${n}`).join(", ") || "-";
  const line = el("div", { className: "facts" });
  line.append(el("b", { text: "hosts " }), `${c.hosts[0]}/${c.hosts[1]} up · `,
    el("b", { text: "instances " }), `${c.instances} (${states}) · `,
    el("b", { text: "still fit " }), fits);
  if (node.cannot.length) line.append(" · ", el("b", { text: "cannot " }), node.cannot.join(", "));
  const agents = Object.entries(c.agents || {}).filter(([key]) => key.endsWith("/"));
  if (agents.length) {  // by kind; the capabilities are in the title
    line.append(" · ", el("b", { text: "agents " }),
      el("span", { className: "agents", text: agents.map(([k, n]) => `${k.slice(0, -1)} ${n}`).join(", "),
                   title: Object.entries(c.agents).map(([k, n]) => `${k} ${n}`).join("\n") }));
  }
  return line;
}

// ------------------------------------------------------------ one cell

function find(node, path) {
  if (node.path === path) return node;
  for (const child of node.children) {
    if (path === child.path || path.startsWith(child.path + "!")) return find(child, path);
  }
  return null;
}

function select(path) {
  ui.selected = path;
  ui.pages = [""];
  ui.page = 0;
  drawTree();
  drawDetail();
  loadInstances();
}

function drawDetail() {
  const node = find(ui.tree.tree, ui.selected);
  $("detail-path").textContent = ui.selected;
  if (!node) { $("detail-facts").textContent = "This cell is no longer in the tree."; return; }
  $("detail-facts").replaceChildren(`${node.kind}${node.driver ? ` (${node.driver})` : ""}, ${node.health}, ` +
    `${node.cells ? `${node.cells} cells below, ` : ""}${node.capacity.instances} instances`);
  // A leaf's hosts; for a router, the leaves below it (they are its hosts' cells).
  const rows = node.hosts.length
    ? node.hosts.map((h) => [h.name, h.capacity, h.up ? "up" : "down"])
    : [...descendants(node)].filter((c) => c.kind === "leaf")
        .slice(0, 200).map((c) => [c.path, c.capacity, c.health]);
  $("hosts").tBodies[0].replaceChildren(...rows.map(([name, c, health]) => el("tr",
    { "data-health": health },
    el("td", { text: `${name} (${health})` }), el("td", {}, bar("", c.vcpus, "")),
    el("td", {}, bar("", c.ram_mb, "MB")), el("td", {}, bar("", c.disk_gb, "GB")),
    el("td", { text: String(c.instances) }))));
}

async function loadInstances() {
  const params = new URLSearchParams({ cell: ui.selected, limit: "25" });
  const filters = { name: $("f-name").value, project: $("f-project").value, state: $("f-state").value };
  for (const [key, value] of Object.entries(filters)) if (value) params.set(key, value);
  if (ui.pages[ui.page]) params.set("page", ui.pages[ui.page]);
  const asked = ui.selected;
  try {
    const page = await call(`/dashboard/api/instances?${params}`);
    if (asked !== ui.selected) return;  // another cell was chosen meanwhile
    $("instances").tBodies[0].replaceChildren(...page.instances.map((i) => el("tr",
      { "data-uuid": i.uuid },
      el("td", { text: i.name }), el("td", { text: i.state }), el("td", { text: i.project }),
      el("td", { text: i.cell_path }), el("td", { text: i.host }),
      el("td", { className: "uuid", text: i.uuid }))));
    if (!page.instances.length) {
      $("instances").tBodies[0].append(el("tr", {}, el("td", { colSpan: 6, text: "no instances" })));
    }
    ui.pages[ui.page + 1] = page.next;
    $("next").disabled = !page.next;
    $("prev").disabled = ui.page === 0;
    $("page-no").textContent = `page ${ui.page + 1}` +
      (page.unreachable_cells.length ? ` (not answering: ${page.unreachable_cells.join(", ")})` : "");
  } catch (error) { failed(error); }
}

// ------------------------------------------------------------ dry run

function drawFlavors() {
  const select = $("p-flavor");
  const names = ui.tree.flavors.map((f) => f.name);
  if (select.options.length === names.length) return;  // keep the user's choice
  select.replaceChildren(...ui.tree.flavors.map((f) => el("option",
    { value: f.name, text: `${f.name} (${f.vcpus} vCPU, ${f.ram_mb} MB, ${f.disk_gb} GB)` })));
}

async function plan(event) {
  event.preventDefault();
  const hints = {};
  for (const line of $("p-hints").value.split("\n")) {
    const [key, ...rest] = line.split("=");
    if (key.trim()) hints[key.trim()] = rest.join("=").trim();
  }
  const body = { flavor: $("p-flavor").value, hints, project: $("p-project").value };
  const out = $("plan-result");
  out.replaceChildren("planning…");
  try {
    const answer = await call("/dashboard/api/plan", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    if (answer.refused) {
      out.replaceChildren(el("p", { className: "error refused", text: `Nothing can take it: ${answer.refused}` }));
      return;
    }
    out.replaceChildren(
      el("h3", { text: "Ranked (best first)" }),
      el("ol", { className: "ranked" }, ...answer.ranked.map((o) =>
        el("li", { text: o.host ? `${o.cell_path} on host ${o.host}` : `${o.cell_path} (not looked into)` }))),
      el("h3", { text: "Why, level by level" }),
      el("ul", { className: "why" }, ...answer.explanations.map((w) => el("li", { text: w }))));
  } catch (error) {
    out.replaceChildren(el("p", { className: "error", text: error.message }));
  }
}

// ------------------------------------------------------------ wiring

document.addEventListener("DOMContentLoaded", () => {
  $("f-state").append(...STATES.map((s) => el("option", { value: s, text: s })));
  $("login").addEventListener("submit", login);
  $("logout").addEventListener("click", () => logout(""));
  $("filters").addEventListener("submit", (e) => {
    e.preventDefault(); ui.pages = [""]; ui.page = 0; loadInstances();
  });
  $("next").addEventListener("click", () => { ui.page += 1; loadInstances(); });
  $("prev").addEventListener("click", () => { ui.page = Math.max(0, ui.page - 1); loadInstances(); });
  $("plan-form").addEventListener("submit", plan);
  if (ui.token) start(); else logout("");
});
