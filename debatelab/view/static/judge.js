// Keyboard judging: a letter key chooses that answer; 5-9 set the probability to 50-90 %, 0 to
// 100 %; Enter submits. Plain radios, a number field and a submit button work without this script.
"use strict";
const form = document.getElementById("judging");
const probability = document.getElementById("probability");

document.addEventListener("keydown", (event) => {
  const tag = event.target.tagName;
  if (tag === "TEXTAREA" || (tag === "INPUT" && event.target.type === "number") || event.ctrlKey || event.metaKey || event.altKey) {
    if (event.key === "Enter" && tag === "INPUT") { event.preventDefault(); if (form.reportValidity()) form.requestSubmit(); }
    return;
  }
  const answer = form.querySelector(`input[name="answer"][value="${event.key.toUpperCase()}"]`);
  if (answer) {
    answer.checked = true; event.preventDefault();
  } else if (/^[5-9]$/.test(event.key)) {
    probability.value = String(Number(event.key) * 10); event.preventDefault();
  } else if (event.key === "0") {
    probability.value = "100"; event.preventDefault();
  } else if (event.key === "Enter") {
    event.preventDefault();
    if (form.reportValidity()) form.requestSubmit();
  }
});
