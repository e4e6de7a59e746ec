// The tablet's service worker: the app shell and the pages of the day are kept, so that a visit
// opens without a signal; the queue is sent when the connection comes back (background sync).
importScripts("/static/queue.js");
var SHELL = "carecenter-shell-__ASSETS__";  // the server writes the assets' digest here: any change is a new worker
var PAGES = "carecenter-pages";
var SHELL_FILES = ["/static/app.css", "/static/queue.js", "/static/offline.js", "/static/geo.js", "/static/scan.js", "/static/manifest.webmanifest"];

self.addEventListener("install", function (event) {
  // From the server, not the browser's HTTP cache: the new worker is there because the files changed.
  var fresh = SHELL_FILES.map(function (file) { return new Request(file, { cache: "reload" }); });
  event.waitUntil(caches.open(SHELL).then(function (cache) { return cache.addAll(fresh); }).then(function () {
    return self.skipWaiting();
  }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {  // the shells of earlier versions go
    return Promise.all(names.filter(function (name) {
      return name.indexOf("carecenter-shell-") === 0 && name !== SHELL;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

function isPage(url) {
  return url.pathname === "/" || url.pathname.indexOf("/visits/") === 0 || url.pathname.indexOf("/residents/") === 0;
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) { return; }
  if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(caches.match(request).then(function (hit) { return hit || fetch(request); }));
    return;
  }
  if (!isPage(url)) { return; }  // the API, photos, the manager's pages: always from the server
  event.respondWith(fetch(request).then(function (response) {
    if (response.ok && !response.redirected) {
      var copy = response.clone();
      caches.open(PAGES).then(function (cache) { cache.put(request, copy); });
    }
    return response;
  }, function () {  // no signal: the page as it was kept, else the day's list
    return caches.open(PAGES).then(function (cache) {
      return cache.match(request, { ignoreVary: true }).then(function (hit) {
        return hit || cache.match("/", { ignoreVary: true });
      });
    }).then(function (hit) {
      return hit || new Response("<!doctype html><meta charset=utf-8><p id=not-kept>CareCenter: offline</p>", {
        status: 503, headers: { "Content-Type": "text/html; charset=utf-8" }
      });
    });
  }));
});

self.addEventListener("sync", function (event) {
  if (event.tag !== "carecenter-queue") { return; }
  event.waitUntil(Promise.all([CCQueue.getMeta("staff"), CCQueue.getMeta("csrf")]).then(function (known) {
    return known[0] ? CCQueue.flush(known[0], known[1]).then(function (outcome) {
      if (outcome.stopped === "offline") { throw new Error("still offline"); }  // the browser tries again
    }) : null;
  }));
});
