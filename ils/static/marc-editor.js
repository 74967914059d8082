// SIPUS Bontang: the MARC editor grid, a progressive enhancement of the text form (#marc).
//
// The server reads and writes MARCMaker-style lines (catalog/bib/mnemonic.py to_mnemonic/from_mnemonic):
//   =LDR  00000nam\a2200000\i\4500          leader: "\" is a space
//   =008  261122s2019\\\\io\a...            control field (001-009): "\" is a space, {dollar} {lcub} {rcub}
//   =245  10$aJudul :$bsubjudul /$cPengarang.   data field: 2 indicators ("\" blank), $code value ...
// The grid parses that text exactly as the server does and writes it back the way the server
// writes it, so text the server rendered comes back byte for byte. No inline scripts or styles
// (CSP); every visible word comes from the data-label-* / data-msg-* attributes of #marc-grid.
(function () {
  "use strict";

  var MNEMONICS = { dollar: "$", lcub: "{", rcub: "}", bsol: "\\", esc: "", joiner: "\u200d",
    nonjoin: "\u200c", copy: "\u00a9", reg: "\u00ae", deg: "\u00b0" };
  var HAS = Object.prototype.hasOwnProperty;
  // Python's str.isspace() characters: a line of only these is skipped by the server.
  var BLANK_LINE = /^[\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/;
  var LINE = unicodeRegex("^=([\\p{L}\\p{N}_]{3})  ?([\\s\\S]*)$", /^=(\w{3})  ?([\s\S]*)$/);
  var DIGITS = unicodeRegex("^[\\p{Nd}\\u{b2}\\u{b3}\\u{b9}\\u{1369}-\\u{1371}\\u{19da}\\u{2070}\\u{2074}-\\u{2079}" +
    "\\u{2080}-\\u{2089}\\u{2460}-\\u{2468}\\u{2474}-\\u{247c}\\u{2488}-\\u{2490}\\u{24ea}\\u{24f5}-\\u{24fd}" +
    "\\u{24ff}\\u{2776}-\\u{277e}\\u{2780}-\\u{2788}\\u{278a}-\\u{2792}\\u{10a40}-\\u{10a43}\\u{10e60}-\\u{10e68}" +
    "\\u{11052}-\\u{1105a}\\u{1f100}-\\u{1f10a}]{3}$", /^[0-9]{3}$/);
  var NOT_BIBLIOGRAPHIC = "zuvxy";  // leader/06 of authority and holdings records

  // bib.MNEMONIC_LINE is ^=(\w{3})  ?(.*)$ with Python's Unicode \w; older browsers get ASCII.
  function unicodeRegex(source, fallback) {
    try {
      return new RegExp(source, "u");
    } catch (e) {
      return fallback;
    }
  }

  // --- the text format (pure functions, also exposed as window.MarcEditor) ------------------

  function chars(text) { return Array.from(text); }  // code points, as Python counts them

  function unmnemonic(text) {
    return text.replace(/\{([a-z]+)\}/g, function (whole, name) {
      return HAS.call(MNEMONICS, name) ? MNEMONICS[name] : whole;
    });
  }

  function mnemonic(text) {
    return text.replace(/[{}$]/g, function (c) {
      return c === "{" ? "{lcub}" : (c === "}" ? "{rcub}" : "{dollar}");
    });
  }

  // bib.from_mnemonic: tag < "010" and tag.isdigit() (Python's isdigit: Nd and a few more).
  function isControlTag(tag) { return DIGITS.test(tag) && tag < "010"; }

  function kindOf(tag) {
    if (tag === "LDR") { return "leader"; }
    return isControlTag(tag) ? "control" : "data";
  }

  // One line -> {kind: leader|control|data|raw, ...}; raw keeps a line the server cannot read.
  function parseLine(line) {
    var match = LINE.exec(line);
    if (!match) { return { kind: "raw", line: line }; }
    var tag = match[1];
    var body = match[2];
    var kind = kindOf(tag);
    if (kind === "leader") { return { kind: kind, tag: tag, data: body.replace(/\\/g, " ") }; }
    if (kind === "control") { return { kind: kind, tag: tag, data: unmnemonic(body.replace(/\\/g, " ")) }; }
    var all = chars(body);
    var ind = chars(all.slice(0, 2).join("").replace(/\\/g, " "));
    while (ind.length < 2) { ind.push(" "); }
    var subfields = [];
    all.slice(2).join("").split("$").forEach(function (part) {
      if (!part) { return; }
      var p = chars(part);
      subfields.push([p[0], unmnemonic(p.slice(1).join(""))]);
    });
    return { kind: kind, tag: tag, ind1: ind[0], ind2: ind[1], subfields: subfields };
  }

  function parseText(text) {
    var out = [];
    text.split(/\r\n|\r|\n/).forEach(function (line) {
      if (!BLANK_LINE.test(line)) { out.push(parseLine(line)); }
    });
    return out;
  }

  function indicatorText(ind) { return (ind === "" || ind === " " || ind === "\\") ? "\\" : ind; }

  function serializeField(field) {
    if (field.kind === "raw") { return field.line; }
    var head = "=" + field.tag + "  ";
    if (field.kind === "leader") { return head + field.data.replace(/ /g, "\\"); }
    if (field.kind === "control") {
      // A backslash typed in the grid is a backslash: {bsol} (the server reads "\\" as a space).
      return head + mnemonic(field.data).replace(/\\/g, "{bsol}").replace(/ /g, "\\");
    }
    return head + indicatorText(field.ind1) + indicatorText(field.ind2) + field.subfields.map(function (s) {
      return "$" + s[0] + mnemonic(s[1]);
    }).join("");
  }

  function serializeFields(fields) { return fields.map(serializeField).join("\n"); }

  var api = { parse: parseText, serialize: serializeFields, parseLine: parseLine, serializeField: serializeField };
  window.MarcEditor = api;

  // --- the grid -----------------------------------------------------------------------------

  function start() {
    var grid = document.getElementById("marc-grid");
    var textarea = document.getElementById("marc");
    if (!grid || !textarea || grid.getAttribute("data-ready") === "true") { return; }
    grid.setAttribute("data-ready", "true");
    var form = textarea.form || grid.closest("form");
    // In grid mode the textarea and its label are hidden; the server's messages under it stay.
    var box = textarea.parentElement;
    var label = form ? form.querySelector("label[for='" + textarea.id + "']") : null;
    var textParts = box && box !== form && !box.querySelector(".invalid-feedback") ? [box] : [textarea];
    if (label && textParts[0] === textarea) { textParts.push(label); }

    function attr(name) { return grid.getAttribute("data-label-" + name) || ""; }
    function message(name) { return grid.getAttribute("data-msg-" + name) || ""; }
    var L = {
      tag: attr("tag"), ind: attr("ind"), data: attr("data"), addField: attr("add-field"),
      addSub: attr("add-sub"), remove: attr("remove"), up: attr("up"), down: attr("down"),
      text: attr("text"), grid: attr("grid")
    };
    L.code = attr("code") || L.data;
    L.value = attr("value") || L.data;
    L.removeSub = attr("remove-sub") || L.remove;
    // Validation hints: translated ones from data-msg-*, else language-neutral patterns.
    var M = {
      tag: message("tag") || (L.tag + ": 0-9 A-Z a-z (3)"),
      ind: message("ind") || (L.ind + ": 0-9 a-z"),
      code: message("code") || "$: a-z 0-9",
      leader: message("leader") || "LDR: %(n)s / 24",
      f008: message("008") || "008: %(n)s / 40",
      line: message("line") || "=TAG  \\\\$a..."
    };
    var issueTags = {};
    Array.prototype.forEach.call(document.querySelectorAll("#marc-issues li[data-tag]"), function (li) {
      issueTags[li.getAttribute("data-tag")] = true;
    });

    var dirty = false;
    var mode = "grid";

    function fmt(text, params) {
      return text.replace(/%\((\w+)\)s|%%/g, function (whole, name) {
        if (!name) { return "%"; }
        return HAS.call(params, name) ? String(params[name]) : whole;
      });
    }

    function el(tag, className, props) {
      var node = document.createElement(tag);
      if (className) { node.className = className; }
      if (props) {
        Object.keys(props).forEach(function (key) {
          if (key === "text") { node.textContent = props[key]; } else { node.setAttribute(key, props[key]); }
        });
      }
      return node;
    }

    function input(className, value, size, maxLength) {
      var node = el("input", "form-control form-control-sm font-monospace " + className,
        { type: "text", autocomplete: "off", spellcheck: "false", autocapitalize: "off" });
      if (size) { node.size = size; }
      if (maxLength) { node.maxLength = maxLength; }
      // Text boxes keep a usable width on a phone (the table then scrolls inside its box);
      // set through the CSSOM, which the CSP allows, as app.css has no min-width class.
      if (/\bmarc-(value|data|raw)\b/.test(className)) { node.style.minWidth = "10rem"; }
      node.value = value;
      return node;
    }

    function button(action, symbol, label, extra) {
      var node = el("button", "btn btn-sm " + (extra || "btn-outline-secondary"),
        { type: "button", "data-action": action, "aria-label": label, title: label });
      node.appendChild(el("span", "", { "aria-hidden": "true", text: symbol }));
      return node;
    }

    // --- building rows ---

    var toolbar = el("div", "d-flex flex-wrap gap-2 mb-2 marc-toolbar");
    var toggle = el("button", "btn btn-sm btn-outline-secondary", { type: "button", "data-action": "toggle" });
    toolbar.appendChild(toggle);
    var body = el("div", "marc-grid-body");
    var wrap = el("div", "table-responsive");
    var table = el("table", "table table-sm align-middle mb-2 marc-grid-table");
    var thead = el("thead");
    var headRow = el("tr");
    [L.tag, L.ind, L.data, ""].forEach(function (label, i) {
      headRow.appendChild(el("th", i === 2 ? "w-100" : "text-nowrap", { scope: "col", text: label }));
    });
    thead.appendChild(headRow);
    var tbody = el("tbody");
    table.appendChild(thead);
    table.appendChild(tbody);
    wrap.appendChild(table);
    body.appendChild(wrap);
    var addField = el("button", "btn btn-sm btn-outline-primary", { type: "button", "data-action": "add-field",
      text: "+ " + L.addField });
    body.appendChild(addField);
    grid.appendChild(toolbar);
    grid.appendChild(body);

    function subRow(code, value) {
      var box = el("div", "input-group input-group-sm flex-nowrap marc-sub");
      box.appendChild(el("span", "input-group-text font-monospace", { "aria-hidden": "true", text: "$" }));
      box.appendChild(input("marc-code flex-grow-0 w-auto", code, 1, 1));
      box.appendChild(input("marc-value", value));
      box.appendChild(button("remove-sub", "\u00d7", L.removeSub));
      return box;
    }

    function buildRow(field) {
      var tr = el("tr", "marc-row");
      tr.setAttribute("data-kind", field.kind);
      var actions = el("div", "btn-group btn-group-sm marc-actions", { role: "group" });
      actions.appendChild(button("up", "\u2191", L.up));
      actions.appendChild(button("down", "\u2193", L.down));
      if (field.kind === "raw") {
        var cell = el("td", "", { colspan: "3" });
        cell.appendChild(input("marc-raw", field.line));
        tr.appendChild(cell);
      } else {
        var tagCell = el("td");
        tagCell.appendChild(input("marc-tag w-auto", field.tag, 3, 3));
        tr.appendChild(tagCell);
        var indCell = el("td");
        var dataCell = el("td", "w-100");
        if (field.kind === "data") {
          var inds = el("div", "d-flex gap-1");
          inds.appendChild(input("marc-ind marc-ind1 w-auto", field.ind1 === " " ? "" : field.ind1, 1, 1));
          inds.appendChild(input("marc-ind marc-ind2 w-auto", field.ind2 === " " ? "" : field.ind2, 1, 1));
          indCell.appendChild(inds);
          var subs = el("div", "d-flex flex-column gap-1 marc-subs");
          field.subfields.forEach(function (s) { subs.appendChild(subRow(s[0], s[1])); });
          dataCell.appendChild(subs);
          actions.appendChild(button("add-sub", "+", L.addSub));
        } else {
          dataCell.appendChild(input("marc-data", field.data));
        }
        tr.appendChild(indCell);
        tr.appendChild(dataCell);
      }
      actions.appendChild(button("remove", "\u00d7", L.remove, "btn-outline-danger"));
      var actionCell = el("td", "text-nowrap");
      actionCell.appendChild(actions);
      tr.appendChild(actionCell);
      if (field.kind !== "raw" && issueTags[field.tag]) { tr.classList.add("table-warning"); }
      relabel(tr);
      return tr;
    }

    function rows() { return Array.prototype.slice.call(tbody.children); }
    function q(node, selector) { return node.querySelector(selector); }
    function rowOf(node) { return node && node.closest ? node.closest("tr.marc-row") : null; }
    function subOf(node) { return node && node.closest ? node.closest(".marc-sub") : null; }

    function relabel(tr) {
      var tagInput = q(tr, ".marc-tag");
      var tag = tagInput ? tagInput.value : "";
      var suffix = tag ? " " + tag : "";
      tr.setAttribute("data-tag", tag);
      if (tagInput) { tagInput.setAttribute("aria-label", L.tag); }
      Array.prototype.forEach.call(tr.querySelectorAll(".marc-ind"), function (ind, i) {
        ind.setAttribute("aria-label", L.ind + suffix + " " + (i + 1));
      });
      var data = q(tr, ".marc-data");
      if (data) { data.setAttribute("aria-label", L.data + suffix); }
      var raw = q(tr, ".marc-raw");
      if (raw) { raw.setAttribute("aria-label", L.data); }
      Array.prototype.forEach.call(tr.querySelectorAll(".marc-sub"), function (sub, i) {
        var code = q(sub, ".marc-code");
        code.setAttribute("aria-label", L.code + suffix + " " + (i + 1));
        q(sub, ".marc-value").setAttribute("aria-label", L.value + suffix + " $" + code.value);
        var rm = q(sub, "[data-action=remove-sub]");
        rm.setAttribute("aria-label", L.removeSub + suffix + " $" + code.value);
      });
      [["up", L.up], ["down", L.down], ["add-sub", L.addSub], ["remove", L.remove]].forEach(function (pair) {
        var b = q(tr, ".marc-actions [data-action=" + pair[0] + "]");
        if (b) { b.setAttribute("aria-label", pair[1] + suffix); }
      });
    }

    // --- reading the grid back ---

    function readIndicator(value) { return (value === "" || value === "\\") ? " " : value; }

    function readRow(tr) {
      var kind = tr.getAttribute("data-kind");
      if (kind === "raw") { return { kind: kind, line: q(tr, ".marc-raw").value }; }
      var tag = q(tr, ".marc-tag").value;
      if (kind !== "data") { return { kind: kind, tag: tag, data: q(tr, ".marc-data").value }; }
      return {
        kind: kind, tag: tag, ind1: readIndicator(q(tr, ".marc-ind1").value),
        ind2: readIndicator(q(tr, ".marc-ind2").value),
        subfields: Array.prototype.map.call(tr.querySelectorAll(".marc-sub"), function (sub) {
          return [q(sub, ".marc-code").value, q(sub, ".marc-value").value];
        })
      };
    }

    // A field added but left without tag or text is not written (the server would refuse the line).
    function untouched(field) {
      return field.kind !== "raw" && field.tag === "" && (field.kind === "data" ? (
        field.ind1 === " " && field.ind2 === " " && field.subfields.every(function (s) { return s[1] === ""; })
      ) : field.data === "");
    }

    function gridText() {
      return serializeFields(rows().map(readRow).filter(function (field) { return !untouched(field); }));
    }

    // --- validation while typing ---

    function bibliographic() {
      var leader = "";
      rows().forEach(function (tr) {
        if (tr.getAttribute("data-kind") === "leader") { leader = q(tr, ".marc-data").value; }
      });
      var type = chars(leader)[6] || " ";
      return NOT_BIBLIOGRAPHIC.indexOf(type) < 0;
    }

    function setInvalid(node, text) {
      node.classList.toggle("is-invalid", !!text);
      if (text) {
        node.title = text;
        node.setAttribute("aria-invalid", "true");
      } else {
        node.removeAttribute("title");
        node.removeAttribute("aria-invalid");
      }
    }

    function check(node, isBib) {
      var value = node.value;
      var cl = node.classList;
      var text = "";
      if (cl.contains("marc-tag")) {
        if (!/^[0-9A-Za-z]{3}$/.test(value)) { text = fmt(M.tag, { tag: value }); }
      } else if (cl.contains("marc-ind")) {
        if (!/^[0-9a-z \\]?$/.test(value)) { text = fmt(M.ind, { value: value }); }
      } else if (cl.contains("marc-code")) {
        if (!/^[a-z0-9]$/.test(value)) { text = fmt(M.code, { code: value }); }
      } else if (cl.contains("marc-data")) {
        var tr = rowOf(node);
        var kind = tr.getAttribute("data-kind");
        var n = chars(value).length;
        if (kind === "leader" && n !== 24) {
          text = fmt(M.leader, { n: n });
        } else if (kind === "control" && q(tr, ".marc-tag").value === "008" && n !== 40 &&
                   (isBib === undefined ? bibliographic() : isBib)) {
          text = fmt(M.f008, { n: n });
        }
      } else if (cl.contains("marc-raw")) {
        text = M.line;  // a line the server cannot read: edit it into =TAG  ...
      }
      setInvalid(node, text);
    }

    function checkRow(tr, isBib) {
      Array.prototype.forEach.call(tr.querySelectorAll("input"), function (node) { check(node, isBib); });
    }

    function checkFixedFields() {
      var isBib = bibliographic();
      rows().forEach(function (tr) {
        if (tr.getAttribute("data-kind") === "control") { check(q(tr, ".marc-data"), isBib); }
      });
    }

    // --- changing the grid ---

    function render(fields) {
      while (tbody.firstChild) { tbody.removeChild(tbody.firstChild); }
      var fragment = document.createDocumentFragment();
      fields.forEach(function (field) { fragment.appendChild(buildRow(field)); });
      tbody.appendChild(fragment);
      var isBib = bibliographic();
      rows().forEach(function (tr) { checkRow(tr, isBib); });
      dirty = false;
    }

    function changed() { dirty = true; }

    function focusEnd(node) {
      if (!node) { return; }
      node.focus();
      if (node.setSelectionRange && node.value !== undefined) {
        try { node.setSelectionRange(node.value.length, node.value.length); } catch (e) { /* not a text input */ }
      }
    }

    function newDataField() { return { kind: "data", tag: "", ind1: " ", ind2: " ", subfields: [["a", ""]] }; }

    function insertField(after) {
      var tr = buildRow(newDataField());
      tbody.insertBefore(tr, after ? after.nextSibling : null);
      changed();
      q(tr, ".marc-tag").focus();
      return tr;
    }

    function moveField(tr, step) {
      // Move the neighbour, not this row, so the focused control keeps its focus.
      var other = step < 0 ? tr.previousElementSibling : tr.nextElementSibling;
      if (!other) { return; }
      if (step < 0) { tbody.insertBefore(other, tr.nextSibling); } else { tbody.insertBefore(other, tr); }
      changed();
    }

    function removeField(tr) {
      var next = tr.nextElementSibling || tr.previousElementSibling;
      tbody.removeChild(tr);
      changed();
      if (next) { (q(next, ".marc-tag") || q(next, "input")).focus(); } else { addField.focus(); }
      if (tr.getAttribute("data-kind") === "leader") { checkFixedFields(); }
    }

    function insertSub(tr, after) {
      var box = subRow("", "");
      var list = q(tr, ".marc-subs");
      list.insertBefore(box, after ? after.nextSibling : null);
      relabel(tr);
      changed();
      q(box, ".marc-code").focus();
    }

    function removeSub(sub) {
      var tr = rowOf(sub);
      var prev = sub.previousElementSibling;
      var next = sub.nextElementSibling;
      sub.parentNode.removeChild(sub);
      relabel(tr);
      changed();
      if (prev) { focusEnd(q(prev, ".marc-value")); } else if (next) { q(next, ".marc-code").focus(); } else {
        q(tr, "[data-action=add-sub]").focus();
      }
    }

    function sameContent(a, b) {
      var x = Object.assign({}, a, { tag: "" });
      var y = Object.assign({}, b, { tag: "" });
      return JSON.stringify(x) === JSON.stringify(y);
    }

    // The tag now says another kind of field: rebuild the row, keeping what can be kept.
    function convertRow(tr, kind) {
      var old = readRow(tr);
      var stash = tr.marcStash;
      var next;
      if (stash && stash.before.kind === kind && sameContent(stash.after, old)) {
        next = Object.assign({}, stash.before, { tag: old.tag });  // switched back unchanged
      } else if (kind === "data") {
        next = { kind: kind, tag: old.tag, ind1: " ", ind2: " ", subfields: [["a", old.data]] };
      } else {
        var data = old.kind === "data" ? old.subfields.map(function (s) { return s[1]; }).join("") : old.data;
        next = { kind: kind, tag: old.tag, data: data };
      }
      var active = document.activeElement;
      var caret = active && active.classList.contains("marc-tag") ? active.selectionStart : null;
      var fresh = buildRow(next);
      fresh.marcStash = { before: old, after: next };
      tbody.replaceChild(fresh, tr);
      checkRow(fresh);
      var tagInput = q(fresh, ".marc-tag");
      tagInput.focus();
      if (caret !== null) { tagInput.setSelectionRange(caret, caret); }
      if (old.kind === "leader" || kind === "leader") { checkFixedFields(); }
      return fresh;
    }

    function reparseRaw(tr) {
      var field = parseLine(q(tr, ".marc-raw").value);
      if (field.kind === "raw") { return; }
      var fresh = buildRow(field);
      tbody.replaceChild(fresh, tr);
      checkRow(fresh);
      q(fresh, ".marc-tag").focus();
    }

    // --- modes ---

    function remember(value) {
      try { window.localStorage.setItem("marc-editor-mode", value); } catch (e) { /* private mode */ }
    }

    function preferred() {
      try { return window.localStorage.getItem("marc-editor-mode"); } catch (e) { return null; }
    }

    function syncText() {
      if (mode === "grid" && dirty) {
        textarea.value = gridText();
        dirty = false;
      }
    }

    function setMode(next, save) {
      if (next === "text") {
        syncText();
        mode = "text";
        body.classList.add("d-none");
        textParts.forEach(function (node) { node.classList.remove("d-none"); });
        toggle.textContent = L.grid;
      } else {
        render(parseText(textarea.value));
        mode = "grid";
        body.classList.remove("d-none");
        textParts.forEach(function (node) { node.classList.add("d-none"); });
        toggle.textContent = L.text;
      }
      if (save) { remember(next); }
    }

    // --- events ---

    grid.addEventListener("click", function (event) {
      var target = event.target.closest("button[data-action]");
      if (!target || !grid.contains(target)) { return; }
      var action = target.getAttribute("data-action");
      var tr = rowOf(target);
      if (action === "toggle") {
        setMode(mode === "grid" ? "text" : "grid", true);
        toggle.focus();
      } else if (action === "add-field") {
        insertField(rows().length ? rows()[rows().length - 1] : null);
      } else if (action === "up" || action === "down") {
        moveField(tr, action === "up" ? -1 : 1);
      } else if (action === "remove") {
        removeField(tr);
      } else if (action === "add-sub") {
        insertSub(tr, null);
      } else if (action === "remove-sub") {
        removeSub(subOf(target));
      }
    });

    grid.addEventListener("input", function (event) {
      var node = event.target;
      var tr = rowOf(node);
      if (!tr) { return; }
      changed();
      if (node.classList.contains("marc-tag") && chars(node.value).length === 3) {
        var kind = kindOf(node.value);
        if (kind !== tr.getAttribute("data-kind")) {
          convertRow(tr, kind);
          return;
        }
      }
      check(node);
      if (node.classList.contains("marc-tag")) {
        var data = q(tr, ".marc-data");
        if (data) { check(data); }
        if (tr.classList.contains("table-warning")) { tr.classList.remove("table-warning"); }
      }
      if (node.classList.contains("marc-tag") || node.classList.contains("marc-code")) { relabel(tr); }
      if (tr.getAttribute("data-kind") === "leader") { checkFixedFields(); }
    });

    grid.addEventListener("change", function (event) {
      if (event.target.classList.contains("marc-raw")) { reparseRaw(rowOf(event.target)); }
    });

    grid.addEventListener("keydown", function (event) {
      var node = event.target;
      var tr = rowOf(node);
      if (!tr) { return; }
      var isInput = node.tagName === "INPUT";
      var mod = event.ctrlKey || event.metaKey;
      if (event.key === "Enter" && mod) {
        event.preventDefault();
        insertField(tr);
      } else if (event.key === "Enter" && isInput) {
        event.preventDefault();  // never submit the form from the grid by accident
        if (node.classList.contains("marc-value") && !event.altKey && !event.shiftKey) {
          insertSub(tr, subOf(node));
        } else if (node.classList.contains("marc-code")) {
          focusEnd(q(subOf(node), ".marc-value"));
        }
      } else if (event.altKey && !mod && (event.key === "ArrowUp" || event.key === "ArrowDown")) {
        event.preventDefault();
        moveField(tr, event.key === "ArrowUp" ? -1 : 1);
        node.focus();
      } else if (event.key === "Backspace" && mod && isInput && node.classList.contains("marc-value") &&
                 node.value === "") {
        event.preventDefault();
        removeSub(subOf(node));
      }
    });

    if (form) {
      form.addEventListener("submit", function () { syncText(); });
    }

    api.gridText = gridText;
    api.setMode = function (next) { setMode(next, false); };
    api.mode = function () { return mode; };

    // Start in the grid unless the user chose text last time.
    setMode(preferred() === "text" ? "text" : "grid", false);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
