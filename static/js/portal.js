/* Mesh Portal behaviour: small progressive enhancements, no inline scripts (a strict CSP works).
 *
 * - collapsing navigation on narrow screens (the menu button);
 * - the search box's suggestions close on Escape, on leaving the box and on submit;
 * - keyboard focus survives htmx swaps (facets, tabs, live regions);
 * - sideways-scrolling tables and code blocks can be reached with the keyboard;
 * - a form is sent once, however often its button is clicked;
 * - request form: the end date shows only for "until a date", the column list can be filtered.
 */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function ready(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }

  /* --- navigation --------------------------------------------------------------------------- */
  function initNav() {
    var header = document.querySelector(".site-header");
    var toggle = header && header.querySelector(".nav-toggle");
    if (!toggle) return;
    toggle.addEventListener("click", function () {
      var open = header.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && header.classList.contains("open")) {
        header.classList.remove("open");
        toggle.setAttribute("aria-expanded", "false");
        toggle.focus();
      }
    });
    // the user menu closes when clicking elsewhere
    document.addEventListener("click", function (e) {
      document.querySelectorAll("details.dropdown[open]").forEach(function (d) {
        if (!d.contains(e.target)) d.removeAttribute("open");
      });
    });
  }

  /* --- search suggestions ------------------------------------------------------------------- */
  function initSuggestions() {
    var box = document.getElementById("q");
    var list = document.getElementById("suggestions");
    if (!box || !list) return;
    function close() {
      list.hidden = true;
    }
    function open() {
      var has = !!list.querySelector("a");
      list.hidden = !has;
    }
    document.body.addEventListener("htmx:afterSwap", function (e) {
      if (e.detail.target === list) { if (document.activeElement === box) open(); else close(); }
      if (e.detail.target && e.detail.target.id === "results") close();
    });
    box.addEventListener("keydown", function (e) {
      if (e.key === "Escape") close();
      if (e.key === "ArrowDown" && !list.hidden) {
        var first = list.querySelector("a");
        if (first) { e.preventDefault(); first.focus(); }
      }
    });
    list.addEventListener("keydown", function (e) {
      var links = Array.prototype.slice.call(list.querySelectorAll("a"));
      var i = links.indexOf(document.activeElement);
      if (e.key === "ArrowDown" && i < links.length - 1) { e.preventDefault(); links[i + 1].focus(); }
      if (e.key === "ArrowUp") { e.preventDefault(); if (i > 0) links[i - 1].focus(); else box.focus(); }
      if (e.key === "Escape") { close(); box.focus(); }
    });
    document.addEventListener("focusin", function (e) {
      if (e.target !== box && !list.contains(e.target)) close();
    });
    document.addEventListener("click", function (e) {
      if (e.target !== box && !list.contains(e.target)) close();
    });
    var form = box.form;
    if (form) form.addEventListener("submit", close);
  }

  /* --- focus survives htmx swaps ------------------------------------------------------------ */
  var remembered = null;
  function describe(el) {
    if (!el || el === document.body) return null;
    if (el.id) return "#" + CSS.escape(el.id);
    if (el.name) {
      var sel = '[name="' + CSS.escape(el.name) + '"]';
      if (el.type === "checkbox" || el.type === "radio") sel += '[value="' + CSS.escape(el.value) + '"]';
      return sel;
    }
    if (el.getAttribute("href")) return 'a[href="' + CSS.escape(el.getAttribute("href")) + '"]';
    return null;
  }
  function initFocus() {
    document.body.addEventListener("htmx:beforeSwap", function (e) {
      var target = e.detail.target;
      var active = document.activeElement;
      remembered = target && active && (target.contains(active) || target === active) ? describe(active) : null;
    });
    document.body.addEventListener("htmx:afterSettle", function (e) {
      var target = e.detail.target;
      if (!target || !document.contains(target)) target = document.getElementById(target && target.id) || null;
      enhance(document);
      if (!remembered) collapsePanels(document);
      if (!remembered || !target) { return; }
      var again = target.matches && target.matches(remembered) ? target : (target.querySelector && target.querySelector(remembered));
      if (!again) again = document.querySelector(remembered);
      if (!again) again = target.querySelector("[data-focus-after-swap], h1, h2, [tabindex='-1']");
      if (again) {
        if (!again.hasAttribute("tabindex") && !/^(A|BUTTON|INPUT|SELECT|TEXTAREA|SUMMARY)$/.test(again.tagName)) {
          again.setAttribute("tabindex", "-1");
        }
        again.focus({ preventScroll: true });
      }
      remembered = null;
    });
  }

  /* --- keyboard-reachable scroll boxes ------------------------------------------------------ */
  function enhance(root) {
    root.querySelectorAll("main table, main pre, .table-wrap, nav.tabs, figure.lineage").forEach(function (el) {
      var scrolls = el.scrollWidth > el.clientWidth + 1;
      if (scrolls && !el.hasAttribute("tabindex")) {
        el.setAttribute("tabindex", "0");
        if (!el.hasAttribute("aria-label") && !el.hasAttribute("role")) {
          // a table keeps its table role (a caption names it); other boxes become named regions.
          // Tables the templates wrap in .table-wrap come named and focusable already.
          if (el.tagName !== "TABLE") el.setAttribute("role", "region");
          var caption = el.querySelector("caption");
          el.setAttribute("aria-label", caption ? caption.textContent.trim() : "Scrollable content");
        }
        el.dataset.scrollFocus = "1";
      }
    });
  }

  /* --- panels that start closed on small screens (the search filters) ---------------------- */
  function collapsePanels(root) {
    root.querySelectorAll("details[data-collapse-below]").forEach(function (d) {
      if (window.innerWidth < parseInt(d.getAttribute("data-collapse-below"), 10) && !d.contains(document.activeElement)) {
        d.removeAttribute("open");
      }
    });
  }

  /* --- a form is sent once ------------------------------------------------------------------ */
  function initOnce() {
    document.addEventListener("submit", function (e) {
      var form = e.target;
      if (!(form instanceof HTMLFormElement) || (form.method || "get").toLowerCase() !== "post") return;
      if (form.hasAttribute("hx-post")) return;  // htmx guards its own requests (hx-disabled-elt)
      if (form.dataset.sending === "1") { e.preventDefault(); return; }
      form.dataset.sending = "1";
      var button = e.submitter || form.querySelector("button[type=submit], button:not([type])");
      if (button) button.setAttribute("aria-busy", "true");
      // a page restored from the back/forward cache must be usable again
      window.addEventListener("pageshow", function () { form.dataset.sending = ""; if (button) button.removeAttribute("aria-busy"); }, { once: true });
    }, true);
  }

  /* --- request form ------------------------------------------------------------------------- */
  function initRequestForm() {
    document.querySelectorAll("[data-show-when]").forEach(function (el) {
      var spec = el.getAttribute("data-show-when").split("=");
      var field = document.querySelector('[name="' + spec[0] + '"]');
      if (!field) return;
      function sync() {
        var value = field.type === "radio" ? (document.querySelector('[name="' + spec[0] + '"]:checked') || {}).value : field.value;
        var show = spec[1].split("|").indexOf(value || "") >= 0;
        el.hidden = !show;
      }
      document.querySelectorAll('[name="' + spec[0] + '"]').forEach(function (f) { f.addEventListener("change", sync); });
      sync();
    });
    document.querySelectorAll("[data-filter-for]").forEach(function (input) {
      var box = document.getElementById(input.getAttribute("data-filter-for"));
      if (!box) return;
      input.addEventListener("input", function () {
        var text = input.value.trim().toLowerCase();
        box.querySelectorAll("label").forEach(function (label) {
          var haystack = (label.getAttribute("data-search") || label.textContent).toLowerCase();
          label.hidden = text !== "" && haystack.indexOf(text) < 0;
        });
      });
    });
  }

  ready(function () {
    initNav();
    initSuggestions();
    initFocus();
    initOnce();
    initRequestForm();
    enhance(document);
    collapsePanels(document);
    window.addEventListener("resize", function () { enhance(document); });
  });
})();
