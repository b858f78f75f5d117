// Small progressive enhancements; every page works without this file.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// The print button (no inline handlers: the CSP allows no inline script).
document.addEventListener("click", function (event) {
  if (event.target.closest && event.target.closest("[data-print]")) {
    window.print();
  }
});

// A table wider than the phone scrolls inside its own box; keyboard users reach that box with
// Tab (it gets tabindex only while it actually scrolls).
function markScrollingTables() {
  document.querySelectorAll("table.table").forEach(function (t) {
    if (t.scrollWidth > t.clientWidth + 1 && getComputedStyle(t).overflowX === "auto") {
      t.setAttribute("tabindex", "0");
    } else if (t.getAttribute("tabindex") === "0") {
      t.removeAttribute("tabindex");
    }
  });
}
document.addEventListener("DOMContentLoaded", markScrollingTables);
window.addEventListener("resize", markScrollingTables);
