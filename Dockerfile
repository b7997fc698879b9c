# Spillway controller image. No image is published: build and push your own, e.g.
#   docker build -t registry.example.com/spillway:0.1.0 . && docker push registry.example.com/spillway:0.1.0
# then `spillway install --image registry.example.com/spillway:0.1.0`. The image runs the compiled JavaScript
# in dist/ (no TypeScript loader at run time) with production dependencies only.

# --- build: compile src/ to dist/ with the dev dependencies (TypeScript) ---------------------------------
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
RUN npm run build

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
COPY package.json LICENSE ./
COPY bin ./bin
COPY --from=build /app/dist ./dist
# The node image's unprivileged user (uid/gid 1000); numeric so runAsNonRoot can verify it.
USER 1000:1000
ENTRYPOINT ["node", "/app/bin/spillway.mjs"]
CMD ["controller"]
