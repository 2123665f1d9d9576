"""Caption and URL filters: normalisation, file-name, camera, boilerplate and language checks."""
