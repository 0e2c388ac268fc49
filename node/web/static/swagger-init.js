// Starts Swagger UI on the API docs page (/docs). The page names its OpenAPI document in
// data-openapi-url, so no inline script is needed and the CSP keeps script-src 'self'.
"use strict";
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    // The public validator would be a request to another site, which the CSP refuses.
    validatorUrl: null,
  });
})();
