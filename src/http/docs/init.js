// Swagger UI over the connector's own description. A file of its own, not an inline script, so
// the page's Content-Security-Policy can allow scripts from 'self' only.
/* global SwaggerUIBundle */
window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
});
