// The tablet works without a signal: what the care worker does on a visit page is queued
// (IndexedDB, with the tablet's own key and time) and sent in order when the connection is
// there; the page shows the new state at once. Without IndexedDB the forms simply post.
(function () {
  "use strict";
  var body = document.body;
  var staff = body.dataset.staff;
  var csrfMeta = document.querySelector('meta[name="csrf"]');
  var csrf = csrfMeta ? csrfMeta.content : "";
  var banner = document.getElementById("sync-state");
  var visitBox = document.getElementById("visit");
  if (!staff || !window.indexedDB || !window.Promise || !window.fetch) { return; }

  var registration = null;
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/static/sw.js", { scope: "/" }).then(function (r) { registration = r; }, function () {});
  }
  CCQueue.setMeta("staff", staff);
  CCQueue.setMeta("csrf", csrf);

  // -- the state line on every page ----------------------------------------------------------------
  function say(state, text) {  // the words and the state's icon (the banner holds one icon per state)
    if (!banner) { return; }
    banner.hidden = !text;
    banner.className = state;
    banner.querySelector(".words").textContent = text || "";
  }
  function words(name, n) { return (banner && banner.dataset[name] || "").replace("{n}", String(n)); }

  // One flush at a time; an action queued while one runs is sent by the next, and whoever asked
  // gets that flush's answers (a refusal then still reaches its field).
  var running = null, next = null;
  var answered = {};  // every flush's answers by key: the action may have gone with the earlier one
  function flush() {
    if (running) {
      if (!next) { next = running.then(function () { next = null; return flush(); }); }
      return next;
    }
    running = flushOnce().then(function (outcome) { running = null; return outcome; },
                               function () { running = null; return null; });
    return running;
  }
  function flushOnce() {
    return CCQueue.all().then(function (waiting) {
      var mine = waiting.filter(function (a) { return String(a.staff) === String(staff); });
      if (!mine.length) { return null; }
      if (!navigator.onLine) { say("offline", words("offline", mine.length)); return null; }
      say("sending", words("sending", mine.length));
      return CCQueue.flush(staff, csrf).then(function (outcome) {
        Object.keys(outcome.answers).forEach(function (k) { answered[k] = outcome.answers[k]; });
        if (outcome.stopped === "login") { say("problem", words("login", outcome.left)); return outcome; }
        if (outcome.stopped === "offline") { say("offline", words("offline", outcome.left)); return outcome; }
        if (outcome.problems.length) {
          say("problem", words("problem", outcome.problems.length) + " " + outcome.problems.join(" · "));
        } else {
          say("saved", words("saved", 0));
        }
        return outcome;
      });
    });
  }

  // -- the pages of the day, kept for the road ------------------------------------------------------
  var list = document.querySelectorAll("ol.visits a.visit-link");
  if (list.length && window.caches) {
    var urls = ["/"].concat(Array.prototype.map.call(list, function (a) { return a.getAttribute("href"); }));
    caches.open("carecenter-pages").then(function (cache) { return cache.addAll(urls); }).catch(function () {});
  }
  var logout = document.querySelector('form[action="/logout"]');
  if (logout && window.caches) {
    logout.addEventListener("submit", function () { caches.delete("carecenter-pages"); });  // the queue stays
  }

  // -- recording on a visit page --------------------------------------------------------------------
  function position() {
    return new Promise(function (resolve) {
      if (!navigator.geolocation) { resolve({}); return; }
      navigator.geolocation.getCurrentPosition(function (p) {
        resolve({ latitude: p.coords.latitude, longitude: p.coords.longitude });
      }, function () { resolve({}); }, { timeout: 5000, maximumAge: 60000 });
    });
  }

  function number(value) { return value === "" || value == null ? undefined : Number(value); }

  function resized(file) {  // long side at most 1600 px, JPEG: a photo travels light
    return createImageBitmap(file).then(function (bitmap) {
      var scale = Math.min(1, 1600 / Math.max(bitmap.width, bitmap.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      return canvas.toDataURL("image/jpeg", 0.85);
    });
  }

  function dataOf(kind, form) {
    var f = new FormData(form);
    var value = function (name) { var v = f.get(name); return v == null ? "" : String(v); };
    switch (kind) {
      case "check_in": case "check_out": return position().then(function (where) {
        return value("home_code") ? Object.assign(where, { home_code: value("home_code") }) : where;
      });
      case "task": return Promise.resolve({ service: value("service"), done: value("done") === "1",
        quantity: number(value("quantity")), reason: value("reason") || undefined });
      case "notes": return Promise.resolve({ notes: value("notes"), share_with_family: f.get("share_with_family") === "1" });
      case "concern": return Promise.resolve({ note: value("note") });
      case "vitals": {
        var vitals = {};
        ["systolic", "diastolic", "heart_rate", "temperature", "blood_glucose"].forEach(function (name) {
          if (value(name) !== "") { vitals[name] = number(value(name)); }
        });
        return Promise.resolve(vitals);
      }
      case "medication": return Promise.resolve({ index: number(value("index")), outcome: value("outcome"),
        reason: value("reason") || undefined });
      case "confirm": return Promise.resolve({ kind: value("kind"), signer: value("signer"),
        reason: value("reason") || undefined, signature_png: value("signature_png") || undefined });
      case "photo": {
        var file = form.querySelector('input[type="file"]').files[0];
        return file ? resized(file).then(function (jpeg) { return { jpeg: jpeg, preview: jpeg }; }) : Promise.reject("empty");
      }
    }
    return Promise.reject("unknown");
  }

  function shown(kind, form, data) {  // the new state at once, before (or without) the server
    var status = document.getElementById("visit-status");
    if (kind === "check_in" && visitBox) { visitBox.dataset.status = "in_progress"; if (status) { status.textContent = form.dataset.after || status.textContent; } }
    if (kind === "check_out" && visitBox) { visitBox.dataset.status = "completed"; }
    if (kind === "task" && data.done !== undefined) {
      var name = form.querySelector(".task");
      var flag = form.querySelector('input[name="done"]');
      var button = form.querySelector("button[data-task]");
      if (name && flag && button) {
        name.classList.toggle("done", data.done);
        flag.value = data.done ? "0" : "1";
        button.textContent = data.done ? button.dataset.undo : button.dataset.do;
      }
    }
    if (kind === "photo") {
      var img = document.createElement("img");
      img.src = data.preview; img.width = 160; img.className = "queued";
      document.querySelector("#photos .thumbs").appendChild(img);
      form.reset();
    }
    if (kind === "confirm" || kind === "medication" || kind === "notes" || kind === "vitals" || kind === "concern") {
      form.classList.add("queued");
    }
    marked(form);
  }

  // Each step says in words, with an icon, whether what was done there is queued or saved.
  function marked(form) {
    var step = form.closest(".step");
    var mark = step && step.querySelector(".step-state");
    if (!mark) { return; }
    var waiting = !navigator.onLine;
    var icon = banner && banner.querySelector(".state-icon." + (waiting ? "offline" : "saved"));
    mark.className = "step-state recorded" + (waiting ? " waiting" : "");
    mark.textContent = "";
    if (icon) { mark.appendChild(icon.firstElementChild.cloneNode(true)); }
    mark.appendChild(document.createTextNode(words(waiting ? "queued" : "stored", 0)));
    var link = document.querySelector('ol.steps li[data-step="' + step.id + '"]');
    if (link) { link.classList.add("done"); }
  }

  function explain(form, answer) {  // a value refused while the worker is there: next to its field
    Object.keys(answer.fields || {}).forEach(function (name) {
      var input = form.elements[name];
      var note = document.createElement("span");
      note.className = "field-error"; note.id = "e-" + name; note.textContent = answer.fields[name];
      if (input && input.after) { input.setAttribute("aria-invalid", "true"); input.after(note); } else { form.appendChild(note); }
    });
  }

  // The visit page's forms, and the day page's check-in at the next visit (its form names the visit).
  if (visitBox || document.querySelector("form[data-visit]")) {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      var kind = form.dataset && form.dataset.queue;
      if (!kind) { return; }
      event.preventDefault();
      event.stopImmediatePropagation();  // geo.js would post the form itself
      if (kind === "confirm" && form.classList.contains("signature") && !pad.drawn) {
        say("problem", banner.dataset.unsigned || ""); return;
      }
      var at = new Date().toISOString();
      var offline = !navigator.onLine;
      var key = CCQueue.newKey();
      form.querySelectorAll(".field-error").forEach(function (old) { old.remove(); });
      dataOf(kind, form).then(function (data) {
        var sent = {};
        Object.keys(data).forEach(function (k) { if (k !== "preview" && data[k] !== undefined) { sent[k] = data[k]; } });
        var visitId = Number(form.dataset.visit || (visitBox && visitBox.dataset.visit));
        return CCQueue.add({ key: key, kind: kind, visit_id: visitId, at: at,
                             offline: offline, data: sent, staff: staff }).then(function () {
          shown(kind, form, data);
          if (registration && registration.sync) { registration.sync.register("carecenter-queue").catch(function () {}); }
          return flush();
        });
      }).then(function (outcome) {
        var answer = answered[key];
        if (answer && answer.result === "refused") { explain(form, answer); return; }
        if (form.dataset.then) { window.location.assign(form.dataset.then); return; }  // on to the visit's page
        // The page already shows the new state; only the end of the visit leads back to the day's list.
        if (kind === "check_out" && outcome && !outcome.stopped && !outcome.problems.length) {
          window.location.assign("/");
        }
      }, function () {});
    }, true);
  }

  // -- the signature, drawn with a finger ----------------------------------------------------------
  var canvas = document.getElementById("signature-pad");
  var pad = { drawn: false };
  if (canvas) {
    var ctx = canvas.getContext("2d");
    ctx.lineWidth = 2.5; ctx.lineCap = "round"; ctx.strokeStyle = "#111";
    var drawing = false;
    var point = function (e) {
      var r = canvas.getBoundingClientRect();
      return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height];
    };
    canvas.addEventListener("pointerdown", function (e) {
      drawing = true; var p = point(e); ctx.beginPath(); ctx.moveTo(p[0], p[1]); canvas.setPointerCapture(e.pointerId);
    });
    canvas.addEventListener("pointermove", function (e) {
      if (!drawing) { return; } var p = point(e); ctx.lineTo(p[0], p[1]); ctx.stroke(); pad.drawn = true;
    });
    var signed = canvas.closest("form").elements.signature_png;
    canvas.addEventListener("pointerup", function () {
      drawing = false;
      if (pad.drawn) { signed.value = canvas.toDataURL("image/png"); }
    });
    document.getElementById("signature-clear").addEventListener("click", function () {
      ctx.clearRect(0, 0, canvas.width, canvas.height); pad.drawn = false; signed.value = "";
    });
  }

  window.addEventListener("online", flush);
  window.addEventListener("offline", function () { flush(); });
  setInterval(flush, 30000);
  flush();
})();
