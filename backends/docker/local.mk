# Docker Engine backend (backends/docker).
