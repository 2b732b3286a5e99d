/*
 * The study page's behaviour: theme, search, filters kept in the URL hash, collapsing cards,
 * copying code, and "learned" progress with its export and import.
 *
 * deckbuilder inlines this file into the page unchanged; the page's Content-Security-Policy
 * admits it by its hash and admits no other script, so it must stay one plain file with no
 * imports and no build step. It never fetches anything: the page has to work offline.
 */
(() => {
  "use strict";

  const THEME_KEY = "deckbuilder:theme";
  const THEMES = ["auto", "light", "dark"]; // the toggle's cycle
  const PROGRESS_FORMAT = "deckbuilder-progress";

  const root = document.documentElement;
  const store = openStore();
  const systemDark = window.matchMedia("(prefers-color-scheme: dark)");

  /*
   * localStorage where the browser allows it; some refuse it for file:// pages or in private
   * windows, and then a Map keeps the page working for this visit (export still saves).
   */
  function openStore() {
    try {
      const probe = "deckbuilder:probe";
      window.localStorage.setItem(probe, probe);
      window.localStorage.removeItem(probe);
      return {
        persistent: true,
        get: (key) => window.localStorage.getItem(key),
        set(key, value) {
          try {
            window.localStorage.setItem(key, value);
            return true;
          } catch {
            return false;
          }
        },
        remove: (key) => window.localStorage.removeItem(key),
      };
    } catch {
      const memory = new Map();
      return {
        persistent: false,
        get: (key) => (memory.has(key) ? memory.get(key) : null),
        set(key, value) {
          memory.set(key, value);
          return true;
        },
        remove: (key) => memory.delete(key),
      };
    }
  }

  function themeChoice() {
    const choice = store.get(THEME_KEY);
    return THEMES.includes(choice) ? choice : "auto";
  }

  /* Runs before the body is parsed, so a dark system never sees a light flash. */
  function applyTheme() {
    const choice = themeChoice();
    root.dataset.theme = choice === "auto" ? (systemDark.matches ? "dark" : "light") : choice;
    const button = document.getElementById("theme");
    if (button) button.textContent = `Theme: ${choice}`;
  }

  applyTheme();
  root.classList.replace("no-js", "js");
  systemDark.addEventListener("change", applyTheme);
  document.addEventListener("DOMContentLoaded", start);

  /* Case- and accent-insensitive text for search ("Schütze" matches "schutze"). */
  function fold(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function start() {
    const list = document.getElementById("questions");
    const form = document.getElementById("controls");
    const search = document.getElementById("search");
    const todo = document.getElementById("todo");
    const count = document.getElementById("count");
    const status = document.getElementById("status");
    const empty = document.getElementById("empty");
    const learnedCount = document.getElementById("learned-count");
    const learnedBar = document.getElementById("learned-bar");
    const importFile = document.getElementById("import-file");
    const bank = list.dataset.bank;
    const learnedKey = `deckbuilder:${bank}:learned`;

    const cards = Array.from(list.querySelectorAll(".card"), (el) => ({
      el,
      id: el.dataset.id,
      level: el.dataset.level,
      categories: el.dataset.categories.split(" "),
      toggle: el.querySelector(".toggle"),
      learn: el.querySelector(".learn"),
      body: el.querySelector(".card-body"),
      // Indexed before the copy buttons exist, so "copy" does not match every card.
      text: fold(
        [".question", ".answer", ".explanation"]
          .map((selector) => el.querySelector(selector).textContent)
          .concat(el.dataset.tags)
          .join("\n"),
      ),
    }));
    const byElement = new Map(cards.map((card) => [card.el, card]));
    let learned = loadLearned();

    function say(message) {
      status.textContent = message;
    }

    function loadLearned() {
      try {
        const ids = JSON.parse(store.get(learnedKey) || "[]");
        return new Set(Array.isArray(ids) ? ids.filter((id) => typeof id === "string") : []);
      } catch {
        return new Set();
      }
    }

    /* Ids of questions this build does not have stay stored: a later build may have them. */
    function saveLearned() {
      if (!store.set(learnedKey, JSON.stringify([...learned].sort()))) {
        say("This browser refused to store progress; use Export progress to keep it.");
      }
    }

    function filters() {
      return {
        q: search.value.trim(),
        level: form.elements.level.value,
        category: form.elements.category.value,
        todo: todo.checked,
      };
    }

    function refresh() {
      const { level, category, todo: onlyTodo, q } = filters();
      const terms = fold(q).split(/\s+/).filter(Boolean);
      let shown = 0;
      for (const card of cards) {
        const visible =
          (!level || card.level === level) &&
          (!category || card.categories.includes(category)) &&
          (!onlyTodo || !learned.has(card.id)) &&
          terms.every((term) => card.text.includes(term));
        card.el.hidden = !visible;
        shown += visible ? 1 : 0;
      }
      count.textContent = `Showing ${shown} of ${cards.length}`;
      empty.hidden = shown > 0;
    }

    function showLearned() {
      let total = 0;
      for (const card of cards) {
        const isLearned = learned.has(card.id);
        total += isLearned ? 1 : 0;
        card.el.classList.toggle("learned", isLearned);
        card.learn.setAttribute("aria-pressed", String(isLearned));
      }
      learnedCount.textContent = String(total);
      learnedBar.value = total;
    }

    /* The hash holds only what differs from "everything", so a plain link stays plain. */
    function writeHash() {
      const { q, level, category, todo: onlyTodo } = filters();
      const params = new URLSearchParams();
      if (q) params.set("q", q);
      if (category) params.set("category", category);
      if (level) params.set("level", level);
      if (onlyTodo) params.set("todo", "1");
      const hash = params.toString();
      history.replaceState(null, "", hash ? `#${hash}` : location.pathname + location.search);
    }

    function selectRadio(name, value) {
      const radios = Array.from(form.elements[name]);
      const match = radios.find((radio) => radio.value === value) || radios[0];
      match.checked = true;
    }

    /* Unknown values (a link from another build) fall back to "all" instead of hiding all. */
    function readHash() {
      const params = new URLSearchParams(location.hash.slice(1));
      search.value = params.get("q") || "";
      selectRadio("category", params.get("category") || "");
      selectRadio("level", params.get("level") || "");
      todo.checked = params.get("todo") === "1";
      refresh();
    }

    function setOpen(card, open) {
      card.el.classList.toggle("open", open);
      card.toggle.setAttribute("aria-expanded", String(open));
      card.body.hidden = !open;
    }

    /* A card that the "not yet learned" filter just hid must not take the focus with it. */
    function keepFocus(card) {
      if (!card.el.hidden) return;
      const next = cards.slice(cards.indexOf(card) + 1).find((other) => !other.el.hidden);
      (next ? next.toggle : search).focus();
    }

    function toggleLearned(card) {
      if (learned.has(card.id)) learned.delete(card.id);
      else learned.add(card.id);
      saveLearned();
      showLearned();
      refresh();
      keepFocus(card);
    }

    async function copyCode(button) {
      const code = button.parentElement.querySelector("pre").textContent;
      try {
        await navigator.clipboard.writeText(code);
        button.textContent = "Copied";
      } catch {
        button.textContent = "Copy failed";
      }
      setTimeout(() => {
        button.textContent = "Copy";
      }, 2000);
    }

    function exportProgress() {
      const data = { format: PROGRESS_FORMAT, version: 1, bank, learned: [...learned].sort() };
      const blob = new Blob([`${JSON.stringify(data, null, 2)}\n`], { type: "application/json" });
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = `${bank}-progress.json`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 0);
      say(`Exported ${learned.size} learned question(s) to ${link.download}.`);
    }

    /* Import adds to what is learned here: loading an old file never loses newer progress. */
    async function importProgress(file) {
      let data;
      try {
        data = JSON.parse(await file.text());
      } catch {
        say(`${file.name} is not a progress file: it is not JSON.`);
        return;
      }
      if (!data || data.format !== PROGRESS_FORMAT || !Array.isArray(data.learned)) {
        say(`${file.name} is not a deckbuilder progress file.`);
        return;
      }
      if (data.bank !== bank) {
        say(`${file.name} holds progress for "${data.bank}", not for this bank ("${bank}").`);
        return;
      }
      const ids = data.learned.filter((id) => typeof id === "string");
      const before = learned.size;
      ids.forEach((id) => learned.add(id));
      saveLearned();
      showLearned();
      refresh();
      say(`Imported ${ids.length} learned question(s), ${learned.size - before} new.`);
    }

    for (const block of list.querySelectorAll(".card-body .highlight")) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "copy";
      button.textContent = "Copy";
      button.setAttribute("aria-label", "Copy code");
      block.prepend(button);
    }
    cards.forEach((card) => setOpen(card, false));
    applyTheme();
    showLearned();
    readHash();
    if (!store.persistent) {
      say("This browser does not let the page keep progress; use Export progress to save it.");
    }

    form.addEventListener("submit", (event) => event.preventDefault());
    form.addEventListener("input", (event) => {
      if (event.target === importFile) return;
      refresh();
      writeHash();
    });
    search.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && search.value) {
        event.preventDefault();
        search.value = "";
        refresh();
        writeHash();
      }
    });
    window.addEventListener("hashchange", readHash);
    document.addEventListener("keydown", (event) => {
      const typing = event.target.closest("input, textarea, select, [contenteditable]");
      if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
        event.preventDefault();
        search.focus();
        search.select();
      }
    });
    list.addEventListener("click", (event) => {
      const button = event.target.closest("button");
      if (!button) return;
      const card = byElement.get(button.closest(".card"));
      if (button.classList.contains("toggle")) setOpen(card, !card.el.classList.contains("open"));
      else if (button.classList.contains("learn")) toggleLearned(card);
      else if (button.classList.contains("copy")) copyCode(button);
    });
    document.getElementById("clear").addEventListener("click", () => {
      form.reset();
      refresh();
      writeHash();
      search.focus();
    });
    document.getElementById("theme").addEventListener("click", () => {
      const next = THEMES[(THEMES.indexOf(themeChoice()) + 1) % THEMES.length];
      if (next === "auto") store.remove(THEME_KEY);
      else store.set(THEME_KEY, next);
      applyTheme();
    });
    document.getElementById("export").addEventListener("click", exportProgress);
    document.getElementById("import").addEventListener("click", () => importFile.click());
    importFile.addEventListener("change", () => {
      const [file] = importFile.files;
      importFile.value = "";
      if (file) importProgress(file);
    });
    /* Another tab of the same page marked something: show it here too. */
    window.addEventListener("storage", (event) => {
      if (event.key === learnedKey) {
        learned = loadLearned();
        showLearned();
        refresh();
      }
    });
  }
})();
