"""PyTorch models: networks, embeddings, budgets, candidates and selection, the training loops, saving and loading."""
