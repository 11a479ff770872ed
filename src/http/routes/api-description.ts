import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import type { OpenApiDocument } from '../openapi';

/** This folder's docs/ (init.js), from src/ or from a compiled build beside it. */
const DOCS_DIR = [path.resolve(__dirname, '..', 'docs'), path.resolve(__dirname, '..', '..', '..', '..', 'src', 'http', 'docs')].find((d) => existsSync(path.join(d, 'init.js'))) ?? path.resolve(__dirname, '..', 'docs');
const SWAGGER_UI_DIR = path.dirname(require.resolve('swagger-ui-dist/package.json'));
/** The files of swagger-ui-dist the page loads; the package's own index.html and the rest stay unserved. */
const SWAGGER_UI_FILES = new Set(['/swagger-ui.css', '/swagger-ui-bundle.js', '/favicon-32x32.png', '/favicon-16x16.png']);

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>leap-connector API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

function onlySwaggerUiFiles(req: Request, _res: Response, next: NextFunction): void {
  // Anything else under /docs/assets is the API's 404, not a file of the package.
  next(SWAGGER_UI_FILES.has(req.path) ? undefined : 'router');
}

/** GET /openapi.json (the description) and GET /docs (Swagger UI over it, served from swagger-ui-dist, no CDN). */
export function apiDescriptionRoutes(document: OpenApiDocument): Router {
  const router = Router();
  const body = JSON.stringify(document);
  router.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(body);
  });
  // The page's own policy: its scripts and styles come from this server, nothing inline runs.
  // Swagger UI sets element styles from script (allowed) and draws icons from data: URIs.
  router.use(
    '/docs',
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'none'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          connectSrc: ["'self'"],
          fontSrc: ["'self'"],
          formAction: ["'none'"],
          frameAncestors: ["'none'"],
          baseUri: ["'none'"],
        },
      },
      frameguard: { action: 'deny' },
      strictTransportSecurity: false,
    }),
  );
  router.get('/docs', (_req, res) => {
    res.type('html').send(PAGE);
  });
  router.use('/docs/assets', onlySwaggerUiFiles, express.static(SWAGGER_UI_DIR, { index: false, maxAge: '1h' }));
  router.use('/docs', express.static(DOCS_DIR, { index: false, maxAge: '1h' }));
  return router;
}
