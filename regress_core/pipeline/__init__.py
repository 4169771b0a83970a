"""The training pipeline's stages, the records they hand each other, cache keys and the workspace."""
