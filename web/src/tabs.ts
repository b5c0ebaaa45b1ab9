// The tablist: one tab selected at a time, arrow keys move between tabs (WAI-ARIA tabs pattern,
// automatic activation), and the URL's hash names the tab so a link can open it.

export type TabListener = (name: string) => void;

/** Sets the tabs up; answers a function that selects a tab by name and focuses it (for links between tabs). */
export function setUpTabs(tablist: HTMLElement, onChange: TabListener): (name: string) => void {
  const tabs = Array.from(tablist.querySelectorAll<HTMLButtonElement>('[role="tab"]'));
  const select = (tab: HTMLButtonElement, focus: boolean) => {
    for (const other of tabs) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
      panelOf(other).hidden = !selected;
    }
    if (focus) tab.focus();
    const name = nameOf(tab);
    history.replaceState(null, "", `#${name}`);
    onChange(name);
  };

  for (const tab of tabs) {
    tab.addEventListener("click", () => select(tab, false));
    tab.addEventListener("keydown", (event) => {
      const next = neighbour(tabs, tab, event.key);
      if (!next) return;
      event.preventDefault();
      select(next, true);
    });
  }
  const fromHash = tabs.find((tab) => nameOf(tab) === location.hash.slice(1));
  select(fromHash ?? tabs[0]!, false);
  return (name) => {
    const tab = tabs.find((t) => nameOf(t) === name);
    if (tab) select(tab, true);
  };
}

function neighbour(tabs: HTMLButtonElement[], tab: HTMLButtonElement, key: string): HTMLButtonElement | undefined {
  const i = tabs.indexOf(tab);
  const n = tabs.length;
  switch (key) {
    case "ArrowRight": return tabs[(i + 1) % n];
    case "ArrowLeft": return tabs[(i - 1 + n) % n];
    case "Home": return tabs[0];
    case "End": return tabs[n - 1];
    default: return undefined;
  }
}

function panelOf(tab: HTMLButtonElement): HTMLElement {
  const panel = document.getElementById(tab.getAttribute("aria-controls") ?? "");
  if (!panel) throw new Error(`no panel for tab #${tab.id}`);
  return panel;
}

/** "tab-hide" → "hide". */
function nameOf(tab: HTMLButtonElement): string {
  return tab.id.replace(/^tab-/, "");
}
