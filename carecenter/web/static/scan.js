// The home code at check-in and check-out: read by the tablet's camera where the browser reads QR
// codes (BarcodeDetector: Chrome on Android tablets), typed from under the picture everywhere else.
(function () {
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { return; }
  document.querySelectorAll("button[data-scan]").forEach(function (button) {
    var input = document.getElementById(button.dataset.scan);
    var video = button.parentNode.querySelector("video.scanner");
    var status = button.parentNode.querySelector(".scan-status");
    button.hidden = false;
    button.addEventListener("click", function () {
      var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
        var started = Date.now();
        var stop = function () { stream.getTracks().forEach(function (t) { t.stop(); }); video.hidden = true; };
        video.srcObject = stream;
        video.hidden = false;
        video.play();
        var look = function () {
          detector.detect(video).then(function (codes) {
            var found = codes.filter(function (c) { return String(c.rawValue).indexOf("CCH1-") === 0; })[0];
            if (found) {
              input.value = found.rawValue;
              if (status) { status.textContent = status.dataset.read; }
              stop();
              return;
            }
            if (Date.now() - started > 30000) { stop(); return; }  // give up; the code can be typed
            setTimeout(look, 250);
          }, function () { setTimeout(look, 250); });
        };
        look();
      }, function () { if (status) { status.textContent = status.dataset.denied; } });
    });
  });
})();
