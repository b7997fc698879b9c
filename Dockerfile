# Spillway controller image. Build: docker build -t spillway:0.1.0 .
# The CLI runs the TypeScript sources through tsx, a runtime dependency (see bin/spillway.mjs), so there
# is no compile step: the image holds production node_modules, bin/ and src/.

# --- dependencies: production only, from the lockfile -----------------------------------------------
FROM node:20-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- runtime ---------------------------------------------------------------------------------------------
FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
# The node image's unprivileged user (uid/gid 1000); numeric so runAsNonRoot can verify it.
USER 1000:1000
ENTRYPOINT ["node", "/app/bin/spillway.mjs"]
CMD ["controller"]
