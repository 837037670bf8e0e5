// GangaJupyter's live view: the job card (HTML escaped by the kernel), actions, messages, peek; styled by
// job_view.css (the widget's _css). Clicks set `request`; the kernel answers in `reply`. Until it does, the view
// says the request is waiting. A subjob's link in the card (the slowest subjobs) asks for that subjob's card, which
// the kernel puts in `detail` (escaped like the card), shown below the view until closed.
//
// A view follows its job through the kernel that displayed it, over that kernel's widget comm. When that kernel is
// gone (restarted, shut down, died, or never there: a notebook reopened with its saved widget state), the view
// keeps its last card, drops its buttons and says so: a click would reach no kernel and nothing would happen.
function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}
const LABELS = { kill: "Kill", resubmit: "Resubmit", stdout: "Peek stdout", stderr: "Peek stderr", remove: "Remove" };
const TITLES = { resubmit: "Resubmit the failed or killed subjobs (or the job itself when it is not split)" };
const SUBJOB_LINK = "#gangajupyter-subjob="; // live.py's SUBJOB_LINK
// The class ipywidgets puts on the view's element while its model has no live comm (`comm_live` false): after a
// restart or an automatic restart (the widget manager's disconnect on "restarting"), and for a model made from saved
// widget state. anywidget's model proxy has no `comm_live`; it passes `comm_live_update` on like any event.
const DISCONNECTED = "jupyter-widgets-disconnected";

/** The line that displays the view's job again in a new kernel: `jobs(3)`, `jobs(3).subjobs(1)`; "" for slices. */
function again(card) {
  const job = card.querySelector(".gj-job[data-fqid]");
  if (!job || !/^\d+(\.\d+)*$/.test(job.dataset.fqid)) return "";
  const [top, ...subs] = job.dataset.fqid.split(".");
  return `jobs(${top})${subs.map((s) => `.subjobs(${s})`).join("")}`;
}

/** Calls `stop(reason)` once the kernel behind the view is gone; returns what undoes the watch. ipywidgets says
 * nothing to the model when a kernel is shut down or replaced (its comms are disposed silently): the kernel
 * connection's own signals say so. */
function watchKernel(model, view, stop) {
  if (view.classList.contains(DISCONNECTED)) stop("its kernel is gone");
  const onLive = () => { if (view.classList.contains(DISCONNECTED)) stop("its kernel restarted"); };
  model.on("comm_live_update", onLive);
  const kernel = model.widget_manager && model.widget_manager.kernel; // a Lumino KernelConnection, where there is one
  const onStatus = (_, status) => {
    if (status === "restarting" || status === "autorestarting") stop("its kernel restarted");
    else if (status === "dead") stop("its kernel stopped");
  };
  const onDisposed = () => stop("its kernel stopped");
  if (kernel && kernel.statusChanged) kernel.statusChanged.connect(onStatus);
  if (kernel && kernel.disposed) kernel.disposed.connect(onDisposed);
  return () => {
    model.off("comm_live_update", onLive);
    if (kernel && kernel.statusChanged) kernel.statusChanged.disconnect(onStatus);
    if (kernel && kernel.disposed) kernel.disposed.disconnect(onDisposed);
  };
}

