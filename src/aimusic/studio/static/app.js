// aimusic studio page: plain JavaScript over the documented JSON API (/openapi.json).
// Nothing is fetched from anywhere but this server; no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  info: null, takes: [], byId: new Map(), current: null, other: null, active: "a",
  peaks: new Map(), analysis: new Map(), buffers: new Map(), actions: [],
  region: null, ctx: null, source: null, playing: false, startedAt: 0, offset: 0, job: null,
};
window.studio = state; // for the browser tests and the curious

// --- the API ---------------------------------------------------------------------------------
class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message ? e.message + (e.hint ? ` (${e.hint})` : "") : `HTTP ${status}`);
    this.status = status; this.body = body;
  }
}

async function api(method, path, body, headers = {}) {
  const init = { method, headers: { ...headers }, credentials: "same-origin" };
  if (body !== undefined) {
    if (body instanceof Blob) { init.body = body; init.headers["Content-Type"] = "application/octet-stream"; }
    else { init.body = JSON.stringify(body); init.headers["Content-Type"] = "application/json"; }
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function randomKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function say(text, kind = "error") {
  const box = $("message");
  box.textContent = text;
  box.className = kind;
  box.hidden = !text;
}
function fail(error) { say(error instanceof ApiError ? error.message : String(error.message || error)); }

const fmtTime = (t) => {
  t = Math.max(0, t || 0);
  return `${Math.floor(t / 60)}:${(t % 60).toFixed(1).padStart(4, "0")}`;
};
const num = (v, unit, digits = 1) => (v === null || v === undefined ? "n/a" : `${Number(v).toFixed(digits)} ${unit}`);
const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  for (const child of children) node.append(child);
  return node;
};

// --- views -----------------------------------------------------------------------------------
function showView(name) {
  for (const button of document.querySelectorAll("nav button")) {
    button.setAttribute("aria-pressed", String(button.dataset.view === name));
  }
  $("view-create").hidden = name !== "create";
  $("view-library").hidden = name !== "library";
  if (name === "library") loadLibrary();
}

// --- create: live plan, generate ---------------------------------------------------------------
function generateRequest() {
  const request = { request: $("request").value.trim(), provider: $("provider").value || "auto" };
  if ($("lyrics").value.trim()) request.lyrics = $("lyrics").value;
  if ($("duration").value) request.duration = Number($("duration").value);
  if ($("seed").value) request.seed = Number($("seed").value);
  return request;
}

let planTimer = null;
function schedulePlan() {
  clearTimeout(planTimer);
  planTimer = setTimeout(showPlan, 300);
}

async function showPlan() {
  const request = generateRequest();
  if (!request.request) { $("plan-facts").hidden = true; $("plan-empty").hidden = false; return; }
  try {
    const plan = await api("POST", "/api/plan", request);
    $("plan-empty").hidden = true; $("plan-facts").hidden = false;
    $("plan-task").textContent = plan.task + (plan.steps.length > 1 ? ` (${plan.steps.length} steps)` : "");
    $("plan-model").textContent = plan.model;
    $("plan-provider").textContent = plan.provider;
    $("plan-price").textContent = plan.estimated_cost_usd ? `$${plan.estimated_cost_usd.toFixed(4)}` : "free";
    $("plan-input").textContent = JSON.stringify(plan.input);
    $("plan-reasons").replaceChildren(...plan.reasons.map((r) => el("li", { textContent: r })));
    $("plan-warnings").replaceChildren(...(plan.warnings.length ? plan.warnings : ["nothing"]).map(
      (w) => el("li", { textContent: w })));
    say("");
  } catch (error) { fail(error); }
}

async function startJob(kind, request) {
  if (state.job) { say("a job is already running: wait for it or cancel it"); return null; }
  const key = randomKey(); // one key per click: a retried POST returns the same job, never a second one
  let job = null;
  for (let attempt = 0; attempt < 3 && !job; attempt++) {
    try {
      job = await api("POST", "/api/jobs", { kind, request }, { "Idempotency-Key": key });
    } catch (error) {
      if (error instanceof ApiError) { fail(error); return null; }
      await new Promise((r) => setTimeout(r, 500)); // the network failed: retry with the same key
    }
  }
  if (!job) { say("the studio server did not answer"); return null; }
  say("");
  return followJob(job);
}

function followJob(job) {
  state.job = job;
  $("job").hidden = false;
  $("job-text").textContent = `${job.kind}: queued`;
  $("job-bar").value = 0;
  for (const b of document.querySelectorAll("button.runs")) b.disabled = true;
  return new Promise((resolve) => {
    const events = new EventSource(`/api/jobs/${job.id}/events`);
    events.addEventListener("progress", (e) => {
      const p = JSON.parse(e.data);
      $("job-text").textContent = `${job.kind}: ${p.stage}${p.message ? " — " + p.message : ""}`;
      if (p.total) $("job-bar").value = Math.min(1, p.done / p.total);
      if (p.stage === "take") loadTakes();   // a take was written: list it now, not at the end
    });
    events.addEventListener("end", (e) => { events.close(); resolve(endJob(JSON.parse(e.data))); });
    events.onerror = () => { // the stream broke: ask for the job's state instead
      events.close();
      pollJob(job.id).then((final) => resolve(endJob(final)));
    };
  });
}

async function pollJob(id) {
  for (;;) {
    try {
      const job = await api("GET", `/api/jobs/${id}`);
      if (["succeeded", "failed", "cancelled"].includes(job.status)) return job;
    } catch (error) { return { id, status: "failed", error: { message: error.message } }; }
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function endJob(job) {
  state.job = null;
  $("job").hidden = true;
  for (const b of document.querySelectorAll("button.runs")) b.disabled = false;
  if (job.status !== "succeeded") {
    say(job.status === "cancelled" ? "cancelled: nothing was written" : `${job.kind || "job"} failed: ${job.error.message}`,
      job.status === "cancelled" ? "info" : "error");
    return job;
  }
  await loadTakes();
  const made = (job.result && job.result.takes) || [];
  if (made.length) {
    const parent = state.current;
    await openTake(made[0].id, parent && made[0].parent_id === parent.id ? parent.id : null);
  }
  return job;
}

// --- takes: the list (children next to their parent) -----------------------------------------
async function loadTakes() {
  try {
    const data = await api("GET", "/api/library");
    state.takes = data.takes;
    state.byId = new Map(data.takes.map((t) => [t.id, t]));
    renderTakes();
  } catch (error) { fail(error); }
}

function renderTakes() {
  const children = new Map();
  for (const take of state.takes) {
    const parent = take.parent_id && state.byId.has(take.parent_id) ? take.parent_id : null;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(take);
  }
  const items = [];
  const add = (take, depth) => {
    if (items.length > 200) return;
    const li = el("li", { className: (depth ? "child" : "") + (state.current && state.current.id === take.id ? " active" : "") },
      take.title, el("small", { textContent: `${take.task || "file"} · ${take.provider || "?"} · ${fmtTime(take.duration_s)}` }));
    li.style.marginLeft = `${Math.min(depth, 6) * 1.2}rem`;
    li.dataset.id = take.id;
    li.addEventListener("click", () => openTake(take.id));
    items.push(li);
    for (const child of (children.get(take.id) || []).slice().reverse()) add(child, depth + 1);
  };
  for (const take of children.get(null) || []) add(take, 0);
  $("takes").replaceChildren(...(items.length ? items : [el("li", { className: "muted", textContent: "No takes yet." })]));
  const other = $("ab-other");
  const keep = other.value;
  other.replaceChildren(...state.takes.filter((t) => !state.current || t.id !== state.current.id)
    .map((t) => el("option", { value: t.id, textContent: t.title + " · " + (t.task || "file") })));
  if (state.other) other.value = state.other.id; else if (keep) other.value = keep;
}

// --- the editor: waveform, playback, A/B, region ---------------------------------------------
async function openTake(id, compareWith = null) {
  stop();
  let take = state.byId.get(id);
  if (!take) {
    try { take = await api("GET", `/api/files/${id}/take`); } catch (error) { fail(error); return; }
    state.byId.set(id, take);
  }
  state.current = take;
  state.active = "a";
  state.offset = 0;
  state.region = null;
  const otherId = compareWith || take.parent_id;
  state.other = otherId && state.byId.get(otherId) ? state.byId.get(otherId) : null;
  $("editor").hidden = false;
  $("take-title").textContent = take.title;
  $("take-meta").textContent = [take.task, take.model, take.provider, take.created_at, take.name].filter(Boolean).join(" · ");
  $("download").href = `${take.url}?download=true`;
  $("download").setAttribute("download", take.name);
  $("replay").disabled = !take.sidecar;
  $("lineage").replaceChildren(...(take.lineage.length ? take.lineage.map((pid) => {
    const parent = state.byId.get(pid);
    const link = el("a", { href: "#", textContent: parent ? parent.title + ` (${parent.task || "file"})` : pid });
    link.addEventListener("click", (e) => { e.preventDefault(); openTake(pid); });
    return el("li", {}, link);
  }) : [el("li", { textContent: "nothing: an original" })]));
  setAB("a");
  renderTakes();
  showRegion();
  await Promise.all([loadPeaks(take), loadActions(take)]);
  draw();
  loadAnalysis(take);
}

async function loadPeaks(take) {
  if (state.peaks.has(take.id)) return;
  try { state.peaks.set(take.id, await api("GET", `/api/files/${take.id}/waveform?points=1200`)); }
  catch (error) { fail(error); }
}

async function loadAnalysis(take) {
  for (const id of ["stat-lufs", "stat-tp", "stat-tempo", "stat-key"]) $(id).textContent = "measuring…";
  $("stat-length").textContent = fmtTime(take.duration_s);
  try {
    if (!state.analysis.has(take.id)) state.analysis.set(take.id, await api("GET", `/api/files/${take.id}/analysis`));
  } catch (error) { fail(error); return; }
  if (!state.current || state.current.id !== take.id) return;
  showStats(state.analysis.get(take.id));
  draw();
}

function showStats(a) {
  $("stat-lufs").textContent = num(a.integrated_lufs, "LUFS");
  $("stat-tp").textContent = num(a.true_peak_dbtp, "dBTP", 2);
  $("stat-tempo").textContent = num(a.tempo_bpm, "BPM");
  $("stat-key").textContent = a.key ? a.key.name : "n/a";
  $("stat-length").textContent = `${a.duration_s.toFixed(2)} s`;
}

const heard = () => (state.active === "b" && state.other ? state.other : state.current);
const duration = (take) => {
  const p = take && state.peaks.get(take.id);
  return p ? p.duration_s : (take && take.duration_s) || 0;
};

async function bufferOf(take) {
  if (!state.buffers.has(take.id)) {
    const response = await fetch(take.url, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`cannot load ${take.name} (HTTP ${response.status})`);
    state.buffers.set(take.id, await state.ctx.decodeAudioData(await response.arrayBuffer()));
  }
  return state.buffers.get(take.id);
}

function position() {
  return state.playing ? state.ctx.currentTime - state.startedAt : state.offset;
}

async function play(from = position()) {
  state.ctx = state.ctx || new AudioContext();
  if (state.ctx.state === "suspended") await state.ctx.resume();
  const take = heard();
  let buffer;
  try { buffer = await bufferOf(take); } catch (error) { fail(error); return; }
  stopSource();
  const at = Math.min(Math.max(0, from), Math.max(0, buffer.duration - 0.01));
  const source = state.ctx.createBufferSource();
  source.buffer = buffer;
  source.connect(state.ctx.destination);
  source.onended = () => { if (state.source === source) { state.offset = position(); state.playing = false; state.source = null; $("play").textContent = "Play"; } };
  source.start(0, at);
  state.source = source;
  state.startedAt = state.ctx.currentTime - at;
  state.playing = true;
  $("play").textContent = "Pause";
  requestAnimationFrame(tick);
}

function stopSource() {
  if (state.source) { const s = state.source; state.source = null; try { s.stop(); } catch (_) { /* already ended */ } }
}
function stop() { if (state.playing) state.offset = position(); stopSource(); state.playing = false; $("play").textContent = "Play"; }

function tick() {
  draw();
  if (state.playing) requestAnimationFrame(tick);
}

async function setAB(which) {
  if (which === "b" && !state.other) {
    const pick = $("ab-other").value && state.byId.get($("ab-other").value);
    if (!pick) { say("no take to compare with yet: make an edit or pick one in the list", "info"); return; }
    state.other = pick;
  }
  const at = position(); // the playhead stays where it is: only the take under it changes
  const wasPlaying = state.playing;
  stop();
  state.active = which;
  state.offset = at;
  $("ab-a").setAttribute("aria-pressed", String(which === "a"));
  $("ab-b").setAttribute("aria-pressed", String(which === "b"));
  if (which === "b") await loadPeaks(state.other);
  draw();
  if (wasPlaying) await play(at);
}

// beats from the analysis; bars are every fourth beat (4/4, from the first beat)
function snapTimes() {
  const a = state.current && state.analysis.get(state.current.id);
  const beats = (a && a.beats_s) || [];
  const mode = $("snap").value;
  if (mode === "off" || beats.length < 2) return null;
  return mode === "bar" ? beats.filter((_, i) => i % 4 === 0) : beats;
}
function snap(t) {
  const grid = snapTimes();
  const end = duration(state.current);
  if (!grid) return Math.min(Math.max(0, t), end);
  let best = 0;
  for (const g of [0, ...grid, end]) if (Math.abs(g - t) < Math.abs(best - t)) best = g;
  return best;
}

function showRegion() {
  $("region-start").value = state.region ? state.region[0].toFixed(2) : "";
  $("region-end").value = state.region ? state.region[1].toFixed(2) : "";
}

function draw() {
  const canvas = $("wave");
  const g = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height;
  g.fillStyle = "#0d0f12"; g.fillRect(0, 0, w, h);
  const take = heard();
  const peaks = take && state.peaks.get(take.id);
  if (!peaks) return;
  const span = Math.max(duration(state.current), duration(take)) || 1;
  const x = (t) => (t / span) * w;
  const grid = snapTimes() || [];
  g.fillStyle = "#262b33";
  grid.forEach((t) => g.fillRect(Math.round(x(t)), 0, 1, h));
  if (state.region) {
    g.fillStyle = "rgba(255,179,71,0.25)";
    g.fillRect(x(state.region[0]), 0, x(state.region[1]) - x(state.region[0]), h);
  }
  g.fillStyle = state.active === "b" ? "#ffb347" : "#4fb3ff";
  const n = peaks.points, scale = x(peaks.duration_s) / n, mid = h / 2;
  for (let i = 0; i < n; i++) {
    const top = mid - peaks.max[i] * mid * 0.95, bottom = mid - peaks.min[i] * mid * 0.95;
    g.fillRect(i * scale, top, Math.max(1, scale), Math.max(1, bottom - top));
  }
  const at = position();
  g.fillStyle = "#ffffff"; g.fillRect(Math.round(x(at)), 0, 2, h);
  $("clock").textContent = `${fmtTime(at)} / ${fmtTime(duration(take))}${state.active === "b" ? " (B)" : " (A)"}`;
}

function canvasTime(event) {
  const rect = $("wave").getBoundingClientRect();
  const span = Math.max(duration(state.current), duration(heard())) || 1;
  return Math.min(Math.max(0, (event.clientX - rect.left) / rect.width), 1) * span;
}

function wireCanvas() {
  const canvas = $("wave");
  let down = null;
  canvas.addEventListener("pointerdown", (e) => { down = canvasTime(e); canvas.setPointerCapture(e.pointerId); });
  canvas.addEventListener("pointermove", (e) => {
    if (down === null) return;
    const a = snap(down), b = snap(canvasTime(e));
    state.region = Math.abs(b - a) > 0 ? [Math.min(a, b), Math.max(a, b)] : null;
    showRegion(); draw();
  });
  canvas.addEventListener("pointerup", (e) => {
    if (down === null) return;
    const t = canvasTime(e);
    if (Math.abs(t - down) * canvas.width / (duration(state.current) || 1) < 0.01 * canvas.width) {
      // a click, not a drag: move the playhead there
      state.region = null; showRegion();
      if (state.playing) play(t); else { state.offset = t; draw(); }
    }
    down = null;
  });
  for (const id of ["region-start", "region-end"]) {
    $(id).addEventListener("change", () => {
      const a = Number($("region-start").value), b = Number($("region-end").value);
      state.region = $("region-start").value !== "" && $("region-end").value !== "" ? [a, b] : null;
      draw();
    });
  }
}

// --- actions (from the API), finish, replay ---------------------------------------------------
async function loadActions(take) {
  try { state.actions = (await api("GET", `/api/files/${take.id}/actions`)).actions; }
  catch (error) { fail(error); state.actions = []; }
  const boxes = state.actions.map((action) => {
    const inputs = action.params.map((p) => {
      const input = el("input", { type: p.name === "strength" ? "range" : "number", min: p.min, max: p.max,
        step: p.step, value: p.default, id: `act-${action.id || action.task}-${p.name}` });
      const shown = el("span", { textContent: p.name === "strength" ? String(p.default) : "" });
      input.addEventListener("input", () => { if (input.type === "range") shown.textContent = input.value; });
      return el("label", {}, `${p.label} `, input, shown);
    });
    const button = el("button", { type: "button", className: "runs", textContent: action.label, title: action.help,
      id: `act-${action.id || action.task}` });
    button.addEventListener("click", () => runAction(action));
    return el("div", { className: "action" }, ...inputs, button);
  });
  $("actions").replaceChildren(...boxes);
}

async function runAction(action) {
  const take = state.current;
  const values = {};
  for (const p of action.params) values[p.name] = Number($(`act-${action.id || action.task}-${p.name}`).value);
  if (action.region) {
    if (!state.region) { say("select a region on the waveform first (drag across it)"); return; }
    values.start = +state.region[0].toFixed(2);
    values.end = +state.region[1].toFixed(2);
  }
  const style = $("style").value.trim();
  values.style = style ? `, ${style}` : "";
  const words = action.words.replace(/\{(\w+)\}/g, (_, k) => String(values[k] ?? ""));
  const request = { audio: take.path, request: words, provider: $("provider").value || "auto" };
  for (const p of action.params) if (p.field) request[p.name] = values[p.name];
  stop();
  return startJob(action.kind, request);
}

async function finishTake(event) {
  event.preventDefault();
  const request = { audio: state.current.path, preset: $("fin-preset").value,
    fade_in: Number($("fin-in").value) || 0, fade_out: Number($("fin-out").value) || 0, loop: $("fin-loop").checked };
  if ($("fin-lufs").value !== "") request.loudness = Number($("fin-lufs").value);
  if ($("fin-tp").value !== "") request.true_peak = Number($("fin-tp").value);
  if ($("fin-format").value) request.format = $("fin-format").value;
  if (request.loop) { delete request.fade_in; delete request.fade_out; }
  stop();
  return startJob("finish", request);
}

// --- library ----------------------------------------------------------------------------------
let libTimer = null;
async function loadLibrary() {
  const params = new URLSearchParams();
  for (const [key, id] of [["q", "lib-q"], ["model", "lib-model"], ["provider", "lib-provider"],
    ["since", "lib-since"], ["until", "lib-until"]]) if ($(id).value) params.set(key, $(id).value);
  try {
    const { takes } = await api("GET", `/api/library?${params}`);
    for (const t of takes) state.byId.set(t.id, t);
    $("lib-table").tBodies[0].replaceChildren(...takes.map((t) => {
      const parent = t.parent_id && state.byId.get(t.parent_id);
      const open = el("button", { type: "button", textContent: "Open" });
      open.addEventListener("click", () => { showView("create"); openTake(t.id); });
      const cells = [t.title, t.task || "", t.model || "", t.provider || "", (t.created_at || "").slice(0, 16).replace("T", " "),
        fmtTime(t.duration_s), parent ? parent.title : ""].map((v) => el("td", { textContent: v }));
      return el("tr", {}, ...cells, el("td", {}, open));
    }));
    if (!takes.length) $("lib-table").tBodies[0].replaceChildren(el("tr", {}, el("td", { colSpan: 8, textContent: "nothing matches" })));
  } catch (error) { fail(error); }
}

async function upload(event) {
  const file = event.target.files[0];
  if (!file) return;
  try {
    const take = await api("PUT", `/api/uploads/${encodeURIComponent(file.name)}`, file);
    say(`opened ${take.name}`, "info");
    await loadTakes();
    showView("create");
    await openTake(take.id);
  } catch (error) { fail(error); }
  event.target.value = "";
}

// --- start ------------------------------------------------------------------------------------
async function start() {
  for (const b of document.querySelectorAll("nav button")) b.addEventListener("click", () => showView(b.dataset.view));
  $("create-form").addEventListener("submit", (e) => { e.preventDefault(); startJob("generate", generateRequest()); });
  $("generate").classList.add("runs");
  $("finish").classList.add("runs");
  for (const id of ["request", "lyrics", "provider", "duration"]) $(id).addEventListener("input", schedulePlan);
  $("job-cancel").addEventListener("click", () => state.job && api("POST", `/api/jobs/${state.job.id}/cancel`).catch(fail));
  $("play").addEventListener("click", () => (state.playing ? (stop(), draw()) : play()));
  $("ab-a").addEventListener("click", () => setAB("a"));
  $("ab-b").addEventListener("click", () => setAB("b"));
  $("ab-other").addEventListener("change", () => { state.other = state.byId.get($("ab-other").value) || null; if (state.active === "b") setAB("b"); });
  $("region-clear").addEventListener("click", () => { state.region = null; showRegion(); draw(); });
  $("snap").addEventListener("change", draw);
  $("finish-form").addEventListener("submit", finishTake);
  $("replay").addEventListener("click", () => state.current && startJob("replay", { sidecar: state.current.sidecar }));
  $("upload").addEventListener("change", upload);
  for (const id of ["lib-q", "lib-model", "lib-provider", "lib-since", "lib-until"]) {
    $(id).addEventListener("input", () => { clearTimeout(libTimer); libTimer = setTimeout(loadLibrary, 250); });
  }
  wireCanvas();
  try {
    state.info = await api("GET", "/api/info");
  } catch (error) { fail(error); return; }
  $("version").textContent = `aimusic ${state.info.version} · ${state.info.output_dir}`;
  $("provider").replaceChildren(...state.info.providers.map((p) => el("option", { value: p, textContent: p })));
  $("lib-provider").append(...state.info.providers.filter((p) => p !== "auto").map((p) => el("option", { value: p, textContent: p })));
  $("fin-preset").replaceChildren(...state.info.presets.map((p) => el("option", { value: p, textContent: p })));
  $("fin-format").replaceChildren(el("option", { value: "", textContent: "same" }),
    ...state.info.formats.map((f) => el("option", { value: f, textContent: f })));
  await loadTakes();
  schedulePlan();
  document.body.dataset.ready = "true";
}

start();
