// Page view: the canvas image in OpenSeadragon, deep zoom from the IIIF image service.
(function () {
  "use strict";
  const el = document.getElementById("viewer");
  if (!el) return;
  const serviceId = el.dataset.serviceId;
  // Our own scans carry relative service ids; OpenSeadragon needs an absolute info.json URL.
  const tileSource = serviceId
    ? new URL(serviceId.replace(/\/$/, "") + "/info.json", window.location.origin).href
    : { type: "image", url: new URL(el.dataset.imageUrl, window.location.origin).href };
  const viewer = OpenSeadragon({
    element: el,
    prefixUrl: el.dataset.prefixUrl,
    tileSources: tileSource,
    showNavigator: true,
    crossOriginPolicy: "Anonymous",
    gestureSettingsMouse: { clickToZoom: false },
  });
  window.visagesViewer = viewer;
  viewer.addHandler("tile-loaded", function () {
    el.dataset.tilesLoaded = String(Number(el.dataset.tilesLoaded || 0) + 1);
  });
  viewer.addHandler("open-failed", function (event) {
    el.dataset.openFailed = event.message || "open failed";
  });
})();
