# syntax=docker/dockerfile:1
# One image per service, all from this file:
#   docker build --build-arg APP=broker-ingress -t ghcr.io/knative-eventing-ts/broker-ingress:0.1.0 .
# (APP: controller, webhook, broker-ingress, broker-filter, imc-dispatcher, kafka-channel-dispatcher,
#  nats-channel-dispatcher, kafka-broker-receiver, kafka-broker-dispatcher, ping-source).
# The build stage runs the same scripts CI runs (tools/build/build.mjs, then
# tools/images/assemble.mjs, whose --check starts the assembled service and probes it), so the image
# holds exactly the folder that was tested: the bundle, its production node_modules and the Node.js
# binary of the `node` npm package. The runtime base has glibc and libstdc++ and nothing else.

FROM node:24-bookworm-slim AS build
ARG APP
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN node_modules/.bin/node tools/build/build.mjs --quiet ${APP} \
 && node_modules/.bin/node tools/images/assemble.mjs --out /images --check ${APP}

FROM gcr.io/distroless/cc-debian12:nonroot AS service
ARG APP
LABEL org.opencontainers.image.source="https://github.com/knative-eventing-ts/eventing" \
      org.opencontainers.image.title="eventing ${APP}"
COPY --from=build --chown=0:0 /images/${APP} /app
WORKDIR /app
USER 65532:65532
ENTRYPOINT ["/app/node", "/app/main.js"]
