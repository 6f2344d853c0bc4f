// Keyboard rating: digits score the active criterion and move to the next; n = no opinion;
// arrows move; Enter submits. Plain radios and a submit button work without this script.
"use strict";
const form = document.getElementById("rating");
const groups = Array.from(form.querySelectorAll("fieldset.criterion"));
let active = Math.max(0, groups.findIndex((g) => !g.querySelector("input:checked")));

function show() {
  groups.forEach((g, i) => g.classList.toggle("active", i === active));
  groups[active].scrollIntoView({ block: "nearest" });
}

function choose(value) {
  const input = groups[active].querySelector(`input[value="${value}"]`);
  if (!input) return false;
  input.checked = true;
  if (active < groups.length - 1) active += 1;
  show();
  return true;
}

document.addEventListener("keydown", (event) => {
  if (event.target.tagName === "TEXTAREA" || event.ctrlKey || event.metaKey || event.altKey) return;
  if (/^[0-9]$/.test(event.key)) {
    if (choose(event.key)) event.preventDefault();
  } else if (event.key === "n" || event.key === "N") {
    choose("none");
    event.preventDefault();
  } else if (event.key === "ArrowDown" || event.key === "j") {
    active = Math.min(groups.length - 1, active + 1); show(); event.preventDefault();
  } else if (event.key === "ArrowUp" || event.key === "k") {
    active = Math.max(0, active - 1); show(); event.preventDefault();
  } else if (event.key === "Enter") {
    event.preventDefault();
    if (form.reportValidity()) form.requestSubmit();
  }
});
groups.forEach((g, i) => g.addEventListener("click", () => { active = i; show(); }));
show();
