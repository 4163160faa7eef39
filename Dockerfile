# Production image: non-root, no build tools at run time, no source of secrets baked in.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md piccolo_conf.py ./
COPY api ./api
COPY core ./core
COPY schema ./schema
COPY permissions ./permissions
COPY privacy ./privacy
COPY accounts ./accounts
COPY desk ./desk
COPY audit ./audit
COPY operations ./operations
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /app opendesk
COPY --from=build /install /usr/local
WORKDIR /app
USER opendesk
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 OPENDESK_VAR_DIR=/app/var
EXPOSE 8000
CMD ["opendesk", "serve", "--host", "0.0.0.0", "--port", "8000"]
