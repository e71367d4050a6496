# The paper-rag API and ingest job (the generator runs in its own container: see docker-compose.yml).
FROM python:3.11-slim
WORKDIR /app
ENV PIP_NO_CACHE_DIR=1 HF_HUB_OFFLINE=1 RAGAS_DO_NOT_TRACK=true
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
COPY pyproject.toml README.md ./
COPY paper_rag paper_rag
COPY ingest ingest
COPY service service
COPY eval eval
COPY cli cli
COPY corpus corpus
COPY models models
# Editable, so PROJECT_ROOT is /app: corpus/ and models/ (the committed reranker) are read from there.
RUN pip install -e .
EXPOSE 8000
CMD ["paper-rag", "serve", "--host", "0.0.0.0", "--port", "8000"]
