// GangaJupyter's live view: the job card (HTML escaped by the kernel), actions, messages, peek; styled by
// job_view.css (the widget's _css). Clicks set `request`; the kernel answers in `reply`. Until it does, the view
// says the request is waiting.
function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}
const LABELS = { kill: "Kill", resubmit: "Resubmit", stdout: "Peek stdout", stderr: "Peek stderr", remove: "Remove" };
const TITLES = { resubmit: "Resubmit the failed or killed subjobs (or the job itself when it is not split)" };

function render({ model, el: root }) {
  root.classList.add("gj-live");
  const card = el("div", { class: "gj-live-card" });
  const bar = el("div", { class: "gj-actions" });
  const message = el("div", { class: "gj-message", role: "status" });
  const peek = el("pre", { class: "gj-peek" });
  root.append(card, bar, message, peek);
  let waiting = null;
  let counter = 0;

  const showMessage = (text, level) => {
    message.textContent = text;
    message.className = `gj-message gj-level-${level}`;
  };
  const drawCard = () => { card.innerHTML = model.get("html"); };
  const drawActions = () => {
    bar.replaceChildren();
    for (const action of model.get("actions")) {
      const button = el("button", { class: `gj-action gj-action-${action}`, title: TITLES[action] || "" }, LABELS[action] || action);
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

  drawCard(); drawActions(); drawReply(); drawPeek();
  model.on("change:html", drawCard);
  model.on("change:actions", drawActions);
  model.on("change:reply", drawReply);
  model.on("change:peek", drawPeek);
  model.on("change:notice", notify);
  return () => clearTimeout(waiting);
}
export default { render };
