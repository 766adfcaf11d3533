// Sorting and filtering of the connections table, without a framework.
(function () {
	"use strict";
	var table = document.getElementById("conns");
	if (!table) {
		return;
	}
	var tbody = table.tBodies[0];
	var rows = Array.prototype.slice.call(tbody.rows);
	var text = rows.map(function (r) { return r.textContent.toLowerCase(); });
	var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
	var filter = document.getElementById("filter");
	var boxes = Array.prototype.slice.call(document.querySelectorAll("#filters input[name=outcome]"));
	var shown = document.getElementById("shown");

	function key(row, i, num) {
		// Numbers sort by their value: "80.9 ms", "+1.000 s" (a column has one unit).
		var v = row.cells[i].textContent;
		if (num) {
			var n = parseFloat(v);
			return isNaN(n) ? -Infinity : n;
		}
		return v.toLowerCase();
	}

	function sortBy(i) {
		var th = heads[i];
		var num = th.getAttribute("data-type") === "num";
		var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
		heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
		th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
		var keyed = rows.map(function (r, n) { return { k: key(r, i, num), n: n, r: r }; });
		keyed.sort(function (a, b) {
			if (a.k < b.k) {
				return -dir;
			}
			if (a.k > b.k) {
				return dir;
			}
			return a.n - b.n;
		});
		var frag = document.createDocumentFragment();
		keyed.forEach(function (e) { frag.appendChild(e.r); });
		tbody.appendChild(frag);
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

	function apply() {
		var q = filter.value.trim().toLowerCase();
		var on = {};
		boxes.forEach(function (b) { on[b.value] = b.checked; });
		var n = 0;
		rows.forEach(function (r, i) {
			var ok = on[r.getAttribute("data-outcome")] !== false && (q === "" || text[i].indexOf(q) >= 0);
			r.hidden = !ok;
			if (ok) {
				n++;
			}
		});
		shown.textContent = n + " of " + rows.length + " shown";
	}

	var timer = 0;
	filter.addEventListener("input", function () {
		clearTimeout(timer);
		timer = setTimeout(apply, 80);
	});
	boxes.forEach(function (b) { b.addEventListener("change", apply); });
	document.getElementById("filters").addEventListener("submit", function (e) { e.preventDefault(); });
	apply();
})();
