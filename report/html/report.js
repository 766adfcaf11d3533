// Sorting, filtering and paging of the connections table, without a
// framework. Only a page of rows is in the document at once: a browser
// lays out a table of thousands of rows in seconds at every change.
(function () {
	"use strict";
	var table = document.getElementById("conns");
	if (!table) {
		return;
	}
	var PAGE = 1000;
	var tbody = table.tBodies[0];
	var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr"));
	var more = document.getElementById("more");
	if (more) {
		more.parentNode.removeChild(more);
	}
	var text = rows.map(function (r) { return r.textContent.toLowerCase(); });
	var order = rows.map(function (r, i) { return i; });
	var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
	var filter = document.getElementById("filter");
	var boxes = Array.prototype.slice.call(document.querySelectorAll("#filters input[name=outcome]"));
	var shown = document.getElementById("shown");
	var moreButton = document.getElementById("more-rows");
	var limit = PAGE;

	function key(row, i, num) {
		// Numbers sort by their value: "80.9 ms", "1.000 s" (a column has one unit).
		// A stream sorts by its place in the report's order (TCP before
		// QUIC): "udp 3" is no number.
		var order = row.cells[i].getAttribute("data-order");
		if (order !== null) {
			return +order;
		}
		var v = row.cells[i].textContent;
		if (num) {
			var n = parseFloat(v);
			return isNaN(n) ? -Infinity : n;
		}
		return v.toLowerCase();
	}

	function render() {
		var q = filter.value.trim().toLowerCase();
		var on = {};
		boxes.forEach(function (b) { on[b.value] = b.checked; });
		var match = order.filter(function (i) {
			return on[rows[i].getAttribute("data-outcome")] !== false && (q === "" || text[i].indexOf(q) >= 0);
		});
		var frag = document.createDocumentFragment();
		match.slice(0, limit).forEach(function (i) { frag.appendChild(rows[i]); });
		tbody.textContent = "";
		tbody.appendChild(frag);
		var n = Math.min(match.length, limit);
		shown.textContent = n + " of " + rows.length + " shown" + (match.length > n ? " (" + match.length + " match)" : "");
		if (moreButton) {
			moreButton.hidden = match.length <= n;
		}
	}

	function sortBy(i) {
		var th = heads[i];
		var num = th.getAttribute("data-type") === "num";
		var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
		heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
		th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
		var keys = rows.map(function (r) { return key(r, i, num); });
		order = rows.map(function (r, n) { return n; });
		order.sort(function (a, b) {
			if (keys[a] < keys[b]) {
				return -dir;
			}
			if (keys[a] > keys[b]) {
				return dir;
			}
			return a - b;
		});
		render();
	}

	heads.forEach(function (th, i) {
		th.tabIndex = 0;
		th.title = "sort";
		th.addEventListener("click", function () { sortBy(i); });
		th.addEventListener("keydown", function (e) {
			if (e.key === "Enter" || e.key === " ") {
				e.preventDefault();
				sortBy(i);
			}
		});
	});

	var timer = 0;
	filter.addEventListener("input", function () {
		clearTimeout(timer);
		timer = setTimeout(function () { limit = PAGE; render(); }, 80);
	});
	boxes.forEach(function (b) { b.addEventListener("change", function () { limit = PAGE; render(); }); });
	if (moreButton) {
		moreButton.addEventListener("click", function () { limit += PAGE; render(); });
	}
	document.getElementById("filters").addEventListener("submit", function (e) { e.preventDefault(); });
	render();
})();
