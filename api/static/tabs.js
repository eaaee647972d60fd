// Tabs over a page's sections (issue 17): each <section data-tab="label"> of <main> becomes
// a tab panel, and a tab list before the first one shows one panel at a time (the ARIA tabs
// pattern: arrow keys, Home and End move between tabs). The chosen tab is kept in the
// address (#tab-NAME), so a reload or a link opens it. Without script every section shows.

import { _ } from "./i18n.js";

export function setupTabs() {
  const sections = [...document.querySelectorAll("main section[data-tab]")];
  if (sections.length < 2) return;
  const list = document.createElement("div");
  list.className = "tabs";
  list.setAttribute("role", "tablist");
  list.setAttribute("aria-label", _("Parts of this page"));
  const tabs = sections.map((section) => {
    const name = (section.getAttribute("aria-labelledby") || section.id).replace(/-heading$/, "");
    section.id ||= `panel-${name}`;
    section.setAttribute("role", "tabpanel");
    const tab = document.createElement("button");
    tab.type = "button";
    tab.id = `tab-${name}`;
    tab.setAttribute("role", "tab");
    tab.setAttribute("aria-controls", section.id);
    tab.textContent = section.dataset.tab;
    list.append(tab);
    return tab;
  });
  sections[0].before(list);

  function select(tab, focus = false) {
    for (const [i, other] of tabs.entries()) {
      const chosen = other === tab;
      other.setAttribute("aria-selected", String(chosen));
      other.tabIndex = chosen ? 0 : -1;
      sections[i].hidden = !chosen;
    }
    if (focus) tab.focus();
  }

  list.addEventListener("click", (event) => {
    const tab = event.target.closest("[role=tab]");
    if (!tab) return;
    select(tab);
    history.replaceState(null, "", `#${tab.id}`);
  });
  list.addEventListener("keydown", (event) => {
    const at = tabs.indexOf(document.activeElement);
    if (at < 0) return;
    const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 }[event.key];
    if (to === undefined) return;
    event.preventDefault();
    const tab = tabs[(to + tabs.length) % tabs.length];
    select(tab, true);
    history.replaceState(null, "", `#${tab.id}`);
  });
  // The tab in the address, or the one holding an element the address names, or the first.
  function fromAddress() {
    const named = location.hash ? document.getElementById(decodeURIComponent(location.hash.slice(1))) : null;
    const panel = named?.closest("[role=tabpanel]");
    return tabs.includes(named) ? named : tabs[sections.indexOf(panel)];
  }
  select(fromAddress() || tabs[0]);
  window.addEventListener("hashchange", () => {
    const tab = fromAddress();
    if (tab) select(tab);
  });
}
