# One observatory node (federation-node). The same image runs every observatory; which one
# it is comes from the environment (NODE_ID, PORT, FEDERATION_PEERS, ... see .env.example).
#   docker build -t observatory-federation .
#   docker compose up -d --build        # the three-observatory federation: docker-compose.yml
# docs/OPERATIONS.md, "Docker Compose", explains running, watching, killing and restarting.

# Node 24 is the active LTS line (Node 20 left support in April 2026).
ARG NODE_VERSION=24

# --- build: compile sqlite3 from source, type-check and compile the TypeScript -------------
FROM node:${NODE_VERSION}-bookworm AS build

# sqlite3 is a native addon compiled by node-gyp: it needs python3, make and a C++ compiler.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*

# The npm the lockfile is written with; it runs only the install scripts package.json's
# allowScripts approves (sqlite3's).
ARG NPM_VERSION=11.19.1
RUN npm install -g --no-fund --no-audit npm@${NPM_VERSION}

WORKDIR /app

# Build sqlite3 from source (never download a prebuilt binary), against the headers of the
# node this image ships (/usr/local/include/node), so node-gyp downloads nothing either.
ENV npm_config_build_from_source=true \
    npm_config_nodedir=/usr/local \
    npm_config_fund=false \
    npm_config_audit=false \
    npm_config_update_notifier=false

COPY package.json package-lock.json ./
RUN npm ci

COPY tsconfig.json ./
COPY coordinator-2pc ./coordinator-2pc
COPY federation-node ./federation-node
COPY seeds ./seeds
# .dockerignore leaves tests/ out of the context: dist/ holds only what the node runs.
RUN npm run build

# Only production dependencies go on; the compiled addon's intermediate objects do not.
RUN npm prune --omit=dev \
 && rm -rf node_modules/sqlite3/build/Release/obj node_modules/sqlite3/build/Release/obj.target \
 && node -e "const s=require('sqlite3');new s.Database(':memory:').close((e)=>process.exit(e?1:0))"

# --- runtime: node, the compiled code, production node_modules, the seeds -------------------
FROM node:${NODE_VERSION}-bookworm-slim AS runtime

ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    DATA_DIR=/var/lib/observatory \
    LOG_TO_STDOUT=true

# dist/ and seeds/ side by side: the catalog path seeds/catalog.json resolves from here.
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/seeds/*.json ./seeds/

# The node's durable state (SQLite file, transaction log, log files). Created here owned by
# the unprivileged user, so that a new named volume mounted on it inherits that owner.
RUN mkdir -p /var/lib/observatory \
 && chown node:node /var/lib/observatory
VOLUME ["/var/lib/observatory"]

# The code stays root-owned and read-only to the process; it writes only to its data volume.
USER node

EXPOSE 7101
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||7101)+'/ready',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

CMD ["node", "dist/federation-node/src/main.js"]
