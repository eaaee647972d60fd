# The trackrecord image: the HTTP service by default (`trackrecord serve`), and the whole CLI.
FROM python:3.11-slim-bookworm
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY ledger ledger
COPY keys keys
COPY projections projections
COPY api api
COPY trackrecord trackrecord
RUN pip install .
RUN useradd --create-home trackrecord \
    && mkdir -p /keys /data /secrets && chown trackrecord /keys /data /secrets && chmod 700 /secrets
USER trackrecord
WORKDIR /home/trackrecord
ENTRYPOINT ["trackrecord"]
EXPOSE 8000
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
