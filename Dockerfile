# The Lark MCP server image: `docker build --platform linux/arm64 .` at the repository root.
# Build context: the root, narrowed by .dockerignore to an allowlist of what the image needs
# (the CDK image asset uses the same file). A further package is one `!<dir>` line there.
# The base is pinned by tag. Pin it by digest too (`python:3.11-slim-bookworm@sha256:...`) once
# you can pull it: this file was written offline, where the digest cannot be looked up.
# Nothing here is architecture-specific: `--platform=linux/arm64` (AgentCore) and amd64 both work.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
COPY lark_mcp_server/requirements.txt /tmp/requirements.txt
# Bytecode compiled once here (hash-checked, so it stays valid whatever the file times): the
# runtime user cannot write .pyc files, and compiling on every cold start would cost ~1 s.
RUN /opt/venv/bin/pip install --no-compile -r /tmp/requirements.txt \
    && /opt/venv/bin/pip uninstall -y pip setuptools \
    && /opt/venv/bin/python -m compileall -q --invalidation-mode unchecked-hash /opt/venv/lib

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOST=0.0.0.0 \
    PORT=8000
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin app
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
# Everything .dockerignore lets in: the packages the server needs.
COPY . /app
# Then every tool's input schema, so a cold start does not compute them (tool_schemas.py).
RUN python -m compileall -q --invalidation-mode unchecked-hash /app \
    && cd /app && python -m lark_mcp_server.tool_schemas
USER 10001
EXPOSE 8000
# slim images have no curl: probe /ping with the standard library.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/ping' % os.environ.get('PORT', '8000'), timeout=2)"]
CMD ["python", "-m", "lark_mcp_server"]
