// Progressive enhancement only: every page works without this file.
// A sort menu marked data-autosubmit submits its form when changed.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el instanceof HTMLSelectElement && el.hasAttribute("data-autosubmit") && el.form) {
    el.form.submit();
  }
});
