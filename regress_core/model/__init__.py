"""PyTorch models: networks, embeddings, the training loop, saving and loading, prediction."""
