"""SQL work of an import run (staging tables, profiling queries), kept out of the model classes."""
