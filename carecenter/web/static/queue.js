// The tablet's queue: what the care worker recorded, kept in IndexedDB (in order) until the server
// has answered it. Shared by the pages (offline.js) and the service worker (sw.js).
var CCQueue = (function () {
  "use strict";
  var DB = "carecenter-tablet";

  function open() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB, 1);
      request.onupgradeneeded = function () {
        var db = request.result;
        db.createObjectStore("actions", { keyPath: "seq", autoIncrement: true });
        db.createObjectStore("meta");
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function run(store, mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(store, mode);
        var request = work(tx.objectStore(store));
        tx.oncomplete = function () { db.close(); resolve(request ? request.result : undefined); };
        tx.onerror = function () { db.close(); reject(tx.error); };
      });
    });
  }

  function newKey() {
    if (self.crypto && self.crypto.randomUUID) { return self.crypto.randomUUID(); }
    return "k" + Date.now().toString(36) + Math.random().toString(36).slice(2, 14);
  }

  function add(action) { return run("actions", "readwrite", function (s) { return s.add(action); }); }
  function all() { return run("actions", "readonly", function (s) { return s.getAll(); }); }
  function remove(seqs) {
    return run("actions", "readwrite", function (s) { seqs.forEach(function (seq) { s.delete(seq); }); return null; });
  }
  function setMeta(name, value) { return run("meta", "readwrite", function (s) { return s.put(value, name); }); }
  function getMeta(name) { return run("meta", "readonly", function (s) { return s.get(name); }); }

  // Send this worker's waiting actions, oldest first, a few (one photo) per request. Resolves with
  // {left, problems, stopped, answers}: stopped is "offline" (no connection) or "login" (the session
  // ended; the queue waits for the same worker to log in again); answers are the server's, by key.
  function flush(staff, csrf) {
    return all().then(function (waiting) {
      var mine = waiting.filter(function (a) { return String(a.staff) === String(staff); });
      var problems = [];
      var answers = {};
      function stop(i, why) { return { left: mine.length - i, problems: problems, stopped: why, answers: answers }; }
      function next(i) {
        if (i >= mine.length) { return Promise.resolve(stop(mine.length, null)); }
        var batch = [mine[i]];
        while (i + batch.length < mine.length && batch.length < 20 && mine[i].kind !== "photo" &&
               mine[i + batch.length].kind !== "photo") {
          batch.push(mine[i + batch.length]);
        }
        var body = JSON.stringify({ actions: batch.map(function (a) {
          return { key: a.key, kind: a.kind, visit_id: a.visit_id, at: a.at, offline: a.offline, data: a.data };
        }) });
        return fetch("/sync", {
          method: "POST", credentials: "same-origin", redirect: "manual", body: body,
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf || "" }
        }).then(function (response) {
          if (response.type === "opaqueredirect" || response.status === 401 || response.status === 403) {
            return stop(i, "login");
          }
          if (!response.ok) { return stop(i, "offline"); }
          return response.json().then(function (results) {
            results.forEach(function (r) {
              answers[r.key] = r;
              if (r.result === "conflict" || r.result === "refused") { problems.push(r.message); }
            });
            return remove(batch.map(function (a) { return a.seq; })).then(function () { return next(i + batch.length); });
          });
        }, function () { return stop(i, "offline"); });
      }
      return next(0);
    });
  }

  return { add: add, all: all, flush: flush, newKey: newKey, setMeta: setMeta, getMeta: getMeta };
})();
