// Applies the reader's theme before the page paints (remembered per browser, else the system's preference), and
// wires the sidebar's light/dark toggle. Pages that draw charts listen for "lantern:theme" to restyle them.
(function () {
  "use strict";
  var KEY = "lantern-theme";
  var saved = null;
  try { saved = localStorage.getItem(KEY); } catch (e) { /* storage may be off */ }
  var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  document.documentElement.dataset.theme = saved || (dark ? "dark" : "light");
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("theme-toggle");
    if (!button) return;
    function label() {
      var isDark = document.documentElement.dataset.theme === "dark";
      button.setAttribute("aria-pressed", isDark ? "true" : "false");
      button.title = isDark ? "Switch to the light theme" : "Switch to the dark theme";
    }
    label();
    button.addEventListener("click", function () {
      var next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
      document.documentElement.dataset.theme = next;
      try { localStorage.setItem(KEY, next); } catch (e) { /* not remembered */ }
      label();
      document.dispatchEvent(new CustomEvent("lantern:theme", { detail: next }));
    });
  });
})();
