// Check-in and check-out: add the tablet's position when the browser allows it (never required).
document.querySelectorAll("form.geo").forEach(function (form) {
  form.addEventListener("submit", function (event) {
    if (form.dataset.located || !navigator.geolocation) { return; }
    event.preventDefault();
    var send = function () { form.dataset.located = "1"; form.submit(); };
    navigator.geolocation.getCurrentPosition(function (pos) {
      form.elements.latitude.value = pos.coords.latitude;
      form.elements.longitude.value = pos.coords.longitude;
      send();
    }, send, { timeout: 5000, maximumAge: 60000 });
  });
});
