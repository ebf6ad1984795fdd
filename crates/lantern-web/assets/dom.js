// What the page scripts (app.js, chat.js) share: building elements and reading the current theme.
(function () {
  "use strict";
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }
  function theme() { return document.documentElement.dataset.theme === "dark" ? "dark" : "light"; }
  window.Lantern = { el, theme };
})();
