/* The report site's only script of its own (assets/site.js): progressive enhancement, nothing loaded from
   elsewhere. Without it every page reads the same, the tables are plain tables.

   - The search box (#search): Pagefind's default UI over the site's own index (pagefind/, in shards merged
     at query time), for the page's language (<html lang>), wherever the page is and wherever the site is
     served from; each result says the kind of page it is (dataset, pack, publisher: its
     data-pagefind-meta "kind").
   - Every table of the page: each cell gets its column's header as data-label, so that on a phone a row
     reads as a card (site.css).
   - A table with data-sortable: clicking a header sorts by it (again: the other way); a cell's
     data-sort-value, when it has one, is what is sorted (numbers as numbers); data-filters="1,4:links"
     lists the columns (from 0, with an optional label key) that get a select box of their values (a cell's
     data-filter-value, else its text; data-buckets lists the columns whose values are shares, offered as
     all / some / none / not checked), and a text box filters rows by any text.

   Every word it shows comes from the page: #site-text's data attributes (data-KEY, from the templates'
   gettext catalog in the page's language; a data-KEY-en twin, when there is one, for a page not in Spanish). */
(function () {
  "use strict";
  var doc = document;
  var lang = (doc.documentElement.getAttribute("lang") || "es").toLowerCase().slice(0, 2);
  var words = doc.getElementById("site-text");

  function say(key, fallback) {
    if (words) {
      var english = words.getAttribute("data-" + key + "-en");
      if (lang !== "es" && english !== null) return english;
      var spanish = words.getAttribute("data-" + key);
      if (spanish !== null) return spanish;
    }
    return fallback === undefined ? key : fallback;
  }

  function make(tag, attributes, text) {
    var element = doc.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { element.setAttribute(name, attributes[name]); });
    if (text !== undefined) element.textContent = text;
    return element;
  }

  // --- search ------------------------------------------------------------------------------------------
  // The index is in shards (pagefind/<lang>-<NN>/): assets/search/pagefind.js stands for them as one bundle,
  // merging the page's language's shards when the reader first searches.
  var box = doc.getElementById("search");
  if (box && typeof window.PagefindUI === "function") {
    var root = new URL(box.getAttribute("data-root") || "./", window.location.href);  // the site's folder
    new window.PagefindUI({
      element: box,
      bundlePath: new URL("assets/search/", root).pathname,
      baseUrl: root.pathname,
      showImages: false,
      showSubResults: false,
      resetStyles: false,
      processResult: function (result) {  // the kind of page (its data-pagefind-meta), in the page's language
        var kind = result.meta && result.meta.kind;
        if (kind) {
          var label = make("span", { "class": "kind" }, say("kind-" + kind, kind));
          result.excerpt = label.outerHTML + " " + result.excerpt;
        }
        return result;
      }
    });
  }

  // --- tables --------------------------------------------------------------------------------------------
  var collator = new Intl.Collator(lang, { numeric: true, sensitivity: "base" });

  function headerCells(table) {
    var rows = table.tHead ? table.tHead.rows : [];
    return rows.length ? Array.prototype.slice.call(rows[rows.length - 1].cells) : [];
  }

  function bodyRows(table) {
    var out = [];
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) { out.push(row); });
    });
    return out;
  }

  function label(table, heads) {
    var names = heads.map(function (th) { return th.textContent.trim(); });
    bodyRows(table).forEach(function (row) {
      for (var i = 0; i < row.cells.length && i < names.length; i++) {
        var cell = row.cells[i];
        if (!cell.hasAttribute("data-label") && !cell.hasAttribute("colspan")) cell.setAttribute("data-label", names[i]);
      }
    });
    table.classList.add("as-cards");
  }

  function plain(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function numberOf(text) {
    if (text === "") return NaN;
    var cleaned = text.replace(/[^0-9.eE+\-]/g, "");
    return cleaned === "" ? NaN : Number(cleaned);
  }

  function sortKey(cell) {
    if (!cell) return "";
    var value = cell.getAttribute("data-sort-value");
    return value !== null ? value : cell.textContent.trim();
  }

  function bucket(value) {
    var share = numberOf(value);
    if (isNaN(share)) return "unchecked";
    return share >= 1 ? "all" : share <= 0 ? "none" : "some";
  }

  function parseColumns(spec) {  // "1,4:links" → [{index: 1, key: null}, {index: 4, key: "links"}]
    return (spec || "").split(",").map(function (part) { return part.trim(); }).filter(Boolean)
      .map(function (part) {
        var bits = part.split(":");
        return { index: parseInt(bits[0], 10), key: bits[1] || null };
      })
      .filter(function (c) { return !isNaN(c.index); });
  }

  function enhance(table, heads) {
    var rows = bodyRows(table).filter(function (row) { return !row.querySelector("td[colspan]"); });
    var body = table.tBodies[0];
    var texts = null;  // each row's text for the text filter, made on first use
    var numeric = heads.map(function (th, i) {
      if (th.classList.contains("num")) return true;
      var seen = 0;
      for (var r = 0; r < rows.length; r++) {
        var key = sortKey(rows[r].cells[i]);
        if (key === "" || key === "–") continue;
        if (isNaN(numberOf(key)) || !/^[\s\d.,%+\-eE]+$/.test(key)) return false;
        seen++;
      }
      return seen > 0;
    });
    var buckets = parseColumns(table.getAttribute("data-buckets")).map(function (c) { return c.index; });
    var state = { column: -1, down: false };
    var selects = [];
    var tools = make("div", { "class": "table-tools" });
    var text = make("input", { type: "search", "class": "table-filter", "aria-label": say("filter", "Filter"),
                               placeholder: say("filter", "Filter") + "…" });
    var shown = make("span", { "class": "table-shown", "aria-live": "polite" });

    function valueOf(row, index) {
      var cell = row.cells[index];
      if (!cell) return "";
      if (buckets.indexOf(index) >= 0) return bucket(sortKey(cell));
      var value = cell.getAttribute("data-filter-value");
      return value !== null ? value : cell.textContent.trim();
    }

    function optionLabel(index, value) {
      if (buckets.indexOf(index) >= 0) return say("bucket-" + value, value);
      return say("value-" + value, value);
    }

    function apply() {
      var needle = plain(text.value.trim());
      if (needle && texts === null) texts = rows.map(function (row) { return plain(row.textContent); });
      var count = 0;
      rows.forEach(function (row, r) {
        var keep = !needle || texts[r].indexOf(needle) >= 0;
        for (var s = 0; keep && s < selects.length; s++) {
          var wanted = selects[s].element.value;
          if (wanted !== "" && valueOf(row, selects[s].index) !== wanted) keep = false;
        }
        row.hidden = !keep;
        if (keep) count++;
      });
      shown.textContent = say("shown", "{shown} / {total}").replace("{shown}", count).replace("{total}", rows.length);
    }

    function sortBy(index, down) {
      state = { column: index, down: down };
      var keyed = rows.map(function (row, position) {
        var key = sortKey(row.cells[index]);
        return { row: row, key: numeric[index] ? numberOf(key) : key, position: position };
      });
      keyed.sort(function (a, b) {
        var order;
        if (numeric[index]) {
          var aMissing = isNaN(a.key), bMissing = isNaN(b.key);
          if (aMissing || bMissing) return aMissing === bMissing ? a.position - b.position : aMissing ? 1 : -1;
          order = a.key - b.key;
        } else {
          if (a.key === "" || b.key === "") return a.key === b.key ? a.position - b.position : a.key === "" ? 1 : -1;
          order = collator.compare(a.key, b.key);
        }
        return (down ? -order : order) || a.position - b.position;  // stable; missing values always last
      });
      var fragment = doc.createDocumentFragment();
      keyed.forEach(function (k) { fragment.appendChild(k.row); });
      body.appendChild(fragment);
      heads.forEach(function (th, i) {
        th.setAttribute("aria-sort", i === index ? (down ? "descending" : "ascending") : "none");
      });
      sortSelect.value = index + ":" + (down ? "down" : "up");
    }

    heads.forEach(function (th, i) {
      var button = make("button", { type: "button", "class": "sort" });
      while (th.firstChild) button.appendChild(th.firstChild);
      th.appendChild(button);
      th.setAttribute("aria-sort", "none");
      button.addEventListener("click", function () {
        sortBy(i, state.column === i ? !state.down : false);
      });
    });

    // the sort as a select box too: on a phone the rows are cards and the headers are not shown
    var sortSelect = make("select", { "class": "table-sort", "aria-label": say("sort", "Sort by") });
    sortSelect.appendChild(make("option", { value: "" }, say("sort", "Sort by") + "…"));
    heads.forEach(function (th, i) {
      var name = th.textContent.trim();
      sortSelect.appendChild(make("option", { value: i + ":up" }, name + " ↑ " + say("up", "ascending")));
      sortSelect.appendChild(make("option", { value: i + ":down" }, name + " ↓ " + say("down", "descending")));
    });
    sortSelect.addEventListener("change", function () {
      if (!sortSelect.value) return;
      var bits = sortSelect.value.split(":");
      sortBy(parseInt(bits[0], 10), bits[1] === "down");
    });

    parseColumns(table.getAttribute("data-filters")).forEach(function (column) {
      if (!heads[column.index]) return;
      var values = {};
      rows.forEach(function (row) {
        var value = valueOf(row, column.index);
        if (value !== "") values[value] = true;
      });
      var name = column.key ? say(column.key, heads[column.index].textContent.trim())
                            : heads[column.index].textContent.trim();
      var select = make("select", { "class": "table-select", "aria-label": name, "data-column": String(column.index) });
      select.appendChild(make("option", { value: "" }, name + ": " + say("all", "All")));
      Object.keys(values).sort(function (a, b) {
        return numeric[column.index] && buckets.indexOf(column.index) < 0 ? numberOf(a) - numberOf(b) : collator.compare(a, b);
      }).forEach(function (value) {
        select.appendChild(make("option", { value: value }, optionLabel(column.index, value)));
      });
      select.addEventListener("change", apply);
      selects.push({ index: column.index, element: select });
    });

    text.addEventListener("input", apply);
    tools.appendChild(text);
    selects.forEach(function (s) { tools.appendChild(s.element); });
    tools.appendChild(sortSelect);
    tools.appendChild(shown);
    var holder = table.parentNode && table.parentNode.classList.contains("scroll") ? table.parentNode : table;
    holder.parentNode.insertBefore(tools, holder);
    apply();
  }

  Array.prototype.forEach.call(doc.querySelectorAll("main table"), function (table) {
    var heads = headerCells(table);
    if (!heads.length) return;
    label(table, heads);
    if (table.hasAttribute("data-sortable")) enhance(table, heads);
  });
}());
