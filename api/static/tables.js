// Every table of a page says, in each cell, which column it is (td[data-label], from the
// column's header): on a narrow screen style.css shows each row as a card, its header hidden,
// and each cell starts with that label. Loaded by every page (base.html).

// Label the cells of ``table`` (again, after a script filled it).
export function labelCells(table) {
  const names = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  for (const row of table.querySelectorAll("tbody tr")) {
    [...row.cells].forEach((cell, i) => {
      if (names[i]) cell.dataset.label = names[i];
    });
  }
}

for (const table of document.querySelectorAll("main table")) labelCells(table);
