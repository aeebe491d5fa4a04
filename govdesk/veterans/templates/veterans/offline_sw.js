{% autoescape off %}/* GovDesk offline collection: keeps the form page and its static files in the cache.
   The page is fetched from the network when there is one (fresh communities, session), and
   from the cache when not; static files come from the cache, refreshed at each install. */
"use strict";
const CACHE = "govdesk-veterans-offline-{{ version }}";
const PAGE = "{{ page }}";
const ASSETS = [{% for a in assets %}"{{ a }}"{% if not forloop.last %}, {% endif %}{% endfor %}];

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(ASSETS.map((url) => new Request(url, { cache: "reload" })));
    const page = await fetch(PAGE, { credentials: "same-origin", cache: "reload" });
    if (page.ok && !page.redirected) await cache.put(PAGE, page);
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("govdesk-veterans-offline-") && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

async function pageNetworkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok && !response.redirected && response.type === "basic") await cache.put(PAGE, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(PAGE);
    if (cached) return cached;
    throw error;
  }
}

async function assetCacheFirst(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request, { ignoreSearch: true });
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;  // the API goes straight to the network
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname === PAGE) {
    event.respondWith(pageNetworkFirst(request));
  } else if (ASSETS.includes(url.pathname)) {
    event.respondWith(assetCacheFirst(request));
  }
});
{% endautoescape %}
