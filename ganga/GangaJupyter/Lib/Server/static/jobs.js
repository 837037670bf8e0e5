// The Ganga Jobs page: sorting, filtering, paging, live updates (server-sent events) and actions.
// Every value from the repository goes into the page as text (textContent), never as HTML.
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

  function row(job) {
    const tr = el("tr", { className: "gj-row" });
    tr.dataset.id = job.id;
    tr.dataset.status = job.status;
    const subjobs = el("td");
    if (job.subjobs) {
      subjobs.append(el("span", { className: "gj-subjobs" }, progress(job.subjob_counts, job.subjobs),
        el("span", { textContent: job.subjob_counts.map(([s, n]) => n + " " + s).join(", ") })));
    }
    tr.append(
      el("td", { className: "gj-id", textContent: job.id }),
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
    tbody.replaceChildren(...data.jobs.map(row));
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
  });
  // Jobs are active and nobody monitors them: ask (by POST, XSRF-checked) for the helper Ganga session.
  events.addEventListener("monitor", () => { post(api + "monitor").then(sessionInfo); });
})();
