// xcert service worker: keeps the candidate page's shell (the page, its script and its
// stylesheet) so that a reload while the network or the server is down still opens the exam.
// Network first, the cached copy only when the network fails or hangs; every other request
// (the API, the staff page) goes to the network untouched. Exam content is never cached here:
// the page keeps its paper in sessionStorage, which ends with the tab.
'use strict';

const CACHE = 'xcert-shell-v1';
const SHELL = ['/', '/ui/app.css', '/ui/candidate.js'];
const NETWORK_PATIENCE_MS = 4000;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((key) => key !== CACHE).map((key) => caches.delete(key))))
      .then(() => self.clients.claim()),
  );
});

function fromNetwork(request, path) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the network is too slow')), NETWORK_PATIENCE_MS);
    fetch(request).then((response) => {
      clearTimeout(timer);
      if (response.ok) {
        const copy = response.clone();
        caches.open(CACHE).then((cache) => cache.put(path, copy));
      }
      resolve(response);
    }, (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || !SHELL.includes(url.pathname)) return;
  const path = url.pathname;
  event.respondWith(
    fromNetwork(request, path).catch(() =>
      caches.match(path).then((cached) => cached || fetch(request))),
  );
});
