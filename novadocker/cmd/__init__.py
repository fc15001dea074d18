"""Console scripts shipped with novadocker."""
