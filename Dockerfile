# The digits prediction service: gunicorn serving the Flask app with the shipped weights.
#   docker build -t numpy-cnn-digits .
#   docker run --rm -p 127.0.0.1:8000:8000 numpy-cnn-digits
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OMP_NUM_THREADS=1 \
    OPENBLAS_NUM_THREADS=1 \
    MKL_NUM_THREADS=1 \
    BIND=0.0.0.0:8000

WORKDIR /srv/digits

COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt \
 && useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin digits

COPY gunicorn.conf.py ./
COPY model/ model/
COPY app/ app/
COPY params/ params/
COPY templates/ templates/
COPY static/ static/

USER digits
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]

CMD ["gunicorn", "-c", "gunicorn.conf.py"]
