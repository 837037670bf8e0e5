// The Ganga Jobs page: sorting, filtering, paging, live updates (server-sent events), actions, and the pictures
// of a selected job. Every value from the repository goes into the page as text (textContent), never as HTML;
// the pictures are a document of the server's, shown in a sandboxed frame.
(function () {
  "use strict";
  const body = document.body;
  const base = body.dataset.baseUrl.replace(/\/?$/, "/");
  // Statuses (in filter order), active statuses, colours and actions, as the server defines them.
  const config = JSON.parse(body.dataset.config);
  const api = base + "gangajupyter/api/";
  const state = { page: 1, sort: "id", order: "desc", status: new Set(), version: -1, pages: 1 };
  const form = document.getElementById("gj-filters");
  const tbody = document.querySelector("#gj-jobs tbody");
  const message = document.getElementById("gj-message");
  let loading = null;
  let again = false;

  function xsrf() {
    const m = document.cookie.match(/(?:^|;\s*)_xsrf=([^;]*)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    Object.assign(node, props || {});
    for (const child of children) node.append(child);
    return node;
  }

  function say(text, isError) {
    message.textContent = text;
    message.classList.toggle("gj-error", !!isError);
  }

  // An iframe does not inherit JupyterLab's CSS variables: in JupyterLab's or Notebook 7's iframe (same origin),
  // copy the parent's --jp- variables and colour scheme, and again whenever the user switches the theme.
  function followJupyterTheme() {
    let parent = null;
    try {
      if (window.parent !== window) parent = window.parent.document;
    } catch (err) {
      return;  // framed by another origin: keep our own colours
    }
    if (!parent || !parent.body) return;
    const copy = () => {
      const theme = parent.defaultView.getComputedStyle(parent.documentElement);
      const root = document.documentElement.style;
      for (const name of theme) {
        if (name.startsWith("--jp-")) root.setProperty(name, theme.getPropertyValue(name));
      }
      if (parent.body.dataset.jpThemeLight) root.colorScheme = parent.body.dataset.jpThemeLight === "false" ? "dark" : "light";
      themeFrame();
    };
    copy();
    new MutationObserver(copy).observe(parent.body, { attributes: true, attributeFilter: ["data-jp-theme-name", "data-jp-theme-light"] });
  }

  function colour(status) { return config.colours[status] || config.unknown_colour; }

  function badge(status) {
    const span = el("span", { className: "gj-status gj-status-" + status, textContent: status });
    span.style.background = colour(status);
    return span;
  }

  function when(epoch) {
    if (!epoch) return "";
    const d = new Date(epoch * 1000);
    return d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" });
  }

  function progress(counts, total) {
    const bar = el("div", { className: "gj-progress" });
    const title = counts.map(([s, n]) => n + " " + s).join(", ");
    bar.title = title;
    bar.setAttribute("role", "img");
    bar.setAttribute("aria-label", title);
    for (const [s, n] of counts) {
      const seg = el("div", { className: "gj-seg gj-seg-" + s });
      seg.style.width = (100 * n / total).toFixed(3) + "%";
      seg.style.background = colour(s);
      bar.append(seg);
    }
    return bar;
  }

  function post(url) {
    return fetch(url, { method: "POST", credentials: "same-origin", headers: { "X-XSRFToken": xsrf() } })
      .then((r) => r.json().catch(() => ({ ok: false, message: r.status + " " + r.statusText }))
        .then((data) => (r.ok ? data : { ok: false, message: data.message || r.status + " " + r.statusText })));
  }

  // In JupyterLab and Notebook 7 the page runs in the extension's iframe: the extension opens files there.
  function openInJupyter(kind, path, fallback) {
    if (window.parent !== window) {
      window.parent.postMessage({ source: "gangajupyter-jobs", kind: kind, path: path }, window.location.origin);
    } else {
      window.open(fallback, "_blank");
    }
  }

  function encodePath(path) { return path.split("/").map(encodeURIComponent).join("/"); }

  function act(job, action, button) {
    if (action === "remove" && !window.confirm("Remove job " + job.id + " (" + job.name + ") and its files?")) return;
    button.disabled = true;
    say(action + " job " + job.id + "\u2026");
    post(api + "jobs/" + job.id + "/" + action).then((reply) => {
      say(reply.message, !reply.ok);
      button.disabled = false;
      if (reply.ok && action === "notebook") {
        openInJupyter("notebook", reply.path, base + body.dataset.notebookUrl + encodePath(reply.path));
      }
      refresh();
    }, (err) => { say(action + " failed: " + err, true); button.disabled = false; });
  }

  function actions(job) {
    const cell = el("td", { className: "gj-actions" });
    const button = (action, label, title) => {
      if (!config.actions.includes(action)) return;  // the server no longer offers it
      const b = el("button", { type: "button", className: "gj-action-" + action, textContent: label, title: title });
      b.addEventListener("click", () => act(job, action, b));
      cell.append(b);
    };
    const failedSubjobs = job.subjob_counts.some(([s]) => config.resubmittable.includes(s));
    if (config.active.includes(job.status)) button("kill", "Kill", "kill the job (and its subjobs)");
    if (config.resubmittable.includes(job.status) || failedSubjobs) {
      button("resubmit", "Resubmit failed", "resubmit the failed subjobs, or the job");
    }
    button("notebook", "Notebook", "open a notebook that shows this job live");
    if (job.outputdir_served !== null) {
      const link = el("a", { className: "gj-outputdir", textContent: "Output", title: job.outputdir,
        href: base + body.dataset.filesUrl + encodePath(job.outputdir_served) });
      link.addEventListener("click", (e) => {
        e.preventDefault();
        openInJupyter("directory", job.outputdir_served, link.href);
      });
      cell.append(link);
    } else {
      const path = el("span", { className: "gj-path gj-outputdir", textContent: "Output", title: job.outputdir });
      path.addEventListener("click", () => say("Output directory of job " + job.id + ": " + job.outputdir));
      cell.append(path);
    }
    if (job.status !== "submitting") button("remove", "Remove", "remove the job from the repository");
    return cell;
  }

  // The pictures of the selected job (timeline, histograms, statistics): a document the server made of escaped
  // text (GangaJupyter.Lib.Core.pictures), shown in a frame sandboxed so that no script runs in it, and whose own
  // policy loads nothing. Nothing of it is parsed here.
  const detail = { id: null, status: "", changed: null, pending: 0, readAt: 0, last: 0, timer: null, loading: false, again: false };
  const panel = document.getElementById("gj-detail");
  const frame = document.getElementById("gj-detail-frame");
  const THROTTLE_MS = 2000;  // at most one read of the selected job every 2 s, however busy the repository is
  const RECHECK_MS = 30000;  // what the watch does not see (a scheduler record) is read again at least this often
  const ACTIVE_MS = 10000;  // while the job runs, its now-line moves even when nothing changes

  function themeFrame() {  // the frame does not inherit the page's variables: give it the page's theme
    const root = frame.contentDocument && frame.contentDocument.documentElement;
    if (!root) return;
    const theme = getComputedStyle(document.documentElement);
    for (const name of theme) {
      if (name.startsWith("--jp-")) root.style.setProperty(name, theme.getPropertyValue(name));
    }
    root.style.colorScheme = theme.colorScheme;  // the same as the page's, so the frame stays transparent
  }

  function fitFrame() {
    const doc = frame.contentDocument;
    if (doc && doc.body) frame.style.height = Math.ceil(doc.body.getBoundingClientRect().height) + "px";
  }

  function markSelected() {
    tbody.querySelectorAll("tr.gj-row").forEach((tr) => {
      const selected = Number(tr.dataset.id) === detail.id;
      tr.classList.toggle("gj-selected", selected);
      const button = tr.querySelector("button.gj-pick");
      if (button) button.setAttribute("aria-expanded", String(selected));
    });
  }

  function closeDetail() {
    // Focus in the panel goes back to the row's id, not to the top of the page.
    const selected = [...tbody.querySelectorAll("tr.gj-row")].find((tr) => Number(tr.dataset.id) === detail.id);
    if (selected && panel.contains(document.activeElement)) selected.querySelector("button.gj-pick").focus();
    detail.id = null;
    clearTimeout(detail.timer);
    detail.timer = null;
    panel.hidden = true;
    frame.removeAttribute("srcdoc");
    markSelected();
  }

  function select(job) {
    if (detail.id === job.id) { closeDetail(); return; }
    Object.assign(detail, { id: job.id, status: job.status, changed: null, pending: 0, readAt: 0, last: 0 });
    document.getElementById("gj-detail-title").textContent = "Job " + job.id + (job.name ? " \u2014 " + job.name : "");
    document.getElementById("gj-detail-note").textContent = "reading job " + job.id + "\u2026";
    frame.removeAttribute("srcdoc");
    panel.hidden = false;
    markSelected();
    loadDetail();
    panel.scrollIntoView({ block: "nearest" });
  }

  // Read again soon (throttled; one timer at a time).
  function detailSoon(delay) {
    if (detail.id === null || detail.timer) return;
    const wait = Math.max(delay, detail.last + THROTTLE_MS - Date.now(), 0);
    detail.timer = setTimeout(() => { detail.timer = null; loadDetail(); }, wait);
  }

  function showDetail(data) {
    Object.assign(detail, { status: data.status, changed: data.changed, pending: data.pending, readAt: Date.now() });
    const parts = [data.subjobs ? data.subjobs.toLocaleString() + " subjobs" : "no subjobs: the job's own run"];
    if (data.capped) parts.push("the first " + data.runs.toLocaleString() + " drawn");
    if (data.pending) parts.push("reading their files, " + data.pending.toLocaleString() + " to go\u2026");
    document.getElementById("gj-detail-note").textContent = parts.join("; ");
    frame.srcdoc = data.document;
  }

  function loadDetail() {
    if (detail.id === null) return;
    if (detail.loading) { detail.again = true; return; }
    const id = detail.id;
    // A job that has settled, read completely a moment ago, is only read again when the repository changed it.
    const settled = detail.changed !== null && !detail.pending && !config.active.includes(detail.status)
      && Date.now() - detail.readAt < RECHECK_MS;
    detail.loading = true;
    detail.last = Date.now();
    fetch(api + "jobs/" + id + "/pictures" + (settled ? "?known=" + detail.changed : ""), { credentials: "same-origin" })
      .then((r) => r.json().then((data) => {
        if (!r.ok) throw new Error(data.message || r.statusText);
        if (id === detail.id && !data.unchanged) showDetail(data);
      }))
      .catch((err) => {
        if (id === detail.id) document.getElementById("gj-detail-note").textContent = "Cannot read job " + id + ": " + err.message;
      })
      .finally(() => {
        detail.loading = false;
        const again = detail.again;
        detail.again = false;
        if (detail.id === null) return;
        if (id !== detail.id) { loadDetail(); return; }  // another job was selected meanwhile
        if (detail.pending) {  // the rest of its files, at once: the server bounds each request
          clearTimeout(detail.timer);
          detail.timer = setTimeout(() => { detail.timer = null; loadDetail(); }, 100);
        } else if (again) {
          detailSoon(0);
        } else if (config.active.includes(detail.status)) {
          detailSoon(ACTIVE_MS);
        }
      });
  }

  frame.addEventListener("load", () => { themeFrame(); fitFrame(); });
  new ResizeObserver(fitFrame).observe(panel);
  document.getElementById("gj-detail-close").addEventListener("click", closeDetail);
  document.addEventListener("keydown", (e) => { if (e.key === "Escape" && !panel.hidden) closeDetail(); });

  function row(job) {
    const tr = el("tr", { className: "gj-row" });
    tr.dataset.id = job.id;
    tr.dataset.status = job.status;
    tr.classList.toggle("gj-selected", job.id === detail.id);
    tr.addEventListener("click", (e) => { if (!e.target.closest("button, a, .gj-outputdir")) select(job); });
    // The row's id is the button that selects it, for the keyboard (a click anywhere else on the row does too).
    const pick = el("button", { type: "button", className: "gj-pick", textContent: job.id,
      title: "show the timeline and statistics of job " + job.id });
    pick.setAttribute("aria-controls", "gj-detail");
    pick.setAttribute("aria-expanded", String(job.id === detail.id));
    pick.addEventListener("click", () => select(job));
    const subjobs = el("td");
    if (job.subjobs) {
      subjobs.append(el("span", { className: "gj-subjobs" }, progress(job.subjob_counts, job.subjobs),
        el("span", { textContent: job.subjob_counts.map(([s, n]) => n + " " + s).join(", ") })));
    }
    tr.append(
      el("td", { className: "gj-id" }, pick),
      el("td", { className: "gj-name", textContent: job.name, title: job.comment ? job.name + "\n" + job.comment : job.name }),
      el("td", { className: "gj-status-cell" }, badge(job.status)),
      subjobs,
      el("td", { textContent: job.application }),
      el("td", { textContent: job.backend }),
      el("td", { className: "gj-time", textContent: when(job.created) }),
      el("td", { className: "gj-time", textContent: when(job.submitted) }),
      actions(job),
    );
    return tr;
  }

  function fillSelect(name, values) {
    const select = form.elements[name];
    const current = select.value;
    const wanted = [""].concat(values);
    if ([...select.options].map((o) => o.value).join("\n") === wanted.join("\n")) return;
    select.replaceChildren(...wanted.map((v) => el("option", { value: v, textContent: v || "any" })));
    select.value = wanted.includes(current) ? current : "";
  }

  function statusChips(counts) {
    const box = document.getElementById("gj-status-filter");
    const known = new Map(counts);
    const names = config.statuses.concat(counts.map(([s]) => s).filter((s) => !config.statuses.includes(s)));
    box.querySelectorAll(".gj-chip").forEach((c) => c.remove());
    for (const s of names) {
      const pressed = state.status.has(s);
      const chip = el("button", { type: "button", className: "gj-chip gj-chip-" + s,
        textContent: s + (known.has(s) ? " " + known.get(s) : "") });
      chip.setAttribute("aria-pressed", pressed);
      if (pressed) chip.style.background = colour(s);
      chip.addEventListener("click", () => {
        if (state.status.has(s)) state.status.delete(s); else state.status.add(s);
        state.page = 1;
        refresh();
      });
      box.append(chip);
    }
  }

  function params() {
    const p = new URLSearchParams({ page: state.page, sort: state.sort, order: state.order,
      page_size: form.elements.page_size.value });
    if (state.status.size) p.set("status", [...state.status].join(","));
    for (const name of ["backend", "application", "name", "since"]) {
      const value = form.elements[name].value.trim();
      if (value) p.set(name, value);
    }
    return p;
  }

  function render(data) {
    state.pages = data.pages;
    state.page = data.page;
    state.version = data.version;
    fillSelect("backend", data.backends);
    fillSelect("application", data.applications);
    statusChips(data.status_counts);
    // Rows are made anew: a keyboard user's focus stays on the same control of the same job.
    const focused = document.activeElement;
    const focusRow = focused && focused.closest ? focused.closest("tr.gj-row") : null;
    const focusClass = focusRow ? focused.className.split(" ")[0] : "";
    tbody.replaceChildren(...data.jobs.map(row));
    if (focusRow && focusClass) {
      const again = [...tbody.querySelectorAll("tr.gj-row")].find((tr) => tr.dataset.id === focusRow.dataset.id);
      const control = again && again.querySelector("." + CSS.escape(focusClass));
      if (control) control.focus();
    }
    if (!data.jobs.length) {
      const text = !data.loaded ? "Reading the repository\u2026" : data.total ? "No job matches the filters." : "No jobs in this repository yet.";
      tbody.append(el("tr", {}, el("td", { colSpan: 9, className: "gj-empty", textContent: text })));
    }
    document.getElementById("gj-page").textContent =
      "page " + data.page + " of " + data.pages + " \u2014 " + data.matching.toLocaleString() + " of " + data.total.toLocaleString() + " jobs";
    document.getElementById("gj-prev").disabled = data.page <= 1;
    document.getElementById("gj-next").disabled = data.page >= data.pages;
    body.dataset.version = data.version;
  }

  // One request at a time; a change during a request asks for one more afterwards.
  function refresh() {
    if (loading) { again = true; return loading; }
    loading = fetch(api + "jobs?" + params(), { credentials: "same-origin" })
      .then((r) => r.json().then((data) => {
        if (!r.ok) throw new Error(data.message || r.statusText);
        render(data);
      }))
      .catch((err) => say("Cannot read the jobs: " + err.message, true))
      .finally(() => {
        loading = null;
        if (again) { again = false; refresh(); }
      });
    return loading;
  }

  function sessionInfo() {
    fetch(api + "status", { credentials: "same-origin" }).then((r) => r.json()).then((s) => {
      const owner = s.sessions[0];
      document.getElementById("gj-session").textContent = owner
        ? "acting through Ganga session " + owner.pid + " (" + owner.role + ")"
        : "no Ganga session open: an action starts one";
    }).catch(() => {});
  }

  document.querySelectorAll("#gj-jobs th[data-sort]").forEach((th) => {
    th.addEventListener("click", () => {
      const key = th.dataset.sort;
      state.order = state.sort === key && state.order === "desc" ? "asc" : "desc";
      state.sort = key;
      document.querySelectorAll("#gj-jobs th[data-sort]").forEach((h) => h.removeAttribute("aria-sort"));
      th.setAttribute("aria-sort", state.order === "asc" ? "ascending" : "descending");
      state.page = 1;
      refresh();
    });
  });
  form.addEventListener("input", (e) => {
    if (e.target.name === "name") { clearTimeout(form.typing); form.typing = setTimeout(() => { state.page = 1; refresh(); }, 200); return; }
    state.page = 1;
    refresh();
  });
  form.addEventListener("submit", (e) => e.preventDefault());
  document.getElementById("gj-prev").addEventListener("click", () => { state.page -= 1; refresh(); });
  document.getElementById("gj-next").addEventListener("click", () => { state.page += 1; refresh(); });

  followJupyterTheme();
  refresh();
  sessionInfo();
  const events = new EventSource(api + "events", { withCredentials: true });
  events.addEventListener("change", (e) => {
    if (JSON.parse(e.data).version !== state.version) refresh();
    sessionInfo();
    detailSoon(0);  // the selected job's pictures, if the repository changed it (the server says)
  });
  // Jobs are active and nobody monitors them: ask (by POST, XSRF-checked) for the helper Ganga session.
  events.addEventListener("monitor", () => { post(api + "monitor").then(sessionInfo); });
})();
