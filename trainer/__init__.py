"""The bundled minimal CLIP trainer: model, tokenizer, data loader, training loop, eval, predict."""
