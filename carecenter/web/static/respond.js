// The response page reloads itself while the alert is open, so that whoever holds it sees who
// took charge; the reader can stop it (a page that changes under you is a barrier, WCAG 2.2.1).
// Without a script the page still works: its "Refresh" link reloads it.
(function () {
  "use strict";
  var control = document.getElementById("auto-refresh");
  if (!control) { return; }
  control.hidden = false;
  var box = control.querySelector("input");
  var seconds = Number(control.dataset.seconds) || 15;
  setInterval(function () {
    if (box.checked && !document.hidden && !document.activeElement.matches("textarea, input[type=text], select")) {
      window.location.reload();
    }
  }, seconds * 1000);
})();
