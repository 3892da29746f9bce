// Branch CRM: the little JavaScript the pages use. Everything works without it; this adds
// charts, live waiting clocks and the
// keyboard paths of the counter. No inline scripts, no network calls.
(function () {
  "use strict";

  function drawCharts(root) {
    if (!window.Plotly) return;
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.dataset.chart);
      if (!source || el.dataset.drawn) return;
      var figure = JSON.parse(source.textContent);
      el.dataset.drawn = "1";
      window.Plotly.newPlot(el, figure.data, figure.layout, {
        responsive: true, displaylogo: false, modeBarButtonsToRemove: ["sendDataToCloud"],
      });
    });
  }

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function tickClocks() {
    var now = Date.now();
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var seconds = Math.max(0, Math.floor((now - Date.parse(el.dataset.since)) / 1000));
      el.textContent = Math.floor(seconds / 60) + ":" + pad(seconds % 60);
    });
  }

  // Keys typed into a field are text; on radios, checkboxes and buttons they are free.
  function isTyping(el) {
    var tag = (el.tagName || "").toLowerCase();
    if (tag === "textarea" || tag === "select" || el.isContentEditable) return true;
    return tag === "input" && ["radio", "checkbox", "button", "submit", "reset"].indexOf(el.type) < 0;
  }

  document.addEventListener("keydown", function (event) {
    // "/" jumps to the customer search, as in most tools people use all day.
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(event.target)) return;
    var search = document.querySelector("[data-shortcut='search']");
    if (search) { event.preventDefault(); search.focus(); search.select(); }
  });

  // --- the customer picker of the log form and the walk-in queue -------------------------
  // Enter in the search picks the first match (waiting for the matches of what was typed),
  // ↓ walks into the matches, a picked customer moves on to [data-after-pick].

  var pendingPick = null;

  function freshMatches(search) {
    var box = document.getElementById("customer-matches");
    var list = box && box.querySelector("[data-query]");
    if (!list || list.dataset.query !== search.value.trim()) return null;
    return Array.prototype.slice.call(list.querySelectorAll("input[data-match]"));
  }

  function moveOn(form) {
    var next = form.querySelector("[data-after-pick]");
    if (!next) return;
    var target = next.querySelector("input:checked") || next.querySelector("input");
    if (target) target.focus();
  }

  function pick(radio) {
    radio.checked = true;
    radio.dispatchEvent(new Event("change", { bubbles: true }));
    moveOn(radio.form);
  }

  function showNewCustomer(form) {
    var fields = form.querySelector("[data-new-customer]");
    if (!fields) return;
    var chosen = form.querySelector("input[name='customer']:checked");
    fields.hidden = !(chosen && chosen.value === fields.dataset.newCustomer);
  }

  document.addEventListener("keydown", function (event) {
    var el = event.target;
    var form = el.form;
    if (!form) return;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();  // Ctrl+Enter saves from anywhere, the notes too
      form.requestSubmit();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (el.matches("[data-picker] input[type='search']")) {
      var matches = freshMatches(el);
      if (event.key === "Enter") {
        event.preventDefault();  // never saves a half-filled form
        if (matches && matches.length) pick(matches[0]);
        else if (!matches && el.value.trim()) {
          pendingPick = el;
          if (window.htmx) window.htmx.trigger(el, "search");
        }
      } else if (event.key === "ArrowDown" && matches && matches.length) {
        event.preventDefault();
        matches[0].checked = true;
        matches[0].dispatchEvent(new Event("change", { bubbles: true }));
        matches[0].focus();
      }
      return;
    }
    if (el.type === "radio" && el.name === "customer" && event.key === "Enter") {
      event.preventDefault();
      moveOn(form);
      return;
    }
    var group = el.type === "radio" && el.closest("[data-letter-keys]");
    if (group && event.key.length === 1 && /\p{L}/u.test(event.key)) {
      var letter = event.key.toLowerCase();
      var radios = group.querySelectorAll("input[type='radio']");
      for (var i = 0; i < radios.length; i++) {
        var label = radios[i].labels && radios[i].labels[0];
        if (label && label.textContent.trim().toLowerCase().charAt(0) === letter) {
          event.preventDefault();
          radios[i].checked = true;
          radios[i].focus();
          break;
        }
      }
      return;
    }
    if (el.type === "radio" && event.key === "Enter") {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.name === "customer" && event.target.form) showNewCustomer(event.target.form);
  });

  // Typing on after a pick must not drop the customer picked: their choice leaves the
  // list before new matches replace it, and is not offered twice.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var box = event.target;
    if (box.id !== "customer-matches") return;
    var picked = box.querySelector("input[name='customer']:checked");
    if (picked && picked.labels && picked.labels[0]) box.parentNode.insertBefore(picked.labels[0], box);
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target.id !== "customer-matches") return;
    var form = event.target.closest("form");
    var picked = form && form.querySelector("input[name='customer']:checked");
    if (picked) {
      event.target.querySelectorAll("input[data-match]").forEach(function (radio) {
        if (radio.value === picked.value && radio.labels && radio.labels[0]) radio.labels[0].remove();
      });
    }
    if (!pendingPick) return;
    var matches = freshMatches(pendingPick);
    if (matches) {
      pendingPick = null;
      if (matches.length) pick(matches[0]);
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts(document);
    document.querySelectorAll("form").forEach(showNewCustomer);
    tickClocks();
    if (document.querySelector("[data-since]")) window.setInterval(tickClocks, 1000);
  });
  document.addEventListener("htmx:afterSwap", function (event) { drawCharts(event.target); });
})();
