// Progressive enhancement only: every page works without this file.
// A form marked data-busy says so on its button while its (slow) answer is on the way, and
// cannot be sent twice meanwhile.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-busy")) return;
  const button = form.querySelector("button[type=submit]");
  if (form.dataset.sent) {
    event.preventDefault();
    return;
  }
  form.dataset.sent = "1";
  if (button) {
    button.dataset.label = button.textContent;
    button.textContent = form.getAttribute("data-busy");
    button.setAttribute("aria-disabled", "true");
  }
  form.setAttribute("aria-busy", "true");
});
// Back to a page the browser kept: its form can be sent again (its button says so again).
window.addEventListener("pageshow", (event) => {
  if (!event.persisted) return;
  for (const form of document.querySelectorAll("form[data-sent]")) {
    delete form.dataset.sent;
    form.removeAttribute("aria-busy");
    const button = form.querySelector("button[type=submit]");
    if (button && button.dataset.label) {
      button.textContent = button.dataset.label;
      button.removeAttribute("aria-disabled");
    }
  }
});
