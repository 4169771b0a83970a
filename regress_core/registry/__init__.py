"""The model registry: versioned packages, the champion pointer, the promotion gate and manual operations."""
