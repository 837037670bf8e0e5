// GangaJupyter's live view: the job card (HTML escaped by the kernel), actions, messages, peek.
// Clicks set `request`; the kernel answers in `reply`. Until it does, the view says the request is waiting.
function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}
const LABELS = { kill: "Kill", resubmit: "Resubmit", stdout: "Peek stdout", stderr: "Peek stderr", remove: "Remove" };
const TITLES = { resubmit: "Resubmit the failed or killed subjobs (or the job itself when it is not split)" };
const BUTTON = "margin:0 .4em .2em 0;padding:.1em .7em;border:1px solid var(--jp-border-color1, #999);border-radius:3px;background:transparent;color:inherit;cursor:pointer;font-size:12px";

function render({ model, el: root }) {
  const card = el("div", { class: "gj-live-card" });
  const bar = el("div", { class: "gj-actions", style: "margin-top:.3em" });
  const message = el("div", { class: "gj-message", role: "status", style: "margin-top:.2em;font-size:12px" });
  const peek = el("pre", { class: "gj-peek", style: "display:none;margin:.3em 0 0 0;padding:.3em .5em;max-height:18em;overflow:auto;background:rgba(128,128,128,.1);white-space:pre-wrap;font-size:12px" });
  root.append(card, bar, message, peek);
  let waiting = null;
  let counter = 0;

  const showMessage = (text, level) => {
    message.textContent = text;
    // Text keeps the theme's colour (red text falls below 4.5:1 on dark themes); a bar marks errors and successes.
    const mark = level === "error" ? "var(--jp-error-color1, #d62828)" : level === "success" ? "var(--jp-success-color1, #388e3c)" : "";
    message.style.borderLeft = mark ? `3px solid ${mark}` : "";
    message.style.paddingLeft = mark ? ".4em" : "";
  };
  const drawCard = () => { card.innerHTML = model.get("html"); };
  const drawActions = () => {
    bar.replaceChildren();
    for (const action of model.get("actions")) {
      const button = el("button", { class: `gj-action gj-action-${action}`, style: BUTTON, title: TITLES[action] || "" }, LABELS[action] || action);
      button.addEventListener("click", () => {
        counter += 1;
        model.set("request", { action, id: `${Date.now()}-${counter}` });
        model.save_changes();
        showMessage(`${LABELS[action] || action}: sent to the kernel…`, "info");
        clearTimeout(waiting);
        waiting = setTimeout(() => showMessage(
          `${LABELS[action] || action}: waiting for the kernel, which is busy running another cell; it runs when that cell ends.`, "info"), 1500);
      });
      bar.append(button);
    }
    const bell = el("label", { style: "font-size:12px;margin-left:.4em;white-space:nowrap" });
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
    peek.style.display = text ? "block" : "none";
    peek.textContent = text;
  };
  const notify = () => {
    const note = model.get("notice");
    if (!note || !note.title || !model.get("notifications")) return;
    if ("Notification" in window && Notification.permission === "granted") new Notification(note.title, { body: note.body });
  };

  drawCard(); drawActions(); drawReply(); drawPeek();
  model.on("change:html", drawCard);
  model.on("change:actions", drawActions);
  model.on("change:reply", drawReply);
  model.on("change:peek", drawPeek);
  model.on("change:notice", notify);
  return () => clearTimeout(waiting);
}
export default { render };
