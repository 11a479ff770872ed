# leap-connector image: `docker build -t leap-connector .` (docker-compose.yml builds it too).
# Stage 1 installs the production dependencies (better-sqlite3 is native: the toolchain stays here).
FROM node:20-bookworm-slim AS deps
WORKDIR /app
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# Stage 2: the sources (run directly through tsx, as `npm start` does) and those dependencies.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY migrations ./migrations
COPY config ./config
# The embedded SQLite default and the demo's files live in config/data; nothing else is written.
RUN mkdir -p /app/config/data && chown node:node /app/config/data
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=6 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "--max-old-space-size=1024", "--max-semi-space-size=4", "bin/leap-connector.js"]
CMD ["serve"]
