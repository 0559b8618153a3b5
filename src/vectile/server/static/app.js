// vectile's page: upload an image, trace it with POST /v1/vectorize, compare, download.
// Plain JavaScript, no build step, no third-party code. The SVG preview is an <img> with a
// blob: URL: SVG shown as an image never runs scripts.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const els = {
    drop: $("drop"), file: $("file"), filename: $("filename"), colors: $("colors"), mode: $("mode"),
    convert: $("convert"), download: $("download"), status: $("status"), error: $("error"),
    stats: $("stats"), stage: $("stage"), canvas: $("canvas"), placeholder: $("placeholder"),
    original: $("original"), vector: $("vector"), divider: $("divider"), split: $("split"),
    zoom: $("zoom"), zoomLabel: $("zoom-label"), runs: $("runs"), runsWrap: $("runs-wrap"),
    aiLabel: $("quality-ai"),
  };

  const state = {
    file: null,          // the File being traced
    originalUrl: null,   // blob: URL of the file
    size: null,          // {width, height} of the original
    runs: [],            // [{settings, stats, url, bytes, roundTrip}]
    current: null,       // the run shown
    controller: null,    // AbortController of the request in flight
    limits: null,        // from /v1/capabilities
    zoomTouched: false,  // the user zoomed: keep their zoom for the next conversion
  };

  // --- capabilities: AI quality, limits ---------------------------------------------------

  fetch("/v1/capabilities").then((r) => (r.ok ? r.json() : null)).then((caps) => {
    if (!caps) return;
    state.limits = caps.limits;
    const ai = caps.qualities.find((q) => q.name === "ai");
    if (ai && ai.available) {
      els.aiLabel.classList.remove("unavailable");
      els.aiLabel.title = ai.description;
      els.aiLabel.querySelector("input").disabled = false;
    }
  }).catch(() => {});

  // --- choosing a file --------------------------------------------------------------------

  els.file.addEventListener("change", () => {
    if (els.file.files.length) useFile(els.file.files[0]);
  });
  for (const type of ["dragenter", "dragover"]) {
    els.drop.addEventListener(type, (event) => {
      event.preventDefault();
      els.drop.classList.add("dragging");
    });
  }
  for (const type of ["dragleave", "drop"]) {
    els.drop.addEventListener(type, () => els.drop.classList.remove("dragging"));
  }
  els.drop.addEventListener("drop", (event) => {
    event.preventDefault();
    const file = event.dataTransfer && event.dataTransfer.files[0];
    if (file) useFile(file);
    else showError("That was not a file: drop an image file from your computer.");
  });
  // Dropping a file anywhere else must not navigate away from the page.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());

  function useFile(file) {
    clearError();
    if (state.limits && file.size > state.limits.max_upload_bytes) {
      showError(`"${file.name}" is ${formatBytes(file.size)}; this server takes at most ` +
        `${formatBytes(state.limits.max_upload_bytes)} per image.`);
      return;
    }
    for (const run of state.runs) URL.revokeObjectURL(run.url);
    if (state.originalUrl) URL.revokeObjectURL(state.originalUrl);
    state.file = file;
    state.runs = [];
    state.current = null;
    state.size = null;
    state.zoomTouched = false;
    state.originalUrl = URL.createObjectURL(file);
    els.filename.textContent = `${file.name} (${formatBytes(file.size)})`;
    els.filename.hidden = false;
    els.convert.disabled = false;
    els.vector.removeAttribute("src");
    els.stats.hidden = true;
    setStatus("");
    els.original.src = state.originalUrl;
    renderRuns();
    setDownload(null);
    convert();
  }

  els.original.addEventListener("load", () => {
    state.size = { width: els.original.naturalWidth, height: els.original.naturalHeight };
    els.placeholder.hidden = true;
    els.canvas.hidden = false;
    if (!state.zoomTouched) fit();
    else applyZoom();
  });
  els.original.addEventListener("error", () => {
    // The browser cannot show some formats (TIFF); the server may still trace them, and the
    // SVG's size then sizes the canvas.
    state.size = null;
    if (!state.current) {
      els.canvas.hidden = true;
      els.placeholder.hidden = false;
    }
  });

  // --- settings -----------------------------------------------------------------------------

  function settings() {
    const quality = document.querySelector('input[name="quality"]:checked').value;
    const colors = els.colors.value.trim();
    return { quality, colors, mode: els.mode.value };
  }

  let debounce = null;
  function settingsChanged() {
    if (!state.file) return;
    clearTimeout(debounce);
    debounce = setTimeout(convert, 250);
  }
  for (const input of document.querySelectorAll('input[name="quality"]')) {
    input.addEventListener("change", settingsChanged);
  }
  els.colors.addEventListener("input", settingsChanged);
  els.mode.addEventListener("change", settingsChanged);
  els.convert.addEventListener("click", convert);
  $("download-as").addEventListener("click", downloadAs);

  // --- converting ---------------------------------------------------------------------------

  async function convert() {
    if (!state.file) return;
    const chosen = settings();
    if (chosen.colors !== "") {
      const n = Number(chosen.colors);
      if (!Number.isInteger(n) || n < 1 || n > 256) {
        showError("Colours must be a whole number from 1 to 256, or empty for automatic.");
        return;
      }
    }
    clearError();
    if (state.controller) state.controller.abort();
    const controller = new AbortController();
    state.controller = controller;

    const body = new FormData();
    body.append("image", state.file, state.file.name);
    body.append("quality", chosen.quality);
    body.append("mode", chosen.mode);
    if (chosen.colors !== "") body.append("colors", chosen.colors);

    setStatus(`Tracing with ${chosen.quality} quality…`, true);
    const started = performance.now();
    let response;
    try {
      response = await fetch("/v1/vectorize", { method: "POST", body, signal: controller.signal });
    } catch (err) {
      if (controller.signal.aborted) return;  // replaced by a newer conversion
      setStatus("");
      showError("Could not reach the server. Is it still running?");
      return;
    }
    if (controller.signal.aborted) return;
    if (!response.ok) {
      state.controller = null;
      setStatus("");
      showError(await errorMessage(response));
      return;
    }
    const text = await response.text();
    if (controller.signal.aborted) return;
    state.controller = null;
    const roundTrip = (performance.now() - started) / 1000;
    let stats = {};
    try { stats = JSON.parse(response.headers.get("X-Vectile-Stats") || "{}"); } catch (err) { stats = {}; }
    const blob = new Blob([text], { type: "image/svg+xml" });
    const run = { settings: chosen, stats, url: URL.createObjectURL(blob), bytes: blob.size, roundTrip };
    state.runs.push(run);
    show(run);
    setStatus(`Done: ${stats.paths ?? "?"} paths, ${formatKB(run.bytes)} in ${formatSeconds(roundTrip)}.`);
  }

  // The current run's settings traced again into another format (POST /v1/vectorize with a
  // format field) and saved: the server writes every format from the SVG it traces.
  async function downloadAs() {
    const run = state.current;
    if (!run || !state.file) return;
    const choice = $("format").value;
    const format = choice === "svg-color" ? "svg" : choice;
    const body = new FormData();
    body.append("image", state.file, state.file.name);
    body.append("quality", run.settings.quality);
    body.append("mode", run.settings.mode);
    if (run.settings.colors !== "") body.append("colors", run.settings.colors);
    body.append("format", format);
    if (choice === "svg-color") body.append("group_by", "color");
    clearError();
    setStatus(`Writing ${format.toUpperCase()}…`, true);
    let response;
    try {
      response = await fetch("/v1/vectorize", { method: "POST", body });
    } catch (err) {
      setStatus("");
      showError("Could not reach the server. Is it still running?");
      return;
    }
    if (!response.ok) {
      setStatus("");
      showError(await errorMessage(response));
      return;
    }
    const blob = await response.blob();
    const stem = state.file.name.replace(/\.[^.]*$/, "") || "image";
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = `${stem}-${run.settings.quality}${choice === "svg-color" ? "-layers" : ""}.${format}`;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setStatus(`Saved ${format.toUpperCase()} (${formatKB(blob.size)}).`);
  }

  async function errorMessage(response) {
    let detail = null;
    try {
      const payload = await response.json();
      detail = payload.detail;
    } catch (err) { detail = null; }
    if (Array.isArray(detail)) {  // validation errors: [{loc, msg}]
      detail = detail.map((d) => `${(d.loc || []).slice(-1)[0] || "request"}: ${d.msg}`).join("; ");
    }
    const prefix = {
      413: "Too large",
      415: "Unsupported file",
      422: "Cannot trace this",
      504: "Took too long",
    }[response.status] || `Server error ${response.status}`;
    return detail ? `${prefix}: ${detail}` : `${prefix}.`;
  }

  function show(run) {
    state.current = run;
    els.vector.src = run.url;
    els.canvas.hidden = false;
    els.placeholder.hidden = true;
    if (!state.size && run.stats.width) {  // the browser could not show the original
      state.size = { width: run.stats.width, height: run.stats.height };
      if (!state.zoomTouched) fit();
    }
    const s = run.stats;
    els.stats.hidden = false;
    $("stat-paths").textContent = s.paths ?? "–";
    $("stat-kb").textContent = formatKB(run.bytes);
    const time = $("stat-time");
    time.textContent = formatSeconds(s.seconds ?? run.roundTrip);
    const roundTrip = document.createElement("small");
    roundTrip.textContent = `${formatSeconds(run.roundTrip)} round trip`;
    time.appendChild(roundTrip);
    $("stat-colors").textContent = s.palette ?? "–";
    $("stat-image").textContent = s.width ? `${s.width} × ${s.height}` : "–";
    $("stat-preset").textContent = s.preset ? `${s.preset}, ${s.mode}` : "–";
    setDownload(run);
    renderRuns();
  }

  function setDownload(run) {
    if (!run) {
      els.download.removeAttribute("href");
      els.download.classList.add("disabled");
      els.download.setAttribute("aria-disabled", "true");
      $("download-as").disabled = true;
      return;
    }
    const stem = state.file.name.replace(/\.[^.]*$/, "") || "image";
    $("download-as").disabled = false;
    els.download.href = run.url;
    els.download.download = `${stem}-${run.settings.quality}.svg`;
    els.download.classList.remove("disabled");
    els.download.setAttribute("aria-disabled", "false");
  }

  function renderRuns() {
    const body = els.runs.querySelector("tbody");
    body.replaceChildren();
    els.runsWrap.hidden = state.runs.length === 0;
    state.runs.forEach((run) => {
      const row = document.createElement("tr");
      if (run === state.current) row.className = "current";
      const cells = [
        run.settings.quality, run.settings.colors || `auto (${run.stats.palette ?? "?"})`,
        run.settings.mode === "binary" ? "black and white" : "colour", run.stats.paths ?? "?",
        (run.bytes / 1000).toFixed(1), formatSeconds(run.stats.seconds ?? run.roundTrip),
      ];
      for (const value of cells) {
        const cell = document.createElement("td");
        cell.textContent = String(value);
        row.appendChild(cell);
      }
      row.addEventListener("click", () => show(run));
      body.appendChild(row);
    });
  }

  // --- split slider and zoom --------------------------------------------------------------

  function applySplit() {
    const pct = Number(els.split.value);
    els.vector.style.clipPath = `inset(0 0 0 ${pct}%)`;
    els.divider.style.left = `${pct}%`;
  }
  els.split.addEventListener("input", applySplit);

  let dragging = false;
  els.canvas.addEventListener("pointerdown", (event) => {
    dragging = true;
    els.canvas.setPointerCapture(event.pointerId);
    splitAt(event);
  });
  els.canvas.addEventListener("pointermove", (event) => { if (dragging) splitAt(event); });
  els.canvas.addEventListener("pointerup", () => { dragging = false; });
  function splitAt(event) {
    const box = els.canvas.getBoundingClientRect();
    const pct = Math.min(100, Math.max(0, ((event.clientX - box.left) / box.width) * 100));
    els.split.value = String(Math.round(pct));
    applySplit();
  }

  function zoomFactor() { return Math.pow(2, Number(els.zoom.value)); }
  function applyZoom() {
    if (!state.size) return;
    const z = zoomFactor();
    els.canvas.style.width = `${Math.max(1, Math.round(state.size.width * z))}px`;
    els.canvas.style.height = `${Math.max(1, Math.round(state.size.height * z))}px`;
    els.canvas.classList.toggle("pixelated", z > 1.5);
    els.zoomLabel.textContent = `${Math.round(z * 100)}%`;
  }
  function fit() {
    if (!state.size) return;
    const room = els.stage.getBoundingClientRect();
    const z = Math.min((room.width - 32) / state.size.width, (room.height - 32) / state.size.height);
    const steps = Math.floor(Math.log2(Math.max(z, 1 / 8)) * 4) / 4;
    els.zoom.value = String(Math.min(Number(els.zoom.max), Math.max(Number(els.zoom.min), steps)));
    applyZoom();
  }
  els.zoom.addEventListener("input", () => { state.zoomTouched = true; applyZoom(); });
  $("zoom-in").addEventListener("click", () => stepZoom(0.5));
  $("zoom-out").addEventListener("click", () => stepZoom(-0.5));
  $("fit").addEventListener("click", () => { state.zoomTouched = false; fit(); });
  function stepZoom(delta) {
    els.zoom.value = String(Number(els.zoom.value) + delta);
    state.zoomTouched = true;
    applyZoom();
  }
  els.stage.addEventListener("wheel", (event) => {
    if (!event.ctrlKey || !state.size) return;  // ctrl + wheel zooms, plain wheel scrolls
    event.preventDefault();
    stepZoom(event.deltaY < 0 ? 0.25 : -0.25);
  }, { passive: false });
  window.addEventListener("resize", () => { if (!state.zoomTouched) fit(); });

  // --- messages -----------------------------------------------------------------------------

  function setStatus(text, busy = false) {
    els.status.textContent = text;
    els.status.classList.toggle("busy", busy);
  }
  function showError(message) {
    els.error.textContent = message;
    els.error.hidden = false;
  }
  function clearError() {
    els.error.hidden = true;
    els.error.textContent = "";
  }
  function formatBytes(n) {
    if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
    if (n >= 1e3) return `${(n / 1e3).toFixed(1)} KB`;
    return `${n} bytes`;
  }
  function formatKB(n) { return `${(n / 1000).toFixed(1)} KB`; }
  function formatSeconds(s) { return s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(2)} s`; }

  applySplit();
})();
