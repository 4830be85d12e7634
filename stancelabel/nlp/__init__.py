"""spaCy pipelines: choice, loading, sentences and (later) attribution detection."""
