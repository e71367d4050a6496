"""Cross-encoder reranking: the model the service loads, and the data and training that adapt it to the corpus."""
