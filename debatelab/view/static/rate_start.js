// The start form navigates to /rate/<experiment>?rater=..&rubric=.. (the experiment is part of the path).
"use strict";
const start = document.getElementById("start");
start.addEventListener("submit", (event) => {
  event.preventDefault();
  const data = new FormData(start);
  const query = new URLSearchParams({ rater: data.get("rater"), rubric: data.get("rubric") });
  window.location.href = "/rate/" + encodeURIComponent(data.get("experiment")) + "?" + query.toString();
});
