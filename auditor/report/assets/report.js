// fwaudit HTML report: sortable tables, a host filter and paging for large fleets.
// Everything here is an extra: the report reads completely without JavaScript.
(function () {
  "use strict";
  var PAGE = 100;

  function cellValue(row, index) {
    var cell = row.cells[index];
    if (!cell) { return ""; }
    var v = cell.getAttribute("data-v");
    return v !== null ? v : cell.textContent.trim().toLowerCase();
  }

  function sortBy(table, th, index) {
    var numeric = th.getAttribute("data-type") === "num";
    var dir = th.getAttribute("aria-sort") === "descending" ? "ascending" : "descending";
    if (!numeric && !th.hasAttribute("aria-sort")) { dir = "ascending"; }
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir);
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, index), y = cellValue(b, index);
      var r = numeric ? (parseFloat(x) || 0) - (parseFloat(y) || 0) : x.localeCompare(y);
      return dir === "ascending" ? r : -r;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    paginate(table, 0);
  }

  function paginate(table, page) {
    var pager = document.querySelector('.pager[data-for="' + table.id + '"]');
    if (!pager) { return; }
    var visible = Array.prototype.filter.call(table.tBodies[0].rows, function (r) {
      return !r.classList.contains("filtered-out");
    });
    var pages = Math.max(1, Math.ceil(visible.length / PAGE));
    page = Math.min(Math.max(page, 0), pages - 1);
    Array.prototype.forEach.call(table.tBodies[0].rows, function (r) { r.classList.remove("paged-out"); });
    visible.forEach(function (r, i) {
      if (Math.floor(i / PAGE) !== page) { r.classList.add("paged-out"); }
    });
    pager.setAttribute("data-page", String(page));
    pager.querySelector(".count").textContent = "page " + (page + 1) + " of " + pages + " (" + visible.length + " hosts)";
    pager.querySelector(".prev").disabled = page === 0;
    pager.querySelector(".next").disabled = page >= pages - 1;
  }

  function setUpPager(table) {
    var pager = document.querySelector('.pager[data-for="' + table.id + '"]');
    if (!pager || table.tBodies[0].rows.length <= PAGE) { return; }
    pager.hidden = false;
    pager.querySelector(".prev").addEventListener("click", function () {
      paginate(table, Number(pager.getAttribute("data-page")) - 1);
    });
    pager.querySelector(".next").addEventListener("click", function () {
      paginate(table, Number(pager.getAttribute("data-page")) + 1);
    });
    paginate(table, 0);
  }

  function setUpFilter(table) {
    var input = document.querySelector('input.filter[data-for="' + table.id + '"]');
    if (!input) { return; }
    input.hidden = false;
    input.addEventListener("input", function () {
      var q = input.value.trim().toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
        r.classList.toggle("filtered-out", q !== "" && r.textContent.toLowerCase().indexOf(q) < 0);
      });
      paginate(table, 0);
    });
  }

  // Large fleets carry every host's details (HTML fwaudit escaped) as one deflated, base64
  // encoded JSON array; it is unpacked once, when the first host section is opened.
  var bodies = null;

  function hostBodies(block) {
    if (bodies === null) {
      var bytes = Uint8Array.from(atob(block.textContent.trim()), function (c) { return c.charCodeAt(0); });
      var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
      bodies = new Response(stream).text().then(JSON.parse);
    }
    return bodies;
  }

  function fillHost(details) {
    var block = document.getElementById("host-bodies");
    if (!block || !details.open || details.hasAttribute("data-filled")) { return; }
    details.setAttribute("data-filled", "pending");
    hostBodies(block).then(function (all) {
      details.querySelector(".hostbody").innerHTML = all[Number(details.id.slice("host-".length))];
      details.setAttribute("data-filled", "done");
    });
  }

  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id ? document.getElementById(id) : null;
    if (el && el.tagName === "DETAILS") { el.open = true; el.scrollIntoView(); }
  }

  document.querySelectorAll("table.sortable").forEach(function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      if (th.classList.contains("sortable")) {
        th.tabIndex = 0;
        th.addEventListener("click", function () { sortBy(table, th, index); });
        th.addEventListener("keydown", function (e) {
          if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(table, th, index); }
        });
      }
    });
    setUpFilter(table);
    setUpPager(table);
  });
  document.querySelectorAll("details.host").forEach(function (d) {
    d.addEventListener("toggle", function () { fillHost(d); });
    fillHost(d);
  });
  window.addEventListener("hashchange", openTarget);
  openTarget();
}());