function render({ model, el: root }) {
  root.classList.add("gj-live");
  const card = el("div", { class: "gj-live-card" });
  const bar = el("div", { class: "gj-actions" });
  const message = el("div", { class: "gj-message", role: "status" });
  const peek = el("pre", { class: "gj-peek" });
  // Hidden until the kernel sends a subjob's card; a rule at its left sets it apart from the view's own card.
  const detail = el("div", { class: "gj-detail", style: "margin-top:.4em;padding-left:.6em;border-left:3px solid var(--jp-border-color1, #999)" });
  detail.hidden = true;
  const detailCard = el("div", { class: "gj-detail-card" });
  const closeDetail = el("button", { class: "gj-action gj-detail-close", title: "Close this subjob's card" }, "Close");
  detail.append(closeDetail, detailCard);
  root.append(card, bar, message, peek, detail);
  let waiting = null;
  let counter = 0;
  let stopped = false; // the kernel behind the view is gone: nothing is sent, no buttons are drawn

  const showMessage = (text, level) => {
    message.textContent = text;
    message.className = `gj-message gj-level-${level}`;
  };
  const send = (request, label) => {
    if (stopped) return;
    counter += 1;
    model.set("request", { ...request, id: `${Date.now()}-${counter}` });
    model.save_changes();
    showMessage(`${label}: sent to the kernel…`, "info");
    clearTimeout(waiting);
    waiting = setTimeout(() => showMessage(
      `${label}: waiting for the kernel, which is busy running another cell; it runs when that cell ends.`, "info"), 1500);
  };
  const drawCard = () => { card.innerHTML = model.get("html"); };
  const drawActions = () => {
    bar.replaceChildren();
    if (stopped) return;
    for (const action of model.get("actions")) {
      const button = el("button", { class: `gj-action gj-action-${action}`, title: TITLES[action] || "" }, LABELS[action] || action);
      button.addEventListener("click", () => send({ action }, LABELS[action] || action));
      bar.append(button);
    }
    const bell = el("label", { class: "gj-notify" });
    const box = el("input", { type: "checkbox", class: "gj-notify-toggle" });
    box.checked = model.get("notifications");
    box.addEventListener("change", async () => {
      if (box.checked && "Notification" in window && Notification.permission === "default") {
        await Notification.requestPermission();
      }
      model.set("notifications", box.checked);
      model.save_changes();
    });
    bell.append(box, document.createTextNode(" notify me when it ends"));
    bar.append(bell);
  };
  const drawReply = () => {
    const reply = model.get("reply");
    if (!reply || !reply.text) return;
    clearTimeout(waiting);
    showMessage(reply.text, reply.level);
  };
  const drawPeek = () => {
    const text = model.get("peek");
    peek.classList.toggle("gj-shown", Boolean(text));
    peek.textContent = text;
  };
  const notify = () => {
    const note = model.get("notice");
    if (!note || !note.title || !model.get("notifications")) return;
    if ("Notification" in window && Notification.permission === "granted") new Notification(note.title, { body: note.body });
  };
  const drawDetail = () => {
    const html = model.get("detail");
    detail.hidden = !html;
    detailCard.innerHTML = html;
  };
  // The card is redrawn often: one listener on its container sees clicks on whatever links it holds now.
  card.addEventListener("click", (event) => {
    const link = event.target.closest(`a[href^="${SUBJOB_LINK}"]`);
    if (!link) return;
    event.preventDefault();
    const fqid = link.getAttribute("href").slice(SUBJOB_LINK.length);
    send({ action: "subjob", fqid }, `Subjob ${fqid}`);
  });
  closeDetail.addEventListener("click", () => { // asked again: shown again
    model.set("detail", "");
    if (!stopped) model.save_changes(); // no kernel to tell
  });

  drawCard(); drawActions(); drawReply(); drawPeek(); drawDetail();
  model.on("change:html", drawCard);
  model.on("change:actions", drawActions);
  model.on("change:reply", drawReply);
  model.on("change:peek", drawPeek);
  model.on("change:detail", drawDetail);
  model.on("change:notice", notify);
  const stop = (reason) => {
    if (stopped) return;
    stopped = true;
    clearTimeout(waiting);
    root.classList.add("gj-stopped");
    drawActions();
    const line = again(card);
    showMessage(`Stopped following: ${reason}. Run the cell again${line ? `, or ${line},` : ""} to follow the job${
      line ? "" : "s"}.`, "stopped");
  };
  const unwatch = watchKernel(model, root, stop);
  return () => { clearTimeout(waiting); unwatch(); };
}
export default { render };
