# flyonce from this repository: the service, the detection worker and the simulators, on CPU-only
# torch (a county control room's servers have no GPU; a GPU detection worker is built from the
# same file with TORCH_INDEX=https://download.pytorch.org/whl/cu124).
#   docker build -t flyonce .
#   docker compose up            (compose.yaml: PostgreSQL, Redis, two replicas, proxy, worker)
FROM python:3.11-slim-bookworm

ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

# opencv-python needs libGL and glib at import time; curl for the health check
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 curl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/flyonce
# torch and torchvision first, from PyTorch's CPU index, at the versions pyproject.toml pins, so
# the install below finds them satisfied and never pulls the CUDA wheels (~2 GB less).
COPY pyproject.toml README.md ./
RUN python - <<'PY' > /tmp/torch.txt
import tomllib
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]
print("\n".join(d for d in deps if d.split("=")[0].strip() in ("torch", "torchvision")))
PY
RUN pip install --index-url "$TORCH_INDEX" -r /tmp/torch.txt

COPY api ./api
COPY detection ./detection
COPY dispatch ./dispatch
COPY geofence ./geofence
COPY simulators ./simulators
COPY alembic.ini requirements.lock ./
# Every other dependency at the version requirements.lock pins: the versions CI installs and
# tests with (make install uses the same lock), so the image runs what was tested.
RUN pip install -c requirements.lock .

RUN useradd --system --home-dir /var/lib/flyonce --create-home flyonce
USER flyonce
ENV FLYONCE_DATA_DIR=/var/lib/flyonce \
    FLYONCE_LOG_FORMAT=json \
    FORWARDED_ALLOW_IPS=*
VOLUME /var/lib/flyonce
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
CMD ["flyonce", "serve", "--host", "0.0.0.0", "--port", "8000"]
