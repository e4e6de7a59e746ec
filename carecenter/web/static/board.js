// The live alert board: Server-Sent Events say when something changed; the rows are fetched again.
(function () {
  var rows = document.getElementById("board-rows");
  var known = new Set(Array.from(rows.querySelectorAll("tr[data-alert]")).map(function (tr) { return tr.dataset.alert; }));
  function beep() {
    try {
      var ctx = new (window.AudioContext || window.webkitAudioContext)();
      var osc = ctx.createOscillator();
      osc.frequency.value = 880; osc.connect(ctx.destination); osc.start(); osc.stop(ctx.currentTime + 0.4);
    } catch (e) { /* no audio available: the flashing row remains */ }
  }
  function refresh() {
    fetch(rows.dataset.rows || "/board/rows", { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
      rows.innerHTML = html;
      var empty = document.getElementById("board-empty");
      if (empty && rows.children.length) { empty.remove(); }
      var fresh = false;
      rows.querySelectorAll("tr[data-alert]").forEach(function (tr) {
        if (!known.has(tr.dataset.alert)) { tr.classList.add("flash"); known.add(tr.dataset.alert); fresh = true; }
      });
      if (fresh) { beep(); document.title = "● " + document.title.replace(/^● /, ""); }
    });
  }
  var source = new EventSource("/board/events");
  source.addEventListener("changed", refresh);
})();
