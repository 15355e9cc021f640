/* The hubzoo site's tables: every table in a `.hz-table` block sorts by a column when its
   heading is clicked (again: the other way); a block with `data-filter` also gets a filter box
   (rows containing every word typed) and, for each column whose heading holds a `data-choices`
   element, a choice of its values. A cell's value is the `data-sort` of an element in it when
   there is one (sizes, counts), else its text; empty cells ("—") sort last. No dependencies:
   the site works offline. */
(function () {
  "use strict";

  const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
  const EMPTY = "—";
  function cellText(cell) {
    return cell.textContent.trim();
  }

  function cellValue(cell) {
    const marked = cell.querySelector("[data-sort]");
    return marked ? marked.dataset.sort : cellText(cell);
  }

  function isEmpty(key) {
    return key === "" || key === EMPTY;
  }

  function compareKeys(a, b) {
    const x = Number(a);
    const y = Number(b);
    if (Number.isFinite(x) && Number.isFinite(y)) {
      return x - y;
    }
    return collator.compare(a, b);
  }

  function sortBy(table, column, ascending) {
    const body = table.tBodies[0];
    const rows = Array.from(body.rows, (row) => ({ row, key: cellValue(row.cells[column]) }));
    rows.sort((a, b) => {
      if (isEmpty(a.key) || isEmpty(b.key)) {
        return isEmpty(a.key) - isEmpty(b.key);
      }
      const order = compareKeys(a.key, b.key);
      return ascending ? order : -order;
    });
    body.append(...rows.map((item) => item.row));
  }

  function makeSortable(table) {
    const headings = Array.from(table.tHead.rows[0].cells);
    headings.forEach((heading, column) => {
      heading.classList.add("hz-sortable");
      heading.tabIndex = 0;
      heading.setAttribute("aria-sort", "none");
      heading.title = "Sort by " + cellText(heading);
      const sort = () => {
        const ascending = heading.getAttribute("aria-sort") !== "ascending";
        headings.forEach((other) => other.setAttribute("aria-sort", "none"));
        heading.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        sortBy(table, column, ascending);
      };
      heading.addEventListener("click", sort);
      heading.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          sort();
        }
      });
    });
  }

  function searchText(row) {
    const titles = Array.from(row.querySelectorAll("a[title]"), (link) => link.title);
    return [row.textContent, ...titles].join(" ").toLowerCase();
  }

  function columnChoice(heading, column, rows) {
    if (!heading.querySelector("[data-choices]")) {
      return null;
    }
    const values = new Set(rows.map((row) => cellValue(row.cells[column])));
    const name = cellText(heading);
    const select = document.createElement("select");
    select.setAttribute("aria-label", name);
    select.dataset.column = column;
    select.append(new Option(name + ": all", ""));
    for (const value of Array.from(values).sort(collator.compare)) {
      select.append(new Option(name + ": " + (isEmpty(value) ? EMPTY + " (none)" : value), value));
    }
    return select;
  }

  function makeFilterable(block, table) {
    const rows = Array.from(table.tBodies[0].rows);
    const texts = new Map(rows.map((row) => [row, searchText(row)]));
    const tools = document.createElement("div");
    tools.className = "hz-table-tools";
    const box = document.createElement("input");
    box.type = "search";
    box.placeholder = "Filter: type words";
    box.setAttribute("aria-label", "Filter rows");
    const headings = Array.from(table.tHead.rows[0].cells);
    const choices = headings
      .map((heading, column) => columnChoice(heading, column, rows))
      .filter((select) => select !== null);
    const count = document.createElement("span");
    count.className = "hz-table-count";
    count.setAttribute("aria-live", "polite");
    const apply = () => {
      const words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
      let shown = 0;
      for (const row of rows) {
        const visible =
          words.every((word) => texts.get(row).includes(word)) &&
          choices.every((s) => !s.value || cellValue(row.cells[s.dataset.column]) === s.value);
        row.style.display = visible ? "" : "none";
        shown += visible ? 1 : 0;
      }
      count.textContent = shown + " of " + rows.length + " rows";
    };
    box.addEventListener("input", apply);
    choices.forEach((select) => select.addEventListener("change", apply));
    tools.append(box, ...choices, count);
    block.prepend(tools);
    apply();
  }

  function setUp() {
    for (const block of document.querySelectorAll(".hz-table")) {
      const table = block.querySelector("table");
      if (!table || !table.tHead || !table.tBodies.length) {
        continue;
      }
      makeSortable(table);
      if (block.hasAttribute("data-filter")) {
        makeFilterable(block, table);
      }
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
