// Starts Swagger UI on /api/v1/docs. A file of its own rather than an inline script, so that the page can
// run under a Content-Security-Policy without 'unsafe-inline' (api/docs.py). The documents it offers are
// in the data-urls attribute of #swagger-ui.
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  var urls = JSON.parse(root.getAttribute("data-urls"));
  window.ui = SwaggerUIBundle({
    urls: urls,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout",
  });
});
