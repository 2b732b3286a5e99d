/*
 * The study page's behaviour: theme, search (ranked, with marks and snippets), filters kept
 * in the URL hash, collapsing cards, keyboard, copying code, "learned" marks, and the
 * practice mode with FSRS scheduling, all kept in localStorage and in the export file.
 * It also makes what only it uses, which the page does not ship: "Learned" buttons,
 * snippets, the ids tying a card's parts together, code colours (sent as runs), and the
 * titles of related questions (sent as numbers).
 *
 * deckbuilder inlines this file into the page unchanged; the page's Content-Security-Policy
 * admits it by its hash, and the vendored scheduler (ts-fsrs, global `FSRS`) by its own, and
 * no other script, so it must stay one plain file with no imports and no build step. It never
 * fetches anything: the page has to work offline. Time comes from Date.now() only, so a test
 * can drive the clock.
 */
(() => {
  "use strict";

  const THEME_KEY = "deckbuilder:theme";
  const ANSWERS_KEY = "deckbuilder:answers";
  const THEMES = ["auto", "light", "dark"]; // the toggle's cycle
  const PROGRESS_FORMAT = "deckbuilder-progress";
  const PROGRESS_VERSION = 2;
  /* Search weights: a word in the question counts most, then answer, tags, the rest. */
  const WEIGHTS = { question: 8, answer: 4, tags: 2, body: 1 };
  /* After a search, the best matches get their marks at once (a screen full); the rest
     as they come near the screen. */
  const FIRST_DRESSED = 8;
  const GRADES = ["", "Again", "Hard", "Good", "Easy"];

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

  function applyAnswers() {
    const shown = store.get(ANSWERS_KEY) === "shown";
    root.classList.toggle("answers-shown", shown);
    const button = document.getElementById("answers");
    if (button) button.setAttribute("aria-pressed", String(shown));
  }

  applyTheme();
  applyAnswers();
  root.classList.replace("no-js", "js");
  systemDark.addEventListener("change", applyTheme);
  document.addEventListener("DOMContentLoaded", start);

  /* Case- and accent-insensitive text for search ("Schütze" matches "schutze"). */
  function fold(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  /* Folded text with, for each folded character, the index of the source character. */
  function foldMapped(text) {
    const whole = fold(text);
    if (whole.length === text.length) return { folded: whole, map: null }; // the usual case
    let folded = "";
    const map = [];
    for (let i = 0; i < text.length; i += 1) {
      const piece = fold(text[i]);
      folded += piece;
      for (let j = 0; j < piece.length; j += 1) map.push(i);
    }
    map.push(text.length);
    return { folded, map };
  }

  function textOf(el, selector) {
    return Array.from(el.querySelectorAll(selector), (node) => node.textContent).join("\n");
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
    const filtersButton = document.getElementById("filters-button");
    const filtersPanel = document.getElementById("filters");
    const filtersCount = document.getElementById("filters-count");
    const keysDialog = document.getElementById("keys-dialog");
    const bank = list.dataset.bank;
    const learnedKey = `deckbuilder:${bank}:learned`;
    const practiceKey = `deckbuilder:${bank}:practice`;

    const cards = Array.from(list.querySelectorAll(".card"), (el, index) => {
      const body = el.querySelector(".card-body");
      const answer = el.querySelector(".answer");
      const question = el.querySelector(".question");
      const meta = el.querySelector(".meta");
      const badge = meta.querySelector(".badge");
      const tagLine = body.querySelector(".tags");
      const tags = tagLine ? tagLine.textContent.replace(/#/g, "").trim() : "";
      const toggle = el.querySelector(".toggle");
      // The ids that tie a card's parts together for assistive technology matter only
      // where the parts work together, with the script; the page ships without them.
      question.id = `t-${el.id.slice(2)}`;
      el.setAttribute("aria-labelledby", question.id);
      body.id = `b-${el.id.slice(2)}`;
      toggle.setAttribute("aria-controls", body.id);
      const bodyText = textOf(body, ":scope > section:not(.related)").replace(/\s+/g, " ");
      const bodyFolded = fold(bodyText);
      // "Learned" works only with the script, so the script adds it (346 fewer buttons to ship).
      const learn = document.createElement("button");
      learn.type = "button";
      learn.className = "learn";
      learn.textContent = "Learned";
      learn.setAttribute("aria-pressed", "false");
      learn.setAttribute("aria-describedby", question.id);
      meta.append(learn);
      return {
        el,
        index,
        id: el.id.slice(2),
        level: el.dataset.level,
        levelName: badge.textContent,
        levelClass: badge.className,
        number: el.querySelector(".number").textContent,
        categories: el.dataset.categories.split(" "),
        head: el.querySelector(".card-head"),
        meta,
        toggle,
        learn,
        question,
        answer,
        body,
        snippet: null, // made the first time a search has one to show
        // Indexed before the copy buttons exist, so "copy" does not match every card.
        fields: {
          question: fold(question.textContent),
          answer: fold(answer ? answer.textContent : ""),
          tags: fold(`${tags.replace(/-/g, " ")} ${tags}`),
          body: bodyFolded,
        },
        bodyText,
        // Where the folded text has another length, the snippet maps positions lazily.
        bodyFolded: bodyFolded.length === bodyText.length ? { folded: bodyFolded, map: null } : null,
        score: 0,
        shown: true, // the opposite of el.hidden, kept here so a keystroke reads no DOM
        at: index, // its place among the list's cards
        dressed: null, // the query its snippet and marks were made for
        ranges: [], // its marked words
        fitted: 0, // the viewport width its formulas were fitted to
      };
    });
    const byElement = new Map(cards.map((card) => [card.el, card]));
    const byId = new Map(cards.map((card) => [card.id, card]));
    let learned = loadLearned();
    let practice = loadPractice();
    let order = cards.slice(); // the shown cards, best match first
    let current = null; // the card J/K moved to
    let view = "read";

    function say(message) {
      status.textContent = message;
    }

    /* ---- stored state ---- */

    function readJSON(key, fallback) {
      try {
        const value = JSON.parse(store.get(key) || "null");
        return value === null ? fallback : value;
      } catch {
        return fallback;
      }
    }

    function loadLearned() {
      const ids = readJSON(learnedKey, []);
      return new Set(Array.isArray(ids) ? ids.filter((id) => typeof id === "string") : []);
    }

    /* Ids of questions this build does not have stay stored: a later build may have them. */
    function saveLearned() {
      if (!store.set(learnedKey, JSON.stringify([...learned].sort()))) {
        say("This browser refused to store progress; use Export progress to keep it.");
      }
    }

    function validRecord(record) {
      return (
        record &&
        typeof record === "object" &&
        typeof record.due === "string" &&
        !Number.isNaN(Date.parse(record.due)) &&
        typeof record.stability === "number" &&
        typeof record.difficulty === "number"
      );
    }

    function loadPractice() {
      const data = readJSON(practiceKey, {});
      const records = {};
      if (data && typeof data === "object" && !Array.isArray(data)) {
        for (const [id, record] of Object.entries(data)) {
          if (validRecord(record)) records[id] = record;
        }
      }
      return records;
    }

    function savePractice() {
      const sorted = {};
      for (const id of Object.keys(practice).sort()) sorted[id] = practice[id];
      if (!store.set(practiceKey, JSON.stringify(sorted))) {
        say("This browser refused to store progress; use Export progress to keep it.");
      }
    }

    /* ---- search and filters ---- */
    /*
     * A keystroke must stay well under a frame's budget on the whole bank, so it works on
     * the index built above, in plain arrays, and touches the DOM only where something
     * changes: cards whose visibility flips, the fewest moves to put the shown ones in rank
     * order, counts whose number changes, and the snippet and marks of the cards a reader
     * can see (the rest get theirs when they come near the screen).
     */

    const radios = {
      level: Array.from(form.elements.level),
      category: Array.from(form.elements.category),
    };
    const chipCounts = Array.from(form.querySelectorAll(".chip small"), (small) => ({
      small,
      name: small.parentElement.previousElementSibling.name,
      value: small.dataset.count,
    }));
    const FIELDS = Object.keys(WEIGHTS);
    const near = new Set(); // cards near the screen, as the IntersectionObserver below says
    let query = { key: "", terms: [] };

    function checked(name) {
      const radio = radios[name].find((input) => input.checked);
      return radio ? radio.value : "";
    }

    function filters() {
      return {
        q: search.value.trim(),
        level: checked("level"),
        category: checked("category"),
        todo: todo.checked,
      };
    }

    function termsOf(q) {
      return fold(q).split(/\s+/).filter(Boolean);
    }

    /* 0 when a term is nowhere in the card, else the sum of each term's best field weight. */
    function scoreOf(card, terms) {
      let score = 0;
      for (const term of terms) {
        let best = 0;
        for (const field of FIELDS) {
          if (card.fields[field].includes(term)) {
            best = WEIGHTS[field];
            break;
          }
        }
        if (!best) return 0;
        score += best;
      }
      return score || 1;
    }

    function passes(card, f, skip) {
      return (
        (skip === "level" || !f.level || card.level === f.level) &&
        (skip === "category" || !f.category || card.categories.includes(f.category)) &&
        (!f.todo || !learned.has(card.id))
      );
    }

    function setText(el, text) {
      if (el.textContent !== text) el.textContent = text;
    }

    function refresh() {
      const f = filters();
      const terms = termsOf(f.q);
      const key = terms.join(" ");
      if (key !== query.key) {
        query = { key, terms };
        if (found) found.clear();
      }
      const counts = { category: new Map(), level: new Map() };
      const add = (map, value) => map.set(value, (map.get(value) || 0) + 1);
      const next = [];
      for (const card of cards) {
        card.score = terms.length ? scoreOf(card, terms) : 1;
        let shown = false;
        if (card.score) {
          if (passes(card, f, "category")) {
            add(counts.category, "");
            for (const id of card.categories) add(counts.category, id);
          }
          if (passes(card, f, "level")) {
            add(counts.level, "");
            add(counts.level, card.level);
          }
          shown = passes(card, f);
        }
        if (shown) next.push(card);
        if (card.shown !== shown) {
          card.shown = shown;
          card.el.hidden = !shown;
        }
      }
      if (terms.length) next.sort((a, b) => b.score - a.score || a.index - b.index);
      arrange(next);
      order = next;
      for (const chip of chipCounts) setText(chip.small, String(counts[chip.name].get(chip.value) || 0));
      const active = (f.level ? 1 : 0) + (f.category ? 1 : 0) + (f.todo ? 1 : 0);
      setText(filtersCount, active ? `(${active})` : "");
      setText(count, `Showing ${next.length} of ${cards.length}`);
      if (empty.hidden !== next.length > 0) empty.hidden = next.length > 0;
      // The best matches land right under the search bar; those near the screen are seen too.
      for (const card of next.slice(0, FIRST_DRESSED)) dress(card);
      for (const card of near) dress(card);
      if (view === "practice") showPracticeStart();
      updateDueBadge();
    }

    /*
     * The shown cards in rank order with the fewest DOM moves: the ones already in order
     * (the longest increasing run of their places) stay, only the others move, each right
     * before its successor. A moved card is re-styled whole; hidden cards never move.
     */
    function arrange(next) {
      const stay = longestIncreasing(next.map((card) => card.at));
      if (stay.size === next.length) return;
      let before = empty; // the list ends with the "no match" note
      for (let i = next.length - 1; i >= 0; i -= 1) {
        if (!stay.has(i)) list.insertBefore(next[i].el, before);
        before = next[i].el;
      }
      let at = 0;
      for (const el of list.children) {
        const card = byElement.get(el);
        if (card) card.at = at++;
      }
    }

    /* Indexes of one longest strictly increasing subsequence (patience sorting). */
    function longestIncreasing(values) {
      const tails = []; // tails[k]: where the smallest end of a run of length k + 1 is
      const previous = new Array(values.length);
      for (let i = 0; i < values.length; i += 1) {
        let low = 0;
        let high = tails.length;
        while (low < high) {
          const middle = (low + high) >> 1;
          if (values[tails[middle]] < values[i]) low = middle + 1;
          else high = middle;
        }
        previous[i] = low > 0 ? tails[low - 1] : -1;
        tails[low] = i;
      }
      const indexes = new Set();
      for (let i = tails.length ? tails[tails.length - 1] : -1; i !== -1; i = previous[i]) indexes.add(i);
      return indexes;
    }

    function scopeText(f) {
      const names = [];
      if (f.level) names.push(chipName("level", f.level));
      if (f.category) names.push(chipName("category", f.category));
      if (f.todo) names.push("not yet learned");
      return names.length ? ` · ${names.join(" · ")}` : "";
    }

    function chipName(name, value) {
      const input = radios[name].find((radio) => radio.value === value);
      return input ? input.nextElementSibling.firstChild.textContent.trim() : value;
    }

    /*
     * Matched words are marked with the CSS Custom Highlight API: no DOM is rewritten. The
     * ranges are static (text in a card never changes), so moving cards never updates them.
     */
    const found = typeof Highlight === "function" && window.CSS && CSS.highlights ? new Highlight() : null;
    if (found) CSS.highlights.set("search", found);
    const textCache = new WeakMap();

    function textNodes(el) {
      let nodes = textCache.get(el);
      if (!nodes) {
        nodes = [];
        const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
        while (walker.nextNode()) {
          const node = walker.currentNode;
          nodes.push({ node, ...foldMapped(node.data) });
        }
        textCache.set(el, nodes);
      }
      return nodes;
    }

    function markIn(el, terms, ranges) {
      for (const { node, folded, map } of textNodes(el)) {
        for (const term of terms) {
          let at = folded.indexOf(term);
          while (at !== -1) {
            ranges.push(
              new StaticRange({
                startContainer: node,
                startOffset: map ? map[at] : at,
                endContainer: node,
                endOffset: (map ? map[at + term.length - 1] : at + term.length - 1) + 1,
              }),
            );
            at = folded.indexOf(term, at + term.length);
          }
        }
      }
    }

    /* A card's snippet and marked words, made for the current query once it can be seen. */
    function dress(card) {
      if (!card.shown || card.dressed === query.key) return;
      card.dressed = query.key;
      const terms = query.terms;
      if (found) for (const range of card.ranges) found.delete(range);
      card.ranges = [];
      showSnippet(card, terms);
      if (!found || !terms.length) return;
      markIn(card.question, terms, card.ranges);
      if (card.answer) markIn(card.answer, terms, card.ranges);
      if (card.snippet && !card.snippet.hidden) markIn(card.snippet, terms, card.ranges);
      if (card.el.classList.contains("open")) markIn(card.body, terms, card.ranges);
      for (const range of card.ranges) found.add(range);
    }

    /* A match only in what a closed card hides says where it is, in one line. */
    function snippetText(card, terms) {
      const { fields } = card;
      if (!terms.length || card.el.classList.contains("open")) return "";
      if (terms.some((t) => fields.question.includes(t) || fields.tags.includes(t))) return "";
      const term = terms.find((t) => fields.body.includes(t));
      if (term) {
        if (card.bodyFolded === null) card.bodyFolded = foldMapped(card.bodyText);
        const hit = card.bodyFolded.folded.indexOf(term);
        const at = card.bodyFolded.map ? card.bodyFolded.map[hit] : hit;
        const from = Math.max(0, at - 40);
        return `In the explanation: ${from ? "…" : ""}${card.bodyText.slice(from, at + 80).trim()}…`;
      }
      return terms.some((t) => fields.answer.includes(t)) ? "Matches the short answer" : "";
    }

    function showSnippet(card, terms) {
      const text = snippetText(card, terms);
      if (!text && !card.snippet) return;
      if (!card.snippet) {
        card.snippet = document.createElement("p");
        card.snippet.className = "snippet";
        card.meta.after(card.snippet);
      }
      if (card.snippet.textContent !== text) {
        card.snippet.textContent = text;
        textCache.delete(card.snippet);
      }
      if (card.snippet.hidden !== !text) card.snippet.hidden = !text;
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
    /*
     * history.replaceState costs Chromium ~16 ms on this page (it saves the state of every
     * form control), a third of a keystroke's budget: while someone types, the address
     * follows once the typing pauses, or when the page is left.
     */
    let hashTimer = 0;

    function writeHashSoon() {
      clearTimeout(hashTimer);
      hashTimer = setTimeout(writeHash, 400);
    }

    function writeHash() {
      clearTimeout(hashTimer);
      hashTimer = 0;
      const { q, level, category, todo: onlyTodo } = filters();
      const params = new URLSearchParams();
      if (q) params.set("q", q);
      if (category) params.set("category", category);
      if (level) params.set("level", level);
      if (onlyTodo) params.set("todo", "1");
      if (view === "practice") params.set("mode", "practice");
      const hash = params.toString();
      history.replaceState(null, "", hash ? `#${hash}` : location.pathname + location.search);
    }

    function selectRadio(name, value) {
      const radios = Array.from(form.elements[name]);
      const match = radios.find((radio) => radio.value === value) || radios[0];
      match.checked = true;
    }

    /*
     * Unknown values (a link from another build) fall back to "all" instead of hiding all.
     * A card's own anchor (#q-<id>) opens that card, and clears the filters only if they
     * hide it.
     */
    function readHash() {
      const hash = location.hash.slice(1);
      if (hash.startsWith("q-")) {
        const card = byId.get(decodeURIComponent(hash.slice(2)));
        if (card) {
          if (card.el.hidden) {
            form.reset();
            refresh();
          }
          setView("read", false);
          setOpen(card, true);
          current = card;
          // After the first layout, so the card is rendered and can take the focus.
          const go = () => {
            card.el.scrollIntoView({ block: "start" });
            card.toggle.focus({ preventScroll: true });
          };
          go();
          requestAnimationFrame(() => requestAnimationFrame(go));
          return;
        }
      }
      const params = new URLSearchParams(hash);
      search.value = params.get("q") || "";
      selectRadio("category", params.get("category") || "");
      selectRadio("level", params.get("level") || "");
      todo.checked = params.get("todo") === "1";
      refresh();
      setView(params.get("mode") === "practice" ? "practice" : "read", false);
    }

    /* After a search, the best match starts right under the search bar. */
    function bringResultsUp() {
      const bar = form.getBoundingClientRect();
      const top = count.getBoundingClientRect().top;
      if (top < bar.bottom || top > window.innerHeight / 2) {
        window.scrollBy(0, top - bar.bottom - 4);
      }
    }

    /* ---- cards ---- */

    /*
     * Code arrives as plain text with its colours as runs in data-c ("4k 1 6nf": 4
     * characters of class k, 1 without a class, 6 of class nf, the rest without), so the
     * page carries no span per token; the spans are made when they are first seen.
     */
    function colourCode(scope) {
      for (const code of scope.querySelectorAll("code[data-c]")) {
        const text = code.textContent;
        const pieces = [];
        let at = 0;
        for (const run of code.dataset.c.split(" ")) {
          const length = parseInt(run, 10);
          const name = run.slice(String(length).length).replace(/\./g, " ");
          const piece = text.slice(at, at + length);
          at += length;
          if (!name) {
            pieces.push(piece);
            continue;
          }
          const span = document.createElement("span");
          span.className = name;
          span.textContent = piece;
          pieces.push(span);
        }
        pieces.push(text.slice(at));
        code.replaceChildren(...pieces);
        code.removeAttribute("data-c");
      }
    }

    /* A related question's link names the question ("12. What is ..."), once it is seen. */
    function nameRelated(scope) {
      for (const link of scope.querySelectorAll(".related a:not(.named)")) {
        const target = byId.get(decodeURIComponent(link.hash.slice(3)));
        if (!target) continue;
        link.replaceChildren(`${target.number}. `, ...Array.from(target.toggle.childNodes, (node) => node.cloneNode(true)));
        link.classList.add("named");
      }
    }

    function setOpen(card, open) {
      if (open) {
        colourCode(card.body);
        nameRelated(card.body);
      }
      card.el.classList.toggle("open", open);
      card.toggle.setAttribute("aria-expanded", String(open));
      card.body.hidden = !open;
      card.dressed = null; // an open card has no snippet, and its explanation is marked too
      dress(card);
      if (open) requestAnimationFrame(() => fit(card.el));
    }

    /* A card that the "not yet learned" filter just hid must not take the focus with it. */
    function keepFocus(card) {
      if (!card.el.hidden) return;
      const next = order.find((other) => other.index > card.index) || order[0];
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

    function cardOf(element) {
      const el = element && element.closest && element.closest(".card");
      return el ? byElement.get(el) : null;
    }

    function focusedCard() {
      const card = cardOf(document.activeElement) || current;
      return card && !card.el.hidden ? card : null;
    }

    function step(delta) {
      if (!order.length) return;
      const at = order.indexOf(focusedCard());
      const next =
        at === -1 ? order[delta > 0 ? 0 : order.length - 1] : order[at + delta] || order[at];
      current = next;
      next.toggle.focus({ preventScroll: true });
      next.el.scrollIntoView({ block: "nearest" });
      const bar = form.getBoundingClientRect();
      const top = next.el.getBoundingClientRect().top;
      if (top < bar.bottom) window.scrollBy(0, top - bar.bottom - 8);
    }

    /*
     * Phones: a formula that is still wider than its line is scaled down (to 60% at least),
     * then scrolls in its own box; any box that scrolls can take the focus, so a keyboard
     * can scroll it too.
     */
    function fit(scope) {
      for (const math of scope.querySelectorAll('math:not([display="block"])')) {
        // What must stay on one line: the formula with the punctuation glued to it.
        let unit = math.closest(".math-glue") || math.closest(".math-inline") || math;
        // Only what an earlier fit changed is undone: a write before each read would make
        // the browser lay the page out again for every formula.
        if (math.style.fontSize) math.style.fontSize = "";
        if (unit.classList.contains("too-wide")) unit.classList.remove("too-wide");
        const line = unit.parentElement.closest("p, li, h2, h3, div, td, th");
        if (!line) continue;
        const room = line.clientWidth;
        const width = unit.getBoundingClientRect().width;
        if (room > 0 && width > room) {
          if (unit === math) {
            // A formula alone ships without a span (nothing breaks inside it); it gets one
            // here, the box that scrolls if scaling is not enough.
            unit = document.createElement("span");
            unit.className = "math-inline";
            math.replaceWith(unit);
            unit.append(math);
          }
          // Spacing does not scale quite like the glyphs: shrink until it fits.
          let scale = Math.floor((room / width) * 100) / 100;
          while (scale >= 0.6) {
            math.style.fontSize = `${scale}em`;
            if (unit.getBoundingClientRect().width <= room) break;
            scale -= 0.03;
          }
          if (scale < 0.6) {
            math.style.fontSize = "";
            unit.classList.add("too-wide");
          }
        }
      }
      const boxes = ".math-display, .table-scroll, pre, .too-wide, .card-body p, .card-body ul, .card-body ol, .answer p";
      for (const box of scope.querySelectorAll(boxes)) {
        const scrolls = box.scrollWidth > box.clientWidth + 1;
        if (scrolls) box.setAttribute("tabindex", "0");
        else box.removeAttribute("tabindex");
        if (scrolls && !box.hasAttribute("aria-label")) {
          box.setAttribute("role", "region");
          box.setAttribute("aria-label", box.matches("pre") ? "Code, scrolls sideways" : "Scrolls sideways");
        }
      }
    }

    /* A card coming near the screen gets its search dress, and its formulas fitted once. */
    const seen = new IntersectionObserver(
      (entries) => {
        for (const entry of entries) {
          const card = byElement.get(entry.target);
          if (!entry.isIntersecting) {
            near.delete(card);
            continue;
          }
          near.add(card);
          dress(card);
          if (card.fitted !== window.innerWidth) {
            card.fitted = window.innerWidth;
            fit(card.head);
            // A closed card's answer is not drawn unless "Show answers" is on (which refits).
            if (card.answer && root.classList.contains("answers-shown")) fit(card.answer);
          }
        }
      },
      { rootMargin: "200px" },
    );

    /* After a resize or "Show answers": fit the cards near the screen now, the rest later. */
    function refit() {
      for (const card of cards) card.fitted = 0;
      for (const card of near) {
        card.fitted = window.innerWidth;
        fit(card.el);
      }
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

    /* ---- practice ---- */

    const scheduler =
      window.FSRS && FSRS.fsrs(FSRS.generatorParameters({ enable_fuzz: false, enable_short_term: true }));
    const practiceView = document.getElementById("practice");
    const practiceCard = document.getElementById("practice-card");
    const practiceStart = document.getElementById("practice-start-view");
    const practiceSummary = document.getElementById("practice-summary");
    const practiceAnswer = document.getElementById("practice-answer");
    const practiceBody = document.getElementById("practice-body");
    const practiceMore = document.getElementById("practice-more");
    const reveal = document.getElementById("reveal");
    const dueBadge = document.getElementById("due-badge");
    const newPerRound = Number(
      (document.querySelector(".practice-help").textContent.match(/up to (\d+)/) || [0, 20])[1],
    );
    let round = null;

    function now() {
      return new Date(Date.now());
    }

    function endOfToday() {
      const end = now();
      end.setHours(23, 59, 59, 999);
      return end;
    }

    function toCard(record) {
      return {
        ...record,
        due: new Date(record.due),
        last_review: record.last_review ? new Date(record.last_review) : undefined,
      };
    }

    function toRecord(card) {
      return {
        due: card.due.toISOString(),
        stability: card.stability,
        difficulty: card.difficulty,
        elapsed_days: card.elapsed_days,
        scheduled_days: card.scheduled_days,
        learning_steps: card.learning_steps,
        reps: card.reps,
        lapses: card.lapses,
        state: card.state,
        last_review: card.last_review ? new Date(card.last_review).toISOString() : null,
      };
    }

    /* The practice scope: what the reading view shows (filters and search). */
    function scope() {
      return order.slice().sort((a, b) => a.index - b.index);
    }

    function isDue(card, until) {
      const record = practice[card.id];
      return Boolean(record) && Date.parse(record.due) <= until.getTime();
    }

    function showPracticeStart() {
      if (round) return;
      const until = endOfToday();
      const levels = new Map();
      const total = { due: 0, new: 0 };
      for (const card of scope()) {
        const row = levels.get(card.level) || { due: 0, new: 0 };
        if (!practice[card.id]) row.new += 1;
        else if (isDue(card, until)) row.due += 1;
        levels.set(card.level, row);
      }
      for (const tr of document.querySelectorAll("#practice-counts tr[data-level]")) {
        const level = tr.dataset.level;
        const row = level ? levels.get(level) || { due: 0, new: 0 } : null;
        if (row) {
          total.due += row.due;
          total.new += row.new;
        }
        const shown = row || total;
        tr.querySelector(".due").textContent = String(shown.due);
        tr.querySelector(".new").textContent = String(shown.new);
      }
      const f = filters();
      const what = scopeText(f).replace(/^ · /, "") || "all questions";
      document.getElementById("practice-scope").textContent =
        `Practise ${what}${f.q ? ` matching “${f.q}”` : ""}: ${total.due} due today, ${total.new} new.`;
      document.getElementById("practice-begin").disabled = total.due + total.new === 0;
      practiceStart.hidden = false;
      practiceCard.hidden = true;
      practiceSummary.hidden = true;
    }

    function updateDueBadge() {
      const until = endOfToday();
      const due = cards.filter((card) => isDue(card, until)).length;
      setText(dueBadge, due ? String(due) : "");
      const title = due ? `${due} due today` : "";
      if (dueBadge.title !== title) dueBadge.title = title;
    }

    function beginRound() {
      if (!scheduler) {
        say("The scheduler did not load; practice needs the page's scripts.");
        return;
      }
      const until = endOfToday();
      const inScope = scope();
      const due = inScope
        .filter((card) => isDue(card, until))
        .sort((a, b) => Date.parse(practice[a.id].due) - Date.parse(practice[b.id].due));
      const fresh = inScope.filter((card) => !practice[card.id]).slice(0, newPerRound);
      round = { queue: [...due, ...fresh], reviewed: new Set(), again: 0, done: 0 };
      practiceStart.hidden = true;
      practiceSummary.hidden = true;
      showNext();
    }

    function interval(from, to) {
      const minutes = Math.round((to - from) / 60000);
      if (minutes < 60) return `${Math.max(minutes, 1)} min`;
      const hours = Math.round(minutes / 60);
      if (hours < 24) return `${hours} h`;
      const days = Math.round(minutes / 1440);
      if (days < 31) return `${days} d`;
      const months = Math.round(days / 30.4);
      return months < 12 ? `${months} mo` : `${(days / 365).toFixed(1)} y`;
    }

    function cloneInto(target, source) {
      target.replaceChildren(...Array.from(source.childNodes, (node) => node.cloneNode(true)));
      for (const el of target.querySelectorAll("[id]")) el.removeAttribute("id");
      for (const el of target.querySelectorAll(".copy")) el.remove();
    }

    function showNext() {
      if (!round.queue.length) {
        finishRound();
        return;
      }
      const card = round.queue[0];
      round.card = card;
      practiceCard.hidden = false;
      practiceAnswer.hidden = true;
      practiceBody.hidden = true;
      practiceMore.setAttribute("aria-expanded", "false");
      practiceMore.textContent = "Show explanation";
      reveal.hidden = false;
      document.getElementById("practice-position").textContent =
        `${round.done + 1} of ${round.done + round.queue.length}`;
      const badge = document.getElementById("practice-level");
      badge.className = card.levelClass;
      badge.textContent = card.levelName;
      cloneInto(document.getElementById("practice-question"), card.toggle);
      practiceCard.dataset.id = card.id;
      reveal.focus({ preventScroll: true });
      practiceView.scrollIntoView({ block: "start" });
    }

    function revealAnswer() {
      if (!round || !round.card || !practiceAnswer.hidden) return;
      const card = round.card;
      colourCode(card.body);
      nameRelated(card.body);
      cloneInto(document.getElementById("practice-answer-text"), card.answer);
      cloneInto(practiceBody, card.body);
      const at = now();
      const record = practice[card.id];
      const outcomes = scheduler.repeat(record ? toCard(record) : FSRS.createEmptyCard(at), at);
      for (const button of practiceAnswer.querySelectorAll(".grade")) {
        const next = outcomes[Number(button.dataset.grade)].card;
        button.querySelector("small").textContent = interval(at, next.due);
      }
      reveal.hidden = true;
      practiceAnswer.hidden = false;
      fit(practiceAnswer);
      practiceAnswer.querySelector(".grade.good").focus({ preventScroll: true });
    }

    function toggleMore() {
      const open = practiceBody.hidden;
      practiceBody.hidden = !open;
      practiceMore.setAttribute("aria-expanded", String(open));
      practiceMore.textContent = open ? "Hide explanation" : "Show explanation";
      if (open) fit(practiceBody);
    }

    function grade(value) {
      if (!round || !round.card || practiceAnswer.hidden) return;
      const card = round.card;
      const at = now();
      const record = practice[card.id];
      const result = scheduler.next(record ? toCard(record) : FSRS.createEmptyCard(at), at, value);
      practice[card.id] = toRecord(result.card);
      savePractice();
      round.queue.shift();
      round.reviewed.add(card.id);
      round.done += 1;
      if (value === 1) round.again += 1;
      if (result.card.due.getTime() <= endOfToday().getTime()) round.queue.push(card);
      say(`${GRADES[value]}: next in ${interval(at, result.card.due)}.`);
      updateDueBadge();
      showNext();
    }

    function finishRound() {
      const reviewed = round.reviewed.size;
      const again = round.again;
      round = null;
      const dues = scope()
        .map((card) => practice[card.id] && Date.parse(practice[card.id].due))
        .filter(Boolean);
      const next = dues.length ? new Date(Math.min(...dues)) : null;
      const when = next
        ? next.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" })
        : "nothing scheduled";
      document.getElementById("practice-summary-text").textContent =
        `Reviewed ${reviewed} question(s), Again ${again} time(s). Next due: ${when}.`;
      practiceCard.hidden = true;
      practiceStart.hidden = true;
      practiceSummary.hidden = false;
      document.getElementById("practice-again").focus({ preventScroll: true });
      say("");
    }

    function setView(next, write = true) {
      view = next;
      const practising = next === "practice";
      document.getElementById("mode-read").setAttribute("aria-pressed", String(!practising));
      document.getElementById("mode-practice").setAttribute("aria-pressed", String(practising));
      root.classList.toggle("practising", practising);
      practiceView.hidden = !practising;
      list.hidden = practising;
      if (practising) showPracticeStart();
      else round = null;
      if (write) writeHash();
    }

    /* ---- export and import ---- */

    function exportProgress() {
      const data = {
        format: PROGRESS_FORMAT,
        version: PROGRESS_VERSION,
        bank,
        learned: [...learned].sort(),
        practice: JSON.parse(store.get(practiceKey) || "{}"),
      };
      if (!store.persistent) data.practice = practice;
      const blob = new Blob([`${JSON.stringify(data, null, 2)}\n`], { type: "application/json" });
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = `${bank}-progress.json`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 0);
      const scheduled = Object.keys(data.practice).length;
      say(`Exported ${learned.size} learned and ${scheduled} practised question(s) to ${link.download}.`);
    }

    /*
     * Import adds to what is here: learned marks are merged, and for a practised question the
     * more recent review wins, so loading an old file never loses newer progress.
     */
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
      let practised = 0;
      const incoming = data.practice && typeof data.practice === "object" ? data.practice : {};
      for (const [id, record] of Object.entries(incoming)) {
        if (!validRecord(record)) continue;
        const mine = practice[id];
        const newer =
          !mine || Date.parse(record.last_review || 0) > Date.parse(mine.last_review || 0);
        if (newer) {
          practice[id] = record;
          practised += 1;
        }
      }
      saveLearned();
      savePractice();
      showLearned();
      refresh();
      say(
        `Imported ${ids.length} learned question(s), ${learned.size - before} new` +
          (practised ? `; practice history of ${practised} question(s).` : "."),
      );
    }

    /* ---- wiring ---- */

    for (const block of list.querySelectorAll(".card-body .highlight")) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "copy";
      button.textContent = "Copy";
      button.setAttribute("aria-label", "Copy code");
      block.prepend(button);
    }
    cards.forEach((card) => setOpen(card, false));
    cards.forEach((card) => seen.observe(card.el));
    applyTheme();
    applyAnswers();
    showLearned();
    readHash();
    if (!store.persistent) {
      say("This browser does not let the page keep progress; use Export progress to save it.");
    }

    function setFilters(open) {
      filtersPanel.hidden = !open;
      filtersButton.setAttribute("aria-expanded", String(open));
      root.classList.toggle("sheet-open", open);
      if (open) {
        const checked = filtersPanel.querySelector("input:checked") || filtersPanel.querySelector("input");
        checked.focus();
      }
    }

    form.addEventListener("submit", (event) => event.preventDefault());
    form.addEventListener("input", (event) => {
      if (event.target === importFile) return;
      refresh();
      if (event.target === search) {
        writeHashSoon();
        bringResultsUp();
      } else {
        writeHash();
      }
    });
    search.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && search.value) {
        event.preventDefault();
        search.value = "";
        refresh();
        writeHash();
      } else if (event.key === "Enter" && order.length) {
        event.preventDefault();
        current = order[0];
        order[0].toggle.focus();
      }
    });
    filtersButton.addEventListener("click", () => setFilters(filtersPanel.hidden));
    document.getElementById("filters-done").addEventListener("click", () => {
      setFilters(false);
      filtersButton.focus();
    });
    filtersPanel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        setFilters(false);
        filtersButton.focus();
      }
    });
    window.addEventListener("hashchange", readHash);
    window.addEventListener("beforeprint", () => {
      colourCode(list);
      nameRelated(list);
    });
    window.addEventListener("pagehide", () => hashTimer && writeHash());
    document.addEventListener("keydown", (event) => {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      if (keysDialog.open) return;
      const typing = event.target.closest("input, textarea, select, [contenteditable]");
      if (typing) return;
      const key = event.key;
      if (key === "/") {
        event.preventDefault();
        search.focus();
        search.select();
      } else if (key === "?") {
        event.preventDefault();
        keysDialog.showModal();
      } else if (key === "p" || key === "P") {
        setView(view === "practice" ? "read" : "practice");
      } else if (view === "practice") {
        if (key === " " && round && practiceAnswer.hidden && !event.target.closest("button:not(#reveal)")) {
          event.preventDefault();
          revealAnswer();
        } else if (/^[1-4]$/.test(key) && round && !practiceAnswer.hidden) {
          event.preventDefault();
          grade(Number(key));
        } else if ((key === "e" || key === "E") && round && !practiceAnswer.hidden) {
          toggleMore();
        }
      } else if (key === "j" || key === "J") {
        event.preventDefault();
        step(1);
      } else if (key === "k" || key === "K") {
        event.preventDefault();
        step(-1);
      } else if (key === "o" || key === "O") {
        const card = focusedCard();
        if (card) setOpen(card, !card.el.classList.contains("open"));
      } else if (key === "l" || key === "L") {
        const card = focusedCard();
        if (card) toggleLearned(card);
      }
    });
    list.addEventListener("click", (event) => {
      const button = event.target.closest("button");
      if (!button) return;
      const card = byElement.get(button.closest(".card"));
      current = card;
      if (button.classList.contains("toggle")) setOpen(card, !card.el.classList.contains("open"));
      else if (button.classList.contains("learn")) toggleLearned(card);
      else if (button.classList.contains("copy")) copyCode(button);
    });
    list.addEventListener("focusin", (event) => {
      const card = cardOf(event.target);
      if (card) current = card;
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
    document.getElementById("answers").addEventListener("click", () => {
      if (store.get(ANSWERS_KEY) === "shown") store.remove(ANSWERS_KEY);
      else store.set(ANSWERS_KEY, "shown");
      applyAnswers();
      refit();
    });
    document.getElementById("keys").addEventListener("click", () => keysDialog.showModal());
    document.getElementById("keys-close").addEventListener("click", () => keysDialog.close());
    document.getElementById("mode-read").addEventListener("click", () => setView("read"));
    document.getElementById("mode-practice").addEventListener("click", () => setView("practice"));
    document.getElementById("practice-begin").addEventListener("click", beginRound);
    document.getElementById("practice-again").addEventListener("click", () => {
      showPracticeStart();
      document.getElementById("practice-begin").focus();
    });
    document.getElementById("practice-stop").addEventListener("click", () => setView("read"));
    reveal.addEventListener("click", revealAnswer);
    practiceMore.addEventListener("click", toggleMore);
    practiceAnswer.addEventListener("click", (event) => {
      const button = event.target.closest(".grade");
      if (button) grade(Number(button.dataset.grade));
    });
    document.getElementById("export").addEventListener("click", exportProgress);
    document.getElementById("import").addEventListener("click", () => importFile.click());
    importFile.addEventListener("change", () => {
      const [file] = importFile.files;
      importFile.value = "";
      if (file) importProgress(file);
    });
    let resized = 0;
    window.addEventListener("resize", () => {
      cancelAnimationFrame(resized);
      resized = requestAnimationFrame(() => {
        refit();
      });
    });
    /* Another tab of the same page marked or practised something: show it here too. */
    window.addEventListener("storage", (event) => {
      if (event.key === learnedKey) {
        learned = loadLearned();
        showLearned();
        refresh();
      } else if (event.key === practiceKey) {
        practice = loadPractice();
        refresh();
      }
    });
  }
})();
