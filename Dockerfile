# Agent Platform image: one image, started as `ap api` or `ap worker` (or `ap start` for a single box).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
COPY bin ./bin
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY tsconfig.json ./
ENV NODE_ENV=production AP_PORT=8080
EXPOSE 8080
ENTRYPOINT ["node", "bin/ap.js"]
CMD ["api"]
