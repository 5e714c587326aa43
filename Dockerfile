# The hdab image: one image for the API, the worker and beat (docker-compose.yml picks the command).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY hdab ./hdab
RUN pip install --no-cache-dir . && useradd --create-home --uid 10001 hdab && mkdir -p /var/lib/hdab && chown hdab /var/lib/hdab
USER hdab
ENV HDAB_DATA_DIR=/var/lib/hdab
EXPOSE 8000
CMD ["hdab", "serve"]
