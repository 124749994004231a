// Starts Swagger UI with FastAPI's default parameters. It is a file rather than an inline script
// so that the page's Content-Security-Policy can allow scripts from this origin alone; the page
// passes the OpenAPI document's URL as a data attribute.
"use strict";
window.ui = SwaggerUIBundle({
  url: document.currentScript.dataset.openapiUrl,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  // The default sends the document to validator.swagger.io for a badge.
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
