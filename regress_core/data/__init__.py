"""Tables in: sources, readers, the data contract, its validation, the split and the preprocessing."""
