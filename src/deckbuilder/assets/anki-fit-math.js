// Inline formulas wider than their line are scaled down to fit: MathJax 3 cannot break
// them, and a phone would otherwise scroll the whole card sideways. Runs in Anki desktop,
// AnkiDroid and AnkiMobile; installed once per web view, it refits whenever the reviewer
// shows a card (MathJax adds its containers), a <details> opens or the screen turns.
(() => {
  if (window.dbkFitMath) return;
  window.dbkFitMath = true;
  let pending = false;
  const fit = () => {
    pending = false;
    for (const math of document.querySelectorAll('.dbk mjx-container:not([display="true"])')) {
      math.style.fontSize = "";
      const block = math.parentElement && math.parentElement.closest("p, li, td, th, div, summary");
      if (!block) continue;
      const style = getComputedStyle(block);
      const room = block.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
      // A formula glued to the punctuation after it must fit together with it.
      const unit = math.closest(".math-glue") || math;
      const width = unit.getBoundingClientRect().width;
      if (room > 0 && width > room) math.style.fontSize = `${Math.floor((100 * room) / width)}%`;
    }
  };
  const later = () => {
    if (!pending) {
      pending = true;
      requestAnimationFrame(fit);
    }
  };
  new MutationObserver(later).observe(document.body, { childList: true, subtree: true });
  document.addEventListener("toggle", later, true);
  window.addEventListener("resize", later);
  later();
})();
